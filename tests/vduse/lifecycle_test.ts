import assert from "node:assert/strict";
import { busyReason } from "../../lib/vduse/lifecycle.ts";
import { fakeTree } from "./fake_tree.ts";

Deno.test("EBUSY explanation names the vdpa device and the daemon", async () => {
  const root = await fakeTree();
  try {
    assert.equal(
      busyReason("vnet0", { root }),
      "it is attached to vDPA device vnet0 (driver virtio_vdpa): detach it with vdevctl vdpa dev del vnet0; and it is held open by pid 4242 (deno): stop the daemon serving it",
    );
    assert.match(busyReason("vblk0", { root }), /not visible here/);
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
});
