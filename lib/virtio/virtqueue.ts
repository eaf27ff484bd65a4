/**
 * Split virtqueue ring logic, device side, PURE: no system calls, no
 * knowledge of VDUSE. It reads and writes the rings, and walks the
 * descriptor chains into {@linkcode Chain}s (`chain.ts`), through a
 * {@linkcode GuestMemory}, which the tests implement over an ArrayBuffer and
 * `lib/mvnet/iotlb.ts` over the mmap'ed IOTLB entries.
 *
 * Every driver-supplied value is validated: a head or `next` index out of
 * range, a chain that loops or is longer than the queue, a readable
 * descriptor after a writable one, a descriptor kind the queue does not
 * accept, a buffer outside every mapping or beyond its end, an INDIRECT
 * descriptor (not offered), an available index running more than a queue
 * ahead. Any of them marks the queue broken (reported once through
 * `onBroken`); a broken queue pops nothing and never throws, so the process
 * keeps serving its other queues and the control messages. Only bytes that a
 * descriptor references are ever touched (an unused bounce page raises
 * SIGBUS).
 *
 * Ordering: the available index is read with `Atomics.load` before the ring
 * entries it covers; the used elements are written before the used index is
 * published with `Atomics.store`; a full barrier ({@linkcode fullBarrier})
 * separates that store from the read of the driver's NO_INTERRUPT flag, and
 * the store that re-enables kicks from the re-read of the available index.
 *
 * VIRTIO_RING_F_EVENT_IDX (option `eventIdx`, only when negotiated): the
 * driver's `used_event` (after the available ring) replaces its
 * NO_INTERRUPT flag, and the device's `avail_event` (after the used ring)
 * replaces VRING_USED_F_NO_NOTIFY, with the 16-bit window test of
 * {@linkcode needEvent} (the kernel's `vring_need_event`).
 *
 * @module
 */

import {
  VRING_AVAIL,
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC,
  VRING_DESC_F,
  VRING_USED,
  VRING_USED_ELEM,
  VRING_USED_F_NO_NOTIFY,
  vringAreaSizes,
} from "./uapi.ts";
import {
  Chain,
  type ChainKind,
  EMPTY,
  type GuestMemory,
  regionOffset,
} from "./chain.ts";

// Word indices derived from the declared layouts (lib/virtio/uapi.ts).
const D = VRING_DESC.fields;
const DESC_W32 = VRING_DESC.size / 4; // 32-bit words per descriptor
const DESC_W16 = VRING_DESC.size / 2; // 16-bit words per descriptor
const DESC_ADDR = D.addr.offset / 4; // low half; high half follows
const DESC_LEN = D.len.offset / 4;
const DESC_FLAGS = D.flags.offset / 2;
const DESC_NEXT = D.next.offset / 2;
const AVAIL_FLAGS = VRING_AVAIL.fields.flags.offset / 2;
const AVAIL_IDX = VRING_AVAIL.fields.idx.offset / 2;
const AVAIL_RING = VRING_AVAIL.fields.ring.offset / 2;
const USED_FLAGS = VRING_USED.fields.flags.offset / 2;
const USED_IDX = VRING_USED.fields.idx.offset / 2;
const USED_RING_BYTE = VRING_USED.fields.ring.offset;
const USED_ELEM_W = VRING_USED_ELEM.size / 4;
const USED_ID = VRING_USED_ELEM.fields.id.offset / 4;
const USED_LEN = VRING_USED_ELEM.fields.len.offset / 4;

// A full memory barrier. Atomics on the (non-shared) ring buffers may be
// compiled to plain loads and stores, and x86 lets a later load pass an
// earlier store: a locked read-modify-write on a SharedArrayBuffer is a real
// fence (lock xadd), ordering the ring store before the ring load after it.
const FENCE = new Int32Array(new SharedArrayBuffer(4));

/** Orders every earlier memory access before every later one. */
export function fullBarrier(): void {
  Atomics.add(FENCE, 0, 1);
}

/**
 * The kernel's `vring_need_event`: true when `event` lies in the 16-bit
 * window of indices `[old, now)` that were just passed (the other side asked
 * to be told when `event` is passed).
 */
export function needEvent(event: number, now: number, old: number): boolean {
  return ((now - event - 1) & 0xffff) < ((now - old) & 0xffff);
}

/** Where the three parts of a split ring are, as IOVAs. */
export interface RingAddresses {
  /** Descriptor table IOVA. */
  desc: bigint;
  /** Available (driver) ring IOVA. */
  driver: bigint;
  /** Used (device) ring IOVA. */
  device: bigint;
}

/** Options for {@linkcode SplitQueue}. */
export interface SplitQueueOptions {
  /** Queue size (a power of two is not required, only 1..32768). */
  num: number;
  /** Ring addresses (IOVAs). */
  rings: RingAddresses;
  /** Buffer and ring memory. */
  memory: GuestMemory;
  /** Descriptor kinds this queue accepts (default "any"). */
  kind?: ChainKind;
  /** Name used in reports, e.g. "rx" or "tx". */
  name?: string;
  /** Called once when the queue becomes broken. */
  onBroken?: (queue: SplitQueue, reason: string) => void;
  /**
   * Next available index to pop (default: the used index found in memory,
   * which resumes a queue that another process served).
   */
  lastAvail?: number;
  /** VIRTIO_RING_F_EVENT_IDX was negotiated (default false). */
  eventIdx?: boolean;
}

function halves(addr: bigint): [number, number] {
  return [Number((addr >> 32n) & 0xffffffffn), Number(addr & 0xffffffffn)];
}

/** A device-side split virtqueue. */
export class SplitQueue {
  /** Queue size. */
  readonly num: number;
  /** Name used in reports. */
  readonly name: string;
  /** Accepted descriptor kinds. */
  readonly kind: ChainKind;
  /** Why the queue is broken, or null. */
  broken: string | null = null;
  /** Next available-ring position to pop (free-running 16-bit). */
  lastAvail: number;
  /** Next used-ring position to fill (free-running 16-bit). */
  usedIdx: number;
  /** Used elements written since the last publish. */
  pending = 0;
  /** Used elements published since the last interrupt decision said yes. */
  unsignalled = 0;
  /** VIRTIO_RING_F_EVENT_IDX is in use. */
  readonly eventIdx: boolean;

  readonly #memory: GuestMemory;
  readonly #onBroken?: (queue: SplitQueue, reason: string) => void;
  // Descriptor table as 32-bit and 16-bit words (empty when broken at setup).
  #desc32: Uint32Array = new Uint32Array(0);
  #desc16: Uint16Array = new Uint16Array(0);
  // Available ring as 16-bit words: [flags, idx, ring[num], used_event].
  #avail: Uint16Array = new Uint16Array(0);
  // Used ring header [flags, idx] and elements [id, len]*num.
  #usedHdr: Uint16Array = new Uint16Array(0);
  #usedRing: Uint32Array = new Uint32Array(0);
  // EVENT_IDX: avail_event (one word after the used ring), the word index of
  // used_event in #avail, and the used index at the last interrupt decision.
  #availEvent: Uint16Array = new Uint16Array(1);
  #usedEventAt = 0;
  #signalledUsed = 0;
  #signalledValid = false;

  /** Sets the queue up over its rings; a bad ring address marks it broken. */
  constructor(options: SplitQueueOptions) {
    this.num = options.num;
    this.name = options.name ?? "vq";
    this.kind = options.kind ?? "any";
    this.eventIdx = options.eventIdx ?? false;
    this.#memory = options.memory;
    this.#onBroken = options.onBroken;
    this.lastAvail = 0;
    this.usedIdx = 0;
    const num = this.num;
    if (!Number.isInteger(num) || num < 1 || num > 32768) {
      this.#break(`queue size ${num} out of range`);
      return;
    }
    const sizes = vringAreaSizes(num);
    const desc = this.#ring(options.rings.desc, sizes.desc, 16, false);
    const avail = this.#ring(options.rings.driver, sizes.avail, 2, false);
    const used = this.#ring(options.rings.device, sizes.used, 4, true);
    if (desc === null || avail === null || used === null) return;
    this.#desc32 = new Uint32Array(
      desc.buffer,
      desc.byteOffset,
      DESC_W32 * num,
    );
    this.#desc16 = new Uint16Array(
      desc.buffer,
      desc.byteOffset,
      DESC_W16 * num,
    );
    this.#avail = new Uint16Array(
      avail.buffer,
      avail.byteOffset,
      sizes.avail / 2,
    );
    this.#usedHdr = new Uint16Array(
      used.buffer,
      used.byteOffset,
      USED_RING_BYTE / 2,
    );
    this.#usedRing = new Uint32Array(
      used.buffer,
      used.byteOffset + USED_RING_BYTE,
      USED_ELEM_W * num,
    );
    this.#availEvent = new Uint16Array(
      used.buffer,
      used.byteOffset + USED_RING_BYTE + VRING_USED_ELEM.size * num,
      1,
    );
    this.#usedEventAt = AVAIL_RING + num;
    this.usedIdx = Atomics.load(this.#usedHdr, USED_IDX);
    this.lastAvail = (options.lastAvail ?? this.usedIdx) & 0xffff;
  }

  #ring(
    addr: bigint,
    len: number,
    align: number,
    write: boolean,
  ): Uint8Array | null {
    const [hi, lo] = halves(addr);
    const r = this.#memory.find(hi, lo, len);
    if (r === null || !r.readable || (write && !r.writable)) {
      this.#break(`ring at 0x${addr.toString(16)} is not mapped`);
      return null;
    }
    const off = regionOffset(r, hi, lo);
    const at = r.bytes.byteOffset + off;
    if (at % align !== 0) {
      this.#break(`ring at 0x${addr.toString(16)} is misaligned`);
      return null;
    }
    return r.bytes.subarray(off, off + len);
  }

  #break(reason: string): void {
    if (this.broken !== null) return;
    this.broken = reason;
    this.#onBroken?.(this, reason);
  }

  /** Marks the queue broken (e.g. for a policy violation); reported once. */
  markBroken(reason: string): void {
    this.#break(reason);
  }

  /** Number of chains the driver made available and we have not popped. */
  availableCount(): number {
    if (this.broken !== null) return 0;
    const n = (Atomics.load(this.#avail, AVAIL_IDX) - this.lastAvail) & 0xffff;
    if (n > this.num) {
      this.#break(
        `available index ran ${n} entries ahead of a ${this.num}-entry queue`,
      );
      return 0;
    }
    return n;
  }

  /**
   * Pops the next available chain into `chain`; false when none is
   * available or the queue is (or just became) broken.
   */
  pop(chain: Chain): boolean {
    if (this.availableCount() === 0) return false;
    const num = this.num;
    const head = this.#avail[AVAIL_RING + (this.lastAvail % num)];
    if (head >= num) {
      this.#break(`head descriptor ${head} out of range (queue size ${num})`);
      return false;
    }
    const d32 = this.#desc32;
    const d16 = this.#desc16;
    const memory = this.#memory;
    const kind = this.kind;
    let i = head;
    let count = 0;
    let readable = 0;
    let rBytes = 0;
    let wBytes = 0;
    for (;;) {
      if (count >= num) {
        this.#break(`descriptor chain from ${head} loops or exceeds ${num}`);
        return false;
      }
      const lo = d32[DESC_W32 * i + DESC_ADDR];
      const hi = d32[DESC_W32 * i + DESC_ADDR + 1];
      const len = d32[DESC_W32 * i + DESC_LEN];
      const flags = d16[DESC_W16 * i + DESC_FLAGS];
      if (flags & VRING_DESC_F.INDIRECT) {
        this.#break(`descriptor ${i}: INDIRECT was not negotiated`);
        return false;
      }
      const write = (flags & VRING_DESC_F.WRITE) !== 0;
      if (write) {
        if (kind === "readable") {
          this.#break(`descriptor ${i}: writable in a device-readable queue`);
          return false;
        }
      } else {
        if (kind === "writable") {
          this.#break(`descriptor ${i}: readable in a device-writable queue`);
          return false;
        }
        if (count > readable) {
          this.#break(`descriptor ${i}: readable after a writable one`);
          return false;
        }
      }
      if (len === 0) {
        chain.bufs[count] = EMPTY;
        chain.offs[count] = 0;
        chain.lens[count] = 0;
      } else {
        const r = memory.find(hi, lo, len);
        if (r === null) {
          this.#break(
            `descriptor ${i}: ${len} bytes at 0x${
              (hi * 4294967296 + lo).toString(16)
            } outside every mapping`,
          );
          return false;
        }
        if (write ? !r.writable : !r.readable) {
          this.#break(
            `descriptor ${i}: mapping forbids device ${
              write ? "writes" : "reads"
            }`,
          );
          return false;
        }
        chain.bufs[count] = r.bytes;
        chain.offs[count] = regionOffset(r, hi, lo);
        chain.lens[count] = len;
      }
      if (write) wBytes += len;
      else {
        rBytes += len;
        readable++;
      }
      count++;
      if ((flags & VRING_DESC_F.NEXT) === 0) break;
      i = d16[DESC_W16 * i + DESC_NEXT];
      if (i >= num) {
        this.#break(`next descriptor ${i} out of range (queue size ${num})`);
        return false;
      }
    }
    chain.head = head;
    chain.count = count;
    chain.readableCount = readable;
    chain.readableBytes = rBytes;
    chain.writableBytes = wBytes;
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    return true;
  }

  /** Gives the last popped chain back (it will be popped again). */
  unpop(): void {
    this.lastAvail = (this.lastAvail - 1) & 0xffff;
  }

  /**
   * Writes a used element for chain `head` with `len` bytes written; it
   * becomes visible to the driver at the next {@linkcode publish}.
   */
  push(head: number, len: number): void {
    if (this.broken !== null) return;
    const slot = USED_ELEM_W * (this.usedIdx % this.num);
    this.#usedRing[slot + USED_ID] = head;
    this.#usedRing[slot + USED_LEN] = len;
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    this.pending++;
  }

  /**
   * Publishes the used elements pushed since the last call (one used-index
   * store) and says whether the driver should get an interrupt now: true
   * when there is something it has not been told about and it did not set
   * VRING_AVAIL_F_NO_INTERRUPT. A true answer counts as delivered.
   * With EVENT_IDX: true when the used index just passed the driver's
   * `used_event` (the first decision after set-up always says yes).
   */
  publish(): boolean {
    if (this.broken !== null) return false;
    if (this.pending > 0) {
      Atomics.store(this.#usedHdr, USED_IDX, this.usedIdx);
      this.unsignalled += this.pending;
      this.pending = 0;
    }
    if (this.unsignalled === 0) return false;
    // The used index must be visible before the driver's flags are read
    // (the driver re-enables interrupts, then re-reads the used index).
    fullBarrier();
    if (this.eventIdx) {
      const now = this.usedIdx;
      const old = this.#signalledUsed;
      const valid = this.#signalledValid;
      this.#signalledUsed = now;
      this.#signalledValid = true;
      this.unsignalled = 0;
      if (!valid) return true;
      const event = Atomics.load(this.#avail, this.#usedEventAt);
      return needEvent(event, now, old);
    }
    if (Atomics.load(this.#avail, AVAIL_FLAGS) & VRING_AVAIL_F_NO_INTERRUPT) {
      return false;
    }
    this.unsignalled = 0;
    return true;
  }

  /**
   * Asks the driver for kicks (`on`) or not (VRING_USED_F_NO_NOTIFY). After
   * turning them back on, check {@linkcode availableCount} again: the driver
   * may have added chains without kicking. With EVENT_IDX, `on` sets
   * `avail_event` to the next index to pop (a kick when the driver makes it
   * available) and `off` does nothing: a stale `avail_event` that the driver
   * has passed asks for no kick.
   */
  setNotify(on: boolean): void {
    if (this.broken !== null) return;
    if (this.eventIdx) {
      if (on) {
        Atomics.store(this.#availEvent, 0, this.lastAvail);
        fullBarrier();
      }
      return;
    }
    Atomics.store(this.#usedHdr, USED_FLAGS, on ? 0 : VRING_USED_F_NO_NOTIFY);
    // Kicks on must be visible before the available index is re-read.
    if (on) fullBarrier();
  }

  /** The used index as the driver sees it. */
  publishedUsedIdx(): number {
    return this.broken !== null
      ? this.usedIdx
      : Atomics.load(this.#usedHdr, USED_IDX);
  }
}
