/**
 * Ethernet MAC addresses as text: one formatter and two parsers with
 * deliberately different rules. {@linkcode parseMacAddress} accepts what
 * iproute2 accepts (any address, for `vdpa dev add ... mac`, where the
 * kernel decides); {@linkcode parseUnicastMac} accepts only what can be a
 * device's own address (for `vduse create --mac` and the address an mvnet
 * netdev reports), refusing multicast and all-zero addresses that a virtio
 * driver would not use.
 *
 * Pure: no system access.
 *
 * @module
 */

import { VdevError } from "./errors.ts";

/**
 * Every octet of `bytes` as two lower-case hex digits, joined by
 * `separator` (none by default).
 */
export function hexOctets(bytes: Uint8Array, separator = ""): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0"))
    .join(separator);
}

/**
 * Formats octets as "52:54:00:12:34:56" (every octet given, as iproute2's
 * `ll_addr_n2a` does: pass the 6 bytes of a MAC).
 */
export function formatMac(mac: Uint8Array): string {
  return hexOctets(mac, ":");
}

/**
 * Parses a MAC address by iproute2's rules: six ':'-separated bytes of 1-2
 * hex digits each, any address (multicast and zero included: the kernel
 * judges them).
 */
export function parseMacAddress(mac: string): Uint8Array {
  const parts = mac.split(":");
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new VdevError(
      `invalid MAC address "${mac}": use six hex bytes such as 52:54:00:00:00:01`,
    );
  }
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

/**
 * Parses a device's own MAC address, "52:54:00:12:34:56" (or with '-');
 * refuses multicast and all-zero addresses, which no device can have.
 */
export function parseUnicastMac(text: string): Uint8Array<ArrayBuffer> {
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
