/**
 * mvnet[] entries on a fake tree: the supervised-process path with real
 * processes (a stand-in daemon, `fake_mvnet.sh` below, that makes its
 * netdev and VDUSE device directories in the tree and removes them on
 * SIGTERM), planned, applied, re-applied, killed, converged, pruned and
 * rolled back; export and the mvnet daemon's own VDUSE and vDPA devices;
 * the systemd path's command line (the shipped template unit's ExecStart
 * with apply's environment file is the supervised argv) and, with a
 * stand-in systemctl on PATH, the systemctl calls apply makes.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  applyManifest,
  exportManifest,
  hostDifferences,
  MVNET_DIR,
  MvnetServices,
  parseManifest,
  processArgv,
  unitEnvironment,
  unitName,
} from "../../lib/provision/mod.ts";
import { SysRoot } from "../../lib/root.ts";
import { buildSpec, VduseRecords } from "../../lib/vduse/mod.ts";
import { FakeHost } from "./fake_host.ts";
import { waitFor } from "./poll.ts";

const until = (what: string, fn: () => boolean) => waitFor(fn, what);

const REPO = new URL("../..", import.meta.url).pathname;
const MV = { name: "mv0", mac: "52:54:00:00:00:12" };

/** Stands in for `vdevctl --root DIR mvnet run NAME ...`. */
const FAKE_MVNET = `#!/bin/sh
root=$2 name=$5
dev="$root/sys/bus/vdpa/devices/$name"
case $name in bad*) echo "mvnet: VDUSE is not available"; exit 1;; esac
# hop*: first runs a while under a command line without "mvnet run NAME",
# as every exec on the way to the real daemon does for a moment.
case $name in hop*) [ -z "$HOPPED" ] && HOPPED=1 ARGS="$*" exec sh -c 'sleep 0.6; exec "$0" $ARGS' "$0";; esac
case $name in slow*) trap 'echo stopped; exit 0' TERM; while :; do sleep 0.05; done;; esac
trap 'rm -rf "$dev" "$root/sys/class/vduse/$name"; echo stopped; exit 0' TERM
mkdir -p "$root/sys/class/vduse/$name"
mkdir -p "$dev/virtio7/net/fk$name"
echo "fake mvnet $name up: $*"
while :; do sleep 0.05; done
`;

/** A fake host whose mvnet daemons are FAKE_MVNET processes. */
class MvnetHost extends FakeHost {
  /** The devices the dead daemons' cleanup removed. */
  cleaned: string[] = [];
  /** FAKE_MVNET's path. */
  readonly program: string;
  /** How long apply waits for a netdev. */
  netdevTimeoutMs = 60_000;

  constructor() {
    super();
    this.program = `${this.dir}/fake_mvnet.sh`;
    Deno.writeTextFileSync(this.program, FAKE_MVNET, { mode: 0o755 });
    // The daemons are real processes: the tree's /proc is the real one.
    Deno.symlinkSync("/proc", `${this.dir}/proc`);
  }

  override mvnetServices(): MvnetServices {
    return new MvnetServices(this.root, {
      program: this.program,
      log: () => {},
      netdevTimeoutMs: this.netdevTimeoutMs,
      // What cleanupStale does to a dead daemon's device, in the tree.
      cleanup: (name) => {
        this.cleaned.push(name);
        Deno.removeSync(`${this.dir}/sys/class/vduse/${name}`, {
          recursive: true,
        });
        Deno.removeSync(`${this.dir}/sys/bus/vdpa/devices/${name}`, {
          recursive: true,
        });
        return Promise.resolve();
      },
    });
  }

  file(name: string, ext: string): string {
    return `${this.dir}${MVNET_DIR}/${name}.${ext}`;
  }

  pid(name: string): number {
    return Number(Deno.readTextFileSync(this.file(name, "pid")).trim());
  }

  netdev(name: string): boolean {
    try {
      Deno.statSync(
        `${this.dir}/sys/bus/vdpa/devices/${name}/virtio7/net/fk${name}`,
      );
      return true;
    } catch {
      return false;
    }
  }

  /** Stops every daemon this test left (best effort). */
  override dispose(): void {
    for (const c of this.mvnetServices().read()) {
      try {
        Deno.kill(this.pid(c.name), "SIGKILL");
      } catch {
        // Gone, or not a process of ours.
      }
    }
    super.dispose();
  }
}

function alive(pid: number): boolean {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("mvnet");
  } catch {
    return false;
  }
}

const manifest = (doc: unknown) => parseManifest(JSON.stringify(doc));

function withHost(fn: (h: MvnetHost) => Promise<void>) {
  return async () => {
    const h = new MvnetHost();
    try {
      await fn(h);
    } finally {
      h.dispose();
    }
  };
}

Deno.test(
  "mvnet: apply starts a detached supervised daemon and waits for its netdev; re-apply does nothing",
  withHost(async (h) => {
    const r = await applyManifest(h, manifest({ mvnet: [MV] }));
    assert.deepEqual(r.actions.map((a) => a.text), [
      "+ mvnet mv0 (52:54:00:00:00:12)",
    ]);
    assert.ok(h.netdev("mv0"), "apply returned before the netdev existed");
    const pid = h.pid("mv0");
    assert.ok(alive(pid), `pid ${pid} is not the daemon`);
    // Its own session: the apply's terminal going away does not stop it.
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const sid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
    assert.equal(sid, pid, "not a session leader");
    await until("the log", () => {
      try {
        return Deno.readTextFileSync(h.file("mv0", "log")).includes(
          `fake mvnet mv0 up: --root ${h.dir} mvnet run mv0 --mac 52:54:00:00:00:12 --mtu 1500 --queue-size 1024`,
        );
      } catch {
        return false;
      }
    });
    const again = await applyManifest(h, manifest({ mvnet: [MV] }));
    assert.equal(again.changed, false);
    assert.deepEqual(hostDifferences(h, manifest({ mvnet: [MV] })).actions, []);
    assert.equal(h.pid("mv0"), pid, "re-apply restarted it");
  }),
);

Deno.test(
  "mvnet: a killed daemon is reported, apply converges, prune stops it",
  withHost(async (h) => {
    await applyManifest(h, manifest({ mvnet: [MV] }));
    const pid = h.pid("mv0");
    Deno.kill(pid, "SIGKILL");
    await until("the daemon to die", () => !alive(pid));
    const d = hostDifferences(h, manifest({ mvnet: [MV] })).actions;
    assert.deepEqual(d.map((a) => a.text), [
      `~ mvnet mv0: daemon not running (pid ${pid} is gone) -> running (restarted)`,
    ]);
    // Not running: not exported; its VDUSE device is no vduse[] entry.
    const e = exportManifest(h.read().state);
    assert.deepEqual(e.manifest.mvnet, []);
    assert.match(
      e.warnings.find((w) => w.startsWith("mvnet")) ?? "",
      /^mvnet mv0: its daemon is not running \(pid \d+ is gone\): not exported/,
    );
    await applyManifest(h, manifest({ mvnet: [MV] }));
    assert.deepEqual(h.cleaned, ["mv0"], "the dead daemon's device stayed");
    const pid2 = h.pid("mv0");
    assert.notEqual(pid2, pid);
    assert.ok(alive(pid2) && h.netdev("mv0"));
    // Another kind's prune leaves it alone; its own kind's removes it.
    await applyManifest(h, manifest({ vdpa: [] }), { prune: true });
    assert.ok(alive(pid2));
    const r = await applyManifest(h, manifest({ mvnet: [] }), { prune: true });
    assert.deepEqual(r.actions.map((a) => a.text), ["- mvnet mv0"]);
    assert.ok(!alive(pid2), "prune left the daemon running");
    assert.ok(!h.netdev("mv0"), "its devices are not gone");
    assert.throws(() => Deno.statSync(h.file("mv0", "pid")), /NotFound/);
    assert.deepEqual(h.mvnetServices().read(), []);
  }),
);

Deno.test(
  "mvnet: a later failing step stops the daemon this run started",
  withHost(async (h) => {
    h.failOn = "vdpa-add s1";
    await assert.rejects(
      applyManifest(
        h,
        manifest({
          mvnet: [MV],
          vdpa: [{ name: "s1", mgmtdev: "vdpasim_net" }],
        }),
      ),
      /^VdevError: apply failed at '\+ vdpa s1 \(vdpasim_net\)' \(vdpa-add\): .*; undid 1 step\(s\); the host is as it was$/,
    );
    assert.ok(!h.netdev("mv0"));
    assert.deepEqual(h.mvnetServices().read(), []);
  }),
);

Deno.test(
  "mvnet: a daemon that exits at start fails the step with its last line",
  withHost(async (h) => {
    await assert.rejects(
      applyManifest(h, manifest({ mvnet: [{ name: "bad0" }] })),
      (err: Error) => {
        assert.match(
          err.message,
          /^apply failed at '\+ mvnet bad0 \([0-9a-f:]+\)' \(mvnet-start\): mvnet bad0: the daemon exited before its netdev appeared \(exit status 1\): mvnet: VDUSE is not available \(see \S+\/run\/vdevctl\/mvnet\/bad0\.log\); undid 0 step\(s\)/,
        );
        return true;
      },
    );
    assert.deepEqual(h.mvnetServices().read(), [], "stale pid file left");
  }),
);

Deno.test(
  "mvnet: while the daemon starts, a command line that is not yet its own does not fail the step",
  withHost(async (h) => {
    const r = await applyManifest(h, manifest({ mvnet: [{ name: "hop0" }] }));
    assert.deepEqual(r.actions.map((a) => a.text.split(" (")[0]), [
      "+ mvnet hop0",
    ]);
    assert.ok(h.netdev("hop0"), "apply returned before the netdev existed");
    assert.ok(alive(h.pid("hop0")), "the daemon does not run");
  }),
);

Deno.test(
  "mvnet: a daemon without a netdev in time fails the step and is stopped",
  withHost(async (h) => {
    h.netdevTimeoutMs = 1500;
    await assert.rejects(
      applyManifest(h, manifest({ mvnet: [{ name: "slow0" }] })),
      /\(mvnet-start\): mvnet slow0: no netdev after 1\.5 s \(is virtio_net loaded\? see \S+\/run\/vdevctl\/mvnet\/slow0\.log\); undid 0 step\(s\)/,
    );
    assert.deepEqual(h.mvnetServices().read(), [], "pid file left");
    await until(
      "the log",
      () => Deno.readTextFileSync(h.file("slow0", "log")).includes("stopped"),
    );
  }),
);

Deno.test(
  "mvnet: export reports the daemon (from its VDUSE record), not its VDUSE and vDPA devices",
  withHost(async (h) => {
    await applyManifest(h, manifest({ mvnet: [MV] }));
    // What the daemon's createDevice records, and its devices in the
    // vduse and vdpa views.
    new VduseRecords(h.root).write(
      buildSpec("mv0", {
        type: "net",
        mac: MV.mac,
        mtu: 1500,
        queueSize: 1024,
      }),
    );
    h.vduse.set("mv0", { name: "mv0", type: "net", queue_size: 1024 });
    h.vdpa.set("mv0", { name: "mv0", mgmtdev: "vduse" });
    h.vdpa.set("sim0", { name: "sim0", mgmtdev: "vdpasim_net" });
    const e = exportManifest(h.read().state);
    assert.deepEqual(e.manifest.mvnet, [
      { name: "mv0", mac: MV.mac, mtu: 1500, queue_size: 1024 },
    ]);
    assert.deepEqual(e.manifest.vduse, []);
    assert.deepEqual(e.manifest.vdpa, [{
      name: "sim0",
      mgmtdev: "vdpasim_net",
    }]);
    // export | apply: nothing to do; --prune of these kinds neither (the
    // example tree's transient mdev cannot be exported: mdev left out).
    const { mdev: _, ...devices } = e.manifest;
    assert.deepEqual(
      (await applyManifest(h, manifest(e.manifest))).actions,
      [],
    );
    assert.deepEqual(
      (await applyManifest(h, manifest(devices), { prune: true })).actions,
      [],
    );
    // A changed field restarts it.
    const d = hostDifferences(h, manifest({ mvnet: [{ ...MV, mtu: 9000 }] }));
    assert.deepEqual(d.actions.map((a) => a.text), [
      "~ mvnet mv0: mtu 1500 -> 9000 (restarted)",
    ]);
  }),
);

Deno.test("mvnet: the template unit's ExecStart with apply's environment is the supervised argv", () => {
  const unit = Deno.readTextFileSync(
    `${REPO}dist/systemd/vdevctl-mvnet@.service`,
  );
  const exec = unit.split("\n").find((l) => l.startsWith("ExecStart="))!;
  const env = unitEnvironment({ ...MV, mtu: 9000, queue_size: 256 });
  assert.match(env, /^MVNET_ARGS=[^\n]*\n$/);
  assert.match(unit, /^EnvironmentFile=\/run\/vdevctl\/mvnet\/%i\.env$/m);
  const args = env.trim().slice("MVNET_ARGS=".length).split(" ");
  // systemd: %i is the instance, an unbraced $VAR splits into words.
  const argv = exec.slice("ExecStart=".length).split(" ").flatMap((w) =>
    w === "$MVNET_ARGS" ? args : [w.replaceAll("%i", "mv0")]
  );
  assert.deepEqual(
    argv,
    processArgv({ ...MV, mtu: 9000, queue_size: 256 }, {
      program: "/usr/bin/vdevctl",
      root: new SysRoot("/"),
    }),
  );
  assert.deepEqual(argv.slice(1, 4), ["mvnet", "run", "mv0"]);
  assert.equal(unitName("mv0"), "vdevctl-mvnet@mv0.service");
});

Deno.test(
  "mvnet: where systemd runs, apply starts and stops the unit instance (stand-in systemctl)",
  withHost(async (h) => {
    Deno.mkdirSync(`${h.dir}/run/systemd/system`, { recursive: true });
    const bin = `${h.dir}/bin`;
    Deno.mkdirSync(bin);
    // Logs its arguments; start makes the instance's netdev, stop removes it.
    Deno.writeTextFileSync(
      `${bin}/systemctl`,
      `#!/bin/sh
echo "$*" >> "${h.dir}/systemctl.log"
inst=\${2#vdevctl-mvnet@}; inst=\${inst%.service}
case $1 in
start) mkdir -p "${h.dir}/sys/bus/vdpa/devices/$inst/virtio7/net/fk$inst"; touch "${h.dir}/active.$inst";;
stop) rm -rf "${h.dir}/sys/bus/vdpa/devices/$inst" "${h.dir}/active.$inst";;
is-active) [ -e "${h.dir}/active.$inst" ] || { echo inactive; exit 3; };;
esac
`,
      { mode: 0o755 },
    );
    const path = Deno.env.get("PATH") ?? "";
    Deno.env.set("PATH", `${bin}:${path}`);
    try {
      await applyManifest(h, manifest({ mvnet: [MV] }));
      assert.equal(
        Deno.readTextFileSync(h.file("mv0", "env")),
        "MVNET_ARGS=--mac 52:54:00:00:00:12 --mtu 1500 --queue-size 1024\n",
      );
      assert.ok(h.netdev("mv0"));
      assert.deepEqual(h.mvnetServices().read().map((c) => c.service), [
        "systemd",
      ]);
      await applyManifest(h, manifest({ mvnet: [] }), { prune: true });
      assert.deepEqual(
        Deno.readTextFileSync(`${h.dir}/systemctl.log`).trim().split("\n")
          .filter((l) => !l.startsWith("is-active")),
        [
          "reset-failed vdevctl-mvnet@mv0.service",
          "start vdevctl-mvnet@mv0.service",
          "stop vdevctl-mvnet@mv0.service",
        ],
      );
      assert.throws(() => Deno.statSync(h.file("mv0", "env")), /NotFound/);
    } finally {
      Deno.env.set("PATH", path);
    }
  }),
);
