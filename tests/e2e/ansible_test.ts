/**
 * The Ansible module dist/ansible/vdevctl_apply, run by Debian's
 * ansible-core (`ansible localhost -M dist/ansible`) on the real 6.12 kernel
 * (mtty, vduse, vdpa_sim_net, virtio_vdpa, vhost_vdpa): check mode reports
 * the change and changes nothing, diff mode shows the plan, the first run
 * is CHANGED and makes the devices, the second is SUCCESS and unchanged.
 * Run inside the sandbox:
 *
 *   ./vdevctl sandbox run --modules mtty,vduse,vdpa_sim_net,virtio_vdpa,vhost_vdpa -- \
 *     ./node_modules/.bin/deno test -A tests/e2e/ansible_test.ts
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { runCommand } from "../command_output.ts";
import { ansibleApply } from "../provision/ansible_run.ts";

const REPO = new URL("../..", import.meta.url).pathname;
const VDEVCTL = `${REPO}vdevctl`;
const U = "3a9e5c7d-1b2f-4e6a-8c0d-9f8e7d6c5b4a";
const MANIFEST = {
  mdev: [{ uuid: U, parent: "mtty", type: "mtty-1", start: "manual" }],
  vduse: [{ name: "avd0", type: "net", mac: "52:54:00:00:02:10" }],
  vdpa: [{
    name: "asim0",
    mgmtdev: "vdpasim_net",
    mac: "52:54:00:00:02:11",
    driver: "vhost_vdpa",
  }],
};
const FILE = "/tmp/ansible_manifest.json";

interface Run {
  status: string;
  result: Record<string, unknown>;
  output: string;
}

/** Runs the module through `ansible localhost`; parses `localhost | STATUS => {...}`. */
async function ansible(...extra: string[]): Promise<Run> {
  const r = await ansibleApply(FILE, extra);
  const output = `${r.stdout}\n${r.stderr}`;
  const m = /^localhost \| ([A-Z!]+) => (\{.*\})\s*$/ms.exec(r.stdout);
  assert.ok(m, `no result from ansible (exit ${r.code}):\n${output}`);
  return { status: m[1], result: JSON.parse(m[2]), output };
}

function devicesPresent(): boolean {
  return existsSync(`/sys/bus/mdev/devices/${U}`) &&
    existsSync("/sys/class/vduse/avd0") &&
    existsSync("/sys/bus/vdpa/devices/asim0");
}

Deno.test("ansible: check mode, diff mode, changed then unchanged", async (t) => {
  Deno.writeTextFileSync(FILE, JSON.stringify(MANIFEST));
  const before = await runCommand([VDEVCTL, "export", "--json"]);
  assert.equal(before.code, 0, before.stderr);

  await t.step("check mode with diff: changed, nothing touched", async () => {
    const r = await ansible("--check", "--diff");
    assert.equal(r.status, "CHANGED", r.output);
    assert.equal(r.result.changed, true, r.output);
    assert.match(r.output, /^\+ vduse avd0 \(net\)$/m);
    assert.match(r.output, /^\+ vdpa asim0 \(vdpasim_net\)$/m);
    assert.ok(!devicesPresent(), "check mode made devices");
    const now = await runCommand([VDEVCTL, "export", "--json"]);
    assert.equal(now.stdout, before.stdout, "check mode changed the host");
    assert.ok(!existsSync(`/etc/mdevctl.d/mtty/${U}`), "check mode defined");
  });

  await t.step("first run: changed, the devices exist", async () => {
    const r = await ansible();
    assert.equal(r.status, "CHANGED", r.output);
    assert.equal(r.result.changed, true);
    assert.equal((r.result.actions as string[]).length, 3, r.output);
    assert.ok(devicesPresent(), `devices missing after the run:\n${r.output}`);
    const drv = Deno.readLinkSync("/sys/bus/vdpa/devices/asim0/driver");
    assert.equal(drv.split("/").pop(), "vhost_vdpa");
  });

  await t.step("second run: ok and unchanged", async () => {
    const r = await ansible("--diff");
    assert.equal(r.status, "SUCCESS", r.output);
    assert.equal(r.result.changed, false);
    assert.deepEqual(r.result.actions, []);
  });

  await t.step(
    "a refused manifest fails the task with vdevctl's line",
    async () => {
      Deno.writeTextFileSync(
        FILE,
        JSON.stringify({ vdpa: [{ name: "asim1", mgmtdev: "nosuch" }] }),
      );
      const r = await ansible();
      assert.equal(r.status, "FAILED!", r.output);
      assert.match(String(r.result.msg), /nosuch/, r.output);
      assert.ok(!existsSync("/sys/bus/vdpa/devices/asim1"));
    },
  );

  // Best effort: leave the guest without this test's devices.
  Deno.writeTextFileSync(
    FILE,
    JSON.stringify({
      mdev: [{ uuid: U, parent: "mtty", type: "mtty-1", state: "absent" }],
      vdpa: [],
      vduse: [],
    }),
  );
  await runCommand([VDEVCTL, "apply", "--prune", FILE]);
});
