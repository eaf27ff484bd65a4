import assert from "node:assert/strict";
import { VdevError } from "../../lib/errors.ts";
import { bindVdpaDevice } from "../../lib/vdpa/bind.ts";
import { VdpaBus } from "../../lib/vdpa/bus.ts";
import { fakeBus } from "./fake_bus.ts";

// The fake tree records what is written to bind/unbind/driver_override but
// does not move the driver link (only the kernel does): the moves
// themselves are proven on the real kernel in tests/e2e/vdpa_peer_test.ts.

function withBus(fn: (bus: VdpaBus, drivers: string) => void): void {
  const root = fakeBus();
  try {
    fn(new VdpaBus(root), `${root.dir}/sys/bus/vdpa/drivers`);
  } finally {
    Deno.removeSync(root.dir, { recursive: true });
  }
}

const read = (p: string) => Deno.readTextFileSync(p);

Deno.test("bind: unbinds from the old driver, then binds to the new one", () => {
  withBus((bus, drivers) => {
    const r = bindVdpaDevice(bus, "sim0", { driver: "vhost_vdpa" });
    assert.equal(read(`${drivers}/virtio_vdpa/unbind`), "sim0");
    assert.equal(read(`${drivers}/vhost_vdpa/bind`), "sim0");
    assert.equal(r.from, "virtio_vdpa");
    assert.equal(r.to, "vhost_vdpa");
    assert.equal(r.changed, true);
    // An unset override is left alone.
    assert.equal(read(`${bus.deviceDir("sim0")}/driver_override`), "(null)\n");
  });
});

Deno.test("bind: an unbound device is only bound; the same driver is a no-op", () => {
  withBus((bus, drivers) => {
    const r = bindVdpaDevice(bus, "sim2", { driver: "virtio_vdpa" });
    assert.equal(r.from, "");
    assert.equal(read(`${drivers}/virtio_vdpa/bind`), "sim2");
    assert.throws(() => Deno.statSync(`${drivers}/vhost_vdpa/unbind`));
    const same = bindVdpaDevice(bus, "sim1", { driver: "vhost_vdpa" });
    assert.equal(same.changed, false);
    assert.equal(same.binding.vhostDev, "/dev/vhost-vdpa-0");
    assert.throws(() => Deno.statSync(`${drivers}/vhost_vdpa/bind`));
  });
});

Deno.test("bind: an override naming another driver is pointed at the new one", () => {
  withBus((bus, drivers) => {
    const ov = `${bus.deviceDir("sim0")}/driver_override`;
    Deno.writeTextFileSync(ov, "virtio_vdpa\n");
    bindVdpaDevice(bus, "sim0", { driver: "vhost_vdpa" });
    assert.equal(read(ov), "vhost_vdpa");
    assert.equal(read(`${drivers}/vhost_vdpa/bind`), "sim0");
  });
});

Deno.test("bind: a refused bind restores the override and says where the device is", () => {
  withBus((bus, drivers) => {
    const ov = `${bus.deviceDir("sim0")}/driver_override`;
    Deno.writeTextFileSync(ov, "virtio_vdpa\n");
    // A directory where the bind file is: the write fails (EISDIR).
    Deno.mkdirSync(`${drivers}/vhost_vdpa/bind`);
    assert.throws(
      () => bindVdpaDevice(bus, "sim0", { driver: "vhost_vdpa" }),
      (e: unknown) =>
        e instanceof VdevError &&
        /^cannot bind vdpa device "sim0" to vhost_vdpa: .*\[EISDIR\]; it stays on virtio_vdpa$/
          .test(e.message),
    );
    assert.equal(read(ov), "virtio_vdpa");
  });
});

Deno.test("bind: unknown device, driver not loaded", () => {
  withBus((bus, drivers) => {
    assert.throws(
      () => bindVdpaDevice(bus, "nope", { driver: "vhost_vdpa" }),
      /no vdpa device "nope"/,
    );
    Deno.removeSync(`${drivers}/vhost_vdpa`, { recursive: true });
    assert.throws(
      () => bindVdpaDevice(bus, "sim0", { driver: "vhost_vdpa" }),
      /vdpa bus driver vhost_vdpa is not loaded: load it with 'modprobe vhost_vdpa'/,
    );
  });
});
