/**
 * mvnet against vdpa_sim_net and a kernel-only ceiling, in ONE sandbox boot
 * (Debian's Linux 6.12 under QEMU): pktgen (its thread on CPU 0) sends
 * frames of several sizes (default 60, 128, 256, 512, 1024, 1500 bytes) out
 * of each device's netdev, interleaved (every device once per size per run).
 * mvnet and vdpa_sim_net loop every frame back as received; the ceiling is a
 * veth pair (pktgen out of one end, frames counted at the other): what the
 * guest itself moves with no device in the way. The figure is frames
 * received per second over pktgen's run time, with the loss.
 *
 * Devices: "mvnet" as `mvnet run` with NO placement flags (its automatic
 * placement), "mvnet-kernel" with `--placement kernel` (nothing placed: what
 * the automatic placement buys), "mvnet-pinned" with `--irq-cpus LAST
 * --datapath-cpus OTHERS` only when that differs from the automatic choice
 * (on two vCPUs they are the same placement, so it is left out and the text
 * says so), "vdpa_sim_net" as it comes, "veth" (the ceiling). Every mvnet
 * series prints the placement it used, its interrupts and batches per
 * frame, and its datapath thread's CPU time and page faults per frame and
 * share of the run spent waiting for a CPU (`/proc/self/task/TID`). Prints
 * medians, the paired ratios mvnet / vdpa_sim_net (targets >= 2.0x at 60
 * bytes, >= 1.3x at 1500, zero loss) and mvnet's fraction of the ceiling,
 * and writes `mvnet_bench.{txt,json,csv,svg}` into `--out DIR`
 * (default bench/out): the SVG (vega-lite, `bench/plot.ts`) draws packets
 * per second against frame size.
 *
 *   deno task bench mvnet            (or: deno run -A bench/mvnet_bench.ts)
 *   options: --runs N (5), --count N frames per run (50000),
 *            --sizes 60,1500 (sizes in bytes), --out DIR
 *
 * @module
 */

import { sandboxRun } from "../lib/sandbox/mod.ts";
import {
  bringUp,
  formatPlacement,
  type Mvnet,
  type PktgenResult,
  pktgenRun,
  startMvnet,
  waitNetdev,
} from "../lib/mvnet/mod.ts";
import { onlineCpus } from "../lib/cpu_list.ts";
import { resolveRoot } from "../lib/root.ts";
import { VdpaBus, vdpaDevAdd, vdpaDevDel } from "../lib/vdpa/mod.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const MODULES = [
  "vduse",
  "vdpa",
  "virtio_vdpa",
  "virtio_net",
  "vdpa_sim_net",
  "pktgen",
];
const MARK = "MVNET-BENCH-JSON ";

function arg(name: string, dflt: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : dflt;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function mac(ifname: string): string {
  return Deno.readTextFileSync(`/sys/class/net/${ifname}/address`).trim();
}

async function ip(args: string[]): Promise<void> {
  const o = await new Deno.Command("ip", { args, stderr: "piped" }).output();
  if (!o.success) {
    throw new Error(
      `ip ${args.join(" ")}: ${new TextDecoder().decode(o.stderr)}`,
    );
  }
}

/** One measured run. */
interface Row {
  run: number;
  size: number;
  device: string;
  rxPps: number;
  txPps: number;
  sent: number;
  received: number;
  lost: number;
  /** mvnet only: frames mvnet itself dropped (no RX buffer within 1 s, too big). */
  dropped?: number;
  /** mvnet only: interrupts injected (RX + TX) per 1000 frames. */
  irqsPerKframe?: number;
  /** mvnet only: TX chains per datapath batch. */
  framesPerBatch?: number;
  /** mvnet only: the datapath thread's CPU time per frame, microseconds. */
  datapathUsPerFrame?: number;
  /** mvnet only: share of the run the datapath thread waited for its CPU. */
  datapathWaitShare?: number;
  /** mvnet only: the datapath thread's page faults per 1000 frames. */
  datapathFaultsPerKframe?: number;
}

/** The bench's JSON. */
interface BenchResult {
  kernel: string;
  cpus: number;
  runs: number;
  count: number;
  sizes: number[];
  /** The series, in drawing order. */
  devices: string[];
  /** Placement of each mvnet series, as `mvnet run` prints it. */
  placement: Record<string, string>;
  /** Load average of the machine running the guest, before and after. */
  hostLoad?: { before: string; after: string };
  rows: Row[];
  summary: {
    size: number;
    median: Record<string, number>;
    /** Paired ratio of each mvnet series over vdpa_sim_net. */
    ratioVsSim: Record<string, number>;
    fractionOfCeiling: number;
    mvnetLost: number;
  }[];
}

async function inGuest(): Promise<void> {
  const runs = Number(arg("--runs", "5"));
  const count = Number(arg("--count", "50000"));
  const sizes = arg("--sizes", "60,128,256,512,1024,1500").split(",").map(
    Number,
  );
  const root = resolveRoot();
  const cpus = onlineCpus(root);
  const irqCpus = cpus.length > 1 ? [cpus[cpus.length - 1]] : undefined;
  const datapathCpus = irqCpus
    ? cpus.filter((c) => c !== irqCpus[0])
    : undefined;
  const log = (m: string) => console.log(m);
  const mvs: [string, Mvnet][] = [];
  let simAdded = false;
  let vethAdded = false;
  try {
    mvs.push(["mvnet", await startMvnet({ name: "mvbench", root, log })]);
    mvs.push([
      "mvnet-kernel",
      await startMvnet({ name: "mvkernel", root, placement: "kernel", log }),
    ]);
    const devs: {
      label: string;
      ifname: string;
      dst: string;
      rx?: string;
      own?: Mvnet;
    }[] = [];
    for (const [label, m] of mvs) {
      const ifname = await waitNetdev(m);
      await bringUp(ifname, { root });
      devs.push({ label, ifname, dst: mac(ifname), own: m });
    }
    // Pinned as the bench used to run it, when that is not what "auto" chose.
    const auto = mvs[0][1].placement();
    const same = (a: number[] | null, b: number[] | undefined) =>
      JSON.stringify(a) === JSON.stringify(b ?? null);
    let pinnedNote = "";
    if (same(auto.irqCpus, irqCpus) && same(auto.datapathCpus, datapathCpus)) {
      pinnedNote =
        `# mvnet-pinned (--irq-cpus ${irqCpus} --datapath-cpus ${datapathCpus}) left out: the same placement as mvnet's automatic one on ${cpus.length} vCPUs`;
    } else {
      const pinned = await startMvnet({
        name: "mvpinned",
        root,
        irqCpus,
        datapathCpus,
        log,
      });
      mvs.push(["mvnet-pinned", pinned]);
      const ifname = await waitNetdev(pinned);
      await bringUp(ifname, { root });
      devs.push({
        label: "mvnet-pinned",
        ifname,
        dst: mac(ifname),
        own: pinned,
      });
    }
    await vdpaDevAdd({
      name: "simbench",
      mgmtdev: "vdpasim_net",
      mac: "02:00:00:5e:00:01",
    });
    simAdded = true;
    let simIf: string | undefined;
    for (let i = 0; i < 100 && !simIf; i++) {
      simIf = new VdpaBus(root).netdev("simbench");
      if (!simIf) await new Promise((r) => setTimeout(r, 100));
    }
    if (!simIf) throw new Error("vdpa_sim_net made no netdev");
    await bringUp(simIf, { root });
    devs.push({ label: "vdpa_sim_net", ifname: simIf, dst: mac(simIf) });
    await ip(["link", "add", "vbA", "type", "veth", "peer", "name", "vbB"]);
    vethAdded = true;
    await ip(["link", "set", "vbA", "up"]);
    await ip(["link", "set", "vbB", "up"]);
    devs.push({ label: "veth", ifname: "vbA", dst: mac("vbB"), rx: "vbB" });
    console.log(
      `# kernel ${Deno.osRelease()}, ${cpus.length} vCPUs, ${runs} runs x ${count} frames per size and device, pktgen on CPU 0`,
    );
    for (const [label, m] of mvs) {
      console.log(`# ${label}: ${formatPlacement(m.placement())}`);
    }
    if (pinnedNote) console.log(pinnedNote);
    const run1 = (d: typeof devs[number], size: number, n: number) =>
      pktgenRun(d.ifname, {
        count: n,
        size,
        dstMac: d.dst,
        root,
        rxIfname: d.rx,
      });
    // Warm up every device at every size (JIT, bounce pages, caches); the
    // first size longer: after 5000 frames V8 was still compiling the
    // datapath in the background (up to 1 s of CPU 0 in the first run).
    for (const [i, size] of sizes.entries()) {
      for (const d of devs) await run1(d, size, i === 0 ? 20000 : 5000);
    }
    const rows: Row[] = [];
    for (let r = 1; r <= runs; r++) {
      for (const size of sizes) {
        for (const d of devs) {
          const s0 = d.own?.stats();
          const t0 = d.own?.datapathThread();
          const at0 = performance.now();
          const res: PktgenResult = await run1(d, size, count);
          const wallNs = (performance.now() - at0) * 1e6;
          const t1 = d.own?.datapathThread();
          const s1 = d.own?.stats();
          const row: Row = {
            run: r,
            size,
            device: d.label,
            rxPps: Math.round(res.rxPps),
            txPps: res.txPps,
            sent: res.sent,
            received: res.received,
            lost: Math.max(0, res.sent - res.received),
          };
          if (s0 && s1) {
            const frames = Math.max(1, s1.txPackets - s0.txPackets);
            const irqs = s1.rxIrqs + s1.txIrqs - s0.rxIrqs - s0.txIrqs;
            row.irqsPerKframe = Number((1000 * irqs / frames).toFixed(2));
            row.dropped = s1.rxDropped + s1.rxTooBig - s0.rxDropped -
              s0.rxTooBig;
            row.framesPerBatch = Number(
              (frames / Math.max(1, s1.batches - s0.batches)).toFixed(1),
            );
          }
          if (s0 && s1 && t0 && t1) {
            // The datapath thread: CPU time per frame, and the share of the
            // run it was runnable but waited for its CPU.
            const frames = Math.max(1, s1.txPackets - s0.txPackets);
            row.datapathUsPerFrame = Number(
              ((t1.runNs - t0.runNs) / 1000 / frames).toFixed(2),
            );
            row.datapathWaitShare = Number(
              ((t1.waitNs - t0.waitNs) / wallNs).toFixed(3),
            );
            if (t0.minorFaults !== undefined && t1.minorFaults !== undefined) {
              row.datapathFaultsPerKframe = Number(
                (1000 * (t1.minorFaults - t0.minorFaults) / frames).toFixed(1),
              );
            }
          }
          rows.push(row);
          console.log(
            `run ${r} ${String(size).padStart(4)} B ${d.label.padEnd(12)} rx ${
              String(row.rxPps).padStart(7)
            } pps, tx ${String(row.txPps).padStart(7)} pps, lost ${row.lost}` +
              (row.irqsPerKframe === undefined
                ? ""
                : `, dropped by mvnet ${row.dropped}, irqs/1000 frames ${row.irqsPerKframe}, frames/batch ${row.framesPerBatch}`) +
              (row.datapathUsPerFrame === undefined
                ? ""
                : `, datapath ${row.datapathUsPerFrame} us/frame, waited ${
                  (100 * row.datapathWaitShare!).toFixed(0)
                }%, faults/1000 frames ${row.datapathFaultsPerKframe ?? "?"}`),
          );
        }
      }
    }
    const of = (dev: string, size: number) =>
      rows.filter((x) => x.device === dev && x.size === size);
    const paired = (a: string, b: string, size: number) => {
      const bs = of(b, size);
      return median(of(a, size).map((x, i) => x.rxPps / bs[i].rxPps));
    };
    const mvLabels = mvs.map(([l]) => l);
    const summary = sizes.map((size) => ({
      size,
      median: Object.fromEntries(
        devs.map((
          d,
        ) => [d.label, median(of(d.label, size).map((x) => x.rxPps))]),
      ),
      ratioVsSim: Object.fromEntries(
        mvLabels.map((l) => [l, paired(l, "vdpa_sim_net", size)]),
      ),
      fractionOfCeiling: paired("mvnet", "veth", size),
      mvnetLost: of("mvnet", size).reduce((a, x) => a + x.lost, 0),
    }));
    console.log("\n# medians (frames received per second), paired ratios");
    for (const s of summary) {
      const target = s.size === 60 ? 2.0 : s.size === 1500 ? 1.3 : undefined;
      const ratio = s.ratioVsSim.mvnet;
      console.log(
        `${String(s.size).padStart(4)} B: ` +
          Object.entries(s.median).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(
            ", ",
          ) +
          `; mvnet/vdpa_sim_net ${ratio.toFixed(2)}x` +
          (target
            ? ` (target >= ${target}x: ${
              ratio >= target && s.mvnetLost === 0 ? "met" : "NOT met"
            })`
            : "") +
          mvLabels.slice(1).map((l) =>
            `, ${l}/vdpa_sim_net ${s.ratioVsSim[l].toFixed(2)}x`
          ).join("") +
          `, mvnet ${
            (100 * s.fractionOfCeiling).toFixed(0)
          }% of the veth ceiling, mvnet lost ${s.mvnetLost}`,
      );
    }
    const result: BenchResult = {
      kernel: Deno.osRelease(),
      cpus: cpus.length,
      runs,
      count,
      sizes,
      devices: devs.map((d) => d.label),
      placement: Object.fromEntries(
        mvs.map(([l, m]) => [l, formatPlacement(m.placement())]),
      ),
      rows,
      summary,
    };
    console.log(MARK + JSON.stringify(result));
  } finally {
    if (vethAdded) await ip(["link", "del", "vbA"]).catch(() => {});
    if (simAdded) await vdpaDevDel("simbench");
    for (const [, m] of mvs) await m.stop();
  }
}

function csv(r: BenchResult): string {
  const head =
    "run,size,device,rx_pps,tx_pps,sent,received,lost,dropped,irqs_per_kframe,frames_per_batch,datapath_us_per_frame,datapath_wait_share,datapath_faults_per_kframe";
  return [
    head,
    ...r.rows.map((x) =>
      [
        x.run,
        x.size,
        x.device,
        x.rxPps,
        x.txPps,
        x.sent,
        x.received,
        x.lost,
        x.dropped ?? "",
        x.irqsPerKframe ?? "",
        x.framesPerBatch ?? "",
        x.datapathUsPerFrame ?? "",
        x.datapathWaitShare ?? "",
        x.datapathFaultsPerKframe ?? "",
      ].join(",")
    ),
  ].join("\n") + "\n";
}

const LABELS: Record<string, string> = {
  "mvnet": "mvnet (no flags: automatic placement)",
  "mvnet-kernel": "mvnet --placement kernel (nothing placed)",
  "mvnet-pinned": "mvnet pinned (--irq-cpus/--datapath-cpus)",
  "vdpa_sim_net": "vdpa_sim_net (kernel simulator)",
  "veth": "veth pair (kernel-only ceiling)",
};

async function svg(r: BenchResult): Promise<string> {
  // Loaded here, on the host: the guest never draws.
  const { lineChartSvg } = await import("./plot.ts");
  return await lineChartSvg(
    r.devices.map((d) => ({
      label: LABELS[d] ?? d,
      points: r.summary.map((s) => ({ x: s.size, y: s.median[d] })),
    })),
    {
      title:
        `pktgen loopback in one guest boot: median of ${r.runs} interleaved runs x ${r.count} frames`,
      subtitle: `Linux ${r.kernel}, ${r.cpus} vCPUs under QEMU TCG; host load ${
        r.hostLoad?.before ?? "?"
      }`,
      xLabel: "frame size (bytes)",
      yLabel: "frames received per second",
    },
  );
}

if (import.meta.main) {
  if (Deno.args.includes("--in-guest")) {
    await inGuest();
  } else {
    const out = arg("--out", `${REPO}/bench/out`);
    console.error("mvnet bench: booting the sandbox (one boot for all runs)");
    const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
    const before = load();
    const r = await sandboxRun(
      [
        `${REPO}/node_modules/.bin/deno`,
        "run",
        "-A",
        `${REPO}/bench/mvnet_bench.ts`,
        "--in-guest",
        ...Deno.args,
      ],
      {
        modules: MODULES,
        timeoutSec: 3600,
        cwd: REPO,
        output: "stream",
        progress: "auto",
      },
    );
    const line = r.stdout.split("\n").find((l) => l.startsWith(MARK));
    if (r.code === 0 && line) {
      const result = JSON.parse(line.slice(MARK.length)) as BenchResult;
      result.hostLoad = { before, after: load() };
      Deno.mkdirSync(out, { recursive: true });
      const text = r.stdout.split("\n").filter((l) => !l.startsWith(MARK)).join(
        "\n",
      );
      Deno.writeTextFileSync(
        `${out}/mvnet_bench.txt`,
        `${text}\n# host load average (1, 5, 15 min): before ${result.hostLoad.before}, after ${result.hostLoad.after}\n`,
      );
      Deno.writeTextFileSync(
        `${out}/mvnet_bench.json`,
        JSON.stringify(result, null, 2) + "\n",
      );
      Deno.writeTextFileSync(`${out}/mvnet_bench.csv`, csv(result));
      Deno.writeTextFileSync(`${out}/mvnet_bench.svg`, await svg(result));
      console.error(`mvnet bench: wrote ${out}/mvnet_bench.{txt,json,csv,svg}`);
    }
    Deno.exit(r.code === 0 && !line ? 1 : r.code);
  }
}
