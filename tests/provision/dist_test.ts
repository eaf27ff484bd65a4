/**
 * The shipped data files: systemd accepts the unit (`systemd-analyze
 * verify`, with ExecStart pointed at this checkout's launcher, since
 * /usr/bin/vdevctl is not installed here), and the unit and the udev rule
 * run a command vdevctl accepts (`apply --etc`, tried with --dry-run on a
 * fake root; the rule's `--from-udev` hand-off is in udev_trigger_test.ts,
 * the rules under a real udevd in tests/e2e/udev_test.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { runCommand } from "../command_output.ts";
import { UDEV_APPLY_LOG } from "../../lib/provision/udev_trigger.ts";
import { readOr, waitFor } from "./poll.ts";

const REPO = new URL("../..", import.meta.url).pathname;
const UNIT = `${REPO}dist/systemd/vdevctl-apply.service`;
const RULES = `${REPO}dist/udev/90-vdevctl.rules`;

/** A fake root whose /etc/vdevctl holds an mdev on mtty, which it lacks. */
function fakeEtc(): string {
  const dir = Deno.makeTempDirSync();
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
  return dir;
}

/** This checkout's vdevctl on the fake root `dir`. */
function onRoot(dir: string, args: string[]) {
  return runCommand([`${REPO}vdevctl`, "--root", dir, ...args]);
}

Deno.test("dist: systemd-analyze verify accepts the unit", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const text = Deno.readTextFileSync(UNIT);
    assert.match(text, /^ExecStart=\/usr\/bin\/vdevctl apply --etc$/m);
    assert.match(text, /^After=systemd-modules-load\.service/m);
    const unit = `${dir}/vdevctl-apply.service`;
    Deno.writeTextFileSync(
      unit,
      text.replaceAll("/usr/bin/vdevctl", `${REPO}vdevctl`),
    );
    const r = await runCommand(["systemd-analyze", "verify", unit]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    // The check can fail: a unit without ExecStart is refused.
    Deno.writeTextFileSync(unit, text.replace(/^ExecStart=.*$/m, ""));
    const bad = await runCommand(["systemd-analyze", "verify", unit]);
    assert.notEqual(bad.code, 0);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("dist: the unit's and the udev rule's command runs", async () => {
  const rules = Deno.readTextFileSync(RULES).split("\n")
    .filter((l) => l && !l.startsWith("#"));
  assert.equal(rules.length, 3);
  for (const r of rules) {
    assert.match(
      r,
      /TEST=="\/etc\/vdevctl", RUN\+="\/usr\/bin\/vdevctl apply --etc --from-udev"$/,
    );
  }
  // The kernel announces a registered mdev parent with a CHANGE uevent
  // (mdev_register_parent); "add" has no MDEV_STATE (coldplug: the types).
  assert.match(
    rules[0],
    /^ACTION=="change", ENV\{MDEV_STATE\}=="registered", /,
  );
  assert.match(rules[1], /^ACTION=="add", TEST=="mdev_supported_types", /);
  assert.match(
    rules[2],
    /^ACTION=="add", SUBSYSTEM=="module", KERNEL=="vduse\|vdpa_sim_net\|/,
  );
  assert.ok(!rules.some((r) => /ACTION=="add".*MDEV_STATE/.test(r)));
  const dir = fakeEtc();
  try {
    const r = await onRoot(dir, ["apply", "--etc", "--dry-run"]);
    assert.equal(r.code, 0, r.stderr);
    // No mtty parent on this root: deferred until the udev rule fires.
    assert.match(r.stderr, /mdev\[0\]\.parent: no mdev parent mtty .*deferred/);
    assert.equal(
      r.stdout,
      "no changes: the host already matches the manifest\n",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("dist: systemd-analyze verify accepts the mvnet template unit and an instance of it", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const text = Deno.readTextFileSync(
      `${REPO}dist/systemd/vdevctl-mvnet@.service`,
    );
    assert.match(
      text,
      /^ExecStart=\/usr\/bin\/vdevctl mvnet run %i \$MVNET_ARGS$/m,
    );
    assert.match(text, /^EnvironmentFile=\/run\/vdevctl\/mvnet\/%i\.env$/m);
    const unit = `${dir}/vdevctl-mvnet@.service`;
    const write = (t: string) =>
      Deno.writeTextFileSync(
        unit,
        t.replaceAll("/usr/bin/vdevctl", `${REPO}vdevctl`),
      );
    write(text);
    for (
      const name of ["vdevctl-mvnet@.service", "vdevctl-mvnet@mv0.service"]
    ) {
      const r = await runCommand([
        "systemd-analyze",
        "verify",
        `${dir}/${name}`,
      ]);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.equal(r.stderr, "", name);
    }
    // The check can fail: an instance whose ExecStart is not executable.
    write(
      text.replace(
        /^ExecStart=\/usr\/bin\/vdevctl/m,
        "ExecStart=/nonexistent/vdevctl",
      ),
    );
    const bad = await runCommand([
      "systemd-analyze",
      "verify",
      `${dir}/vdevctl-mvnet@mv0.service`,
    ]);
    assert.notEqual(bad.code, 0);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("dist: the rule's apply --etc --from-udev on a fake root: returns at once, the apply runs in the background", async () => {
  const dir = fakeEtc();
  try {
    const r = await onRoot(dir, ["apply", "--etc", "--from-udev"]);
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
      const bad = await onRoot(dir, args);
      assert.equal(bad.code, 1, args.join(" "));
      assert.match(bad.stderr, /--from-udev goes with --etc only/);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
