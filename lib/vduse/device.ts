/**
 * VDUSE over FFI: the control-fd operations (`/dev/vduse/control`: API
 * version, create, destroy), thin wrappers for the device-fd ioctls vdevctl
 * calls, and the 152-byte request/response messages (`/dev/vduse/NAME`),
 * all encoded and decoded through the layouts of `uapi.ts` (which declares
 * every ioctl of the UAPI, used or not).
 *
 * Every function is synchronous and throws the {@linkcode ErrnoError} of the
 * failing call (match it with `errnoCode(err)`: "EBUSY", "EINVAL", ...).
 * User-facing translation of those errors lives in `lifecycle.ts`, which
 * also opens the control fd (`withControl`).
 *
 * Order of operations (Linux 6.12, see vduse-kernel-facts.md): control fd
 * SET_API_VERSION(0), CREATE_DEV; open the device fd (one opener);
 * VQ_SETUP every queue; serve messages; attach over vdpa netlink; on
 * DRIVER_OK: VQ_GET_INFO, IOTLB_GET_FD + mmap, VQ_SETUP_KICKFD.
 *
 * @module
 */

import {
  ErrnoError,
  ioctl,
  O,
  open,
  read,
  type StructLayout,
  StructView,
  write,
} from "../sys/mod.ts";
import { errnoCode } from "../errors.ts";
import type { SysRoot } from "../root.ts";
import {
  VDUSE_API_VERSION,
  VDUSE_CONFIG_DATA,
  VDUSE_DEV_CONFIG,
  VDUSE_DEV_REQUEST,
  VDUSE_DEV_RESPONSE,
  VDUSE_IOCTL,
  VDUSE_IOTLB_ENTRY,
  VDUSE_MSG_SIZE,
  VDUSE_NAME_MAX,
  VDUSE_REQ,
  VDUSE_VQ_CONFIG,
  VDUSE_VQ_EVENTFD,
  VDUSE_VQ_INFO,
  type VduseIoctlName,
} from "./uapi.ts";

/** The control node. */
export const VDUSE_CONTROL_PATH = "/dev/vduse/control";

/** The directory of the device nodes. */
export const VDUSE_DEV_DIR = "/dev/vduse";

/** The sysfs class directory of VDUSE devices (and of `control`). */
export const VDUSE_CLASS_DIR = "/sys/class/vduse";

function call(
  fd: number,
  name: VduseIoctlName,
  arg: Uint8Array<ArrayBuffer> | null,
): number {
  return ioctl(fd, VDUSE_IOCTL[name], { arg, name: `VDUSE_${name}` });
}

function struct<F extends string>(
  layout: StructLayout<F>,
  extra = 0,
): { bytes: Uint8Array<ArrayBuffer>; view: StructView<F> } {
  const bytes = new Uint8Array(layout.size + extra);
  return { bytes, view: new StructView(layout, bytes) };
}

const encoder = new TextEncoder();

// ---------------------------------------------------------------- control fd

/** Opens `/dev/vduse/control` (read-write, close-on-exec) under `root`. */
export function openControl(options: { root: SysRoot }): number {
  const path = options.root.path(VDUSE_CONTROL_PATH);
  return open(path, O.RDWR);
}

/** VDUSE_SET_API_VERSION: the version this process speaks (default 0). */
export function setApiVersion(
  controlFd: number,
  version: number = VDUSE_API_VERSION,
): void {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(version), true);
  call(controlFd, "SET_API_VERSION", b);
}

/** What VDUSE_CREATE_DEV needs to create a device. */
export interface DevConfig {
  /** Device name (also the vdpa device name), at most 255 bytes. */
  name: string;
  /** Virtio device id: 1 net, 2 block. */
  deviceId: number;
  /** Virtio vendor id (default 0). */
  vendorId?: number;
  /** Offered virtio feature bits. */
  features: bigint;
  /** Number of virtqueues. */
  vqNum: number;
  /** Alignment of the virtqueue metadata (default 4096). */
  vqAlign?: number;
  /** The initial device config space (e.g. an encoded virtio_net_config). */
  config: Uint8Array;
}

/** Encodes `struct vduse_dev_config` followed by the config bytes. */
export function encodeDevConfig(config: DevConfig): Uint8Array<ArrayBuffer> {
  const name = encoder.encode(config.name);
  if (name.length === 0 || name.length >= VDUSE_NAME_MAX) {
    throw new RangeError(`VDUSE name must be 1-255 bytes: "${config.name}"`);
  }
  const { bytes, view } = struct(VDUSE_DEV_CONFIG, config.config.length);
  view.slice("name").set(name);
  view.set("vendor_id", config.vendorId ?? 0)
    .set("device_id", config.deviceId)
    .set("features", config.features)
    .set("vq_num", config.vqNum)
    .set("vq_align", config.vqAlign ?? 4096)
    .set("config_size", config.config.length);
  bytes.set(config.config, VDUSE_DEV_CONFIG.size);
  return bytes;
}

/** Decodes what {@linkcode encodeDevConfig} encodes (tests, diagnostics). */
export function decodeDevConfig(bytes: Uint8Array): DevConfig {
  const view = new StructView(VDUSE_DEV_CONFIG, bytes);
  const nameBytes = view.slice("name");
  const nul = nameBytes.indexOf(0);
  const size = view.get("config_size");
  return {
    name: new TextDecoder().decode(
      nameBytes.subarray(0, nul < 0 ? nameBytes.length : nul),
    ),
    vendorId: view.get("vendor_id"),
    deviceId: view.get("device_id"),
    features: view.getBig("features"),
    vqNum: view.get("vq_num"),
    vqAlign: view.get("vq_align"),
    config: bytes.slice(VDUSE_DEV_CONFIG.size, VDUSE_DEV_CONFIG.size + size),
  };
}

/** VDUSE_CREATE_DEV: creates the device; `/dev/vduse/NAME` appears. */
export function createDev(controlFd: number, config: DevConfig): void {
  call(controlFd, "CREATE_DEV", encodeDevConfig(config));
}

/**
 * VDUSE_DESTROY_DEV: EBUSY while attached to vdpa or while its fd is open,
 * EINVAL for an unknown name.
 */
export function destroyDev(controlFd: number, name: string): void {
  const b = new Uint8Array(VDUSE_NAME_MAX);
  const n = encoder.encode(name);
  if (n.length >= VDUSE_NAME_MAX) {
    throw new RangeError(`VDUSE name must be 1-255 bytes: "${name}"`);
  }
  b.set(n);
  call(controlFd, "DESTROY_DEV", b);
}

// ----------------------------------------------------------------- device fd

/**
 * Opens `/dev/vduse/NAME` read-write and close-on-exec (O_NONBLOCK with
 * `nonblock`). Only one process may hold it: a second open gets EBUSY.
 */
export function openDevice(
  name: string,
  options: { root: SysRoot; nonblock?: boolean },
): number {
  const path = options.root.path(`${VDUSE_DEV_DIR}/${name}`);
  return open(path, O.RDWR | (options.nonblock ? O.NONBLOCK : 0));
}

/** VDUSE_VQ_SETUP: declares queue `index` with its maximum size. */
export function vqSetup(
  fd: number,
  vq: { index: number; maxSize: number },
): void {
  const { bytes, view } = struct(VDUSE_VQ_CONFIG);
  view.set("index", vq.index).set("max_size", vq.maxSize);
  call(fd, "VQ_SETUP", bytes);
}

/** A queue as VDUSE_VQ_GET_INFO reports it (addresses are IOVAs). */
export interface VqInfo {
  /** Queue index. */
  index: number;
  /** Size the driver chose (entries). */
  num: number;
  /** IOVA of the descriptor table. */
  descAddr: bigint;
  /** IOVA of the driver (avail) area. */
  driverAddr: bigint;
  /** IOVA of the device (used) area. */
  deviceAddr: bigint;
  /** Split ring: the avail index to resume from. */
  availIndex: number;
  /** The driver set the queue ready. */
  ready: boolean;
}

/** VDUSE_VQ_GET_INFO for queue `index`. */
export function vqGetInfo(fd: number, index: number): VqInfo {
  const { bytes, view } = struct(VDUSE_VQ_INFO);
  view.set("index", index);
  call(fd, "VQ_GET_INFO", bytes);
  return {
    index: view.get("index"),
    num: view.get("num"),
    descAddr: view.getBig("desc_addr"),
    driverAddr: view.getBig("driver_addr"),
    deviceAddr: view.getBig("device_addr"),
    availIndex: view.get("avail_index"),
    ready: view.get("ready") !== 0,
  };
}

/** One IOTLB region (`struct vduse_iotlb_entry`). */
export interface IotlbEntry {
  /** mmap offset in the returned fd. */
  offset: bigint;
  /** First IOVA of the region. */
  start: bigint;
  /** Last IOVA of the region (inclusive). */
  last: bigint;
  /** VDUSE_ACCESS_RO/WO/RW. */
  perm: number;
}

/** Decodes a `struct vduse_iotlb_entry`. */
export function decodeIotlbEntry(bytes: Uint8Array): IotlbEntry {
  const view = new StructView(VDUSE_IOTLB_ENTRY, bytes);
  return {
    offset: view.getBig("offset"),
    start: view.getBig("start"),
    last: view.getBig("last"),
    perm: view.get("perm"),
  };
}

/**
 * VDUSE_IOTLB_GET_FD: the first region overlapping [start, last] (EINVAL if
 * none) and a new fd to mmap it: map `last - start + 1` bytes at
 * `entry.offset`, then close the fd.
 */
export function iotlbGetFd(
  fd: number,
  range: { start: bigint; last: bigint },
): { fd: number; entry: IotlbEntry } {
  const { bytes, view } = struct(VDUSE_IOTLB_ENTRY);
  view.set("start", range.start).set("last", range.last);
  const mapFd = call(fd, "IOTLB_GET_FD", bytes);
  return { fd: mapFd, entry: decodeIotlbEntry(bytes) };
}

/** VDUSE_VQ_SETUP_KICKFD: kicks of queue `index` signal `eventFd` (-1 removes). */
export function vqSetupKickfd(
  fd: number,
  kick: { index: number; eventFd: number },
): void {
  const { bytes, view } = struct(VDUSE_VQ_EVENTFD);
  view.set("index", kick.index).set("fd", kick.eventFd);
  call(fd, "VQ_SETUP_KICKFD", bytes);
}

const irqArg = new Uint8Array(4);

/**
 * VDUSE_VQ_INJECT_IRQ: interrupts the driver of queue `index`. EINVAL until
 * the reply to DRIVER_OK has been written.
 */
export function vqInjectIrq(fd: number, index: number): void {
  new DataView(irqArg.buffer).setUint32(0, index, true);
  call(fd, "VQ_INJECT_IRQ", irqArg);
}

/** VDUSE_DEV_GET_FEATURES: the negotiated features (after FEATURES_OK). */
export function devGetFeatures(fd: number): bigint {
  const b = new Uint8Array(8);
  call(fd, "DEV_GET_FEATURES", b);
  return new DataView(b.buffer).getBigUint64(0, true);
}

/**
 * VDUSE_DEV_SET_CONFIG: writes `data` into the config space at `offset`
 * (mvnet's link state); EINVAL before the driver set DRIVER_OK.
 */
export function devSetConfig(
  fd: number,
  data: Uint8Array,
  options: { offset?: number } = {},
): void {
  const { bytes, view } = struct(VDUSE_CONFIG_DATA, data.length);
  view.set("offset", options.offset ?? 0).set("length", data.length);
  bytes.set(data, VDUSE_CONFIG_DATA.size);
  call(fd, "DEV_SET_CONFIG", bytes);
}

/**
 * VDUSE_DEV_INJECT_CONFIG_IRQ: tells the driver the config changed (after
 * {@linkcode devSetConfig}).
 */
export function devInjectConfigIrq(fd: number): void {
  call(fd, "DEV_INJECT_CONFIG_IRQ", null);
}

// ------------------------------------------------------------------ messages

/** A request read from the device fd, decoded by type. */
export type DevRequest =
  | { kind: "get_vq_state"; type: number; requestId: number; vqIndex: number }
  | { kind: "set_status"; type: number; requestId: number; status: number }
  | {
    kind: "update_iotlb";
    type: number;
    requestId: number;
    start: bigint;
    last: bigint;
  }
  | { kind: "unknown"; type: number; requestId: number };

/** Decodes a 152-byte `struct vduse_dev_request`. */
export function decodeRequest(bytes: Uint8Array): DevRequest {
  const v = new StructView(VDUSE_DEV_REQUEST, bytes);
  const type = v.get("type");
  const requestId = v.get("request_id");
  switch (type) {
    case VDUSE_REQ.GET_VQ_STATE:
      return {
        kind: "get_vq_state",
        type,
        requestId,
        vqIndex: v.get("vq_index"),
      };
    case VDUSE_REQ.SET_STATUS:
      return { kind: "set_status", type, requestId, status: v.get("status") };
    case VDUSE_REQ.UPDATE_IOTLB:
      return {
        kind: "update_iotlb",
        type,
        requestId,
        start: v.getBig("iova_start"),
        last: v.getBig("iova_last"),
      };
    default:
      return { kind: "unknown", type, requestId };
  }
}

/** A response to write to the device fd. */
export interface DevResponse {
  /** The request_id being answered. */
  requestId: number;
  /** VDUSE_REQ_RESULT_OK (0) or _FAILED (1). */
  result: number;
  /** GET_VQ_STATE: the queue index. */
  vqIndex?: number;
  /** GET_VQ_STATE (split ring): the avail index to resume from. */
  availIndex?: number;
}

/** Encodes a 152-byte `struct vduse_dev_response` (into `into` if given). */
export function encodeResponse(
  response: DevResponse,
  into?: Uint8Array<ArrayBuffer>,
): Uint8Array<ArrayBuffer> {
  const bytes = into ?? new Uint8Array(VDUSE_MSG_SIZE);
  bytes.fill(0, 0, VDUSE_MSG_SIZE);
  const v = new StructView(VDUSE_DEV_RESPONSE, bytes);
  v.set("request_id", response.requestId).set("result", response.result);
  if (response.vqIndex !== undefined) v.set("vq_index", response.vqIndex);
  if (response.availIndex !== undefined) {
    v.set("avail_index", response.availIndex);
  }
  return bytes;
}

/**
 * Reads one request from the device fd. Returns null when the fd is
 * non-blocking and no request is pending (EAGAIN); other errors throw.
 */
export function readRequest(
  fd: number,
  options: { buffer?: Uint8Array<ArrayBuffer> } = {},
): DevRequest | null {
  const buf = options.buffer ?? new Uint8Array(VDUSE_MSG_SIZE);
  try {
    const n = read(fd, buf);
    if (n !== VDUSE_MSG_SIZE) {
      throw new Error(
        `VDUSE request of ${n} bytes, expected ${VDUSE_MSG_SIZE}`,
      );
    }
  } catch (err) {
    if (errnoCode(err) === "EAGAIN") return null;
    throw err;
  }
  return decodeRequest(buf);
}

/** Writes one response (exactly 152 bytes) to the device fd. */
export function writeResponse(
  fd: number,
  response: DevResponse,
  options: { buffer?: Uint8Array<ArrayBuffer> } = {},
): void {
  const n = write(fd, encodeResponse(response, options.buffer));
  if (n !== VDUSE_MSG_SIZE) {
    throw new ErrnoError("write VDUSE response", 5 /* EIO: short write */);
  }
}
