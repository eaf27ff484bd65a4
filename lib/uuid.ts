/**
 * UUIDs as mdevctl accepts them: hyphenated, 32 hex digits, or with a
 * `urn:uuid:` prefix, in any case; always written lowercase and hyphenated.
 *
 * @module
 */

const SIMPLE = /^[0-9a-fA-F]{32}$/;
const HYPHENATED =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The canonical (lowercase, hyphenated) form of `text`, or undefined if it is no UUID. */
export function parseUuid(text: string): string | undefined {
  let s = text;
  if (s.length === 45 && s.slice(0, 9).toLowerCase() === "urn:uuid:") {
    s = s.slice(9);
  }
  if (SIMPLE.test(s)) {
    s = `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${
      s.slice(16, 20)
    }-${s.slice(20)}`;
  } else if (!HYPHENATED.test(s)) {
    return undefined;
  }
  return s.toLowerCase();
}

/** A new random (version 4) UUID. */
export function randomUuid(): string {
  return crypto.randomUUID();
}
