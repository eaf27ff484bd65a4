import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { SysRoot } from "../../lib/root.ts";
import {
  busyReason,
  createDevice,
  destroyDevice,
  withControl,
} from "../../lib/vduse/lifecycle.ts";
import { buildSpec } from "../../lib/vduse/spec.ts";
import { VDUSE_RECORD_DIR, VduseRecords } from "../../lib/vduse/record.ts";
import { oneLineVdevError } from "../refuses.ts";
import { fakeTree } from "./fake_tree.ts";

/** A fake root; with `control`, a regular file stands for the control node. */
async function fakeRoot(
  options: { control?: boolean; devices?: string[] } = {},
): Promise<{ root: SysRoot; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "vdevctl-lifecycle-" });
  const root = new SysRoot(dir);
  if (options.control) {
    await Deno.mkdir(root.path("/dev/vduse"), { recursive: true });
    await Deno.writeTextFile(root.path("/dev/vduse/control"), "");
  }
  for (const name of options.devices ?? []) {
    await Deno.mkdir(root.path(`/sys/class/vduse/${name}`), {
      recursive: true,
    });
  }
  return { root, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("without the module: create, destroy and withControl say modprobe vduse", async () => {
  const { root, cleanup } = await fakeRoot();
  try {
    const missing = oneLineVdevError(
      /VDUSE is not available: .*modprobe vduse/,
    );
    assert.throws(
      () => createDevice(buildSpec("v0", { type: "net" }), { root }),
      missing,
    );
    await assert.rejects(destroyDevice("v0", { root }), missing);
    let called = false;
    assert.throws(() => withControl(() => called = true, { root }), missing);
    assert.equal(called, false);
  } finally {
    await cleanup();
  }
});

Deno.test("a control node that refuses API version 0 is a VdevError, and nothing is created", async () => {
  // A regular file: the open works, SET_API_VERSION fails (ENOTTY).
  const { root, cleanup } = await fakeRoot({ control: true });
  try {
    const refused = oneLineVdevError(
      /the kernel's VDUSE refuses API version 0, the only one vdevctl speaks/,
    );
    let called = false;
    assert.throws(() => withControl(() => called = true, { root }), refused);
    assert.equal(called, false);
    assert.throws(
      () =>
        createDevice(buildSpec("v0", { type: "net" }), {
          root,
          keepOpen: true,
        }),
      refused,
    );
    assert.ok(!existsSync(root.path(`${VDUSE_RECORD_DIR}/v0.json`)));
  } finally {
    await cleanup();
  }
});

Deno.test("destroy: an unknown device is an error unless missingOk, which drops its record", async () => {
  const { root, cleanup } = await fakeRoot({ control: true });
  try {
    await assert.rejects(
      destroyDevice("gone0", { root }),
      oneLineVdevError(
        /^no VDUSE device named gone0 \(see vdevctl vduse list\)$/,
      ),
    );
    new VduseRecords(root).write(buildSpec("gone0", { type: "net" }));
    const record = root.path(`${VDUSE_RECORD_DIR}/gone0.json`);
    assert.ok(existsSync(record));
    await destroyDevice("gone0", { root, missingOk: true, retryBusy: true });
    assert.ok(!existsSync(record), "stale record removed");
  } finally {
    await cleanup();
  }
});

Deno.test("destroy of an existing device goes through the control node (its refusal is reported)", async () => {
  const { root, cleanup } = await fakeRoot({ control: true, devices: ["d0"] });
  try {
    await assert.rejects(
      destroyDevice("d0", { root }),
      oneLineVdevError(/refuses API version 0/),
    );
  } finally {
    await cleanup();
  }
});

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
