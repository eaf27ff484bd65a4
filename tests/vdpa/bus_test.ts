import assert from "node:assert/strict";
import {
  parseFeatureString,
  statusNames,
  VdpaBus,
} from "../../lib/vdpa/bus.ts";
import { fakeBus } from "./fake_bus.ts";
import { SysRoot } from "../../lib/root.ts";

Deno.test("virtio sysfs feature strings", () => {
  assert.equal(parseFeatureString("1010"), 0b0101n);
  assert.equal(parseFeatureString("0".repeat(32) + "11"), 0x300000000n);
});

Deno.test("virtio status bits by name", () => {
  assert.deepEqual(statusNames(0x0f), [
    "ACKNOWLEDGE",
    "DRIVER",
    "DRIVER_OK",
    "FEATURES_OK",
  ]);
  assert.deepEqual(statusNames(0), []);
});

Deno.test("the vdpa bus from a fake tree: devices, drivers, virtio, netdev", () => {
  const root = fakeBus();
  try {
    const bus = new VdpaBus(root);
    assert.deepEqual(bus.deviceNames(), ["sim0", "sim1", "sim2"]);
    assert.equal(bus.exists("sim2"), true);
    assert.equal(bus.exists("nope"), false);
    assert.equal(bus.hasDriver("virtio_vdpa"), true);
    assert.equal(bus.hasDriver("nope"), false);
    assert.equal(bus.driver("sim0"), "virtio_vdpa");
    assert.equal(bus.driver("sim1"), "vhost_vdpa");
    assert.equal(bus.driver("sim2"), undefined);
    assert.equal(bus.driver("nope"), undefined);
    assert.equal(
      bus.deviceDir("sim0"),
      `${root.dir}/sys/bus/vdpa/devices/sim0`,
    );
    assert.equal(
      bus.driverDir("virtio_vdpa"),
      `${root.dir}/sys/bus/vdpa/drivers/virtio_vdpa`,
    );
    assert.deepEqual(bus.device("sim0"), {
      name: "sim0",
      driver: "virtio_vdpa",
      virtio: {
        name: "virtio1",
        deviceId: 1,
        status: 7,
        statusNames: ["ACKNOWLEDGE", "DRIVER", "DRIVER_OK"],
        features: 0x20n,
        featureNames: ["MAC"],
        netdevs: ["eth0"],
        disks: [],
      },
    });
    assert.deepEqual(bus.device("sim1"), {
      name: "sim1",
      driver: "vhost_vdpa",
    });
    assert.deepEqual(bus.device("sim2"), { name: "sim2" });
    assert.equal(bus.device("nope"), null);
    assert.equal(bus.netdev("sim0"), "eth0");
    assert.equal(bus.netdev("sim1"), undefined);
    assert.equal(bus.netdev("nope"), undefined);
  } finally {
    Deno.removeSync(root.dir, { recursive: true });
  }
});

Deno.test("no vdpa bus: nothing there, no errors", () => {
  const dir = Deno.makeTempDirSync({ prefix: "vdevctl-vdpa-bus-" });
  try {
    const bus = new VdpaBus(new SysRoot(dir));
    assert.deepEqual(bus.deviceNames(), []);
    assert.equal(bus.device("x"), null);
    assert.equal(bus.netdev("x"), undefined);
    assert.equal(bus.hasDriver("virtio_vdpa"), false);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("bindings: driver, vhost-vdpa character device, netdev", () => {
  const root = fakeBus();
  try {
    const bus = new VdpaBus(root);
    assert.deepEqual(bus.binding("sim0"), {
      driver: "virtio_vdpa",
      netdevs: ["eth0"],
      disks: [],
    });
    assert.deepEqual(bus.binding("sim1"), {
      driver: "vhost_vdpa",
      vhostDev: "/dev/vhost-vdpa-0",
      netdevs: [],
      disks: [],
    });
    assert.deepEqual(bus.binding("sim2"), { netdevs: [], disks: [] });
    assert.deepEqual(bus.binding("nope"), { netdevs: [], disks: [] });
  } finally {
    Deno.removeSync(root.dir, { recursive: true });
  }
});
