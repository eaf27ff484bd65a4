/**
 * Descriptor chains and the memory they live in, device side, PURE: the
 * {@linkcode GuestMemory} seam (the device's view of driver memory, as
 * mapped regions), the {@linkcode Chain} that `SplitQueue.pop`
 * (`virtqueue.ts`) fills with a chain's validated segments, and copying
 * between chains ({@linkcode copyChain}).
 *
 * @module
 */

/** One mapped range of the device's IOVA space. */
export interface MemoryRegion {
  /** The region's bytes; `bytes[0]` is at IOVA `startHi * 2^32 + startLo`. */
  readonly bytes: Uint8Array;
  /** High 32 bits of the first IOVA. */
  readonly startHi: number;
  /** Low 32 bits of the first IOVA. */
  readonly startLo: number;
  /** The device may read it. */
  readonly readable: boolean;
  /** The device may write it. */
  readonly writable: boolean;
}

/**
 * The device's view of driver memory. IOVAs are 64-bit and the rings live
 * near the top of that space, so addresses travel as two 32-bit halves.
 */
export interface GuestMemory {
  /**
   * The region that holds every byte of `[addr, addr + len)`, or null (no
   * mapping, or the range runs past its end). `len` may be 0.
   */
  find(addrHi: number, addrLo: number, len: number): MemoryRegion | null;
}

/** Byte offset of IOVA (hi, lo) inside `region` (exact in doubles). */
export function regionOffset(
  region: MemoryRegion,
  addrHi: number,
  addrLo: number,
): number {
  return (addrHi - region.startHi) * 4294967296 + (addrLo - region.startLo);
}

/** Which descriptor kinds a queue accepts. */
export type ChainKind = "readable" | "writable" | "any";

/**
 * One popped descriptor chain: its head and its segments, readable ones
 * first. Reuse one Chain per queue; `pop` overwrites it.
 */
export class Chain {
  /** Head descriptor index (the id to push to the used ring). */
  head = 0;
  /** Number of segments. */
  count = 0;
  /** Number of readable segments (they come first). */
  readableCount = 0;
  /** Total bytes of the readable segments. */
  readableBytes = 0;
  /** Total bytes of the writable segments. */
  writableBytes = 0;
  /** Each segment's region bytes. */
  readonly bufs: Uint8Array[];
  /** Each segment's offset in its region. */
  readonly offs: Float64Array;
  /** Each segment's length. */
  readonly lens: Float64Array;

  /** A chain with room for `capacity` segments (the queue size). */
  constructor(capacity: number) {
    this.bufs = new Array<Uint8Array>(capacity);
    this.offs = new Float64Array(capacity);
    this.lens = new Float64Array(capacity);
  }

  /**
   * Copies up to `dst.length` readable bytes, starting at readable byte
   * `from`, into `dst`; returns the count copied.
   */
  readInto(dst: Uint8Array, from = 0): number {
    let skip = from;
    let done = 0;
    for (let i = 0; i < this.readableCount && done < dst.length; i++) {
      const len = this.lens[i];
      if (skip >= len) {
        skip -= len;
        continue;
      }
      const off = this.offs[i] + skip;
      const n = Math.min(len - skip, dst.length - done);
      dst.set(this.bufs[i].subarray(off, off + n), done);
      done += n;
      skip = 0;
    }
    return done;
  }

  /**
   * Copies `src` into the writable segments starting at writable byte `to`;
   * returns the count copied (less than `src.length` if they are too small).
   */
  writeFrom(src: Uint8Array, to = 0): number {
    let skip = to;
    let done = 0;
    for (let i = this.readableCount; i < this.count && done < src.length; i++) {
      const len = this.lens[i];
      if (skip >= len) {
        skip -= len;
        continue;
      }
      const off = this.offs[i] + skip;
      const n = Math.min(len - skip, src.length - done);
      this.bufs[i].set(src.subarray(done, done + n), off);
      done += n;
      skip = 0;
    }
    return done;
  }
}

/**
 * Copies readable bytes of `src` (from readable byte `from`) to the writable
 * segments of `dst` (from writable byte `to`), segment to segment with no
 * intermediate buffer; returns the count copied.
 */
export function copyChain(
  src: Chain,
  dst: Chain,
  options: { from?: number; to?: number; max?: number } = {},
): number {
  let si = 0;
  let sOff = options.from ?? 0;
  while (si < src.readableCount && sOff >= src.lens[si]) {
    sOff -= src.lens[si];
    si++;
  }
  let di = dst.readableCount;
  let dOff = options.to ?? 0;
  while (di < dst.count && dOff >= dst.lens[di]) {
    dOff -= dst.lens[di];
    di++;
  }
  let left = options.max ?? Infinity;
  let done = 0;
  while (si < src.readableCount && di < dst.count && left > 0) {
    const n = Math.min(src.lens[si] - sOff, dst.lens[di] - dOff, left);
    const s = src.offs[si] + sOff;
    const from = src.bufs[si];
    const to = dst.bufs[di];
    if (from === to) {
      // Same region (both in the bounce buffer): a memmove, no allocation.
      to.copyWithin(dst.offs[di] + dOff, s, s + n);
    } else to.set(from.subarray(s, s + n), dst.offs[di] + dOff);
    done += n;
    left -= n;
    sOff += n;
    dOff += n;
    if (sOff >= src.lens[si]) {
      si++;
      sOff = 0;
    }
    if (dOff >= dst.lens[di]) {
      di++;
      dOff = 0;
    }
  }
  return done;
}

/** The bytes of a zero-length segment (never looked up in memory). */
export const EMPTY: Uint8Array = new Uint8Array(0);
