/**
 * iproute2 `vdpa` keyword syntax (6.15's, which is 6.1's plus two
 * commands): `mgmtdev show [DEV]`, `dev add name NAME mgmtdev DEV
 * [device_features HEX] [mac MAC] [mtu MTU] [max_vqp N]`, `dev set name
 * NAME mac MAC`, `dev del DEV`, `dev show [DEV]`, `dev config show [DEV]`,
 * `dev vstats show DEV qidx N`, with iproute2's prefix abbreviations where
 * iproute2 has them (`d` = dev, `m` = mgmtdev, `s` = show, `a` = add, `n` =
 * name, `ma` = max_vqp, ...; `vstats`, `set`, `qidx`, `mac`, `mtu` and
 * `device_features` are exact words, as there) and defaults (`dev` alone
 * shows devices, `dev config` alone shows configs).
 *
 * Extensions, each where iproute2 only fails: `mgmtdev` alone shows
 * management devices (iproute2 prints its usage), `dev add help`, `dev set
 * help` and `dev bind help` print that command's usage, and `dev bind NAME
 * driver virtio_vdpa|vhost_vdpa` rebinds a device to a vdpa bus driver.
 *
 * @module
 */

import { VdevError } from "../errors.ts";
import type { VdpaDevSpec } from "./client.ts";

/** The topics `help` prints usage for. */
export type VdpaHelpTopic =
  | "vdpa"
  | "mgmtdev"
  | "dev"
  | "add"
  | "set"
  | "bind"
  | "config"
  | "vstats";

/** The vdpa bus drivers a device can be bound to. */
export const VDPA_BUS_DRIVERS = ["virtio_vdpa", "vhost_vdpa"] as const;

/** A vdpa bus driver name. */
export type VdpaBusDriver = typeof VDPA_BUS_DRIVERS[number];

/** A parsed `vdpa` command line. */
export type VdpaCommand =
  | { readonly op: "help"; readonly topic: VdpaHelpTopic }
  | { readonly op: "mgmtdev-show"; readonly mgmtdev?: string }
  | { readonly op: "dev-show"; readonly name?: string }
  | { readonly op: "dev-add"; readonly spec: VdpaDevSpec }
  | { readonly op: "dev-set"; readonly name: string; readonly mac?: string }
  | { readonly op: "dev-del"; readonly name: string }
  | {
    readonly op: "dev-bind";
    readonly name: string;
    readonly driver: VdpaBusDriver;
  }
  | { readonly op: "dev-config-show"; readonly name?: string }
  | {
    readonly op: "dev-vstats-show";
    readonly name: string;
    readonly qidx: number;
  };

const P = "vdevctl vdpa";
const ADD_USAGE =
  `       ${P} dev add name NAME mgmtdev MANAGEMENTDEV [ device_features DEVICE_FEATURES ]
                                  [ mac MACADDR ] [ mtu MTU ] [ max_vqp MAX_VQ_PAIRS ]
`;
const SET_USAGE = `       ${P} dev set name NAME [ mac MACADDR ]\n`;
const BIND_USAGE =
  `       ${P} dev bind DEV driver { virtio_vdpa | vhost_vdpa }\n`;
const CONFIG_USAGE = `       ${P} dev config show [ DEV ]\n`;
const VSTATS_USAGE = `       ${P} dev vstats show DEV qidx QUEUE_INDEX\n`;
const DEV_USAGE = `       ${P} dev show [ DEV ]\n${ADD_USAGE}${SET_USAGE}` +
  `       ${P} dev del DEV\n${BIND_USAGE}${CONFIG_USAGE}${VSTATS_USAGE}`;
const MGMTDEV_USAGE = `       ${P} mgmtdev show [ DEV ]\n`;

const usage = (lines: string) => `Usage:\n${lines}`;

/** Usage text, iproute2's syntax. */
export const VDPA_USAGE = `Usage: ${P} [ OPTIONS ] OBJECT { COMMAND | help }
where  OBJECT := { mgmtdev | dev }
       OPTIONS := { -V[ersion] | -j[son] | -p[retty] | --no-iproute2-compat }

${MGMTDEV_USAGE}${DEV_USAGE}`;

/** The usage text of each help topic. */
export const VDPA_HELP: Readonly<Record<VdpaHelpTopic, string>> = {
  vdpa: VDPA_USAGE,
  mgmtdev: usage(MGMTDEV_USAGE),
  dev: usage(DEV_USAGE),
  add: usage(ADD_USAGE),
  set: usage(SET_USAGE),
  bind: usage(BIND_USAGE),
  config: usage(CONFIG_USAGE),
  vstats: usage(VSTATS_USAGE),
};

/** iproute2's matches(): `arg` is a non-empty prefix of `word`. */
export function matches(arg: string, word: string): boolean {
  return arg.length > 0 && word.startsWith(arg);
}

/** iproute2's get_u16/get_u32 in base 10 (strtoul: an optional '+'). */
function unsigned(what: string, text: string | undefined, max: number): number {
  if (text === undefined) throw new VdevError(`${what}: a number is expected`);
  if (!/^\+?[0-9]+$/.test(text) || Number(text) > max) {
    throw new VdevError(`invalid ${what} "${text}": use a number 0..${max}`);
  }
  return Number(text);
}

/** iproute2's get_u64 in base 16 (strtoull: optional '+' and "0x"). */
export function parseHexU64(what: string, text: string): bigint {
  const m = /^\+?(?:0[xX])?([0-9a-fA-F]+)$/.exec(text);
  const v = m ? BigInt(`0x${m[1]}`) : -1n;
  if (v < 0n || v > 0xffffffffffffffffn) {
    throw new VdevError(
      `invalid ${what} "${text}": use a hexadecimal 64-bit number such as 0x300010020`,
    );
  }
  return v;
}

function noMore(rest: readonly string[]): void {
  if (rest.length > 0) throw new VdevError(`unknown option "${rest[0]}"`);
}

/** Walks `key value` pairs, calling `take` for each; unknown keys fail. */
function pairs(
  args: readonly string[],
  command: string,
  take: (key: string, need: (what: string) => string) => boolean,
): void {
  for (let i = 0; i < args.length; i += 2) {
    const key = args[i];
    const value = args[i + 1];
    const need = (what: string): string => {
      if (value === undefined) {
        throw new VdevError(`${what} expected after "${key}"`);
      }
      return value;
    };
    if (!take(key, need)) {
      throw new VdevError(`unknown option "${key}" for vdpa ${command}`);
    }
  }
}

function parseDevAdd(args: readonly string[]): VdpaCommand {
  if (args[0] === "help") return { op: "help", topic: "add" };
  let name: string | undefined;
  let mgmtdev: string | undefined;
  let mac: string | undefined;
  let mtu: number | undefined;
  let maxVqp: number | undefined;
  let features: bigint | undefined;
  pairs(args, "dev add", (key, need) => {
    if (matches(key, "name")) name = need("device name");
    else if (matches(key, "mgmtdev")) mgmtdev = need("management device");
    else if (key === "mac") mac = need("MAC address");
    else if (key === "mtu") mtu = unsigned("mtu", need("number"), 0xffff);
    else if (matches(key, "max_vqp")) {
      maxVqp = unsigned("max_vqp", need("number"), 0xffff);
    } else if (key === "device_features") {
      features = parseHexU64("device_features", need("number"));
    } else return false;
    return true;
  });
  if (mgmtdev === undefined) {
    throw new VdevError(
      "vdpa dev add: management device not set (mgmtdev DEV)",
    );
  }
  if (name === undefined) {
    throw new VdevError("vdpa dev add: device name not set (name NAME)");
  }
  return {
    op: "dev-add",
    spec: { name, mgmtdev, mac, mtu, maxVqp, features },
  };
}

function parseDevSet(args: readonly string[]): VdpaCommand {
  if (args[0] === "help") return { op: "help", topic: "set" };
  let name: string | undefined;
  let mac: string | undefined;
  pairs(args, "dev set", (key, need) => {
    if (matches(key, "name")) name = need("device name");
    else if (key === "mac") mac = need("MAC address");
    else return false;
    return true;
  });
  if (name === undefined) {
    throw new VdevError("vdpa dev set: device name not set (name NAME)");
  }
  return { op: "dev-set", name, mac };
}

function parseDevBind(args: readonly string[]): VdpaCommand {
  const [name, key, driver, ...rest] = args;
  if (name === undefined || name === "help") {
    return { op: "help", topic: "bind" };
  }
  if (key === undefined || !matches(key, "driver") || driver === undefined) {
    throw new VdevError(
      `vdpa dev bind ${name}: driver not set (driver virtio_vdpa|vhost_vdpa)`,
    );
  }
  noMore(rest);
  const known = VDPA_BUS_DRIVERS.find((d) => d === driver);
  if (known === undefined) {
    throw new VdevError(
      `unknown vdpa bus driver "${driver}": use virtio_vdpa or vhost_vdpa`,
    );
  }
  return { op: "dev-bind", name, driver: known };
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
  if (sub === "set") return parseDevSet(rest);
  if (sub === "bind") return parseDevBind(rest);
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
