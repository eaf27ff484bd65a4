/**
 * Byte helpers shared by the netlink codec tests: hex dumps as bytes, text
 * as hex.
 *
 * @module
 */

/** "0a 0b ..." → bytes. */
export function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, "");
  return new Uint8Array(t.match(/../g)!.map((b) => parseInt(b, 16)));
}

/** The ASCII bytes of `s` as a hex dump, "76 64 ...". */
export function ascii(s: string): string {
  return [...new TextEncoder().encode(s)].map((b) =>
    b.toString(16).padStart(2, "0")
  ).join(" ");
}
