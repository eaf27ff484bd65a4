/**
 * lib/sandbox/host_packages.ts: the static ELF check (busybox) and which
 * host tools are missing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { isStaticElf, missingTools } from "../../lib/sandbox/host_packages.ts";

Deno.test("isStaticElf: a program interpreter makes an ELF dynamic", () => {
  const elf = new Uint8Array(64 + 56 * 2);
  elf.set([0x7f, 0x45, 0x4c, 0x46]);
  const dv = new DataView(elf.buffer);
  dv.setBigUint64(32, 64n, true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, 2, true);
  dv.setUint32(64, 1, true); // PT_LOAD
  dv.setUint32(64 + 56, 1, true);
  assert.equal(isStaticElf(elf), true);
  dv.setUint32(64 + 56, 3, true); // PT_INTERP
  assert.equal(isStaticElf(elf), false);
  assert.equal(isStaticElf(new Uint8Array(10)), false);
});

Deno.test("missingTools names what is not installed", () => {
  const tools = [
    { command: "sh", pkg: "dash" },
    { command: "vdevctl-no-such-tool", pkg: "nope" },
    { command: "sh", pkg: "dash", ok: () => false },
  ];
  assert.deepEqual(missingTools(tools).map((t) => t.pkg), ["nope", "dash"]);
});
