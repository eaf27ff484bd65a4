/**
 * The provisioning manifest: one JSON document with `mdev`, `vduse`,
 * `vdpa` and `mvnet` arrays, the desired state of a host. {@linkcode parseManifest}
 * checks its shape and values (unknown keys are errors; every error is one
 * line naming the JSON path and the fix) using the families' own parsers;
 * {@linkcode checkManifest} checks it against the host's facts (parents,
 * management devices, drivers) before anything is changed.
 *
 * Pure: no system access.
 *
 * @module
 */

import { VDPA_BUS_DRIVERS, type VdpaBusDriver } from "../vdpa/mod.ts";
import { VdevError } from "../errors.ts";
import { formatMac, parseMacAddress, parseUnicastMac } from "../mac.ts";
import { parseMdevUuid } from "../mdev/mod.ts";
import { buildSpec, DEFAULT_QUEUE_SIZE } from "../vduse/mod.ts";
import { macForName, MVNET_QUEUE_SIZE } from "../mvnet/mod.ts";

/** An mdev: defined (mdevctl's own file) and started, or not. */
export interface MdevItem {
  /** Canonical UUID. */
  uuid: string;
  /** Parent device (entry of /sys/class/mdev_bus). */
  parent: string;
  /** mdev type id. */
  type: string;
  /** mdevctl's start mode. */
  start: "auto" | "manual";
  /** Attributes written in order on start, mdevctl's `[{"name": "value"}]`. */
  attrs: Record<string, string>[];
  /** running: defined and started; defined: definition only; absent: neither. */
  state: "running" | "defined" | "absent";
}

/** A VDUSE device (created, not served). */
export interface VduseItem {
  /** Device name. */
  name: string;
  /** Device type. */
  type: "net" | "blk";
  /** net: MAC address (canonical, lower case). */
  mac?: string;
  /** net: MTU. */
  mtu?: number;
  /** Maximum size of every virtqueue. */
  queue_size: number;
}

/** A vDPA device. */
export interface VdpaItem {
  /** Device name. */
  name: string;
  /** Management device ("vdpasim_net", "vduse", "BUS/NAME"). */
  mgmtdev: string;
  /** MAC address (canonical). */
  mac?: string;
  /** MTU. */
  mtu?: number;
  /** Maximum virtqueue pairs. */
  max_vqp?: number;
  /** The vdpa bus driver to bind it to (any when absent). */
  driver?: VdpaBusDriver;
}

/**
 * A served mvnet loopback device: its daemon (`vdevctl mvnet run NAME`)
 * runs as a managed service (a systemd unit, or a supervised process) and
 * owns a VDUSE device and the vDPA device on it, both named NAME (which
 * are therefore not `vduse[]` or `vdpa[]` entries).
 */
export interface MvnetItem {
  /** Device name (VDUSE, vdpa and service instance). */
  name: string;
  /** MAC address (canonical; default: derived from the name). */
  mac: string;
  /** MTU offered to the driver (`mvnet run --mtu`). */
  mtu: number;
  /** Maximum virtqueue size (`mvnet run --queue-size`). */
  queue_size: number;
}

/** The desired state; a kind that is absent is not managed at all. */
export interface Manifest {
  /** mdevs. */
  mdev?: MdevItem[];
  /** VDUSE devices. */
  vduse?: VduseItem[];
  /** vDPA devices. */
  vdpa?: VdpaItem[];
  /** mvnet daemons. */
  mvnet?: MvnetItem[];
}

/** The kinds of device a manifest holds, in the order they are listed. */
export const KINDS = ["mdev", "vduse", "vdpa", "mvnet"] as const;

/** One kind of device. */
export type Kind = typeof KINDS[number];

type Json = Record<string, unknown>;

function fail(path: string, fix: string): never {
  throw new VdevError(`${path}: ${fix}`);
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function object(v: unknown, path: string, keys: readonly string[]): Json {
  if (!isObject(v)) fail(path, "not an object: give {...}");
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) {
      fail(`${path}.${k}`, `unknown key: use one of ${keys.join(", ")}`);
    }
  }
  return v;
}

function string(o: Json, key: string, path: string): string {
  const v = o[key];
  if (v === undefined) fail(`${path}.${key}`, "missing: it is required");
  if (typeof v !== "string" || v === "") {
    fail(`${path}.${key}`, "not a string: give a non-empty string");
  }
  return v;
}

function choice<T extends string>(
  o: Json,
  key: string,
  spec: { path: string; values: readonly T[]; default?: T },
): T | undefined {
  const v = o[key];
  if (v === undefined) return spec.default;
  if (
    typeof v !== "string" || !(spec.values as readonly string[]).includes(v)
  ) {
    fail(`${spec.path}.${key}`, `must be one of ${spec.values.join(", ")}`);
  }
  return v as T;
}

function int(
  o: Json,
  key: string,
  spec: { path: string; min: number; max: number },
): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (
    typeof v !== "number" || !Number.isInteger(v) || v < spec.min ||
    v > spec.max
  ) {
    fail(
      `${spec.path}.${key}`,
      `not a whole number between ${spec.min} and ${spec.max}`,
    );
  }
  return v;
}

function mac(
  o: Json,
  path: string,
  parse: (text: string) => Uint8Array,
): string | undefined {
  const v = o.mac;
  if (v === undefined) return undefined;
  if (typeof v !== "string") fail(`${path}.mac`, "not a MAC address");
  try {
    return formatMac(parse(v));
  } catch (err) {
    const why = err instanceof VdevError ? err.message : String(err);
    return fail(`${path}.mac`, `not a MAC address (${why})`);
  }
}

function array(doc: Json, key: Kind): unknown[] | undefined {
  const v = doc[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) fail(key, "not an array: give [...]");
  return v;
}

const MDEV_KEYS = ["uuid", "parent", "type", "start", "attrs", "state"];
const VDUSE_KEYS = ["name", "type", "mac", "mtu", "queue_size"];
const VDPA_KEYS = ["name", "mgmtdev", "mac", "mtu", "max_vqp", "driver"];
const MVNET_KEYS = ["name", "mac", "mtu", "queue_size"];

function mdevItem(v: unknown, path: string): MdevItem {
  const o = object(v, path, MDEV_KEYS);
  const text = string(o, "uuid", path);
  const uuid = parseMdevUuid(text);
  if (uuid === undefined) {
    fail(`${path}.uuid`, "not a UUID: use the 8-4-4-4-12 hex form");
  }
  const parent = string(o, "parent", path);
  if (parent.includes("/") || parent === "." || parent === "..") {
    fail(`${path}.parent`, "not a device name: give an mdev_bus entry");
  }
  const attrs = o.attrs ?? [];
  if (!Array.isArray(attrs)) {
    fail(`${path}.attrs`, 'not an array: [{"k": "v"}]');
  }
  attrs.forEach((a, i) => {
    const p = `${path}.attrs[${i}]`;
    if (!isObject(a) || Object.keys(a).length !== 1) {
      fail(p, 'must be an object with one field: {"name": "value"}');
    }
    const [k, val] = Object.entries(a)[0];
    if (k === "" || k.includes("/") || typeof val !== "string") {
      fail(p, "must map an attribute file name to a string value");
    }
  });
  return {
    uuid,
    parent,
    type: string(o, "type", path),
    start: choice(o, "start", {
      path,
      values: ["auto", "manual"] as const,
      default: "manual",
    })!,
    attrs: attrs as Record<string, string>[],
    state: choice(o, "state", {
      path,
      values: ["running", "defined", "absent"] as const,
      default: "running",
    })!,
  };
}

function vduseItem(v: unknown, path: string): VduseItem {
  const o = object(v, path, VDUSE_KEYS);
  const item: VduseItem = {
    name: string(o, "name", path),
    type: choice(o, "type", { path, values: ["net", "blk"] as const }) ??
      fail(`${path}.type`, "missing: use net or blk"),
    mac: mac(o, path, parseUnicastMac),
    mtu: int(o, "mtu", { path, min: 68, max: 65535 }),
    queue_size: int(o, "queue_size", { path, min: 1, max: 32768 }) ??
      DEFAULT_QUEUE_SIZE,
  };
  vduseChecks(item, path);
  return dropUndefined(item);
}

/** The VDUSE family's own checks: name, type/field combinations, sizes. */
function vduseChecks(item: VduseItem, path: string): void {
  try {
    buildSpec(item.name, {
      type: item.type,
      mac: item.mac,
      mtu: item.mtu,
      queueSize: item.queue_size,
    });
  } catch (err) {
    if (!(err instanceof VdevError)) throw err;
    fail(path, err.message.replace(/^cannot create VDUSE device \S+: /, ""));
  }
}

function mvnetItem(v: unknown, path: string): MvnetItem {
  const o = object(v, path, MVNET_KEYS);
  const name = string(o, "name", path);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    fail(
      `${path}.name`,
      'use letters, digits, ".", "_" and "-" (a letter or digit first)',
    );
  }
  const item: MvnetItem = {
    name,
    mac: mac(o, path, parseUnicastMac) ?? macForName(name),
    mtu: int(o, "mtu", { path, min: 68, max: 65535 }) ?? 1500,
    queue_size: int(o, "queue_size", { path, min: 1, max: 32768 }) ??
      MVNET_QUEUE_SIZE,
  };
  vduseChecks({ ...item, type: "net" }, path);
  return item;
}

function vdpaItem(v: unknown, path: string): VdpaItem {
  const o = object(v, path, VDPA_KEYS);
  const item: VdpaItem = {
    name: string(o, "name", path),
    mgmtdev: string(o, "mgmtdev", path),
    mac: mac(o, path, parseMacAddress),
    mtu: int(o, "mtu", { path, min: 68, max: 65535 }),
    max_vqp: int(o, "max_vqp", { path, min: 1, max: 0x7fff }),
    driver: choice(o, "driver", { path, values: VDPA_BUS_DRIVERS }),
  };
  if (/[\s/]/.test(item.name)) {
    fail(`${path}.name`, "no '/' or spaces in a vdpa device name");
  }
  if (item.mgmtdev === "vduse") {
    for (const k of ["mac", "mtu", "max_vqp"] as const) {
      if (item[k] !== undefined) {
        fail(
          `${path}.${k}`,
          "a vduse device takes it from its VDUSE device: set it under vduse[]",
        );
      }
    }
  }
  return dropUndefined(item);
}

function dropUndefined<T extends object>(item: T): T {
  for (const [k, v] of Object.entries(item)) {
    if (v === undefined) delete (item as Record<string, unknown>)[k];
  }
  return item;
}

function unique(m: Manifest): void {
  const check = (ids: string[], spec: { kind: Kind; key: string }) => {
    const seen = new Map<string, number>();
    ids.forEach((k, i) => {
      const first = seen.get(k);
      if (first !== undefined) {
        fail(
          `${spec.kind}[${i}].${spec.key}`,
          `duplicate of ${spec.kind}[${first}] (${k}): give each device once`,
        );
      }
      seen.set(k, i);
    });
  };
  check((m.mdev ?? []).map((d) => d.uuid), { kind: "mdev", key: "uuid" });
  check((m.vduse ?? []).map((d) => d.name), { kind: "vduse", key: "name" });
  check((m.vdpa ?? []).map((d) => d.name), { kind: "vdpa", key: "name" });
  check((m.mvnet ?? []).map((d) => d.name), { kind: "mvnet", key: "name" });
  // An mvnet daemon owns the VDUSE and vDPA devices of its name.
  for (const other of ["vduse", "vdpa"] as const) {
    const names = new Map((m[other] ?? []).map((d, i) => [d.name, i]));
    (m.mvnet ?? []).forEach((d, i) => {
      const j = names.get(d.name);
      if (j === undefined) return;
      fail(
        `mvnet[${i}].name`,
        `${d.name} is also ${other}[${j}]: an mvnet daemon makes its own VDUSE and vDPA device of that name; rename one`,
      );
    });
  }
}

/**
 * Parses and checks manifest JSON text; throws one-line
 * {@linkcode VdevError}s naming the JSON path (`vdpa[1].mac: not a MAC
 * address ...`). `source` names the input in JSON syntax errors.
 */
export function parseManifest(text: string, source = "manifest"): Manifest {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new VdevError(
      `${source}: not valid JSON (${
        err instanceof Error ? err.message : err
      }): give one JSON object`,
    );
  }
  return manifestFromDocument(doc, source);
}

/**
 * Checks an already parsed manifest document (from JSON or YAML) the way
 * {@linkcode parseManifest} does, and returns it typed.
 */
export function manifestFromDocument(
  doc: unknown,
  source = "manifest",
): Manifest {
  if (!isObject(doc)) {
    throw new VdevError(`${source}: not a JSON object: give {"mdev": [...]}`);
  }
  for (const k of Object.keys(doc)) {
    if (!(KINDS as readonly string[]).includes(k)) {
      fail(k, `unknown key: use ${KINDS.join(", ")}`);
    }
  }
  const m: Manifest = {};
  const mdev = array(doc, "mdev");
  if (mdev) m.mdev = mdev.map((v, i) => mdevItem(v, `mdev[${i}]`));
  const vduse = array(doc, "vduse");
  if (vduse) m.vduse = vduse.map((v, i) => vduseItem(v, `vduse[${i}]`));
  const vdpa = array(doc, "vdpa");
  if (vdpa) m.vdpa = vdpa.map((v, i) => vdpaItem(v, `vdpa[${i}]`));
  const mvnet = array(doc, "mvnet");
  if (mvnet) m.mvnet = mvnet.map((v, i) => mvnetItem(v, `mvnet[${i}]`));
  unique(m);
  return m;
}

/**
 * Merges manifests (the files of /etc/vdevctl): the arrays are joined, and
 * a device given twice is refused as in one manifest.
 */
export function mergeManifests(list: readonly Manifest[]): Manifest {
  const out: Manifest = {};
  for (const m of list) {
    for (const k of KINDS) {
      if (m[k] !== undefined) {
        (out as Record<Kind, unknown[]>)[k] = [...(out[k] ?? []), ...m[k]!];
      }
    }
  }
  unique(out);
  return out;
}

/** What the host offers, for {@linkcode checkManifest}. */
export interface HostFacts {
  /** mdev parents (entries of /sys/class/mdev_bus). */
  mdevParents: readonly string[];
  /** vDPA management devices ("vdpasim_net", "vduse", ...). */
  mgmtdevs: readonly string[];
  /** Loaded vdpa bus drivers. */
  vdpaDrivers: readonly string[];
  /** The vduse module is loaded. */
  vduseLoaded: boolean;
}

/** Options of {@linkcode checkManifest}. */
export interface CheckOptions {
  /**
   * Drop (with a warning) the devices whose parent or management device is
   * not there yet instead of refusing the manifest: at boot, the udev rule
   * applies them when it appears.
   */
  deferMissing?: boolean;
}

/**
 * Checks `m` against the host before anything is changed: mdev parents,
 * management devices, vdpa drivers, and that every vDPA device on `vduse`
 * has its VDUSE device declared. Returns the manifest to apply (without the
 * deferred devices) and the warnings.
 */
export function checkManifest(
  m: Manifest,
  facts: HostFacts,
  options: CheckOptions = {},
): { manifest: Manifest; warnings: string[] } {
  const warnings: string[] = [];
  const out: Manifest = { ...m };
  const missing = (path: string, fix: string): false => {
    if (!options.deferMissing) fail(path, fix);
    warnings.push(`${path}: ${fix}; deferred until it appears`);
    return false;
  };
  if (m.mdev) {
    out.mdev = m.mdev.filter((d, i) =>
      d.state === "absent" || facts.mdevParents.includes(d.parent) ||
      missing(
        `mdev[${i}].parent`,
        `no mdev parent ${d.parent} on this host (see 'vdevctl mdev types'): load its driver`,
      )
    );
  }
  if (m.vduse?.length && !facts.vduseLoaded) {
    missing("vduse", "the vduse module is not loaded: modprobe vduse");
    out.vduse = [];
  }
  if (m.mvnet?.length && !facts.vduseLoaded) {
    missing(
      "mvnet",
      "the vduse module is not loaded: modprobe vduse vdpa virtio_vdpa virtio_net",
    );
    out.mvnet = [];
  }
  if (m.vdpa) {
    const vduseNames = new Set((out.vduse ?? []).map((d) => d.name));
    out.vdpa = m.vdpa.filter((d, i) => {
      const path = `vdpa[${i}]`;
      if (d.mgmtdev === "vduse" && !vduseNames.has(d.name)) {
        if (m.vduse?.some((v) => v.name === d.name)) return false; // deferred
        fail(
          `${path}.name`,
          `no VDUSE device ${d.name} in this manifest: declare it under vduse[]`,
        );
      }
      if (!facts.mgmtdevs.includes(d.mgmtdev)) {
        return missing(
          `${path}.mgmtdev`,
          `unknown management device ${d.mgmtdev} (see 'vdevctl vdpa mgmtdev show'): load its module`,
        );
      }
      if (d.driver !== undefined && !facts.vdpaDrivers.includes(d.driver)) {
        return missing(
          `${path}.driver`,
          `the vdpa driver ${d.driver} is not loaded: modprobe ${d.driver}`,
        );
      }
      return true;
    });
  }
  return { manifest: out, warnings };
}
