/**
 * Persistence across a "reboot", with two real sandbox guests (Debian's
 * Linux 6.12): the first writes a manifest to /etc/vdevctl, runs the shipped
 * unit's ExecStart and sends its /etc/vdevctl and /etc/mdevctl.d back as a
 * tar on stdout (a guest's writes never reach the host); the second, a fresh
 * guest with none of the first one's devices or files, gets those two
 * directories back into /etc, runs the unit's ExecStart, and the devices are
 * back: the mdev in sysfs and in mdevctl's list, the vDPA devices with their
 * drivers, the VDUSE device, the mvnet daemon with its netdev (a supervised
 * process: the guest has no systemd as PID 1).
 *
 * @module
 */

import assert from "node:assert/strict";
import { REPO_ROOT, sandboxRun } from "../../lib/sandbox/mod.ts";

const U = "7d3c9b1e-2f4a-4b6c-8d0e-1a2b3c4d5e6f";
const MANIFEST = {
  mdev: [{ uuid: U, parent: "mtty", type: "mtty-1", start: "auto" }],
  vduse: [{ name: "rvd0", type: "net", mac: "52:54:00:00:01:10" }],
  vdpa: [
    {
      name: "rsim0",
      mgmtdev: "vdpasim_net",
      mac: "52:54:00:00:01:11",
      driver: "virtio_vdpa",
    },
    {
      name: "rsim1",
      mgmtdev: "vdpasim_net",
      mac: "52:54:00:00:01:12",
      driver: "vhost_vdpa",
    },
  ],
  mvnet: [{ name: "rmv0", mac: "52:54:00:00:01:13" }],
};
const MODULES = [
  "mtty",
  "vduse",
  "vdpa_sim_net",
  "virtio_vdpa",
  "vhost_vdpa",
  "virtio_net",
];
const GUEST = { modules: MODULES, timeoutSec: 900, cwd: REPO_ROOT };

/** The shipped unit's ExecStart, with this checkout's launcher. */
function unitCommand(): string {
  const unit = Deno.readTextFileSync(
    `${REPO_ROOT}/dist/systemd/vdevctl-apply.service`,
  );
  const line = unit.split("\n").find((l) => l.startsWith("ExecStart="));
  assert.ok(line, "the unit has an ExecStart");
  const argv = line.slice("ExecStart=".length).split(" ");
  assert.equal(argv[0], "/usr/bin/vdevctl");
  return [`${REPO_ROOT}/vdevctl`, ...argv.slice(1)].join(" ");
}

/** What the second guest reports about its devices, as one JSON line. */
const FACTS = `
drv() { basename "$(readlink /sys/bus/vdpa/devices/$1/driver 2>/dev/null)" 2>/dev/null; }
mvnetdev=$(ls /sys/bus/vdpa/devices/rmv0/virtio*/net 2>/dev/null)
printf '{"mdev_sysfs":%s,"mdevctl":"%s","vduse":%s,"vdpa":%s,"drivers":{"rsim0":"%s","rsim1":"%s"},"mac":%s,"mvnet":"%s","mvnet_pid":"%s"}\\n' \\
  "$([ -e /sys/bus/mdev/devices/${U} ] && echo true || echo false)" \\
  "$(mdevctl list -d -u ${U} | tr -d '\\n')" \\
  "$([ -e /sys/class/vduse/rvd0 ] && echo true || echo false)" \\
  "$(vdpa -j dev show)" "$(drv rsim0)" "$(drv rsim1)" \\
  "$(vdpa -j dev config show rsim0)" \\
  "$(cat /sys/class/net/$mvnetdev/address 2>/dev/null)" \\
  "$(cat /run/vdevctl/mvnet/rmv0.pid 2>/dev/null)"
`;

Deno.test("reboot: a fresh guest with the same /etc/vdevctl gets the devices back from the unit's command", async () => {
  const unit = unitCommand();
  const first = await sandboxRun([
    "sh",
    "-c",
    `set -e
mkdir -p /etc/vdevctl
cat > /etc/vdevctl/reboot.json <<'EOF'
${JSON.stringify(MANIFEST)}
EOF
${unit} >&2
[ -d /etc/mdevctl.d ]
tar -C / -cf - etc/vdevctl etc/mdevctl.d`,
  ], GUEST);
  assert.equal(first.code, 0, `first guest failed:\n${first.stderr}`);
  assert.ok(first.stdoutBytes.length > 0, "the first guest sent no tar");

  const dir = await Deno.makeTempDir({ prefix: "vdevctl-reboot-" });
  try {
    await Deno.writeFile(`${dir}/etc.tar`, first.stdoutBytes);
    const list = await new Deno.Command("tar", {
      args: ["-tf", `${dir}/etc.tar`],
      stdout: "piped",
    }).output();
    const names = new TextDecoder().decode(list.stdout).split("\n");
    assert.ok(names.includes("etc/vdevctl/reboot.json"), names.join(" "));
    assert.ok(
      names.some((n) => n.startsWith("etc/mdevctl.d/mtty/") && n.endsWith(U)),
      `no mdevctl definition of ${U} in ${names.join(" ")}`,
    );

    const second = await sandboxRun([
      "sh",
      "-c",
      `set -e
# A fresh guest: none of the first guest's files or devices.
[ ! -e /etc/vdevctl/reboot.json ] || { echo "not a fresh guest" >&2; exit 3; }
[ ! -e /sys/bus/mdev/devices/${U} ] || { echo "mdev already there" >&2; exit 3; }
[ ! -e /sys/class/vduse/rmv0 ] || { echo "mvnet already there" >&2; exit 3; }
tar -C / -xf ${dir}/etc.tar
${unit} >&2
${REPO_ROOT}/vdevctl assert --etc >&2
${FACTS}`,
    ], GUEST);
    assert.equal(second.code, 0, `second guest failed:\n${second.stderr}`);
    let facts;
    try {
      facts = JSON.parse(second.stdout.trim().split("\n").pop()!);
    } catch {
      assert.fail(
        `no facts from the second guest:\n${second.stdout}\n${second.stderr}`,
      );
    }
    const why = `\nguest stderr:\n${second.stderr}`;
    assert.equal(facts.mdev_sysfs, true, `mdev ${U} not in sysfs${why}`);
    assert.match(facts.mdevctl, new RegExp(`^${U} mtty mtty-1 auto`), why);
    assert.equal(facts.vduse, true, `VDUSE device rvd0 missing${why}`);
    assert.equal(facts.vdpa.dev.rsim0?.mgmtdev, "vdpasim_net", why);
    assert.equal(facts.vdpa.dev.rsim1?.mgmtdev, "vdpasim_net", why);
    assert.deepEqual(facts.drivers, {
      rsim0: "virtio_vdpa",
      rsim1: "vhost_vdpa",
    }, why);
    assert.equal(facts.mac.config.rsim0.mac, "52:54:00:00:01:11", why);
    assert.equal(facts.mvnet, "52:54:00:00:01:13", `no mvnet netdev${why}`);
    assert.match(facts.mvnet_pid, /^\d+$/, `no mvnet pid file${why}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
