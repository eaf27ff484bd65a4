/**
 * `vdevctl doctor`: what this host can do for each family (mdev, vdpa,
 * vduse, mvnet) and what to do about what it cannot: kernel, modules,
 * devices, the vdpa netlink commands, mdevctl and its udev rule, and the
 * permissions the current user lacks; with the probe seam for the kernel
 * calls and the text and JSON outputs.
 *
 * This module is the family's face: other families, `commands/`, benches
 * and tests outside `tests/doctor/` import the family only from here.
 *
 * @module
 */

export { diagnose } from "./checks.ts";
export type { DiagnoseOptions } from "./checks.ts";
export { CAP_NET_ADMIN, parseStatus, systemProbe } from "./probe.ts";
export type { DoctorProbe, Identity, ProbedFamily } from "./probe.ts";
export {
  checkLine,
  DOCTOR_FAMILIES,
  reportJson,
  reportText,
  summaryLine,
} from "./report.ts";
export type {
  Check,
  CheckStatus,
  DoctorFamily,
  DoctorReport,
  FamilySummary,
} from "./report.ts";
