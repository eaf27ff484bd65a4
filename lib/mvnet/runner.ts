/**
 * Who runs the mvnet datapath ({@linkcode Datapath} in `datapath.ts`): a
 * {@linkcode DatapathRunner} per device starts one loop per DRIVER_OK on a
 * dedicated Worker (`worker.ts`, the default) or on the caller's event loop,
 * shares the control block and counters with it, places the Worker's thread,
 * and is the control plane's `DeviceBackend`. The messages between the
 * runner and the Worker are declared here.
 *
 * @module
 */

import { CTL, CTL_COUNT, Datapath, type DatapathSpec } from "./datapath.ts";
import { STAT_COUNT } from "./loopback.ts";
import { libc, threadId, write } from "../sys/mod.ts";
import { messageOf } from "../errors.ts";
import type { DeviceBackend } from "./backend.ts";

/** Runs a {@linkcode Datapath} per DRIVER_OK on a Worker or inline. */
export class DatapathRunner {
  /** Counters (shared with the worker). */
  readonly stats: Float64Array;
  /** Control block (shared with the worker). */
  readonly ctl: Int32Array;
  /** The wake eventfd. */
  readonly wakeFd: number;
  readonly #useWorker: boolean;
  readonly #cpus: number[] | undefined;
  readonly #log: (message: string) => void;
  #worker: Worker | null = null;
  #tid: number | undefined;
  #stopped: (() => void) | null = null;
  #running: Promise<void> | null = null;
  #ready: Promise<void>;

  /**
   * A runner; `worker` (default true) runs the loop on its own thread,
   * restricted to `cpus` when given (sched_setaffinity on that thread only).
   */
  constructor(
    options: {
      worker?: boolean;
      cpus?: number[];
      log?: (message: string) => void;
      wakeFd: number;
    },
  ) {
    this.#useWorker = options.worker ?? true;
    this.#cpus = options.cpus;
    this.#log = options.log ?? ((m) => console.error(m));
    this.wakeFd = options.wakeFd;
    this.stats = new Float64Array(
      new SharedArrayBuffer(STAT_COUNT * Float64Array.BYTES_PER_ELEMENT),
    );
    this.ctl = new Int32Array(
      new SharedArrayBuffer(CTL_COUNT * Int32Array.BYTES_PER_ELEMENT),
    );
    let ready = () => {};
    this.#ready = new Promise<void>((resolve) => ready = resolve);
    if (!this.#useWorker) {
      this.#tid = threadId();
      ready();
    } else {
      const w = new Worker(new URL("./worker.ts", import.meta.url).href, {
        type: "module",
      });
      w.onmessage = (e: MessageEvent<WorkerReply>) => {
        const m = e.data;
        if (m.type === "ready") {
          this.#tid = m.tid;
          // Place the thread before anything can start on it.
          if (this.#cpus === undefined) ready();
          else w.postMessage({ type: "place", cpus: this.#cpus });
        } else if (m.type === "placed") ready();
        else if (m.type === "log") this.#log(m.message);
        else if (m.type === "stopped") {
          const s = this.#stopped;
          this.#stopped = null;
          s?.();
        }
      };
      w.onerror = (e) => {
        this.#log(`mvnet: datapath worker failed: ${e.message}`);
        e.preventDefault();
        ready();
        const s = this.#stopped;
        this.#stopped = null;
        s?.();
      };
      this.#worker = w;
    }
  }

  /**
   * Resolves once the worker has loaded. Wait for it before the device can
   * send messages: loading (and, under `deno test`, type-checking) the
   * worker's modules can hold up this thread for a long time on a slow
   * machine, and every VDUSE message must be answered within msg_timeout.
   */
  ready(): Promise<void> {
    return this.#ready;
  }

  /**
   * Moves the worker thread to `cpus` (before its next start: messages are
   * handled in order). Nothing without a worker.
   */
  place(cpus: number[]): void {
    this.#worker?.postMessage({ type: "place", cpus });
  }

  /**
   * The thread the datapath runs on (its `/proc/self/task/TID`): the
   * worker's once it has loaded, the thread that made the runner without
   * one.
   */
  get threadId(): number | undefined {
    return this.#tid;
  }

  /** True while a datapath runs. */
  get running(): boolean {
    return this.#running !== null;
  }

  /** Starts serving `spec` (the device just reached DRIVER_OK). */
  start(spec: Omit<DatapathSpec, "wakeFd">): void {
    if (this.#running !== null) throw new Error("datapath already running");
    Atomics.store(this.ctl, CTL.stop, 0);
    Atomics.store(this.ctl, CTL.broken, 0);
    drain(this.wakeFd);
    const full: DatapathSpec = { ...spec, wakeFd: this.wakeFd };
    Atomics.store(this.ctl, CTL.running, 1);
    if (this.#worker !== null) {
      const w = this.#worker;
      this.#running = new Promise<void>((resolve) => {
        this.#stopped = resolve;
      });
      const msg: WorkerStart = {
        type: "start",
        spec: full,
        ctl: this.ctl,
        stats: this.stats,
      };
      w.postMessage(msg);
    } else {
      this.#running = (async () => {
        let dp: Datapath | null = null;
        try {
          dp = new Datapath(full, {
            ctl: this.ctl,
            stats: this.stats,
            log: this.#log,
          });
          await dp.runAsync();
        } catch (err) {
          this.#log(`mvnet: datapath failed: ${messageOf(err)}`);
        } finally {
          dp?.close();
        }
      })();
    }
    this.#running.finally(() => Atomics.store(this.ctl, CTL.running, 0));
  }

  /** Stops the datapath and waits until it has unmapped everything. */
  async stop(): Promise<void> {
    const r = this.#running;
    if (r === null) return;
    Atomics.store(this.ctl, CTL.stop, 1);
    write(this.wakeFd, ONE);
    await r;
    this.#running = null;
    drain(this.wakeFd);
  }

  /**
   * This runner as the {@linkcode DeviceBackend} of the virtio-net device
   * open as `deviceFd`: queue 0 receives, queue 1 transmits.
   */
  backend(deviceFd: number): DeviceBackend {
    const [rx, tx] = [0, 1];
    const running = () => this.running;
    return {
      queues: [rx, tx],
      get running() {
        return running();
      },
      start: (run) =>
        this.start({
          deviceFd,
          rx: run.queues[0],
          tx: run.queues[1],
          eventIdx: run.eventIdx,
        }),
      stop: () => this.stop(),
      lastAvail: (index) =>
        index === rx
          ? Atomics.load(this.ctl, CTL.rxLastAvail)
          : index === tx
          ? Atomics.load(this.ctl, CTL.txLastAvail)
          : undefined,
    };
  }

  /** Stops and ends the worker. */
  async close(): Promise<void> {
    await this.stop();
    this.#worker?.terminate();
    this.#worker = null;
  }
}

const ONE = new Uint8Array(new BigUint64Array([1n]).buffer);

function drain(fd: number): void {
  libc().read(fd, new Uint8Array(8), 8n);
}

/** Message from the runner to the worker. */
export interface WorkerStart {
  /** Start a datapath. */
  type: "start";
  /** What to serve. */
  spec: DatapathSpec;
  /** Shared control block. */
  ctl: Int32Array;
  /** Shared counters. */
  stats: Float64Array;
}

/** Message from the runner to the worker: restrict your thread to `cpus`. */
export interface WorkerPlace {
  /** Place the thread (answered with "placed"). */
  type: "place";
  /** CPUs the worker thread may run on. */
  cpus: number[];
}

/** Messages from the worker. */
export type WorkerReply =
  | { type: "ready"; tid: number }
  | { type: "placed" }
  | { type: "log"; message: string }
  | { type: "stopped" };
