/**
 * `apply --etc --from-udev`, the udev rule's call: the hand-off decision
 * (systemctl where systemd runs, a detached apply elsewhere) and the
 * detached program really run (the rule's whole command on a fake root is
 * in dist_test.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { SysRoot } from "../../lib/root.ts";
import {
  APPLY_UNIT,
  runUdevTrigger,
  UDEV_APPLY_LOG,
  udevTrigger,
} from "../../lib/provision/udev_trigger.ts";
import { LAUNCHER } from "../../lib/provision/mvnet_service.ts";
import { readOr, waitFor } from "./poll.ts";

Deno.test("udev trigger: systemctl --no-block where systemd runs, a detached apply elsewhere", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const root = new SysRoot(dir);
    assert.deepEqual(udevTrigger(root), {
      kind: "detach",
      argv: [LAUNCHER, "--root", dir, "apply", "--etc"],
      log: `${dir}${UDEV_APPLY_LOG}`,
    });
    assert.deepEqual(
      udevTrigger(new SysRoot("/"), { program: "/usr/bin/vdevctl" }).argv
        .slice(0, 2),
      usesSystemdHere()
        ? ["systemctl", "--no-block"]
        : ["/usr/bin/vdevctl", "apply"],
    );
    Deno.mkdirSync(`${dir}/run/systemd/system`, { recursive: true });
    assert.deepEqual(udevTrigger(root), {
      kind: "systemd",
      argv: ["systemctl", "--no-block", "reload-or-restart", APPLY_UNIT],
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

function usesSystemdHere(): boolean {
  try {
    Deno.statSync("/run/systemd/system");
    return true;
  } catch {
    return false;
  }
}

Deno.test("udev trigger: the detached program outlives the caller, output in the log", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const script = `${dir}/prog`;
    Deno.writeTextFileSync(
      script,
      `#!/bin/sh\nsleep 0.3\necho "args: $*"\necho done >"${dir}/marker"\n`,
    );
    Deno.chmodSync(script, 0o755);
    const t = udevTrigger(new SysRoot(dir), { program: script });
    const started = Date.now();
    const line = runUdevTrigger(t);
    assert.ok(Date.now() - started < 300, "returns before the program ends");
    assert.match(line, /^started .*prog --root .* apply --etc \(pid \d+/);
    await waitFor(() => readOr(`${dir}/marker`) === "done\n", "marker");
    await waitFor(() => readOr(t.kind === "detach" ? t.log : "") !== "", "log");
    assert.equal(
      readOr(`${dir}${UDEV_APPLY_LOG}`),
      `args: --root ${dir} apply --etc\n`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("udev trigger: a refusing systemctl is one line naming the unit", () => {
  assert.throws(
    () =>
      runUdevTrigger({
        kind: "systemd",
        argv: ["systemctl", "--no-block", "reload-or-restart", "nonexistent"],
      }),
    /: systemctl --no-block reload-or-restart nonexistent failed: [^\n]*\(is vdevctl-apply\.service installed\?\)$/,
  );
});
