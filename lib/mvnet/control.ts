/**
 * Device control of a VDUSE device: the message loop on `/dev/vduse/NAME`.
 * It reads requests without blocking the event loop (nonblocking fd, a
 * nonblocking poll woken by an eventfd) and answers them:
 *
 * - SET_STATUS: DRIVER_OK newly set → VQ_GET_INFO for every queue, a kick
 *   eventfd per queue (VQ_SETUP_KICKFD; kicks sent before are latched),
 *   reply, and only then start the datapath (which maps the rings and may
 *   inject interrupts: VQ_INJECT_IRQ fails until the reply is written).
 *   Status 0 (reset) or DRIVER_OK cleared → stop the datapath, which unmaps
 *   everything, then reply (the kernel drops the mappings after the reply).
 * - GET_VQ_STATE: the available index the datapath has reached.
 * - UPDATE_IOTLB: stop the datapath (dropping its mappings), reply, restart
 *   it: it re-maps on demand.
 *
 * {@linkcode VduseServer.adopt} starts serving a device that is already
 * running (its previous daemon died): queues that are ready are served from
 * their used index.
 *
 * @module
 */

import { close, eventfd, POLL, pollAsync, write } from "../sys/mod.ts";
import { messageOf } from "../errors.ts";
import {
  devGetFeatures,
  type DevRequest,
  readRequest,
  vqGetInfo,
  type VqInfo,
  vqSetupKickfd,
  writeResponse,
} from "../vduse/mod.ts";
import { VDUSE_MSG_SIZE, VDUSE_REQ_RESULT } from "../vduse/mod.ts";
import { hasFeature, VIRTIO_CONFIG_S, VIRTIO_F } from "../virtio/mod.ts";
import {
  CTL,
  type DatapathRunner,
  type DatapathSpec,
  type QueueSpec,
} from "./datapath.ts";

/** Options of {@linkcode VduseServer}. */
export interface VduseServerOptions {
  /** The device fd, opened O_NONBLOCK. */
  deviceFd: number;
  /** The datapath to start and stop. */
  datapath: DatapathRunner;
  /** Receive and transmit queue indices (default 0 and 1). */
  queues?: { rx: number; tx: number };
  /** Diagnostics. */
  log?: (message: string) => void;
  /** Called after every status change (tests, stats). */
  onStatus?: (status: number) => void;
  /**
   * Called when the driver sets DRIVER_OK (its queues are set up), before
   * the datapath starts and the reply is written, and when a running device
   * is adopted: the moment to apply per-queue settings the driver's probe
   * resets, such as interrupt affinity.
   */
  onDriverOk?: () => void;
}

/** The VDUSE message loop of one device. */
export class VduseServer {
  /** Last status the driver set. */
  status = 0;
  /** Number of DRIVER_OK transitions served. */
  driverOkCount = 0;
  /** Number of resets served. */
  resetCount = 0;
  /** The queues as last reported by VQ_GET_INFO. */
  queueInfo: VqInfo[] = [];
  readonly #fd: number;
  readonly #dp: DatapathRunner;
  readonly #log: (message: string) => void;
  readonly #onStatus?: (status: number) => void;
  readonly #onDriverOk?: () => void;
  readonly #rx: number;
  readonly #tx: number;
  readonly #wakeFd: number;
  readonly #buf = new Uint8Array(VDUSE_MSG_SIZE);
  readonly #resp = new Uint8Array(VDUSE_MSG_SIZE);
  #kickFds: number[] = [];
  #spec: Omit<DatapathSpec, "wakeFd"> | null = null;
  #stopping = false;
  #loop: Promise<void> | null = null;

  /** A server for the device open as `options.deviceFd`. */
  constructor(options: VduseServerOptions) {
    this.#fd = options.deviceFd;
    this.#dp = options.datapath;
    this.#log = options.log ?? ((m) => console.error(m));
    this.#onStatus = options.onStatus;
    this.#onDriverOk = options.onDriverOk;
    this.#rx = options.queues?.rx ?? 0;
    this.#tx = options.queues?.tx ?? 1;
    this.#wakeFd = eventfd();
  }

  /** Starts the message loop (returns at once; see {@linkcode stop}). */
  start(): void {
    if (this.#loop !== null) return;
    this.#stopping = false;
    this.#loop = this.#serve();
  }

  /**
   * Adopts a device whose previous daemon died: if its queues are ready
   * (the driver is running), sets up kick eventfds and serves them from
   * their used index. Returns whether a datapath was started.
   */
  adopt(): boolean {
    const rx = vqGetInfo(this.#fd, this.#rx);
    const tx = vqGetInfo(this.#fd, this.#tx);
    if (!rx.ready || !tx.ready || rx.num === 0 || tx.num === 0) return false;
    this.status = VIRTIO_CONFIG_S.ACKNOWLEDGE | VIRTIO_CONFIG_S.DRIVER |
      VIRTIO_CONFIG_S.FEATURES_OK | VIRTIO_CONFIG_S.DRIVER_OK;
    this.#prepare([rx, tx]);
    this.#onDriverOk?.();
    this.#startDatapath();
    return true;
  }

  async #serve(): Promise<void> {
    const fds = [[this.#fd, POLL.IN], [this.#wakeFd, POLL.IN]] as const;
    while (!this.#stopping) {
      let rev: number[];
      try {
        rev = await pollAsync(fds, 1000);
      } catch {
        continue;
      }
      if (this.#stopping) break;
      if (rev[0] & (POLL.ERR | POLL.NVAL | POLL.HUP)) {
        this.#log("mvnet: the VDUSE device reports an error (POLLERR)");
        await new Promise((r) => setTimeout(r, 100));
      }
      for (;;) {
        let req: DevRequest | null;
        try {
          req = readRequest(this.#fd, { buffer: this.#buf });
        } catch (err) {
          this.#log(`mvnet: reading a VDUSE request: ${messageOf(err)}`);
          break;
        }
        if (req === null) break;
        await this.#handle(req);
      }
    }
  }

  async #handle(req: DevRequest): Promise<void> {
    let result: number = VDUSE_REQ_RESULT.OK;
    let after: (() => void) | null = null;
    let vqIndex: number | undefined;
    let availIndex: number | undefined;
    switch (req.kind) {
      case "set_status": {
        const was = this.status;
        const now = req.status;
        if ((now & VIRTIO_CONFIG_S.DRIVER_OK) === 0) {
          await this.#stopDatapath();
          if (now === 0) {
            this.resetCount++;
            this.queueInfo = [];
          }
        } else if ((was & VIRTIO_CONFIG_S.DRIVER_OK) === 0) {
          try {
            const infos = [
              vqGetInfo(this.#fd, this.#rx),
              vqGetInfo(this.#fd, this.#tx),
            ];
            this.#prepare(infos);
            this.driverOkCount++;
            this.#onDriverOk?.();
            after = () => this.#startDatapath();
          } catch (err) {
            this.#log(`mvnet: DRIVER_OK set-up failed: ${messageOf(err)}`);
          }
        }
        this.status = now;
        break;
      }
      case "get_vq_state": {
        vqIndex = req.vqIndex;
        const ctl = this.#dp.ctl;
        if (req.vqIndex === this.#rx) availIndex = ctl[CTL.rxLastAvail];
        else if (req.vqIndex === this.#tx) availIndex = ctl[CTL.txLastAvail];
        else result = VDUSE_REQ_RESULT.FAILED;
        break;
      }
      case "update_iotlb": {
        if (this.#dp.running) {
          await this.#dp.stop();
          after = () => this.#startDatapath();
        }
        break;
      }
      default:
        this.#log(`mvnet: unknown VDUSE request type ${req.type}`);
        result = VDUSE_REQ_RESULT.FAILED;
    }
    try {
      writeResponse(this.#fd, {
        requestId: req.requestId,
        result,
        vqIndex,
        availIndex,
      }, { buffer: this.#resp });
    } catch (err) {
      this.#log(`mvnet: writing a VDUSE response: ${messageOf(err)}`);
    }
    if (req.kind === "set_status") this.#onStatus?.(req.status);
    // Interrupts may only be injected once the reply has been written.
    after?.();
  }

  #prepare(infos: VqInfo[]): void {
    this.queueInfo = infos;
    this.#closeKicks();
    const spec = (info: VqInfo, kickFd: number): QueueSpec => ({
      index: info.index,
      num: info.num,
      desc: info.descAddr,
      driver: info.driverAddr,
      device: info.deviceAddr,
      kickFd,
    });
    const specs: QueueSpec[] = [];
    for (const info of infos) {
      const kick = eventfd();
      this.#kickFds.push(kick);
      vqSetupKickfd(this.#fd, { index: info.index, eventFd: kick });
      specs.push(spec(info, kick));
    }
    let eventIdx = false;
    try {
      eventIdx = hasFeature(devGetFeatures(this.#fd), VIRTIO_F.EVENT_IDX);
    } catch (err) {
      this.#log(`mvnet: DEV_GET_FEATURES failed: ${messageOf(err)}`);
    }
    this.#spec = {
      deviceFd: this.#fd,
      rx: specs[0],
      tx: specs[1],
      eventIdx,
    };
  }

  #startDatapath(): void {
    if (this.#spec === null || this.#dp.running) return;
    try {
      this.#dp.start(this.#spec);
    } catch (err) {
      this.#log(`mvnet: starting the datapath: ${messageOf(err)}`);
    }
  }

  async #stopDatapath(): Promise<void> {
    await this.#dp.stop();
    this.#spec = null;
    this.#closeKicks();
  }

  #closeKicks(): void {
    for (const fd of this.#kickFds) close(fd);
    this.#kickFds = [];
  }

  /** Stops the message loop and the datapath (the device stays as it is). */
  async stop(): Promise<void> {
    this.#stopping = true;
    const one = new Uint8Array(new BigUint64Array([1n]).buffer);
    try {
      write(this.#wakeFd, one);
    } catch {
      // The loop also wakes up by itself within a second.
    }
    await this.#loop;
    this.#loop = null;
    await this.#dp.stop();
    this.#closeKicks();
    close(this.#wakeFd);
  }
}
