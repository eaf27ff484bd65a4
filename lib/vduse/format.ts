/**
 * Text and JSON output of `vduse list` and `vduse show`. 64-bit values
 * (features, addresses) are hex strings in JSON.
 *
 * @module
 */

import { snakeCaseKeys } from "../json_keys.ts";
import { formatCpuList } from "../cpu_list.ts";
import { formatBytes } from "../cli_values.ts";
import type { Holder } from "./holders.ts";
import type { VduseInfo, VduseSummary } from "./inspect.ts";

function hex(n: bigint): string {
  return `0x${n.toString(16)}`;
}

function daemonText(daemon: Holder[]): string {
  return daemon.map((h) => `pid ${h.pid} (${h.comm})`).join(", ");
}

/** `vduse list` as a table. */
export function listText(devices: VduseSummary[]): string {
  if (devices.length === 0) return "";
  const rows = [
    ["NAME", "TYPE", "QUEUES", "VDPA", "DAEMON"],
    ...devices.map((d) => [
      d.name,
      d.type ?? "?",
      String(d.queues),
      d.vdpa ?? "-",
      d.daemon.length ? daemonText(d.daemon) : "none",
    ]),
  ];
  const widths = rows[0].map((_, i) =>
    Math.max(...rows.map((r) => r[i].length))
  );
  return rows.map((r) =>
    r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join("  ")
  ).join("\n") + "\n";
}

/** `vduse list --json`. */
export function listJson(devices: VduseSummary[]): string {
  return JSON.stringify({
    devices: devices.map((d) => ({
      name: d.name,
      type: d.type ?? null,
      queues: d.queues,
      vdpa: d.vdpa,
      served: d.daemon.length > 0,
      daemon: d.daemon,
    })),
  }) + "\n";
}

/** The JSON object of `vduse show --json`. */
export function showObject(info: VduseInfo): Record<string, unknown> {
  const v = info.vdpa;
  return {
    name: info.name,
    dev: info.dev ?? null,
    type: info.type ?? null,
    device_id: info.deviceId ?? null,
    recorded: info.recorded,
    source: info.source,
    features: info.features === undefined ? null : hex(info.features),
    feature_names: info.featureNames ?? null,
    config: info.config ?? null,
    queues: info.queues.map((q) => ({
      index: q.index,
      max_size: q.maxSize ?? null,
      ...(q.irqCpus ? { irq_cpus: formatCpuList(q.irqCpus) } : {}),
      ...(q.state
        ? {
          num: q.state.num,
          ready: q.state.ready,
          avail_index: q.state.availIndex,
          desc_addr: hex(q.state.descAddr),
          driver_addr: hex(q.state.driverAddr),
          device_addr: hex(q.state.deviceAddr),
        }
        : {}),
    })),
    bounce_size: info.bounceSize ?? null,
    msg_timeout: info.msgTimeout ?? null,
    vdpa: v
      ? {
        name: v.name,
        driver: v.driver ?? null,
        virtio: v.virtio
          ? {
            name: v.virtio.name,
            device_id: v.virtio.deviceId,
            status: v.virtio.status,
            status_names: v.virtio.statusNames,
            features: hex(v.virtio.features),
            feature_names: v.virtio.featureNames,
            netdevs: v.virtio.netdevs,
            disks: v.virtio.disks,
          }
          : null,
      }
      : null,
    state: info.state,
    served: info.state === "served",
    daemon: info.daemon,
    daemon_status: info.daemonReport
      ? snakeCaseKeys(info.daemonReport.report)
      : null,
  };
}

/** `vduse show --json`. */
export function showJson(info: VduseInfo): string {
  return JSON.stringify(showObject(info)) + "\n";
}

function configText(config: Record<string, string | number>): string {
  return Object.entries(config).map(([k, v]) => `${k} ${v}`).join(" ");
}

/** `vduse show` as text. */
export function showText(info: VduseInfo): string {
  const lines: string[] = [];
  const kind = info.type
    ? `${info.type} (virtio device id ${info.deviceId})`
    : "type unknown";
  lines.push(
    `${info.name}: ${kind}${info.dev ? `, char device ${info.dev}` : ""}${
      info.source === "record"
        ? ""
        : info.source === "vdpa"
        ? " (not created by vdevctl: features and config from vdpa netlink, max_size is the largest queue's)"
        : " (not created by vdevctl: features, config and queue sizes unknown)"
    }`,
  );
  if (info.features !== undefined) {
    lines.push(
      `  features ${hex(info.features)}: ${
        (info.featureNames ?? []).join(" ")
      }`,
    );
  }
  if (info.config) lines.push(`  config: ${configText(info.config)}`);
  lines.push(`  queues ${info.queues.length}:`);
  for (const q of info.queues) {
    const parts = [`    vq${q.index}`];
    parts.push(`max_size ${q.maxSize ?? "?"}`);
    if (q.irqCpus) parts.push(`irq_cpus ${formatCpuList(q.irqCpus)}`);
    if (q.state) {
      parts.push(`num ${q.state.num}`, q.state.ready ? "ready" : "not ready");
      if (q.state.ready) {
        parts.push(
          `avail_index ${q.state.availIndex}`,
          `desc ${hex(q.state.descAddr)}`,
          `driver ${hex(q.state.driverAddr)}`,
          `device ${hex(q.state.deviceAddr)}`,
        );
      }
    }
    lines.push(parts.join(" "));
  }
  if (info.bounceSize !== undefined) {
    lines.push(
      `  bounce_size ${info.bounceSize} (${
        formatBytes(BigInt(info.bounceSize))
      })`,
    );
  }
  if (info.msgTimeout !== undefined) {
    lines.push(
      `  msg_timeout ${info.msgTimeout}${
        info.msgTimeout === 0 ? " (wait forever)" : " s"
      }`,
    );
  }
  const v = info.vdpa;
  if (!v) lines.push("  vdpa: not attached");
  else {
    lines.push(`  vdpa: ${v.name}, driver ${v.driver ?? "none"}`);
    if (v.virtio) {
      const w = v.virtio;
      lines.push(
        `    ${w.name}: status 0x${w.status.toString(16)} ${
          w.statusNames.join(" ")
        }`,
      );
      lines.push(
        `    negotiated ${hex(w.features)}: ${w.featureNames.join(" ")}`,
      );
      if (w.netdevs.length) lines.push(`    netdev ${w.netdevs.join(" ")}`);
      if (w.disks.length) lines.push(`    disk ${w.disks.join(" ")}`);
    }
  }
  if (info.state === "served") {
    lines.push(
      `  daemon: ${
        info.daemon.length
          ? daemonText(info.daemon)
          : "a process not visible here"
      } serves it`,
    );
    if (info.daemonReport) {
      lines.push(`  daemon status: ${info.daemonReport.summary}`);
    }
  } else if (info.state === "broken") {
    lines.push(
      "  daemon: none; the device is BROKEN (a message was not answered within msg_timeout): destroy and recreate it",
    );
  } else {
    lines.push(
      `  daemon: none: nobody serves this device${
        v
          ? " (the attached driver's requests wait msg_timeout each, then the device breaks)"
          : ""
      }`,
    );
  }
  return lines.join("\n") + "\n";
}
