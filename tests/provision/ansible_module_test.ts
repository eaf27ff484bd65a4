/**
 * dist/ansible/vdevctl_apply on the host, against this checkout's vdevctl
 * on a fake mdev tree (VDEVCTL_ROOT): the module protocol as Ansible runs a
 * WANT_JSON module (`python3 MODULE ARGS_FILE`, one JSON object back), then
 * once through Debian's ansible-core itself. The real-kernel run is
 * tests/e2e/ansible_test.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { tempExampleTree } from "../mdev/fake_tree.ts";
import { runCommand } from "../command_output.ts";
import { ansibleApply } from "./ansible_run.ts";

const REPO = new URL("../..", import.meta.url).pathname;
const MODULE = `${REPO}dist/ansible/vdevctl_apply`;
const VDEVCTL = `${REPO}vdevctl`;
const U = "11111111-2222-4333-8444-555555555555";
const MANIFEST = {
  mdev: [{ uuid: U, parent: "mtty", type: "mtty-1", state: "defined" }],
};

/** Runs the module with `args` (as Ansible does); returns its result object. */
async function module(
  root: string,
  args: Record<string, unknown>,
): Promise<{ code: number; result: Record<string, unknown> }> {
  const file = `${root}/args.json`;
  Deno.writeTextFileSync(file, JSON.stringify({ vdevctl: VDEVCTL, ...args }));
  const r = await runCommand(["/usr/bin/python3", MODULE, file], {
    env: { VDEVCTL_ROOT: root },
  });
  assert.equal(r.stderr, "", "the module writes nothing to stderr");
  return { code: r.code, result: JSON.parse(r.stdout) };
}

const defined = (root: string) => existsSync(`${root}/etc/mdevctl.d/mtty/${U}`);

Deno.test("ansible module: check mode, diff, changed, unchanged", async () => {
  const root = tempExampleTree();
  try {
    const src = `${root}/m.json`;
    Deno.writeTextFileSync(src, JSON.stringify(MANIFEST));
    const line = `+ mdev ${U} (mtty-1 on mtty, defined)`;

    const check = await module(root, {
      src,
      _ansible_check_mode: true,
      _ansible_diff: true,
    });
    assert.equal(check.code, 0);
    assert.equal(check.result.changed, true);
    assert.deepEqual(check.result.diff, { prepared: `${line}\n` });
    assert.deepEqual(check.result.actions, [line]);
    assert.ok(!defined(root), "check mode wrote a definition");

    const first = await module(root, { src });
    assert.equal(first.result.changed, true);
    assert.equal(first.result.diff, undefined, "no diff unless asked");
    assert.ok(defined(root));

    const second = await module(root, { src, _ansible_diff: true });
    assert.equal(second.code, 0);
    assert.deepEqual(second.result, {
      changed: false,
      actions: [],
      diff: { prepared: "" },
      msg: "the host already matches the manifest",
    });

    // The same manifest inline (a mapping or its JSON text) is no change.
    for (const manifest of [MANIFEST, JSON.stringify(MANIFEST)]) {
      const r = await module(root, { manifest });
      assert.equal(r.result.changed, false, JSON.stringify(r.result));
    }
    // Inline, with prune="yes": the example tree's unlisted mdevs go.
    const pruned = await module(root, {
      manifest: MANIFEST,
      prune: "yes",
      _ansible_check_mode: true,
    });
    assert.equal(pruned.result.changed, true);
    assert.ok(
      (pruned.result.actions as string[]).some((a) => a.startsWith("- mdev")),
      JSON.stringify(pruned.result),
    );
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("ansible module: bad arguments and refused manifests fail the task", async () => {
  const root = tempExampleTree();
  try {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ src: "/nonexistent.json" }, /nonexistent\.json: cannot read it/],
      [{}, /give src .* or manifest, not both/],
      [{ src: "a", manifest: {} }, /not both/],
      [{ manifest: {}, bogus: 1 }, /unsupported parameters: bogus/],
      [{ manifest: {}, prune: "maybe" }, /prune: 'maybe' is not a boolean/],
      [{ manifest: "{" }, /manifest: not JSON/],
      [
        { manifest: { vdpa: [{ name: "x", mac: "zz" }] } },
        /vdpa\[0\]/,
      ],
    ];
    for (const [args, msg] of cases) {
      const r = await module(root, args);
      assert.equal(r.code, 1, JSON.stringify(args));
      assert.equal(r.result.failed, true);
      assert.equal(r.result.changed, false);
      assert.match(String(r.result.msg), msg);
    }
    assert.ok(!defined(root));
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("ansible module: through Debian's ansible-core, changed then ok", async () => {
  const root = tempExampleTree();
  try {
    const src = `${root}/m.json`;
    Deno.writeTextFileSync(src, JSON.stringify(MANIFEST));
    const run = () => ansibleApply(src, [], { env: { VDEVCTL_ROOT: root } });
    const first = await run();
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /^localhost \| CHANGED => \{/);
    assert.ok(defined(root));
    const second = await run();
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /^localhost \| SUCCESS => \{/);
    assert.match(second.stdout, /"changed": false/);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
