/**
 * `vdevctl doctor` on this host, whatever it has (the CI host has no mdev,
 * vdpa or vduse; the sandbox has them all): what doctor says agrees with
 * what /sys, /dev and the kernel's generic netlink say, the exit status
 * agrees with the families' summaries, and each family's commands name the
 * same missing piece, in the same words, as doctor's summary.
 */

import assert from "node:assert/strict";
import type { DoctorReport } from "../../lib/doctor/mod.ts";
import { errnoCode } from "../../lib/errors.ts";
import { GenlSocket } from "../../lib/netlink/mod.ts";
import { MDEV_MISSING } from "../../lib/mdev/mod.ts";
import { moduleMissing } from "../../lib/vduse/mod.ts";
import { VDPA_FAMILY_MISSING } from "../../lib/vdpa/mod.ts";
import { runCommand } from "../command_output.ts";

const VDEVCTL = new URL("../../vdevctl", import.meta.url).pathname;

const isDir = (path: string) => {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
};

const exists = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};

function vdpaRegistered(): boolean {
  const s = GenlSocket.open();
  try {
    s.resolveFamily("vdpa");
    return true;
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return false;
    throw err;
  } finally {
    s.close();
  }
}

Deno.test("this host: doctor agrees with /sys/module, /dev/vduse, netlink, and the family commands", async () => {
  const r = await runCommand([VDEVCTL, "doctor", "--json"]);
  const report = JSON.parse(r.stdout) as DoctorReport;
  const broken = report.families.filter((f) => !f.works);
  assert.equal(r.code, broken.length === 0 ? 0 : 1, r.stderr);
  assert.equal(
    r.stderr,
    broken.length === 0
      ? ""
      : `vdevctl: ${
        broken.map((f) => f.family).join(", ")
      } cannot work on this host (see the lines above)\n`,
  );
  assert.equal(report.kernel, Deno.osRelease());
  const byId = new Map(report.checks.map((c) => [c.id, c]));
  const family = (name: string) =>
    report.families.find((f) => f.family === name)!;
  // A family that cannot work: its command prints the family's own message,
  // and doctor's summary is that message, unless this kernel lacks the
  // family's module (then the module's line: what to get, not modprobe).
  const cannotWork = (name: string, stderr: string, message: string) => {
    assert.equal(family(name).works, false);
    assert.equal(stderr, `vdevctl: ${message}\n`);
    const m = byId.get(`module:${name}`)!;
    const absent = m.status === "missing" && m.fix !== undefined &&
      !m.fix.startsWith("modprobe");
    assert.equal(
      family(name).hint,
      absent ? `${m.name}: ${m.detail}; fix: ${m.fix}` : message,
    );
  };

  const modules = report.checks.filter((c) => c.id.startsWith("module:"));
  assert.ok(modules.length >= 10);
  for (const m of modules) {
    const name = m.id.slice("module:".length);
    if (isDir(`/sys/module/${name}`)) {
      assert.equal(m.status, "ok", `${name} is loaded: ${m.detail}`);
    } else if (m.status === "ok") {
      assert.ok(
        m.detail === "builtin" || name === "mdev" || name === "vduse",
        `${name}: ${m.detail}`,
      );
    } else {
      assert.equal(m.status, "missing");
      assert.ok(m.fix, `${name} says how to get it`);
    }
  }

  // mdev: the class exists exactly when doctor finds mdev.
  const mdevBus = isDir("/sys/class/mdev_bus");
  assert.equal(
    byId.get("module:mdev")!.status === "ok",
    mdevBus || isDir("/sys/module/mdev"),
  );
  if (!mdevBus) {
    const p = await runCommand([VDEVCTL, "mdev", "parents"]);
    assert.equal(p.code, 1);
    cannotWork("mdev", p.stderr, MDEV_MISSING);
  }

  // vduse: the control device exists exactly when doctor finds it.
  const control = exists("/dev/vduse/control");
  assert.equal(byId.get("vduse:control")!.status === "ok", control);
  if (!control) {
    const l = await runCommand([VDEVCTL, "vduse", "list"]);
    assert.equal(l.code, 1);
    cannotWork("vduse", l.stderr, moduleMissing().message);
  }

  // vdpa: the generic-netlink family is registered exactly when doctor says so.
  const vdpa = vdpaRegistered();
  assert.equal(byId.get("vdpa:netlink")!.status === "ok", vdpa);
  if (!vdpa) {
    const d = await runCommand([VDEVCTL, "vdpa", "dev", "show"]);
    assert.equal(d.code, 1);
    cannotWork("vdpa", d.stderr, VDPA_FAMILY_MISSING);
  }
});
