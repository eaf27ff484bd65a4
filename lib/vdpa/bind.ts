/**
 * Binding a vDPA device to a vdpa bus driver (`virtio_vdpa` or
 * `vhost_vdpa`) through the driver core's sysfs `unbind` and `bind` files.
 *
 * @module
 */

import { errnoCode, messageOf, VdevError } from "../errors.ts";
import type { SysRoot } from "../root.ts";
import { VdpaBus } from "./bus.ts";

/**
 * Binds vDPA device `name` to `driver`, unbinding it from its current
 * driver first; nothing when it is bound to `driver` already.
 */
export function bindVdpaDriver(
  root: SysRoot,
  name: string,
  driver: string,
): void {
  const bus = new VdpaBus(root);
  if (!bus.exists(name)) {
    throw new VdevError(
      `no vdpa device ${name} to bind (see 'vdevctl vdpa dev show')`,
    );
  }
  if (!bus.hasDriver(driver)) {
    throw new VdevError(
      `the vdpa driver ${driver} is not loaded: modprobe ${driver}`,
    );
  }
  const current = bus.driver(name);
  if (current === driver) return;
  const write = (file: string, what: string) => {
    try {
      Deno.writeTextFileSync(file, name, { create: false });
    } catch (err) {
      throw new VdevError(
        `cannot ${what} vdpa device ${name}: ${
          errnoCode(err) ?? messageOf(err)
        } writing ${file}`,
        { cause: err },
      );
    }
  };
  if (current !== undefined) {
    write(`${bus.driverDir(current)}/unbind`, `unbind from ${current}`);
  }
  write(`${bus.driverDir(driver)}/bind`, `bind to ${driver}`);
}
