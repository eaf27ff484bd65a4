/**
 * mvnet, the user-space virtio-net loopback device served over VDUSE: the
 * daemon, its VDUSE control plane, the datapath and its worker, the loopback
 * policy, the smoke test and pktgen.
 *
 * This module is the family's face: other families, `commands/`, benches
 * and tests outside `tests/mvnet/` import the family only from here.
 *
 * @module
 */

export {
  DEFAULT_NAME,
  macForName,
  MVNET_QUEUE_SIZE,
  startMvnet,
} from "./daemon.ts";
export { cleanupStale } from "./device_ops.ts";
export type { Mvnet, MvnetOptions, MvnetStats } from "./daemon.ts";
export { CONTROL_DIR, controlRequest, socketPath } from "./ctl_socket.ts";
export type { ControlRequest } from "./ctl_socket.ts";
export { formatReport, statusLine } from "./report.ts";
export type { DatapathThreadReport, MvnetReport } from "./report.ts";
export {
  choosePlacement,
  formatPlacement,
  PLACEMENT_MODES,
} from "./placement.ts";
export type { Placement, PlacementMode, ThreadSchedStat } from "./placement.ts";
export { pktgenRun } from "./pktgen.ts";
export type { PktgenResult } from "./pktgen.ts";
export {
  bringUp,
  exchange,
  formatSmoke,
  runSmoke,
  waitNetdev,
} from "./smoke.ts";
export type { SmokeResult } from "./smoke.ts";
