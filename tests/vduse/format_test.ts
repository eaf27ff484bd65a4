import assert from "node:assert/strict";
import { inspect, listDevices } from "../../lib/vduse/inspect.ts";
import {
  listJson,
  listText,
  showJson,
  showText,
} from "../../lib/vduse/format.ts";
import { fakeTree, recordVnet0 } from "./fake_tree.ts";

Deno.test("list and show output from a fake tree: attachment, daemon, record", async () => {
  const root = await fakeTree();
  try {
    recordVnet0(root);
    const devices = listDevices({ root });
    const text = listText(devices);
    assert.match(text, /^NAME +TYPE +QUEUES +VDPA +DAEMON$/m);
    assert.match(text, /^vnet0 +net +2 +vnet0 +pid 4242 \(deno\)$/m);
    assert.match(text, /^vblk0 +\? +3 +- +none$/m);
    const j = JSON.parse(listJson(devices));
    assert.equal(j.devices[0].served, false);
    assert.equal(j.devices[1].served, true);
    assert.equal(listText([]), "");

    const net = inspect("vnet0", { root });
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

    const bt = showText(inspect("vblk0", { root }));
    assert.match(bt, /not created by vdevctl/);
    assert.match(bt, /vdpa: not attached/);
    assert.match(bt, /daemon: none: nobody serves this device$/m);
    assert.match(
      showText(inspect("vblk0", { root, probe: () => "broken" })),
      /BROKEN/,
    );
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
});
