/**
 * Command-line values shared by the families: sizes with binary suffixes,
 * whole numbers in a range, 64-bit feature words, and byte counts printed
 * in exact binary units. Errors are one-line {@linkcode VdevError}s naming
 * the option.
 *
 * Pure: no system access.
 *
 * @module
 */

import { VdevError } from "./errors.ts";

const SIZE_UNITS: Record<string, bigint> = {
  "": 1n,
  b: 1n,
  k: 1n << 10n,
  m: 1n << 20n,
  g: 1n << 30n,
  t: 1n << 40n,
};

/**
 * Parses a size: bytes, or with a binary suffix K, M, G, T (also "KiB",
 * "MB"...: always powers of 1024). `what` names the option in errors.
 */
export function parseSize(text: string, what = "size"): bigint {
  const m = /^(\d+)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) {
    throw new VdevError(
      `bad ${what} "${text}": expected a number of bytes with an optional K, M, G or T suffix`,
    );
  }
  return BigInt(m[1]) * SIZE_UNITS[m[2].toLowerCase()];
}

/** Parses a feature word in hex ("0x300010020" or "300010020"). */
export function parseFeatures(text: string): bigint {
  const t = text.trim().replace(/_/g, "");
  if (!/^(0x)?[0-9a-f]{1,16}$/i.test(t)) {
    throw new VdevError(
      `bad --features "${text}": expected a 64-bit hex feature word such as 0x300010020`,
    );
  }
  return BigInt(t.toLowerCase().startsWith("0x") ? t : `0x${t}`);
}

/** Parses a non-negative integer option; `what` names it in errors. */
export function parseCount(
  text: string,
  what: string,
  range: { min: number; max: number },
): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new VdevError(`bad ${what} "${text}": expected a whole number`);
  }
  const n = Number(text.trim());
  if (n < range.min || n > range.max) {
    throw new VdevError(
      `bad ${what} ${n}: must be between ${range.min} and ${range.max}`,
    );
  }
  return n;
}

/** "1 GiB", "512 MiB", "1536 B": exact binary units. */
export function formatBytes(n: bigint): string {
  for (
    const [unit, shift] of [["TiB", 40n], ["GiB", 30n], ["MiB", 20n], [
      "KiB",
      10n,
    ]] as const
  ) {
    const div = 1n << shift;
    if (n >= div && n % div === 0n) return `${n / div} ${unit}`;
  }
  return `${n} B`;
}
