/**
 * VDUSE devices in sysfs, `/sys/class/vduse/NAME` under one
 * {@linkcode SysRoot}: which devices exist, their queues, `bounce_size`,
 * `msg_timeout` and the queues' interrupt CPUs (`vqN/irq_cb_affinity`),
 * read without disturbing them, and the checked writes of `vduse set`.
 *
 * @module
 */

import { listDir, pathExists, readAttr } from "../sysfs_read.ts";
import { errnoCode, messageOf, VdevError } from "../errors.ts";
import { cpuMask, parseCpuMask, requireOnline } from "../cpu_list.ts";
import type { SysRoot } from "../root.ts";
import { VDUSE_CLASS_DIR, VDUSE_DEV_DIR } from "./device.ts";

/** Smallest and largest bounce buffer the kernel accepts (bytes). */
export const BOUNCE_SIZE_RANGE = { min: 1 << 20, max: 1 << 30 } as const;

/** What {@linkcode VduseSysfs.setAttributes} writes. */
export interface VduseAttributes {
  /** Bounce buffer size in bytes. */
  bounceSize?: bigint;
  /** Seconds each message waits for the daemon (0 = forever). */
  msgTimeout?: number;
  /** The queues' interrupt CPUs ({@linkcode VduseSysfs.setIrqAffinity}). */
  irq?: IrqAffinityOptions;
}

/** Which interrupt CPUs to give which queues. */
export interface IrqAffinityOptions {
  /** The CPUs (at least one, all online). */
  cpus: readonly number[];
  /** The queues (default: all). */
  queues?: readonly number[];
}

/** The interrupt CPUs of one queue, as read back. */
export interface QueueIrq {
  /** Queue index. */
  queue: number;
  /** Its CPUs. */
  cpus: number[];
}

/** The error for a kernel without the vduse module loaded. */
export function moduleMissing(cause?: unknown): VdevError {
  return new VdevError(
    "VDUSE is not available: /dev/vduse/control is missing; load it with modprobe vduse",
    { cause },
  );
}

function numberOr(text: string | undefined): number | undefined {
  return text === undefined || !/^\d+$/.test(text) ? undefined : Number(text);
}

function sysfsError(name: string, attr: string, err: unknown): VdevError {
  const code = errnoCode(err);
  if (code === "EACCES" || code === "EPERM") {
    return new VdevError(
      `cannot write ${attr} of VDUSE device ${name}: permission denied (run as root)`,
      { cause: err },
    );
  }
  return new VdevError(
    `cannot write ${attr} of VDUSE device ${name}: ${messageOf(err)}`,
    { cause: err },
  );
}

/** A view of `/sys/class/vduse` (and `/dev/vduse`) under one root. */
export class VduseSysfs {
  /** The root the tree is read under. */
  readonly root: SysRoot;
  /** `/sys/class/vduse` under the root. */
  readonly classDir: string;

  /** Opens the tree under `root`. */
  constructor(root: SysRoot) {
    this.root = root;
    this.classDir = root.path(VDUSE_CLASS_DIR);
  }

  /** True when the vduse module is loaded (`/dev/vduse/control` exists). */
  loaded(): boolean {
    return pathExists(this.root.path(`${VDUSE_DEV_DIR}/control`)) ||
      pathExists(`${this.classDir}/control`);
  }

  /** Names of the VDUSE devices (without `control`), sorted. */
  names(): string[] {
    return listDir(this.classDir).filter((n) => n !== "control");
  }

  /** True when VDUSE device `name` exists. */
  exists(name: string): boolean {
    return name !== "control" && pathExists(this.deviceDir(name));
  }

  /** The class directory of device `name` (whether or not it exists). */
  deviceDir(name: string): string {
    return `${this.classDir}/${name}`;
  }

  /** Number of virtqueues (the `vqN` directories of the class device). */
  queueCount(name: string): number {
    return listDir(this.deviceDir(name)).filter((e) => /^vq\d+$/.test(e))
      .length;
  }

  /** The text of attribute `attr` of `name` ("dev", ...), or undefined. */
  attr(name: string, attr: string): string | undefined {
    return readAttr(`${this.deviceDir(name)}/${attr}`);
  }

  /** Bounce buffer size in bytes, or undefined when unreadable. */
  bounceSize(name: string): number | undefined {
    return numberOr(this.attr(name, "bounce_size"));
  }

  /** Seconds each message waits (0 = forever), or undefined when unreadable. */
  msgTimeout(name: string): number | undefined {
    return numberOr(this.attr(name, "msg_timeout"));
  }

  /** The error for a VDUSE device `name` that does not exist. */
  noDevice(name: string): VdevError {
    if (!this.loaded()) return moduleMissing();
    return new VdevError(
      `no VDUSE device named ${name} (see vdevctl vduse list)`,
    );
  }

  /** The interrupt CPUs of every queue of `name` (undefined where unknown). */
  irqAffinity(name: string): (number[] | undefined)[] {
    return Array.from({ length: this.queueCount(name) }, (_, q) => {
      const text = this.attr(name, `vq${q}/irq_cb_affinity`);
      if (text === undefined) return undefined;
      try {
        return parseCpuMask(text);
      } catch {
        return undefined;
      }
    });
  }

  /**
   * Writes `bounce_size`, `msg_timeout` and/or the queues' interrupt CPUs
   * ({@linkcode VduseSysfs.setIrqAffinity}) of `name`, every value checked
   * before any is written, and returns the values read back (the kernel
   * rounds the bounce size down to a page).
   */
  setAttributes(
    name: string,
    values: VduseAttributes,
  ): { bounceSize?: number; msgTimeout?: number; irq?: QueueIrq[] } {
    if (!this.exists(name)) throw this.noDevice(name);
    // Refuse bad interrupt CPUs before changing anything.
    if (values.irq) this.#checkIrqAffinity(name, values.irq);
    const cls = this.deviceDir(name);
    if (values.bounceSize !== undefined) {
      const b = values.bounceSize;
      if (
        b < BigInt(BOUNCE_SIZE_RANGE.min) || b > BigInt(BOUNCE_SIZE_RANGE.max)
      ) {
        throw new VdevError(
          `bad --bounce-size ${b} for ${name}: must be between 1 MiB and 1 GiB`,
        );
      }
      if (b % 4096n !== 0n) {
        throw new VdevError(
          `bad --bounce-size ${b} for ${name}: must be a multiple of the 4096-byte page`,
        );
      }
    }
    if (
      values.msgTimeout !== undefined &&
      (!Number.isInteger(values.msgTimeout) || values.msgTimeout < 0 ||
        values.msgTimeout > 0xffffffff)
    ) {
      throw new VdevError(
        `bad --msg-timeout ${values.msgTimeout} for ${name}: whole seconds, 0 to wait forever`,
      );
    }
    if (values.bounceSize !== undefined) {
      try {
        Deno.writeTextFileSync(`${cls}/bounce_size`, `${values.bounceSize}\n`);
      } catch (err) {
        if (errnoCode(err) === "EPERM") {
          throw new VdevError(
            `cannot change the bounce size of ${name}: it is fixed once the device has been attached to vDPA (its IOVA domain lives until the device is destroyed); destroy and recreate it`,
            { cause: err },
          );
        }
        throw sysfsError(name, "bounce_size", err);
      }
    }
    if (values.msgTimeout !== undefined) {
      try {
        Deno.writeTextFileSync(`${cls}/msg_timeout`, `${values.msgTimeout}\n`);
      } catch (err) {
        throw sysfsError(name, "msg_timeout", err);
      }
    }
    const irq = values.irq ? this.setIrqAffinity(name, values.irq) : undefined;
    return {
      bounceSize: this.bounceSize(name),
      msgTimeout: this.msgTimeout(name),
      ...(irq ? { irq } : {}),
    };
  }

  /**
   * Sets the CPUs that the interrupt callbacks of `name`'s queues run on
   * (`vqN/irq_cb_affinity`, Linux 6.8+; all queues unless `queues` is given).
   * The kernel runs each callback (the driver's interrupt handler, and so its
   * NAPI poll) in a work item on one CPU of the mask, rotating through the
   * mask on every interrupt; a single CPU keeps a queue's interrupt work in
   * one place, as a NIC's MSI-X vector does. The driver sets its own mask
   * whenever it (re)probes, so a daemon re-applies this at every DRIVER_OK.
   * Returns the masks read back, per queue written.
   */
  setIrqAffinity(name: string, options: IrqAffinityOptions): QueueIrq[] {
    const queues = this.#checkIrqAffinity(name, options);
    const cls = this.deviceDir(name);
    const mask = cpuMask(options.cpus);
    const before = this.irqAffinity(name);
    const written: number[] = [];
    const write = (q: number, text: string) =>
      Deno.writeTextFileSync(`${cls}/vq${q}/irq_cb_affinity`, `${text}\n`, {
        create: false,
      });
    for (const q of queues) {
      try {
        write(q, mask);
        written.push(q);
      } catch (err) {
        // All queues or none: put back the masks already changed.
        for (const w of written) {
          const old = before[w];
          if (old !== undefined) {
            try {
              write(w, cpuMask(old));
            } catch {
              // Reported with the original failure below.
            }
          }
        }
        if (errnoCode(err) === "ENOENT") {
          throw new VdevError(
            `cannot set the interrupt CPUs of ${name}: this kernel has no ${VDUSE_CLASS_DIR}/${name}/vq${q}/irq_cb_affinity (Linux 6.8 or later)`,
            { cause: err },
          );
        }
        throw sysfsError(name, `vq${q}/irq_cb_affinity`, err);
      }
    }
    const after = this.irqAffinity(name);
    return queues.map((q) => ({
      queue: q,
      cpus: after[q] ?? [...options.cpus],
    }));
  }

  /**
   * Checks what {@linkcode VduseSysfs.setIrqAffinity} would write without
   * writing it (the device exists, the CPUs are online, the queues exist);
   * returns the queues.
   */
  #checkIrqAffinity(name: string, options: IrqAffinityOptions): number[] {
    if (!this.exists(name)) throw this.noDevice(name);
    if (options.cpus.length === 0) {
      throw new VdevError(`bad --irq-cpus for ${name}: no CPU given`);
    }
    requireOnline(this.root, options.cpus, { what: `--irq-cpus for ${name}` });
    const count = this.queueCount(name);
    const queues = options.queues ?? Array.from({ length: count }, (_, i) => i);
    const bad = queues.find((q) => !Number.isInteger(q) || q < 0 || q >= count);
    if (bad !== undefined) {
      throw new VdevError(
        `bad --queue ${bad} for ${name}: it has queues 0 to ${count - 1}`,
      );
    }
    return [...queues];
  }
}
