/**
 * The loopback policy of mvnet: every frame the driver transmits comes back
 * as received. A TX chain holds a 12-byte `virtio_net_hdr_v1` and the frame
 * (in any number of readable descriptors); it is copied into the next RX
 * buffer (any number of writable descriptors) behind a fresh header with
 * `num_buffers = 1` (no offloads are offered, so flags and GSO fields are 0).
 *
 * No RX buffer: with `hold` (the datapath's default) the TX chain is left
 * in its ring and {@linkcode Loopback.starved} set, so the driver's queue
 * fills and its sender waits (no loss); otherwise, or when the caller gives
 * up waiting, the frame is dropped and counted (`rxDropped`). An RX buffer
 * too small for the frame is left for the next one and the frame counted in
 * `rxTooBig`. A TX chain shorter than the header is completed and counted in
 * `txErrors`. Pure: works on two {@linkcode SplitQueue}s, no system calls.
 *
 * @module
 */

import {
  Chain,
  copyChain,
  type SplitQueue,
  VIRTIO_NET_HDR_V1,
} from "../virtio/mod.ts";

/** Bytes of the header in front of every frame (VERSION_1). */
export const NET_HDR_SIZE = VIRTIO_NET_HDR_V1.size;

/** Counter slots of a stats array (a Float64Array, possibly shared). */
export const STAT = {
  txPackets: 0,
  txBytes: 1,
  rxPackets: 2,
  rxBytes: 3,
  rxDropped: 4,
  rxTooBig: 5,
  txErrors: 6,
  rxIrqs: 7,
  txIrqs: 8,
  wakeups: 9,
  batches: 10,
  /** Sleeps waiting for the driver to post RX buffers. */
  rxWaits: 11,
} as const;

/** Number of counter slots. */
export const STAT_COUNT = 16;

/** Counter names, in slot order. */
export type StatName = keyof typeof STAT;

/** Reads the counters out of a stats array. */
export function readStats(stats: Float64Array): Record<StatName, number> {
  const out = {} as Record<StatName, number>;
  for (const [k, i] of Object.entries(STAT)) out[k as StatName] = stats[i];
  return out;
}

/** The header written in front of every received frame. */
const RX_HEADER = (() => {
  const h = new Uint8Array(NET_HDR_SIZE);
  const at = VIRTIO_NET_HDR_V1.fields.num_buffers.offset;
  h[at] = 1; // num_buffers = 1, little-endian u16
  return h;
})();

const NUM_BUFFERS_AT = VIRTIO_NET_HDR_V1.fields.num_buffers.offset;

/** Writes {@linkcode RX_HEADER} into `r` without allocating (fast path). */
function writeHeader(r: Chain): void {
  const i = r.readableCount;
  if (r.lens[i] >= NET_HDR_SIZE) {
    const b = r.bufs[i];
    const o = r.offs[i];
    b.fill(0, o, o + NET_HDR_SIZE);
    b[o + NUM_BUFFERS_AT] = 1;
  } else r.writeFrom(RX_HEADER);
}

const COPY_AFTER_HEADER = { from: NET_HDR_SIZE, to: NET_HDR_SIZE } as const;

/** Which queues want an interrupt, from {@linkcode Loopback.publish}. */
export const WANT_IRQ = { RX: 1, TX: 2 } as const;

/** TX-to-RX loopback over a virtio-net device's queue pair. */
export class Loopback {
  /** The receive queue (device-writable buffers). */
  readonly rx: SplitQueue;
  /** The transmit queue (device-readable buffers). */
  readonly tx: SplitQueue;
  /** Counters (see {@linkcode STAT}). */
  readonly stats: Float64Array;
  /** Leave TX chains in place when there is no RX buffer. */
  hold: boolean;
  /** The last {@linkcode run} stopped for want of an RX buffer. */
  starved = false;
  readonly #txChain: Chain;
  readonly #rxChain: Chain;

  /** A loopback between `rx` and `tx`. */
  constructor(
    queues: { rx: SplitQueue; tx: SplitQueue },
    options: { stats?: Float64Array; hold?: boolean } = {},
  ) {
    this.hold = options.hold ?? false;
    this.rx = queues.rx;
    this.tx = queues.tx;
    this.stats = options.stats ?? new Float64Array(STAT_COUNT);
    this.#txChain = new Chain(Math.max(1, queues.tx.num));
    this.#rxChain = new Chain(Math.max(1, queues.rx.num));
  }

  /**
   * Moves up to `budget` transmitted frames to RX buffers; returns how many
   * TX chains were consumed. Nothing is visible to the driver until
   * {@linkcode publish}.
   */
  run(budget = 256): number {
    const tx = this.tx;
    const rx = this.rx;
    const t = this.#txChain;
    const r = this.#rxChain;
    const st = this.stats;
    let n = 0;
    this.starved = false;
    while (n < budget && tx.pop(t)) {
      n++;
      const frame = t.readableBytes - NET_HDR_SIZE;
      if (frame < 0) {
        st[STAT.txErrors]++;
        tx.push(t.head, 0);
        continue;
      }
      if (!rx.pop(r)) {
        if (this.hold) {
          tx.unpop();
          this.starved = true;
          n--;
          break;
        }
        st[STAT.txPackets]++;
        st[STAT.txBytes] += frame;
        st[STAT.rxDropped]++;
      } else if (r.writableBytes < NET_HDR_SIZE + frame) {
        st[STAT.txPackets]++;
        st[STAT.txBytes] += frame;
        rx.unpop();
        st[STAT.rxTooBig]++;
      } else {
        st[STAT.txPackets]++;
        st[STAT.txBytes] += frame;
        writeHeader(r);
        if (t.readableCount === 1 && r.count === 1) {
          // The usual case (one TX and one RX descriptor): no segment walk.
          const s = t.offs[0] + NET_HDR_SIZE;
          const d = r.offs[0] + NET_HDR_SIZE;
          const from = t.bufs[0];
          const to = r.bufs[0];
          if (from === to) to.copyWithin(d, s, s + frame);
          else to.set(from.subarray(s, s + frame), d);
        } else copyChain(t, r, COPY_AFTER_HEADER);
        rx.push(r.head, NET_HDR_SIZE + frame);
        st[STAT.rxPackets]++;
        st[STAT.rxBytes] += frame;
      }
      tx.push(t.head, 0);
    }
    return n;
  }

  /**
   * Publishes both used rings; returns the {@linkcode WANT_IRQ} bits of the
   * queues whose driver should be interrupted now.
   */
  publish(): number {
    let want = 0;
    if (this.rx.publish()) want |= WANT_IRQ.RX;
    if (this.tx.publish()) want |= WANT_IRQ.TX;
    return want;
  }
}
