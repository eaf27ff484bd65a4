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

export { parseVdpaArgs, VDPA_USAGE } from "./args.ts";
export type { VdpaCommand } from "./args.ts";
export { bindVdpaDriver } from "./bind.ts";
export { VdpaBus } from "./bus.ts";
export type { VdpaBusDevice, VirtioInfo } from "./bus.ts";
export {
  closeVdpa,
  devAddAttrs,
  openVdpa,
  vdpaDevAdd,
  vdpaDevConfigShow,
  vdpaDevDel,
  vdpaDevShow,
  vdpaDevVstatsShow,
  vdpaMgmtdevShow,
} from "./client.ts";
export type { VdpaDevSpec, VdpaReply, VdpaSession } from "./client.ts";
export { vdpaArgCandidates } from "./completion.ts";
export {
  formatDevConfigShow,
  formatDevShow,
  formatDevVstatsShow,
  formatEmpty,
  formatMgmtdevHandle,
  formatMgmtdevShow,
} from "./format.ts";
export type { VdpaFormatOptions } from "./format.ts";
export { VDPA_ATTRS, VDPA_CMD } from "./uapi.ts";
