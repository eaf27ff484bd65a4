/**
 * `vdevctl vduse` on the real 6.12 kernel (vduse, vdpa, virtio_vdpa loaded):
 * create net and blk devices, list, show, set, destroy; every refusal and
 * kernel error; and the attach case, served by a minimal responder in this
 * process while iproute2's `vdpa dev add` runs. Run inside the sandbox:
 *
 *   ./vdevctl sandbox run --modules vduse,vdpa,virtio_vdpa -- \
 *     ./node_modules/.bin/deno test -A tests/e2e/vduse_test.ts
 *
 * @module
 */

import assert from "node:assert/strict";
import { respond } from "./vduse_responder.ts";
import { existsSync } from "node:fs";
import { errnoCode } from "../../lib/errors.ts";
import { close } from "../../lib/sys/mod.ts";
import { resolveRoot } from "../../lib/root.ts";
import {
  buildSpec,
  createDev,
  destroyDev,
  devGetFeatures,
  openDevice,
  toDevConfig,
  vqGetInfo,
  vqSetup,
  withControl,
} from "../../lib/vduse/mod.ts";
import {
  featureBit,
  VIRTIO_BLK_F,
  VIRTIO_F,
  VIRTIO_NET_F,
} from "../../lib/virtio/mod.ts";

import { runCommand } from "../command_output.ts";

const VDEVCTL = new URL("../../vdevctl", import.meta.url).pathname;
const IPROUTE2 = "/usr/sbin/vdpa";
const root = resolveRoot();

const run = (cmd: string, args: readonly string[]) =>
  runCommand([cmd, ...args]);

const vduse = (...args: string[]) => run(VDEVCTL, ["vduse", ...args]);

/** vdevctl succeeded, printed nothing on stderr; returns stdout. */
async function ok(...args: string[]): Promise<string> {
  const r = await vduse(...args);
  assert.equal(r.code, 0, `vdevctl vduse ${args.join(" ")}: ${r.stderr}`);
  assert.equal(r.stderr, "");
  return r.stdout;
}

/** vdevctl failed with exit 1 and one line matching `re`. */
async function fails(re: RegExp, ...args: string[]): Promise<string> {
  const r = await vduse(...args);
  assert.equal(
    r.code,
    1,
    `vdevctl vduse ${args.join(" ")} should fail: ${r.stdout}${r.stderr}`,
  );
  assert.match(r.stderr, /^vdevctl: [^\n]+\n$/, "one line on stderr");
  assert.match(r.stderr, re);
  return r.stderr;
}

function errnoOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return errnoCode(err);
  }
  return undefined;
}

Deno.test("the kernel has VDUSE", () => {
  assert.ok(
    existsSync("/dev/vduse/control"),
    "/dev/vduse/control missing: run with --modules vduse,vdpa,virtio_vdpa",
  );
});

Deno.test("create net, list, show (unserved), set, destroy", async () => {
  await ok(
    "create",
    "vnet0",
    "--type",
    "net",
    "--mac",
    "52:54:00:00:00:01",
    "--mtu",
    "1400",
    "--queue-size",
    "128",
  );
  try {
    assert.ok(existsSync("/dev/vduse/vnet0"));
    assert.equal(
      Deno.readTextFileSync("/sys/class/vduse/vnet0/bounce_size").trim(),
      String(64 << 20),
    );
    const list = await ok("list");
    assert.match(list, /^vnet0 +net +2 +- +none$/m);
    const lj = JSON.parse(await ok("list", "--json"));
    // Other suites' devices may be listed too (deno task e2e: one guest).
    assert.deepEqual(
      lj.devices.filter((d: { name: string }) => d.name === "vnet0"),
      [{
        name: "vnet0",
        type: "net",
        queues: 2,
        vdpa: null,
        served: false,
        daemon: [],
      }],
    );
    const show = await ok("show", "vnet0");
    assert.match(
      show,
      /^vnet0: net \(virtio device id 1\), char device \d+:\d+$/m,
    );
    assert.match(
      show,
      /features 0x3000\w+: MTU MAC STATUS VERSION_1 ACCESS_PLATFORM$/m,
    );
    assert.match(
      show,
      /config: mac 52:54:00:00:00:01 link up max_virtqueue_pairs 1 mtu 1400/,
    );
    // The probe opened the device: queues declared, not started; VDUSE
    // starts every queue's interrupt mask with all CPUs (2 in the sandbox).
    assert.match(show, /vq0 max_size 128 irq_cpus 0-1 num 0 not ready/);
    assert.match(show, /vq1 max_size 128 irq_cpus 0-1 num 0 not ready/);
    assert.match(show, /vdpa: not attached/);
    assert.match(show, /daemon: none: nobody serves this device$/m);
    const sj = JSON.parse(await ok("show", "vnet0", "--json"));
    assert.equal(sj.state, "unserved");
    assert.equal(sj.features, "0x300010028");
    assert.deepEqual(sj.config, {
      mac: "52:54:00:00:00:01",
      link: "up",
      max_virtqueue_pairs: 1,
      mtu: 1400,
    });

    await ok("set", "vnet0", "--bounce-size", "16M", "--msg-timeout", "7");
    assert.equal(
      Deno.readTextFileSync("/sys/class/vduse/vnet0/bounce_size").trim(),
      String(16 << 20),
    );
    assert.equal(
      Deno.readTextFileSync("/sys/class/vduse/vnet0/msg_timeout").trim(),
      "7",
    );
    await fails(
      /between 1 MiB and 1 GiB/,
      "set",
      "vnet0",
      "--bounce-size",
      "2G",
    );
    await fails(/nothing to set on vnet0/, "set", "vnet0");

    // Interrupt CPUs per queue (irq_cb_affinity, a hex mask in sysfs).
    const affinity = (q: number) =>
      Deno.readTextFileSync(`/sys/class/vduse/vnet0/vq${q}/irq_cb_affinity`)
        .trim();
    await ok("set", "vnet0", "--irq-cpus", "1");
    assert.deepEqual([affinity(0), affinity(1)], ["2", "2"]);
    await ok("set", "vnet0", "--irq-cpus", "0", "--queue", "1");
    assert.deepEqual([affinity(0), affinity(1)], ["2", "1"]);
    const shown = JSON.parse(await ok("show", "vnet0", "--json"));
    assert.deepEqual(
      shown.queues.map((q: { irq_cpus: string }) => q.irq_cpus),
      ["1", "0"],
    );
    await fails(
      /CPU 9 is not online \(online: 0-1\)/,
      "set",
      "vnet0",
      "--irq-cpus",
      "0,9",
    );
    await fails(
      /it has queues 0 to 1/,
      "set",
      "vnet0",
      "--irq-cpus",
      "0",
      "--queue",
      "2",
    );
    assert.deepEqual([affinity(0), affinity(1)], ["2", "1"], "unchanged");

    await fails(
      /VDUSE device vnet0 already exists/,
      "create",
      "vnet0",
      "--type",
      "net",
    );
    await fails(
      /VDUSE device vnet0 already exists/,
      "create",
      "vnet0",
      "--type",
      "blk",
    );
  } finally {
    await vduse("destroy", "vnet0");
  }
  assert.ok(!existsSync("/dev/vduse/vnet0"));
  assert.ok(!existsSync("/sys/class/vduse/vnet0"));
  assert.ok(!existsSync("/run/vdevctl/vduse/vnet0.json"));
  await fails(/no VDUSE device named vnet0/, "destroy", "vnet0");
  await fails(/no VDUSE device named vnet0/, "show", "vnet0");
  await fails(
    /no VDUSE device named vnet0/,
    "set",
    "vnet0",
    "--msg-timeout",
    "3",
  );
});

Deno.test("create blk with several queues; features and config", async () => {
  await ok(
    "create",
    "vblk0",
    "--type",
    "blk",
    "--capacity",
    "64M",
    "--queues",
    "4",
  );
  try {
    const sj = JSON.parse(await ok("show", "vblk0", "--json"));
    assert.equal(sj.type, "blk");
    assert.equal(sj.device_id, 2);
    assert.deepEqual(sj.feature_names, ["MQ", "VERSION_1", "ACCESS_PLATFORM"]);
    assert.deepEqual(sj.config, {
      capacity_sectors: 131072,
      capacity: "64 MiB",
      num_queues: 4,
    });
    assert.equal(sj.queues.length, 4);
    assert.deepEqual(sj.queues.map((q: { max_size: number }) => q.max_size), [
      256,
      256,
      256,
      256,
    ]);
  } finally {
    await ok("destroy", "vblk0");
  }
});

Deno.test("refusals before the kernel", async () => {
  await fails(
    /must offer VERSION_1 \(bit 32\)/,
    "create",
    "r0",
    "--type",
    "net",
    "--features",
    "0x200000000",
  );
  await fails(
    /ACCESS_PLATFORM \(bit 33\)/,
    "create",
    "r0",
    "--type",
    "net",
    "--features",
    "0x100000000",
  );
  await fails(
    /CTRL_VQ \(bit 17\)/,
    "create",
    "r0",
    "--type",
    "net",
    "--features",
    "0x300020000",
  );
  await fails(
    /MQ \(bit 22\) needs the control virtqueue/,
    "create",
    "r0",
    "--type",
    "net",
    "--features",
    "0x300400000",
  );
  await fails(
    /bad MAC address "52:54:00:00:01"/,
    "create",
    "r0",
    "--type",
    "net",
    "--mac",
    "52:54:00:00:01",
  );
  await fails(
    /--queue-size 100 is not a power of two/,
    "create",
    "r0",
    "--type",
    "net",
    "--queue-size",
    "100",
  );
  await fails(
    /CONFIG_WCE/,
    "create",
    "r0",
    "--type",
    "blk",
    "--features",
    "0x300000800",
  );
  assert.ok(!existsSync("/sys/class/vduse/r0"), "nothing was created");
});

Deno.test("the kernel refuses what vdevctl refuses (so the checks are not stricter than needed)", () => {
  const base = buildSpec("k0", { type: "net" });
  const vp = featureBit(VIRTIO_F.VERSION_1) |
    featureBit(VIRTIO_F.ACCESS_PLATFORM);
  const cases: [string, bigint, number][] = [
    ["net without VERSION_1", featureBit(VIRTIO_F.ACCESS_PLATFORM), 1],
    ["net without ACCESS_PLATFORM", featureBit(VIRTIO_F.VERSION_1), 1],
    ["net with CTRL_VQ", vp | featureBit(VIRTIO_NET_F.CTRL_VQ), 1],
    ["blk with CONFIG_WCE", vp | featureBit(VIRTIO_BLK_F.CONFIG_WCE), 2],
    ["blk without ACCESS_PLATFORM", featureBit(VIRTIO_F.VERSION_1), 2],
  ];
  withControl((ctl) => {
    for (const [what, features, deviceId] of cases) {
      const code = errnoOf(() =>
        createDev(ctl, { ...toDevConfig(base), features, deviceId })
      );
      assert.equal(code, "EINVAL", what);
    }
    // MQ without CTRL_VQ is accepted by the kernel (virtio_net then refuses
    // the device): vdevctl's refusal is the only guard.
    createDev(ctl, {
      ...toDevConfig(base),
      features: vp | featureBit(VIRTIO_NET_F.MQ),
    });
    destroyDev(ctl, "k0");
    // The kernel's own EINVAL for an unknown name (vdevctl checks sysfs first).
    assert.equal(errnoOf(() => destroyDev(ctl, "no-such-device")), "EINVAL");
  }, { root });
  assert.ok(!existsSync("/sys/class/vduse/k0"));
});

Deno.test("VQ_SETUP at create time persists across close; second opener gets EBUSY", async () => {
  await ok(
    "create",
    "vq0",
    "--type",
    "blk",
    "--queues",
    "2",
    "--queue-size",
    "64",
  );
  try {
    const fd = openDevice("vq0", { root });
    try {
      assert.equal(errnoOf(() => openDevice("vq0", { root })), "EBUSY");
      // Still declared after vdevctl closed the fd: num stays 0 until a driver
      // sets it, but VQ_SETUP is accepted again and vq_num is enforced.
      assert.equal(vqGetInfo(fd, 1).index, 1);
      assert.equal(
        errnoOf(() => vqSetup(fd, { index: 2, maxSize: 64 })),
        "EINVAL",
      );
      assert.equal(errnoOf(() => devGetFeatures(fd)), undefined);
      // A daemon holds the fd: destroy names it.
      await fails(
        /cannot destroy VDUSE device vq0: it is held open by pid \d+ \(deno\): stop the daemon serving it/,
        "destroy",
        "vq0",
      );
      const show = await ok("show", "vq0");
      assert.match(show, /daemon: pid \d+ \(deno\) serves it/);
    } finally {
      close(fd);
    }
  } finally {
    await ok("destroy", "vq0");
  }
});

Deno.test("attach while served: vdpa dev add works on a device made by create alone; EBUSY names the vdpa device", async () => {
  // virtio_vdpa binds the vdpa device; virtio_net must drive the virtio device.
  const probe = await run("modprobe", ["virtio_net"]);
  assert.equal(probe.code, 0, `modprobe virtio_net: ${probe.stderr}`);
  await ok("create", "vnet1", "--type", "net", "--mac", "52:54:00:00:00:02");
  const daemon = respond("vnet1");
  let attached = false;
  let statuses: number[] = [];
  let succeeded = false;
  try {
    const add = await run(IPROUTE2, [
      "dev",
      "add",
      "name",
      "vnet1",
      "mgmtdev",
      "vduse",
    ]);
    assert.equal(add.code, 0, `vdpa dev add: ${add.stderr}`);
    attached = true;
    assert.ok(existsSync("/sys/bus/vdpa/devices/vnet1"));
    const sj = JSON.parse(await ok("show", "vnet1", "--json"));
    assert.equal(sj.state, "served");
    assert.equal(sj.vdpa.name, "vnet1");
    assert.equal(sj.vdpa.driver, "virtio_vdpa");
    assert.deepEqual(sj.vdpa.virtio.status_names, [
      "ACKNOWLEDGE",
      "DRIVER",
      "DRIVER_OK",
      "FEATURES_OK",
    ]);
    assert.deepEqual(sj.vdpa.virtio.feature_names, [
      "MAC",
      "STATUS",
      "VERSION_1",
      "ACCESS_PLATFORM",
    ]);
    assert.equal(sj.vdpa.virtio.netdevs.length, 1);
    const netdev = sj.vdpa.virtio.netdevs[0];
    assert.equal(
      Deno.readTextFileSync(`/sys/class/net/${netdev}/address`).trim(),
      "52:54:00:00:00:02",
    );
    const show = await ok("show", "vnet1");
    assert.match(show, /vdpa: vnet1, driver virtio_vdpa/);
    assert.match(show, new RegExp(`netdev ${netdev}`));
    assert.match(show, /daemon: pid \d+ \(deno\) serves it/);
    const list = await ok("list");
    assert.match(list, /^vnet1 +net +2 +vnet1 +pid \d+ \(deno\)$/m);

    // Without the record (a device made by another program), show falls
    // back to the vdpa netlink family for features, config and queue size.
    Deno.renameSync(
      "/run/vdevctl/vduse/vnet1.json",
      "/run/vdevctl/vnet1.json.saved",
    );
    try {
      const nj = JSON.parse(await ok("show", "vnet1", "--json"));
      assert.equal(nj.source, "vdpa");
      assert.equal(nj.features, sj.features);
      // Without MQ the kernel reports no max_vqp.
      assert.deepEqual(nj.config, { mac: "52:54:00:00:00:02", link: "up" });
      assert.deepEqual(nj.queues.map((q: { max_size: number }) => q.max_size), [
        256,
        256,
      ]);
    } finally {
      Deno.renameSync(
        "/run/vdevctl/vnet1.json.saved",
        "/run/vdevctl/vduse/vnet1.json",
      );
    }

    const busy = await fails(
      /cannot destroy VDUSE device vnet1: it is attached to vDPA device vnet1 \(driver virtio_vdpa\): detach it with vdevctl vdpa dev del vnet1/,
      "destroy",
      "vnet1",
    );
    assert.match(busy, /held open by pid \d+ \(deno\)/);
    await fails(
      /bounce size of vnet1: it is fixed once the device has been attached/,
      "set",
      "vnet1",
      "--bounce-size",
      "8M",
    );
    await ok("set", "vnet1", "--msg-timeout", "10");

    const del = await run(IPROUTE2, ["dev", "del", "vnet1"]);
    assert.equal(del.code, 0, `vdpa dev del: ${del.stderr}`);
    attached = false;
    succeeded = true;
  } finally {
    if (attached) await run(IPROUTE2, ["dev", "del", "vnet1"]);
    statuses = await daemon.stop();
    if (!succeeded) await vduse("destroy", "vnet1");
  }
  // Attach: reset, ACK, DRIVER, FEATURES_OK, DRIVER_OK; detach: reset, ACK.
  assert.deepEqual(statuses, [0x00, 0x01, 0x03, 0x0b, 0x0f, 0x00, 0x01]);
  // Detached, no longer served: destroy would work, but the bounce size stays
  // fixed (the IOVA domain lives until destroy).
  const after = await ok("show", "vnet1");
  assert.match(after, /vdpa: not attached/);
  assert.match(after, /daemon: none: nobody serves this device$/m);
  await fails(
    /fixed once the device has been attached/,
    "set",
    "vnet1",
    "--bounce-size",
    "8M",
  );
  await ok("destroy", "vnet1");
});

Deno.test("EPERM: a net device needs CAP_NET_ADMIN", async () => {
  const r = await run("setpriv", [
    "--bounding-set=-net_admin",
    "--inh-caps=-net_admin",
    VDEVCTL,
    "vduse",
    "create",
    "nocap0",
    "--type",
    "net",
  ]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(
    r.stderr,
    "vdevctl: cannot create VDUSE net device nocap0: the kernel requires CAP_NET_ADMIN (run as root)\n",
  );
  assert.ok(!existsSync("/sys/class/vduse/nocap0"));
});

Deno.test("no vduse module: every command says modprobe vduse", async () => {
  // Unloading needs every VDUSE device gone (this file runs last in the
  // shared e2e guest): a leftover is a leak worth failing for.
  assert.deepEqual(
    vduseNames(),
    [],
    "VDUSE devices left behind by the e2e suites",
  );
  const rm = await run("modprobe", ["-r", "vduse"]);
  assert.equal(rm.code, 0, `modprobe -r vduse: ${rm.stderr}`);
  try {
    assert.ok(!existsSync("/dev/vduse/control"));
    for (
      const args of [["list"], ["create", "m0", "--type", "blk"], [
        "show",
        "m0",
      ], ["destroy", "m0"]]
    ) {
      await fails(
        /VDUSE is not available: \/dev\/vduse\/control is missing; load it with modprobe vduse/,
        ...args,
      );
    }
  } finally {
    const add = await run("modprobe", ["vduse"]);
    assert.equal(add.code, 0, `modprobe vduse: ${add.stderr}`);
  }
});

function vduseNames(): string[] {
  return [...Deno.readDirSync("/sys/class/vduse")].map((e) => e.name).filter((
    n,
  ) => n !== "control");
}
