import assert from "node:assert/strict";
import { inspect, listDevices } from "../../lib/vduse/inspect.ts";
import { configFromAttrs } from "../../lib/vduse/attach.ts";
import { showText } from "../../lib/vduse/format.ts";
import { refuses } from "../refuses.ts";
import { fakeTree, recordVnet0 } from "./fake_tree.ts";

Deno.test("list and show from a fake tree: attachment, daemon, record", async () => {
  const root = await fakeTree();
  try {
    recordVnet0(root);
    const devices = listDevices({ root });
    assert.deepEqual(devices.map((d) => [d.name, d.type, d.queues, d.vdpa]), [
      ["vblk0", undefined, 3, null],
      ["vnet0", "net", 2, "vnet0"],
    ]);
    assert.deepEqual(devices[1].daemon, [{ pid: 4242, comm: "deno" }]);

    const net = inspect("vnet0", { root });
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

    const blk = inspect("vblk0", { root });
    assert.equal(blk.state, "unserved");
    assert.equal(blk.recorded, false);
    assert.equal(blk.vdpa, null);

    // A probe reporting a broken device.
    assert.equal(
      inspect("vblk0", { root, probe: () => "broken" }).state,
      "broken",
    );

    refuses(() => inspect("nope", { root }), /no VDUSE device named nope/);
    refuses(
      () => inspect("control", { root }),
      /no VDUSE device named control/,
    );
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
});

Deno.test("without a record, an attached device is described by the vdpa view", async () => {
  const root = await fakeTree();
  try {
    let asked = "";
    const info = inspect("vnet0", {
      root,
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
    const blk = inspect("vblk0", {
      root,
      kernelView: () => {
        throw new Error("asked");
      },
    });
    assert.equal(blk.source, "none");
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
});
