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
 * The server depends only on the seams of `backend.ts`: the device it serves
 * ({@linkcode DeviceBackend}) and the device fd's messages and ioctls
 * ({@linkcode DeviceChannel}; {@linkcode vduseChannel} is the real one).
 *
 * @module
 */

import { close, eventfd, POLL, pollAsync, read, write } from "../sys/mod.ts";
import { errnoCode, messageOf, VdevError } from "../errors.ts";
import {
  devGetFeatures,
  devInjectConfigIrq,
  type DevRequest,
  devSetConfig,
  readRequest,
  VDUSE_MSG_SIZE,
  VDUSE_REQ_RESULT,
  vqGetInfo,
  type VqInfo,
  vqSetupKickfd,
  writeResponse,
} from "../vduse/mod.ts";
import {
  hasFeature,
  VIRTIO_CONFIG_S,
  VIRTIO_F,
  VIRTIO_NET_CONFIG,
  VIRTIO_NET_S,
} from "../virtio/mod.ts";
import type {
  BackendStart,
  DeviceBackend,
  DeviceChannel,
  QueueSpec,
} from "./backend.ts";

/**
 * The {@linkcode DeviceChannel} of the VDUSE device open (O_NONBLOCK) as
 * `deviceFd`: a nonblocking poll on it and on a wake eventfd of its own
 * (closed by `close`, which leaves the device fd open).
 */
export function vduseChannel(
  deviceFd: number,
  options: { log?: (message: string) => void } = {},
): DeviceChannel {
  const log = options.log ?? ((m: string) => console.error(m));
  const wakeFd = eventfd();
  const fds = [[deviceFd, POLL.IN], [wakeFd, POLL.IN]] as const;
  const buf = new Uint8Array(VDUSE_MSG_SIZE);
  const resp = new Uint8Array(VDUSE_MSG_SIZE);
  const counter = new Uint8Array(8);
  return {
    async wait() {
      let rev: number[];
      try {
        rev = await pollAsync(fds, 1000);
      } catch {
        return;
      }
      if (rev[1] & POLL.IN) {
        try {
          read(wakeFd, counter);
        } catch {
          // Drained by an earlier wait.
        }
      }
      if (rev[0] & (POLL.ERR | POLL.NVAL | POLL.HUP)) {
        log("mvnet: the VDUSE device reports an error (POLLERR)");
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    wake() {
      try {
        write(wakeFd, new Uint8Array(new BigUint64Array([1n]).buffer));
      } catch {
        // The wait also ends by itself within a second.
      }
    },
    readRequest: () => readRequest(deviceFd, { buffer: buf }),
    writeResponse: (r) => writeResponse(deviceFd, r, { buffer: resp }),
    vqGetInfo: (index) => vqGetInfo(deviceFd, index),
    setupKickfd: (index, eventFd) =>
      vqSetupKickfd(deviceFd, { index, eventFd }),
    features: () => devGetFeatures(deviceFd),
    setConfig: (offset, data) => devSetConfig(deviceFd, data, { offset }),
    injectConfigIrq: () => devInjectConfigIrq(deviceFd),
    close: () => close(wakeFd),
  };
}

/** Options of {@linkcode VduseServer}. */
export interface VduseServerOptions {
  /** The device fd's messages and ioctls (see {@linkcode vduseChannel}). */
  channel: DeviceChannel;
  /** The device to start and stop. */
  backend: DeviceBackend;
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
  /**
   * VIRTIO_NET_S_LINK_UP as this server last set it in the config space
   * (created up; the kernel keeps the config space across resets).
   */
  linkUp = true;
  readonly #ch: DeviceChannel;
  readonly #backend: DeviceBackend;
  readonly #log: (message: string) => void;
  readonly #onStatus?: (status: number) => void;
  readonly #onDriverOk?: () => void;
  #kickFds: number[] = [];
  #run: BackendStart | null = null;
  #stopping = false;
  #loop: Promise<void> | null = null;

  /** A server for the device behind `options.channel`. */
  constructor(options: VduseServerOptions) {
    this.#ch = options.channel;
    this.#backend = options.backend;
    this.#log = options.log ?? ((m) => console.error(m));
    this.#onStatus = options.onStatus;
    this.#onDriverOk = options.onDriverOk;
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
    const infos = this.#backend.queues.map((i) => this.#ch.vqGetInfo(i));
    if (infos.some((q) => !q.ready || q.num === 0)) return false;
    this.status = VIRTIO_CONFIG_S.ACKNOWLEDGE | VIRTIO_CONFIG_S.DRIVER |
      VIRTIO_CONFIG_S.FEATURES_OK | VIRTIO_CONFIG_S.DRIVER_OK;
    this.#prepare(infos);
    this.#onDriverOk?.();
    this.#startBackend();
    return true;
  }

  async #serve(): Promise<void> {
    while (!this.#stopping) {
      await this.#ch.wait();
      if (this.#stopping) break;
      for (;;) {
        let req: DevRequest | null;
        try {
          req = this.#ch.readRequest();
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
          await this.#stopBackend();
          if (now === 0) {
            this.resetCount++;
            this.queueInfo = [];
          }
        } else if ((was & VIRTIO_CONFIG_S.DRIVER_OK) === 0) {
          try {
            // Every DRIVER_OK: the driver may have moved its rings.
            this.#prepare(
              this.#backend.queues.map((i) => this.#ch.vqGetInfo(i)),
            );
            this.driverOkCount++;
            this.#onDriverOk?.();
            after = () => this.#startBackend();
          } catch (err) {
            this.#log(`mvnet: DRIVER_OK set-up failed: ${messageOf(err)}`);
          }
        }
        this.status = now;
        break;
      }
      case "get_vq_state": {
        vqIndex = req.vqIndex;
        availIndex = this.#backend.lastAvail(req.vqIndex);
        if (availIndex === undefined) result = VDUSE_REQ_RESULT.FAILED;
        break;
      }
      case "update_iotlb": {
        if (this.#backend.running) {
          await this.#backend.stop();
          after = () => this.#startBackend();
        }
        break;
      }
      default:
        this.#log(`mvnet: unknown VDUSE request type ${req.type}`);
        result = VDUSE_REQ_RESULT.FAILED;
    }
    try {
      this.#ch.writeResponse({
        requestId: req.requestId,
        result,
        vqIndex,
        availIndex,
      });
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
    const queues: QueueSpec[] = [];
    for (const info of infos) {
      const kickFd = eventfd();
      this.#kickFds.push(kickFd);
      this.#ch.setupKickfd(info.index, kickFd);
      queues.push({
        index: info.index,
        num: info.num,
        desc: info.descAddr,
        driver: info.driverAddr,
        device: info.deviceAddr,
        kickFd,
      });
    }
    let eventIdx = false;
    try {
      eventIdx = hasFeature(this.#ch.features(), VIRTIO_F.EVENT_IDX);
    } catch (err) {
      this.#log(`mvnet: DEV_GET_FEATURES failed: ${messageOf(err)}`);
    }
    this.#run = { queues, eventIdx };
  }

  #startBackend(): void {
    if (this.#run === null || this.#backend.running) return;
    try {
      this.#backend.start(this.#run);
    } catch (err) {
      this.#log(`mvnet: starting the datapath: ${messageOf(err)}`);
    }
  }

  async #stopBackend(): Promise<void> {
    await this.#backend.stop();
    this.#run = null;
    this.#closeKicks();
  }

  #closeKicks(): void {
    for (const fd of this.#kickFds) close(fd);
    this.#kickFds = [];
  }

  /**
   * Sets or clears VIRTIO_NET_S_LINK_UP in the net config space's status
   * (DEV_SET_CONFIG) and tells the driver (DEV_INJECT_CONFIG_IRQ): its
   * netdev's carrier follows. Only while the driver has set DRIVER_OK: the
   * kernel refuses config changes before (EINVAL); VdevError then.
   */
  setLink(up: boolean): void {
    const refused = new VdevError(
      `the link can change only while the driver runs the device (DRIVER_OK; status now 0x${
        this.status.toString(16)
      }): the kernel refuses config changes before (EINVAL); attach it and wait for its netdev`,
    );
    if ((this.status & VIRTIO_CONFIG_S.DRIVER_OK) === 0) throw refused;
    const status = new Uint8Array(2); // little-endian u16
    status[0] = up ? VIRTIO_NET_S.LINK_UP : 0;
    try {
      this.#ch.setConfig(VIRTIO_NET_CONFIG.fields.status.offset, status);
      this.linkUp = up;
      this.#ch.injectConfigIrq();
    } catch (err) {
      if (errnoCode(err) === "EINVAL") throw refused;
      throw new VdevError(`changing the link state: ${messageOf(err)}`, {
        cause: err,
      });
    }
  }

  /**
   * Stops the message loop and the backend and closes the channel (the
   * device stays as it is).
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#ch.wake();
    await this.#loop;
    this.#loop = null;
    await this.#backend.stop();
    this.#closeKicks();
    this.#ch.close();
  }
}
