/**
 * VDUSE devices: the /dev/vduse ioctls, device specs, the one create/destroy
 * lifecycle, the record store in /run, state inspection and output.
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
export {
  createDevice,
  destroyDevice,
  queueProbe,
  withControl,
} from "./lifecycle.ts";
export type { CreateOptions, DestroyOptions } from "./lifecycle.ts";
export {
  buildSpec,
  DEFAULT_QUEUE_SIZE,
  MAX_QUEUE_SIZE,
  NET_DEFAULT_FEATURES,
  parseCount,
  parseFeatures,
  parseMac,
  parseSize,
  toDevConfig,
} from "./spec.ts";
export {
  deviceExists,
  holders,
  inspect,
  irqAffinity,
  listDevices,
  moduleMissing,
  removeRecord,
  setAttributes,
  setIrqAffinity,
  VDPA_DEVICES_DIR,
  vduseLoaded,
  writeRecord,
} from "./state.ts";
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
