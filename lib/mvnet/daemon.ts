/**
 * mvnet orchestration: a user-space virtio-net loopback device over VDUSE.
 *
 * {@linkcode startMvnet}: create the VDUSE net device with the VDUSE
 * lifecycle (`createDevice` keeping the fd open: CREATE_DEV, VQ_SETUP of
 * both queues, the record), or clean up / adopt a stale one left by a
 * crashed run, set the bounce size, start serving its messages
 * ({@linkcode VduseServer}) with the datapath on a Worker
 * ({@linkcode DatapathRunner}) as its backend, then attach it to the
 * vdpa bus (`vdpaDevAdd`, asynchronous: the kernel waits for our status
 * replies). {@linkcode Mvnet.stop}: detach while still serving, stop, close
 * the device fd, destroy the device. Every step that fails rolls back the
 * ones before.
 *
 * @module
 */

import { close, eventfd } from "../sys/mod.ts";
import { requireOnline } from "../cpu_list.ts";
import { messageOf, VdevError } from "../errors.ts";
import type { SysRoot } from "../root.ts";
import { formatMac } from "../mac.ts";
import {
  buildSpec,
  createDevice,
  NET_DEFAULT_FEATURES,
  VDUSE_CONTROL_PATH,
  VduseSysfs,
} from "../vduse/mod.ts";
import { featureBit, VIRTIO_F } from "../virtio/mod.ts";
import { VdpaBus, vdpaDevAdd, vdpaDevDel } from "../vdpa/mod.ts";
import { CTL } from "./datapath.ts";
import { DatapathRunner } from "./runner.ts";
import { vduseChannel, VduseServer } from "./control.ts";
import { readStats, type StatName } from "./loopback.ts";
import { type ControlSocket, listenControl } from "./ctl_socket.ts";
import {
  type DatapathThreadReport,
  hasDriverOk,
  type MvnetReport,
} from "./report.ts";
import {
  type Placement,
  type PlacementMode,
  Placer,
  type ThreadSchedStat,
  threadSchedStat,
} from "./placement.ts";
import {
  cleanupStale,
  destroyServed,
  openExisting,
  preferVirtioVdpa,
} from "./device_ops.ts";

/** Default device name. */
export const DEFAULT_NAME = "mvnet0";

/**
 * Default maximum queue size. Deeper than vduse's generic 256: a user-space
 * device answers the driver with scheduling latency a kernel device does not
 * have, and 1024 receive buffers (about 2 MiB of the driver's memory) ride
 * it out where 256 run dry (bench/mvnet_bench.ts measured 1.8-2.1x the
 * frames per second at 60 bytes, 1.1-1.5x at 1500).
 */
export const MVNET_QUEUE_SIZE = 1024;

/** Options of {@linkcode startMvnet}. */
export interface MvnetOptions {
  /** Device name (VDUSE and vdpa), default "mvnet0". */
  name?: string;
  /** MAC address (default: derived from the name, locally administered). */
  mac?: string;
  /** MTU offered with VIRTIO_NET_F_MTU (default 1500). */
  mtu?: number;
  /** Maximum queue size (default {@linkcode MVNET_QUEUE_SIZE}). */
  queueSize?: number;
  /**
   * CPUs the queues' interrupt callbacks run on (the driver's receive and
   * transmit processing); default: chosen (`placement.ts`): the last CPU of
   * the mask the driver set, off the datapath's CPUs. Applied at every
   * DRIVER_OK.
   */
  irqCpus?: number[];
  /**
   * CPUs the datapath Worker thread runs on (sched_setaffinity on that
   * thread only); default: chosen (`placement.ts`): the online CPUs but the
   * interrupts'.
   */
  datapathCpus?: number[];
  /**
   * "auto" (default): choose the placement as above; "kernel": place
   * nothing (the interrupt masks the driver set, the datapath anywhere).
   * "kernel" excludes `irqCpus` and `datapathCpus`.
   */
  placement?: PlacementMode;
  /** Bounce buffer size in bytes (default: the kernel's, 64 MiB). */
  bounceSize?: bigint;
  /** Attach to the vdpa bus (default true). */
  attach?: boolean;
  /** Adopt an existing device whose daemon died (default: clean it up). */
  reconnect?: boolean;
  /** Run the datapath on a Worker (default true). */
  worker?: boolean;
  /**
   * Serve the control socket `/run/vdevctl/mvnet/NAME.sock` (default true):
   * `vdevctl mvnet set` and `stats`.
   */
  control?: boolean;
  /** System root. */
  root: SysRoot;
  /** Diagnostics (default: stderr). */
  log?: (message: string) => void;
}

/** A locally administered MAC derived from `name` (stable across runs). */
export function macForName(name: string): string {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(name)) {
    h = Math.imul(h ^ b, 0x01000193) >>> 0;
  }
  const bytes = [
    0x02,
    0x6d,
    0x76,
    (h >>> 16) & 0xff,
    (h >>> 8) & 0xff,
    h & 0xff,
  ];
  return formatMac(new Uint8Array(bytes));
}

/** Counters and state of a running mvnet. */
export interface MvnetStats extends Record<StatName, number> {
  /** Last device status the driver set. */
  status: number;
  /** DRIVER_OK transitions served. */
  driverOk: number;
  /** Resets served. */
  resets: number;
  /** Datapath running. */
  running: boolean;
  /** Bit per broken queue (1 RX, 2 TX). */
  broken: number;
}

/** A running mvnet device. */
export class Mvnet {
  /** Device name. */
  readonly name: string;
  /** MAC address. */
  readonly mac: string;
  /** The device was adopted from a previous daemon. */
  readonly adopted: boolean;
  readonly #root: SysRoot;
  readonly #fd: number;
  readonly #server: VduseServer;
  readonly #runner: DatapathRunner;
  readonly #log: (message: string) => void;
  readonly #placer: Placer;
  #control: ControlSocket | null = null;
  #stopped = false;

  /** Internal: use {@linkcode startMvnet}. */
  constructor(
    parts: {
      name: string;
      mac: string;
      adopted: boolean;
      root: SysRoot;
      fd: number;
      server: VduseServer;
      runner: DatapathRunner;
      placer: Placer;
      log: (message: string) => void;
    },
  ) {
    this.name = parts.name;
    this.mac = parts.mac;
    this.adopted = parts.adopted;
    this.#root = parts.root;
    this.#fd = parts.fd;
    this.#server = parts.server;
    this.#runner = parts.runner;
    this.#placer = parts.placer;
    this.#log = parts.log;
  }

  /** The counters. */
  stats(): MvnetStats {
    return {
      ...readStats(this.#runner.stats),
      status: this.#server.status,
      driverOk: this.#server.driverOkCount,
      resets: this.#server.resetCount,
      running: this.#runner.running,
      broken: Atomics.load(this.#runner.ctl, CTL.broken),
    };
  }

  /**
   * The datapath thread's scheduler counters: how long it ran, how long it
   * waited for a CPU, its minor faults (undefined where the kernel keeps
   * none).
   */
  datapathThread(): ThreadSchedStat | undefined {
    const tid = this.#runner.threadId;
    return tid === undefined
      ? undefined
      : threadSchedStat(tid, { root: this.#root });
  }

  /** Where interrupts and the datapath run (as last applied), and why. */
  placement(): Placement {
    return this.#placer.current;
  }

  /** The report `vdevctl mvnet stats` prints. */
  report(): MvnetReport {
    const s = this.stats();
    const server = this.#server;
    return {
      name: this.name,
      netdev: this.netdev() ?? null,
      mac: this.mac,
      link: server.linkUp ? "up" : "down",
      status: s.status,
      driverOk: hasDriverOk(s.status),
      running: s.running,
      tx: { frames: s.txPackets, bytes: s.txBytes, errors: s.txErrors },
      rx: { frames: s.rxPackets, bytes: s.rxBytes },
      drops: { noBuffer: s.rxDropped, tooBig: s.rxTooBig },
      irqs: { rx: s.rxIrqs, tx: s.txIrqs },
      wakeups: s.wakeups,
      driverOkCount: s.driverOk,
      resets: s.resets,
      queues: server.queueInfo.map((q) => ({
        index: q.index,
        num: q.num,
        ready: q.ready,
        broken: (s.broken & (1 << q.index)) !== 0,
      })),
      placement: this.placement(),
      datapathThread: this.#threadReport(),
    };
  }

  #threadReport(): DatapathThreadReport | null {
    const tid = this.#runner.threadId;
    const st = this.datapathThread();
    if (tid === undefined || st === undefined) return null;
    return {
      tid,
      cpuNs: st.runNs,
      waitNs: st.waitNs,
      minorFaults: st.minorFaults ?? null,
    };
  }

  /**
   * Sets the link up or down (VIRTIO_NET_S_LINK_UP, config interrupt):
   * the netdev's carrier follows. VdevError before DRIVER_OK.
   */
  setLink(up: boolean): void {
    try {
      this.#server.setLink(up);
    } catch (err) {
      throw new VdevError(`mvnet ${this.name}: ${messageOf(err)}`, {
        cause: err,
      });
    }
    this.#log(`mvnet: ${this.name} link ${up ? "up" : "down"}`);
  }

  /** Stops serving the control socket. */
  async closeControl(): Promise<void> {
    await this.#control?.close();
    this.#control = null;
  }

  /** Serves the control socket (see `ctl_socket.ts`). */
  async listen(): Promise<void> {
    this.#control ??= await listenControl(this.name, {
      root: this.#root,
      handler: (req) => {
        if (req.op === "set") this.setLink(req.link === "up");
        return { ...this.report() };
      },
    });
  }

  /** The network interface, once virtio_net has probed. */
  netdev(): string | undefined {
    return new VdpaBus(this.#root).netdev(this.name);
  }

  /** True while attached to the vdpa bus. */
  attached(): boolean {
    return new VdpaBus(this.#root).exists(this.name);
  }

  /**
   * Attaches to the vdpa bus (the message loop must be serving) and makes
   * sure virtio_vdpa drives it (so that virtio_net makes a netdev), moving
   * it there if another vdpa bus driver (vhost_vdpa) took it.
   */
  async attach(): Promise<void> {
    await vdpaDevAdd({ name: this.name, mgmtdev: "vduse" });
    await preferVirtioVdpa(this.name, this.#root, this.#log);
  }

  /** Detaches from the vdpa bus while still serving. */
  async detach(): Promise<void> {
    if (this.attached()) await vdpaDevDel(this.name);
  }

  /**
   * Detaches (while serving), stops serving, closes the device fd and
   * destroys the device (unless `keep`).
   */
  async stop(options: { keep?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.closeControl();
    let firstError: unknown;
    try {
      if (!options.keep) await this.detach();
    } catch (err) {
      firstError = err;
    }
    await this.#server.stop();
    await this.#runner.close();
    close(this.#runner.wakeFd);
    close(this.#fd);
    if (!options.keep) {
      try {
        await destroyServed(this.name, this.#root);
      } catch (err) {
        firstError ??= err;
      }
    }
    if (firstError !== undefined) {
      throw firstError instanceof VdevError ? firstError : new VdevError(
        `mvnet ${this.name}: teardown failed: ${messageOf(firstError)}`,
        { cause: firstError },
      );
    }
    this.#log(`mvnet: ${this.name} stopped`);
  }
}

/** Creates (or adopts), serves and attaches an mvnet device. */
export async function startMvnet(options: MvnetOptions): Promise<Mvnet> {
  const { root } = options;
  const sysfs = new VduseSysfs(root);
  const bus = new VdpaBus(root);
  const name = options.name ?? DEFAULT_NAME;
  const log = options.log ?? ((m: string) => console.error(m));
  const mac = options.mac ?? macForName(name);
  const attach = options.attach ?? true;
  // Bad input first, then the environment.
  for (
    const [cpus, what] of [
      [options.irqCpus, "--irq-cpus"],
      [options.datapathCpus, "--datapath-cpus"],
    ] as const
  ) {
    if (cpus === undefined) continue;
    if (cpus.length === 0) {
      throw new VdevError(`bad ${what}: no CPU given; give e.g. 1 or 0,2-3`);
    }
    requireOnline(root, cpus, { what });
  }
  if (
    options.placement === "kernel" &&
    (options.irqCpus !== undefined || options.datapathCpus !== undefined)
  ) {
    throw new VdevError(
      "--placement kernel leaves the CPUs to the kernel: drop it or drop --irq-cpus/--datapath-cpus",
    );
  }
  if (options.datapathCpus !== undefined && options.worker === false) {
    throw new VdevError(
      "--datapath-cpus places the datapath's Worker thread: drop --no-worker or --datapath-cpus",
    );
  }
  if (!sysfs.loaded()) {
    throw new VdevError(
      `VDUSE is not available: ${VDUSE_CONTROL_PATH} is missing; load it with modprobe vduse (and vdpa, virtio_vdpa, virtio_net)`,
    );
  }
  // Without flags, chosen from the online CPUs now and from the driver's
  // interrupt masks at every DRIVER_OK.
  const placer = new Placer(name, {
    root,
    mode: options.placement,
    irqCpus: options.irqCpus,
    datapathCpus: options.datapathCpus,
    worker: options.worker ?? true,
    place: (cpus) => runner.place(cpus),
    log,
  });
  // Load the datapath worker before any device can send messages.
  const runner = new DatapathRunner({
    worker: options.worker ?? true,
    cpus: placer.current.datapathCpus ?? undefined,
    wakeFd: eventfd(),
    log,
  });
  await runner.ready();
  let adopted = false;
  let created = false;
  let fd = -1;
  let server: VduseServer | null = null;
  let control: Mvnet | null = null;
  try {
    if (sysfs.exists(name)) {
      if (options.reconnect) adopted = true;
      else await cleanupStale(name, root, log);
    }
    if (!adopted) {
      const spec = buildSpec(name, {
        type: "net",
        mac,
        mtu: options.mtu ?? 1500,
        // The datapath implements EVENT_IDX (lib/virtio/virtqueue.ts).
        features: NET_DEFAULT_FEATURES | featureBit(VIRTIO_F.EVENT_IDX),
        queueSize: options.queueSize ?? MVNET_QUEUE_SIZE,
      });
      fd = createDevice(spec, {
        root,
        keepOpen: true,
        existsHint: "use --reconnect or another name",
        // What `vduse show` reads: the kernel does not expose features,
        // config space or queue sizes. A record is a description, not state.
        onRecordError: (err) =>
          log(`mvnet: cannot record ${name} for vduse show: ${messageOf(err)}`),
      });
      created = true;
    } else {
      fd = openExisting(name, root);
    }
    if (created && options.bounceSize !== undefined) {
      sysfs.setAttributes(name, { bounceSize: options.bounceSize });
    }
    server = new VduseServer({
      channel: vduseChannel(fd, { log }),
      backend: runner.backend(fd),
      log,
      onDriverOk: () => placer.driverOk(),
    });
    if (adopted && server.adopt()) {
      log(`mvnet: adopted ${name}: serving its queues from their used index`);
    }
    server.start();
    const mv = new Mvnet({
      name,
      mac,
      adopted,
      root,
      fd,
      server,
      runner,
      placer,
      log,
    });
    if (options.control ?? true) {
      await mv.listen();
      control = mv;
    }
    if (attach && !bus.exists(name)) await mv.attach();
    return mv;
  } catch (err) {
    // Roll back what this call did.
    await control?.closeControl();
    if (server !== null) {
      try {
        if (created && bus.exists(name)) await vdpaDevDel(name);
      } catch {
        // Best effort.
      }
      await server.stop();
    }
    await runner.close();
    close(runner.wakeFd);
    if (fd >= 0) close(fd);
    if (created) {
      try {
        await destroyServed(name, root);
      } catch {
        // Reported below.
      }
    }
    if (err instanceof VdevError) throw err;
    throw new VdevError(`mvnet ${name}: ${messageOf(err)}`, { cause: err });
  }
}
