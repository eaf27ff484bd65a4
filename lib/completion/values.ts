/**
 * Live values for shell completion: mdev parents, types and UUIDs, VDUSE and
 * vDPA device names, sandbox modules. Reads sysfs and /etc/mdevctl.d directly
 * and synchronously (tab's handlers are synchronous) and never throws.
 *
 * @module
 */

import { type Candidate, optionValue, type ValueSources } from "./script.ts";
import type { SysRoot } from "../root.ts";
import { listDir, readAttr } from "../sysfs_read.ts";
import { onlineCpus } from "../cpu_list.ts";
import { vdpaArgCandidates } from "../vdpa/mod.ts";
import { LOADABLE_MODULES } from "../sandbox/mod.ts";

/** mdev parents: the entries of /sys/class/mdev_bus. */
export function mdevParents(root: SysRoot): Candidate[] {
  return listDir(root.path("/sys/class/mdev_bus")).map((
    p,
  ) => [p, "mdev parent"]);
}

/** mdev types, of one parent or of all. */
export function mdevTypes(root: SysRoot, parent?: string): Candidate[] {
  const parents = parent ? [parent] : listDir(root.path("/sys/class/mdev_bus"));
  const out: Candidate[] = [];
  for (const p of parents) {
    const dir = root.path(`/sys/class/mdev_bus/${p}/mdev_supported_types`);
    for (const type of listDir(dir)) {
      const name = readAttr(`${dir}/${type}/name`) ?? "";
      const avail = readAttr(`${dir}/${type}/available_instances`) ?? "";
      out.push([type, `${name || type} on ${p}, ${avail || "?"} available`]);
    }
  }
  return out;
}

/** mdev UUIDs: running devices and defined ones. */
export function mdevUuids(root: SysRoot, parent?: string): Candidate[] {
  const seen = new Map<string, string>();
  for (const uuid of listDir(root.path("/sys/bus/mdev/devices"))) {
    seen.set(uuid, "active");
  }
  const conf = root.path("/etc/mdevctl.d");
  for (const p of parent ? [parent] : listDir(conf)) {
    if (p === "scripts.d") continue;
    for (const uuid of listDir(`${conf}/${p}`)) {
      seen.set(uuid, seen.has(uuid) ? "active, defined" : `defined on ${p}`);
    }
  }
  return [...seen].map(([uuid, what]) => [uuid, what]);
}

/** VDUSE device names (/sys/class/vduse, without the control node). */
export function vduseNames(root: SysRoot): Candidate[] {
  return listDir(root.path("/sys/class/vduse"))
    .filter((n) => n !== "control")
    .map((n) => [n, "VDUSE device"]);
}

/** Kernel modules the sandbox knows how to load. */
export const SANDBOX_MODULES: readonly string[] = LOADABLE_MODULES;

/** Online CPUs (for --irq-cpus and --datapath-cpus), from /sys/devices/system/cpu/online. */
export function onlineCpuCandidates(root: SysRoot): Candidate[] {
  try {
    return onlineCpus(root).map((c) => [String(c), "online CPU"]);
  } catch {
    return [];
  }
}

/** The live-value sources for every command that takes such values. */
export function completionSources(root: SysRoot): ValueSources {
  const parentOf = (words: readonly string[]) =>
    optionValue(words, { short: "-p", long: "--parent" });
  const parents = () => mdevParents(root);
  const types = (w: readonly string[]) => mdevTypes(root, parentOf(w));
  const uuids = (w: readonly string[]) => mdevUuids(root, parentOf(w));
  const sources: ValueSources = {};
  for (
    const sub of ["list", "types", "start", "define", "undefine", "modify"]
  ) {
    sources[`mdev ${sub} --parent`] = parents;
  }
  sources["mdev parents --parent"] = parents;
  for (const sub of ["start", "define", "modify"]) {
    sources[`mdev ${sub} --type`] = types;
  }
  for (const sub of ["list", "start", "stop", "define", "undefine", "modify"]) {
    sources[`mdev ${sub} --uuid`] = uuids;
  }
  sources["mdev start-parent-mdevs <parent>"] = parents;
  for (const sub of ["destroy", "show", "set"]) {
    sources[`vduse ${sub} <name>`] = () => vduseNames(root);
  }
  sources["vduse set --irq-cpus"] = () => onlineCpuCandidates(root);
  sources["mvnet run --irq-cpus"] = () => onlineCpuCandidates(root);
  sources["mvnet run --datapath-cpus"] = () => onlineCpuCandidates(root);
  sources["sandbox run --modules"] = () =>
    SANDBOX_MODULES.map((m) => [m, "kernel module"]);
  sources["vdpa <args>"] = (words) => vdpaArgCandidates(root, words);
  return sources;
}
