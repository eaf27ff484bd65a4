import assert from "node:assert/strict";
import { VdevError } from "../../lib/errors.ts";
import { SysRoot } from "../../lib/root.ts";
import {
  BLK_DEFAULT_FEATURES,
  buildSpec,
  decodeConfig,
  formatBytes,
  formatMac,
  NET_DEFAULT_FEATURES,
  parseFeatures,
  parseMac,
  parseSize,
  validateName,
} from "../../lib/vduse/spec.ts";
import {
  inspect,
  irqAffinity,
  listDevices,
  parseFeatureString,
  readRecord,
  removeRecord,
  setAttributes,
  setIrqAffinity,
  writeRecord,
} from "../../lib/vduse/state.ts";
import {
  listJson,
  listText,
  showJson,
  showText,
} from "../../lib/vduse/format.ts";
import { busyReason } from "../../lib/vduse/lifecycle.ts";
import { configFromAttrs } from "../../lib/vduse/attach.ts";
import { StructView } from "../../lib/sys/mod.ts";
import {
  featureBit,
  VIRTIO_BLK_CONFIG,
  VIRTIO_BLK_F,
  VIRTIO_F,
  VIRTIO_NET_CONFIG,
  VIRTIO_NET_F,
} from "../../lib/virtio/mod.ts";

const bit = featureBit;

/** Asserts `fn` throws a VdevError whose message matches `re`. */
function refuses(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof VdevError, `not a VdevError: ${e}`);
    assert.match(e.message, re);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  });
}

// ------------------------------------------------------------------- checks

Deno.test("net spec: defaults, MAC and MTU set their features and config", () => {
  const spec = buildSpec("vnet0", {
    type: "net",
    mac: "52:54:00:12:34:56",
    mtu: 1500,
  });
  assert.equal(spec.deviceId, 1);
  assert.equal(
    spec.features,
    NET_DEFAULT_FEATURES | bit(VIRTIO_NET_F.MAC) | bit(VIRTIO_NET_F.MTU),
  );
  assert.deepEqual(spec.queueSizes, [256, 256]);
  const v = new StructView(VIRTIO_NET_CONFIG, spec.config);
  assert.equal(spec.config.length, 24);
  assert.equal(formatMac(v.slice("mac")), "52:54:00:12:34:56");
  assert.equal(v.get("status"), 1); // LINK_UP
  assert.equal(v.get("max_virtqueue_pairs"), 1);
  assert.equal(v.get("mtu"), 1500);
  assert.deepEqual(decodeConfig(1, spec.config, spec.features), {
    mac: "52:54:00:12:34:56",
    link: "up",
    max_virtqueue_pairs: 1,
    mtu: 1500,
  });
});

Deno.test("blk spec: capacity in sectors, MQ with several queues", () => {
  const spec = buildSpec("vblk0", {
    type: "blk",
    capacity: parseSize("64M"),
    queues: 4,
    queueSize: 128,
  });
  assert.equal(spec.deviceId, 2);
  assert.equal(spec.features, BLK_DEFAULT_FEATURES | bit(VIRTIO_BLK_F.MQ));
  assert.deepEqual(spec.queueSizes, [128, 128, 128, 128]);
  const v = new StructView(VIRTIO_BLK_CONFIG, spec.config);
  assert.equal(v.getBig("capacity"), 131072n);
  assert.equal(v.get("num_queues"), 4);
  assert.deepEqual(decodeConfig(2, spec.config, spec.features), {
    capacity_sectors: 131072,
    capacity: "64 MiB",
    num_queues: 4,
  });
  const one = buildSpec("vblk1", { type: "blk" });
  assert.equal(one.features, BLK_DEFAULT_FEATURES);
  assert.equal(
    new StructView(VIRTIO_BLK_CONFIG, one.config).getBig("capacity"),
    (1n << 30n) / 512n,
  );
});

Deno.test("refusals before the kernel, each with its reason", () => {
  const vp = bit(VIRTIO_F.VERSION_1) | bit(VIRTIO_F.ACCESS_PLATFORM);
  refuses(
    () =>
      buildSpec("n", { type: "net", features: bit(VIRTIO_F.ACCESS_PLATFORM) }),
    /must offer VERSION_1 \(bit 32\)/,
  );
  refuses(
    () => buildSpec("n", { type: "net", features: bit(VIRTIO_F.VERSION_1) }),
    /ACCESS_PLATFORM \(bit 33\)/,
  );
  refuses(
    () => buildSpec("b", { type: "blk", features: bit(VIRTIO_F.VERSION_1) }),
    /ACCESS_PLATFORM/,
  );
  refuses(
    () =>
      buildSpec("n", { type: "net", features: vp | bit(VIRTIO_NET_F.CTRL_VQ) }),
    /CTRL_VQ \(bit 17\).*no control virtqueue/,
  );
  refuses(
    () => buildSpec("n", { type: "net", features: vp | bit(VIRTIO_NET_F.MQ) }),
    /MQ \(bit 22\) needs the control virtqueue/,
  );
  refuses(
    () =>
      buildSpec("n", { type: "net", features: vp | bit(VIRTIO_NET_F.CTRL_RX) }),
    /CTRL_RX \(bit 18\) needs the control virtqueue/,
  );
  refuses(
    () =>
      buildSpec("b", {
        type: "blk",
        features: vp | bit(VIRTIO_BLK_F.CONFIG_WCE),
      }),
    /CONFIG_WCE.*read-only/,
  );
  refuses(
    () => buildSpec("n", { type: "net", features: vp | bit(VIRTIO_NET_F.MAC) }),
    /MAC \(bit 5\): give the address with --mac/,
  );
  refuses(() => buildSpec("n", { type: "net", queues: 2 }), /one queue pair/);
  for (const q of [0, 3, 100, 65536]) {
    refuses(
      () => buildSpec("n", { type: "net", queueSize: q }),
      /not a power of two/,
    );
  }
  refuses(() => buildSpec("n", { type: "net", mtu: 67 }), /--mtu 67/);
  refuses(() => buildSpec("n", { type: "scsi" }), /unknown --type "scsi"/);
  refuses(
    () => buildSpec("n", { type: "net", capacity: 512n }),
    /--capacity is for --type blk/,
  );
  refuses(
    () => buildSpec("b", { type: "blk", mac: "52:54:00:00:00:01" }),
    /for --type net/,
  );
  refuses(
    () => buildSpec("b", { type: "blk", capacity: 1000n }),
    /multiple of 512/,
  );
  refuses(() => buildSpec("b", { type: "blk", queues: 1000 }), /at most 256/);
});

Deno.test("MAC, size, feature and name parsing", () => {
  assert.deepEqual([...parseMac("52-54-00-AB-cd-ef")], [
    0x52,
    0x54,
    0,
    0xab,
    0xcd,
    0xef,
  ]);
  refuses(() => parseMac("52:54:00:12:34"), /bad MAC address/);
  refuses(() => parseMac("zz:54:00:12:34:56"), /bad MAC address/);
  refuses(() => parseMac("01:00:5e:00:00:01"), /multicast/);
  refuses(() => parseMac("00:00:00:00:00:00"), /all zero/);
  assert.equal(parseSize("4096"), 4096n);
  assert.equal(parseSize("1M"), 1n << 20n);
  assert.equal(parseSize("2GiB"), 2n << 30n);
  assert.equal(parseSize("1t"), 1n << 40n);
  refuses(() => parseSize("1.5G", "--capacity"), /bad --capacity "1\.5G"/);
  assert.equal(parseFeatures("0x300010020"), 0x300010020n);
  assert.equal(parseFeatures("3_0001_0020"), 0x300010020n);
  refuses(() => parseFeatures("0x1_0000_0000_0000_0000"), /bad --features/);
  refuses(() => parseFeatures("xyz"), /bad --features/);
  assert.equal(validateName("vnet0"), "vnet0");
  refuses(() => validateName(""), /cannot be empty/);
  refuses(() => validateName("a/b"), /no '\/'/);
  refuses(() => validateName("control"), /\/dev\/vduse\/control/);
  refuses(() => validateName("x".repeat(256)), /at most 255/);
  assert.equal(formatBytes(64n << 20n), "64 MiB");
  assert.equal(formatBytes(1000n), "1000 B");
});

// ------------------------------------------------------------------ encoding

// --------------------------------------------------------- fake sysfs trees

async function fakeTree(): Promise<SysRoot> {
  const dir = await Deno.makeTempDir({ prefix: "vdevctl-vduse-" });
  const w = async (path: string, text: string) => {
    const full = `${dir}${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, text);
  };
  await w("/dev/vduse/control", "");
  await w("/sys/class/vduse/control/dev", "10:123\n");
  await w("/sys/devices/system/cpu/online", "0-1\n");
  for (const [name, vqs] of [["vnet0", 2], ["vblk0", 3]] as const) {
    await w(`/sys/class/vduse/${name}/dev`, `511:${vqs}\n`);
    await w(`/sys/class/vduse/${name}/bounce_size`, "67108864\n");
    await w(`/sys/class/vduse/${name}/msg_timeout`, "30\n");
    for (let i = 0; i < vqs; i++) {
      await w(`/sys/class/vduse/${name}/vq${i}/irq_cb_affinity`, "3\n");
    }
    await w(`/dev/vduse/${name}`, "");
  }
  // vnet0 is attached, bound to virtio_vdpa, and served by pid 4242.
  const vd = "/sys/bus/vdpa/devices/vnet0";
  await Deno.mkdir(`${dir}/sys/bus/vdpa/drivers/virtio_vdpa`, {
    recursive: true,
  });
  await Deno.mkdir(`${dir}${vd}/virtio3/net/eth1`, { recursive: true });
  await Deno.symlink(
    `${dir}/sys/bus/vdpa/drivers/virtio_vdpa`,
    `${dir}${vd}/driver`,
  );
  await w(`${vd}/virtio3/device`, "0x0001\n");
  await w(`${vd}/virtio3/status`, "0x0000000f\n");
  const feats = "0".repeat(5) + "1" + "0".repeat(10) + "1" + "0".repeat(15) +
    "11" +
    "0".repeat(30);
  await w(`${vd}/virtio3/features`, feats + "\n");
  await Deno.mkdir(`${dir}/proc/4242/fd`, { recursive: true });
  await w("/proc/4242/comm", "deno\n");
  await Deno.symlink("/dev/vduse/vnet0", `${dir}/proc/4242/fd/5`);
  await Deno.symlink("/dev/null", `${dir}/proc/4242/fd/0`);
  await Deno.mkdir(`${dir}/proc/99/fd`, { recursive: true });
  await w("/proc/99/comm", "bash\n");
  return new SysRoot(dir);
}

Deno.test("list and show from a fake tree: attachment, daemon, record", async () => {
  const root = await fakeTree();
  try {
    writeRecord(
      root,
      buildSpec("vnet0", { type: "net", mac: "52:54:00:00:00:01", mtu: 9000 }),
    );
    const devices = listDevices(root);
    assert.deepEqual(devices.map((d) => [d.name, d.type, d.queues, d.vdpa]), [
      ["vblk0", undefined, 3, null],
      ["vnet0", "net", 2, "vnet0"],
    ]);
    assert.deepEqual(devices[1].daemon, [{ pid: 4242, comm: "deno" }]);
    const text = listText(devices);
    assert.match(text, /^NAME +TYPE +QUEUES +VDPA +DAEMON$/m);
    assert.match(text, /^vnet0 +net +2 +vnet0 +pid 4242 \(deno\)$/m);
    assert.match(text, /^vblk0 +\? +3 +- +none$/m);
    const j = JSON.parse(listJson(devices));
    assert.equal(j.devices[0].served, false);
    assert.equal(j.devices[1].served, true);

    const net = inspect(root, "vnet0");
    assert.equal(net.state, "served");
    assert.equal(net.bounceSize, 67108864);
    assert.equal(net.msgTimeout, 30);
    assert.deepEqual(net.queues.map((q) => q.maxSize), [256, 256]);
    assert.equal(net.vdpa?.driver, "virtio_vdpa");
    assert.deepEqual(net.vdpa?.virtio?.netdevs, ["eth1"]);
    assert.deepEqual(net.vdpa?.virtio?.featureNames, [
      "MAC",
      "STATUS",
      "VERSION_1",
      "ACCESS_PLATFORM",
    ]);
    assert.deepEqual(net.vdpa?.virtio?.statusNames, [
      "ACKNOWLEDGE",
      "DRIVER",
      "DRIVER_OK",
      "FEATURES_OK",
    ]);
    const t = showText(net);
    assert.match(t, /^vnet0: net \(virtio device id 1\), char device 511:2$/m);
    assert.match(
      t,
      /features 0x3\w+: MTU MAC STATUS VERSION_1 ACCESS_PLATFORM/,
    );
    assert.match(
      t,
      /config: mac 52:54:00:00:00:01 link up max_virtqueue_pairs 1 mtu 9000/,
    );
    assert.match(t, /vq1 max_size 256/);
    assert.match(t, /bounce_size 67108864 \(64 MiB\)/);
    assert.match(t, /vdpa: vnet0, driver virtio_vdpa/);
    assert.match(t, /netdev eth1/);
    assert.match(t, /daemon: pid 4242 \(deno\) serves it/);
    const sj = JSON.parse(showJson(net));
    assert.equal(sj.features, `0x${net.features?.toString(16)}`);
    assert.equal(sj.vdpa.virtio.name, "virtio3");
    assert.equal(sj.served, true);

    const blk = inspect(root, "vblk0");
    assert.equal(blk.state, "unserved");
    assert.equal(blk.recorded, false);
    assert.equal(blk.vdpa, null);
    const bt = showText(blk);
    assert.match(bt, /not created by vdevctl/);
    assert.match(bt, /vdpa: not attached/);
    assert.match(bt, /daemon: none: nobody serves this device$/m);

    // A probe reporting a broken device.
    assert.equal(
      inspect(root, "vblk0", { probe: () => "broken" }).state,
      "broken",
    );
    assert.match(
      showText(inspect(root, "vblk0", { probe: () => "broken" })),
      /BROKEN/,
    );

    refuses(() => inspect(root, "nope"), /no VDUSE device named nope/);
    refuses(() => inspect(root, "control"), /no VDUSE device named control/);
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
});

Deno.test("without a record, an attached device is described by the vdpa view", async () => {
  const root = await fakeTree();
  try {
    let asked = "";
    const info = inspect(root, "vnet0", {
      kernelView: (name) => {
        asked = name;
        return {
          deviceId: 1,
          maxVqSize: 512,
          features: 0x300010020n,
          config: configFromAttrs(1, {
            DEV_NET_CFG_MACADDR: new Uint8Array([0x52, 0x54, 0, 0, 0, 9]),
            DEV_NET_STATUS: 1,
            DEV_NET_CFG_MAX_VQP: 1,
          }),
        };
      },
    });
    assert.equal(asked, "vnet0");
    assert.equal(info.source, "vdpa");
    assert.deepEqual(info.featureNames, [
      "MAC",
      "STATUS",
      "VERSION_1",
      "ACCESS_PLATFORM",
    ]);
    assert.deepEqual(info.config, {
      mac: "52:54:00:00:00:09",
      link: "up",
      max_virtqueue_pairs: 1,
    });
    assert.deepEqual(info.queues.map((q) => q.maxSize), [512, 512]);
    assert.match(showText(info), /features and config from vdpa netlink/);
    // Not attached: the vdpa view is not asked for.
    const blk = inspect(root, "vblk0", {
      kernelView: () => {
        throw new Error("asked");
      },
    });
    assert.equal(blk.source, "none");
    assert.deepEqual(
      configFromAttrs(2, {
        DEV_BLK_CFG_CAPACITY: 2048n,
        DEV_BLK_CFG_NUM_QUEUES: 2,
      }),
      { capacity_sectors: 2048, capacity: "1 MiB", num_queues: 2 },
    );
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
});

Deno.test("EBUSY explanation names the vdpa device and the daemon", async () => {
  const root = await fakeTree();
  try {
    assert.equal(
      busyReason(root, "vnet0"),
      "it is attached to vDPA device vnet0 (driver virtio_vdpa): detach it with vdevctl vdpa dev del vnet0; and it is held open by pid 4242 (deno): stop the daemon serving it",
    );
    assert.match(busyReason(root, "vblk0"), /not visible here/);
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
});

Deno.test("records round-trip; a stale record (queue count differs) is ignored", async () => {
  const root = await fakeTree();
  try {
    const spec = buildSpec("vblk0", {
      type: "blk",
      queues: 2,
      capacity: 1n << 20n,
    });
    writeRecord(root, spec);
    const r = readRecord(root, "vblk0");
    assert.equal(r?.features, spec.features);
    assert.deepEqual(r?.queueSizes, [256, 256]);
    assert.deepEqual([...(r?.config ?? [])], [...spec.config]);
    // sysfs says 3 queues: the record belongs to an older device.
    assert.equal(inspect(root, "vblk0").recorded, false);
    removeRecord(root, "vblk0");
    removeRecord(root, "vblk0");
    assert.equal(readRecord(root, "vblk0"), undefined);
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
});

Deno.test("set writes sysfs and checks ranges first", async () => {
  const root = await fakeTree();
  try {
    const got = setAttributes(root, "vnet0", {
      bounceSize: 8n << 20n,
      msgTimeout: 5,
    });
    assert.deepEqual(got, { bounceSize: 8 << 20, msgTimeout: 5 });
    refuses(
      () => setAttributes(root, "vnet0", { bounceSize: 512n << 10n }),
      /between 1 MiB and 1 GiB/,
    );
    refuses(
      () => setAttributes(root, "vnet0", { bounceSize: (1n << 20n) + 1n }),
      /multiple of the 4096-byte page/,
    );
    refuses(
      () => setAttributes(root, "nope", { msgTimeout: 1 }),
      /no VDUSE device/,
    );
    // Every value is checked before any is written.
    const msgTimeout = () =>
      Deno.readTextFileSync(`${root.dir}/sys/class/vduse/vnet0/msg_timeout`)
        .trim();
    refuses(
      () => setAttributes(root, "vnet0", { msgTimeout: 9, irq: { cpus: [7] } }),
      /CPU 7 is not online/,
    );
    assert.equal(msgTimeout(), "5", "msg_timeout untouched");
    assert.deepEqual(
      setAttributes(root, "vnet0", { msgTimeout: 9, irq: { cpus: [1] } }),
      {
        bounceSize: 8 << 20,
        msgTimeout: 9,
        irq: [{ queue: 0, cpus: [1] }, { queue: 1, cpus: [1] }],
      },
    );
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
});

Deno.test("set --irq-cpus writes every queue's irq_cb_affinity mask", async () => {
  const root = await fakeTree();
  const mask = (q: number) =>
    Deno.readTextFileSync(
      `${root.dir}/sys/class/vduse/vblk0/vq${q}/irq_cb_affinity`,
    ).trim();
  try {
    assert.deepEqual(irqAffinity(root, "vblk0"), [[0, 1], [0, 1], [0, 1]]);
    assert.deepEqual(setIrqAffinity(root, "vblk0", { cpus: [1] }), [
      { queue: 0, cpus: [1] },
      { queue: 1, cpus: [1] },
      { queue: 2, cpus: [1] },
    ]);
    assert.deepEqual([mask(0), mask(1), mask(2)], ["2", "2", "2"]);
    setIrqAffinity(root, "vblk0", { cpus: [0], queues: [2] });
    assert.deepEqual([mask(0), mask(1), mask(2)], ["2", "2", "1"]);
    assert.match(
      showText(inspect(root, "vblk0")),
      /vq1 max_size \S+ irq_cpus 1\n\s+vq2 max_size \S+ irq_cpus 0\n/,
    );
    refuses(
      () => setIrqAffinity(root, "vblk0", { cpus: [1, 4] }),
      /^bad --irq-cpus for vblk0 1,4: CPU 4 is not online \(online: 0-1\)$/,
    );
    refuses(
      () => setIrqAffinity(root, "vblk0", { cpus: [0], queues: [3] }),
      /^bad --queue 3 for vblk0: it has queues 0 to 2$/,
    );
    refuses(
      () => setIrqAffinity(root, "vblk0", { cpus: [] }),
      /no CPU given/,
    );
    refuses(
      () => setIrqAffinity(root, "nope", { cpus: [0] }),
      /no VDUSE device named nope/,
    );
    assert.deepEqual([mask(0), mask(1), mask(2)], ["2", "2", "1"]);
    // A write that fails half-way puts back the queues already changed.
    const vq2 = `${root.dir}/sys/class/vduse/vblk0/vq2/irq_cb_affinity`;
    await Deno.remove(vq2);
    await Deno.mkdir(vq2);
    refuses(
      () => setIrqAffinity(root, "vblk0", { cpus: [0, 1] }),
      /cannot write vq2\/irq_cb_affinity of VDUSE device vblk0/,
    );
    assert.deepEqual([mask(0), mask(1)], ["2", "2"], "rolled back");
    await Deno.remove(`${root.dir}/sys/class/vduse/vblk0/vq1`, {
      recursive: true,
    });
    await Deno.mkdir(`${root.dir}/sys/class/vduse/vblk0/vq1`);
    refuses(
      () => setIrqAffinity(root, "vblk0", { cpus: [0] }),
      /this kernel has no \/sys\/class\/vduse\/vblk0\/vq1\/irq_cb_affinity \(Linux 6.8 or later\)/,
    );
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
});

Deno.test("virtio sysfs feature strings", () => {
  assert.equal(parseFeatureString("1010"), 0b0101n);
  assert.equal(parseFeatureString("0".repeat(32) + "11"), 0x300000000n);
});

Deno.test("the CLI refuses before touching the kernel (missing module in a fake root)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vdevctl-vduse-" });
  try {
    const run = async (...args: string[]) => {
      const o = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "main.ts", "--root", dir, "vduse", ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: o.code, err: new TextDecoder().decode(o.stderr) };
    };
    const bad = await run(
      "create",
      "x",
      "--type",
      "net",
      "--features",
      "0x100000000",
    );
    assert.equal(bad.code, 1);
    assert.equal(
      bad.err,
      "vdevctl: cannot create VDUSE device x: features must include ACCESS_PLATFORM (bit 33): VDUSE devices are only reachable through their IOTLB\n",
    );
    const missing = await run("create", "x", "--type", "net");
    assert.equal(missing.code, 1);
    assert.match(missing.err, /modprobe vduse/);
    const list = await run("list");
    assert.match(list.err, /modprobe vduse/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
