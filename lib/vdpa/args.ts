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

/**
 * A command line that iproute2's vdpa refuses: vdevctl's one-line message,
 * and what iproute2 prints on stderr for it (undefined where it prints
 * nothing: a number it cannot parse, or a vdevctl extension). Both exit 1.
 */
export class VdpaUsageError extends VdevError {
  /** iproute2's exact stderr, lines and final newline included. */
  readonly iproute2?: string;

  /** vdevctl's `message`; `iproute2`, the peer's words. */
  constructor(message: string, iproute2?: string) {
    super(message);
    this.name = "VdpaUsageError";
    this.iproute2 = iproute2;
  }
}

const notFound = (what: "Object" | "Command", word: string, use: string) =>
  new VdpaUsageError(
    `${what.toLowerCase()} "${word}" not found${use}`,
    `${what} "${word}" not found\n`,
  );

const unknownOption = (key: string, command?: string) =>
  new VdpaUsageError(
    `unknown option "${key}"${command ? ` for vdpa ${command}` : ""}`,
    `Unknown option "${key}"\n`,
  );

const STRING_EXPECTED = "String parameter expected\n";
const VSTATS_HELP = "Usage: vdpa dev vstats show DEV [qidx QUEUE_INDEX]\n";

/** iproute2's vdpa_argv_handle: "NAME" or "BUS/NAME", at most one '/'. */
function mgmtdevHandle(handle: string): string {
  if (handle.split("/").length > 2) {
    throw new VdpaUsageError(
      `invalid vdpa management device "${handle}": use NAME or BUS/NAME`,
      "Wrong vdpa mgmtdev identification string format\n" +
        'Expected "mgmtdev_bus_name/mgmtdev_name"\n' +
        'Expected "mgmtdev_name"\n',
    );
  }
  return handle;
}

/** iproute2's matches(): `arg` is a non-empty prefix of `word`. */
export function matches(arg: string, word: string): boolean {
  return arg.length > 0 && word.startsWith(arg);
}

/**
 * iproute2's get_u16/get_u32 in base 10 (strtoul: leading white space and
 * a sign; "-0" is 0, any other negative number wraps past the maximum).
 */
function unsigned(what: string, text: string | undefined, max: number): number {
  if (text === undefined) {
    throw new VdpaUsageError(`${what}: a number is expected`);
  }
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)$/.exec(text);
  const n = m ? Number(m[2]) : NaN;
  if (!m || n > max || (m[1] === "-" && n !== 0)) {
    throw new VdpaUsageError(
      `invalid ${what} "${text}": use a number 0..${max}`,
    );
  }
  return n;
}

/**
 * iproute2's get_u64 in base 16 (strtoull: leading white space, a sign,
 * "0x"; a negative number wraps modulo 2^64, as strtoull's does).
 */
export function parseHexU64(what: string, text: string): bigint {
  const m = /^[ \t\n\v\f\r]*([+-]?)(?:0[xX])?([0-9a-fA-F]+)$/.exec(text);
  let v = m ? BigInt(`0x${m[2]}`) : -1n;
  if (m?.[1] === "-" && v <= 0xffffffffffffffffn) {
    v = (0x10000000000000000n - v) % 0x10000000000000000n;
  }
  if (v < 0n || v > 0xffffffffffffffffn) {
    throw new VdpaUsageError(
      `invalid ${what} "${text}": use a hexadecimal 64-bit number such as 0x300010020`,
    );
  }
  return v;
}

/**
 * How the words are read: `compat` (the default) as iproute2 reads them,
 * which takes `KEY VALUE` pairs only while two words are left
 * (NEXT_ARG_OK), so a lone last word is silently ignored (`dev show DEV
 * x`, `dev add ... mtu`); without it that word is refused.
 */
export interface VdpaParseOptions {
  /** iproute2's reading (default true). */
  compat?: boolean;
}

/** Refuses words after a command's last one, as iproute2 refuses them. */
function noMore(rest: readonly string[], o: VdpaParseOptions): void {
  if (rest.length > (o.compat === false ? 0 : 1)) throw unknownOption(rest[0]);
}

/** Walks `key value` pairs, calling `take` for each; unknown keys fail. */
function pairs(
  args: readonly string[],
  [command, o]: [string, VdpaParseOptions],
  take: (key: string, need: (what: string) => string) => boolean,
): void {
  for (let i = 0; i < args.length; i += 2) {
    const key = args[i];
    const value = args[i + 1];
    if (value === undefined && o.compat !== false) break; // iproute2 ignores it
    const need = (what: string): string => {
      if (value === undefined) {
        throw new VdpaUsageError(`${what} expected after "${key}"`);
      }
      return value;
    };
    if (!take(key, need)) throw unknownOption(key, command);
  }
}

function parseDevAdd(
  args: readonly string[],
  o: VdpaParseOptions,
): VdpaCommand {
  if (args[0] === "help") return { op: "help", topic: "add" };
  let name: string | undefined;
  let mgmtdev: string | undefined;
  let mac: string | undefined;
  let mtu: number | undefined;
  let maxVqp: number | undefined;
  let features: bigint | undefined;
  pairs(args, ["dev add", o], (key, need) => {
    const number = () => need("number");
    if (matches(key, "name")) name = need("device name");
    else if (matches(key, "mgmtdev")) {
      mgmtdev = mgmtdevHandle(need("management device"));
    } else if (key === "mac") mac = need("MAC address");
    else if (key === "mtu") mtu = unsigned("mtu", number(), 0xffff);
    else if (matches(key, "max_vqp")) {
      maxVqp = unsigned("max_vqp", number(), 0xffff);
    } else if (key === "device_features") {
      features = parseHexU64("device_features", number());
    } else return false;
    return true;
  });
  if (mgmtdev === undefined) {
    throw new VdpaUsageError(
      "vdpa dev add: management device not set (mgmtdev DEV)",
      "management device handle not set.\n",
    );
  }
  if (name === undefined) {
    throw new VdpaUsageError(
      "vdpa dev add: device name not set (name NAME)",
      "device name is not set.\n",
    );
  }
  return {
    op: "dev-add",
    spec: { name, mgmtdev, mac, mtu, maxVqp, features },
  };
}

function parseDevSet(
  args: readonly string[],
  o: VdpaParseOptions,
): VdpaCommand {
  if (args[0] === "help") return { op: "help", topic: "set" };
  let name: string | undefined;
  let mac: string | undefined;
  pairs(args, ["dev set", o], (key, need) => {
    if (matches(key, "name")) name = need("device name");
    else if (key === "mac") mac = need("MAC address");
    else return false;
    return true;
  });
  if (name === undefined) {
    throw new VdpaUsageError(
      "vdpa dev set: device name not set (name NAME)",
      "device name is not set.\n",
    );
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
  noMore(rest, { compat: false });
  const known = VDPA_BUS_DRIVERS.find((d) => d === driver);
  if (known === undefined) {
    throw new VdevError(
      `unknown vdpa bus driver "${driver}": use virtio_vdpa or vhost_vdpa`,
    );
  }
  return { op: "dev-bind", name, driver: known };
}

function parseVstats(args: readonly string[]): VdpaCommand {
  const [sub, ...shown] = args;
  if (sub === "help") return { op: "help", topic: "vstats" };
  // iproute2 prints its usage and fails for a missing command and for any
  // number of words after show but DEV or DEV qidx N.
  const usage = new VdpaUsageError(
    "vdpa dev vstats: use 'show DEV qidx QUEUE_INDEX'",
    VSTATS_HELP,
  );
  if (sub === undefined) throw usage;
  if (sub !== "show") throw notFound("Command", sub, "");
  if (shown.length !== 1 && shown.length !== 3) throw usage;
  const [name, ...rest] = shown;
  let qidx: number | undefined;
  for (let i = 0; i < rest.length; i += 2) {
    if (rest[i] !== "qidx") throw unknownOption(rest[i]);
    qidx = unsigned("qidx", rest[i + 1], 0xffffffff);
  }
  if (qidx === undefined) {
    throw new VdpaUsageError(
      `vdpa dev vstats show ${name}: queue index is not set (qidx N)`,
    );
  }
  return { op: "dev-vstats-show", name, qidx };
}

function parseDev(args: readonly string[], o: VdpaParseOptions): VdpaCommand {
  const [sub, ...rest] = args;
  if (sub === undefined) return { op: "dev-show" };
  if (matches(sub, "help")) return { op: "help", topic: "dev" };
  if (matches(sub, "show") || matches(sub, "list")) {
    noMore(rest.slice(1), o);
    return { op: "dev-show", name: rest[0] };
  }
  if (matches(sub, "add")) return parseDevAdd(rest, o);
  if (matches(sub, "del")) {
    if (rest[0] === undefined) {
      throw new VdpaUsageError(
        "vdpa dev del: device name is not set",
        STRING_EXPECTED,
      );
    }
    noMore(rest.slice(1), o);
    return { op: "dev-del", name: rest[0] };
  }
  if (matches(sub, "config")) {
    const [what, ...more] = rest;
    if (what === undefined) return { op: "dev-config-show" };
    if (matches(what, "help")) return { op: "help", topic: "config" };
    if (!matches(what, "show")) throw notFound("Command", what, "");
    noMore(more.slice(1), o);
    return { op: "dev-config-show", name: more[0] };
  }
  if (sub === "vstats") return parseVstats(rest);
  if (sub === "set") return parseDevSet(rest, o);
  if (sub === "bind") return parseDevBind(rest);
  throw notFound("Command", sub, "");
}

/** Parses the words after `vdpa` (options already removed). */
export function parseVdpaArgs(
  args: readonly string[],
  options: VdpaParseOptions = {},
): VdpaCommand {
  const [object, ...rest] = args;
  if (object === undefined || matches(object, "help")) {
    return { op: "help", topic: "vdpa" };
  }
  if (matches(object, "mgmtdev")) {
    const [sub, ...more] = rest;
    if (sub === undefined) return { op: "mgmtdev-show" };
    if (matches(sub, "help")) return { op: "help", topic: "mgmtdev" };
    if (!matches(sub, "show") && !matches(sub, "list")) {
      throw notFound("Command", sub, "");
    }
    const handle = more[0] === undefined ? undefined : mgmtdevHandle(more[0]);
    noMore(more.slice(1), options);
    return { op: "mgmtdev-show", mgmtdev: handle };
  }
  if (matches(object, "dev")) return parseDev(rest, options);
  throw notFound("Object", object, ": use mgmtdev or dev");
}
