/**
 * A simulated virtio driver and guest memory over ArrayBuffers, for the
 * virtqueue and loopback unit tests: it lays out a split ring in a
 * "coherent" region near the top of the 64-bit IOVA space (as VDUSE does)
 * and buffers in a "bounce" region at IOVA 0, and a SplitQueue over it.
 *
 * @module
 */

import type { GuestMemory, MemoryRegion } from "../../lib/virtio/chain.ts";
import { SplitQueue } from "../../lib/virtio/virtqueue.ts";
import {
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC_F,
  vringAreaSizes,
} from "../../lib/virtio/uapi.ts";

/** A region list over ArrayBuffers (the test double of lib/mvnet/iotlb.ts). */
export class FakeMemory implements GuestMemory {
  /** The regions. */
  readonly regions: MemoryRegion[] = [];

  /** Adds a region of `size` bytes at IOVA `start`. */
  add(
    start: bigint,
    size: number,
    perm: { readable?: boolean; writable?: boolean } = {},
  ): MemoryRegion {
    const r: MemoryRegion = {
      bytes: new Uint8Array(size),
      startHi: Number(start >> 32n),
      startLo: Number(start & 0xffffffffn),
      readable: perm.readable ?? true,
      writable: perm.writable ?? true,
    };
    this.regions.push(r);
    return r;
  }

  /** See {@linkcode GuestMemory.find}. */
  find(addrHi: number, addrLo: number, len: number): MemoryRegion | null {
    for (const r of this.regions) {
      const off = (addrHi - r.startHi) * 4294967296 + (addrLo - r.startLo);
      if (off >= 0 && off + len <= r.bytes.length) return r;
    }
    return null;
  }
}

/** IOVA of the ring region (near the top, as VDUSE's coherent mappings). */
export const RING_IOVA = 0xffffffffffe00000n;

/** One buffer of a chain the simulated driver adds. */
export interface SimSegment {
  /** IOVA. */
  addr: bigint;
  /** Length. */
  len: number;
  /** Device-writable. */
  write?: boolean;
}

/** A driver side of one split queue. */
export class SimDriver {
  /** Queue size. */
  readonly num: number;
  /** The memory. */
  readonly memory: FakeMemory;
  /** Ring region. */
  readonly ring: MemoryRegion;
  /** Bounce (buffer) region at IOVA 0. */
  readonly bounce: MemoryRegion;
  /** Ring IOVAs. */
  readonly rings: { desc: bigint; driver: bigint; device: bigint };
  /** Free descriptor indices. */
  free: number[];
  /** Driver's avail index. */
  availIdx = 0;
  /** Last used index consumed. */
  lastUsed = 0;
  readonly #dv: DataView;
  readonly #descOff = 0;
  readonly #availOff: number;
  readonly #usedOff: number;
  /** Chain lengths by head (to free them). */
  readonly #chainOf = new Map<number, number[]>();

  /** A driver with a `num`-entry queue and `bounceSize` bytes of buffers. */
  constructor(
    num: number,
    options: { memory?: FakeMemory; bounceSize?: number; ringIova?: bigint } =
      {},
  ) {
    this.num = num;
    this.memory = options.memory ?? new FakeMemory();
    const sizes = vringAreaSizes(num);
    this.#availOff = sizes.desc;
    this.#usedOff = Math.ceil((sizes.desc + sizes.avail) / 4096) * 4096;
    const ringIova = options.ringIova ?? RING_IOVA;
    this.ring = this.memory.add(ringIova, this.#usedOff + sizes.used);
    this.bounce =
      this.memory.regions.find((r) => r.startHi === 0 && r.startLo === 0) ??
        this.memory.add(0n, options.bounceSize ?? 1 << 20);
    this.rings = {
      desc: ringIova,
      driver: ringIova + BigInt(this.#availOff),
      device: ringIova + BigInt(this.#usedOff),
    };
    this.#dv = new DataView(this.ring.bytes.buffer);
    this.free = Array.from({ length: num }, (_, i) => i);
  }

  /** Writes descriptor `i` raw. */
  setDesc(
    i: number,
    d: { addr: bigint; len: number; flags: number; next: number },
  ): void {
    const o = this.#descOff + 16 * i;
    this.#dv.setBigUint64(o, d.addr, true);
    this.#dv.setUint32(o + 8, d.len, true);
    this.#dv.setUint16(o + 12, d.flags, true);
    this.#dv.setUint16(o + 14, d.next, true);
  }

  /** Puts `head` in the next avail slot (not yet published). */
  putAvail(head: number): void {
    this.#dv.setUint16(
      this.#availOff + 4 + 2 * (this.availIdx % this.num),
      head,
      true,
    );
    this.availIdx = (this.availIdx + 1) & 0xffff;
  }

  /** Publishes the avail index. */
  kick(): void {
    this.#dv.setUint16(this.#availOff + 2, this.availIdx, true);
  }

  /** Sets or clears VRING_AVAIL_F_NO_INTERRUPT. */
  setNoInterrupt(on: boolean): void {
    this.#dv.setUint16(
      this.#availOff,
      on ? VRING_AVAIL_F_NO_INTERRUPT : 0,
      true,
    );
  }

  /** Adds a chain of segments and publishes it; returns its head. */
  add(segs: SimSegment[]): number {
    if (segs.length > this.free.length) throw new Error("ring full");
    const ids = this.free.splice(0, segs.length);
    segs.forEach((s, k) => {
      const last = k === segs.length - 1;
      this.setDesc(ids[k], {
        addr: s.addr,
        len: s.len,
        flags: (last ? 0 : VRING_DESC_F.NEXT) |
          (s.write ? VRING_DESC_F.WRITE : 0),
        next: last ? 0 : ids[k + 1],
      });
    });
    this.#chainOf.set(ids[0], ids);
    this.putAvail(ids[0]);
    this.kick();
    return ids[0];
  }

  /** The used index the device published. */
  usedIdx(): number {
    return this.#dv.getUint16(this.#usedOff + 2, true);
  }

  /** The used ring's flags. */
  usedFlags(): number {
    return this.#dv.getUint16(this.#usedOff, true);
  }

  /** Sets `used_event` (EVENT_IDX: interrupt me when you pass it). */
  setUsedEvent(v: number): void {
    this.#dv.setUint16(this.#availOff + 4 + 2 * this.num, v & 0xffff, true);
  }

  /** The device's `avail_event` (EVENT_IDX: kick when you make it available). */
  availEvent(): number {
    return this.#dv.getUint16(this.#usedOff + 4 + 8 * this.num, true);
  }

  /**
   * Whether the driver would kick after making `[old, availIdx)` available,
   * as the kernel decides it with EVENT_IDX.
   */
  wouldKick(old: number): boolean {
    const ev = this.availEvent();
    return ((this.availIdx - ev - 1) & 0xffff) <
      ((this.availIdx - old) & 0xffff);
  }

  /** Sets the used index (as a previous device would have left it). */
  setUsedIdx(v: number): void {
    this.#dv.setUint16(this.#usedOff + 2, v, true);
  }

  /** Takes the used elements published since the last call. */
  takeUsed(): { id: number; len: number }[] {
    const out: { id: number; len: number }[] = [];
    const end = this.usedIdx();
    while (this.lastUsed !== end) {
      const o = this.#usedOff + 4 + 8 * (this.lastUsed % this.num);
      const id = this.#dv.getUint32(o, true);
      out.push({ id, len: this.#dv.getUint32(o + 4, true) });
      const ids = this.#chainOf.get(id);
      if (ids) {
        this.free.push(...ids);
        this.#chainOf.delete(id);
      }
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    return out;
  }

  /** Starts both rings' indices at `idx` (to test 16-bit wraparound). */
  startAt(idx: number): void {
    this.availIdx = idx & 0xffff;
    this.lastUsed = idx & 0xffff;
    this.kick();
    this.setUsedIdx(idx & 0xffff);
  }
}

/** A SplitQueue over `drv`'s rings; `reasons` collects why it broke. */
export function queueOf(
  drv: SimDriver,
  options: { kind?: "readable" | "writable" | "any" } = {},
): { vq: SplitQueue; reasons: string[] } {
  const reasons: string[] = [];
  const vq = new SplitQueue({
    num: drv.num,
    rings: drv.rings,
    memory: drv.memory,
    kind: options.kind,
    onBroken: (_q, r) => reasons.push(r),
  });
  return { vq, reasons };
}

/** Writes `bytes` into the bounce region at `addr`. */
export function fill(drv: SimDriver, addr: number, bytes: Uint8Array): void {
  drv.bounce.bytes.set(bytes, addr);
}
