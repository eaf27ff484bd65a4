/**
 * The one VDUSE device lifecycle, for `vduse create`/`vduse destroy` and for
 * daemons that serve the device they create (`mvnet run`), with kernel
 * errors translated into one-line {@linkcode VdevError}s that name the
 * object and the fix, and multi-step creation rolled back on failure.
 *
 * {@linkcode createDevice}: CREATE_DEV, then it opens `/dev/vduse/NAME`,
 * issues VQ_SETUP for every queue and writes the record `vduse show` reads.
 * Without `keepOpen` it closes the device fd again: the kernel keeps each
 * queue's max size across the close (it lives in the device, not in the
 * open file; verified on 6.12 by tests/e2e/vduse_test.ts), so a daemon that
 * opens the device later does not have to know the queue sizes, and
 * `vduse show` reports it as unserved. With `keepOpen` the fd (O_NONBLOCK)
 * is returned to the daemon that serves it.
 *
 * {@linkcode destroyDevice}: DESTROY_DEV and the record; EBUSY names the
 * vdpa device attached and the processes holding the device, after waiting
 * for the kernel to let go of it when asked to (`retryBusy`).
 *
 * @module
 */

import { errnoCode, messageOf, VdevError } from "../errors.ts";
import { close } from "../sys/mod.ts";
import type { SysRoot } from "../root.ts";
import {
  createDev,
  destroyDev,
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

/**
 * Runs `fn` with a control fd (`/dev/vduse/control`) that speaks API
 * version 0, closing it afterwards. A missing module or a refused open is a
 * {@linkcode VdevError}; errors of `fn` pass through unchanged.
 */
export function withControl<T>(
  fn: (controlFd: number) => T,
  options: { root: SysRoot },
): T {
  const { root } = options;
  const sysfs = new VduseSysfs(root);
  if (!sysfs.loaded()) throw moduleMissing();
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
    try {
      // Pins the version the layouts of uapi.ts describe: a kernel that
      // speaks a newer one by default still accepts it, one that dropped it
      // refuses (EINVAL).
      setApiVersion(fd, VDUSE_API_VERSION);
    } catch (err) {
      throw new VdevError(
        `the kernel's VDUSE refuses API version ${VDUSE_API_VERSION}, the only one vdevctl speaks: ${
          messageOf(err)
        }`,
        { cause: err },
      );
    }
    return fn(fd);
  } finally {
    close(fd);
  }
}

/** Opens /dev/vduse/NAME, waiting briefly for the node to appear. */
function openNew(root: SysRoot, name: string, nonblock: boolean): number {
  const deadline = Date.now() + 3000;
  for (;;) {
    try {
      return openDevice(name, { root, nonblock });
    } catch (err) {
      if (errnoCode(err) !== "ENOENT" || Date.now() > deadline) throw err;
      // devtmpfs creates the node synchronously; udev-managed /dev may lag.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

function createError(
  spec: DeviceSpec,
  err: unknown,
  existsHint: string | undefined,
): VdevError {
  const code = errnoCode(err);
  const n = spec.name;
  switch (code) {
    case "EEXIST":
      return new VdevError(
        `VDUSE device ${n} already exists: ${
          existsHint ?? `choose another name or vdevctl vduse destroy ${n}`
        }`,
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

/** Options of {@linkcode createDevice}. */
export interface CreateDeviceOptions {
  /** System root. */
  root: SysRoot;
  /**
   * Keep the device fd open (O_NONBLOCK) and return it: the caller serves
   * the device and closes the fd (default false: closed, unserved).
   */
  keepOpen?: boolean;
  /**
   * What to do when the name is taken, for the EEXIST error (default:
   * choose another name or destroy it).
   */
  existsHint?: string;
  /**
   * Called when the record cannot be written, and the device is kept
   * (default: creation fails and the device is destroyed again).
   */
  onRecordError?: (err: unknown) => void;
}

/**
 * Creates a VDUSE device from a checked spec (see `buildSpec`), declares its
 * queues (VQ_SETUP) and records it in /run/vdevctl/vduse; with `keepOpen`,
 * returns its device fd. On any failure after CREATE_DEV the device is
 * destroyed again.
 */
export function createDevice(
  spec: DeviceSpec,
  options: CreateDeviceOptions & { keepOpen: true },
): number;
/** Creates a VDUSE device that nobody serves (see the overload above). */
export function createDevice(
  spec: DeviceSpec,
  options: CreateDeviceOptions,
): void;
export function createDevice(
  spec: DeviceSpec,
  options: CreateDeviceOptions,
): number | void {
  const { root } = options;
  const keep = options.keepOpen ?? false;
  return withControl((ctl) => {
    try {
      createDev(ctl, toDevConfig(spec));
    } catch (err) {
      throw createError(spec, err, options.existsHint);
    }
    let fd = -1;
    try {
      fd = openNew(root, spec.name, keep);
      spec.queueSizes.forEach((maxSize, index) =>
        vqSetup(fd, { index, maxSize })
      );
      if (!keep) {
        close(fd);
        fd = -1;
      }
      try {
        new VduseRecords(root).write(spec);
      } catch (err) {
        if (options.onRecordError === undefined) {
          throw new VdevError(
            `cannot record VDUSE device ${spec.name} in ${VDUSE_RECORD_DIR} (the device was destroyed again): ${
              messageOf(err)
            }`,
            { cause: err },
          );
        }
        options.onRecordError(err);
      }
      return keep ? fd : undefined;
    } catch (err) {
      if (fd >= 0) close(fd);
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
  }, { root });
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

/** Options of {@linkcode destroyDevice}. */
export interface DestroyDeviceOptions {
  /** System root. */
  root: SysRoot;
  /**
   * Retry EBUSY for up to 5 s: the caller has just closed the device fd
   * and detached the device, which the kernel lets go of asynchronously
   * (default false: EBUSY fails at once).
   */
  retryBusy?: boolean;
  /** A device that is already gone is not an error (default false). */
  missingOk?: boolean;
}

/**
 * Destroys VDUSE device `name` and its record. EBUSY names the vdpa device
 * attached and the processes holding it.
 */
export async function destroyDevice(
  name: string,
  options: DestroyDeviceOptions,
): Promise<void> {
  const { root } = options;
  const sysfs = new VduseSysfs(root);
  if (!sysfs.loaded()) throw moduleMissing();
  const gone = (): void => {
    if (!options.missingOk) throw sysfs.noDevice(name);
    new VduseRecords(root).remove(name);
  };
  if (!sysfs.exists(name)) return gone();
  for (let attempt = 1;; attempt++) {
    try {
      withControl((ctl) => destroyDev(ctl, name), { root });
      break;
    } catch (err) {
      if (err instanceof VdevError) throw err;
      const code = errnoCode(err);
      if (code === "EBUSY" && options.retryBusy && attempt < 50) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (code === "EBUSY") {
        throw new VdevError(
          `cannot destroy VDUSE device ${name}: ${busyReason(name, { root })}`,
          { cause: err },
        );
      }
      if (code === "EINVAL") return gone();
      if (code === "EPERM" || code === "EACCES") {
        throw permission(`cannot destroy VDUSE device ${name}`, err);
      }
      throw new VdevError(
        `cannot destroy VDUSE device ${name}: ${messageOf(err)}`,
        { cause: err },
      );
    }
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
