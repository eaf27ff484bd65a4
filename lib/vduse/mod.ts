/**
 * VDUSE devices: the /dev/vduse ioctls, device specs, the one create/destroy
 * lifecycle, the record store in /run, the sysfs view
 * ({@linkcode VduseSysfs}), the /proc holder scan, state inspection and
 * output.
 *
 * This module is the family's face: other families, `commands/`, benches
 * and tests outside `tests/vduse/` import the family only from here.
 *
 * @module
 */

export { vdpaKernelView } from "./attach.ts";
export {
  createDev,
  destroyDev,
  devGetFeatures,
  devInjectConfigIrq,
  devSetConfig,
  iotlbGetFd,
  openDevice,
  readRequest,
  VDUSE_CONTROL_PATH,
  vqGetInfo,
  vqInjectIrq,
  vqSetup,
  vqSetupKickfd,
  writeResponse,
} from "./device.ts";
export type { DevRequest, DevResponse, IotlbEntry, VqInfo } from "./device.ts";
export { listJson, listText, showJson, showText } from "./format.ts";
export { holders } from "./holders.ts";
export type { Holder } from "./holders.ts";
export { inspect, listDevices } from "./inspect.ts";
export {
  createDevice,
  destroyDevice,
  queueProbe,
  withControl,
} from "./lifecycle.ts";
export type { CreateDeviceOptions, DestroyDeviceOptions } from "./lifecycle.ts";
export {
  buildSpec,
  DEFAULT_QUEUE_SIZE,
  MAX_QUEUE_SIZE,
  NET_DEFAULT_FEATURES,
  toDevConfig,
} from "./spec.ts";
export { VduseRecords } from "./record.ts";
export { moduleMissing, VduseSysfs } from "./sysfs.ts";
export {
  VDUSE_ACCESS,
  VDUSE_API_VERSION,
  VDUSE_BASE,
  VDUSE_EVENTFD_DEASSIGN,
  VDUSE_IOCTL,
  VDUSE_IOVA_CAP_UMEM,
  VDUSE_LAYOUTS,
  VDUSE_MSG_SIZE,
  VDUSE_NAME_MAX,
  VDUSE_REQ,
  VDUSE_REQ_RESULT,
} from "./uapi.ts";
