/**
 * The VDUSE UAPI of Linux 6.12 (`linux/vduse.h`) as data: struct layouts
 * (`defineStruct`, checked against the kernel headers with gcc by
 * `tests/sys/struct_layout_test.ts`), message types and results, and every ioctl
 * number computed from the `_IOC` encoding and the struct sizes.
 *
 * Union members are flattened into named fields with their C path in
 * `cName` (e.g. `avail_index` is `split.avail_index`).
 *
 * @module
 */

import { defineStruct, io, ior, iow, iowr } from "../sys/mod.ts";

/** The ioctl type of every VDUSE ioctl (`VDUSE_BASE`). */
export const VDUSE_BASE = 0x81;

/** The only API version of Linux 6.12 (`VDUSE_API_VERSION`). */
export const VDUSE_API_VERSION = 0;

/** Size of a device name buffer, NUL included (`VDUSE_NAME_MAX`). */
export const VDUSE_NAME_MAX = 256;

/** Size of a request and of a response message on the device fd. */
export const VDUSE_MSG_SIZE = 152;

/** `struct vduse_dev_config` (336 bytes, then `config_size` config bytes). */
export const VDUSE_DEV_CONFIG = defineStruct("struct vduse_dev_config", {
  header: "linux/vduse.h",
  size: 336,
  fields: {
    name: [0, "u8", VDUSE_NAME_MAX],
    vendor_id: [256, "u32"],
    device_id: [260, "u32"],
    features: [264, "u64"],
    vq_num: [272, "u32"],
    vq_align: [276, "u32"],
    reserved: [280, "u32", 13],
    config_size: [332, "u32"],
    config: [336, "u8", 0],
  },
});

/** `struct vduse_iotlb_entry` (32 bytes); `last` is inclusive. */
export const VDUSE_IOTLB_ENTRY = defineStruct("struct vduse_iotlb_entry", {
  header: "linux/vduse.h",
  size: 32,
  fields: {
    offset: [0, "u64"],
    start: [8, "u64"],
    last: [16, "u64"],
    perm: [24, "u8"],
  },
});

/** `struct vduse_config_data` (8 bytes, then `length` bytes). */
export const VDUSE_CONFIG_DATA = defineStruct("struct vduse_config_data", {
  header: "linux/vduse.h",
  size: 8,
  fields: {
    offset: [0, "u32"],
    length: [4, "u32"],
    buffer: [8, "u8", 0],
  },
});

/** `struct vduse_vq_config` (32 bytes). */
export const VDUSE_VQ_CONFIG = defineStruct("struct vduse_vq_config", {
  header: "linux/vduse.h",
  size: 32,
  fields: {
    index: [0, "u32"],
    max_size: [4, "u16"],
    reserved: [6, "u16", 13],
  },
});

/** `struct vduse_vq_info` (48 bytes); the split/packed union is flattened. */
export const VDUSE_VQ_INFO = defineStruct("struct vduse_vq_info", {
  header: "linux/vduse.h",
  size: 48,
  fields: {
    index: [0, "u32"],
    num: [4, "u32"],
    desc_addr: [8, "u64"],
    driver_addr: [16, "u64"],
    device_addr: [24, "u64"],
    avail_index: [32, "u16", 1, "split.avail_index"],
    last_avail_counter: [32, "u16", 1, "packed.last_avail_counter"],
    last_avail_idx: [34, "u16", 1, "packed.last_avail_idx"],
    last_used_counter: [36, "u16", 1, "packed.last_used_counter"],
    last_used_idx: [38, "u16", 1, "packed.last_used_idx"],
    ready: [40, "u8"],
  },
});

/** `struct vduse_vq_eventfd` (8 bytes); fd -1 de-assigns. */
export const VDUSE_VQ_EVENTFD = defineStruct("struct vduse_vq_eventfd", {
  header: "linux/vduse.h",
  size: 8,
  fields: {
    index: [0, "u32"],
    fd: [4, "i32"],
  },
});

/** `struct vduse_iova_umem` (48 bytes). */
export const VDUSE_IOVA_UMEM = defineStruct("struct vduse_iova_umem", {
  header: "linux/vduse.h",
  size: 48,
  fields: {
    uaddr: [0, "u64"],
    iova: [8, "u64"],
    size: [16, "u64"],
    reserved: [24, "u64", 3],
  },
});

/** `struct vduse_iova_info` (48 bytes). */
export const VDUSE_IOVA_INFO = defineStruct("struct vduse_iova_info", {
  header: "linux/vduse.h",
  size: 48,
  fields: {
    start: [0, "u64"],
    last: [8, "u64"],
    capability: [16, "u64"],
    reserved: [24, "u64", 3],
  },
});

/**
 * `struct vduse_dev_request` (152 bytes, read from the device fd). The union
 * at offset 24 is flattened: `vq_index`/`avail_index` (GET_VQ_STATE),
 * `status` (SET_STATUS), `iova_start`/`iova_last` (UPDATE_IOTLB).
 */
export const VDUSE_DEV_REQUEST = defineStruct("struct vduse_dev_request", {
  header: "linux/vduse.h",
  size: VDUSE_MSG_SIZE,
  fields: {
    type: [0, "u32"],
    request_id: [4, "u32"],
    reserved: [8, "u32", 4],
    vq_index: [24, "u32", 1, "vq_state.index"],
    avail_index: [28, "u16", 1, "vq_state.split.avail_index"],
    status: [24, "u8", 1, "s.status"],
    iova_start: [24, "u64", 1, "iova.start"],
    iova_last: [32, "u64", 1, "iova.last"],
    padding: [24, "u32", 32],
  },
});

/**
 * `struct vduse_dev_response` (152 bytes, written to the device fd). The
 * union at offset 24 is flattened: `vq_index`/`avail_index` answer
 * GET_VQ_STATE (split rings); the packed-ring state overlays them.
 */
export const VDUSE_DEV_RESPONSE = defineStruct("struct vduse_dev_response", {
  header: "linux/vduse.h",
  size: VDUSE_MSG_SIZE,
  fields: {
    request_id: [0, "u32"],
    result: [4, "u32"],
    reserved: [8, "u32", 4],
    vq_index: [24, "u32", 1, "vq_state.index"],
    avail_index: [28, "u16", 1, "vq_state.split.avail_index"],
    last_avail_counter: [28, "u16", 1, "vq_state.packed.last_avail_counter"],
    last_avail_idx: [30, "u16", 1, "vq_state.packed.last_avail_idx"],
    last_used_counter: [32, "u16", 1, "vq_state.packed.last_used_counter"],
    last_used_idx: [34, "u16", 1, "vq_state.packed.last_used_idx"],
    padding: [24, "u32", 32],
  },
});

/** Request types (`enum vduse_req_type`). */
export const VDUSE_REQ = {
  GET_VQ_STATE: 0,
  SET_STATUS: 1,
  UPDATE_IOTLB: 2,
} as const;

/** Response results (`VDUSE_REQ_RESULT_*`). */
export const VDUSE_REQ_RESULT = { OK: 0, FAILED: 1 } as const;

/** IOTLB entry permissions (`VDUSE_ACCESS_*`). */
export const VDUSE_ACCESS = { RO: 1, WO: 2, RW: 3 } as const;

/** vduse_iova_info.capability: user memory may be registered. */
export const VDUSE_IOVA_CAP_UMEM = 1;

/** vduse_vq_eventfd.fd value that removes the kick eventfd. */
export const VDUSE_EVENTFD_DEASSIGN = -1;

/**
 * Every VDUSE ioctl number, computed (`_IOR`/`_IOW`/`_IOWR`/`_IO` of type
 * {@linkcode VDUSE_BASE}). Keys are the C macro names without `VDUSE_`.
 */
export const VDUSE_IOCTL = {
  // Control fd (/dev/vduse/control).
  GET_API_VERSION: ior(VDUSE_BASE, 0x00, 8),
  SET_API_VERSION: iow(VDUSE_BASE, 0x01, 8),
  CREATE_DEV: iow(VDUSE_BASE, 0x02, VDUSE_DEV_CONFIG.size),
  DESTROY_DEV: iow(VDUSE_BASE, 0x03, VDUSE_NAME_MAX),
  // Device fd (/dev/vduse/NAME).
  IOTLB_GET_FD: iowr(VDUSE_BASE, 0x10, VDUSE_IOTLB_ENTRY.size),
  DEV_GET_FEATURES: ior(VDUSE_BASE, 0x11, 8),
  DEV_SET_CONFIG: iow(VDUSE_BASE, 0x12, VDUSE_CONFIG_DATA.size),
  DEV_INJECT_CONFIG_IRQ: io(VDUSE_BASE, 0x13),
  VQ_SETUP: iow(VDUSE_BASE, 0x14, VDUSE_VQ_CONFIG.size),
  VQ_GET_INFO: iowr(VDUSE_BASE, 0x15, VDUSE_VQ_INFO.size),
  VQ_SETUP_KICKFD: iow(VDUSE_BASE, 0x16, VDUSE_VQ_EVENTFD.size),
  VQ_INJECT_IRQ: iow(VDUSE_BASE, 0x17, 4),
  IOTLB_REG_UMEM: iow(VDUSE_BASE, 0x18, VDUSE_IOVA_UMEM.size),
  IOTLB_DEREG_UMEM: iow(VDUSE_BASE, 0x19, VDUSE_IOVA_UMEM.size),
  IOTLB_GET_INFO: iowr(VDUSE_BASE, 0x1a, VDUSE_IOVA_INFO.size),
} as const;

/** The name of a VDUSE ioctl, as in `VDUSE_IOCTL`. */
export type VduseIoctlName = keyof typeof VDUSE_IOCTL;

/** All the layouts declared here (for the layout test). */
export const VDUSE_LAYOUTS = [
  VDUSE_DEV_CONFIG,
  VDUSE_IOTLB_ENTRY,
  VDUSE_CONFIG_DATA,
  VDUSE_VQ_CONFIG,
  VDUSE_VQ_INFO,
  VDUSE_VQ_EVENTFD,
  VDUSE_IOVA_UMEM,
  VDUSE_IOVA_INFO,
  VDUSE_DEV_REQUEST,
  VDUSE_DEV_RESPONSE,
] as const;
