/**
 * The virtio UAPI that VDUSE devices speak (Linux 6.12 `linux/virtio_*.h`):
 * feature bits, device status bits, device ids, the config spaces of the net
 * and block devices, the virtio-net header and the split-ring structures, all
 * as data (`defineStruct`), checked against the kernel headers by
 * `tests/sys/struct_layout_test.ts`.
 *
 * Feature bits are bit NUMBERS; {@linkcode featureBit} turns one into the
 * `bigint` mask used in a 64-bit feature word.
 *
 * @module
 */

import { defineStruct } from "../sys/mod.ts";

/** Virtio device ids (`linux/virtio_ids.h`) that VDUSE accepts. */
export const VIRTIO_ID = { NET: 1, BLOCK: 2 } as const;

/** Device-independent feature bits (`linux/virtio_config.h`, `virtio_ring.h`). */
export const VIRTIO_F = {
  NOTIFY_ON_EMPTY: 24,
  ANY_LAYOUT: 27,
  /** VIRTIO_RING_F_INDIRECT_DESC. */
  INDIRECT_DESC: 28,
  /** VIRTIO_RING_F_EVENT_IDX. */
  EVENT_IDX: 29,
  VERSION_1: 32,
  /** Also known as IOMMU_PLATFORM; VDUSE requires it. */
  ACCESS_PLATFORM: 33,
  RING_PACKED: 34,
  IN_ORDER: 35,
  ORDER_PLATFORM: 36,
  SR_IOV: 37,
  NOTIFICATION_DATA: 38,
  NOTIF_CONFIG_DATA: 39,
  RING_RESET: 40,
  ADMIN_VQ: 41,
} as const;

/** virtio-net feature bits (`linux/virtio_net.h`). */
export const VIRTIO_NET_F = {
  CSUM: 0,
  GUEST_CSUM: 1,
  CTRL_GUEST_OFFLOADS: 2,
  MTU: 3,
  MAC: 5,
  GSO: 6,
  GUEST_TSO4: 7,
  GUEST_TSO6: 8,
  GUEST_ECN: 9,
  GUEST_UFO: 10,
  HOST_TSO4: 11,
  HOST_TSO6: 12,
  HOST_ECN: 13,
  HOST_UFO: 14,
  MRG_RXBUF: 15,
  STATUS: 16,
  CTRL_VQ: 17,
  CTRL_RX: 18,
  CTRL_VLAN: 19,
  CTRL_RX_EXTRA: 20,
  GUEST_ANNOUNCE: 21,
  MQ: 22,
  CTRL_MAC_ADDR: 23,
  DEVICE_STATS: 50,
  VQ_NOTF_COAL: 52,
  NOTF_COAL: 53,
  GUEST_USO4: 54,
  GUEST_USO6: 55,
  HOST_USO: 56,
  HASH_REPORT: 57,
  GUEST_HDRLEN: 59,
  RSS: 60,
  RSC_EXT: 61,
  STANDBY: 62,
  SPEED_DUPLEX: 63,
} as const;

/** virtio-blk feature bits (`linux/virtio_blk.h`). */
export const VIRTIO_BLK_F = {
  BARRIER: 0,
  SIZE_MAX: 1,
  SEG_MAX: 2,
  GEOMETRY: 4,
  RO: 5,
  BLK_SIZE: 6,
  SCSI: 7,
  FLUSH: 9,
  TOPOLOGY: 10,
  CONFIG_WCE: 11,
  MQ: 12,
  DISCARD: 13,
  WRITE_ZEROES: 14,
  SECURE_ERASE: 16,
  ZONED: 17,
} as const;

/** Device status bits (`VIRTIO_CONFIG_S_*`). */
export const VIRTIO_CONFIG_S = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  NEEDS_RESET: 0x40,
  FAILED: 0x80,
} as const;

/** virtio_net_config.status bits (`VIRTIO_NET_S_*`). */
export const VIRTIO_NET_S = { LINK_UP: 1, ANNOUNCE: 2 } as const;

/** vring_desc.flags (`VRING_DESC_F_*`). */
export const VRING_DESC_F = { NEXT: 1, WRITE: 2, INDIRECT: 4 } as const;

/** vring_avail.flags: the driver does not want interrupts. */
export const VRING_AVAIL_F_NO_INTERRUPT = 1;

/** vring_used.flags: the device does not want kicks. */
export const VRING_USED_F_NO_NOTIFY = 1;

/** The mask of feature bit number `bit`. */
export function featureBit(bit: number): bigint {
  return 1n << BigInt(bit);
}

/** True when `features` has bit number `bit`. */
export function hasFeature(features: bigint, bit: number): boolean {
  return (features & featureBit(bit)) !== 0n;
}

/** The feature-name table for a device id: device bits 0-23 and 50-63. */
function deviceFeatureTable(deviceId: number): Record<string, number> {
  if (deviceId === VIRTIO_ID.NET) return VIRTIO_NET_F;
  if (deviceId === VIRTIO_ID.BLOCK) return VIRTIO_BLK_F;
  return {};
}

/** Whether bit `bit` is device-specific (virtio 1.x: bits 0-23 and 50-127). */
function isDeviceBit(bit: number): boolean {
  return bit < 24 || bit >= 50;
}

/**
 * The names of the bits set in `features`, lowest bit first, for a device of
 * `deviceId` ("MAC", "VERSION_1", ...; unknown bits as "bit42").
 */
export function featureNames(features: bigint, deviceId: number): string[] {
  const byBit = new Map<number, string>();
  for (const [name, bit] of Object.entries(VIRTIO_F)) byBit.set(bit, name);
  for (const [name, bit] of Object.entries(deviceFeatureTable(deviceId))) {
    if (isDeviceBit(bit)) byBit.set(bit, name);
  }
  const out: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if (hasFeature(features, bit)) out.push(byBit.get(bit) ?? `bit${bit}`);
  }
  return out;
}

/** `struct virtio_net_config` (packed, 24 bytes; little-endian for VERSION_1). */
export const VIRTIO_NET_CONFIG = defineStruct("struct virtio_net_config", {
  header: "linux/virtio_net.h",
  size: 24,
  fields: {
    mac: [0, "u8", 6],
    status: [6, "u16"],
    max_virtqueue_pairs: [8, "u16"],
    mtu: [10, "u16"],
    speed: [12, "u32"],
    duplex: [16, "u8"],
    rss_max_key_size: [17, "u8"],
    rss_max_indirection_table_length: [18, "u16"],
    supported_hash_types: [20, "u32"],
  },
});

/** `struct virtio_blk_config` (packed, 96 bytes; the fields vdevctl uses). */
export const VIRTIO_BLK_CONFIG = defineStruct("struct virtio_blk_config", {
  header: "linux/virtio_blk.h",
  size: 96,
  fields: {
    /** In 512-byte sectors. */
    capacity: [0, "u64"],
    size_max: [8, "u32"],
    seg_max: [12, "u32"],
    cylinders: [16, "u16", 1, "geometry.cylinders"],
    heads: [18, "u8", 1, "geometry.heads"],
    sectors: [19, "u8", 1, "geometry.sectors"],
    blk_size: [20, "u32"],
    physical_block_exp: [24, "u8"],
    alignment_offset: [25, "u8"],
    min_io_size: [26, "u16"],
    opt_io_size: [28, "u32"],
    wce: [32, "u8"],
    num_queues: [34, "u16"],
    max_discard_sectors: [36, "u32"],
    max_discard_seg: [40, "u32"],
    discard_sector_alignment: [44, "u32"],
    max_write_zeroes_sectors: [48, "u32"],
    max_write_zeroes_seg: [52, "u32"],
    write_zeroes_may_unmap: [56, "u8"],
    max_secure_erase_sectors: [60, "u32"],
    max_secure_erase_seg: [64, "u32"],
    secure_erase_sector_alignment: [68, "u32"],
    zone_sectors: [72, "u32", 1, "zoned.zone_sectors"],
  },
});

/** `struct virtio_net_hdr_v1` (12 bytes), prepended to every frame. */
export const VIRTIO_NET_HDR_V1 = defineStruct("struct virtio_net_hdr_v1", {
  header: "linux/virtio_net.h",
  size: 12,
  fields: {
    flags: [0, "u8"],
    gso_type: [1, "u8"],
    hdr_len: [2, "u16"],
    gso_size: [4, "u16"],
    csum_start: [6, "u16"],
    csum_offset: [8, "u16"],
    num_buffers: [10, "u16"],
  },
});

/** `struct vring_desc` (16 bytes; descriptor tables are 16-byte aligned). */
export const VRING_DESC = defineStruct("struct vring_desc", {
  header: "linux/virtio_ring.h",
  size: 16,
  fields: {
    addr: [0, "u64"],
    len: [8, "u32"],
    flags: [12, "u16"],
    next: [14, "u16"],
  },
});

/**
 * `struct vring_avail`: flags, idx, then `ring[num]` (u16 descriptor heads)
 * at offset 4, then `used_event` (u16) after the ring when EVENT_IDX is used.
 */
export const VRING_AVAIL = defineStruct("struct vring_avail", {
  header: "linux/virtio_ring.h",
  size: 4,
  fields: {
    flags: [0, "u16"],
    idx: [2, "u16"],
    ring: [4, "u16", 0],
  },
});

/** `struct vring_used_elem` (8 bytes): head id and bytes written. */
export const VRING_USED_ELEM = defineStruct("struct vring_used_elem", {
  header: "linux/virtio_ring.h",
  size: 8,
  fields: {
    id: [0, "u32"],
    len: [4, "u32"],
  },
});

/**
 * `struct vring_used`: flags, idx, then `ring[num]` (vring_used_elem) at
 * offset 4, then `avail_event` (u16) after the ring when EVENT_IDX is used.
 */
export const VRING_USED = defineStruct("struct vring_used", {
  header: "linux/virtio_ring.h",
  size: 4,
  fields: {
    flags: [0, "u16"],
    idx: [2, "u16"],
    ring: [4, "u32", 0],
  },
});

/** Byte sizes of the three areas of a split virtqueue of `num` entries. */
export function vringAreaSizes(
  num: number,
): { desc: number; avail: number; used: number } {
  return {
    desc: VRING_DESC.size * num,
    // flags, idx, ring[num], used_event
    avail: VRING_AVAIL.size + 2 * num + 2,
    // flags, idx, ring[num], avail_event
    used: VRING_USED.size + VRING_USED_ELEM.size * num + 2,
  };
}

/** All the layouts declared here (for the layout test). */
export const VIRTIO_LAYOUTS = [
  VIRTIO_NET_CONFIG,
  VIRTIO_BLK_CONFIG,
  VIRTIO_NET_HDR_V1,
  VRING_DESC,
  VRING_AVAIL,
  VRING_USED_ELEM,
  VRING_USED,
] as const;
