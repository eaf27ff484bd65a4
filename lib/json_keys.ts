/**
 * vdevctl's one JSON convention: keys are snake_case everywhere. Output
 * types keep their camelCase TypeScript names; commands print them through
 * {@linkcode snakeCaseKeys}. (mdev's `--dumpjson` and vdpa's `-j` are the
 * peers' own formats, byte-identical, and already snake_case.)
 *
 * @module
 */

/** `durationMs` → `duration_ms`, `rxDropped` → `rx_dropped`; snake stays. */
export function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1_$2").toLowerCase();
}

/** A deep copy of `value` with every object key in snake_case. */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [snakeCase(k), snakeCaseKeys(v)]),
    );
  }
  return value;
}

/** `value` as indented JSON with snake_case keys (no trailing newline). */
export function jsonText(value: unknown): string {
  return JSON.stringify(snakeCaseKeys(value), null, 2);
}
