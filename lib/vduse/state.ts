/**
 * What the system says about VDUSE devices, read without disturbing them:
 * `/sys/class/vduse/NAME` (the device, its queues, `bounce_size`,
 * `msg_timeout`), `/sys/bus/vdpa/devices/NAME` (the vdpa device attached, its
 * driver and virtio device: negotiated features, status, netdev or disk),
 * `/proc/PID/fd` (the processes that hold `/dev/vduse/NAME`: the daemon
 * serving it), and the record `vduse create` leaves in `/run/vdevctl/vduse`
 * (the kernel exposes neither the offered features, nor the config space,
 * nor the queue sizes). Also the sysfs writes of `vduse set`.
 *
 * Every path goes through {@linkcode SysRoot}.
 *
 * @module
 */

import { atomicWriteFileSync } from "../atomic_write.ts";
import { listDir, pathExists, readAttr } from "../sysfs_read.ts";
import { errnoCode, messageOf, VdevError } from "../errors.ts";
import { cpuMask, parseCpuMask, requireOnline } from "../cpu_list.ts";
import type { SysRoot } from "../root.ts";
import {
  decodeConfig,
  type DecodedConfig,
  type DeviceSpec,
  typeOfDeviceId,
  type VduseType,
} from "./spec.ts";
import { featureNames, VIRTIO_CONFIG_S } from "../virtio/mod.ts";
import { VDUSE_CLASS_DIR, VDUSE_DEV_DIR } from "./device.ts";

/** Where `vduse create` records what it created (tmpfs: gone on reboot). */
export const VDUSE_RECORD_DIR = "/run/vdevctl/vduse";

/** The vdpa bus device directory. */
export const VDPA_DEVICES_DIR = "/sys/bus/vdpa/devices";

/** Smallest and largest bounce buffer the kernel accepts (bytes). */
export const BOUNCE_SIZE_RANGE = { min: 1 << 20, max: 1 << 30 } as const;

/** What `vduse create` remembers about a device it created. */
export interface VduseRecord {
  /** Device name. */
  name: string;
  /** Device type. */
  type: VduseType;
  /** Virtio device id. */
  deviceId: number;
  /** Offered features. */
  features: bigint;
  /** Maximum size of each virtqueue. */
  queueSizes: number[];
  /** The initial config space. */
  config: Uint8Array;
  /** When it was created (ISO 8601). */
  created: string;
}

function recordPath(root: SysRoot, name: string): string {
  return root.path(`${VDUSE_RECORD_DIR}/${name}.json`);
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function unhex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** Records a created device (atomic write, mode 0600). */
export function writeRecord(root: SysRoot, spec: DeviceSpec): void {
  Deno.mkdirSync(root.path(VDUSE_RECORD_DIR), { recursive: true });
  const json = {
    name: spec.name,
    type: spec.type,
    device_id: spec.deviceId,
    features: `0x${spec.features.toString(16)}`,
    queue_sizes: spec.queueSizes,
    config: hex(spec.config),
    created: new Date().toISOString(),
  };
  atomicWriteFileSync(
    recordPath(root, spec.name),
    JSON.stringify(json, null, 2) + "\n",
    { mode: 0o600 },
  );
}

/** The record of `name`, or undefined (none, or unreadable). */
export function readRecord(
  root: SysRoot,
  name: string,
): VduseRecord | undefined {
  try {
    const j = JSON.parse(Deno.readTextFileSync(recordPath(root, name)));
    const type = typeOfDeviceId(j.device_id);
    if (j.name !== name || !type || !Array.isArray(j.queue_sizes)) {
      return undefined;
    }
    return {
      name,
      type,
      deviceId: j.device_id,
      features: BigInt(j.features),
      queueSizes: j.queue_sizes.map(Number),
      config: unhex(String(j.config)),
      created: String(j.created),
    };
  } catch {
    return undefined;
  }
}

/** Removes the record of `name` (no error if there is none). */
export function removeRecord(root: SysRoot, name: string): void {
  try {
    Deno.removeSync(recordPath(root, name));
  } catch (err) {
    if (errnoCode(err) !== "ENOENT" && !(err instanceof Deno.errors.NotFound)) {
      throw err;
    }
  }
}

/** True when the vduse module is loaded (`/dev/vduse/control` exists). */
export function vduseLoaded(root: SysRoot): boolean {
  return pathExists(root.path(`${VDUSE_DEV_DIR}/control`)) ||
    pathExists(root.path(`${VDUSE_CLASS_DIR}/control`));
}

/** Names of the VDUSE devices (`/sys/class/vduse`, without `control`). */
export function listNames(root: SysRoot): string[] {
  return listDir(root.path(VDUSE_CLASS_DIR)).filter((n) => n !== "control");
}

/** True when VDUSE device `name` exists. */
export function deviceExists(root: SysRoot, name: string): boolean {
  return name !== "control" &&
    pathExists(root.path(`${VDUSE_CLASS_DIR}/${name}`));
}

/** Number of virtqueues (the `vqN` directories of the class device). */
export function queueCount(root: SysRoot, name: string): number {
  return listDir(root.path(`${VDUSE_CLASS_DIR}/${name}`))
    .filter((e) => /^vq\d+$/.test(e)).length;
}

/** A process that holds `/dev/vduse/NAME` open. */
export interface Holder {
  /** Process id. */
  pid: number;
  /** Its command name (`/proc/PID/comm`). */
  comm: string;
}

/** The processes holding `/dev/vduse/NAME` open (scans `/proc/PID/fd`). */
export function holders(root: SysRoot, name: string): Holder[] {
  const target = `${VDUSE_DEV_DIR}/${name}`;
  const out: Holder[] = [];
  for (const pid of listDir(root.path("/proc"))) {
    if (!/^\d+$/.test(pid)) continue;
    const fdDir = root.path(`/proc/${pid}/fd`);
    for (const fd of listDir(fdDir)) {
      let link: string;
      try {
        link = Deno.readLinkSync(`${fdDir}/${fd}`);
      } catch {
        continue;
      }
      if (link === target) {
        out.push({
          pid: Number(pid),
          comm: readAttr(root.path(`/proc/${pid}/comm`)) ?? "?",
        });
        break;
      }
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/** The virtio device a vdpa device is bound to (virtio_vdpa). */
export interface VirtioInfo {
  /** e.g. "virtio3". */
  name: string;
  /** Virtio device id. */
  deviceId: number;
  /** Device status byte. */
  status: number;
  /** Status bit names ("ACKNOWLEDGE", "DRIVER", "FEATURES_OK", "DRIVER_OK"). */
  statusNames: string[];
  /** Negotiated features. */
  features: bigint;
  /** Their names. */
  featureNames: string[];
  /** Network interfaces (net). */
  netdevs: string[];
  /** Block devices (blk). */
  disks: string[];
}

/** A vdpa device attached to a VDUSE device. */
export interface VdpaAttachment {
  /** vdpa device name (equal to the VDUSE name). */
  name: string;
  /** Bound driver ("virtio_vdpa", "vhost_vdpa") or undefined. */
  driver?: string;
  /** The virtio device, when bound to virtio_vdpa. */
  virtio?: VirtioInfo;
}

/** Decodes a virtio status byte into bit names. */
export function statusNames(status: number): string[] {
  return Object.entries(VIRTIO_CONFIG_S).filter(([, bit]) => status & bit)
    .map(([n]) => n);
}

/** Parses a virtio sysfs `features` file ("0110..."; char i is bit i). */
export function parseFeatureString(text: string): bigint {
  let f = 0n;
  for (let i = 0; i < text.length && i < 64; i++) {
    if (text[i] === "1") f |= 1n << BigInt(i);
  }
  return f;
}

/** The vdpa device attached to VDUSE device `name`, or null. */
export function attachment(
  root: SysRoot,
  name: string,
): VdpaAttachment | null {
  const dir = root.path(`${VDPA_DEVICES_DIR}/${name}`);
  if (!pathExists(dir)) return null;
  const out: VdpaAttachment = { name };
  try {
    out.driver = Deno.readLinkSync(`${dir}/driver`).split("/").pop();
  } catch {
    // Not bound to a driver.
  }
  const v = listDir(dir).find((e) => /^virtio\d+$/.test(e));
  if (v) {
    const vdir = `${dir}/${v}`;
    const deviceId = parseInt(readAttr(`${vdir}/device`) ?? "0", 16);
    const status = parseInt(readAttr(`${vdir}/status`) ?? "0", 16);
    const features = parseFeatureString(readAttr(`${vdir}/features`) ?? "");
    out.virtio = {
      name: v,
      deviceId,
      status,
      statusNames: statusNames(status),
      features,
      featureNames: featureNames(features, deviceId),
      netdevs: listDir(`${vdir}/net`),
      disks: listDir(`${vdir}/block`),
    };
  }
  return out;
}

/** A queue as `vduse show` reports it. */
export interface QueueInfo {
  /** Queue index. */
  index: number;
  /** Maximum size given at creation (from the record). */
  maxSize?: number;
  /** CPUs its interrupt callback runs on (sysfs `irq_cb_affinity`). */
  irqCpus?: number[];
  /** Live state (VQ_GET_INFO), when it could be read. */
  state?: {
    num: number;
    ready: boolean;
    availIndex: number;
    descAddr: bigint;
    driverAddr: bigint;
    deviceAddr: bigint;
  };
}

/** Everything `vduse show` reports about one device. */
export interface VduseInfo {
  /** Device name. */
  name: string;
  /** Character device "major:minor". */
  dev?: string;
  /** Device type, if known (record, or the attached virtio device). */
  type?: VduseType;
  /** Virtio device id, if known. */
  deviceId?: number;
  /** Offered features (record) and their names. */
  features?: bigint;
  /** Names of `features`. */
  featureNames?: string[];
  /** Config space at creation, decoded (record). */
  config?: DecodedConfig;
  /** Whether the device was created by vdevctl (a record exists). */
  recorded: boolean;
  /**
   * Where features, config and queue sizes come from: the record of
   * `vduse create`, the vdpa netlink family (attached devices without a
   * record; queue max sizes are then the largest one), or nowhere.
   */
  source: "record" | "vdpa" | "none";
  /** The queues. */
  queues: QueueInfo[];
  /** Bounce buffer size in bytes (sysfs). */
  bounceSize?: number;
  /** Seconds each message waits for the daemon (sysfs; 0 = forever). */
  msgTimeout?: number;
  /** The vdpa device attached, or null. */
  vdpa: VdpaAttachment | null;
  /** The processes holding the device fd (the daemon serving it). */
  daemon: Holder[];
  /**
   * "served" (a process holds the fd), "unserved" (nobody does), or
   * "broken" (a message timed out; the kernel refuses its ioctls).
   */
  state: "served" | "unserved" | "broken";
}

/** What the vdpa netlink family reports about an attached device. */
export interface KernelView {
  /** Virtio device id. */
  deviceId?: number;
  /** The largest max size of the queues (vdpa `max_vq_size`). */
  maxVqSize?: number;
  /** Offered features (vdpa `dev config show`, DEV_FEATURES). */
  features?: bigint;
  /** Config space, decoded. */
  config?: DecodedConfig;
}

/** Live queue state, read by opening the device (when nobody holds it). */
export type QueueProbe = (
  name: string,
  vqNum: number,
) => { queues: QueueInfo["state"][] } | "busy" | "broken";

/** Collects {@linkcode VduseInfo} for `name` (VdevError if it does not exist). */
export function inspect(
  root: SysRoot,
  name: string,
  options: {
    probe?: QueueProbe;
    kernelView?: (name: string) => KernelView | undefined;
  } = {},
): VduseInfo {
  if (!deviceExists(root, name)) throw noDevice(root, name);
  const cls = root.path(`${VDUSE_CLASS_DIR}/${name}`);
  const vqNum = queueCount(root, name);
  let record = readRecord(root, name);
  if (record && record.queueSizes.length !== vqNum) record = undefined; // stale
  const vdpa = attachment(root, name);
  const daemon = holders(root, name);
  const view = !record && vdpa && options.kernelView
    ? options.kernelView(name)
    : undefined;
  const deviceId = record?.deviceId ?? view?.deviceId ??
    vdpa?.virtio?.deviceId;
  const affinity = irqAffinity(root, name);
  const info: VduseInfo = {
    name,
    dev: readAttr(`${cls}/dev`),
    type: deviceId === undefined ? undefined : typeOfDeviceId(deviceId),
    deviceId,
    recorded: record !== undefined,
    source: record ? "record" : view ? "vdpa" : "none",
    queues: Array.from({ length: vqNum }, (_, index) => {
      const maxSize = record?.queueSizes[index] ?? view?.maxVqSize;
      const irqCpus = affinity[index];
      return {
        index,
        ...(maxSize === undefined ? {} : { maxSize }),
        ...(irqCpus === undefined ? {} : { irqCpus }),
      };
    }),
    bounceSize: numberOr(readAttr(`${cls}/bounce_size`)),
    msgTimeout: numberOr(readAttr(`${cls}/msg_timeout`)),
    vdpa,
    daemon,
    state: daemon.length > 0 ? "served" : "unserved",
  };
  if (record) {
    info.features = record.features;
    info.featureNames = featureNames(record.features, record.deviceId);
    info.config = decodeConfig(
      record.deviceId,
      record.config,
      record.features,
    );
  } else if (view) {
    if (view.features !== undefined) {
      info.features = view.features;
      info.featureNames = featureNames(view.features, deviceId ?? 0);
    }
    if (view.config) info.config = view.config;
  }
  if (daemon.length === 0 && options.probe) {
    const probed = options.probe(name, vqNum);
    if (probed === "broken") info.state = "broken";
    else if (probed === "busy") info.state = "served";
    else {
      probed.queues.forEach((s, i) => {
        if (s && info.queues[i]) info.queues[i].state = s;
      });
    }
  }
  return info;
}

function numberOr(text: string | undefined): number | undefined {
  return text === undefined || !/^\d+$/.test(text) ? undefined : Number(text);
}

/** The error for a VDUSE device that does not exist. */
export function noDevice(root: SysRoot, name: string): VdevError {
  if (!vduseLoaded(root)) return moduleMissing();
  return new VdevError(
    `no VDUSE device named ${name} (see vdevctl vduse list)`,
  );
}

/** The error for a kernel without the vduse module loaded. */
export function moduleMissing(cause?: unknown): VdevError {
  return new VdevError(
    "VDUSE is not available: /dev/vduse/control is missing; load it with modprobe vduse",
    { cause },
  );
}

/**
 * Writes `bounce_size`, `msg_timeout` and/or the queues' interrupt CPUs
 * ({@linkcode setIrqAffinity}) of `name` through sysfs, every value checked
 * before any is written, and returns the values read back (the kernel rounds
 * the bounce size down to a page).
 */
export function setAttributes(
  root: SysRoot,
  name: string,
  values: {
    bounceSize?: bigint;
    msgTimeout?: number;
    irq?: { cpus: readonly number[]; queues?: readonly number[] };
  },
): {
  bounceSize?: number;
  msgTimeout?: number;
  irq?: { queue: number; cpus: number[] }[];
} {
  if (!deviceExists(root, name)) throw noDevice(root, name);
  // Refuse bad interrupt CPUs before changing anything.
  if (values.irq) checkIrqAffinity(root, name, values.irq);
  const cls = root.path(`${VDUSE_CLASS_DIR}/${name}`);
  if (values.bounceSize !== undefined) {
    const b = values.bounceSize;
    if (
      b < BigInt(BOUNCE_SIZE_RANGE.min) || b > BigInt(BOUNCE_SIZE_RANGE.max)
    ) {
      throw new VdevError(
        `bad --bounce-size ${b} for ${name}: must be between 1 MiB and 1 GiB`,
      );
    }
    if (b % 4096n !== 0n) {
      throw new VdevError(
        `bad --bounce-size ${b} for ${name}: must be a multiple of the 4096-byte page`,
      );
    }
  }
  if (
    values.msgTimeout !== undefined &&
    (!Number.isInteger(values.msgTimeout) || values.msgTimeout < 0 ||
      values.msgTimeout > 0xffffffff)
  ) {
    throw new VdevError(
      `bad --msg-timeout ${values.msgTimeout} for ${name}: whole seconds, 0 to wait forever`,
    );
  }
  if (values.bounceSize !== undefined) {
    try {
      Deno.writeTextFileSync(`${cls}/bounce_size`, `${values.bounceSize}\n`);
    } catch (err) {
      if (errnoCode(err) === "EPERM") {
        throw new VdevError(
          `cannot change the bounce size of ${name}: it is fixed once the device has been attached to vDPA (its IOVA domain lives until the device is destroyed); destroy and recreate it`,
          { cause: err },
        );
      }
      throw sysfsError(name, "bounce_size", err);
    }
  }
  if (values.msgTimeout !== undefined) {
    try {
      Deno.writeTextFileSync(`${cls}/msg_timeout`, `${values.msgTimeout}\n`);
    } catch (err) {
      throw sysfsError(name, "msg_timeout", err);
    }
  }
  const irq = values.irq ? setIrqAffinity(root, name, values.irq) : undefined;
  return {
    bounceSize: numberOr(readAttr(`${cls}/bounce_size`)),
    msgTimeout: numberOr(readAttr(`${cls}/msg_timeout`)),
    ...(irq ? { irq } : {}),
  };
}

/**
 * Sets the CPUs that the interrupt callbacks of `name`'s queues run on
 * (`vqN/irq_cb_affinity`, Linux 6.8+; all queues unless `queues` is given).
 * The kernel runs each callback (the driver's interrupt handler, and so its
 * NAPI poll) in a work item on one CPU of the mask, rotating through the
 * mask on every interrupt; a single CPU keeps a queue's interrupt work in
 * one place, as a NIC's MSI-X vector does. The driver sets its own mask
 * whenever it (re)probes, so a daemon re-applies this at every DRIVER_OK.
 * Returns the masks read back, per queue written.
 */
export function setIrqAffinity(
  root: SysRoot,
  name: string,
  options: { cpus: readonly number[]; queues?: readonly number[] },
): { queue: number; cpus: number[] }[] {
  const queues = checkIrqAffinity(root, name, options);
  const cls = root.path(`${VDUSE_CLASS_DIR}/${name}`);
  const mask = cpuMask(options.cpus);
  const before = irqAffinity(root, name);
  const written: number[] = [];
  const write = (q: number, text: string) =>
    Deno.writeTextFileSync(`${cls}/vq${q}/irq_cb_affinity`, `${text}\n`, {
      create: false,
    });
  for (const q of queues) {
    try {
      write(q, mask);
      written.push(q);
    } catch (err) {
      // All queues or none: put back the masks already changed.
      for (const w of written) {
        const old = before[w];
        if (old !== undefined) {
          try {
            write(w, cpuMask(old));
          } catch {
            // Reported with the original failure below.
          }
        }
      }
      if (errnoCode(err) === "ENOENT") {
        throw new VdevError(
          `cannot set the interrupt CPUs of ${name}: this kernel has no ${VDUSE_CLASS_DIR}/${name}/vq${q}/irq_cb_affinity (Linux 6.8 or later)`,
          { cause: err },
        );
      }
      throw sysfsError(name, `vq${q}/irq_cb_affinity`, err);
    }
  }
  const after = irqAffinity(root, name);
  return queues.map((q) => ({ queue: q, cpus: after[q] ?? [...options.cpus] }));
}

/**
 * Checks what {@linkcode setIrqAffinity} would write without writing it (the
 * device exists, the CPUs are online, the queues exist); returns the queues.
 */
function checkIrqAffinity(
  root: SysRoot,
  name: string,
  options: { cpus: readonly number[]; queues?: readonly number[] },
): number[] {
  if (!deviceExists(root, name)) throw noDevice(root, name);
  if (options.cpus.length === 0) {
    throw new VdevError(`bad --irq-cpus for ${name}: no CPU given`);
  }
  requireOnline(root, options.cpus, { what: `--irq-cpus for ${name}` });
  const count = queueCount(root, name);
  const queues = options.queues ?? Array.from({ length: count }, (_, i) => i);
  const bad = queues.find((q) => !Number.isInteger(q) || q < 0 || q >= count);
  if (bad !== undefined) {
    throw new VdevError(
      `bad --queue ${bad} for ${name}: it has queues 0 to ${count - 1}`,
    );
  }
  return [...queues];
}

/** The interrupt CPUs of every queue of `name` (undefined where unknown). */
export function irqAffinity(
  root: SysRoot,
  name: string,
): (number[] | undefined)[] {
  const cls = root.path(`${VDUSE_CLASS_DIR}/${name}`);
  return Array.from({ length: queueCount(root, name) }, (_, q) => {
    const text = readAttr(`${cls}/vq${q}/irq_cb_affinity`);
    if (text === undefined) return undefined;
    try {
      return parseCpuMask(text);
    } catch {
      return undefined;
    }
  });
}

function sysfsError(name: string, attr: string, err: unknown): VdevError {
  const code = errnoCode(err);
  if (code === "EACCES" || code === "EPERM") {
    return new VdevError(
      `cannot write ${attr} of VDUSE device ${name}: permission denied (run as root)`,
      { cause: err },
    );
  }
  return new VdevError(
    `cannot write ${attr} of VDUSE device ${name}: ${messageOf(err)}`,
    { cause: err },
  );
}

/** One line per device for `vduse list`. */
export interface VduseSummary {
  /** Device name. */
  name: string;
  /** Type if known. */
  type?: VduseType;
  /** Number of virtqueues. */
  queues: number;
  /** Attached vdpa device name, or null. */
  vdpa: string | null;
  /** Processes holding the device fd. */
  daemon: Holder[];
}

/** The VDUSE devices, summarized (sysfs, /proc and records only). */
export function listDevices(root: SysRoot): VduseSummary[] {
  return listNames(root).map((name) => {
    const vqNum = queueCount(root, name);
    const record = readRecord(root, name);
    const vdpa = attachment(root, name);
    const deviceId = (record && record.queueSizes.length === vqNum)
      ? record.deviceId
      : vdpa?.virtio?.deviceId;
    return {
      name,
      type: deviceId === undefined ? undefined : typeOfDeviceId(deviceId),
      queues: vqNum,
      vdpa: vdpa ? vdpa.name : null,
      daemon: holders(root, name),
    };
  });
}
