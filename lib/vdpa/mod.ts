/**
 * vDPA through the kernel's generic-netlink `vdpa` family: the client,
 * iproute2 `vdpa`'s argument syntax and output, completion values, and the
 * vdpa bus in sysfs ({@linkcode VdpaBus}).
 *
 * This module is the family's face: other families, `commands/`, benches
 * and tests outside `tests/vdpa/` import the family only from here.
 *
 * @module
 */

export {
  parseVdpaArgs,
  VDPA_BUS_DRIVERS,
  VDPA_HELP,
  VDPA_USAGE,
  VdpaUsageError,
} from "./args.ts";
export type {
  VdpaBusDriver,
  VdpaCommand,
  VdpaHelpTopic,
  VdpaParseOptions,
} from "./args.ts";
export { bindVdpaDevice } from "./bind.ts";
export type { VdpaBindResult } from "./bind.ts";
export { VdpaBus } from "./bus.ts";
export type { VdpaBinding, VdpaBusDevice, VirtioInfo } from "./bus.ts";
export {
  closeVdpa,
  devAddAttrs,
  openVdpa,
  VDPA_FAMILY_MISSING,
  vdpaDevAdd,
  vdpaDevConfigShow,
  vdpaDevDel,
  vdpaDevSet,
  vdpaDevShow,
  vdpaDevVstatsShow,
  vdpaMgmtdevShow,
} from "./client.ts";
export type {
  VdpaDevSetSpec,
  VdpaDevSpec,
  VdpaReply,
  VdpaSession,
} from "./client.ts";
export { vdpaArgCandidates } from "./completion.ts";
export { getoptErrorText, IPROUTE2_HELP, vdpaGetopt } from "./getopt.ts";
export type { VdpaGetopt, VdpaOptionError, VdpaOptions } from "./getopt.ts";
export {
  formatDevConfigShow,
  formatDevShow,
  formatDevVstatsShow,
  formatEmpty,
  formatMgmtdevHandle,
  formatMgmtdevShow,
} from "./format.ts";
export type { VdpaFormatOptions } from "./format.ts";
export { IPROUTE2_VERSIONS, iproute2Version } from "./iproute2_version.ts";
export type { Iproute2Version } from "./iproute2_version.ts";
export { VDPA_ATTRS, VDPA_CMD, VDPA_GENL_NAME } from "./uapi.ts";
