/**
 * The vdpa bus in sysfs (`/sys/bus/vdpa`), read for one {@linkcode SysRoot}:
 * its devices, the driver each is bound to, and the virtio device that
 * virtio_vdpa made of it (status, negotiated features, netdev or disk).
 * Every reader of `/sys/bus/vdpa` goes through {@linkcode VdpaBus}.
 * Tolerant: what is not there reads as absent, never as an error.
 *
 * @module
 */

import type { SysRoot } from "../root.ts";
import { listDir, pathExists, readAttr } from "../sysfs_read.ts";
import { featureNames, VIRTIO_CONFIG_S } from "../virtio/mod.ts";

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

/** A device on the vdpa bus, as sysfs describes it. */
export interface VdpaBusDevice {
  /** vdpa device name. */
  name: string;
  /** Bound driver ("virtio_vdpa", "vhost_vdpa") or undefined. */
  driver?: string;
  /** The virtio device, when bound to virtio_vdpa. */
  virtio?: VirtioInfo;
}

/** What a vdpa device is bound to and what its driver made of it. */
export interface VdpaBinding {
  /** Bound driver ("virtio_vdpa", "vhost_vdpa") or undefined. */
  driver?: string;
  /** vhost_vdpa's character device, e.g. "/dev/vhost-vdpa-0". */
  vhostDev?: string;
  /** Network interfaces (virtio_vdpa + virtio_net). */
  netdevs: string[];
  /** Block devices (virtio_vdpa + virtio_blk). */
  disks: string[];
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

/** A read-only view of `/sys/bus/vdpa` under one root. */
export class VdpaBus {
  /** The root the bus is read under. */
  readonly root: SysRoot;
  /** `/sys/bus/vdpa/devices` under the root. */
  readonly devicesDir: string;
  /** `/sys/bus/vdpa/drivers` under the root. */
  readonly driversDir: string;

  /** Opens the bus under `root`. */
  constructor(root: SysRoot) {
    this.root = root;
    this.devicesDir = root.path("/sys/bus/vdpa/devices");
    this.driversDir = root.path("/sys/bus/vdpa/drivers");
  }

  /** The names of the vdpa devices, sorted; none without the bus. */
  deviceNames(): string[] {
    return listDir(this.devicesDir);
  }

  /** The sysfs directory of device `name` (whether or not it exists). */
  deviceDir(name: string): string {
    return `${this.devicesDir}/${name}`;
  }

  /** The sysfs directory of driver `driver` (whether or not it is loaded). */
  driverDir(driver: string): string {
    return `${this.driversDir}/${driver}`;
  }

  /** True when vdpa device `name` exists on the bus. */
  exists(name: string): boolean {
    return pathExists(this.deviceDir(name));
  }

  /** True when vdpa bus driver `driver` (e.g. "virtio_vdpa") is loaded. */
  hasDriver(driver: string): boolean {
    return pathExists(this.driverDir(driver));
  }

  /** The driver device `name` is bound to, or undefined (none, or no device). */
  driver(name: string): string | undefined {
    try {
      return Deno.readLinkSync(`${this.deviceDir(name)}/driver`).split("/")
        .pop();
    } catch {
      return undefined; // Not bound to a driver.
    }
  }

  /** Device `name` with its driver and virtio device, or null when absent. */
  device(name: string): VdpaBusDevice | null {
    if (!this.exists(name)) return null;
    const out: VdpaBusDevice = { name };
    const driver = this.driver(name);
    if (driver !== undefined) out.driver = driver;
    const v = this.#virtioNames(name)[0];
    if (v) out.virtio = this.#virtio(name, v);
    return out;
  }

  /** The driver binding of device `name` (empty when absent or unbound). */
  binding(name: string): VdpaBinding {
    const out: VdpaBinding = { netdevs: [], disks: [] };
    const driver = this.driver(name);
    if (driver !== undefined) out.driver = driver;
    const vhost = listDir(this.deviceDir(name))
      .find((e) => /^vhost-vdpa-\d+$/.test(e));
    if (vhost !== undefined) out.vhostDev = `/dev/${vhost}`;
    for (const v of this.#virtioNames(name)) {
      const vdir = `${this.deviceDir(name)}/${v}`;
      out.netdevs.push(...listDir(`${vdir}/net`));
      out.disks.push(...listDir(`${vdir}/block`));
    }
    return out;
  }

  /** The network interface of device `name`, if its driver made one. */
  netdev(name: string): string | undefined {
    // Not attached, or no virtio device or netdev yet: no entries.
    return this.#virtioNames(name)
      .flatMap((v) => listDir(`${this.deviceDir(name)}/${v}/net`))[0];
  }

  #virtioNames(name: string): string[] {
    return listDir(this.deviceDir(name)).filter((e) => /^virtio\d+$/.test(e));
  }

  #virtio(name: string, v: string): VirtioInfo {
    const vdir = `${this.deviceDir(name)}/${v}`;
    const deviceId = parseInt(readAttr(`${vdir}/device`) ?? "0", 16);
    const status = parseInt(readAttr(`${vdir}/status`) ?? "0", 16);
    const features = parseFeatureString(readAttr(`${vdir}/features`) ?? "");
    return {
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
}
