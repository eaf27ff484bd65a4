/**
 * Shell completion for `vdevctl vdpa`'s keyword syntax: objects, commands,
 * keywords, and live values (vDPA device names from sysfs, management
 * device names from the kernel over netlink). Synchronous and never throws.
 *
 * @module
 */

import type { Candidate } from "../completion/mod.ts";
import type { SysRoot } from "../root.ts";
import { VdpaBus } from "./bus.ts";
import { vdpaMgmtdevShow } from "./client.ts";
import { matches, VDPA_BUS_DRIVERS } from "./args.ts";
import { formatMgmtdevHandle } from "./format.ts";

/** vDPA device names (/sys/bus/vdpa/devices). */
export function vdpaDeviceNames(root: SysRoot): Candidate[] {
  return new VdpaBus(root).deviceNames().map((n) => [n, "vDPA device"]);
}

/**
 * Management device names ("NAME" or "BUS/NAME"), asked from the kernel
 * (sysfs has no list of them). Empty under a fake `--root` or without vdpa.
 */
export function vdpaMgmtdevNames(root: SysRoot): Candidate[] {
  if (!root.isReal) return [];
  try {
    return vdpaMgmtdevShow().map((r) => [
      formatMgmtdevHandle(r.rec),
      "vDPA management device",
    ]);
  } catch {
    return [];
  }
}

const kw = (words: readonly string[], what: string): Candidate[] =>
  words.map((w) => [w, what]);

const ADD_KEYWORDS = [
  "name",
  "mgmtdev",
  "device_features",
  "mac",
  "mtu",
  "max_vqp",
];

/**
 * Candidates for the word being typed after `vdpa`, given every word typed
 * so far (after the program name; the last one is the word being typed).
 */
export function vdpaArgCandidates(
  root: SysRoot,
  words: readonly string[],
): Candidate[] {
  const start = words.indexOf("vdpa");
  const prev = words.slice(start + 1, -1).filter((w) => !w.startsWith("-"));
  const [object, sub, third] = prev;
  if (object === undefined) return kw(["mgmtdev", "dev", "help"], "object");
  if (matches(object, "mgmtdev")) {
    if (sub === undefined) return kw(["show", "list", "help"], "command");
    return prev.length === 2 ? vdpaMgmtdevNames(root) : [];
  }
  if (!matches(object, "dev")) return [];
  if (sub === undefined) {
    return kw(
      ["show", "list", "add", "set", "del", "bind", "config", "vstats", "help"],
      "command",
    );
  }
  const devices = () => vdpaDeviceNames(root);
  if (matches(sub, "show") || matches(sub, "list") || matches(sub, "del")) {
    return prev.length === 2 ? devices() : [];
  }
  if (matches(sub, "config") || sub === "vstats") {
    if (third === undefined) return kw(["show"], "command");
    if (prev.length === 3) return devices();
    return sub === "vstats" && prev.length === 4 ? kw(["qidx"], "keyword") : [];
  }
  if (sub === "bind") {
    if (prev.length === 2) return devices();
    if (prev.length === 3) return kw(["driver"], "keyword");
    return prev.length === 4 ? kw(VDPA_BUS_DRIVERS, "vdpa bus driver") : [];
  }
  if (sub === "set") {
    const args = prev.slice(2);
    if (args.length % 2 === 1) {
      return matches(args[args.length - 1], "name") ? devices() : [];
    }
    const used = new Set(args.filter((_, i) => i % 2 === 0));
    return kw(["name", "mac"].filter((k) => !used.has(k)), "keyword");
  }
  if (matches(sub, "add")) {
    const args = prev.slice(2);
    if (args.length % 2 === 1) {
      const key = args[args.length - 1];
      return matches(key, "mgmtdev") ? vdpaMgmtdevNames(root) : [];
    }
    const used = new Set(args.filter((_, i) => i % 2 === 0));
    return kw(ADD_KEYWORDS.filter((k) => !used.has(k)), "keyword");
  }
  return [];
}
