import assert from "node:assert/strict";
import {
  formatBytes,
  parseCount,
  parseFeatures,
  parseSize,
} from "../lib/cli_values.ts";
import { refuses } from "./refuses.ts";

Deno.test("sizes: bytes or binary suffixes, the option named in errors", () => {
  assert.equal(parseSize("4096"), 4096n);
  assert.equal(parseSize("1M"), 1n << 20n);
  assert.equal(parseSize("2GiB"), 2n << 30n);
  assert.equal(parseSize("1t"), 1n << 40n);
  assert.equal(parseSize(" 8 kb "), 8n << 10n);
  refuses(() => parseSize("1.5G", "--capacity"), /bad --capacity "1\.5G"/);
  refuses(() => parseSize("-1"), /^bad size "-1": expected a number of bytes/);
});

Deno.test("feature words in hex, with or without 0x and '_'", () => {
  assert.equal(parseFeatures("0x300010020"), 0x300010020n);
  assert.equal(parseFeatures("3_0001_0020"), 0x300010020n);
  assert.equal(parseFeatures("0XFFFFFFFFFFFFFFFF"), 0xffffffffffffffffn);
  refuses(() => parseFeatures("0x1_0000_0000_0000_0000"), /bad --features/);
  refuses(() => parseFeatures("xyz"), /bad --features/);
});

Deno.test("counts: whole numbers within the range", () => {
  const range = { min: 68, max: 65535 };
  assert.equal(parseCount("1500", "--mtu", range), 1500);
  assert.equal(parseCount(" 68 ", "--mtu", range), 68);
  refuses(
    () => parseCount("1.5", "--mtu", range),
    /^bad --mtu "1\.5": expected a whole number$/,
  );
  refuses(
    () => parseCount("67", "--mtu", range),
    /^bad --mtu 67: must be between 68 and 65535$/,
  );
});

Deno.test("byte counts in exact binary units", () => {
  assert.equal(formatBytes(64n << 20n), "64 MiB");
  assert.equal(formatBytes(1000n), "1000 B");
  assert.equal(formatBytes(1536n), "1536 B");
  assert.equal(formatBytes(3n << 40n), "3 TiB");
  assert.equal(formatBytes(0n), "0 B");
});
