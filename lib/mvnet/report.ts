/**
 * What a running mvnet daemon reports over its control socket
 * (`vdevctl mvnet stats`, `vduse show`): link, driver status, frames and
 * bytes per direction, drops, queue state, placement and the datapath
 * thread's scheduler counters; and its text form.
 *
 * Pure: no system access.
 *
 * @module
 */

import { VIRTIO_CONFIG_S } from "../virtio/mod.ts";
import { formatPlacement, type Placement } from "./placement.ts";

/** One queue as the daemon serves it. */
export interface QueueReport {
  /** Queue index (0 RX, 1 TX). */
  index: number;
  /** Entries the driver chose (0 before DRIVER_OK). */
  num: number;
  /** The driver set it ready. */
  ready: boolean;
  /** The datapath found the driver's ring broken and stopped serving it. */
  broken: boolean;
}

/** The datapath thread as the kernel counts it (its schedstat and stat). */
export interface DatapathThreadReport {
  /** Its thread id. */
  tid: number;
  /** Time it ran on a CPU, ns. */
  cpuNs: number;
  /** Time it was runnable but waited for a CPU, ns. */
  waitNs: number;
  /** Page faults served without I/O, null where unreadable. */
  minorFaults: number | null;
}

/** The report of a running daemon. */
export interface MvnetReport {
  /** Device name. */
  name: string;
  /** Its network interface, once virtio_net probed. */
  netdev: string | null;
  /** MAC address. */
  mac: string;
  /** VIRTIO_NET_S_LINK_UP in the config space. */
  link: "up" | "down";
  /** Device status the driver last set. */
  status: number;
  /** DRIVER_OK is set. */
  driverOk: boolean;
  /** The datapath serves the queues. */
  running: boolean;
  /** Frames the driver transmitted (looped back). */
  tx: { frames: number; bytes: number; errors: number };
  /** Frames delivered to the driver. */
  rx: { frames: number; bytes: number };
  /** Frames not delivered: no RX buffer, buffer too small. */
  drops: { noBuffer: number; tooBig: number };
  /** Interrupts injected per queue. */
  irqs: { rx: number; tx: number };
  /** Datapath wake-ups. */
  wakeups: number;
  /** DRIVER_OK transitions served. */
  driverOkCount: number;
  /** Resets served. */
  resets: number;
  /** The queues. */
  queues: QueueReport[];
  /** Where interrupts and the datapath run, and why. */
  placement: Placement;
  /**
   * The datapath thread's counters; null before it started, or where the
   * kernel keeps none (no CONFIG_SCHED_INFO).
   */
  datapathThread: DatapathThreadReport | null;
}

function seconds(ns: number): string {
  return `${(ns / 1e9).toFixed(3)} s`;
}

/** The datapath thread's line of `vdevctl mvnet stats`. */
function threadText(t: DatapathThreadReport | null): string {
  if (t === null) return "-";
  const faults = t.minorFaults === null
    ? ""
    : `, ${t.minorFaults} minor faults`;
  return `tid ${t.tid}, ran ${seconds(t.cpuNs)}, waited for a CPU ${
    seconds(t.waitNs)
  }${faults}`;
}

/** `vdevctl mvnet stats` as text. */
export function formatReport(r: MvnetReport): string {
  const q = r.queues.map((q) =>
    `vq${q.index} ${q.num ? `${q.num} entries` : "-"} ${
      q.ready ? "ready" : "not ready"
    }${q.broken ? " BROKEN" : ""}`
  ).join(", ");
  return [
    `${r.name}: netdev ${r.netdev ?? "-"} mac ${r.mac} link ${r.link}`,
    `  driver: status 0x${r.status.toString(16)}${
      r.driverOk ? " (DRIVER_OK)" : ""
    }, datapath ${
      r.running ? "running" : "stopped"
    }, ${r.driverOkCount} DRIVER_OK, ${r.resets} resets`,
    `  tx: ${r.tx.frames} frames ${r.tx.bytes} bytes ${r.tx.errors} errors`,
    `  rx: ${r.rx.frames} frames ${r.rx.bytes} bytes`,
    `  drops: ${r.drops.noBuffer} no buffer, ${r.drops.tooBig} too big`,
    `  irqs: rx ${r.irqs.rx} tx ${r.irqs.tx}, wakeups ${r.wakeups}`,
    `  queues: ${q || "none"}`,
    `  placement: ${formatPlacement(r.placement)}`,
    `  datapath thread: ${threadText(r.datapathThread)}`,
  ].join("\n") + "\n";
}

/** The one-line status `vduse show` prints for a served device. */
export function statusLine(r: MvnetReport): string {
  return `mvnet: link ${r.link}, ${
    r.driverOk ? "driver running" : "driver not running"
  } (status 0x${
    r.status.toString(16)
  }), tx ${r.tx.frames} rx ${r.rx.frames} frames, ${
    r.drops.noBuffer + r.drops.tooBig
  } dropped`;
}

/** True when `status` has DRIVER_OK. */
export function hasDriverOk(status: number): boolean {
  return (status & VIRTIO_CONFIG_S.DRIVER_OK) !== 0;
}
