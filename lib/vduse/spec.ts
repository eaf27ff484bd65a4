/**
 * What a VDUSE device is made of, decided and checked before the kernel sees
 * it: the command-line options of `vduse create` become a
 * {@linkcode DeviceSpec} (virtio device id, offered features, queue count and
 * sizes, encoded config space), and every combination that the kernel or the
 * virtio driver would refuse, or that would make a device no driver can use,
 * is refused here with the reason. Also the value parsers (MAC, sizes,
 * feature words) and the config-space decoders used by `vduse show`.
 *
 * Pure: no system access.
 *
 * @module
 */

import { VdevError } from "../errors.ts";
import { StructView } from "../sys/mod.ts";
import {
  featureBit,
  hasFeature,
  VIRTIO_BLK_CONFIG,
  VIRTIO_BLK_F,
  VIRTIO_F,
  VIRTIO_ID,
  VIRTIO_NET_CONFIG,
  VIRTIO_NET_F,
  VIRTIO_NET_S,
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

/** Parses "52:54:00:12:34:56" (or with '-'); refuses multicast and zero. */
export function parseMac(text: string): Uint8Array<ArrayBuffer> {
  const m =
    /^([0-9a-f]{1,2})([:-])([0-9a-f]{1,2})\2([0-9a-f]{1,2})\2([0-9a-f]{1,2})\2([0-9a-f]{1,2})\2([0-9a-f]{1,2})$/i
      .exec(text);
  if (!m) {
    throw new VdevError(
      `bad MAC address "${text}": expected six hex octets like 52:54:00:12:34:56`,
    );
  }
  const mac = new Uint8Array(
    [m[1], m[3], m[4], m[5], m[6], m[7]].map((h) => parseInt(h, 16)),
  );
  if (mac[0] & 1) {
    throw new VdevError(
      `bad MAC address "${text}": multicast (lowest bit of the first octet set); use a unicast address such as 52:54:00:...`,
    );
  }
  if (mac.every((b) => b === 0)) {
    throw new VdevError(`bad MAC address "${text}": all zero`);
  }
  return mac;
}

/** Formats 6 bytes as "52:54:00:12:34:56". */
export function formatMac(mac: Uint8Array): string {
  return [...mac.subarray(0, 6)].map((b) => b.toString(16).padStart(2, "0"))
    .join(":");
}

const SIZE_UNITS: Record<string, bigint> = {
  "": 1n,
  b: 1n,
  k: 1n << 10n,
  m: 1n << 20n,
  g: 1n << 30n,
  t: 1n << 40n,
};

/**
 * Parses a size: bytes, or with a binary suffix K, M, G, T (also "KiB",
 * "MB"...: always powers of 1024). `what` names the option in errors.
 */
export function parseSize(text: string, what = "size"): bigint {
  const m = /^(\d+)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) {
    throw new VdevError(
      `bad ${what} "${text}": expected a number of bytes with an optional K, M, G or T suffix`,
    );
  }
  return BigInt(m[1]) * SIZE_UNITS[m[2].toLowerCase()];
}

/** Parses a feature word in hex ("0x300010020" or "300010020"). */
export function parseFeatures(text: string): bigint {
  const t = text.trim().replace(/_/g, "");
  if (!/^(0x)?[0-9a-f]{1,16}$/i.test(t)) {
    throw new VdevError(
      `bad --features "${text}": expected a 64-bit hex feature word such as 0x300010020`,
    );
  }
  return BigInt(t.toLowerCase().startsWith("0x") ? t : `0x${t}`);
}

/** Parses a non-negative integer option; `what` names it in errors. */
export function parseCount(
  text: string,
  what: string,
  range: { min: number; max: number },
): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new VdevError(`bad ${what} "${text}": expected a whole number`);
  }
  const n = Number(text.trim());
  if (n < range.min || n > range.max) {
    throw new VdevError(
      `bad ${what} ${n}: must be between ${range.min} and ${range.max}`,
    );
  }
  return n;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function bitLabel(name: string, bit: number): string {
  return `${name} (bit ${bit})`;
}

/** The net config space: MAC, link up, one queue pair, MTU. */
export function encodeNetConfig(
  config: { mac?: Uint8Array; mtu?: number; linkUp?: boolean },
): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(VIRTIO_NET_CONFIG.size);
  const v = new StructView(VIRTIO_NET_CONFIG, bytes);
  if (config.mac) v.slice("mac").set(config.mac.subarray(0, 6));
  v.set("status", config.linkUp === false ? 0 : VIRTIO_NET_S.LINK_UP)
    .set("max_virtqueue_pairs", 1)
    .set("mtu", config.mtu ?? 0)
    .set("speed", 0xffffffff) // unknown
    .set("duplex", 0xff); // unknown
  return bytes;
}

/** The block config space: capacity (bytes, a multiple of 512), queues. */
export function encodeBlkConfig(
  config: { capacity: bigint; numQueues: number },
): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(VIRTIO_BLK_CONFIG.size);
  new StructView(VIRTIO_BLK_CONFIG, bytes)
    .set("capacity", config.capacity / 512n)
    .set("num_queues", config.numQueues);
  return bytes;
}

/** A decoded config space, as `vduse show` prints it. */
export type DecodedConfig = Record<string, string | number>;

/** Decodes a net or block config space according to the offered features. */
export function decodeConfig(
  deviceId: number,
  config: Uint8Array,
  features: bigint,
): DecodedConfig {
  if (deviceId === VIRTIO_ID.NET && config.length >= VIRTIO_NET_CONFIG.size) {
    const v = new StructView(VIRTIO_NET_CONFIG, config);
    const out: DecodedConfig = {};
    if (hasFeature(features, VIRTIO_NET_F.MAC)) {
      out.mac = formatMac(v.slice("mac"));
    }
    if (hasFeature(features, VIRTIO_NET_F.STATUS)) {
      out.link = v.get("status") & VIRTIO_NET_S.LINK_UP ? "up" : "down";
    }
    out.max_virtqueue_pairs = v.get("max_virtqueue_pairs");
    if (hasFeature(features, VIRTIO_NET_F.MTU)) out.mtu = v.get("mtu");
    return out;
  }
  if (deviceId === VIRTIO_ID.BLOCK && config.length >= 8) {
    const full = new Uint8Array(
      Math.max(config.length, VIRTIO_BLK_CONFIG.size),
    );
    full.set(config);
    const v = new StructView(VIRTIO_BLK_CONFIG, full);
    const sectors = v.getBig("capacity");
    const out: DecodedConfig = {
      capacity_sectors: Number(sectors),
      capacity: formatBytes(sectors * 512n),
    };
    if (hasFeature(features, VIRTIO_BLK_F.MQ)) {
      out.num_queues = v.get("num_queues");
    }
    if (hasFeature(features, VIRTIO_BLK_F.BLK_SIZE)) {
      out.blk_size = v.get("blk_size");
    }
    if (hasFeature(features, VIRTIO_BLK_F.SEG_MAX)) {
      out.seg_max = v.get("seg_max");
    }
    if (hasFeature(features, VIRTIO_BLK_F.SIZE_MAX)) {
      out.size_max = v.get("size_max");
    }
    return out;
  }
  return { bytes: config.length };
}

/** "1 GiB", "512 MiB", "1536 B": exact binary units. */
export function formatBytes(n: bigint): string {
  for (
    const [unit, shift] of [["TiB", 40n], ["GiB", 30n], ["MiB", 20n], [
      "KiB",
      10n,
    ]] as const
  ) {
    const div = 1n << shift;
    if (n >= div && n % div === 0n) return `${n / div} ${unit}`;
  }
  return `${n} B`;
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
    const mac = options.mac === undefined ? undefined : parseMac(options.mac);
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
