/**
 * What a VDUSE device is made of, decided and checked before the kernel sees
 * it: the command-line options of `vduse create` become a
 * {@linkcode DeviceSpec} (virtio device id, offered features, queue count and
 * sizes, encoded config space), and every combination that the kernel or the
 * virtio driver would refuse, or that would make a device no driver can use,
 * is refused here with the reason. The config space itself is encoded by
 * `lib/virtio/config.ts`.
 *
 * Pure: no system access.
 *
 * @module
 */

import { VdevError } from "../errors.ts";
import { parseUnicastMac } from "../mac.ts";
import {
  encodeBlkConfig,
  encodeNetConfig,
  featureBit,
  hasFeature,
  VIRTIO_BLK_F,
  VIRTIO_F,
  VIRTIO_ID,
  VIRTIO_NET_F,
} from "../virtio/mod.ts";
import { VDUSE_NAME_MAX } from "./uapi.ts";
import type { DevConfig } from "./device.ts";

/** The device types `vduse create` makes. */
export type VduseType = "net" | "blk";

/** Virtio device id of each type. */
export const DEVICE_ID: Readonly<Record<VduseType, number>> = {
  net: VIRTIO_ID.NET,
  blk: VIRTIO_ID.BLOCK,
};

/** The type of a virtio device id, if VDUSE supports it. */
export function typeOfDeviceId(deviceId: number): VduseType | undefined {
  if (deviceId === VIRTIO_ID.NET) return "net";
  if (deviceId === VIRTIO_ID.BLOCK) return "blk";
  return undefined;
}

/** Default size of every virtqueue. */
export const DEFAULT_QUEUE_SIZE = 256;

/** Largest split virtqueue the virtio spec allows. */
export const MAX_QUEUE_SIZE = 32768;

/** Default capacity of a block device (1 GiB). */
export const DEFAULT_CAPACITY: bigint = 1n << 30n;

/** Largest number of block request queues accepted. */
export const MAX_BLK_QUEUES = 256;

/** The options of `vduse create` (already split into values). */
export interface CreateOptions {
  /** "net" or "blk" (anything else is refused). */
  type: string;
  /** net: the MAC address, e.g. "52:54:00:12:34:56" (sets MAC). */
  mac?: string;
  /** net: the MTU (sets MTU). */
  mtu?: number;
  /** net: queue pairs (only 1); blk: request queues (>1 sets MQ). */
  queues?: number;
  /** Maximum size of every virtqueue (power of two). */
  queueSize?: number;
  /** The offered feature word, replacing the defaults. */
  features?: bigint;
  /** blk: capacity in bytes (a multiple of 512). */
  capacity?: bigint;
}

/** A device ready to be created: what CREATE_DEV and VQ_SETUP need. */
export interface DeviceSpec {
  /** The VDUSE (and vdpa) device name. */
  name: string;
  /** Device type. */
  type: VduseType;
  /** Virtio device id. */
  deviceId: number;
  /** Offered features. */
  features: bigint;
  /** Maximum size of each virtqueue, by index (length = vq_num). */
  queueSizes: number[];
  /** The encoded config space. */
  config: Uint8Array<ArrayBuffer>;
}

/** The features a net device offers unless `--features` is given. */
export const NET_DEFAULT_FEATURES: bigint = featureBit(VIRTIO_F.VERSION_1) |
  featureBit(VIRTIO_F.ACCESS_PLATFORM) | featureBit(VIRTIO_NET_F.STATUS);

/** The features a block device offers unless `--features` is given. */
export const BLK_DEFAULT_FEATURES: bigint = featureBit(VIRTIO_F.VERSION_1) |
  featureBit(VIRTIO_F.ACCESS_PLATFORM);

/**
 * net features that need the control virtqueue (virtio_net refuses to probe
 * a device offering them without CTRL_VQ, and VDUSE refuses CTRL_VQ).
 */
const NEEDS_CTRL_VQ = [
  "MQ",
  "CTRL_RX",
  "CTRL_VLAN",
  "CTRL_RX_EXTRA",
  "GUEST_ANNOUNCE",
  "CTRL_MAC_ADDR",
  "CTRL_GUEST_OFFLOADS",
  "RSS",
  "HASH_REPORT",
  "NOTF_COAL",
  "VQ_NOTF_COAL",
] as const;

const encoder = new TextEncoder();

/** Refuses names the kernel or sysfs cannot take; returns the name. */
export function validateName(name: string): string {
  const bytes = encoder.encode(name).length;
  if (bytes === 0) throw new VdevError("a VDUSE device name cannot be empty");
  if (bytes >= VDUSE_NAME_MAX) {
    throw new VdevError(
      `VDUSE device name "${name.slice(0, 32)}..." is ${bytes} bytes: at most ${
        VDUSE_NAME_MAX - 1
      }`,
    );
  }
  // deno-lint-ignore no-control-regex
  if (/[\s/\x00-\x1f\x7f]/.test(name) || name === "." || name === "..") {
    throw new VdevError(
      `bad VDUSE device name "${name}": no '/', spaces or control characters`,
    );
  }
  if (name === "control") {
    throw new VdevError(
      `"control" is /dev/vduse/control, not a device name: choose another name`,
    );
  }
  return name;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function bitLabel(name: string, bit: number): string {
  return `${name} (bit ${bit})`;
}

function refuse(name: string, why: string): never {
  throw new VdevError(`cannot create VDUSE device ${name}: ${why}`);
}

/** Checks an offered feature word for a device type; throws the reason. */
export function checkFeatures(
  name: string,
  type: VduseType,
  features: bigint,
): void {
  if (!hasFeature(features, VIRTIO_F.ACCESS_PLATFORM)) {
    refuse(
      name,
      `features must include ${
        bitLabel("ACCESS_PLATFORM", VIRTIO_F.ACCESS_PLATFORM)
      }: VDUSE devices are only reachable through their IOTLB`,
    );
  }
  if (type === "net") {
    if (!hasFeature(features, VIRTIO_F.VERSION_1)) {
      refuse(
        name,
        `a VDUSE net device must offer ${
          bitLabel("VERSION_1", VIRTIO_F.VERSION_1)
        } (the kernel refuses legacy virtio-net)`,
      );
    }
    if (hasFeature(features, VIRTIO_NET_F.CTRL_VQ)) {
      refuse(
        name,
        `${
          bitLabel("CTRL_VQ", VIRTIO_NET_F.CTRL_VQ)
        } is not possible: VDUSE net devices have no control virtqueue`,
      );
    }
    for (const f of NEEDS_CTRL_VQ) {
      const bit = VIRTIO_NET_F[f];
      if (hasFeature(features, bit)) {
        refuse(
          name,
          `${
            bitLabel(f, bit)
          } needs the control virtqueue, which VDUSE net devices cannot have${
            f === "MQ" ? " (virtio_net would refuse to probe the device)" : ""
          }`,
        );
      }
    }
  } else {
    if (hasFeature(features, VIRTIO_BLK_F.CONFIG_WCE)) {
      refuse(
        name,
        `${
          bitLabel("CONFIG_WCE", VIRTIO_BLK_F.CONFIG_WCE)
        } is not possible: VDUSE config spaces are read-only`,
      );
    }
  }
}

/**
 * Turns `vduse create` options into a device spec, refusing (VdevError with
 * the reason) everything the kernel or the virtio driver would reject.
 */
export function buildSpec(name: string, options: CreateOptions): DeviceSpec {
  validateName(name);
  if (options.type !== "net" && options.type !== "blk") {
    refuse(name, `unknown --type "${options.type}": use net or blk`);
  }
  const type: VduseType = options.type;
  const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
  if (!isPowerOfTwo(queueSize) || queueSize > MAX_QUEUE_SIZE) {
    refuse(
      name,
      `--queue-size ${queueSize} is not a power of two between 1 and ${MAX_QUEUE_SIZE}`,
    );
  }
  const queues = options.queues ?? 1;
  if (!Number.isInteger(queues) || queues < 1) {
    refuse(name, `--queues ${queues} must be at least 1`);
  }
  let features: bigint;
  let config: Uint8Array<ArrayBuffer>;
  let vqNum: number;
  if (type === "net") {
    if (options.capacity !== undefined) {
      refuse(name, "--capacity is for --type blk");
    }
    if (queues !== 1) {
      refuse(
        name,
        `--queues ${queues}: a VDUSE net device has one queue pair (more need MQ and a control virtqueue, which VDUSE cannot provide)`,
      );
    }
    features = options.features ?? NET_DEFAULT_FEATURES;
    const mac = options.mac === undefined
      ? undefined
      : parseUnicastMac(options.mac);
    if (mac) features |= featureBit(VIRTIO_NET_F.MAC);
    else if (hasFeature(features, VIRTIO_NET_F.MAC)) {
      refuse(
        name,
        "the features include MAC (bit 5): give the address with --mac",
      );
    }
    if (options.mtu !== undefined) {
      if (
        !Number.isInteger(options.mtu) || options.mtu < 68 ||
        options.mtu > 65535
      ) {
        refuse(name, `--mtu ${options.mtu} must be between 68 and 65535`);
      }
      features |= featureBit(VIRTIO_NET_F.MTU);
    } else if (hasFeature(features, VIRTIO_NET_F.MTU)) {
      refuse(name, "the features include MTU (bit 3): give the MTU with --mtu");
    }
    checkFeatures(name, type, features);
    config = encodeNetConfig({ mac, mtu: options.mtu });
    vqNum = 2; // receiveq1, transmitq1
  } else {
    if (options.mac !== undefined || options.mtu !== undefined) {
      refuse(name, "--mac and --mtu are for --type net");
    }
    if (queues > MAX_BLK_QUEUES) {
      refuse(
        name,
        `--queues ${queues}: at most ${MAX_BLK_QUEUES} for a block device`,
      );
    }
    features = options.features ?? BLK_DEFAULT_FEATURES;
    if (queues > 1) features |= featureBit(VIRTIO_BLK_F.MQ);
    checkFeatures(name, type, features);
    const capacity = options.capacity ?? DEFAULT_CAPACITY;
    if (capacity % 512n !== 0n) {
      refuse(name, `--capacity ${capacity} is not a multiple of 512 bytes`);
    }
    config = encodeBlkConfig({ capacity, numQueues: queues });
    vqNum = queues;
  }
  return {
    name,
    type,
    deviceId: DEVICE_ID[type],
    features,
    queueSizes: Array.from({ length: vqNum }, () => queueSize),
    config,
  };
}

/** The CREATE_DEV argument of a spec (vq_align 4096, vendor id 0). */
export function toDevConfig(spec: DeviceSpec): DevConfig {
  return {
    name: spec.name,
    deviceId: spec.deviceId,
    vendorId: 0,
    features: spec.features,
    vqNum: spec.queueSizes.length,
    vqAlign: 4096,
    config: spec.config,
  };
}
