/**
 * The two seams of mvnet's VDUSE control plane (`control.ts`), so that its
 * message handling runs without a kernel in tests:
 *
 * - {@linkcode DeviceBackend}: what it needs from the device it serves (the
 *   role of rust-vmm's `VhostUserBackend`): the queues it serves, start with
 *   their addresses and kick eventfds, stop (dropping every mapping), the
 *   available index reached per queue. `DatapathRunner.backend` implements
 *   it with the datapath.
 * - {@linkcode DeviceChannel}: the VDUSE device fd as the control plane uses
 *   it: wait for, read and answer requests, and the ioctls it calls
 *   (VQ_GET_INFO, VQ_SETUP_KICKFD, DEV_GET_FEATURES, DEV_SET_CONFIG,
 *   DEV_INJECT_CONFIG_IRQ). `vduseChannel`
 *   (control.ts) implements it over the fd.
 *
 * @module
 */

import type { DevRequest, DevResponse, VqInfo } from "../vduse/mod.ts";

/** One queue as the datapath needs it (from VDUSE_VQ_GET_INFO). */
export interface QueueSpec {
  /** Queue index (0 RX, 1 TX for virtio-net). */
  index: number;
  /** Entries. */
  num: number;
  /** Descriptor table IOVA. */
  desc: bigint;
  /** Driver (avail) area IOVA. */
  driver: bigint;
  /** Device (used) area IOVA. */
  device: bigint;
  /** The kick eventfd (VQ_SETUP_KICKFD), or -1. */
  kickFd: number;
}

/** What a backend serves from one DRIVER_OK (or adoption) to its stop. */
export interface BackendStart {
  /** The queues, in the order of {@linkcode DeviceBackend.queues}. */
  queues: QueueSpec[];
  /** VIRTIO_RING_F_EVENT_IDX was negotiated. */
  eventIdx: boolean;
}

/** The device behind a VDUSE control plane. */
export interface DeviceBackend {
  /** The indices of the queues it serves (virtio-net: RX 0, TX 1). */
  readonly queues: readonly number[];
  /** True while it serves queues. */
  readonly running: boolean;
  /**
   * Starts serving (throws if already running). Called once the reply to
   * DRIVER_OK is written: the backend may inject interrupts at once.
   */
  start(run: BackendStart): void;
  /**
   * Stops serving and drops every mapping of the driver's memory; resolves
   * once done (at once when not running).
   */
  stop(): Promise<void>;
  /**
   * The available index reached on queue `index`, for GET_VQ_STATE;
   * undefined for a queue it does not serve.
   */
  lastAvail(index: number): number | undefined;
}

/** The VDUSE device fd as the control plane uses it. */
export interface DeviceChannel {
  /**
   * Resolves when a request may be pending, after {@linkcode wake}, or
   * after a while: the caller then reads until null and waits again.
   */
  wait(): Promise<void>;
  /** Makes the current (or the next) {@linkcode wait} resolve at once. */
  wake(): void;
  /** The next pending request, or null when none is pending. */
  readRequest(): DevRequest | null;
  /** Writes the reply to a request. */
  writeResponse(response: DevResponse): void;
  /** VDUSE_VQ_GET_INFO of queue `index`. */
  vqGetInfo(index: number): VqInfo;
  /** VDUSE_VQ_SETUP_KICKFD: kicks of queue `index` signal `eventFd`. */
  setupKickfd(index: number, eventFd: number): void;
  /** VDUSE_DEV_GET_FEATURES: the negotiated features. */
  features(): bigint;
  /** VDUSE_DEV_SET_CONFIG: writes `data` into the config space at `offset`. */
  setConfig(offset: number, data: Uint8Array): void;
  /** VDUSE_DEV_INJECT_CONFIG_IRQ: tells the driver the config changed. */
  injectConfigIrq(): void;
  /** Releases what the channel opened itself (not the device fd). */
  close(): void;
}
