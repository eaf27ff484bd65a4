/**
 * `vdevctl apply | diff | export | assert` on the real 6.12 kernel (mtty,
 * vdpa_sim_net, vduse, virtio_vdpa, vhost_vdpa loaded): a manifest in
 * /etc/vdevctl applied as the shipped unit runs it, checked with the real
 * tools (sysfs, mdevctl, iproute2 vdpa); a second apply changes nothing;
 * assert; `export | apply -`; a step the kernel refuses rolls back every
 * step. Run inside the sandbox:
 *
 *   ./vdevctl sandbox run --modules mtty,vdpa_sim_net,vduse,virtio_vdpa,vhost_vdpa -- \
 *     ./node_modules/.bin/deno test -A tests/e2e/provision_test.ts
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { runCommand } from "../command_output.ts";
import { ok, sh, VDEVCTL, vdevctl } from "./provision_cli.ts";

const REPO = new URL("../..", import.meta.url).pathname;
const U = "5e1f0c2a-8a41-4c3e-9d57-0b7f1e2d3c4a";
const MANIFEST = {
  mdev: [{ uuid: U, parent: "mtty", type: "mtty-1", start: "auto" }],
  vduse: [{ name: "pvd0", type: "net", mac: "52:54:00:00:00:10", mtu: 1500 }],
  vdpa: [
    {
      name: "psim0",
      mgmtdev: "vdpasim_net",
      mac: "52:54:00:00:00:11",
      driver: "virtio_vdpa",
    },
    {
      name: "psim1",
      mgmtdev: "vdpasim_net",
      mac: "52:54:00:00:00:12",
      driver: "vhost_vdpa",
    },
  ],
};

/** The ExecStart of the shipped unit, run from this checkout. */
function unitCommand(): string[] {
  const unit = Deno.readTextFileSync(
    `${REPO}dist/systemd/vdevctl-apply.service`,
  );
  const line = unit.split("\n").find((l) => l.startsWith("ExecStart="))!;
  const argv = line.slice("ExecStart=".length).split(" ");
  assert.equal(argv[0], "/usr/bin/vdevctl");
  return [VDEVCTL, ...argv.slice(1)];
}

function driverOf(name: string): string | undefined {
  try {
    return Deno.readLinkSync(`/sys/bus/vdpa/devices/${name}/driver`).split("/")
      .pop();
  } catch {
    return undefined;
  }
}

/** The host has every device of MANIFEST, seen through the real tools. */
async function devicesPresent(): Promise<void> {
  assert.ok(existsSync(`/sys/bus/mdev/devices/${U}`), "mdev running");
  const mdevctl = await runCommand(["mdevctl", "list", "-d", "-u", U]);
  assert.match(mdevctl.stdout, new RegExp(`${U} mtty mtty-1 auto`));
  assert.ok(existsSync("/sys/class/vduse/pvd0"), "VDUSE device");
  const dev = await runCommand(["vdpa", "-j", "dev", "show"]);
  const devs = JSON.parse(dev.stdout).dev;
  assert.equal(devs.psim0.mgmtdev, "vdpasim_net");
  assert.equal(devs.psim1.mgmtdev, "vdpasim_net");
  const cfg = await runCommand([
    "vdpa",
    "-j",
    "dev",
    "config",
    "show",
    "psim0",
  ]);
  assert.equal(JSON.parse(cfg.stdout).config.psim0.mac, "52:54:00:00:00:11");
  assert.equal(driverOf("psim0"), "virtio_vdpa");
  assert.equal(driverOf("psim1"), "vhost_vdpa");
}

Deno.test("provision on the real kernel", async (t) => {
  Deno.mkdirSync("/etc/vdevctl", { recursive: true });
  Deno.writeTextFileSync("/etc/vdevctl/x.json", JSON.stringify(MANIFEST));
  const [cmd, ...args] = unitCommand();

  await t.step("diff lists the plan in apply's order", async () => {
    const out = await ok("diff", "/etc/vdevctl/x.json");
    assert.deepEqual(out.trim().split("\n"), [
      "+ vduse pvd0 (net)",
      "+ vdpa psim0 (vdpasim_net)",
      "+ vdpa psim1 (vdpasim_net)",
      `+ mdev ${U} (mtty-1 on mtty, running)`,
    ]);
  });

  await t.step("the unit's command applies and verifies", async () => {
    const r = await runCommand([cmd, ...args, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.changed, true);
    assert.equal(j.actions.length, 4);
    await devicesPresent();
  });

  await t.step("a second apply changes nothing and says so", async () => {
    assert.equal(
      await ok("apply", "/etc/vdevctl/x.json"),
      "no changes: the host already matches the manifest\n",
    );
    const j = JSON.parse(await ok("apply", "--etc", "--json"));
    assert.deepEqual(j, { changed: false, actions: [] });
  });

  await t.step("assert: 0 when matching, 1 with the differences", async () => {
    await ok("assert", "/etc/vdevctl/x.json");
    const other = structuredClone(MANIFEST);
    other.mdev[0].start = "manual";
    Deno.writeTextFileSync("/tmp/other.json", JSON.stringify(other));
    const r = await vdevctl("assert", "/tmp/other.json");
    assert.equal(r.code, 1);
    assert.equal(r.stdout, `~ mdev ${U}: start auto -> manual\n`);
    assert.match(
      r.stderr,
      /^vdevctl: the host does not match the manifest: 1 difference\(s\)\n$/,
    );
  });

  await t.step("export | apply - changes nothing", async () => {
    const r = await sh(`${VDEVCTL} export | ${VDEVCTL} apply --json -`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { changed: false, actions: [] });
  });

  await t.step("a step the kernel refuses rolls back every step", async () => {
    const before = await ok("export", "--json");
    const bad = {
      vduse: [{ name: "pvd1", type: "net" }],
      vdpa: [
        { name: "pok", mgmtdev: "vdpasim_net" },
        { name: "pbad", mgmtdev: "vdpasim_net", max_vqp: 2 },
      ],
    };
    Deno.writeTextFileSync("/tmp/bad.json", JSON.stringify(bad));
    const r = await vdevctl("apply", "/tmp/bad.json");
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0],
      /^vdevctl: apply failed at '\+ vdpa pbad \(vdpasim_net\)' \(vdpa-add\): cannot add vdpa device "pbad": .*\[EOPNOTSUPP\]; undid 2 step\(s\); the host is as it was$/,
    );
    assert.equal(await ok("export", "--json"), before);
    assert.ok(!existsSync("/sys/class/vduse/pvd1"));
  });

  // Best effort: leave the guest without this test's devices for the
  // files that run after it (not an assertion of this test).
  Deno.writeTextFileSync(
    "/tmp/none.json",
    JSON.stringify({
      mdev: [{ uuid: U, parent: "mtty", type: "mtty-1", state: "absent" }],
      vdpa: [],
      vduse: [],
    }),
  );
  await vdevctl("apply", "--prune", "/tmp/none.json");
  Deno.removeSync("/etc/vdevctl/x.json");
});
