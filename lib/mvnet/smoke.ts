/**
 * `mvnet smoke`: the end-to-end self-test of the mvnet datapath on the real
 * kernel. Starts an mvnet device in this process, finds its netdev
 * (`/sys/bus/vdpa/devices/NAME/virtio*\/net/*`), brings it up, sends N
 * frames of varied sizes through an AF_PACKET socket, checks that every one
 * comes back byte-identical, measures packets per second and round-trip
 * latency, and tears everything down.
 *
 * @module
 */

import { messageOf, VdevError } from "../errors.ts";
import { PacketSocket, POLL, pollAsync } from "../sys/mod.ts";
import { type Mvnet, type MvnetStats, startMvnet } from "./daemon.ts";
import type { SysRoot } from "../root.ts";
import { readAttr } from "../sysfs_read.ts";
import { parseUnicastMac } from "../mac.ts";
import type { Progress } from "../progress.ts";

/** The EtherType of smoke frames (IEEE local experimental 1). */
export const SMOKE_ETHERTYPE = 0x88b5;
/** Smallest and largest frame sent (MTU 1500). */
export const FRAME_MIN = 60;
/** Largest frame (14-byte Ethernet header + 1500). */
export const FRAME_MAX = 1514;
const MAGIC = 0x4d564e54; // "MVNT"
const HDR = 14 + 4 + 4 + 2; // ethernet, magic, seq, size

/** Options of {@linkcode runSmoke}. */
export interface SmokeOptions {
  /** Number of frames (default 1000). */
  frames?: number;
  /** Frame size in bytes (60..1514) or "mixed" (default). */
  size?: number | "mixed";
  /** Device name (default "mvnet-smoke"). */
  name?: string;
  /** Frames in flight at most (default 64: a quarter of the RX ring). */
  window?: number;
  /**
   * A frame not back after this long is presumed lost (default 3000 ms); the
   * test ends when every frame is back, or when the rest is presumed lost
   * and nothing came back for that long.
   */
  lossTimeoutMs?: number;
  /** Run the datapath on a Worker (default true). */
  worker?: boolean;
  /** System root. */
  root: SysRoot;
  /** Diagnostics (default: the progress display's notes, or stderr). */
  log?: (message: string) => void;
  /** Shows the steps and the frames sent and back so far (default: none). */
  progress?: Progress;
}

/** Latency percentiles in microseconds. */
export interface Latency {
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
  /** Largest. */
  max: number;
}

/** What {@linkcode runSmoke} measured. */
export interface SmokeResult {
  /** Device name. */
  device: string;
  /** Its network interface. */
  netdev: string;
  /** Frames sent. */
  frames: number;
  /** Frames that came back byte-identical. */
  received: number;
  /** Frames that never came back. */
  lost: number;
  /** Frames that came back different (or twice). */
  corrupted: number;
  /** Smallest and largest frame sent. */
  sizes: { min: number; max: number };
  /** From the first send to the last receive. */
  durationMs: number;
  /** Frames back per second. */
  pps: number;
  /** Round-trip latency of the frames that came back. */
  latencyUs: Latency;
  /** The netdev's own counters at the end (`/sys/class/net/IF/statistics`). */
  netdevStats: Record<string, number>;
  /** The datapath's counters at the end (null: another process's). */
  stats: MvnetStats | null;
  /** True when every frame came back byte-identical. */
  ok: boolean;
}

/** The size of frame `seq` for a `size` option. */
export function frameSize(seq: number, size: number | "mixed"): number {
  if (size !== "mixed") return size;
  const fixed = [FRAME_MIN, FRAME_MAX, 64, 128, 256, 512, 1024, 1500];
  if (seq < fixed.length) return fixed[seq];
  let h = Math.imul(seq ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return FRAME_MIN + (h % (FRAME_MAX - FRAME_MIN + 1));
}

/** Builds frame `seq` of `len` bytes from `src` to `dst` (deterministic). */
export function buildFrame(
  seq: number,
  len: number,
  mac: { dst: Uint8Array; src: Uint8Array },
): Uint8Array<ArrayBuffer> {
  const f = new Uint8Array(len);
  const dv = new DataView(f.buffer);
  f.set(mac.dst, 0);
  f.set(mac.src, 6);
  dv.setUint16(12, SMOKE_ETHERTYPE);
  dv.setUint32(14, MAGIC);
  dv.setUint32(18, seq);
  dv.setUint16(22, len);
  for (let i = HDR; i < len; i++) f[i] = (seq * 31 + i * 7) & 0xff;
  return f;
}

/** The percentile `p` (0..1) of sorted `xs`. */
export function percentile(xs: Float64Array, p: number): number {
  if (xs.length === 0) return 0;
  const i = Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1);
  return xs[Math.max(0, i)];
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new VdevError(
      `${cmd} ${args.join(" ")} failed: ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
}

async function waitFor<T>(
  what: string,
  fn: () => T | undefined,
  timeoutMs: number,
): Promise<T> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (performance.now() > until) {
      throw new VdevError(`mvnet smoke: timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Brings `ifname` up for raw traffic: IPv6 off (no autoconfiguration frames
 * on the loop), link up, and waits for the operational state.
 */
export async function bringUp(
  ifname: string,
  options: { root: SysRoot },
): Promise<void> {
  const { root } = options;
  try {
    Deno.writeTextFileSync(
      root.path(`/proc/sys/net/ipv6/conf/${ifname}/disable_ipv6`),
      "1\n",
    );
  } catch {
    // No IPv6: nothing to silence.
  }
  await run("ip", ["link", "set", "dev", ifname, "up"]);
  await waitFor(`${ifname} to come up`, () => {
    const s = readAttr(root.path(`/sys/class/net/${ifname}/operstate`));
    return s === "up" || s === "unknown" ? s : undefined;
  }, 10_000);
}

/** The device {@linkcode exchange} talks to (an {@linkcode Mvnet} or a daemon's). */
export interface SmokeTarget {
  /** Device name. */
  readonly name: string;
  /** Its MAC (used when sysfs does not say). */
  readonly mac: string;
  /** Its datapath counters, when in this process. */
  stats?(): MvnetStats;
}

/** Sends frames through a running mvnet device and checks what comes back. */
export async function exchange(
  mv: SmokeTarget,
  netdev: string,
  options: SmokeOptions,
): Promise<SmokeResult> {
  const { root } = options;
  const n = options.frames ?? 1000;
  const size = options.size ?? "mixed";
  const window = options.window ?? 64;
  const lossTimeout = options.lossTimeoutMs ?? 3000;
  if (size !== "mixed" && (size < FRAME_MIN || size > FRAME_MAX)) {
    throw new VdevError(
      `mvnet smoke: --size ${size} out of range: use ${FRAME_MIN}..${FRAME_MAX} or mixed`,
    );
  }
  const dst = parseUnicastMac(
    readAttr(root.path(`/sys/class/net/${netdev}/address`)) ?? mv.mac,
  );
  const src = new Uint8Array([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01]);
  const sock = PacketSocket.open(netdev, SMOKE_ETHERTYPE);
  const sentAt = new Float64Array(n).fill(-1);
  const state = new Uint8Array(n); // 0 pending, 1 back, 2 lost, 3 bad
  const latency: number[] = [];
  const buf = new Uint8Array(FRAME_MAX + 64);
  let next = 0;
  let inflight = 0;
  let received = 0;
  let corrupted = 0;
  let lost = 0;
  let minSize = Infinity;
  let maxSize = 0;
  let first = 0;
  let last = 0;
  let oldest = 0;
  const fds = [[sock.fd, POLL.IN]] as const;
  const progress = options.progress;
  let shown = 0;
  try {
    progress?.step(`waiting for ${netdev} to pass traffic`);
    await warmUp(sock, { dst, src });
    progress?.step(`${netdev}:`);
    let lastActivity = performance.now();
    for (;;) {
      // Send while the window allows.
      while (inflight < window && next < n) {
        const len = frameSize(next, size);
        const f = buildFrame(next, len, { dst, src });
        if (!sock.send(f)) break;
        const t = performance.now();
        if (next === 0) first = t;
        sentAt[next] = t;
        minSize = Math.min(minSize, len);
        maxSize = Math.max(maxSize, len);
        next++;
        inflight++;
      }
      // Receive everything that is there.
      let got = 0;
      for (;;) {
        const len = sock.recv(buf);
        if (len < 0) break;
        got++;
        const now = performance.now();
        lastActivity = now;
        const dv = new DataView(buf.buffer);
        if (len < HDR || dv.getUint32(14) !== MAGIC) continue; // not ours
        const seq = dv.getUint32(18);
        if (seq === PROBE) continue;
        if (seq >= next || state[seq] === 1 || state[seq] === 3) {
          corrupted++;
          continue;
        }
        const want = buildFrame(seq, frameSize(seq, size), { dst, src });
        const same = len === want.length &&
          want.every((b, i) => buf[i] === b);
        if (state[seq] === 0) inflight--;
        if (state[seq] === 2) lost--;
        if (same) {
          state[seq] = 1;
          received++;
          latency.push((now - sentAt[seq]) * 1000);
          last = now;
        } else {
          state[seq] = 3;
          corrupted++;
        }
      }
      // Frames out for too long are presumed lost: they free their window
      // slot, and still count if they come back before the end.
      const now = performance.now();
      while (oldest < next && state[oldest] !== 0) oldest++;
      for (let s = oldest; s < next && now - sentAt[s] > lossTimeout; s++) {
        if (state[s] === 0) {
          state[s] = 2;
          lost++;
          inflight--;
        }
      }
      if (progress && now - shown >= 100) {
        shown = now;
        progress.update(
          received / n,
          `sent ${next}/${n}, back ${received}, lost ${lost}${
            corrupted ? `, corrupted ${corrupted}` : ""
          }`,
        );
      }
      if (next >= n) {
        if (received + lost + corrupted >= n && lost === 0) break;
        // The rest is presumed lost and nothing came back for a while.
        if (inflight === 0 && now - lastActivity > lossTimeout) break;
      }
      if (got === 0) {
        await pollAsync(fds, inflight >= window || next >= n ? 20 : 1);
      } else if (next % 256 === 0) {
        // Let the VDUSE message loop in now and then.
        await pollAsync(fds, 0);
      }
    }
  } finally {
    progress?.done();
    sock.close();
  }
  const lat = Float64Array.from(latency).sort();
  const durationMs = Math.max(1e-3, (last || performance.now()) - first);
  return {
    device: mv.name,
    netdev,
    frames: n,
    received,
    lost,
    corrupted,
    sizes: { min: minSize === Infinity ? 0 : minSize, max: maxSize },
    durationMs,
    pps: received / (durationMs / 1000),
    latencyUs: {
      p50: percentile(lat, 0.5),
      p90: percentile(lat, 0.9),
      p99: percentile(lat, 0.99),
      max: lat.length ? lat[lat.length - 1] : 0,
    },
    netdevStats: netdevStats(netdev, root),
    stats: mv.stats?.() ?? null,
    ok: received === n && corrupted === 0 && lost === 0,
  };
}

/** Sequence number of the warm-up probes (not counted). */
const PROBE = 0xffffffff;

/**
 * Sends a probe every 100 ms until one comes back (the link may take a
 * moment to pass traffic after it is up); throws after `timeoutMs`.
 */
async function warmUp(
  sock: PacketSocket,
  mac: { dst: Uint8Array; src: Uint8Array },
  timeoutMs = 10_000,
): Promise<void> {
  const probe = buildFrame(PROBE, FRAME_MIN, mac);
  const buf = new Uint8Array(FRAME_MAX + 64);
  const dv = new DataView(buf.buffer);
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    sock.send(probe);
    const wait = performance.now() + 100;
    while (performance.now() < wait) {
      await pollAsync([[sock.fd, POLL.IN]], 20);
      for (;;) {
        const len = sock.recv(buf);
        if (len < 0) break;
        if (len >= HDR && dv.getUint32(18) === PROBE) {
          // Drain any duplicate probes still on their way.
          await new Promise((r) => setTimeout(r, 50));
          while (sock.recv(buf) >= 0) { /* discard */ }
          return;
        }
      }
    }
  }
  throw new VdevError(
    `mvnet smoke: no frame came back within ${timeoutMs} ms of bringing the link up`,
  );
}

const NETDEV_COUNTERS = [
  "tx_packets",
  "rx_packets",
  "tx_dropped",
  "rx_dropped",
  "tx_errors",
  "rx_errors",
  "tx_fifo_errors",
];

/** The counters of `netdev` that tell where frames went missing. */
export function netdevStats(
  netdev: string,
  root: SysRoot,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of NETDEV_COUNTERS) {
    const v = readAttr(root.path(`/sys/class/net/${netdev}/statistics/${c}`));
    if (v !== undefined) out[c] = Number(v);
  }
  return out;
}

/** Waits for the netdev of a running mvnet (virtio_net probes it). */
export function waitNetdev(mv: Mvnet, timeoutMs = 15_000): Promise<string> {
  return waitFor(
    `the network interface of ${mv.name} (is virtio_net loaded?)`,
    () => mv.netdev(),
    timeoutMs,
  );
}

/** The whole smoke test: start, bring up, exchange, tear down. */
export async function runSmoke(
  options: SmokeOptions,
): Promise<SmokeResult> {
  const progress = options.progress;
  const log = options.log ??
    ((m: string) => progress ? progress.note(m) : console.error(m));
  const frames = options.frames ?? 1000;
  if (!Number.isInteger(frames) || frames < 1) {
    throw new VdevError(`mvnet smoke: --frames ${frames} must be at least 1`);
  }
  const name = options.name ?? "mvnet-smoke";
  progress?.step(`starting ${name}`);
  const mv = await startMvnet({
    name,
    worker: options.worker,
    root: options.root,
    log,
  }).finally(() => progress?.done());
  let result: SmokeResult | undefined;
  let failure: unknown;
  try {
    progress?.step(`waiting for the network interface of ${name}`);
    const netdev = await waitNetdev(mv);
    progress?.step(`bringing ${netdev} up`);
    await bringUp(netdev, { root: options.root });
    result = await exchange(mv, netdev, { ...options, log });
  } catch (err) {
    failure = err;
  }
  try {
    progress?.step(`stopping ${name}`);
    await mv.stop();
  } catch (err) {
    failure ??= err;
  } finally {
    progress?.done();
  }
  if (failure !== undefined) {
    if (failure instanceof VdevError) throw failure;
    throw new VdevError(`mvnet smoke: ${messageOf(failure)}`, {
      cause: failure,
    });
  }
  return result!;
}

/** The text report of a smoke result. */
export function formatSmoke(r: SmokeResult): string {
  const l = r.latencyUs;
  const us = (x: number) => `${x.toFixed(0)} us`;
  return [
    `mvnet smoke: ${r.device} (${r.netdev}): ${r.received}/${r.frames} frames back byte-identical, ${r.lost} lost, ${r.corrupted} corrupted`,
    `  sizes ${r.sizes.min}..${r.sizes.max} bytes, ${
      r.pps.toFixed(0)
    } pps over ${r.durationMs.toFixed(0)} ms`,
    `  latency p50 ${us(l.p50)}, p90 ${us(l.p90)}, p99 ${us(l.p99)}, max ${
      us(l.max)
    }`,
    r.stats
      ? `  datapath: tx ${r.stats.txPackets}, rx ${r.stats.rxPackets}, dropped ${r.stats.rxDropped}, rx irqs ${r.stats.rxIrqs}, tx irqs ${r.stats.txIrqs}, wakeups ${r.stats.wakeups}`
      : "  datapath: in another process",
    r.ok ? "PASS" : "FAIL",
  ].join("\n");
}
