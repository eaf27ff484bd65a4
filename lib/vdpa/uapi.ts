/**
 * include/uapi/linux/vdpa.h of Linux 6.12 as data: the generic-netlink
 * family name and version, the commands, and every attribute with its
 * type. This is the one place these numbers live; the virtio ids, status
 * and feature bits the vdpa output needs come from `lib/virtio/uapi.ts`.
 *
 * @module
 */

import type { AttrTable } from "../netlink/mod.ts";

/** VDPA_GENL_NAME. */
export const VDPA_GENL_NAME = "vdpa";
/** VDPA_GENL_VERSION. */
export const VDPA_GENL_VERSION = 1;

/** enum vdpa_command. */
export const VDPA_CMD = {
  UNSPEC: 0,
  MGMTDEV_NEW: 1,
  MGMTDEV_GET: 2,
  DEV_NEW: 3,
  DEV_DEL: 4,
  DEV_GET: 5,
  DEV_CONFIG_GET: 6,
  DEV_VSTATS_GET: 7,
  DEV_ATTR_SET: 8,
} as const;

/**
 * enum vdpa_attr (6.12): id → name and type. Names drop the `VDPA_ATTR_`
 * prefix. Id 0 is VDPA_ATTR_UNSPEC, also used as VDPA_ATTR_PAD.
 */
export const VDPA_ATTRS: AttrTable = {
  0: { name: "PAD", type: "binary" },
  1: { name: "MGMTDEV_BUS_NAME", type: "string" },
  2: { name: "MGMTDEV_DEV_NAME", type: "string" },
  3: { name: "MGMTDEV_SUPPORTED_CLASSES", type: "u64" },
  4: { name: "DEV_NAME", type: "string" },
  5: { name: "DEV_ID", type: "u32" },
  6: { name: "DEV_VENDOR_ID", type: "u32" },
  7: { name: "DEV_MAX_VQS", type: "u32" },
  8: { name: "DEV_MAX_VQ_SIZE", type: "u16" },
  9: { name: "DEV_MIN_VQ_SIZE", type: "u16" },
  10: { name: "DEV_NET_CFG_MACADDR", type: "binary" },
  // The header says u8; the kernel puts a u16 (le16 config.status).
  11: { name: "DEV_NET_STATUS", type: "u16" },
  12: { name: "DEV_NET_CFG_MAX_VQP", type: "u16" },
  13: { name: "DEV_NET_CFG_MTU", type: "u16" },
  14: { name: "DEV_NEGOTIATED_FEATURES", type: "u64" },
  15: { name: "DEV_MGMTDEV_MAX_VQS", type: "u32" },
  16: { name: "DEV_SUPPORTED_FEATURES", type: "u64" },
  17: { name: "DEV_QUEUE_INDEX", type: "u32" },
  18: { name: "DEV_VENDOR_ATTR_NAME", type: "string" },
  19: { name: "DEV_VENDOR_ATTR_VALUE", type: "u64" },
  20: { name: "DEV_FEATURES", type: "u64" },
  21: { name: "DEV_BLK_CFG_CAPACITY", type: "u64" },
  22: { name: "DEV_BLK_CFG_SIZE_MAX", type: "u32" },
  23: { name: "DEV_BLK_CFG_BLK_SIZE", type: "u32" },
  24: { name: "DEV_BLK_CFG_SEG_MAX", type: "u32" },
  25: { name: "DEV_BLK_CFG_NUM_QUEUES", type: "u16" },
  26: { name: "DEV_BLK_CFG_PHY_BLK_EXP", type: "u8" },
  27: { name: "DEV_BLK_CFG_ALIGN_OFFSET", type: "u8" },
  28: { name: "DEV_BLK_CFG_MIN_IO_SIZE", type: "u16" },
  29: { name: "DEV_BLK_CFG_OPT_IO_SIZE", type: "u32" },
  30: { name: "DEV_BLK_CFG_MAX_DISCARD_SEC", type: "u32" },
  31: { name: "DEV_BLK_CFG_MAX_DISCARD_SEG", type: "u32" },
  32: { name: "DEV_BLK_CFG_DISCARD_SEC_ALIGN", type: "u32" },
  33: { name: "DEV_BLK_CFG_MAX_WRITE_ZEROES_SEC", type: "u32" },
  34: { name: "DEV_BLK_CFG_MAX_WRITE_ZEROES_SEG", type: "u32" },
  35: { name: "DEV_BLK_READ_ONLY", type: "u8" },
  36: { name: "DEV_BLK_FLUSH", type: "u8" },
};

/** VDPA_ATTR_MAX of 6.12 (one past the last attribute). */
export const VDPA_ATTR_MAX = 37;

/**
 * The highest attribute id iproute2 6.1's `vdpa` knows (its copy of vdpa.h
 * ends at VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES = 21); it ignores the rest.
 */
export const IPROUTE2_61_ATTR_MAX = 21;
