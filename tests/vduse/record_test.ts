import assert from "node:assert/strict";
import { VduseRecords } from "../../lib/vduse/record.ts";
import { inspect } from "../../lib/vduse/inspect.ts";
import { buildSpec } from "../../lib/vduse/spec.ts";
import { fakeTree } from "./fake_tree.ts";

Deno.test("records round-trip; a stale record (queue count differs) is ignored", async () => {
  const root = await fakeTree();
  try {
    const spec = buildSpec("vblk0", {
      type: "blk",
      queues: 2,
      capacity: 1n << 20n,
    });
    const records = new VduseRecords(root);
    records.write(spec);
    const r = records.read("vblk0");
    assert.equal(r?.features, spec.features);
    assert.deepEqual(r?.queueSizes, [256, 256]);
    assert.deepEqual([...(r?.config ?? [])], [...spec.config]);
    // sysfs says 3 queues: the record belongs to an older device.
    assert.equal(inspect("vblk0", { root }).recorded, false);
    records.remove("vblk0");
    records.remove("vblk0");
    assert.equal(records.read("vblk0"), undefined);
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
});

Deno.test("a record that is not one of ours reads as none", async () => {
  const root = await fakeTree();
  try {
    const records = new VduseRecords(root);
    Deno.mkdirSync(records.dir, { recursive: true });
    Deno.writeTextFileSync(`${records.dir}/vnet0.json`, "{not json");
    assert.equal(records.read("vnet0"), undefined);
    Deno.writeTextFileSync(
      `${records.dir}/vnet0.json`,
      JSON.stringify({ name: "other", device_id: 1, queue_sizes: [] }),
    );
    assert.equal(records.read("vnet0"), undefined, "name differs");
    records.write(buildSpec("vnet0", { type: "net" }));
    assert.equal(
      Deno.statSync(`${records.dir}/vnet0.json`).mode! & 0o777,
      0o600,
    );
    assert.equal(records.read("vnet0")?.type, "net");
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
});
