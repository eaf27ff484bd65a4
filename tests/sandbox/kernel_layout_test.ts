/**
 * lib/sandbox/kernel_layout.ts: the directory name and paths of a kernel in
 * the cache, and which kernel directories count as finished (a temporary
 * cache directory, no real kernel).
 *
 * @module
 */

import assert from "node:assert/strict";
import { kernelVersionOf } from "../../lib/sandbox/debian_version.ts";
import { initramfsName } from "../../lib/sandbox/initramfs.ts";
import {
  cachedKernels,
  kernelDirName,
  kernelPathsOf,
  MANIFEST,
} from "../../lib/sandbox/kernel_layout.ts";
import { OUT_OF_TREE_MODULES } from "../../lib/sandbox/modules.ts";

Deno.test("kernelDirName and kernelPathsOf: where a kernel's files are", () => {
  assert.equal(kernelDirName("6.12.117-1~deb12u1"), "linux-6.12.117-1_deb12u1");
  const p = kernelPathsOf(kernelVersionOf("6.12.117-1~deb12u1")!, "/c/k");
  const kver = "6.12.117+deb12-amd64";
  assert.equal(p.root, "/c/k/root");
  assert.equal(p.vmlinuz, `/c/k/root/boot/vmlinuz-${kver}`);
  assert.equal(p.modulesDir, `/c/k/root/lib/modules/${kver}`);
  assert.equal(p.headersDir, `/c/k/root/usr/src/linux-headers-${kver}`);
  assert.equal(
    p.headersCommonDir,
    "/c/k/root/usr/src/linux-headers-6.12.117+deb12-common",
  );
  assert.equal(p.uapiInclude, "/c/k/uapi");
  assert.equal(p.initramfs, `/c/k/${initramfsName()}`);
  assert.deepEqual(p.extraModules, OUT_OF_TREE_MODULES);
});

Deno.test("cachedKernels: only directories with a manifest, newest first", async () => {
  const cacheDir = await Deno.makeTempDir({ prefix: "vdevctl-cache-" });
  try {
    assert.deepEqual(await cachedKernels({ cacheDir }), []);
    for (const v of ["6.12.115-2~deb12u1", "6.12.117-1~deb12u1"]) {
      const dir = `${cacheDir}/${kernelDirName(v)}`;
      await Deno.mkdir(dir);
      await Deno.writeTextFile(
        `${dir}/${MANIFEST}`,
        JSON.stringify({ version: v, extraModules: ["mtty"] }),
      );
      await Deno.writeTextFile(`${dir}/${initramfsName()}`, "");
    }
    // Still being prepared: no manifest yet.
    await Deno.mkdir(`${cacheDir}/.linux-6.12.119-1_deb12u1.tmp-1`);
    await Deno.mkdir(`${cacheDir}/linux-6.12.119-1_deb12u1`);
    const found = await cachedKernels({ cacheDir });
    assert.deepEqual(found.map((k) => k.version), [
      "6.12.117-1~deb12u1",
      "6.12.115-2~deb12u1",
    ]);
    assert.deepEqual(found[0].extraModules, ["mtty"]);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});
