/**
 * The IOTLB mapping cache of a VDUSE device: the device's IOVA space as the
 * {@linkcode GuestMemory} that `lib/virtio/virtqueue.ts` reads and writes.
 *
 * Each IOTLB entry is mapped once (VDUSE_IOTLB_GET_FD, mmap of the returned
 * fd at the entry's offset, close of that fd) and kept until
 * {@linkcode IotlbCache.unmapAll} (device reset) or an invalidation
 * (UPDATE_IOTLB). Lookups that miss ask the kernel: the bounce region only
 * appears at the first packet. Views into an unmapped region are dropped
 * with it (the views themselves are not invalidated by munmap: callers must
 * drop their queues before unmapping).
 *
 * The bounce region is mmap'ed whole but only the bytes that a descriptor
 * references are ever touched: a bounce page that was never used raises
 * SIGBUS.
 *
 * @module
 */

import { close, type Mapping, MMAP, mmap, munmap } from "../sys/mod.ts";
import { type IotlbEntry, iotlbGetFd, VDUSE_ACCESS } from "../vduse/mod.ts";
import type { GuestMemory, MemoryRegion } from "../virtio/mod.ts";

/** Largest IOTLB entry mapped (the bounce region is at most 1 GiB). */
export const MAX_ENTRY_BYTES = 1 << 30;

/** A mapped IOTLB entry. */
export interface MappedRegion extends MemoryRegion {
  /** The entry as the kernel reported it. */
  readonly entry: IotlbEntry;
  /** The mmap. */
  readonly mapping: Mapping;
}

/** How the cache asks the kernel for an entry (a seam for tests). */
export type EntrySource = (
  range: { start: bigint; last: bigint },
) => { fd: number; entry: IotlbEntry };

/** Options for {@linkcode IotlbCache}. */
export interface IotlbCacheOptions {
  /** Replaces VDUSE_IOTLB_GET_FD on `deviceFd` (tests). */
  source?: EntrySource;
  /** Reports mapping failures (once per range); default: silent. */
  onError?: (message: string) => void;
}

/** IOTLB mapping cache over a VDUSE device fd. */
export class IotlbCache implements GuestMemory {
  /** The mapped regions. */
  regions: MappedRegion[] = [];
  /** Number of mmap calls made (stats, tests). */
  mapCount = 0;
  readonly #source: EntrySource;
  readonly #onError?: (message: string) => void;
  #last: MappedRegion | null = null;
  readonly #failed = new Set<string>();

  /** A cache for the device open as `deviceFd`. */
  constructor(deviceFd: number, options: IotlbCacheOptions = {}) {
    this.#source = options.source ??
      ((range) => iotlbGetFd(deviceFd, range));
    this.#onError = options.onError;
  }

  /** See {@linkcode GuestMemory.find}: a cached region, else map one. */
  find(addrHi: number, addrLo: number, len: number): MemoryRegion | null {
    const last = this.#last;
    if (last !== null && contains(last, addrHi, addrLo, len)) return last;
    for (const r of this.regions) {
      if (contains(r, addrHi, addrLo, len)) {
        this.#last = r;
        return r;
      }
    }
    // The start is mapped but the range runs past its entry: no new mapping.
    for (const r of this.regions) {
      if (contains(r, addrHi, addrLo, 1)) return null;
    }
    const start = (BigInt(addrHi) << 32n) | BigInt(addrLo);
    const r = this.map(start, len === 0 ? start : start + BigInt(len) - 1n);
    return r !== null && contains(r, addrHi, addrLo, len) ? r : null;
  }

  /**
   * Maps the IOTLB entry that holds `start` (and should hold `last`);
   * returns it, or null if the kernel has none or it cannot be mapped.
   */
  map(start: bigint, last: bigint): MappedRegion | null {
    if (last < start || last > 0xffffffffffffffffn) return null;
    let got: { fd: number; entry: IotlbEntry };
    try {
      got = this.#source({ start, last: start });
    } catch (err) {
      this.#fail(start, `no IOTLB entry at 0x${start.toString(16)}: ${err}`);
      return null;
    }
    const { fd, entry } = got;
    try {
      const size = entry.last - entry.start + 1n;
      if (entry.start > start || entry.last < start) {
        this.#fail(start, `IOTLB entry does not cover 0x${start.toString(16)}`);
        return null;
      }
      if (size > BigInt(MAX_ENTRY_BYTES)) {
        this.#fail(start, `IOTLB entry of ${size} bytes is too large to map`);
        return null;
      }
      const readable = (entry.perm & VDUSE_ACCESS.RO) !== 0;
      const writable = (entry.perm & VDUSE_ACCESS.WO) !== 0;
      const prot = (readable ? MMAP.PROT_READ : 0) |
        (writable ? MMAP.PROT_WRITE | MMAP.PROT_READ : 0);
      let mapping: Mapping;
      try {
        mapping = mmap(fd, Number(size), { offset: entry.offset, prot });
      } catch (err) {
        this.#fail(start, `mmap of IOTLB entry failed: ${err}`);
        return null;
      }
      this.mapCount++;
      const region: MappedRegion = {
        bytes: new Uint8Array(mapping.buffer),
        startHi: Number(entry.start >> 32n),
        startLo: Number(entry.start & 0xffffffffn),
        readable,
        writable,
        entry,
        mapping,
      };
      this.regions.push(region);
      this.#last = region;
      return region;
    } finally {
      close(fd);
    }
  }

  /** The region holding IOVA `addr`, mapping it if needed (rings). */
  regionAt(addr: bigint, len: number): MemoryRegion | null {
    return this.find(
      Number(addr >> 32n),
      Number(addr & 0xffffffffn),
      len,
    );
  }

  /** Unmaps the regions overlapping [start, last] (UPDATE_IOTLB). */
  invalidate(start: bigint, last: bigint): number {
    const keep: MappedRegion[] = [];
    let n = 0;
    for (const r of this.regions) {
      if (r.entry.last < start || r.entry.start > last) keep.push(r);
      else {
        unmapQuietly(r);
        n++;
      }
    }
    this.regions = keep;
    this.#last = null;
    this.#failed.clear();
    return n;
  }

  /** Unmaps everything (device reset) and drops every view. */
  unmapAll(): void {
    for (const r of this.regions) unmapQuietly(r);
    this.regions = [];
    this.#last = null;
    this.#failed.clear();
  }

  #fail(start: bigint, message: string): void {
    const key = start.toString(16);
    if (this.#failed.has(key)) return;
    this.#failed.add(key);
    this.#onError?.(message);
  }
}

function contains(
  r: MemoryRegion,
  hi: number,
  lo: number,
  len: number,
): boolean {
  const off = (hi - r.startHi) * 4294967296 + (lo - r.startLo);
  return off >= 0 && off + len <= r.bytes.length;
}

function unmapQuietly(r: MappedRegion): void {
  try {
    munmap(r.mapping);
  } catch {
    // Nothing useful to do: the region is dropped either way.
  }
}
