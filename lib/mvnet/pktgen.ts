/**
 * The kernel's packet generator (`pktgen`, /proc/net/pktgen) driven from
 * Deno, for the mvnet benchmark: one run of COUNT frames of SIZE bytes to
 * DST_MAC out of one interface, with the interface's receive counter read
 * around it (a loopback device returns what it is sent).
 *
 * The `start` write blocks until the run ends; it is made asynchronously so
 * that a VDUSE daemon on this event loop keeps answering.
 *
 * @module
 */

import { VdevError } from "../errors.ts";
import type { SysRoot } from "../root.ts";

/** What one pktgen run measured. */
export interface PktgenResult {
  /** Frames pktgen sent. */
  sent: number;
  /** Its elapsed time in microseconds. */
  usec: number;
  /** Frames per second sent (pktgen's own figure). */
  txPps: number;
  /** Frames the interface received during the run. */
  received: number;
  /** Received frames per second over pktgen's elapsed time. */
  rxPps: number;
  /** pktgen's error count (e.g. device queue full). */
  errors: number;
  /** pktgen's raw result line. */
  raw: string;
}

const PG = "/proc/net/pktgen";

function put(root: SysRoot, file: string, line: string): void {
  try {
    Deno.writeTextFileSync(root.path(`${PG}/${file}`), `${line}\n`);
  } catch (err) {
    throw new VdevError(
      `pktgen: writing "${line}" to ${PG}/${file} failed (${err}): is the pktgen module loaded?`,
      { cause: err },
    );
  }
}

function counter(root: SysRoot, ifname: string, name: string): number {
  return Number(
    Deno.readTextFileSync(
      root.path(`/sys/class/net/${ifname}/statistics/${name}`),
    ).trim(),
  );
}

/** Parses pktgen's "Result:" paragraph. */
export function parsePktgenResult(
  text: string,
): { sent: number; usec: number; pps: number; errors: number; raw: string } {
  const m =
    /Result: OK: (\d+)\(c\d+\+d\d+\) usec, (\d+) \([^)]*\)\s+(\d+)pps[^\n]*errors: (\d+)/
      .exec(text);
  if (!m) {
    const line = /Result:[^\n]*/.exec(text)?.[0] ?? "no result";
    throw new VdevError(`pktgen: run failed: ${line}`);
  }
  return {
    usec: Number(m[1]),
    sent: Number(m[2]),
    pps: Number(m[3]),
    errors: Number(m[4]),
    raw: m[0].replace(/\s+/g, " "),
  };
}

/** Runs pktgen once on `ifname` (thread kpktgend_0). */
export async function pktgenRun(
  ifname: string,
  options: {
    count: number;
    size: number;
    dstMac: string;
    root: SysRoot;
    /** The interface whose received frames count (default `ifname`: a loopback; the peer of a veth pair). */
    rxIfname?: string;
  },
): Promise<PktgenResult> {
  const { root } = options;
  put(root, "kpktgend_0", "rem_device_all");
  put(root, "kpktgend_0", `add_device ${ifname}`);
  for (
    const line of [
      `count ${options.count}`,
      `pkt_size ${options.size}`,
      `dst_mac ${options.dstMac}`,
      "delay 0",
      "clone_skb 0",
      "burst 1",
    ]
  ) put(root, ifname, line);
  const rxIf = options.rxIfname ?? ifname;
  const rx0 = counter(root, rxIf, "rx_packets");
  await Deno.writeTextFile(root.path(`${PG}/pgctrl`), "start\n");
  // Let the last frames come back.
  let rx1 = counter(root, rxIf, "rx_packets");
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const now = counter(root, rxIf, "rx_packets");
    if (now === rx1 && now - rx0 >= options.count) break;
    if (now === rx1 && i >= 4) break;
    rx1 = now;
  }
  // The start write may return before the thread has finished.
  let text = Deno.readTextFileSync(root.path(`${PG}/${ifname}`));
  for (let i = 0; i < 1200 && !/Result: OK:/.test(text); i++) {
    await new Promise((r) => setTimeout(r, 100));
    text = Deno.readTextFileSync(root.path(`${PG}/${ifname}`));
  }
  const r = parsePktgenResult(text);
  // Frames still in flight come back late on a loaded machine: wait until
  // every frame sent is counted, or the counter has stood still for a
  // second (at most 10 s), before calling the rest lost.
  let still = 0;
  for (let i = 0; i < 200 && rx1 - rx0 < r.sent && still < 20; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const now = counter(root, rxIf, "rx_packets");
    still = now === rx1 ? still + 1 : 0;
    rx1 = now;
  }
  put(root, "kpktgend_0", "rem_device_all");
  const received = rx1 - rx0;
  return {
    sent: r.sent,
    usec: r.usec,
    txPps: r.pps,
    received,
    rxPps: received / (r.usec / 1e6),
    errors: r.errors,
    raw: r.raw,
  };
}
