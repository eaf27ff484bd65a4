/**
 * The shipped udev rules under a real systemd-udevd (started without
 * systemd, as on a host without it) on the real kernel: vdevctl installed
 * onto the guest's `/` with `deno task install --prefix /usr` (the rules
 * then run `/usr/bin/vdevctl`, what users get), then
 *
 * - 90-vdevctl.rules: a manifest in /etc/vdevctl (an mdev on mtty with
 *   start auto, a vDPA device on vdpasim_net, a VDUSE device, an mvnet
 *   daemon), and each module loaded in turn (mtty, vdpa_sim_net, vduse)
 *   brings its devices (the mvnet daemon, started by the background apply,
 *   outlives the event and udevd):
 *   mtty's CHANGE uevent with MDEV_STATE=registered, the modules' "add"
 *   uevents (sent after their init); and a replayed "add" of the mtty
 *   parent (coldplug, `udevadm trigger`) brings a removed mdev back;
 * - 61-vdevctl-mdev.rules (installed because mdevctl's rule was removed
 *   from the overlay first): an mdevctl definition in /etc/mdevctl.d
 *   started when mtty registers (`start-parent-mdevs` through the rule).
 *
 * The guest's / is the host's under a tmpfs overlay: nothing reaches the
 * host. Refuses to run outside the sandbox; fails when udevd cannot start.
 *
 *   ./vdevctl sandbox run --modules mtty,vdpa_sim_net,vduse,virtio_vdpa,virtio_net -- \
 *     ./node_modules/.bin/deno test -A tests/e2e/udev_test.ts
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { runCommand } from "../command_output.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const DENO = `${REPO}/node_modules/.bin/deno`;
const SYSTEM_PATH =
  "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const ENV = { PATH: SYSTEM_PATH, SYSTEMD_IGNORE_CHROOT: "1" };
const RULES = "/usr/lib/udev/rules.d";
const MDEVCTL_RULE = `${RULES}/60-mdevctl.rules`;
const APPLY_LOG = "/run/vdevctl/apply.log";
const U1 = "4b2e6a3c-0d1f-4c7a-9e55-1a2b3c4d5e61";
const U2 = "4b2e6a3c-0d1f-4c7a-9e55-1a2b3c4d5e62";
const WAIT_MS = 180_000;

function inSandbox(): void {
  assert.equal(
    Deno.env.get("VDEVCTL_SANDBOX"),
    "1",
    "installs onto / and reloads modules: run it in the sandbox (deno task e2e tests/e2e/udev_test.ts)",
  );
}

function run(argv: string[]) {
  return runCommand(argv, { cwd: "/tmp", env: ENV });
}

async function must(argv: string[]): Promise<string> {
  const r = await run(argv);
  assert.equal(r.code, 0, `${argv.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

function task(args: string[]) {
  return runCommand([DENO, "run", "-A", `${REPO}/tools/install.ts`, ...args], {
    cwd: REPO,
  });
}

function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "(none)";
  }
}

/** Waits until `ok()`; the failure names `what` and the apply log. */
async function until(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!ok()) {
    if (Date.now() > deadline) {
      const log = readOr(APPLY_LOG);
      assert.fail(
        `${what} not after ${WAIT_MS / 1000} s; ${APPLY_LOG}: ${log}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until `path` exists. */
function appears(path: string): Promise<void> {
  return until(() => existsSync(path), path);
}

/** The netdev over vDPA device `name`, if any. */
function netdevOf(name: string): string | undefined {
  const dir = `/sys/bus/vdpa/devices/${name}`;
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (!e.name.startsWith("virtio")) continue;
      for (const n of Deno.readDirSync(`${dir}/${e.name}/net`)) return n.name;
    }
  } catch {
    // Not there (yet).
  }
  return undefined;
}

/** True while the supervised mvnet daemon of `name` runs. */
function daemonRuns(name: string): boolean {
  const pid = readOr(`/run/vdevctl/mvnet/${name}.pid`).trim();
  return /^\d+$/.test(pid) &&
    readOr(`/proc/${pid}/cmdline`).split("\0").includes(name);
}

/** Unloads `mods` (their devices go with them). */
async function unload(mods: string[]): Promise<void> {
  for (const m of mods) {
    if (existsSync(`/sys/module/${m}`)) await must(["rmmod", m]);
  }
}

/** Runs `fn` with udevd up (it must start), then stops it. */
async function withUdevd(fn: () => Promise<void>): Promise<void> {
  const udevd = await run(["/lib/systemd/systemd-udevd", "--daemon"]);
  assert.equal(udevd.code, 0, `systemd-udevd cannot start: ${udevd.stderr}`);
  try {
    await fn();
  } finally {
    await run(["udevadm", "control", "--exit"]);
  }
}

/** Runs `fn` with mdevctl's rule removed from the guest's overlay. */
async function withoutMdevctlRule(fn: () => Promise<void>): Promise<void> {
  const saved = Deno.readTextFileSync(MDEVCTL_RULE);
  Deno.removeSync(MDEVCTL_RULE);
  try {
    await fn();
  } finally {
    Deno.writeTextFileSync(MDEVCTL_RULE, saved);
  }
}

Deno.test("udev: 90-vdevctl.rules applies /etc/vdevctl when mtty, vdpa_sim_net and vduse appear", async () => {
  inSandbox();
  assert.ok(existsSync(MDEVCTL_RULE), "the host's mdevctl rule is there");
  const r = await task(["install", "--prefix", "/usr"]);
  assert.equal(r.code, 0, r.stderr);
  const rule = Deno.readTextFileSync(`${RULES}/90-vdevctl.rules`);
  assert.match(rule, /RUN\+="\/usr\/bin\/vdevctl apply --etc --from-udev"/);
  assert.ok(existsSync("/usr/bin/vdevctl"));
  try {
    await unload(["mtty", "vdpa_sim_net", "vduse"]);
    Deno.mkdirSync("/etc/vdevctl", { recursive: true });
    Deno.writeTextFileSync(
      "/etc/vdevctl/udev.json",
      JSON.stringify({
        mdev: [{ uuid: U1, parent: "mtty", type: "mtty-1", start: "auto" }],
        vdpa: [{
          name: "udsim0",
          mgmtdev: "vdpasim_net",
          mac: "52:54:00:00:00:31",
        }],
        vduse: [{ name: "udvd0", type: "net", mac: "52:54:00:00:00:32" }],
        mvnet: [{ name: "udmv0", mac: "52:54:00:00:00:33" }],
      }),
    );
    assert.ok(!existsSync(`/etc/mdevctl.d/mtty/${U1}`), "no definition yet");
    await withUdevd(async () => {
      for (
        const [mod, path] of [
          ["mtty", `/sys/bus/mdev/devices/${U1}`],
          ["vdpa_sim_net", "/sys/bus/vdpa/devices/udsim0"],
          ["vduse", "/sys/class/vduse/udvd0"],
        ]
      ) {
        await must(["modprobe", mod]);
        await run(["udevadm", "settle", "--timeout=120"]);
        await appears(path);
      }
      // The mvnet daemon the background apply started, and its netdev
      // (apply waits for it: longer than a RUN program may take).
      await until(
        () => netdevOf("udmv0") !== undefined,
        "mvnet udmv0's netdev",
      );
      // Coldplug: an mdev parent registered before udevd ran gets its
      // "add" replayed (`udevadm trigger`), with its types in place.
      // mdevctl's rule would start the mdev on that "add" too: out of the
      // way, so what comes back is 90-vdevctl.rules' doing.
      await withoutMdevctlRule(async () => {
        await must(["udevadm", "control", "--reload"]);
        Deno.writeTextFileSync(`/sys/bus/mdev/devices/${U1}/remove`, "1");
        assert.ok(!existsSync(`/sys/bus/mdev/devices/${U1}`));
        await must([
          "udevadm",
          "trigger",
          "--action=add",
          "/sys/devices/virtual/mtty/mtty",
        ]);
        await run(["udevadm", "settle", "--timeout=120"]);
        await appears(`/sys/bus/mdev/devices/${U1}`);
      });
    });
    // The mdev is mdevctl's, defined by the apply the rule ran.
    const def = JSON.parse(Deno.readTextFileSync(`/etc/mdevctl.d/mtty/${U1}`));
    assert.equal(def.mdev_type, "mtty-1");
    assert.equal(def.start, "auto");
    const cfg = JSON.parse(
      await must(["vdpa", "-j", "dev", "config", "show", "udsim0"]),
    );
    assert.equal(cfg.config.udsim0.mac, "52:54:00:00:00:31");
    assert.match(readOr(APPLY_LOG), /\+ vduse udvd0/);
    assert.match(readOr(APPLY_LOG), /\+ mvnet udmv0/);
    assert.ok(daemonRuns("udmv0"), "the daemon outlives the event and udevd");
  } finally {
    Deno.writeTextFileSync("/tmp/udev-none.json", '{"mvnet": []}');
    await must(["/usr/bin/vdevctl", "apply", "--prune", "/tmp/udev-none.json"]);
    assert.ok(!existsSync("/sys/class/vduse/udmv0"), "mvnet udmv0 stopped");
    Deno.removeSync("/etc/vdevctl/udev.json", { recursive: true });
    await run(["vdpa", "dev", "del", "udsim0"]);
    await run(["/usr/bin/vdevctl", "vduse", "destroy", "udvd0"]);
    await run(["/usr/bin/vdevctl", "mdev", "undefine", "-u", U1]);
    await unload(["mtty"]);
    await must(["modprobe", "-a", "mtty", "vdpa_sim_net", "vduse"]);
    const u = await task(["uninstall", "--prefix", "/usr"]);
    assert.equal(u.code, 0, u.stderr);
  }
});

Deno.test("udev: without mdevctl's rule, 61-vdevctl-mdev.rules starts /etc/mdevctl.d's auto mdevs when mtty registers", async () => {
  inSandbox();
  await withoutMdevctlRule(async () => {
    const r = await task(["install", "--prefix", "/usr"]);
    assert.equal(r.code, 0, r.stderr);
    const rule = Deno.readTextFileSync(`${RULES}/61-vdevctl-mdev.rules`);
    assert.match(rule, /^ACTION=="change", ENV\{MDEV_STATE\}=="registered", /m);
    assert.match(rule, /\/usr\/bin\/vdevctl mdev start-parent-mdevs %k/);
    try {
      await unload(["mtty"]);
      Deno.mkdirSync("/etc/mdevctl.d/mtty", { recursive: true });
      Deno.writeTextFileSync(
        `/etc/mdevctl.d/mtty/${U2}`,
        JSON.stringify({ mdev_type: "mtty-2", start: "auto", attrs: [] }),
      );
      await withUdevd(async () => {
        await must(["modprobe", "mtty"]);
        await run(["udevadm", "settle", "--timeout=120"]);
        await appears(`/sys/bus/mdev/devices/${U2}`);
      });
      assert.equal(
        Deno.readLinkSync(`/sys/bus/mdev/devices/${U2}/mdev_type`)
          .split("/").pop(),
        "mtty-2",
      );
    } finally {
      await run(["/usr/bin/vdevctl", "mdev", "undefine", "-u", U2]);
      await unload(["mtty"]);
      await must(["modprobe", "mtty"]);
      const u = await task(["uninstall", "--prefix", "/usr"]);
      assert.equal(u.code, 0, u.stderr);
    }
  });
});
