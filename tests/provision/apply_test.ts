/**
 * Planning and applying on a fake host (the example mdev tree with a
 * simulated kernel; VDUSE and vDPA in memory): dependency order, diff
 * lines, prune, idempotence, `export | apply` changing nothing, rollback of
 * every step when one fails, the lock.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  applyManifest,
  exportManifest,
  hostDifferences,
  LOCK_PATH,
  lockHost,
  parseManifest,
  plan,
} from "../../lib/provision/mod.ts";
import { VdevError } from "../../lib/errors.ts";
import { FakeHost, snapshot } from "./fake_host.ts";

const U = "11111111-2222-4333-8444-555555555555";
const RUNNING = "b1b8c3b4-1d1e-4c5f-9a0e-6a7b8c9d0e1f"; // mtty-1, manual
const DEFINED = "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70"; // mtty-2, auto

const FULL = {
  mdev: [{ uuid: U, parent: "mtty", type: "mtty-1", start: "auto" }],
  vduse: [{ name: "vd0", type: "net", mac: "52:54:00:00:00:10", mtu: 1500 }],
  vdpa: [
    { name: "vd0", mgmtdev: "vduse", driver: "vhost_vdpa" },
    { name: "sim0", mgmtdev: "vdpasim_net", mac: "52:54:00:00:00:11" },
  ],
};

function withHost(fn: (h: FakeHost) => Promise<void> | void) {
  return async () => {
    const h = new FakeHost();
    try {
      await fn(h);
    } finally {
      h.dispose();
    }
  };
}

const manifest = (doc: unknown) => parseManifest(JSON.stringify(doc));

Deno.test(
  "apply: dependency order, then a second apply does nothing",
  withHost(async (h) => {
    const r = await applyManifest(h, manifest(FULL));
    assert.equal(r.changed, true);
    assert.deepEqual(r.actions.map((a) => a.text), [
      "+ vduse vd0 (net)",
      "+ vdpa vd0 (vduse)",
      "+ vdpa sim0 (vdpasim_net)",
      `+ mdev ${U} (mtty-1 on mtty, running)`,
    ]);
    assert.deepEqual(h.log, [
      "vduse-create vd0",
      "vdpa-add vd0",
      "vdpa-bind vd0 vhost_vdpa",
      "vdpa-add sim0",
      `mdev-define ${U}`,
      `mdev-start ${U}`,
    ]);
    // mdevctl's own file, mdevctl's format.
    assert.deepEqual(
      JSON.parse(Deno.readTextFileSync(`${h.dir}/etc/mdevctl.d/mtty/${U}`)),
      { mdev_type: "mtty-1", start: "auto", attrs: [] },
    );
    assert.ok(h.mdev.sysfs.loadActive(U));
    assert.equal(h.vdpa.get("vd0")?.driver, "vhost_vdpa");
    h.log = [];
    const again = await applyManifest(h, manifest(FULL));
    assert.deepEqual(again, { changed: false, actions: [], warnings: [] });
    assert.deepEqual(h.log, []);
    assert.deepEqual(hostDifferences(h, manifest(FULL)).actions, []);
  }),
);

Deno.test(
  "diff: changes in place, re-creation and its dependents, in apply's order",
  withHost(async (h) => {
    await applyManifest(h, manifest(FULL));
    const changed = structuredClone(FULL);
    changed.mdev[0].start = "manual";
    changed.vduse[0].mtu = 9000;
    const lines = hostDifferences(h, manifest(changed)).actions.map((a) =>
      a.text
    );
    assert.deepEqual(lines, [
      "- vdpa vd0",
      "~ vduse vd0: mtu 1500 -> 9000 (re-created)",
      "+ vdpa vd0 (vduse)",
      `~ mdev ${U}: start auto -> manual`,
    ]);
    h.log = [];
    await applyManifest(h, manifest(changed));
    assert.deepEqual(h.log, [
      "vdpa-del vd0",
      "vduse-destroy vd0",
      "vduse-create vd0",
      "vdpa-add vd0",
      "vdpa-bind vd0 vhost_vdpa",
      `mdev-define ${U}`,
    ]);
    assert.equal(h.vduse.get("vd0")?.mtu, 9000);
  }),
);

Deno.test(
  "plan: mdev states, driver changes, prune only of the named kinds",
  withHost(async (h) => {
    const cur = h.read().state;
    const p = (doc: unknown, prune = false) =>
      plan(cur, manifest(doc), { prune }).map((a) => a.text);
    const one = (item: Record<string, unknown>) => p({ mdev: [item] });
    const running = { uuid: RUNNING, parent: "mtty", type: "mtty-1" };
    const defined = { uuid: DEFINED, parent: "mtty", type: "mtty-2" };
    const cases: [Record<string, unknown>, string][] = [
      [
        { ...running, start: "auto" },
        `~ mdev ${RUNNING}: start manual -> auto`,
      ],
      [
        { ...running, state: "defined" },
        `~ mdev ${RUNNING}: state running -> defined`,
      ],
      [
        { ...defined, start: "auto", attrs: [{ x: "1" }] },
        `~ mdev ${DEFINED}: state defined -> running`,
      ],
      [{ ...defined, state: "absent" }, `- mdev ${DEFINED}`],
    ];
    for (const [item, line] of cases) assert.deepEqual(one(item), [line]);
    // No prune: unlisted devices stay; prune: only the kinds named.
    assert.deepEqual(p({ mdev: [] }), []);
    assert.deepEqual(p({ vdpa: [] }, true), []);
    const pruned = p({ mdev: [] }, true);
    assert.equal(pruned.length, 4);
    assert.ok(pruned.every((l) => l.startsWith("- mdev ")));
    await applyManifest(
      h,
      manifest({ vdpa: [{ name: "s", mgmtdev: "vdpasim_net" }] }),
    );
    assert.deepEqual(
      hostDifferences(
        h,
        manifest({
          vdpa: [{ name: "s", mgmtdev: "vdpasim_net", driver: "vhost_vdpa" }],
        }),
      ).actions.map((a) => a.text),
      ["~ vdpa s: driver virtio_vdpa -> vhost_vdpa"],
    );
    assert.deepEqual(
      hostDifferences(h, manifest({ vdpa: [] }), { prune: true }).actions.map((
        a,
      ) => a.text),
      ["- vdpa s"],
    );
  }),
);

Deno.test(
  "apply: a failing step undoes every step of this run, in reverse",
  withHost(async (h) => {
    await applyManifest(
      h,
      manifest({ vdpa: [{ name: "old", mgmtdev: "vdpasim_net" }] }),
    );
    const before = snapshot(h.dir);
    const vdpaBefore = structuredClone([...h.vdpa]);
    h.failOn = `mdev-start ${U}`;
    h.log = [];
    await assert.rejects(
      applyManifest(h, manifest(FULL)),
      (err: unknown) => {
        assert.ok(err instanceof VdevError);
        assert.match(
          err.message,
          new RegExp(
            `^apply failed at '\\+ mdev ${U} \\(mtty-1 on mtty, running\\)' \\(mdev-start\\): mdev-start ${U}: invalid argument \\(kernel: simulated refusal\\) \\[EINVAL\\]; undid 4 step\\(s\\); the host is as it was$`,
          ),
        );
        return true;
      },
    );
    // Undone after the failed start: the definition (not logged), then
    // the vDPA and VDUSE devices in reverse.
    assert.deepEqual(h.log, [
      "vduse-create vd0",
      "vdpa-add vd0",
      "vdpa-bind vd0 vhost_vdpa",
      "vdpa-add sim0",
      `mdev-define ${U}`,
      `mdev-start ${U}`,
      "vdpa-del sim0",
      "vdpa-del vd0",
      "vduse-destroy vd0",
    ]);
    assert.deepEqual(snapshot(h.dir), before);
    assert.deepEqual([...h.vdpa], vdpaBefore);
    assert.equal(h.vduse.size, 0);
  }),
);

Deno.test(
  "apply: a removal that fails puts back what was removed",
  withHost(async (h) => {
    const before = snapshot(h.dir);
    h.failOn = "vdpa-add x";
    await assert.rejects(
      applyManifest(
        h,
        manifest({
          mdev: [{
            uuid: RUNNING,
            parent: "mtty",
            type: "mtty-1",
            state: "absent",
          }],
          vdpa: [{ name: "x", mgmtdev: "vdpasim_net" }],
        }),
      ),
      /apply failed at '\+ vdpa x \(vdpasim_net\)' \(vdpa-add\).*undid 2 step/,
    );
    assert.deepEqual(snapshot(h.dir), before);
  }),
);

Deno.test(
  "apply: --dry-run and refused manifests change nothing",
  withHost(async (h) => {
    const before = snapshot(h.dir);
    const r = await applyManifest(h, manifest(FULL), { dryRun: true });
    assert.equal(r.actions.length, 4);
    assert.deepEqual(h.log, []);
    await assert.rejects(
      applyManifest(
        h,
        manifest({ ...FULL, vdpa: [{ name: "q", mgmtdev: "ifcvf" }] }),
      ),
      /vdpa\[0\]\.mgmtdev: unknown management device ifcvf/,
    );
    assert.deepEqual(h.log, []);
    assert.deepEqual(snapshot(h.dir), before);
  }),
);

Deno.test(
  "apply: verification failure rolls back",
  withHost(async (h) => {
    // A kernel that ignores the bind: the read-back shows the old driver.
    h.vdpaBind = (name) => {
      h.log.push(`vdpa-bind ${name} ignored`);
    };
    await assert.rejects(
      applyManifest(
        h,
        manifest({
          vdpa: [{ name: "s", mgmtdev: "vdpasim_net", driver: "vhost_vdpa" }],
        }),
      ),
      /^VdevError: apply failed verification: the host still needs '~ vdpa s: driver virtio_vdpa -> vhost_vdpa' after applying; undid 1 step/,
    );
    assert.equal(h.vdpa.size, 0);
    const r = await applyManifest(
      h,
      manifest({
        vdpa: [{ name: "s", mgmtdev: "vdpasim_net", driver: "vhost_vdpa" }],
      }),
      { verify: false },
    );
    assert.equal(r.changed, true);
  }),
);

Deno.test(
  "export | apply changes nothing",
  withHost(async (h) => {
    await applyManifest(h, manifest(FULL));
    const e = exportManifest(h.read().state);
    assert.match(e.warnings[0], /running without a definition: not exported/);
    const text = JSON.stringify(e.manifest);
    h.log = [];
    const r = await applyManifest(h, parseManifest(text));
    assert.equal(r.changed, false);
    assert.deepEqual(h.log, []);
    assert.equal(e.manifest.mdev.length, 4);
    assert.equal(e.manifest.vdpa.length, 2);
  }),
);

Deno.test(
  "lock: a second apply waits for the first",
  withHost(async (h) => {
    const lock = lockHost(h);
    assert.ok(Deno.statSync(h.root.path(LOCK_PATH)).isFile);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const f = Deno.openSync(${
          JSON.stringify(h.root.path(LOCK_PATH))
        }, {read: true, write: true}); const t = Date.now(); f.lockSync(true); console.log(Date.now() - t);`,
      ],
      stdout: "piped",
    }).spawn();
    // The child blocks on the lock until it is released.
    await new Promise((r) => setTimeout(r, 1500));
    lock.release();
    const out = await child.output();
    assert.ok(Number(new TextDecoder().decode(out.stdout)) >= 500);
  }),
);
