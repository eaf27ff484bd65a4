import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { VdevError } from "../../lib/errors.ts";
import { SysRoot } from "../../lib/root.ts";
import {
  createDevice,
  destroyDevice,
  withControl,
} from "../../lib/vduse/lifecycle.ts";
import { buildSpec } from "../../lib/vduse/spec.ts";
import { VDUSE_RECORD_DIR, writeRecord } from "../../lib/vduse/state.ts";

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

function isVdevError(re: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof VdevError, `not a VdevError: ${e}`);
    assert.match(e.message, re);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  };
}

Deno.test("without the module: create, destroy and withControl say modprobe vduse", async () => {
  const { root, cleanup } = await fakeRoot();
  try {
    const missing = isVdevError(/VDUSE is not available: .*modprobe vduse/);
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
    const refused = isVdevError(
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
      isVdevError(/^no VDUSE device named gone0 \(see vdevctl vduse list\)$/),
    );
    writeRecord(root, buildSpec("gone0", { type: "net" }));
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
      isVdevError(/refuses API version 0/),
    );
  } finally {
    await cleanup();
  }
});
