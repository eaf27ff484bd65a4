/**
 * iproute2 `vdpa` keyword syntax: `mgmtdev show [DEV]`, `dev add name NAME
 * mgmtdev DEV [mac MAC] [mtu MTU] [max_vqp N]`, `dev del DEV`, `dev show
 * [DEV]`, `dev config show [DEV]`, `dev vstats show DEV qidx N`, with
 * iproute2's prefix abbreviations (`d` = dev, `m` = mgmtdev, `s` = show,
 * `a` = add, `n` = name, ...) and defaults (`dev` alone shows devices,
 * `dev config` alone shows configs). One deliberate extension: `mgmtdev`
 * alone shows management devices (iproute2 prints its usage there).
 *
 * @module
 */

import { VdevError } from "../errors.ts";
import type { VdpaDevSpec } from "./client.ts";

/** A parsed `vdpa` command line. */
export type VdpaCommand =
  | {
    readonly op: "help";
    readonly topic: "vdpa" | "mgmtdev" | "dev" | "config" | "vstats";
  }
  | { readonly op: "mgmtdev-show"; readonly mgmtdev?: string }
  | { readonly op: "dev-show"; readonly name?: string }
  | { readonly op: "dev-add"; readonly spec: VdpaDevSpec }
  | { readonly op: "dev-del"; readonly name: string }
  | { readonly op: "dev-config-show"; readonly name?: string }
  | {
    readonly op: "dev-vstats-show";
    readonly name: string;
    readonly qidx: number;
  };

/** Usage text, iproute2's syntax. */
export const VDPA_USAGE =
  `Usage: vdevctl vdpa [ OPTIONS ] OBJECT { COMMAND | help }
where  OBJECT := { mgmtdev | dev }
       OPTIONS := { -j[son] | -p[retty] | --no-iproute2-compat }

       vdevctl vdpa mgmtdev show [ DEV ]
       vdevctl vdpa dev show [ DEV ]
       vdevctl vdpa dev add name NAME mgmtdev MANAGEMENTDEV [ mac MACADDR ] [ mtu MTU ]
                                                     [ max_vqp MAX_VQ_PAIRS ]
       vdevctl vdpa dev del DEV
       vdevctl vdpa dev config show [ DEV ]
       vdevctl vdpa dev vstats show DEV qidx QUEUE_INDEX
`;

/** iproute2's matches(): `arg` is a non-empty prefix of `word`. */
export function matches(arg: string, word: string): boolean {
  return arg.length > 0 && word.startsWith(arg);
}

function unsigned(what: string, text: string | undefined, max: number): number {
  if (text === undefined) throw new VdevError(`${what}: a number is expected`);
  if (!/^[0-9]+$/.test(text) || Number(text) > max) {
    throw new VdevError(`invalid ${what} "${text}": use a number 0..${max}`);
  }
  return Number(text);
}

function noMore(rest: readonly string[]): void {
  if (rest.length > 0) throw new VdevError(`unknown option "${rest[0]}"`);
}

function parseDevAdd(args: readonly string[]): VdpaCommand {
  let name: string | undefined;
  let mgmtdev: string | undefined;
  let mac: string | undefined;
  let mtu: number | undefined;
  let maxVqp: number | undefined;
  for (let i = 0; i < args.length; i += 2) {
    const key = args[i];
    const value = args[i + 1];
    const need = (what: string): string => {
      if (value === undefined) {
        throw new VdevError(`${what} expected after "${key}"`);
      }
      return value;
    };
    if (matches(key, "name")) name = need("device name");
    else if (matches(key, "mgmtdev")) mgmtdev = need("management device");
    else if (key === "mac") mac = need("MAC address");
    else if (key === "mtu") mtu = unsigned("mtu", value, 0xffff);
    else if (matches(key, "max_vqp")) {
      maxVqp = unsigned("max_vqp", value, 0xffff);
    } else throw new VdevError(`unknown option "${key}" for vdpa dev add`);
  }
  if (mgmtdev === undefined) {
    throw new VdevError(
      "vdpa dev add: management device not set (mgmtdev DEV)",
    );
  }
  if (name === undefined) {
    throw new VdevError("vdpa dev add: device name not set (name NAME)");
  }
  return { op: "dev-add", spec: { name, mgmtdev, mac, mtu, maxVqp } };
}

function parseVstats(args: readonly string[]): VdpaCommand {
  if (args.length === 0 || args[0] === "help") {
    return { op: "help", topic: "vstats" };
  }
  if (args[0] !== "show") throw new VdevError(`command "${args[0]}" not found`);
  const [name, ...rest] = args.slice(1);
  if (name === undefined) {
    throw new VdevError("vdpa dev vstats show: device name is not set");
  }
  let qidx: number | undefined;
  for (let i = 0; i < rest.length; i += 2) {
    if (rest[i] !== "qidx") throw new VdevError(`unknown option "${rest[i]}"`);
    qidx = unsigned("qidx", rest[i + 1], 0xffffffff);
  }
  if (qidx === undefined) {
    throw new VdevError(
      `vdpa dev vstats show ${name}: queue index is not set (qidx N)`,
    );
  }
  return { op: "dev-vstats-show", name, qidx };
}

function parseDev(args: readonly string[]): VdpaCommand {
  const [sub, ...rest] = args;
  if (sub === undefined) return { op: "dev-show" };
  if (matches(sub, "help")) return { op: "help", topic: "dev" };
  if (matches(sub, "show") || matches(sub, "list")) {
    noMore(rest.slice(1));
    return { op: "dev-show", name: rest[0] };
  }
  if (matches(sub, "add")) return parseDevAdd(rest);
  if (matches(sub, "del")) {
    if (rest[0] === undefined) {
      throw new VdevError("vdpa dev del: device name is not set");
    }
    noMore(rest.slice(1));
    return { op: "dev-del", name: rest[0] };
  }
  if (matches(sub, "config")) {
    const [what, ...more] = rest;
    if (what === undefined) return { op: "dev-config-show" };
    if (matches(what, "help")) return { op: "help", topic: "config" };
    if (!matches(what, "show")) {
      throw new VdevError(`command "${what}" not found`);
    }
    noMore(more.slice(1));
    return { op: "dev-config-show", name: more[0] };
  }
  if (sub === "vstats") return parseVstats(rest);
  throw new VdevError(`command "${sub}" not found`);
}

/** Parses the words after `vdpa` (options already removed). */
export function parseVdpaArgs(args: readonly string[]): VdpaCommand {
  const [object, ...rest] = args;
  if (object === undefined || matches(object, "help")) {
    return { op: "help", topic: "vdpa" };
  }
  if (matches(object, "mgmtdev")) {
    const [sub, ...more] = rest;
    if (sub === undefined) return { op: "mgmtdev-show" };
    if (matches(sub, "help")) return { op: "help", topic: "mgmtdev" };
    if (!matches(sub, "show") && !matches(sub, "list")) {
      throw new VdevError(`command "${sub}" not found`);
    }
    noMore(more.slice(1));
    return { op: "mgmtdev-show", mgmtdev: more[0] };
  }
  if (matches(object, "dev")) return parseDev(rest);
  throw new VdevError(`object "${object}" not found: use mgmtdev or dev`);
}
