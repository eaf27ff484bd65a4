/**
 * Kernel struct layouts declared once, as data: each field's offset, scalar
 * type and element count, and the struct's size. Code reads and writes
 * structs through these declarations; `tests/sys/struct_layout_test.ts` compiles
 * a C program against the kernel's UAPI headers and compares every offset and
 * size with them.
 *
 * @module
 */

/** A scalar type as the kernel's UAPI headers spell it (`__u32` is "u32"). */
export type Scalar = "u8" | "u16" | "u32" | "u64" | "i32" | "i64";

/** Size in bytes of each scalar type. */
export const SCALAR_SIZE: Readonly<Record<Scalar, number>> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  i32: 4,
  i64: 8,
};

/** One field: where it starts, what it holds, and how many (arrays). */
export interface Field {
  /** Byte offset from the start of the struct. */
  readonly offset: number;
  /** Element type. */
  readonly type: Scalar;
  /** Number of elements; 1 for a plain scalar. */
  readonly count: number;
  /**
   * The C expression for this field when it differs from its name, for
   * fields inside unions or nested structs (e.g. "split.avail_index").
   */
  readonly cName?: string;
}

/** A declared struct layout. */
export interface StructLayout<F extends string = string> {
  /** The C type, e.g. "struct vduse_dev_config". */
  readonly cType: string;
  /** The UAPI header that declares it, e.g. "linux/vduse.h". */
  readonly header: string;
  /** sizeof the struct (without any flexible array member). */
  readonly size: number;
  /** The fields by name. */
  readonly fields: Readonly<Record<F, Field>>;
}

/** A field as written in a declaration: `[offset, type, count?, cName?]`. */
export type FieldDecl = readonly [number, Scalar, number?, string?];

/**
 * Declares a struct layout.
 *
 * @example
 * ```ts
 * const VRING_DESC = defineStruct("struct vring_desc", {
 *   header: "linux/virtio_ring.h",
 *   size: 16,
 *   fields: { addr: [0, "u64"], len: [8, "u32"], flags: [12, "u16"], next: [14, "u16"] },
 * });
 * ```
 */
export function defineStruct<F extends string>(
  cType: string,
  options: {
    header: string;
    size: number;
    fields: Record<F, FieldDecl>;
  },
): StructLayout<F> {
  const fields = {} as Record<F, Field>;
  for (const name of Object.keys(options.fields) as F[]) {
    const [offset, type, count = 1, cName] = options.fields[name];
    const end = offset + SCALAR_SIZE[type] * count;
    if (offset % SCALAR_SIZE[type] !== 0 || end > options.size) {
      throw new Error(`${cType}.${name}: bad offset ${offset}`);
    }
    fields[name] = { offset, type, count, ...(cName ? { cName } : {}) };
  }
  return { cType, header: options.header, size: options.size, fields };
}

/**
 * A little-endian view of one struct in a buffer: typed field access through
 * a layout.
 */
export class StructView<F extends string> {
  /** The layout. */
  readonly layout: StructLayout<F>;
  /** The underlying bytes (exactly `layout.size` or more). */
  readonly bytes: Uint8Array;
  readonly #view: DataView;

  /**
   * Wraps `bytes` (a new zeroed buffer of `layout.size` bytes if omitted).
   */
  constructor(layout: StructLayout<F>, bytes?: Uint8Array) {
    this.layout = layout;
    this.bytes = bytes ?? new Uint8Array(layout.size);
    if (this.bytes.byteLength < layout.size) {
      throw new Error(
        `${layout.cType}: buffer of ${this.bytes.byteLength} bytes, needs ${layout.size}`,
      );
    }
    this.#view = new DataView(
      this.bytes.buffer,
      this.bytes.byteOffset,
      this.bytes.byteLength,
    );
  }

  /** Reads a scalar field (element `index` of an array field). */
  get(name: F, index = 0): number {
    const v = this.#read(name, index);
    return typeof v === "bigint" ? Number(v) : v;
  }

  /** Reads a 64-bit field exactly, as a bigint. */
  getBig(name: F, index = 0): bigint {
    const v = this.#read(name, index);
    return typeof v === "bigint" ? v : BigInt(v);
  }

  /** Writes a scalar field (element `index` of an array field). */
  set(name: F, value: number | bigint, index = 0): this {
    const f = this.layout.fields[name];
    const at = this.#at(f, name, index);
    const dv = this.#view;
    switch (f.type) {
      case "u8":
        dv.setUint8(at, Number(value));
        break;
      case "u16":
        dv.setUint16(at, Number(value), true);
        break;
      case "u32":
        dv.setUint32(at, Number(value), true);
        break;
      case "i32":
        dv.setInt32(at, Number(value), true);
        break;
      case "u64":
        dv.setBigUint64(at, BigInt(value), true);
        break;
      case "i64":
        dv.setBigInt64(at, BigInt(value), true);
        break;
    }
    return this;
  }

  /** The bytes of an array field (a view, not a copy). */
  slice(name: F): Uint8Array {
    const f = this.layout.fields[name];
    return this.bytes.subarray(
      f.offset,
      f.offset + SCALAR_SIZE[f.type] * f.count,
    );
  }

  #at(f: Field, name: string, index: number): number {
    if (!f) throw new Error(`${this.layout.cType} has no field ${name}`);
    if (index < 0 || index >= f.count) {
      throw new RangeError(`${this.layout.cType}.${name}[${index}]`);
    }
    return f.offset + index * SCALAR_SIZE[f.type];
  }

  #read(name: F, index: number): number | bigint {
    const f = this.layout.fields[name];
    const at = this.#at(f, name, index);
    const dv = this.#view;
    switch (f.type) {
      case "u8":
        return dv.getUint8(at);
      case "u16":
        return dv.getUint16(at, true);
      case "u32":
        return dv.getUint32(at, true);
      case "i32":
        return dv.getInt32(at, true);
      case "u64":
        return dv.getBigUint64(at, true);
      case "i64":
        return dv.getBigInt64(at, true);
    }
  }
}
