/**
 * The mvnet datapath loop: maps the rings of a running virtio-net device
 * (through an {@linkcode IotlbCache}), runs the {@linkcode Loopback} in
 * batches, publishes the used rings once per batch, injects the interrupts
 * the driver asked for, and sleeps in poll(2) on the TX kick eventfd and a
 * wake eventfd when there is nothing to do (with TX kicks turned on only
 * while sleeping: VRING_USED_F_NO_NOTIFY otherwise).
 *
 * Before it sleeps, the Worker's loop yields its CPU a few times (`idle.ts`).
 *
 * It runs either on a dedicated Worker (`lib/mvnet/worker.ts`, a blocking
 * poll on its own thread: the default, fastest) or on the caller's event
 * loop (nonblocking poll). Either way the caller controls it through a
 * shared control block and reads its counters from a shared stats array;
 * `DatapathRunner` (`runner.ts`) hides which, and is the control plane's
 * `DeviceBackend`.
 *
 * @module
 */

import { IotlbCache } from "./iotlb.ts";
import { libc, POLL, pollAsync } from "../sys/mod.ts";
import { Loopback, STAT, WANT_IRQ } from "./loopback.ts";
import { vqInjectIrq } from "../vduse/mod.ts";
import { SplitQueue } from "../virtio/mod.ts";
import { messageOf } from "../errors.ts";
import { IDLE_YIELDS, schedYield, yieldUntil } from "./idle.ts";
import type { QueueSpec } from "./backend.ts";

/** What one datapath run serves. */
export interface DatapathSpec {
  /** The VDUSE device fd (IOTLB_GET_FD, VQ_INJECT_IRQ). */
  deviceFd: number;
  /** Receive queue. */
  rx: QueueSpec;
  /** Transmit queue. */
  tx: QueueSpec;
  /** An eventfd written to wake the loop (stop requests). */
  wakeFd: number;
  /** TX chains per batch (default 256). */
  budget?: number;
  /** VIRTIO_RING_F_EVENT_IDX was negotiated (default false). */
  eventIdx?: boolean;
}

/**
 * How long frames wait for RX buffers before they are dropped (ms). The
 * driver refills its receive ring as it takes frames in, so this only
 * expires when its receive side has stopped.
 */
export const RX_WAIT_MS = 1000;

/** Slots of the shared control block (an Int32Array). */
export const CTL = {
  /** Set to 1 to ask the loop to stop. */
  stop: 0,
  /** 1 while the loop runs. */
  running: 1,
  /** Last available index popped, RX then TX (for GET_VQ_STATE). */
  rxLastAvail: 2,
  txLastAvail: 3,
  /** Bit per queue index: the queue is broken. */
  broken: 4,
} as const;

/** Int32 slots in a control block. */
export const CTL_COUNT = 8;

/** A datapath over mapped rings; one per DRIVER_OK. */
export class Datapath {
  /** The memory. */
  readonly iotlb: IotlbCache;
  /** The policy. */
  readonly loopback: Loopback;
  readonly #spec: DatapathSpec;
  readonly #ctl: Int32Array;
  readonly #stats: Float64Array;
  readonly #log: (message: string) => void;
  readonly #budget: number;
  // pollfd arrays: [TX kick, wake] normally, [RX kick, wake] when starved.
  readonly #pollBuf = new Uint8Array(16);
  readonly #pollView = new DataView(this.#pollBuf.buffer);
  readonly #starvedBuf = new Uint8Array(16);
  readonly #drainBuf = new Uint8Array(8);
  // yieldUntil's arguments, made once (the loop allocates nothing).
  readonly #txReady = () =>
    this.loopback.tx.availableCount() > 0 || this.#stopRequested();
  readonly #rxReady = () =>
    this.loopback.rx.availableCount() > 0 || this.loopback.rx.broken !== null ||
    this.#stopRequested();
  readonly #yield = { tries: IDLE_YIELDS, yieldCpu: schedYield };
  #irqFailed = false;

  /** Maps the rings of `spec` and sets the queues up (resuming from used idx). */
  constructor(
    spec: DatapathSpec,
    options: {
      ctl: Int32Array;
      stats: Float64Array;
      log: (message: string) => void;
    },
  ) {
    this.#spec = spec;
    this.#ctl = options.ctl;
    this.#stats = options.stats;
    this.#log = options.log;
    this.#budget = spec.budget ?? 256;
    this.iotlb = new IotlbCache(spec.deviceFd, {
      onError: (m) => this.#log(`mvnet: ${m}`),
    });
    const onBroken = (q: SplitQueue, reason: string) => {
      Atomics.or(this.#ctl, CTL.broken, q.name === "rx" ? 1 : 2);
      this.#log(
        `mvnet: ${q.name} queue broken (${reason}); the device needs a reset, ` +
          `the other queue and control messages are still served`,
      );
    };
    const queue = (q: QueueSpec, name: string, kind: "readable" | "writable") =>
      new SplitQueue({
        num: q.num,
        rings: { desc: q.desc, driver: q.driver, device: q.device },
        memory: this.iotlb,
        kind,
        name,
        onBroken,
        eventIdx: spec.eventIdx ?? false,
      });
    const rx = queue(spec.rx, "rx", "writable");
    const tx = queue(spec.tx, "tx", "readable");
    // RX kicks are only wanted while waiting for RX buffers.
    rx.setNotify(false);
    this.loopback = new Loopback({ rx, tx }, {
      stats: this.#stats,
      hold: true,
    });
    this.#pollView.setInt32(0, spec.tx.kickFd, true);
    this.#pollView.setInt16(4, POLL.IN, true);
    this.#pollView.setInt32(8, spec.wakeFd, true);
    this.#pollView.setInt16(12, POLL.IN, true);
    const sv = new DataView(this.#starvedBuf.buffer);
    sv.setInt32(0, spec.rx.kickFd, true);
    sv.setInt16(4, POLL.IN, true);
    sv.setInt32(8, spec.wakeFd, true);
    sv.setInt16(12, POLL.IN, true);
  }

  /** Processes one batch; returns the number of TX chains consumed. */
  step(): number {
    const lb = this.loopback;
    const n = lb.run(this.#budget);
    const want = lb.publish();
    if (want !== 0) {
      if (want & WANT_IRQ.RX) {
        this.#inject(this.#spec.rx.index);
        this.#stats[STAT.rxIrqs]++;
      }
      if (want & WANT_IRQ.TX) {
        this.#inject(this.#spec.tx.index);
        this.#stats[STAT.txIrqs]++;
      }
    }
    if (n > 0) this.#stats[STAT.batches]++;
    const ctl = this.#ctl;
    ctl[CTL.rxLastAvail] = lb.rx.lastAvail;
    ctl[CTL.txLastAvail] = lb.tx.lastAvail;
    return n;
  }

  #inject(index: number): void {
    try {
      vqInjectIrq(this.#spec.deviceFd, index);
    } catch (err) {
      if (!this.#irqFailed) {
        this.#irqFailed = true;
        this.#log(`mvnet: VQ_INJECT_IRQ ${index} failed: ${messageOf(err)}`);
      }
    }
  }

  /**
   * Prepares to sleep: turns TX kicks on and says whether work arrived
   * meanwhile (then kicks are turned off again and the caller loops).
   */
  #armOrWork(): boolean {
    const tx = this.loopback.tx;
    tx.setNotify(true);
    if (tx.availableCount() > 0) {
      tx.setNotify(false);
      return true;
    }
    return false;
  }

  #afterWake(): void {
    this.#stats[STAT.wakeups]++;
    const c = libc();
    // Drain the kick eventfd (nonblocking; EAGAIN when not signalled).
    if (this.#spec.tx.kickFd >= 0) {
      c.read(this.#spec.tx.kickFd, this.#drainBuf, 8n);
    }
    this.loopback.tx.setNotify(false);
  }

  #stopRequested(): boolean {
    return Atomics.load(this.#ctl, CTL.stop) !== 0;
  }

  /**
   * Out of RX buffers with frames waiting: asks for RX kicks and says
   * whether buffers arrived meanwhile (then the caller loops at once).
   */
  #armRx(): boolean {
    const rx = this.loopback.rx;
    rx.setNotify(true);
    if (rx.availableCount() > 0 || rx.broken !== null) {
      rx.setNotify(false);
      return true;
    }
    return false;
  }

  /**
   * After waiting for RX buffers: if the wait timed out and none came, drop
   * the waiting frames (a driver whose receive side is stopped must not
   * stall its transmit side for ever). A kick with no buffer (a stale one
   * latched in the eventfd) only makes the caller wait again.
   */
  #afterRxWait(timedOut: boolean): void {
    this.#stats[STAT.wakeups]++;
    const lb = this.loopback;
    if (this.#spec.rx.kickFd >= 0) {
      libc().read(this.#spec.rx.kickFd, this.#drainBuf, 8n);
    }
    lb.rx.setNotify(false);
    if (timedOut && lb.rx.availableCount() === 0) {
      lb.hold = false;
      this.step();
      lb.hold = true;
    }
  }

  /** Runs until a stop request, blocking in poll (Workers; yields first). */
  runSync(): void {
    const c = libc();
    this.loopback.tx.setNotify(false);
    while (!this.#stopRequested()) {
      if (this.step() > 0 && !this.loopback.starved) continue;
      if (this.loopback.starved) {
        if (yieldUntil(this.#rxReady, this.#yield)) continue;
        if (this.#armRx()) continue;
        this.#stats[STAT.rxWaits]++;
        const ready = c.poll(this.#starvedBuf, 2n, RX_WAIT_MS);
        this.#afterRxWait(ready === 0);
        continue;
      }
      if (yieldUntil(this.#txReady, this.#yield)) continue;
      if (this.#armOrWork()) continue;
      c.poll(this.#pollBuf, 2n, 1000);
      this.#afterWake();
    }
  }

  /** Runs until a stop request without blocking the event loop (no yields). */
  async runAsync(): Promise<void> {
    this.loopback.tx.setNotify(false);
    const fds = [[this.#spec.tx.kickFd, POLL.IN], [
      this.#spec.wakeFd,
      POLL.IN,
    ]] as const;
    const rxFds = [[this.#spec.rx.kickFd, POLL.IN], [
      this.#spec.wakeFd,
      POLL.IN,
    ]] as const;
    let busy = 0;
    while (!this.#stopRequested()) {
      if (this.step() > 0 && !this.loopback.starved) {
        // Let the control loop in now and then.
        if (++busy % 16 === 0) await pollAsync(fds, 0);
        continue;
      }
      if (this.loopback.starved) {
        if (this.#armRx()) {
          if (++busy % 16 === 0) await pollAsync(fds, 0);
          continue;
        }
        this.#stats[STAT.rxWaits]++;
        const rev = await pollAsync(rxFds, RX_WAIT_MS);
        this.#afterRxWait(rev[0] === 0 && rev[1] === 0);
        continue;
      }
      if (this.#armOrWork()) continue;
      await pollAsync(fds, 1000);
      this.#afterWake();
    }
  }

  /** Unmaps everything; the queues must not be used afterwards. */
  close(): void {
    this.iotlb.unmapAll();
  }
}
