import assert from "node:assert/strict";
import { VduseSysfs } from "../../lib/vduse/sysfs.ts";
import { inspect } from "../../lib/vduse/inspect.ts";
import { showText } from "../../lib/vduse/format.ts";
import { SysRoot } from "../../lib/root.ts";
import { refuses } from "../refuses.ts";
import { fakeTree } from "./fake_tree.ts";

Deno.test("the view: names, existence, queues, attributes", async () => {
  const root = await fakeTree();
  const sysfs = new VduseSysfs(root);
  try {
    assert.equal(sysfs.loaded(), true);
    assert.deepEqual(sysfs.names(), ["vblk0", "vnet0"]);
    assert.equal(sysfs.exists("vnet0"), true);
    assert.equal(sysfs.exists("control"), false);
    assert.equal(sysfs.exists("nope"), false);
    assert.equal(sysfs.queueCount("vblk0"), 3);
    assert.equal(sysfs.queueCount("nope"), 0);
    assert.equal(sysfs.attr("vnet0", "dev"), "511:2");
    assert.equal(sysfs.bounceSize("vnet0"), 67108864);
    assert.equal(sysfs.msgTimeout("vnet0"), 30);
    assert.equal(sysfs.msgTimeout("nope"), undefined);
    assert.match(sysfs.noDevice("nope").message, /no VDUSE device named nope/);
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
  const dir = await Deno.makeTempDir({ prefix: "vdevctl-vduse-" });
  try {
    const empty = new VduseSysfs(new SysRoot(dir));
    assert.equal(empty.loaded(), false);
    assert.deepEqual(empty.names(), []);
    assert.match(empty.noDevice("x").message, /modprobe vduse/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("set writes sysfs and checks ranges first", async () => {
  const root = await fakeTree();
  const sysfs = new VduseSysfs(root);
  try {
    const got = sysfs.setAttributes("vnet0", {
      bounceSize: 8n << 20n,
      msgTimeout: 5,
    });
    assert.deepEqual(got, { bounceSize: 8 << 20, msgTimeout: 5 });
    refuses(
      () => sysfs.setAttributes("vnet0", { bounceSize: 512n << 10n }),
      /between 1 MiB and 1 GiB/,
    );
    refuses(
      () => sysfs.setAttributes("vnet0", { bounceSize: (1n << 20n) + 1n }),
      /multiple of the 4096-byte page/,
    );
    refuses(
      () => sysfs.setAttributes("nope", { msgTimeout: 1 }),
      /no VDUSE device/,
    );
    // Every value is checked before any is written.
    const msgTimeout = () =>
      Deno.readTextFileSync(`${root.dir}/sys/class/vduse/vnet0/msg_timeout`)
        .trim();
    refuses(
      () => sysfs.setAttributes("vnet0", { msgTimeout: 9, irq: { cpus: [7] } }),
      /CPU 7 is not online/,
    );
    assert.equal(msgTimeout(), "5", "msg_timeout untouched");
    assert.deepEqual(
      sysfs.setAttributes("vnet0", { msgTimeout: 9, irq: { cpus: [1] } }),
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
  const sysfs = new VduseSysfs(root);
  const mask = (q: number) =>
    Deno.readTextFileSync(
      `${root.dir}/sys/class/vduse/vblk0/vq${q}/irq_cb_affinity`,
    ).trim();
  try {
    assert.deepEqual(sysfs.irqAffinity("vblk0"), [[0, 1], [0, 1], [0, 1]]);
    assert.deepEqual(sysfs.setIrqAffinity("vblk0", { cpus: [1] }), [
      { queue: 0, cpus: [1] },
      { queue: 1, cpus: [1] },
      { queue: 2, cpus: [1] },
    ]);
    assert.deepEqual([mask(0), mask(1), mask(2)], ["2", "2", "2"]);
    sysfs.setIrqAffinity("vblk0", { cpus: [0], queues: [2] });
    assert.deepEqual([mask(0), mask(1), mask(2)], ["2", "2", "1"]);
    assert.match(
      showText(inspect("vblk0", { root })),
      /vq1 max_size \S+ irq_cpus 1\n\s+vq2 max_size \S+ irq_cpus 0\n/,
    );
    refuses(
      () => sysfs.setIrqAffinity("vblk0", { cpus: [1, 4] }),
      /^bad --irq-cpus for vblk0 1,4: CPU 4 is not online \(online: 0-1\)$/,
    );
    refuses(
      () => sysfs.setIrqAffinity("vblk0", { cpus: [0], queues: [3] }),
      /^bad --queue 3 for vblk0: it has queues 0 to 2$/,
    );
    refuses(
      () => sysfs.setIrqAffinity("vblk0", { cpus: [] }),
      /no CPU given/,
    );
    refuses(
      () => sysfs.setIrqAffinity("nope", { cpus: [0] }),
      /no VDUSE device named nope/,
    );
    assert.deepEqual([mask(0), mask(1), mask(2)], ["2", "2", "1"]);
    // A write that fails half-way puts back the queues already changed.
    const vq2 = `${root.dir}/sys/class/vduse/vblk0/vq2/irq_cb_affinity`;
    await Deno.remove(vq2);
    await Deno.mkdir(vq2);
    refuses(
      () => sysfs.setIrqAffinity("vblk0", { cpus: [0, 1] }),
      /cannot write vq2\/irq_cb_affinity of VDUSE device vblk0/,
    );
    assert.deepEqual([mask(0), mask(1)], ["2", "2"], "rolled back");
    await Deno.remove(`${root.dir}/sys/class/vduse/vblk0/vq1`, {
      recursive: true,
    });
    await Deno.mkdir(`${root.dir}/sys/class/vduse/vblk0/vq1`);
    refuses(
      () => sysfs.setIrqAffinity("vblk0", { cpus: [0] }),
      /this kernel has no \/sys\/class\/vduse\/vblk0\/vq1\/irq_cb_affinity \(Linux 6.8 or later\)/,
    );
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
});
