/**
 * Listing (lib/mdev/list.ts) through `vdevctl mdev` on fake trees: bad
 * definition files among good ones, and `parents`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { tempExampleTree as tree } from "./fake_tree.ts";
import { runVdevctl, snapshot } from "./diff_helpers.ts";

const U1 = "11111111-2222-4333-8444-555555555555";
const U2 = "22222222-3333-4444-8555-666666666666";
const GPU = "0000:00:02.0";

Deno.test("malformed or truncated definition: good ones listed, bad file named, exit 1", async () => {
  const dir = tree((t) => {
    t.defined.push(
      {
        parent: "mtty",
        uuid: U1,
        type: "",
        start: "auto",
        attrs: [],
        raw: '{\n  "mdev_type": "mtty-1",\n  "sta',
      },
      {
        parent: GPU,
        uuid: U2,
        type: "",
        start: "auto",
        attrs: [],
        raw: '{"mdev_type": 5, "start": "auto"}',
      },
    );
  });
  try {
    const before = snapshot(dir);
    const r = await runVdevctl(dir, ["list", "-d"]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001 0000:00:02.0 i915-GVTg_V5_4 auto (active)\n" +
        "b1b8c3b4-1d1e-4c5f-9a0e-6a7b8c9d0e1f mtty mtty-1 manual (active)\n" +
        "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70 mtty mtty-2 auto\n\n",
    );
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 2, r.stderr);
    assert.match(
      lines[0],
      new RegExp(`${GPU}/${U2}: "mdev_type" is not a string: fix or remove`),
    );
    assert.match(
      lines[1],
      new RegExp(
        `mtty/${U1}: not valid JSON .*: fix or remove this definition file`,
      ),
    );
    // Commands on the bad definition name the file and change nothing.
    for (const args of [["modify", "-u", U1, "-a"], ["start", "-u", U1]]) {
      const m = await runVdevctl(dir, args);
      assert.equal(m.code, 1);
      assert.match(
        m.stderr,
        new RegExp(`^vdevctl: \\S+mtty/${U1}: not valid JSON.*\\n$`),
      );
    }
    // JSON listing too; undefine removes the bad file.
    const j = await runVdevctl(dir, ["list", "-d", "--dumpjson"]);
    assert.equal(j.code, 1);
    assert.equal(JSON.parse(j.stdout)[0].mtty.length, 2);
    assert.deepEqual(snapshot(dir), before);
    const u = await runVdevctl(dir, ["undefine", "-u", U1]);
    assert.equal(u.code, 0, u.stderr);
    assert.throws(() => Deno.statSync(`${dir}/etc/mdevctl.d/mtty/${U1}`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parents: driver, device path, instances in use and available", async () => {
  const dir = tree();
  try {
    const r = await runVdevctl(dir, ["parents", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const parents = JSON.parse(r.stdout);
    assert.deepEqual(parents.map((p: { parent: string }) => p.parent), [
      GPU,
      "mtty",
    ]);
    assert.equal(parents[0].driver, "i915");
    assert.equal(parents[0].device, `/sys/devices/pci0000:00/${GPU}`);
    assert.deepEqual(parents[1].types[0], {
      type: "mtty-1",
      name: "Single port serial",
      description: "",
      device_api: "vfio-pci",
      in_use: 1,
      available_instances: 22,
    });
    const t = await runVdevctl(dir, ["parents"]);
    assert.ok(
      t.stdout.includes(
        "mtty\n  Driver: (none)\n  Device: /sys/devices/virtual/mtty/mtty\n" +
          "  mtty-1 (Single port serial): 1 in use, 22 available, vfio-pci\n",
      ),
      t.stdout,
    );
    const bad = await runVdevctl(dir, ["parents", "-p", "nope"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /mdev parent nope does not exist/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
