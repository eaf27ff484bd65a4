/**
 * lib/sandbox/kernel_cache.ts: the real cached kernel (prepared on first
 * use): its files, the out-of-tree modules and the processed 6.12 UAPI
 * headers, compiled with gcc.
 *
 * @module
 */

import assert from "node:assert/strict";
import { kernelCache } from "../../lib/sandbox/kernel_cache.ts";

Deno.test("kernelCache: uapiInclude compiles the 6.12 virtio/vDPA/VDUSE UAPI headers", async () => {
  const k = await kernelCache();
  assert.match(k.kver, /^6\.12\./);
  for (const f of [k.vmlinuz, k.initramfs, `${k.modulesDir}/modules.dep.bin`]) {
    assert.ok(Deno.statSync(f).isFile, f);
  }
  for (const m of k.extraModules) {
    assert.ok(Deno.statSync(`${k.modulesDir}/extra/${m}.ko`).isFile, m);
  }
  const dir = await Deno.makeTempDir({ prefix: "vdevctl-uapi-" });
  try {
    await Deno.writeTextFile(
      `${dir}/t.c`,
      `#include <linux/ioctl.h> /* vduse.h does not include it itself */
#include <linux/vduse.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_net.h>
#include <linux/virtio_blk.h>
#include <linux/vdpa.h>
#include <stdio.h>
int main(void) {
  printf("%zu %zu %lx\\n", sizeof(struct vduse_dev_config),
         sizeof(struct virtio_net_config), (unsigned long)VDUSE_CREATE_DEV);
  return 0;
}
`,
    );
    const cc = await new Deno.Command("gcc", {
      args: [
        "-Wall",
        "-Werror",
        `-I${k.uapiInclude}`,
        "-o",
        `${dir}/t`,
        `${dir}/t.c`,
      ],
      stderr: "piped",
    }).output();
    assert.equal(cc.code, 0, new TextDecoder().decode(cc.stderr));
    const run = await new Deno.Command(`${dir}/t`, { stdout: "piped" })
      .output();
    // 6.12 sizes: vduse_dev_config 336, virtio_net_config 24 (bookworm's 6.1 headers differ).
    assert.equal(new TextDecoder().decode(run.stdout), "336 24 41508102\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
