/**
 * Test helper: a fake /sys/bus/vdpa tree.
 *
 * @module
 */

import { SysRoot } from "../../lib/root.ts";

/**
 * A vdpa bus: sim0 bound to virtio_vdpa (virtio1, netdev eth0), sim1 bound
 * to vhost_vdpa, sim2 unbound; vhost_vdpa and virtio_vdpa loaded.
 */
export function fakeBus(): SysRoot {
  const dir = Deno.makeTempDirSync({ prefix: "vdevctl-vdpa-bus-" });
  const bus = `${dir}/sys/bus/vdpa`;
  for (const d of ["virtio_vdpa", "vhost_vdpa"]) {
    Deno.mkdirSync(`${bus}/drivers/${d}`, { recursive: true });
  }
  for (const d of ["sim1", "sim0", "sim2"]) {
    Deno.mkdirSync(`${bus}/devices/${d}/power`, { recursive: true });
    Deno.writeTextFileSync(`${bus}/devices/${d}/driver_override`, "(null)\n");
  }
  Deno.symlinkSync(`${bus}/drivers/virtio_vdpa`, `${bus}/devices/sim0/driver`);
  Deno.symlinkSync(`${bus}/drivers/vhost_vdpa`, `${bus}/devices/sim1/driver`);
  Deno.mkdirSync(`${bus}/devices/sim1/vhost-vdpa-0`);
  const v = `${bus}/devices/sim0/virtio1`;
  Deno.mkdirSync(`${v}/net/eth0`, { recursive: true });
  Deno.writeTextFileSync(`${v}/device`, "0x0001\n");
  Deno.writeTextFileSync(`${v}/status`, "0x00000007\n");
  Deno.writeTextFileSync(`${v}/features`, "0".repeat(5) + "1" + "\n");
  return new SysRoot(dir);
}
