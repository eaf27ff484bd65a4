/**
 * mdevctl's output, byte for byte (1.2's by default, 1.4's with
 * `compat: "1.4"`: no extra newline after `list` and `types`, none at all
 * after their JSON): `list` text (with "(defined)" /
 * "(active)" and the verbose attribute listing), `list --dumpjson` (the whole
 * hierarchy, or one device's config when a UUID selects exactly one),
 * `types` text and JSON; plus vdevctl's own `parents` output. Every string
 * returned ends the way mdevctl's `println!` ends it.
 *
 * @module
 */

import { definitionValue } from "./config_store.ts";
import { VdevError } from "../errors.ts";
import type { MdevEntry, MdevListing, ParentInfo } from "./list.ts";
import type { MdevType } from "./sysfs.ts";

/** The mdevctl release whose output is printed. */
export type MdevctlCompat = "1.2" | "1.4";

/** The `mdevctl --version` number of each compatible release. */
export const MDEVCTL_VERSIONS: Readonly<Record<MdevctlCompat, string>> = {
  "1.2": "1.2.0",
  "1.4": "1.4.0",
};

/**
 * The release named by `value` (from `source`, e.g. the environment
 * variable or an option, for the message); 1.2 when undefined or empty.
 */
export function parseCompat(
  value: string | undefined,
  source: string,
): MdevctlCompat {
  if (value === undefined || value === "") return "1.2";
  const v = value.replace(/\.0$/, "");
  if (v === "1.2" || v === "1.4") return v;
  throw new VdevError(
    `${source} ${
      JSON.stringify(value)
    } is not a supported mdevctl version: use 1.2 or 1.4`,
  );
}

/**
 * What follows `list` and `types` output: 1.2 `println!`s it (an extra
 * empty line after text, a newline after JSON), 1.4 `print!`s it.
 */
function trailer(compat: MdevctlCompat | undefined): string {
  return compat === "1.4" ? "" : "\n";
}

function entryText(e: MdevEntry, opts: { defined: boolean; verbose: boolean }) {
  let out = `${e.uuid} ${e.parent} ${e.type} ${
    e.autostart ? "auto" : "manual"
  }`;
  if (opts.defined) {
    if (e.active) out += " (active)";
  } else if (e.defined) {
    out += " (defined)";
  }
  out += "\n";
  if (opts.verbose && e.attrs.length > 0) {
    out += "  Attrs:\n";
    e.attrs.forEach((a, i) => {
      out += `    @{${i}}: {"${a.name}":"${a.value}"}\n`;
    });
  }
  return out;
}

/** `list` / `list --defined` as text. */
export function listText(
  listing: MdevListing,
  opts: { defined: boolean; verbose: boolean; compat?: MdevctlCompat },
): string {
  let out = "";
  for (const entries of listing.parents.values()) {
    for (const e of entries) {
      if (opts.defined ? !e.defined : !e.active) continue;
      out += entryText(e, opts);
    }
  }
  return out + trailer(opts.compat);
}

/** `list --dumpjson`: one device's config when `uuid` selects exactly one. */
export function listJson(
  listing: MdevListing,
  opts: { uuid?: string; compat?: MdevctlCompat },
): string {
  const count = [...listing.parents.values()].reduce((n, v) => n + v.length, 0);
  let value: unknown;
  if ((opts.uuid === undefined || count > 1) && plainKeys(listing)) {
    return hierarchyJson(listing) + trailer(opts.compat);
  }
  if (opts.uuid === undefined || count > 1) {
    const parents: Record<string, unknown[]> = {};
    for (const [parent, entries] of listing.parents) {
      parents[parent] = entries.map((e) => ({ [e.uuid]: definitionValue(e) }));
    }
    value = listing.parents.size === 0 ? [] : [parents];
  } else {
    const first = listing.parents.values().next().value?.[0];
    value = first === undefined ? [] : definitionValue(first);
  }
  return JSON.stringify(value, null, 2) + trailer(opts.compat);
}

/**
 * True when no parent name is one that a JavaScript object would not keep
 * in insertion order (an array index) or as a key (`__proto__`): then
 * {@linkcode hierarchyJson} prints what JSON.stringify of the object does.
 */
function plainKeys(listing: MdevListing): boolean {
  for (const parent of listing.parents.keys()) {
    if (parent === "__proto__" || /^(0|[1-9][0-9]*)$/.test(parent)) {
      return false;
    }
  }
  return true;
}

/**
 * `[{PARENT: [{UUID: definitionValue(device)}, ...]}]` as
 * `JSON.stringify(value, null, 2)` prints it, written directly: an object
 * keyed by each device's UUID costs V8 a hidden class per device, and
 * stringifying 10,000 of them most of a `list --dumpjson`.
 */
function hierarchyJson(listing: MdevListing): string {
  if (listing.parents.size === 0) return "[]";
  let out = "[\n  {";
  let sep = "\n";
  for (const [parent, entries] of listing.parents) {
    out += `${sep}    ${JSON.stringify(parent)}: [`;
    sep = ",\n";
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      out += `${i === 0 ? "\n" : ",\n"}      {\n        ${
        JSON.stringify(e.uuid)
      }: {\n          "mdev_type": ${
        JSON.stringify(e.type)
      },\n          "start": "${
        e.autostart ? "auto" : "manual"
      }",\n          "attrs": [`;
      for (let j = 0; j < e.attrs.length; j++) {
        const a = e.attrs[j];
        out += `${j === 0 ? "\n" : ",\n"}            {\n              ${
          JSON.stringify(a.name)
        }: ${JSON.stringify(a.value)}\n            }`;
      }
      out += `${e.attrs.length > 0 ? "\n          " : ""}]\n        }\n      }`;
    }
    out += entries.length > 0 ? "\n    ]" : "]";
  }
  return out + "\n  }\n]";
}

/** `types` as text. */
export function typesText(
  types: Map<string, MdevType[]>,
  opts: { compat?: MdevctlCompat } = {},
): string {
  let out = "";
  for (const [parent, list] of types) {
    out += `${parent}\n`;
    for (const t of list) {
      out += `  ${t.id}\n`;
      out += `    Available instances: ${t.availableInstances}\n`;
      out += `    Device API: ${t.deviceApi}\n`;
      if (t.name !== "") out += `    Name: ${t.name}\n`;
      if (t.description !== "") out += `    Description: ${t.description}\n`;
    }
  }
  return out + trailer(opts.compat);
}

/** `types --dumpjson`. */
export function typesJson(
  types: Map<string, MdevType[]>,
  opts: { compat?: MdevctlCompat } = {},
): string {
  const parents: Record<string, unknown[]> = {};
  for (const [parent, list] of types) {
    parents[parent] = list.map((t) => {
      const v: Record<string, unknown> = {
        available_instances: t.availableInstances,
        device_api: t.deviceApi,
      };
      if (t.name !== "") v.name = t.name;
      if (t.description !== "") v.description = t.description;
      return { [t.id]: v };
    });
  }
  return JSON.stringify(types.size === 0 ? [] : [parents], null, 2) +
    trailer(opts.compat);
}

/** `parents` as text (vdevctl's own command). */
export function parentsText(parents: ParentInfo[]): string {
  let out = "";
  for (const p of parents) {
    out += `${p.parent}\n`;
    out += `  Driver: ${p.driver || "(none)"}\n`;
    out += `  Device: ${p.device}\n`;
    for (const t of p.types) {
      const label = t.name ? ` (${t.name})` : "";
      out +=
        `  ${t.type}${label}: ${t.inUse} in use, ${t.available} available, ${t.deviceApi}\n`;
    }
  }
  return out;
}

/** `parents --json`. */
export function parentsJson(parents: ParentInfo[]): string {
  return JSON.stringify(
    parents.map((p) => ({
      parent: p.parent,
      driver: p.driver,
      device: p.device,
      types: p.types.map((t) => ({
        type: t.type,
        name: t.name,
        description: t.description,
        device_api: t.deviceApi,
        in_use: t.inUse,
        available_instances: t.available,
      })),
    })),
    null,
    2,
  ) + "\n";
}
