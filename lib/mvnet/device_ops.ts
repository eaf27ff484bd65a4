/**
 * The device-side chores of the mvnet daemon (`daemon.ts`): open a device
 * another process may hold, clean up the device a crashed daemon left,
 * destroy a served device, and make sure virtio_vdpa drives it.
 *
 * @module
 */

import { close, eventfd } from "../sys/mod.ts";
import { errnoCode, messageOf, VdevError } from "../errors.ts";
import type { SysRoot } from "../root.ts";
import { destroyDevice, holders, openDevice } from "../vduse/mod.ts";
import { VdpaBus, vdpaDevDel } from "../vdpa/mod.ts";
import { DatapathRunner } from "./runner.ts";
import { vduseChannel, VduseServer } from "./control.ts";

/**
 * Rebinds vdpa device `name` to virtio_vdpa when another driver has it.
 * The sysfs writes wait for the drivers' remove/probe, which reset the
 * device and so wait for this process's replies: they are asynchronous.
 */
export async function preferVirtioVdpa(
  name: string,
  root: SysRoot,
  log: (m: string) => void,
): Promise<void> {
  const bus = new VdpaBus(root);
  const dev = bus.deviceDir(name);
  const current = bus.driver(name);
  if (current === "virtio_vdpa") return;
  // virtio_vdpa not loaded: leave it as it is.
  if (!bus.hasDriver("virtio_vdpa")) return;
  try {
    if (current !== undefined) {
      await Deno.writeTextFile(`${dev}/driver/unbind`, name);
    }
    await Deno.writeTextFile(`${dev}/driver_override`, "virtio_vdpa");
    await Deno.writeTextFile(`${bus.driverDir("virtio_vdpa")}/bind`, name);
    log(`mvnet: moved ${name} from ${current ?? "no driver"} to virtio_vdpa`);
  } catch (err) {
    log(`mvnet: cannot bind ${name} to virtio_vdpa: ${messageOf(err)}`);
  }
}

/** Destroys a device this process served (or found stale). */
export function destroyServed(name: string, root: SysRoot): Promise<void> {
  return destroyDevice(name, { root, retryBusy: true, missingOk: true });
}

/** Opens device `name` served by nobody (VdevError naming its holders if busy). */
export function openExisting(name: string, root: SysRoot): number {
  try {
    return openDevice(name, { root, nonblock: true });
  } catch (err) {
    if (errnoCode(err) === "EBUSY") {
      const who = holders(name, { root }).map((h) =>
        `${h.comm} (pid ${h.pid})`
      );
      throw new VdevError(
        `VDUSE device ${name} is served by another process${
          who.length ? `: ${who.join(", ")}` : ""
        }; stop it first or use another name`,
        { cause: err },
      );
    }
    throw new VdevError(
      `cannot open VDUSE device ${name}: ${messageOf(err)}`,
      { cause: err },
    );
  }
}

/**
 * Cleans up a device left by a crashed daemon: serves it while detaching it
 * from the vdpa bus, then destroys it.
 */
export async function cleanupStale(
  name: string,
  root: SysRoot,
  log: (m: string) => void,
): Promise<void> {
  const fd = openExisting(name, root);
  const runner = new DatapathRunner({ worker: false, wakeFd: eventfd(), log });
  const server = new VduseServer({
    channel: vduseChannel(fd, { log }),
    backend: runner.backend(fd),
    log,
  });
  try {
    server.start();
    if (new VdpaBus(root).exists(name)) await vdpaDevDel(name);
  } finally {
    await server.stop();
    await runner.close();
    close(runner.wakeFd);
    close(fd);
  }
  await destroyServed(name, root);
  log(`mvnet: cleaned up stale device ${name} left by a previous run`);
}
