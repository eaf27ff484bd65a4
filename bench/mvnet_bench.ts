/**
 * mvnet against vdpa_sim_net, in ONE sandbox boot (Debian's Linux 6.12 under
 * QEMU): pktgen sends 60-byte and 1500-byte frames out of each device's
 * netdev, interleaved (mvnet, sim, mvnet, sim...), several runs each. Both
 * devices loop every frame back as received; the figure is frames received
 * per second over pktgen's run time (pktgen's own send rate is printed too),
 * with the loss. Prints the medians and the ratio mvnet / vdpa_sim_net
 * (targets: >= 1.5x at 60 bytes, >= 1.0x at 1500 bytes). A second mvnet
 * device with its datapath on the main thread instead of a Worker is
 * measured alongside.
 *
 *   deno task bench mvnet            (or: deno run -A bench/mvnet_bench.ts)
 *   options: --runs N (default 5), --count N frames per run (default 50000)
 *
 * @module
 */

import { sandboxRun } from "../lib/sandbox/mod.ts";
import { findNetdev, startMvnet } from "../lib/mvnet.ts";
import { bringUp, waitNetdev } from "../lib/smoke.ts";
import { type PktgenResult, pktgenRun } from "../lib/mvnet_pktgen.ts";
import { vdpaDevAdd, vdpaDevDel } from "../lib/vdpa.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const MODULES = [
  "vduse",
  "vdpa",
  "virtio_vdpa",
  "virtio_net",
  "vdpa_sim_net",
  "pktgen",
];

function arg(name: string, dflt: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function mac(ifname: string): string {
  return Deno.readTextFileSync(`/sys/class/net/${ifname}/address`).trim();
}

async function inGuest(): Promise<void> {
  const runs = arg("--runs", 5);
  const count = arg("--count", 50000);
  const sizes = [60, 1500];
  console.log(
    `# kernel ${Deno.osRelease()}, ${navigator.hardwareConcurrency} vCPUs, ${runs} runs x ${count} frames per size and device`,
  );
  const mv = await startMvnet({ name: "mvbench", log: (m) => console.log(m) });
  // The same datapath on the main thread (nonblocking poll) instead of a
  // Worker, to measure what the Worker buys.
  const inline = await startMvnet({
    name: "mvbench-main",
    worker: false,
    log: (m) => console.log(m),
  });
  let simAdded = false;
  try {
    const mvIf = await waitNetdev(mv);
    await bringUp(mvIf);
    const inIf = await waitNetdev(inline);
    await bringUp(inIf);
    await vdpaDevAdd({
      name: "simbench",
      mgmtdev: "vdpasim_net",
      mac: "02:00:00:5e:00:01",
    });
    simAdded = true;
    let simIf: string | undefined;
    for (let i = 0; i < 100 && !simIf; i++) {
      simIf = findNetdev("simbench");
      if (!simIf) await new Promise((r) => setTimeout(r, 100));
    }
    if (!simIf) throw new Error("vdpa_sim_net made no netdev");
    await bringUp(simIf);
    const devs = [
      { label: "mvnet", ifname: mvIf, dst: mac(mvIf) },
      { label: "vdpa_sim_net", ifname: simIf, dst: mac(simIf) },
      { label: "mvnet-main", ifname: inIf, dst: mac(inIf) },
    ];
    // Warm up every device at every size (JIT, bounce pages, caches).
    for (const size of sizes) {
      for (const d of devs) {
        await pktgenRun(d.ifname, { count: 20000, size, dstMac: d.dst });
      }
    }
    const results = new Map<string, PktgenResult[]>();
    for (let r = 1; r <= runs; r++) {
      for (const size of sizes) {
        for (const d of devs) {
          const own = d.label === "mvnet"
            ? mv
            : d.label === "mvnet-main"
            ? inline
            : undefined;
          const dropped0 = own?.stats().rxDropped ?? 0;
          const res = await pktgenRun(d.ifname, {
            count,
            size,
            dstMac: d.dst,
          });
          const key = `${d.label}/${size}`;
          results.set(key, [...(results.get(key) ?? []), res]);
          const extra = own
            ? ` (no RX buffer: ${own.stats().rxDropped - dropped0})`
            : "";
          console.log(
            `run ${r} ${size.toString().padStart(4)} B ${
              d.label.padEnd(12)
            } rx ${res.rxPps.toFixed(0).padStart(7)} pps, tx ${
              res.txPps.toString().padStart(7)
            } pps, lost ${res.sent - res.received}${extra}`,
          );
        }
      }
    }
    console.log("\n# medians (frames received per second) and ratios");
    for (const size of sizes) {
      const m = median(results.get(`mvnet/${size}`)!.map((x) => x.rxPps));
      const s = median(
        results.get(`vdpa_sim_net/${size}`)!.map((x) => x.rxPps),
      );
      const mt = median(results.get(`mvnet/${size}`)!.map((x) => x.txPps));
      const st = median(
        results.get(`vdpa_sim_net/${size}`)!.map((x) => x.txPps),
      );
      const target = size === 60 ? 1.5 : 1.0;
      // The machine drifts between runs (TCG regimes swing ~3x): the ratio
      // that counts pairs each mvnet run with the vdpa_sim_net run next to it.
      const mvRuns = results.get(`mvnet/${size}`)!;
      const simRuns = results.get(`vdpa_sim_net/${size}`)!;
      const paired = median(mvRuns.map((x, i) => x.rxPps / simRuns[i].rxPps));
      console.log(
        `${size} B: mvnet ${m.toFixed(0)} pps, vdpa_sim_net ${
          s.toFixed(0)
        } pps` +
          ` (medians); ratio ${paired.toFixed(2)}x (median of paired runs;` +
          ` target >= ${target}x: ${paired >= target ? "met" : "NOT met"}),` +
          ` ratio of medians ${(m / s).toFixed(2)}x, pktgen tx ratio ${
            (mt / st).toFixed(2)
          }x`,
      );
      const mm = median(
        results.get(`mvnet-main/${size}`)!.map((x) => x.rxPps),
      );
      console.log(
        `${" ".repeat(7)}datapath on the main thread instead of a Worker: ${
          mm.toFixed(0)
        } pps (Worker / main thread ${(m / mm).toFixed(2)}x)`,
      );
    }
    const st = mv.stats();
    console.log(
      `mvnet datapath: tx ${st.txPackets}, rx ${st.rxPackets}, no RX buffer ${st.rxDropped}, rx irqs ${st.rxIrqs}, tx irqs ${st.txIrqs}, wakeups ${st.wakeups}, batches ${st.batches}`,
    );
  } finally {
    if (simAdded) await vdpaDevDel("simbench");
    await mv.stop();
    await inline.stop();
  }
}

if (import.meta.main) {
  if (Deno.args.includes("--in-guest")) {
    await inGuest();
  } else {
    console.error("mvnet bench: booting the sandbox (one boot for all runs)");
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
        timeoutSec: 1800,
        cwd: REPO,
        output: "stream",
        progress: "auto",
      },
    );
    Deno.exit(r.code);
  }
}
