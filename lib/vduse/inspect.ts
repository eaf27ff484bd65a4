/**
 * What `vduse list` and `vduse show` report about VDUSE devices, gathered
 * without disturbing them: sysfs ({@linkcode VduseSysfs}), the vdpa bus
 * ({@linkcode VdpaBus}: the vdpa device attached, its driver and virtio
 * device), the processes holding the device fd, and the record of
 * `vduse create` ({@linkcode VduseRecords}), with the vdpa netlink family and
 * a queue probe as optional fallbacks.
 *
 * @module
 */

import type { SysRoot } from "../root.ts";
import {
  decodeConfig,
  type DecodedConfig,
  featureNames,
} from "../virtio/mod.ts";
import { VdpaBus, type VdpaBusDevice } from "../vdpa/mod.ts";
import { typeOfDeviceId, type VduseType } from "./spec.ts";
import { VduseSysfs } from "./sysfs.ts";
import { VduseRecords } from "./record.ts";
import { type Holder, holders } from "./holders.ts";

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
  vdpa: VdpaBusDevice | null;
  /** The processes holding the device fd (the daemon serving it). */
  daemon: Holder[];
  /**
   * "served" (a process holds the fd), "unserved" (nobody does), or
   * "broken" (a message timed out; the kernel refuses its ioctls).
   */
  state: "served" | "unserved" | "broken";
  /**
   * What the serving daemon reports about the device (mvnet's control
   * socket: link, driver status, counters), filled in by the caller.
   */
  daemonReport?: { summary: string; report: Record<string, unknown> };
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

/** Options of {@linkcode inspect}. */
export interface InspectOptions {
  /** The system root. */
  root: SysRoot;
  /** Reads the live queue state when no daemon holds the device. */
  probe?: QueueProbe;
  /** Asks the vdpa netlink family about attached devices without a record. */
  kernelView?: (name: string) => KernelView | undefined;
}

/** Collects {@linkcode VduseInfo} for `name` (VdevError if it does not exist). */
export function inspect(name: string, options: InspectOptions): VduseInfo {
  const { root } = options;
  const sysfs = new VduseSysfs(root);
  if (!sysfs.exists(name)) throw sysfs.noDevice(name);
  const vqNum = sysfs.queueCount(name);
  let record = new VduseRecords(root).read(name);
  if (record && record.queueSizes.length !== vqNum) record = undefined; // stale
  const vdpa = new VdpaBus(root).device(name);
  const daemon = holders(name, { root });
  const view = !record && vdpa && options.kernelView
    ? options.kernelView(name)
    : undefined;
  const deviceId = record?.deviceId ?? view?.deviceId ??
    vdpa?.virtio?.deviceId;
  const affinity = sysfs.irqAffinity(name);
  const info: VduseInfo = {
    name,
    dev: sysfs.attr(name, "dev"),
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
    bounceSize: sysfs.bounceSize(name),
    msgTimeout: sysfs.msgTimeout(name),
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
export function listDevices(options: { root: SysRoot }): VduseSummary[] {
  const { root } = options;
  const sysfs = new VduseSysfs(root);
  const records = new VduseRecords(root);
  const bus = new VdpaBus(root);
  return sysfs.names().map((name) => {
    const vqNum = sysfs.queueCount(name);
    const record = records.read(name);
    const vdpa = bus.device(name);
    const deviceId = (record && record.queueSizes.length === vqNum)
      ? record.deviceId
      : vdpa?.virtio?.deviceId;
    return {
      name,
      type: deviceId === undefined ? undefined : typeOfDeviceId(deviceId),
      queues: vqNum,
      vdpa: vdpa ? vdpa.name : null,
      daemon: holders(name, { root }),
    };
  });
}
