/**
 * Netlink attributes as data: a family's attribute enum is mirrored as an
 * {@linkcode AttrTable} (ids to names and payload types, see
 * `lib/vdpa/uapi.ts`), and {@linkcode encodeAttrs} / {@linkcode decodeAttrs}
 * turn `[name, value]` pairs into padded TLVs and back.
 *
 * @module
 */

import { NL } from "./uapi.ts";

/** How an attribute's payload is encoded. */
export type AttrType =
  | "u8"
  | "u16"
  | "u32"
  | "u64"
  | "string"
  | "binary"
  | "flag"
  | "nested";

/** One row of an attribute table. */
export interface AttrSpec {
  /** Name used in code, e.g. "DEV_NAME". */
  readonly name: string;
  /** Payload encoding. */
  readonly type: AttrType;
  /** Table of the nested attributes (type "nested"). */
  readonly nested?: AttrTable;
}

/** Attribute id → spec: a family's attribute enum as data. */
export type AttrTable = Readonly<Record<number, AttrSpec>>;

/**
 * A decoded attribute value: numbers for u8/u16/u32, bigint for u64, string,
 * bytes for binary (and unknown ids), true for a flag, a list for nested.
 */
export type AttrValue =
  | number
  | bigint
  | string
  | Uint8Array
  | boolean
  | readonly Attr[];

/** A decoded attribute, in message order. */
export interface Attr {
  /** Attribute id (flags masked off). */
  readonly id: number;
  /** Name from the table, or `unknown_ID`. */
  readonly name: string;
  /** Decoded payload. */
  readonly value: AttrValue;
}

/** A value to encode: u64 takes number or bigint, nested takes pairs. */
export type AttrInput =
  | number
  | bigint
  | string
  | Uint8Array
  | boolean
  | readonly (readonly [string, AttrInput])[];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Rounds up to the 4-byte netlink alignment. */
export function nlAlign(n: number): number {
  return (n + 3) & ~3;
}

function specByName(table: AttrTable): Map<string, [number, AttrSpec]> {
  const m = new Map<string, [number, AttrSpec]>();
  for (const [id, spec] of Object.entries(table)) {
    m.set(spec.name, [Number(id), spec]);
  }
  return m;
}

function payloadOf(spec: AttrSpec, value: AttrInput): Uint8Array {
  const num = (bytes: number): Uint8Array => {
    if (typeof value !== "number" && typeof value !== "bigint") {
      throw new TypeError(`attribute ${spec.name} wants a number`);
    }
    const b = new Uint8Array(bytes);
    const dv = new DataView(b.buffer);
    const n = BigInt(value);
    if (n < 0n || n >= 1n << BigInt(bytes * 8)) {
      throw new RangeError(
        `attribute ${spec.name}: ${n} does not fit ${spec.type}`,
      );
    }
    if (bytes === 1) dv.setUint8(0, Number(n));
    else if (bytes === 2) dv.setUint16(0, Number(n), true);
    else if (bytes === 4) dv.setUint32(0, Number(n), true);
    else dv.setBigUint64(0, n, true);
    return b;
  };
  switch (spec.type) {
    case "u8":
      return num(1);
    case "u16":
      return num(2);
    case "u32":
      return num(4);
    case "u64":
      return num(8);
    case "string": {
      if (typeof value !== "string") {
        throw new TypeError(`attribute ${spec.name} wants a string`);
      }
      const s = encoder.encode(value);
      const b = new Uint8Array(s.length + 1);
      b.set(s);
      return b;
    }
    case "binary":
      if (!(value instanceof Uint8Array)) {
        throw new TypeError(`attribute ${spec.name} wants bytes`);
      }
      return value;
    case "flag":
      return new Uint8Array(0);
    case "nested":
      if (!Array.isArray(value)) {
        throw new TypeError(`attribute ${spec.name} wants nested attributes`);
      }
      return encodeAttrs(
        value as readonly (readonly [string, AttrInput])[],
        spec.nested ?? {},
      );
  }
}

/**
 * Encodes attributes given as `[name, value]` pairs (in that order) with
 * `table`; a flag whose value is `false` is left out. Each attribute is
 * padded to 4 bytes; the result's length is a multiple of 4.
 */
export function encodeAttrs(
  attrs: readonly (readonly [string, AttrInput])[],
  table: AttrTable,
): Uint8Array {
  const byName = specByName(table);
  const parts: Uint8Array[] = [];
  for (const [name, value] of attrs) {
    const found = byName.get(name);
    if (!found) throw new Error(`unknown netlink attribute ${name}`);
    const [id, spec] = found;
    if (spec.type === "flag" && value === false) continue;
    const payload = payloadOf(spec, value);
    const len = NL.NLA_HDRLEN + payload.length;
    const b = new Uint8Array(nlAlign(len));
    const dv = new DataView(b.buffer);
    dv.setUint16(0, len, true);
    dv.setUint16(2, spec.type === "nested" ? id | NL.NLA_F_NESTED : id, true);
    b.set(payload, NL.NLA_HDRLEN);
    parts.push(b);
  }
  return concat(parts);
}

function decodeValue(spec: AttrSpec | undefined, p: Uint8Array): AttrValue {
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const need = (n: number) => {
    if (p.length < n) {
      throw new Error(
        `netlink attribute ${spec?.name}: ${p.length} bytes, ${spec?.type} needs ${n}`,
      );
    }
  };
  switch (spec?.type) {
    case undefined:
    case "binary":
      return p.slice();
    case "u8":
      need(1);
      return dv.getUint8(0);
    case "u16":
      need(2);
      return dv.getUint16(0, true);
    case "u32":
      need(4);
      return dv.getUint32(0, true);
    case "u64":
      need(8);
      return dv.getBigUint64(0, true);
    case "string": {
      const nul = p.indexOf(0);
      return decoder.decode(nul < 0 ? p : p.subarray(0, nul));
    }
    case "flag":
      return true;
    case "nested":
      return decodeAttrs(p, spec.nested ?? {});
  }
}

/**
 * Decodes a run of attributes with `table`, in message order. Ids missing
 * from the table are kept as bytes named `unknown_ID`; a truncated attribute
 * ends the run (as the kernel's own parser does, nothing is invented).
 */
export function decodeAttrs(bytes: Uint8Array, table: AttrTable): Attr[] {
  const out: Attr[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  while (off + NL.NLA_HDRLEN <= bytes.length) {
    const len = dv.getUint16(off, true);
    const id = dv.getUint16(off + 2, true) & NL.NLA_TYPE_MASK;
    if (len < NL.NLA_HDRLEN || off + len > bytes.length) break;
    const spec = table[id];
    const p = bytes.subarray(off + NL.NLA_HDRLEN, off + len);
    out.push({
      id,
      name: spec?.name ?? `unknown_${id}`,
      value: decodeValue(spec, p),
    });
    off += nlAlign(len);
  }
  return out;
}

/** The attributes by name (the last one wins, as with libmnl's table parse). */
export function attrRecord(attrs: readonly Attr[]): Record<string, AttrValue> {
  const r: Record<string, AttrValue> = {};
  for (const a of attrs) r[a.name] = a.value;
  return r;
}

/** The byte arrays `parts` one after the other, in one new array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
