/**
 * Virtio as the spec and the Linux UAPI define it: constants and struct
 * layouts, the net and block config-space codec, and the split-virtqueue
 * logic, generic over guest memory.
 *
 * This module is the family's face: other families, `commands/`, benches
 * and tests outside `tests/virtio/` import the family only from here.
 *
 * @module
 */

export {
  featureBit,
  featureNames,
  hasFeature,
  VIRTIO_BLK_CONFIG,
  VIRTIO_BLK_F,
  VIRTIO_CONFIG_S,
  VIRTIO_F,
  VIRTIO_ID,
  VIRTIO_LAYOUTS,
  VIRTIO_NET_CONFIG,
  VIRTIO_NET_F,
  VIRTIO_NET_HDR_V1,
  VIRTIO_NET_S,
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_DESC_F,
  VRING_USED_F_NO_NOTIFY,
  vringAreaSizes,
} from "./uapi.ts";
export { decodeConfig, encodeBlkConfig, encodeNetConfig } from "./config.ts";
export type { DecodedConfig } from "./config.ts";
export { Chain, copyChain } from "./chain.ts";
export type { GuestMemory, MemoryRegion } from "./chain.ts";
export { SplitQueue } from "./virtqueue.ts";
