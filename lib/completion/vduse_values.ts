/**
 * Live completion values of the vduse family: VDUSE device names and online
 * CPUs. Loaded only when a vduse command line is completed.
 *
 * @module
 */

import type { Candidate, ValueSources } from "./complete.ts";
import type { SysRoot } from "../root.ts";
import { VduseSysfs } from "../vduse/mod.ts";
import { onlineCpuCandidates } from "./values.ts";

/** VDUSE device names (/sys/class/vduse, without the control node). */
export function vduseNames(sysfs: VduseSysfs): Candidate[] {
  return sysfs.names().map((n) => [n, "VDUSE device"]);
}

/** The live-value sources of the vduse commands. */
export function sources(root: SysRoot): ValueSources {
  const vduse = new VduseSysfs(root);
  const out: ValueSources = {};
  for (const sub of ["destroy", "show", "set"]) {
    out[`vduse ${sub} <NAME>`] = () => vduseNames(vduse);
  }
  out["vduse set --irq-cpus"] = () => onlineCpuCandidates(root);
  return out;
}
