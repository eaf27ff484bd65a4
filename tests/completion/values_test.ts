/**
 * Live completion values (lib/completion/values.ts): mdev parents, types and
 * UUIDs with their descriptions and order, read from the example tree and
 * from fake trees, and through `vdevctl complete`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { completionSources } from "../../lib/completion/values.ts";
import { SysRoot } from "../../lib/root.ts";
import { tempExampleTree as tree } from "../mdev/fake_tree.ts";
import { REPO, run } from "../mdev/diff_helpers.ts";

const GPU = "0000:00:02.0";
const RUNNING = "b1b8c3b4-1d1e-4c5f-9a0e-6a7b8c9d0e1f"; // mtty-1 on mtty

/** The candidates of source `key` for the words typed so far. */
async function values(dir: string, key: string, words: string[]) {
  const source = (await completionSources(new SysRoot(dir)))[key];
  assert.ok(source, `no source ${key}`);
  return source(words);
}

const MTTY_TYPES = [
  ["mtty-1", "Single port serial on mtty, 22 available"],
  ["mtty-2", "Dual port serial on mtty, 11 available"],
];

Deno.test("mdev parents, types and UUIDs of examples/sysroot, described and sorted", async () => {
  const dir = `${REPO}/examples/sysroot`;
  assert.deepEqual(
    await values(dir, "mdev start --parent", ["mdev", "start", "-p"]),
    [
      [GPU, "mdev parent"],
      ["mtty", "mdev parent"],
    ],
  );
  assert.deepEqual(
    await values(dir, "mdev start-parent-mdevs <PARENT>", ["mdev"]),
    [[GPU, "mdev parent"], ["mtty", "mdev parent"]],
  );
  assert.deepEqual(
    await values(dir, "mdev start --type", ["mdev", "start", "-t"]),
    [
      ["i915-GVTg_V5_4", "GVTg_V5_4 on 0000:00:02.0, 1 available"],
      ["i915-GVTg_V5_8", "GVTg_V5_8 on 0000:00:02.0, 2 available"],
      ...MTTY_TYPES,
    ],
  );
  assert.deepEqual(
    await values(dir, "mdev define --type", [
      "mdev",
      "define",
      "-p",
      "mtty",
      "-t",
    ]),
    MTTY_TYPES,
  );
  assert.deepEqual(
    await values(dir, "mdev start --type", [
      "mdev",
      "start",
      "--parent=nope",
      "-t",
    ]),
    [],
  );
  assert.deepEqual(
    await values(dir, "mdev stop --uuid", ["mdev", "stop", "-u"]),
    [
      ["83b8f4f2-509f-382f-3c1e-e6bfe0fa1001", "active, defined"],
      [RUNNING, "active, defined"],
      ["c2f5e0d6-7a8b-4c9d-8e0f-1a2b3c4d5e6f", "active"],
      ["d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70", "defined on mtty"],
    ],
  );
  assert.deepEqual(
    await values(dir, "mdev list --uuid", ["mdev", "list", "-p", "mtty", "-u"]),
    [
      ["83b8f4f2-509f-382f-3c1e-e6bfe0fa1001", "active"],
      [RUNNING, "active, defined"],
      ["c2f5e0d6-7a8b-4c9d-8e0f-1a2b3c4d5e6f", "active"],
      ["d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70", "defined on mtty"],
    ],
  );
});

Deno.test("mdev values: scripts.d, stray files and types without name or count", async () => {
  const dir = tree((t) => {
    t.parents[1].types.push({
      id: "mtty-0",
      available: "",
      deviceApi: "vfio-pci",
    });
    t.defined.push({
      parent: "other",
      uuid: "EEEEEEEE-1111-4222-8333-444444444444",
      type: "t",
      start: "manual",
      attrs: [],
    });
  });
  try {
    Deno.writeTextFileSync(`${dir}/etc/mdevctl.d/README`, "");
    assert.deepEqual(
      await values(dir, "mdev start --type", [
        "mdev",
        "start",
        "-p",
        "mtty",
        "-t",
      ]),
      [["mtty-0", "mtty-0 on mtty, ? available"], ...MTTY_TYPES],
    );
    const uuids = await values(dir, "mdev undefine --uuid", [
      "mdev",
      "undefine",
    ]);
    assert.deepEqual(uuids, [
      ["83b8f4f2-509f-382f-3c1e-e6bfe0fa1001", "active, defined"],
      [RUNNING, "active, defined"],
      ["c2f5e0d6-7a8b-4c9d-8e0f-1a2b3c4d5e6f", "active"],
      ["d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70", "defined on mtty"],
      ["EEEEEEEE-1111-4222-8333-444444444444", "defined on other"],
    ]);
    assert.deepEqual(
      await values(dir, "mdev modify --uuid", [
        "mdev",
        "modify",
        "-p",
        "other",
      ]),
      [
        ["83b8f4f2-509f-382f-3c1e-e6bfe0fa1001", "active"],
        [RUNNING, "active"],
        ["c2f5e0d6-7a8b-4c9d-8e0f-1a2b3c4d5e6f", "active"],
        ["EEEEEEEE-1111-4222-8333-444444444444", "defined on other"],
      ],
    );
    assert.deepEqual(
      (await values(dir, "mdev modify --uuid", [
        "mdev",
        "modify",
        "-p",
        "scripts.d",
      ]))
        .map(([, what]) => what),
      ["active", "active", "active"],
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("mdev values of a root without mdev: none, no error", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "completion-values-empty-" });
  try {
    for (
      const key of [
        "mdev start --parent",
        "mdev start --type",
        "mdev stop --uuid",
      ]
    ) {
      assert.deepEqual(await values(dir, key, ["mdev", "-p", "mtty"]), [], key);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("completion offers live mdev parents, types and UUIDs", async () => {
  const dir = tree();
  try {
    const complete = (words: string[]) =>
      run([
        `${REPO}/vdevctl`,
        "complete",
        "--",
        "--root",
        dir,
        "mdev",
        ...words,
      ]);
    const p = await complete(["start", "-p", ""]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /^mtty\t/m);
    assert.match(p.stdout, new RegExp(`^${GPU}\\t`, "m"));
    const t = await complete(["start", "-p", "mtty", "-t", ""]);
    assert.match(t.stdout, /^mtty-2\t/m);
    assert.doesNotMatch(t.stdout, /i915/);
    const u = await complete(["stop", "-u", ""]);
    assert.match(u.stdout, new RegExp(`^${RUNNING}\\t`, "m"));
    const s = await complete([""]);
    for (
      const sub of ["list", "types", "start-parent-mdevs", "parents", "modify"]
    ) {
      assert.match(s.stdout, new RegExp(`^${sub}\\t`, "m"));
    }
    // `vdevctl --root DIR complete`: the outer root, when the words name none.
    const outer = await run([
      `${REPO}/vdevctl`,
      "--root",
      dir,
      "complete",
      "--",
      "mdev",
      "start",
      "-p",
      "",
    ]);
    assert.equal(outer.code, 0, outer.stderr);
    assert.equal(outer.stdout, p.stdout);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
