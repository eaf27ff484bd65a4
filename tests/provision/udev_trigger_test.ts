/**
 * `apply --etc --from-udev`, the udev rule's call: the hand-off decision
 * (systemctl where systemd runs, a detached apply elsewhere), the detached
 * apply really run on a fake root, and the refused combinations.
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
import { runCommand } from "../command_output.ts";

const REPO = new URL("../..", import.meta.url).pathname;

async function waitFor(fn: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 60_000;
  while (!fn()) {
    if (Date.now() > until) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

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

Deno.test("apply --etc --from-udev on a fake root: returns at once, the apply runs in the background", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/etc/vdevctl`, { recursive: true });
    Deno.writeTextFileSync(
      `${dir}/etc/vdevctl/x.json`,
      JSON.stringify({
        mdev: [{
          uuid: "11111111-2222-4333-8444-555555555555",
          parent: "mtty",
          type: "mtty-1",
        }],
      }),
    );
    const r = await runCommand([
      `${REPO}vdevctl`,
      "--root",
      dir,
      "apply",
      "--etc",
      "--from-udev",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^started .*vdevctl --root .* apply --etc \(pid/);
    const log = `${dir}${UDEV_APPLY_LOG}`;
    await waitFor(() => readOr(log).includes("no changes"), "the apply");
    assert.match(readOr(log), /mdev\[0\]\.parent: no mdev parent mtty/);
    for (
      const args of [
        ["apply", "--from-udev"],
        ["apply", "--etc", "--from-udev", "--dry-run"],
      ]
    ) {
      const bad = await runCommand([`${REPO}vdevctl`, "--root", dir, ...args]);
      assert.equal(bad.code, 1, args.join(" "));
      assert.match(bad.stderr, /--from-udev goes with --etc only/);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
