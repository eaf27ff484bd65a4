/**
 * VDUSE device lifecycle for `vduse create` and `vduse destroy`, with kernel
 * errors translated into one-line {@linkcode VdevError}s that name the
 * object and the fix, and multi-step creation rolled back on failure.
 *
 * `createDevice` leaves a device that `vdpa dev add` can attach once some
 * process serves it: CREATE_DEV, then it opens `/dev/vduse/NAME` once, issues
 * VQ_SETUP for every queue and closes it again. The kernel keeps each queue's
 * max size across the close (it lives in the device, not in the open file;
 * verified on 6.12 by tests/e2e/vduse_test.ts), so the daemon that opens the
 * device later does not have to know the queue sizes. Nobody serves the
 * device afterwards: `vduse show` reports it as unserved.
 *
 * @module
 */

import { errnoCode, messageOf, VdevError } from "../errors.ts";
import { close } from "../sys/mod.ts";
import type { SysRoot } from "../root.ts";
import {
  createDev,
  destroyDev,
  getApiVersion,
  openControl,
  openDevice,
  setApiVersion,
  VDUSE_CONTROL_PATH,
  vqGetInfo,
  vqSetup,
} from "./device.ts";
import { type DeviceSpec, toDevConfig } from "./spec.ts";
import { VdpaBus } from "../vdpa/mod.ts";
import type { QueueInfo, QueueProbe } from "./inspect.ts";
import { holders } from "./holders.ts";
import { VDUSE_RECORD_DIR, VduseRecords } from "./record.ts";
import { moduleMissing, VduseSysfs } from "./sysfs.ts";
import { VDUSE_API_VERSION } from "./uapi.ts";

function permission(what: string, err: unknown): VdevError {
  return new VdevError(`${what}: permission denied (run as root)`, {
    cause: err,
  });
}

/** Opens the control node with API version 0 negotiated. */
function control(root: SysRoot): number {
  if (!new VduseSysfs(root).loaded()) throw moduleMissing();
  let fd: number;
  try {
    fd = openControl({ root });
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT" || code === "ENODEV") throw moduleMissing(err);
    if (code === "EACCES" || code === "EPERM") {
      throw permission(`cannot open ${VDUSE_CONTROL_PATH}`, err);
    }
    throw err;
  }
  try {
    const version = getApiVersion(fd);
    if (version < VDUSE_API_VERSION) {
      throw new VdevError(
        `the kernel's VDUSE API version ${version} is too old`,
      );
    }
    setApiVersion(fd, VDUSE_API_VERSION);
    return fd;
  } catch (err) {
    close(fd);
    throw err;
  }
}

/** Opens /dev/vduse/NAME, waiting briefly for the node to appear. */
function openNew(root: SysRoot, name: string): number {
  const deadline = Date.now() + 3000;
  for (;;) {
    try {
      return openDevice(name, { root });
    } catch (err) {
      if (errnoCode(err) !== "ENOENT" || Date.now() > deadline) throw err;
      // devtmpfs creates the node synchronously; udev-managed /dev may lag.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

function createError(spec: DeviceSpec, err: unknown): VdevError {
  const code = errnoCode(err);
  const n = spec.name;
  switch (code) {
    case "EEXIST":
      return new VdevError(
        `VDUSE device ${n} already exists: choose another name or vdevctl vduse destroy ${n}`,
        { cause: err },
      );
    case "EPERM":
      return new VdevError(
        spec.type === "net"
          ? `cannot create VDUSE net device ${n}: the kernel requires CAP_NET_ADMIN (run as root)`
          : `cannot create VDUSE device ${n}: operation not permitted (run as root)`,
        { cause: err },
      );
    case "EINVAL":
      return new VdevError(
        `the kernel refused VDUSE device ${n} (EINVAL): features 0x${
          spec.features.toString(16)
        }, ${spec.queueSizes.length} queues, ${spec.config.length}-byte config`,
        { cause: err },
      );
    case "ENOMEM":
    case "ENOSPC":
      return new VdevError(
        `cannot create VDUSE device ${n}: the kernel is out of memory or device numbers (${code})`,
        { cause: err },
      );
    default:
      return new VdevError(
        `cannot create VDUSE device ${n}: ${messageOf(err)}`,
        { cause: err },
      );
  }
}

/**
 * Creates a VDUSE device from a checked spec (see `buildSpec`), declares its
 * queues (VQ_SETUP) and records it in /run/vdevctl/vduse. On any failure
 * after CREATE_DEV the device is destroyed again.
 */
export function createDevice(
  spec: DeviceSpec,
  options: { root: SysRoot },
): void {
  const { root } = options;
  const ctl = control(root);
  try {
    try {
      createDev(ctl, toDevConfig(spec));
    } catch (err) {
      throw createError(spec, err);
    }
    try {
      const fd = openNew(root, spec.name);
      try {
        spec.queueSizes.forEach((maxSize, index) =>
          vqSetup(fd, { index, maxSize })
        );
      } finally {
        close(fd);
      }
      try {
        new VduseRecords(root).write(spec);
      } catch (err) {
        throw new VdevError(
          `cannot record VDUSE device ${spec.name} in ${VDUSE_RECORD_DIR} (the device was destroyed again): ${
            messageOf(err)
          }`,
          { cause: err },
        );
      }
    } catch (err) {
      try {
        destroyDev(ctl, spec.name);
      } catch {
        // Rollback failed too: report the original error.
      }
      new VduseRecords(root).remove(spec.name);
      if (err instanceof VdevError) throw err;
      const code = errnoCode(err);
      throw new VdevError(
        code === "EBUSY"
          ? `VDUSE device ${spec.name} was opened by another process while being set up; it was destroyed again`
          : `cannot set up the queues of VDUSE device ${spec.name} (destroyed again): ${
            messageOf(err)
          }`,
        { cause: err },
      );
    }
  } finally {
    close(ctl);
  }
}

/** Why VDUSE device `name` is busy: attached, held open, or both. */
export function busyReason(name: string, options: { root: SysRoot }): string {
  const { root } = options;
  const why: string[] = [];
  const att = new VdpaBus(root).device(name);
  if (att) {
    why.push(
      `it is attached to vDPA device ${att.name}${
        att.driver ? ` (driver ${att.driver})` : ""
      }: detach it with vdevctl vdpa dev del ${att.name}`,
    );
  }
  const held = holders(name, { root });
  if (held.length > 0) {
    why.push(
      `it is held open by ${
        held.map((h) => `pid ${h.pid} (${h.comm})`).join(", ")
      }: stop the daemon serving it`,
    );
  }
  if (why.length === 0) {
    why.push(
      "it is attached to vDPA or held open by a process not visible here",
    );
  }
  return why.join("; and ");
}

/**
 * Destroys VDUSE device `name` and its record. EBUSY names the vdpa device
 * attached and the processes holding it.
 */
export function destroyDevice(name: string, options: { root: SysRoot }): void {
  const { root } = options;
  const sysfs = new VduseSysfs(root);
  if (!sysfs.loaded()) throw moduleMissing();
  if (!sysfs.exists(name)) throw sysfs.noDevice(name);
  const ctl = control(root);
  try {
    destroyDev(ctl, name);
  } catch (err) {
    const code = errnoCode(err);
    if (code === "EBUSY") {
      throw new VdevError(
        `cannot destroy VDUSE device ${name}: ${busyReason(name, { root })}`,
        { cause: err },
      );
    }
    if (code === "EINVAL") throw sysfs.noDevice(name);
    if (code === "EPERM" || code === "EACCES") {
      throw permission(`cannot destroy VDUSE device ${name}`, err);
    }
    throw err;
  } finally {
    close(ctl);
  }
  new VduseRecords(root).remove(name);
}

/**
 * A {@linkcode QueueProbe} over the real device: opens `/dev/vduse/NAME`
 * (only possible when no daemon holds it), reads VQ_GET_INFO of each queue,
 * and closes it. "busy" when another process holds it, "broken" when the
 * kernel refuses ioctls (a message timed out).
 */
export function queueProbe(options: { root: SysRoot }): QueueProbe {
  const { root } = options;
  return (name, vqNum) => {
    let fd: number;
    try {
      fd = openDevice(name, { root, nonblock: true });
    } catch (err) {
      return errnoCode(err) === "EBUSY" ? "busy" : { queues: [] };
    }
    try {
      const queues: QueueInfo["state"][] = [];
      for (let i = 0; i < vqNum; i++) {
        const q = vqGetInfo(fd, i);
        queues.push({
          num: q.num,
          ready: q.ready,
          availIndex: q.availIndex,
          descAddr: q.descAddr,
          driverAddr: q.driverAddr,
          deviceAddr: q.deviceAddr,
        });
      }
      return { queues };
    } catch (err) {
      return errnoCode(err) === "EPERM" ? "broken" : { queues: [] };
    } finally {
      close(fd);
    }
  };
}
