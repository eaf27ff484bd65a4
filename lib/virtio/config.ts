/**
 * The virtio net and block config spaces: encoded from the values a device
 * is created with, and decoded (according to the offered features) as
 * `vduse show` prints them.
 *
 * Pure: no system access.
 *
 * @module
 */

import { StructView } from "../sys/mod.ts";
import { formatMac } from "../mac.ts";
import { formatBytes } from "../cli_values.ts";
import {
  hasFeature,
  VIRTIO_BLK_CONFIG,
  VIRTIO_BLK_F,
  VIRTIO_ID,
  VIRTIO_NET_CONFIG,
  VIRTIO_NET_F,
  VIRTIO_NET_S,
} from "./uapi.ts";

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
