/**
 * lib/sandbox/debian_version.ts: Debian's kernel package names, the dpkg
 * version order and the version choice from `apt-cache madison`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  abiOf,
  compareDebianVersions,
  kernelVersionOf,
  parseMadison,
  pickKernelVersion,
} from "../../lib/sandbox/debian_version.ts";

const SRC =
  "http://deb.debian.org/debian-security bookworm-security/main amd64 Packages";
const MAIN =
  "http://deb.debian.org/debian bookworm-backports/main amd64 Packages";

function madisonLines(rows: [string, string, string?][]): string {
  return rows.map(([p, v, s]) => `${p.padStart(40)} | ${v} | ${s ?? SRC}`)
    .join("\n") + "\n";
}

Deno.test("abiOf and kernelVersionOf derive Debian's names", () => {
  assert.equal(abiOf("6.12.117-1~deb12u1"), "6.12.117+deb12");
  assert.equal(abiOf("6.12.115-2~deb12u1"), "6.12.115+deb12");
  assert.equal(abiOf("garbage"), undefined);
  const kv = kernelVersionOf("6.12.117-1~deb12u1");
  assert.deepEqual(kv?.packages, {
    image: "linux-image-6.12.117+deb12-amd64-unsigned",
    headers: "linux-headers-6.12.117+deb12-amd64",
    headersCommon: "linux-headers-6.12.117+deb12-common",
    kbuild: "linux-kbuild-6.12.117+deb12",
    source: "linux-source-6.12",
  });
  assert.equal(kv?.kver, "6.12.117+deb12-amd64");
});

Deno.test("compareDebianVersions orders as dpkg does", () => {
  const sorted = [
    "6.12.9-1~deb12u1",
    "6.12.117-1~deb12u1",
    "6.12.117-1",
    "6.12.115-2~deb12u1",
    "6.12.117-1~deb12u2",
    "1:6.1-1",
    "6.12.117-1~bpo12+1",
  ].sort(compareDebianVersions);
  assert.deepEqual(sorted, [
    "6.12.9-1~deb12u1",
    "6.12.115-2~deb12u1",
    "6.12.117-1~bpo12+1",
    "6.12.117-1~deb12u1",
    "6.12.117-1~deb12u2",
    "6.12.117-1",
    "1:6.1-1",
  ]);
  assert.equal(compareDebianVersions("1.0", "1.0"), 0);
  assert.ok(compareDebianVersions("1.0~rc1", "1.0") < 0);
  assert.ok(compareDebianVersions("1.0a", "1.0") > 0);
});

Deno.test("pickKernelVersion: newest version with all five packages in the suite", () => {
  const text = madisonLines([
    ["linux-source-6.12", "6.12.119-1~deb12u1"],
    ["linux-source-6.12", "6.12.117-1~deb12u1"],
    ["linux-source-6.12", "6.12.115-2~deb12u1"],
    // 6.12.119: the kbuild package has not reached the mirror yet.
    ["linux-image-6.12.119+deb12-amd64-unsigned", "6.12.119-1~deb12u1"],
    ["linux-headers-6.12.119+deb12-amd64", "6.12.119-1~deb12u1"],
    ["linux-headers-6.12.119+deb12-common", "6.12.119-1~deb12u1"],
    // 6.12.117: complete.
    ["linux-image-6.12.117+deb12-amd64-unsigned", "6.12.117-1~deb12u1"],
    ["linux-headers-6.12.117+deb12-amd64", "6.12.117-1~deb12u1"],
    ["linux-headers-6.12.117+deb12-common", "6.12.117-1~deb12u1"],
    ["linux-kbuild-6.12.117+deb12", "6.12.117-1~deb12u1"],
    // 6.12.115: complete but older.
    ["linux-image-6.12.115+deb12-amd64-unsigned", "6.12.115-2~deb12u1"],
    ["linux-headers-6.12.115+deb12-amd64", "6.12.115-2~deb12u1"],
    ["linux-headers-6.12.115+deb12-common", "6.12.115-2~deb12u1"],
    ["linux-kbuild-6.12.115+deb12", "6.12.115-2~deb12u1"],
  ]);
  const m = parseMadison(text, { suite: "bookworm-security" });
  assert.deepEqual(m.get("linux-source-6.12"), [
    "6.12.119-1~deb12u1",
    "6.12.117-1~deb12u1",
    "6.12.115-2~deb12u1",
  ]);
  assert.equal(pickKernelVersion(m)?.version, "6.12.117-1~deb12u1");
  assert.equal(pickKernelVersion(new Map()), undefined);
});

Deno.test("parseMadison keeps only the requested suite", () => {
  const text = madisonLines([
    ["linux-source-6.12", "6.12.120-1~deb12u1", MAIN],
    ["linux-source-6.12", "6.12.117-1~deb12u1"],
  ]);
  assert.deepEqual(
    parseMadison(text, { suite: "bookworm-security" }).get("linux-source-6.12"),
    ["6.12.117-1~deb12u1"],
  );
  assert.equal(
    parseMadison(text).get("linux-source-6.12")?.length,
    2,
  );
  assert.equal(parseMadison("N: Unable to locate package x\n").size, 0);
});
