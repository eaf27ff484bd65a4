/**
 * Live values for shell completion: mdev parents, types and UUIDs, VDUSE and
 * vDPA device names, sandbox modules. mdev values are read through the mdev
 * family's views (`MdevSysfs`, `ConfigStore`); everything is read
 * synchronously and never throws. Only well-formed UUIDs are offered (no
 * `README`, no editor or temporary files in /etc/mdevctl.d).
 *
 * @module
 */

import type { Candidate, ValueSources } from "./complete.ts";
import { optionValue } from "./script.ts";
import type { SysRoot } from "../root.ts";
import { onlineCpus } from "../cpu_list.ts";
import { vdpaArgCandidates } from "../vdpa/mod.ts";
import { LOADABLE_MODULES } from "../sandbox/mod.ts";
import { ConfigStore, MdevSysfs } from "../mdev/mod.ts";
import { VduseSysfs } from "../vduse/mod.ts";

/** mdev parents: the entries of /sys/class/mdev_bus, sorted. */
export function mdevParents(sysfs: MdevSysfs): Candidate[] {
  return sysfs.parentNames().sort().map((p) => [p, "mdev parent"]);
}

/** mdev types, of one parent or of all, sorted by parent and type. */
export function mdevTypes(sysfs: MdevSysfs, parent?: string): Candidate[] {
  const parents = parent ? [parent] : sysfs.parentNames().sort();
  const out: Candidate[] = [];
  for (const p of parents) {
    for (const type of sysfs.typeNames(p).sort()) {
      const { name, available } = sysfs.typeSummary(p, type);
      out.push([
        type,
        `${name || type} on ${p}, ${available || "?"} available`,
      ]);
    }
  }
  return out;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** mdev UUIDs: running devices and defined ones (of one parent or of all). */
export function mdevUuids(
  mdev: { sysfs: MdevSysfs; store: ConfigStore },
  parent?: string,
): Candidate[] {
  const seen = new Map<string, string>();
  for (const uuid of mdev.sysfs.activeNames().sort()) {
    if (UUID.test(uuid)) seen.set(uuid, "active");
  }
  for (
    const [p, names] of mdev.store.entryNames({ parent: parent || undefined })
  ) {
    for (const uuid of names) {
      if (!UUID.test(uuid)) continue;
      seen.set(uuid, seen.has(uuid) ? "active, defined" : `defined on ${p}`);
    }
  }
  return [...seen].map(([uuid, what]) => [uuid, what]);
}

/** VDUSE device names (/sys/class/vduse, without the control node). */
export function vduseNames(sysfs: VduseSysfs): Candidate[] {
  return sysfs.names().map((n) => [n, "VDUSE device"]);
}

/** Online CPUs (for --irq-cpus and --datapath-cpus), from /sys/devices/system/cpu/online. */
export function onlineCpuCandidates(root: SysRoot): Candidate[] {
  try {
    return onlineCpus(root).map((c) => [String(c), "online CPU"]);
  } catch {
    return [];
  }
}

/** Keys of {@linkcode completionSources} whose values are comma lists. */
export const COMMA_LISTS: ReadonlySet<string> = new Set([
  "sandbox run --modules",
  "sandbox shell --modules",
  "vduse set --irq-cpus",
  "mvnet run --irq-cpus",
  "mvnet run --datapath-cpus",
]);

/** The live-value sources for every command that takes such values. */
export function completionSources(root: SysRoot): ValueSources {
  const parentOf = (words: readonly string[]) =>
    optionValue(words, { short: "-p", long: "--parent" });
  const mdev = { sysfs: new MdevSysfs(root), store: new ConfigStore(root) };
  const vduse = new VduseSysfs(root);
  const parents = () => mdevParents(mdev.sysfs);
  const types = (w: readonly string[]) => mdevTypes(mdev.sysfs, parentOf(w));
  const uuids = (w: readonly string[]) => mdevUuids(mdev, parentOf(w));
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
  sources["mdev start-parent-mdevs <PARENT>"] = parents;
  for (const sub of ["destroy", "show", "set"]) {
    sources[`vduse ${sub} <NAME>`] = () => vduseNames(vduse);
  }
  sources["vduse set --irq-cpus"] = () => onlineCpuCandidates(root);
  sources["mvnet run --irq-cpus"] = () => onlineCpuCandidates(root);
  sources["mvnet run --datapath-cpus"] = () => onlineCpuCandidates(root);
  for (const sub of ["run", "shell"]) {
    sources[`sandbox ${sub} --modules`] = () =>
      LOADABLE_MODULES.map((m) => [m, "kernel module"]);
  }
  sources["vdpa <args>"] = (words) => vdpaArgCandidates(root, words);
  return sources;
}
