/**
 * mvnet[] manifest entries on the real 6.12 kernel (vduse, vdpa,
 * virtio_vdpa, virtio_net, vdpa_sim_net): the guest has no systemd as
 * PID 1, so apply runs the daemon as a supervised background process.
 * apply returns once the netdev exists, the daemon outlives apply and
 * carries traffic, a second apply changes nothing, assert and
 * `export | apply -` agree; a SIGKILLed daemon is a difference that the
 * next apply converges; prune stops it and its devices go; a later step the
 * kernel refuses rolls back the daemon this run started. Run inside the
 * sandbox:
 *
 *   ./vdevctl sandbox run --modules vduse,vdpa,virtio_vdpa,virtio_net,vdpa_sim_net -- \
 *     ./node_modules/.bin/deno test -A tests/e2e/provision_mvnet_test.ts
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { ok, sh, VDEVCTL, vdevctl } from "./provision_cli.ts";
import { bringUp, exchange } from "../../lib/mvnet/mod.ts";
import { MvnetServices } from "../../lib/provision/mod.ts";
import { resolveRoot } from "../../lib/root.ts";
import { VdpaBus } from "../../lib/vdpa/mod.ts";
import { schemaValidator } from "../schema/validate.ts";
import { waitFor } from "../provision/poll.ts";

const until = (what: string, fn: () => boolean) => waitFor(fn, what);

const MV = { name: "pmv0", mac: "52:54:00:00:00:12" };
const PIDFILE = "/run/vdevctl/mvnet/pmv0.pid";
const root = resolveRoot();
const bus = new VdpaBus(root);
const services = new MvnetServices(root);
const isDaemon = (p: number, name: string) => services.isDaemon(p, name);
const { validate } = schemaValidator();

function write(name: string, doc: unknown): string {
  const path = `/tmp/${name}.json`;
  Deno.writeTextFileSync(path, JSON.stringify(doc));
  return path;
}

function pid(): number {
  const text = Deno.readTextFileSync(PIDFILE).trim();
  const n = Number(text);
  assert.ok(Number.isInteger(n) && n > 1, `${PIDFILE} holds '${text}'`);
  return n;
}

/** The device of `name` is gone: VDUSE device, vDPA device, netdev. */
function gone(name: string): boolean {
  return !existsSync(`/sys/class/vduse/${name}`) &&
    !existsSync(`/dev/vduse/${name}`) && !bus.exists(name);
}

Deno.test("provision: mvnet[] as a supervised daemon on the real kernel", async (t) => {
  const desired = write("mv", { mvnet: [MV] });
  let first = 0;

  await t.step(
    "apply starts it and returns once its netdev exists",
    async () => {
      const plan = JSON.parse(await ok("diff", "--json", desired));
      validate("provision-diff", plan);
      const j = JSON.parse(await ok("apply", "--json", desired));
      validate("provision-apply", j);
      assert.deepEqual(j, {
        changed: true,
        actions: [{
          op: "+",
          kind: "mvnet",
          id: "pmv0",
          text: "+ mvnet pmv0 (52:54:00:00:00:12)",
        }],
      });
      const netdev = bus.netdev("pmv0");
      assert.ok(netdev, "no netdev when apply returned");
      assert.equal(
        Deno.readTextFileSync(`/sys/class/net/${netdev}/address`).trim(),
        MV.mac,
      );
      first = pid();
      assert.ok(isDaemon(first, "pmv0"), `pid ${first} is not the daemon`);
    },
  );

  await t.step("the daemon outlives apply and carries traffic", async () => {
    const stats = JSON.parse(await ok("mvnet", "stats", "--json", "pmv0"));
    assert.equal(stats.mac, MV.mac);
    const netdev = bus.netdev("pmv0")!;
    await bringUp(netdev, { root });
    const r = await exchange({ name: "pmv0", mac: MV.mac }, netdev, {
      frames: 100,
      root,
    });
    assert.equal(r.received, 100, `${r.lost} lost, ${r.corrupted} corrupted`);
    assert.ok(
      Deno.readTextFileSync("/run/vdevctl/mvnet/pmv0.log").includes(
        "mvnet: pmv0 created",
      ),
      "the daemon's output is not in its log",
    );
  });

  await t.step("a second apply and assert: nothing to do", async () => {
    assert.equal(
      await ok("apply", desired),
      "no changes: the host already matches the manifest\n",
    );
    await ok("assert", desired);
    assert.equal(pid(), first);
  });

  await t.step(
    "export holds the daemon, not its VDUSE and vDPA devices; export | apply - is a no-op",
    async () => {
      const e = JSON.parse(await ok("export", "--json"));
      validate("provision-manifest", e);
      assert.deepEqual(
        e.mvnet.filter((m: { name: string }) => m.name === "pmv0"),
        [{ name: "pmv0", mac: MV.mac, mtu: 1500, queue_size: 1024 }],
      );
      assert.ok(!e.vduse.some((d: { name: string }) => d.name === "pmv0"));
      assert.ok(!e.vdpa.some((d: { name: string }) => d.name === "pmv0"));
      const r = await sh(`${VDEVCTL} export | ${VDEVCTL} apply --json -`);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { changed: false, actions: [] });
    },
  );

  await t.step(
    "a killed daemon: assert reports it, apply converges",
    async () => {
      // Never kill(0): that is this test's own process group.
      assert.ok(first > 1, "the first step left no daemon to kill");
      Deno.kill(first, "SIGKILL");
      await until("the daemon to die", () => !isDaemon(first, "pmv0"));
      const r = await vdevctl("assert", desired);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(
        r.stdout,
        `~ mvnet pmv0: daemon not running (pid ${first} is gone) -> running (restarted)\n`,
      );
      // Its device stayed behind (nobody destroyed it).
      assert.ok(existsSync("/sys/class/vduse/pmv0"));
      const out = await ok("apply", desired);
      assert.match(out, /^~ mvnet pmv0: daemon not running/);
      const second = pid();
      assert.notEqual(second, first);
      assert.ok(isDaemon(second, "pmv0"));
      assert.ok(bus.netdev("pmv0"), "no netdev after converging");
      await ok("assert", desired);
    },
  );

  await t.step("prune stops it and its devices go", async () => {
    const p = pid();
    const out = await ok("apply", "--prune", write("none", { mvnet: [] }));
    assert.equal(out, "- mvnet pmv0\n");
    assert.ok(!isDaemon(p, "pmv0"), "the daemon still runs");
    assert.ok(gone("pmv0"), "its devices are still there");
    assert.ok(!existsSync(PIDFILE));
    const e = JSON.parse(await ok("export", "--json"));
    assert.deepEqual(e.mvnet, []);
  });

  await t.step(
    "a later step the kernel refuses stops the daemon this run started",
    async () => {
      const bad = write("bad", {
        mvnet: [{ name: "pmv1" }],
        vdpa: [{ name: "pmbad", mgmtdev: "vdpasim_net", max_vqp: 2 }],
      });
      const r = await vdevctl("apply", bad);
      assert.equal(r.code, 1);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0],
        /^vdevctl: apply failed at '\+ vdpa pmbad \(vdpasim_net\)' \(vdpa-add\): .*\[EOPNOTSUPP\]; undid 1 step\(s\); the host is as it was$/,
      );
      assert.ok(gone("pmv1"), "the started daemon's device is still there");
      assert.ok(!existsSync("/run/vdevctl/mvnet/pmv1.pid"));
      const e = JSON.parse(await ok("export", "--json"));
      assert.deepEqual(e.mvnet, []);
    },
  );
});
