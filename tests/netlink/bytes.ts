/**
 * Byte helpers shared by the netlink codec tests: hex dumps as bytes, text
 * as hex, concatenation.
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

/** The parts one after the other. */
export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
