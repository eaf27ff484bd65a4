/**
 * iproute2 6.1's names of virtio feature bits as `vdpa` prints them: the
 * virtio-net bits, and the transport bits 28..41 for every device type.
 *
 * @module
 */

import { VIRTIO_ID } from "../virtio/mod.ts";

/** iproute2 6.1's names of the virtio-net feature bits. */
const NET_FEATURE_NAMES: Readonly<Record<number, string>> = {
  0: "CSUM",
  1: "GUEST_CSUM",
  2: "CTRL_GUEST_OFFLOADS",
  3: "MTU",
  5: "MAC",
  7: "GUEST_TSO4",
  8: "GUEST_TSO6",
  9: "GUEST_ECN",
  10: "GUEST_UFO",
  11: "HOST_TSO4",
  12: "HOST_TSO6",
  13: "HOST_ECN",
  14: "HOST_UFO",
  15: "MRG_RXBUF",
  16: "STATUS",
  17: "CTRL_VQ",
  18: "CTRL_RX",
  19: "CTRL_VLAN",
  20: "CTRL_RX_EXTRA",
  21: "GUEST_ANNOUNCE",
  22: "MQ",
  23: "CTRL_MAC_ADDR",
  24: "NOTIFY_ON_EMPTY",
  27: "ANY_LAYOUT",
  57: "HASH_REPORT",
  60: "RSS",
  61: "RSC_EXT",
  62: "STANDBY",
  63: "SPEED_DUPLEX",
};

/** Transport feature bits 28..41 (VIRTIO_TRANSPORT_F_START..END) by iproute2 6.1. */
const TRANSPORT_FEATURE_NAMES: Readonly<Record<number, string>> = {
  28: "RING_INDIRECT_DESC",
  29: "RING_EVENT_IDX",
  32: "VERSION_1",
  33: "ACCESS_PLATFORM",
  34: "RING_PACKED",
  35: "IN_ORDER",
  36: "ORDER_PLATFORM",
  37: "SR_IOV",
  38: "NOTIFICATION_DATA",
};

const TRANSPORT_F_START = 28;
const TRANSPORT_F_END = 41;

/**
 * iproute2 6.1's name of feature bit `bit` of a device of virtio type
 * `deviceId` (0 when the type is not known), or undefined where it prints
 * `bit_N`: transport bits by the transport table, the others by the
 * device type's table (only net has one).
 */
export function featureName(bit: number, deviceId: number): string | undefined {
  if (bit >= TRANSPORT_F_START && bit <= TRANSPORT_F_END) {
    return TRANSPORT_FEATURE_NAMES[bit];
  }
  return deviceId === VIRTIO_ID.NET ? NET_FEATURE_NAMES[bit] : undefined;
}
