/**
 * UUIDs exactly as mdevctl 1.2 (Rust `uuid` 1.x) accepts them: 32 hex digits,
 * hyphenated 8-4-4-4-12, `urn:uuid:` + hyphenated, or `{hyphenated}`, in any
 * hex case. The canonical form is lowercase and hyphenated.
 *
 * @module
 */

const SIMPLE = /^[0-9a-fA-F]{32}$/;
const HYPHENATED =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The canonical form of `text`, or undefined if mdevctl would reject it. */
export function parseMdevUuid(text: string): string | undefined {
  let s = text;
  if (s.startsWith("urn:uuid:")) s = s.slice(9);
  else if (s.startsWith("{") && s.endsWith("}")) s = s.slice(1, -1);
  if (s.length === 32 && s === text && SIMPLE.test(s)) {
    s = `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${
      s.slice(16, 20)
    }-${s.slice(20)}`;
  } else if (!HYPHENATED.test(s)) {
    return undefined;
  }
  return s.toLowerCase();
}

/** A new random (version 4) UUID, canonical. */
export function newMdevUuid(): string {
  return crypto.randomUUID();
}
