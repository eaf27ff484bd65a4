/**
 * Where mvnet's work runs when the user gives no placement flags: the
 * queues' interrupt callbacks (the driver's RX/TX processing, NAPI) on ONE
 * CPU, the last online CPU of the mask the driver set, and the datapath
 * Worker thread on the other online CPUs. With two CPUs that is interrupts
 * on CPU 1 and the datapath on CPU 0, the placement bench/mvnet_bench.ts
 * measured fastest at 60 bytes (1.20-1.34x the unplaced default): a
 * callback that rotates over every CPU loses its cache and lands on the
 * datapath's CPU half the time.
 *
 * `--irq-cpus` / `--datapath-cpus` override either half; the other half
 * then avoids it. `--placement kernel` (mode "kernel") places nothing: the
 * interrupt masks stay as the driver set them and the datapath thread may
 * run anywhere (what the bench compares the automatic placement against). {@linkcode choosePlacement} is pure; {@linkcode Placer}
 * applies it at start and again at every DRIVER_OK (the driver's probe
 * resets the interrupt masks, and CPUs may have gone on- or offline).
 * {@linkcode threadSchedStat} reads how a placed thread fares: its run time,
 * its wait for a CPU and its faults.
 *
 * @module
 */

import { formatCpuList, onlineCpus } from "../cpu_list.ts";
import { readAttr } from "../sysfs_read.ts";
import { messageOf } from "../errors.ts";
import type { SysRoot } from "../root.ts";
import { VduseSysfs } from "../vduse/mod.ts";

/** Where interrupts and the datapath run (null: the kernel's choice). */
export interface Placement {
  /** CPUs of the queues' interrupt callbacks. */
  irqCpus: number[] | null;
  /** CPUs of the datapath thread. */
  datapathCpus: number[] | null;
  /** Why, in a few words (printed by `mvnet run` and `mvnet stats`). */
  reason: string;
}

/**
 * "auto" (the default): choose as above; "kernel": place nothing, leave the
 * kernel's defaults.
 */
export type PlacementMode = "auto" | "kernel";

/** The accepted {@linkcode PlacementMode}s, for option parsing. */
export const PLACEMENT_MODES: readonly PlacementMode[] = ["auto", "kernel"];

/** What {@linkcode choosePlacement} decides from. */
export interface PlacementInput {
  /** "auto" (default) or "kernel" (place nothing; flags are not allowed). */
  mode?: PlacementMode;
  /** The online CPUs. */
  online: readonly number[];
  /** The CPUs the driver allows the interrupt callbacks on (union of queues). */
  irqMask?: readonly number[];
  /** `--irq-cpus`. */
  irqCpus?: readonly number[];
  /** `--datapath-cpus`. */
  datapathCpus?: readonly number[];
  /** The datapath runs on its own Worker thread (default true). */
  worker?: boolean;
}

const without = (a: readonly number[], b: readonly number[]) =>
  a.filter((c) => !b.includes(c));

/** Chooses the placement (see the module doc). */
export function choosePlacement(input: PlacementInput): Placement {
  const online = [...input.online].sort((a, b) => a - b);
  const worker = input.worker ?? true;
  const given = (what: string) => `${what} as given`;
  if (input.mode === "kernel") {
    return {
      irqCpus: null,
      datapathCpus: null,
      reason: "--placement kernel: the kernel's defaults",
    };
  }
  if (input.irqCpus && input.datapathCpus) {
    return {
      irqCpus: [...input.irqCpus],
      datapathCpus: [...input.datapathCpus],
      reason: given("both"),
    };
  }
  if (online.length < 2) {
    return {
      irqCpus: input.irqCpus ? [...input.irqCpus] : null,
      datapathCpus: input.datapathCpus ? [...input.datapathCpus] : null,
      reason: input.irqCpus || input.datapathCpus
        ? given("flags")
        : "one CPU online: nothing to place",
    };
  }
  const mask = input.irqMask?.length
    ? online.filter((c) => input.irqMask!.includes(c))
    : online;
  const allowed = mask.length ? mask : online;
  if (input.irqCpus) {
    const rest = without(online, input.irqCpus);
    return {
      irqCpus: [...input.irqCpus],
      datapathCpus: worker && rest.length ? rest : null,
      reason: worker && rest.length
        ? "interrupts as given, the datapath on the other CPUs"
        : given("interrupts"),
    };
  }
  if (input.datapathCpus) {
    const free = without(allowed, input.datapathCpus);
    const pick = free.length ? free : allowed;
    return {
      irqCpus: [pick[pick.length - 1]],
      datapathCpus: [...input.datapathCpus],
      reason: free.length
        ? "the datapath as given, interrupts on the last other CPU of the driver's mask"
        : "the datapath as given, interrupts sharing its CPU (the driver's mask has no other)",
    };
  }
  const irq = allowed[allowed.length - 1];
  const rest = without(online, [irq]);
  return {
    irqCpus: [irq],
    datapathCpus: worker ? rest : null,
    reason: worker
      ? "auto: interrupts on the last CPU of the driver's mask, the datapath on the others"
      : "auto: interrupts on the last CPU of the driver's mask (datapath on the main thread)",
  };
}

/** A thread's scheduler counters (`/proc/self/task/TID/schedstat`). */
export interface ThreadSchedStat {
  /** Time it ran on a CPU, ns. */
  runNs: number;
  /** Time it was runnable but waited for a CPU, ns. */
  waitNs: number;
  /** Page faults served without I/O (`stat`'s minflt), when readable. */
  minorFaults?: number;
}

/**
 * The scheduler counters of thread `tid` of this process, or undefined when
 * the kernel does not keep them (no CONFIG_SCHED_INFO) or the thread is gone.
 */
export function threadSchedStat(
  tid: number,
  options: { root: SysRoot },
): ThreadSchedStat | undefined {
  const task = options.root.path(`/proc/self/task/${tid}`);
  const m = /^(\d+) (\d+) \d+$/.exec(readAttr(`${task}/schedstat`) ?? "");
  if (!m) return undefined;
  const out: ThreadSchedStat = { runNs: Number(m[1]), waitNs: Number(m[2]) };
  const stat = readAttr(`${task}/stat`);
  if (stat !== undefined) {
    // After "(comm)": state ppid pgrp session tty_nr tpgid flags minflt.
    const minflt = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[7]);
    if (Number.isInteger(minflt)) out.minorFaults = minflt;
  }
  return out;
}

/** `interrupts on CPU 1, datapath on CPU 0 (why)`. */
export function formatPlacement(p: Placement): string {
  const cpus = (l: number[] | null) => l === null ? "any" : formatCpuList(l);
  return `interrupts on CPU ${cpus(p.irqCpus)}, datapath on CPU ${
    cpus(p.datapathCpus)
  } (${p.reason})`;
}

/** Applies a {@linkcode Placement} to a device and its datapath thread. */
export class Placer {
  /** The placement applied last. */
  current: Placement;
  readonly #name: string;
  readonly #root: SysRoot;
  readonly #input: Omit<PlacementInput, "online" | "irqMask">;
  readonly #place: (cpus: number[]) => void;
  readonly #log: (message: string) => void;
  #irqFailed = false;

  /**
   * A placer for device `name`; `place` moves the datapath thread. The
   * first placement comes from the online CPUs alone.
   */
  constructor(
    name: string,
    options: Omit<PlacementInput, "online" | "irqMask"> & {
      root: SysRoot;
      place: (cpus: number[]) => void;
      log: (message: string) => void;
    },
  ) {
    this.#name = name;
    this.#root = options.root;
    this.#input = {
      mode: options.mode,
      irqCpus: options.irqCpus,
      datapathCpus: options.datapathCpus,
      worker: options.worker,
    };
    this.#place = options.place;
    this.#log = options.log;
    this.current = choosePlacement({
      ...this.#input,
      online: onlineCpus(options.root),
    });
  }

  /**
   * At DRIVER_OK: re-reads the online CPUs and the driver's interrupt
   * masks, chooses again, moves the datapath thread if its CPUs changed and
   * writes the interrupt CPUs. Never throws (a failure is logged once).
   */
  driverOk(): void {
    const sysfs = new VduseSysfs(this.#root);
    let next: Placement;
    try {
      const masks = sysfs.irqAffinity(this.#name).flatMap((m) => m ?? []);
      next = choosePlacement({
        ...this.#input,
        online: onlineCpus(this.#root),
        irqMask: [...new Set(masks)],
      });
    } catch (err) {
      this.#log(`mvnet: cannot choose a placement: ${messageOf(err)}`);
      return;
    }
    const same = (a: number[] | null, b: number[] | null) =>
      JSON.stringify(a) === JSON.stringify(b);
    if (
      next.datapathCpus !== null &&
      !same(next.datapathCpus, this.current.datapathCpus)
    ) {
      this.#place(next.datapathCpus);
    }
    if (!same(next.irqCpus, this.current.irqCpus)) {
      this.#log(`mvnet: ${this.#name}: ${formatPlacement(next)}`);
    }
    this.current = next;
    if (next.irqCpus === null) return;
    try {
      sysfs.setIrqAffinity(this.#name, { cpus: next.irqCpus });
    } catch (err) {
      if (!this.#irqFailed) this.#log(`mvnet: ${messageOf(err)}`);
      this.#irqFailed = true;
    }
  }
}
