/**
 * `vdevctl doctor` on the real 6.12 kernel with the e2e suite's modules
 * loaded: every check ok and exit 0, the real probe's answers (the vdpa
 * family's commands from CTRL_CMD_GETFAMILY, VDUSE_GET_API_VERSION), the
 * JSON schema, and as `nobody` the permissions it lacks. Run inside the
 * sandbox:
 *
 *   ./vdevctl sandbox run --modules vduse,vdpa,virtio_vdpa,virtio_net,mtty -- \
 *     ./node_modules/.bin/deno test -A tests/e2e/doctor_test.ts
 *
 * @module
 */

import assert from "node:assert/strict";
import type { DoctorReport } from "../../lib/doctor/mod.ts";
import { asNobodyArgv, runCommand } from "../command_output.ts";
import { schemaValidator } from "../schema/validate.ts";

const VDEVCTL = new URL("../../vdevctl", import.meta.url).pathname;
const { validate } = schemaValidator();

function mustBeSandbox(): void {
  assert.equal(
    Deno.env.get("VDEVCTL_SANDBOX"),
    "1",
    "run in the sandbox (deno task e2e tests/e2e/doctor_test.ts)",
  );
}

Deno.test("e2e doctor: with the modules loaded every check is ok, exit 0", async () => {
  mustBeSandbox();
  const r = await runCommand([VDEVCTL, "doctor"]);
  assert.equal(r.stderr, "");
  assert.equal(r.code, 0, r.stdout);
  const lines = r.stdout.trimEnd().split("\n");
  const blank = lines.indexOf("");
  assert.ok(blank > 15, r.stdout);
  for (const l of lines.slice(0, blank)) assert.match(l, /^ok {7}\S/, l);
  assert.deepEqual(lines.slice(blank + 1), [
    "mdev: ok",
    "vdpa: ok",
    "vduse: ok",
    "mvnet: ok",
  ]);
  assert.match(r.stdout, /^ok {7}host {3}kernel: Linux 6\.12\./m);
  // Asked of the kernel: the vdpa family's commands, VDUSE's API version.
  assert.match(
    r.stdout,
    /^ok {7}vdpa {3}generic netlink family vdpa: version 1; commands: mgmtdev show, dev add, dev del, dev show, dev config show, dev vstats show, dev set$/m,
  );
  assert.match(
    r.stdout,
    /^ok {7}vduse {2}\/dev\/vduse\/control API version: 0 \(vdevctl speaks 0\)$/m,
  );
  assert.match(r.stdout, /^ok {7}mdev {3}mdev parents: .*mtty/m);
});

Deno.test("e2e doctor --json: the schema, and the same checks", async () => {
  mustBeSandbox();
  const r = await runCommand([VDEVCTL, "doctor", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as DoctorReport;
  validate("doctor", report);
  assert.ok(report.ok);
  assert.equal(report.kernel, Deno.osRelease());
  assert.deepEqual(
    report.checks.filter((c) => c.status !== "ok").map((c) => c.id),
    [],
  );
});

Deno.test("e2e doctor: as nobody, the permissions it lacks, exit 1", async () => {
  mustBeSandbox();
  const [setpriv, ...args] = asNobodyArgv(["doctor", "--json"]);
  const r = await runCommand([setpriv, ...args]);
  assert.equal(r.code, 1, r.stderr);
  const report = JSON.parse(r.stdout) as DoctorReport;
  const status = (id: string) => report.checks.find((c) => c.id === id)?.status;
  assert.equal(status("mdev:create"), "missing");
  assert.equal(status("vdpa:admin"), "missing");
  const control = Deno.statSync("/dev/vduse/control");
  assert.equal(
    status("vduse:permission"),
    ((control.mode ?? 0) & 0o006) === 0o006 ? "ok" : "missing",
  );
  // What needs no permission is still found.
  assert.equal(status("vdpa:netlink"), "ok");
  assert.equal(status("module:vduse"), "ok");
  for (const f of report.families) {
    const works = f.family === "vduse" && status("vduse:permission") === "ok";
    assert.equal(f.works, works, f.family);
    if (!works) assert.equal(f.hint, "run as root", f.family);
  }
});
