/**
 * Live completion values of the mdev family: parents, types and UUIDs, read
 * through the mdev family's views (`MdevSysfs`, `ConfigStore`). Only
 * well-formed UUIDs are offered (no `README`, no editor or temporary files
 * in /etc/mdevctl.d). Loaded only when an mdev command line is completed.
 *
 * @module
 */

import type { Candidate, ValueSources } from "./complete.ts";
import { optionValue } from "./script.ts";
import type { SysRoot } from "../root.ts";
import { ConfigStore, MdevSysfs } from "../mdev/mod.ts";

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

/** The live-value sources of the mdev commands. */
export function sources(root: SysRoot): ValueSources {
  const parentOf = (words: readonly string[]) =>
    optionValue(words, { short: "-p", long: "--parent" });
  const mdev = { sysfs: new MdevSysfs(root), store: new ConfigStore(root) };
  const parents = () => mdevParents(mdev.sysfs);
  const types = (w: readonly string[]) => mdevTypes(mdev.sysfs, parentOf(w));
  const uuids = (w: readonly string[]) => mdevUuids(mdev, parentOf(w));
  const out: ValueSources = {};
  for (
    const sub of ["list", "types", "start", "define", "undefine", "modify"]
  ) {
    out[`mdev ${sub} --parent`] = parents;
  }
  out["mdev parents --parent"] = parents;
  for (const sub of ["start", "define", "modify"]) {
    out[`mdev ${sub} --type`] = types;
  }
  for (const sub of ["list", "start", "stop", "define", "undefine", "modify"]) {
    out[`mdev ${sub} --uuid`] = uuids;
  }
  out["mdev start-parent-mdevs <PARENT>"] = parents;
  return out;
}
