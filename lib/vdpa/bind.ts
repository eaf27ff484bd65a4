/**
 * `vdpa dev bind NAME driver virtio_vdpa|vhost_vdpa`: moves a vdpa device
 * to another vdpa bus driver through sysfs, as a user would by hand: the
 * old driver's `unbind` releases the device and the new driver's `bind`
 * takes it. A device `driver_override` naming another driver would make
 * the kernel refuse that bind, so it is pointed at the new driver first. A
 * failed bind rolls back: the override is restored and the device is bound
 * to its old driver again.
 *
 * `drivers_autoprobe` (`/sys/bus/vdpa/drivers_autoprobe`) only decides
 * whether a device that appears is probed; an unbind never reprobes and an
 * explicit `bind` works whatever it says, so the move does not depend on
 * it, and `drivers_probe` (which takes the first matching driver, not the
 * one asked for) is never used.
 *
 * @module
 */

import { errnoCode, VdevError } from "../errors.ts";
import { readAttr } from "../sysfs_read.ts";
import type { VdpaBusDriver } from "./args.ts";
import { type VdpaBinding, VdpaBus } from "./bus.ts";

/** What {@linkcode bindVdpaDevice} did. */
export interface VdpaBindResult {
  /** The driver before ("" when the device was not bound). */
  from: string;
  /** The driver now. */
  to: VdpaBusDriver;
  /** False when the device was already bound to `to`. */
  changed: boolean;
  /** What the new driver made of the device. */
  binding: VdpaBinding;
}

function sysWrite(path: string, value: string): void {
  Deno.writeTextFileSync(path, value);
}

/** driver_override as the kernel shows it: "(null)" means none. */
function readOverride(bus: VdpaBus, name: string): string | undefined {
  const v = readAttr(`${bus.deviceDir(name)}/driver_override`);
  return v === undefined || v === "(null)" ? undefined : v;
}

function overridePath(bus: VdpaBus, name: string): string {
  return `${bus.deviceDir(name)}/driver_override`;
}

/**
 * Binds vdpa device `name` to `driver`, unbinding it from its current
 * driver first; rolls back when the new driver refuses it. Throws a
 * VdevError for an unknown device, a driver that is not loaded, or a bind
 * the kernel refuses (with the rollback's outcome).
 */
export function bindVdpaDevice(
  bus: VdpaBus,
  name: string,
  options: { driver: VdpaBusDriver },
): VdpaBindResult {
  const driver = options.driver;
  if (!bus.exists(name)) {
    throw new VdevError(
      `no vdpa device "${name}" (see 'vdevctl vdpa dev show')`,
    );
  }
  if (!bus.hasDriver(driver)) {
    throw new VdevError(
      `vdpa bus driver ${driver} is not loaded: load it with 'modprobe ${driver}'`,
    );
  }
  const from = bus.driver(name);
  if (from === driver) {
    return { from, to: driver, changed: false, binding: bus.binding(name) };
  }
  const override = readOverride(bus, name);
  const hasOverride = readAttr(overridePath(bus, name)) !== undefined;
  const pin = hasOverride && override !== undefined && override !== driver;
  if (pin) sysWrite(overridePath(bus, name), driver);
  try {
    if (from !== undefined) {
      sysWrite(`${bus.driverDir(from)}/unbind`, name);
    }
    sysWrite(`${bus.driverDir(driver)}/bind`, name);
  } catch (err) {
    const rolled = rollback(bus, name, { from, override, pin });
    throw new VdevError(
      `cannot bind vdpa device "${name}" to ${driver}: ${
        (err as Error).message
      } [${errnoCode(err) ?? "EIO"}]; ${rolled}`,
      { cause: err },
    );
  }
  return {
    from: from ?? "",
    to: driver,
    changed: true,
    binding: bus.binding(name),
  };
}

function rollback(
  bus: VdpaBus,
  name: string,
  was: { from?: string; override?: string; pin: boolean },
): string {
  try {
    if (was.pin) sysWrite(overridePath(bus, name), was.override ?? "\n");
    if (was.from === undefined) return "it stays unbound";
    if (bus.driver(name) === was.from) return `it stays on ${was.from}`;
    const now = bus.driver(name);
    if (now !== undefined) sysWrite(`${bus.driverDir(now)}/unbind`, name);
    sysWrite(`${bus.driverDir(was.from)}/bind`, name);
    return `rolled back to ${was.from}`;
  } catch (err) {
    return `rolling back to ${was.from} failed too (${
      (err as Error).message
    }): bind it with 'vdevctl vdpa dev bind ${name} driver ${was.from}'`;
  }
}
