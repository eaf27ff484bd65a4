/**
 * What a running mvnet daemon reports over its control socket
 * (`vdevctl mvnet stats`, `vduse show`): link, driver status, frames and
 * bytes per direction, drops, queue state and placement; and its text form.
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
