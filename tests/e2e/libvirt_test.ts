/**
 * libvirt as mdevctl's client, on the real kernel with mtty: Debian 12's
 * libvirtd (node-device driver only, started without systemd, with udevd)
 * runs `mdevctl` from its PATH. The same virsh scenario (nodedev-define with
 * a given and a generated UUID, nodedev-list --cap mdev [--all|--inactive],
 * nodedev-start, nodedev-autostart, nodedev-dumpxml, a failing
 * nodedev-start, nodedev-destroy, nodedev-undefine) runs once over Debian's
 * mdevctl and once over vdevctl's mdevctl personality; the outcomes (exit
 * status, device lists, definition files, sysfs) must be equal, and
 * libvirt's error messages must name mdevctl, never `vdevctl mdev`. Run
 * inside the sandbox:
 *
 *   deno task e2e tests/e2e/libvirt_test.ts
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { runCommand } from "../command_output.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const DRIVER =
  "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_nodedev.so";
const SYSTEM_PATH =
  "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const ETC = "/etc/mdevctl.d";
const PARENT = "mtty_mtty";
const UUID = "8f1d1b36-2d6b-4a2f-9a0e-0f4a6c2b7a11";
/** Deadline for one condition: libvirt runs mdevctl (a Deno program: 1-6 s) per event. */
const WAIT_MS = 180_000;

const udevEnv = { PATH: SYSTEM_PATH, SYSTEMD_IGNORE_CHROOT: "1" };

function requireSandbox(): void {
  assert.equal(
    Deno.env.get("VDEVCTL_SANDBOX"),
    "1",
    "runs libvirtd on /: run it in the sandbox (deno task e2e tests/e2e/libvirt_test.ts)",
  );
}

const virsh = (args: string[]) =>
  runCommand(["virsh", "-c", "nodedev:///system", ...args], {
    env: { PATH: SYSTEM_PATH, HOME: "/root", LC_ALL: "C.UTF-8" },
  });

/** Polls `probe` until it returns a value (not undefined) or the deadline passes. */
async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let pause = 100;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      const all = await virsh(["nodedev-list", "--all"]);
      throw new Error(`timed out waiting for ${what}; listed: ${all.stdout}`);
    }
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 2000);
  }
}

/** mdev node-device names virsh lists with `flags` (sorted). */
async function names(flags: string[]): Promise<string[]> {
  const r = await virsh(["nodedev-list", "--cap", "mdev", ...flags]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").map((l) => l.trim()).filter((l) => l !== "")
    .sort();
}

/** The definition files under /etc/mdevctl.d (parent/uuid → parsed JSON). */
function definitions(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of Deno.readDirSync(ETC)) {
    if (!p.isDirectory || p.name === "scripts.d") continue;
    for (const f of Deno.readDirSync(`${ETC}/${p.name}`)) {
      out[`${p.name}/${f.name}`] = JSON.parse(
        Deno.readTextFileSync(`${ETC}/${p.name}/${f.name}`),
      );
    }
  }
  return out;
}

const running = (uuid: string) => existsSync(`/sys/bus/mdev/devices/${uuid}`);

/** The node-device name of `uuid` (libvirt: mdev_UUID_PARENTSYSFSNAME). */
const nameOf = (uuid: string) => `mdev_${uuid.replaceAll("-", "_")}_mtty`;

/** Starts libvirtd with `path` as its PATH (where it finds mdevctl); returns its pid. */
async function startLibvirtd(path: string, dir: string): Promise<number> {
  const drivers = `${dir}/drivers`;
  Deno.mkdirSync(drivers, { recursive: true });
  if (!existsSync(`${drivers}/libvirt_driver_nodedev.so`)) {
    Deno.symlinkSync(DRIVER, `${drivers}/libvirt_driver_nodedev.so`);
  }
  // libvirt watches /etc/mdevctl.d only if it exists at start.
  Deno.mkdirSync(ETC, { recursive: true });
  const r = await runCommand(["libvirtd", "-d", "-p", `${dir}/libvirtd.pid`], {
    env: {
      PATH: path,
      HOME: "/root",
      LIBVIRT_DRIVER_DIR: drivers,
      // Without libvirt-daemon-system there is no /var/log/libvirt.
      LIBVIRT_LOG_OUTPUTS: `3:file:${dir}/libvirtd.log`,
      LC_ALL: "C.UTF-8",
    },
  });
  assert.equal(r.code, 0, `libvirtd -d: ${r.stderr}`);
  await until("libvirtd to answer", async () => {
    const l = await virsh(["nodedev-list"]);
    return l.code === 0 && l.stdout.includes(PARENT) ? true : undefined;
  });
  return Number(Deno.readTextFileSync(`${dir}/libvirtd.pid`).trim());
}

async function stopProcess(pid: number): Promise<void> {
  // Never kill(0) or kill(-1): this test's own group, or everything.
  assert.ok(Number.isInteger(pid) && pid > 1, `no process to stop: ${pid}`);
  try {
    Deno.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  await until(
    `process ${pid} to exit`,
    () => Promise.resolve(existsSync(`/proc/${pid}`) ? undefined : true),
  );
}

/** What one step left behind: compared between the two runs. */
interface Outcome {
  step: string;
  code: number;
  all: string[];
  inactive: string[];
  active: string[];
  files: Record<string, unknown>;
  sysfs: boolean;
}

/** Replaces the generated UUID by a placeholder so runs compare. */
function normalize(o: Outcome, generated: string | undefined): Outcome {
  if (generated === undefined) return o;
  const swap = (s: string) =>
    s.replaceAll(generated, "GENERATED").replaceAll(
      generated.replaceAll("-", "_"),
      "GENERATED",
    );
  const n: Outcome = JSON.parse(swap(JSON.stringify(o)));
  for (const l of [n.all, n.inactive, n.active]) l.sort();
  return n;
}

/** Runs the virsh scenario; returns each step's outcome and the failing start's message. */
async function scenario(
  dir: string,
): Promise<{ outcomes: Outcome[]; failure: string; dumpxml: string }> {
  const xml = (type: string, uuid?: string) =>
    `<device>\n  <parent>${PARENT}</parent>\n  <capability type='mdev'>\n` +
    `    <type id='${type}'/>\n` +
    (uuid ? `    <uuid>${uuid}</uuid>\n` : "") +
    `  </capability>\n</device>\n`;
  Deno.writeTextFileSync(`${dir}/dev.xml`, xml("mtty-1", UUID));
  Deno.writeTextFileSync(`${dir}/bad.xml`, xml("mtty-9"));
  const name = nameOf(UUID);
  const outcomes: Outcome[] = [];
  const gen: { uuid?: string } = {};
  const record = async (step: string, code: number) => {
    const o: Outcome = {
      step,
      code,
      all: await names(["--all"]),
      inactive: await names(["--inactive"]),
      active: await names([]),
      files: definitions(),
      sysfs: running(UUID),
    };
    outcomes.push(normalize(o, gen.uuid));
  };
  const listed = (flags: string[], want: boolean) => async () =>
    (await names(flags)).includes(name) === want ? true : undefined;

  await record("before", 0);
  let r = await virsh(["nodedev-define", `${dir}/dev.xml`]);
  assert.equal(r.code, 0, `nodedev-define: ${r.stderr}`);
  console.log(`define: ${r.stdout.trim()}`);
  await until("the defined device", listed(["--inactive"], true));
  await record("define", r.code);

  r = await virsh(["nodedev-start", name]);
  assert.equal(r.code, 0, `nodedev-start: ${r.stderr}`);
  await until("the started device", listed([], true));
  await record("start", r.code);

  r = await virsh(["nodedev-autostart", name]);
  assert.equal(r.code, 0, `nodedev-autostart: ${r.stderr}`);
  await until("autostart in nodedev-info", async () => {
    const i = await virsh(["nodedev-info", name]);
    return /^Autostart:\s+yes$/m.test(i.stdout) ? true : undefined;
  });
  await record("autostart", r.code);

  const dump = await virsh(["nodedev-dumpxml", name]);
  assert.equal(dump.code, 0, `nodedev-dumpxml: ${dump.stderr}`);

  // A definition without a UUID: libvirt reads the generated one from
  // mdevctl's stdout. Its type does not exist, so starting it fails.
  const before = await names(["--inactive"]);
  r = await virsh(["nodedev-define", `${dir}/bad.xml`]);
  assert.equal(r.code, 0, `nodedev-define (generated UUID): ${r.stderr}`);
  const badName = await until("the generated device", async () => {
    const now = await names(["--inactive"]);
    return now.find((n) => !before.includes(n));
  });
  const m = /^Node device '(mdev_\S+)' defined from/m.exec(r.stdout);
  assert.equal(m?.[1], badName, r.stdout);
  const generated = badName.slice(5, 41).replaceAll("_", "-");
  gen.uuid = generated;
  assert.ok(existsSync(`${ETC}/mtty/${generated}`), "the generated definition");
  await record("define-generated", r.code);
  const fail = await virsh(["nodedev-start", badName]);
  assert.notEqual(fail.code, 0, "starting a device of a missing type fails");
  await record("start-missing-type", fail.code === 0 ? 0 : 1);
  r = await virsh(["nodedev-undefine", badName]);
  assert.equal(r.code, 0, `nodedev-undefine (generated): ${r.stderr}`);
  await until(
    "the generated device to go",
    async () => (await names(["--all"])).includes(badName) ? undefined : true,
  );
  await record("undefine-generated", r.code);

  r = await virsh(["nodedev-destroy", name]);
  assert.equal(r.code, 0, `nodedev-destroy: ${r.stderr}`);
  await until("the stopped device", listed([], false));
  await record("destroy", r.code);

  r = await virsh(["nodedev-undefine", name]);
  assert.equal(r.code, 0, `nodedev-undefine: ${r.stderr}`);
  await until("the undefined device", listed(["--all"], false));
  await record("undefine", r.code);
  return {
    outcomes,
    failure: fail.stderr,
    dumpxml: dump.stdout,
  };
}

/** Removes what a failed run left (with Debian's mdevctl, libvirtd stopped). */
async function cleanUp(): Promise<void> {
  const mdevctl = (args: string[]) =>
    runCommand(["/usr/bin/mdevctl", ...args], { env: { PATH: SYSTEM_PATH } });
  const defs = await mdevctl(["list", "--defined", "--dumpjson"]);
  const active = await mdevctl(["list", "--dumpjson"]);
  for (const text of [active.stdout, defs.stdout]) {
    if (text.trim() === "") continue;
    for (const parent of JSON.parse(text)) {
      for (const devs of Object.values(parent) as Record<string, unknown>[][]) {
        for (const d of devs) {
          const uuid = Object.keys(d)[0];
          await mdevctl(["stop", "-u", uuid]);
          await mdevctl(["undefine", "-u", uuid]);
        }
      }
    }
  }
}

Deno.test("libvirt: virsh nodedev-* over vdevctl's mdevctl personality behave as over mdevctl", async () => {
  requireSandbox();
  assert.ok(existsSync(DRIVER), "libvirt-daemon is not installed on the host");
  const dir = Deno.makeTempDirSync({ prefix: "vdevctl-libvirt-" });
  const bin = `${dir}/bin`;
  Deno.mkdirSync(bin);
  for (const n of ["mdevctl", "lsmdev"]) {
    Deno.symlinkSync(`${REPO}/vdevctl`, `${bin}/${n}`);
  }
  const udevd = await runCommand(
    ["/lib/systemd/systemd-udevd", "--daemon"],
    { env: udevEnv },
  );
  assert.equal(udevd.code, 0, `systemd-udevd: ${udevd.stderr}`);
  const runs: Awaited<ReturnType<typeof scenario>>[] = [];
  try {
    for (const path of [SYSTEM_PATH, `${bin}:${SYSTEM_PATH}`]) {
      console.log(`libvirtd with PATH=${path}`);
      const pid = await startLibvirtd(path, dir);
      try {
        runs.push(await scenario(dir));
      } finally {
        await stopProcess(pid);
        await cleanUp();
      }
    }
  } finally {
    await runCommand(["udevadm", "control", "--exit"], { env: udevEnv });
    Deno.removeSync(dir, { recursive: true });
  }
  const [peer, ours] = runs;
  assert.deepEqual(ours.outcomes, peer.outcomes);
  assert.equal(ours.dumpxml, peer.dumpxml);
  // The step outcomes themselves, so equal-but-wrong runs fail too.
  const step = (s: string) => peer.outcomes.find((o) => o.step === s)!;
  const name = nameOf(UUID);
  assert.deepEqual(step("define").inactive, [name]);
  assert.deepEqual(step("start").active, [name]);
  assert.equal(step("start").sysfs, true);
  assert.deepEqual(step("autostart").files, {
    [`mtty/${UUID}`]: { mdev_type: "mtty-1", start: "auto", attrs: [] },
  });
  assert.deepEqual(step("undefine").all, []);
  assert.match(ours.dumpxml, new RegExp(`<uuid>${UUID}</uuid>`));
  // libvirt copies the tool's stderr: it names mdevctl, not vdevctl mdev.
  assert.match(peer.failure, /mdevctl|mediated device/i);
  assert.doesNotMatch(ours.failure, /vdevctl/, ours.failure);
  assert.match(ours.failure, /mdevctl types -p mtty/, ours.failure);
  console.log(`peer: ${peer.failure.trim()}\nours: ${ours.failure.trim()}`);
});
