/**
 * `vdevctl mdev` against Debian's mdevctl 1.2 on the same kernel-shaped
 * trees (tests/mdev/fake_tree.ts `scaleTree`), 10,000 devices over 20
 * parents each:
 *
 * - `mix`: 40% running, 70% defined (10% both, 30% running without a
 *   definition, 60% defined and stopped), definitions with 0-3 attributes;
 * - `defined-only`: 10,000 definitions, nothing running;
 * - `running-only`: 10,000 running devices, no definitions.
 *
 * On each: `list`, `list -d`, `list -v` and their `--dumpjson` forms, the two
 * tools interleaved run by run (outputs compared), medians and the ratio
 * vdevctl/mdevctl printed (target <= 0.7x). Each tree has a /run as a host
 * has, where vdevctl keeps its store cache (lib/mdev/store_cache.ts); one
 * untimed `list -d` per tree writes it once the files have settled, as the
 * first listing after a change would. The `-d` forms are also measured with
 * `VDEVCTL_MDEV_CACHE=off` (that first listing's cost: shown, not a
 * target). mdevctl runs in a private mount
 * namespace with the tree bind-mounted over /sys and /etc/mdevctl.d; the
 * cost of that wrapper (unshare + mounts + exec of /bin/true) is measured the
 * same way and subtracted from mdevctl's times. Also `mdev types` on a
 * two-parent tree against Deno's own start-up (`deno run` of an empty file
 * with the launcher's flags), target <= 1.3x, and a 10-device `mdev list`,
 * target <= 40 ms.
 * A missed target is printed as MISSED.
 *
 * vdevctl is what a host runs: a copy installed (`deno task install
 * --destdir`) into the bench's temporary folder, whose `mdev list|types`
 * start from a bundle; `--checkout` measures this checkout's sources.
 *
 * Writes `mdev_bench.json` and `mdev_bench.csv` into `--out DIR` (default
 * bench/out). Run: `deno task bench mdev` (or `deno run -A
 * bench/mdev_bench.ts [--runs N] [--devices N] [--checkout] [--out DIR]`).
 *
 * @module
 */

import {
  bigTree,
  Rng,
  type ScaleShape,
  scaleTree,
  writeFakeTree,
} from "../tests/mdev/fake_tree.ts";
import { findMdevctl, mdevctlArgv, REPO } from "../tests/mdev/diff_helpers.ts";
import { launcherDenoArgv } from "../tests/command_output.ts";
import { SETTLE_MS } from "../lib/mdev/mod.ts";

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 && Deno.args[i + 1] !== undefined ? Deno.args[i + 1] : fallback;
}

const RUNS = Number(arg("--runs", "7"));
const DEVICES = Number(arg("--devices", "10000"));
const OUT = arg("--out", `${REPO}/bench/out`);
const LIST_TARGET = 0.7;
const TYPES_TARGET = 1.3;
const SMALL_TARGET_MS = 40;
const SHAPES: ScaleShape[] = ["mix", "defined-only", "running-only"];
const LIST_CASES = [
  ["list"],
  ["list", "-d"],
  ["list", "-v"],
  ["list", "--dumpjson"],
  ["list", "-d", "--dumpjson"],
  ["list", "-v", "--dumpjson"],
];

const base = Deno.makeTempDirSync({ prefix: "mdev-bench-" });

const TIME = "/usr/bin/time";
const hasTime = (() => {
  try {
    return Deno.statSync(TIME).isFile;
  } catch {
    return false;
  }
})();

/**
 * Runs `argv` (with `options.env` added to the environment): wall time, and
 * CPU time (user + sys) through time(1).
 */
async function time(
  argv: string[],
  options: { env?: Record<string, string> } = {},
): Promise<{ ms: number; cpu: number; out: string }> {
  const cpuFile = `${base}/cpu`;
  const full = hasTime ? [TIME, "-f", "%U %S", "-o", cpuFile, ...argv] : argv;
  const t0 = performance.now();
  const r = await new Deno.Command(full[0], {
    args: full.slice(1),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: options.env,
  }).output();
  const ms = performance.now() - t0;
  if (r.code !== 0) {
    throw new Error(
      `${argv.join(" ")} exited ${r.code}: ${
        new TextDecoder().decode(r.stderr)
      }`,
    );
  }
  let cpu = NaN;
  if (hasTime) {
    const [u, s] = Deno.readTextFileSync(cpuFile).trim().split("\n").pop()!
      .split(" ").map(Number);
    cpu = Math.round((u + s) * 1000);
  }
  return { ms, cpu, out: new TextDecoder().decode(r.stdout) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const fmt = (ms: number) => `${ms.toFixed(1).padStart(8)} ms`;

/** One measured case: medians of wall and CPU time of both tools. */
interface Row {
  tree: string;
  command: string;
  vdevctlMs: number;
  mdevctlMs: number;
  ratio: number;
  vdevctlCpuMs: number;
  mdevctlCpuMs: number;
  cpuRatio: number;
  target: number;
  met: boolean;
  /** 0.7x mdevctl is below Deno's empty-program start-up. */
  startupBound: boolean;
  /** vdevctl's store cache: "on" (as a host runs it) or "off" (not a target). */
  cache: "on" | "off";
}

function csv(rows: Row[]): string {
  const head =
    "tree,command,vdevctl_ms,mdevctl_ms,ratio,vdevctl_cpu_ms,mdevctl_cpu_ms,cpu_ratio,target,met,startup_bound,cache";
  return [
    head,
    ...rows.map((r) =>
      [
        r.tree,
        r.command,
        r.vdevctlMs.toFixed(2),
        r.mdevctlMs.toFixed(2),
        r.ratio.toFixed(3),
        r.vdevctlCpuMs.toFixed(1),
        r.mdevctlCpuMs.toFixed(1),
        r.cpuRatio.toFixed(3),
        r.target,
        r.met,
        r.startupBound,
        r.cache,
      ].join(",")
    ),
  ].join("\n") + "\n";
}

if (!findMdevctl()) {
  console.error(
    "mdev bench: mdevctl is not installed (apt-get install mdevctl)",
  );
  Deno.exit(1);
}

/**
 * What runs as vdevctl: by default a copy installed into `base` (what a host
 * runs: `deno task install`, its `mdev list|types` entry bundled), with
 * `--checkout` this checkout's launcher and sources.
 */
function installedCopy(): string {
  const dest = `${base}/install`;
  const r = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${REPO}/tools/install.ts`,
      "install",
      "--destdir",
      dest,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (!r.success) {
    throw new Error(
      `installing into ${dest} failed: ${new TextDecoder().decode(r.stderr)}`,
    );
  }
  return `${dest}/usr/local/lib/vdevctl`;
}
const PROGRAM = Deno.args.includes("--checkout") ? REPO : installedCopy();
const vdevctlArgv = (tree: string, args: string[]) => [
  `${PROGRAM}/vdevctl`,
  "--root",
  tree,
  "mdev",
  ...args,
];

/** Deno's empty-program start-up with the launcher's Deno and flags. */
const floorArgv = [
  ...launcherDenoArgv(`${PROGRAM}/node_modules/.bin/deno`, { repo: PROGRAM }),
  `${base}/empty.ts`,
];

const rows: Row[] = [];
let missed = 0;
try {
  const t0 = performance.now();
  const trees = new Map<string, string>();
  for (const [i, shape] of SHAPES.entries()) {
    const dir = `${base}/${shape}`;
    writeFakeTree(
      dir,
      scaleTree(new Rng(7 + i), { parents: 20, devices: DEVICES, shape }),
    );
    Deno.mkdirSync(`${dir}/run`); // a host's /run, for the store cache
    trees.set(shape, dir);
  }
  // The store cache keeps only files older than SETTLE_MS; then one listing
  // of each tree writes it (untimed), as the first one after a change does.
  const written = Date.now();
  while (Date.now() <= written + SETTLE_MS + 50) {
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const dir of trees.values()) {
    await time(vdevctlArgv(dir, ["list", "-d"]));
  }
  const small = `${base}/small`;
  writeFakeTree(small, bigTree(new Rng(8), { parents: 2, devices: 10 }));
  const load = () => Deno.loadavg().map((x) => x.toFixed(1)).join(" ");
  console.log(
    `vdevctl: ${
      PROGRAM === REPO
        ? "this checkout's sources (--checkout)"
        : "a copy installed by deno task install (mdev list|types bundled)"
    }`,
  );
  console.log(
    `trees: ${DEVICES} devices over 20 parents, shapes ${
      SHAPES.join(", ")
    }, and 10 devices (${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s to generate); ${RUNS} interleaved runs each; load ${load()}`,
  );
  Deno.writeTextFileSync(`${base}/empty.ts`, "");
  const wrapper: number[] = [];
  const wrapperCpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const w = await time(
      mdevctlArgv(trees.get("mix")!, []).slice(0, -1).concat("true"),
    );
    wrapper.push(w.ms);
    wrapperCpu.push(w.cpu);
  }
  const wrap = median(wrapper);
  const wrapCpu = median(wrapperCpu);
  console.log(
    `mdevctl's namespace wrapper (subtracted)   ${fmt(wrap)} wall, ${
      fmt(wrapCpu)
    } CPU`,
  );
  const floorRuns: number[] = [];

  /**
   * Measures `args` on `tree`, vdevctl (with `env`) and mdevctl
   * interleaved.
   */
  const measure = async (
    tree: string,
    args: string[],
    env?: Record<string, string>,
  ) => {
    const v: number[] = [];
    const m: number[] = [];
    const vc: number[] = [];
    const mc: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const a = await time(vdevctlArgv(trees.get(tree)!, args), { env });
      const b = await time(mdevctlArgv(trees.get(tree)!, args));
      floorRuns.push((await time(floorArgv)).ms);
      if (a.out !== b.out) {
        throw new Error(`outputs of mdev ${args.join(" ")} on ${tree} differ`);
      }
      v.push(a.ms);
      m.push(Math.max(0, b.ms - wrap));
      vc.push(a.cpu);
      mc.push(Math.max(0, b.cpu - wrapCpu));
    }
    return {
      v: median(v),
      m: median(m),
      vc: median(vc),
      mc: median(mc),
    };
  };

  console.log(
    `\n${
      "tree / command".padEnd(36)
    } wall: vdevctl      mdevctl   ratio      CPU: vdevctl      mdevctl   ratio  target <= ${LIST_TARGET} (wall)`,
  );
  const cases: { shape: ScaleShape; args: string[]; cache: "on" | "off" }[] =
    SHAPES.flatMap((shape) => [
      ...LIST_CASES.map((args) => ({ shape, args, cache: "on" as const })),
      ...(shape === "running-only" ? [] : LIST_CASES)
        .filter((args) => args.includes("-d"))
        .map((args) => ({ shape, args, cache: "off" as const })),
    ]);
  for (const { shape, args, cache } of cases) {
    const off = cache === "off";
    const r = await measure(
      shape,
      args,
      off ? { VDEVCTL_MDEV_CACHE: "off" } : undefined,
    );
    const ratio = r.v / r.m;
    const met = ratio <= LIST_TARGET;
    const startupBound = r.m * LIST_TARGET < median(floorRuns);
    if (!met && !off) missed++;
    rows.push({
      tree: shape,
      command: `mdev ${args.join(" ")}`,
      vdevctlMs: r.v,
      mdevctlMs: r.m,
      ratio,
      vdevctlCpuMs: r.vc,
      mdevctlCpuMs: r.mc,
      cpuRatio: r.mc > 0 ? r.vc / r.mc : NaN,
      target: LIST_TARGET,
      met,
      startupBound,
      cache,
    });
    console.log(
      `${shape.padEnd(13)} mdev ${
        (args.join(" ") + (off ? " (no cache)" : "")).padEnd(18)
      }${fmt(r.v)} ${fmt(r.m)} ${ratio.toFixed(2).padStart(6)}x   ${
        fmt(r.vc)
      } ${fmt(r.mc)} ${
        (r.mc > 0 ? r.vc / r.mc : NaN).toFixed(2).padStart(6)
      }x  ${
        off
          ? "the first listing after a change (not a target)"
          : met
          ? "ok"
          : startupBound
          ? "MISSED (start-up bound: 0.7x mdevctl is below Deno's empty start-up)"
          : "MISSED"
      }`,
    );
  }

  // `types` against Deno's own start-up, measured interleaved, on the
  // small tree (two parents, as a host has): start-up, not reading, counts.
  const tv: number[] = [];
  const tf: number[] = [];
  const tm: number[] = [];
  for (let i = 0; i < RUNS * 2; i++) {
    const a = await time(vdevctlArgv(small, ["types"]));
    const f = await time(floorArgv);
    const b = await time(mdevctlArgv(small, ["types"]));
    if (a.out !== b.out) throw new Error("outputs of mdev types differ");
    tv.push(a.ms);
    tf.push(f.ms);
    tm.push(Math.max(0, b.ms - wrap));
  }
  const typesRatio = median(tv) / median(tf);
  const typesMet = typesRatio <= TYPES_TARGET;
  if (!typesMet) missed++;
  console.log(
    `\nmdev types: vdevctl ${fmt(median(tv))}, Deno's empty start-up ${
      fmt(median(tf))
    }: ${typesRatio.toFixed(2)}x (target <= ${TYPES_TARGET}x: ${
      typesMet ? "ok" : "MISSED"
    }); mdevctl ${fmt(median(tm))}`,
  );

  const v10: number[] = [];
  const m10: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    v10.push((await time(vdevctlArgv(small, ["list"]))).ms);
    m10.push(Math.max(0, (await time(mdevctlArgv(small, ["list"]))).ms - wrap));
  }
  const s = median(v10);
  const smallMet = s <= SMALL_TARGET_MS;
  if (!smallMet) missed++;
  console.log(
    `mdev list, 10 devices: vdevctl ${
      fmt(s)
    } (target <= ${SMALL_TARGET_MS} ms: ${
      smallMet ? "ok" : "MISSED"
    }), mdevctl ${fmt(median(m10))}`,
  );
  const result = {
    program: PROGRAM === REPO ? "checkout" : "installed",
    devices: DEVICES,
    parents: 20,
    runs: RUNS,
    load: Deno.loadavg(),
    wrapperMs: wrap,
    wrapperCpuMs: wrapCpu,
    list: rows,
    types: {
      vdevctlMs: median(tv),
      denoEmptyMs: median(tf),
      mdevctlMs: median(tm),
      ratio: typesRatio,
      target: TYPES_TARGET,
      met: typesMet,
    },
    smallList: {
      vdevctlMs: s,
      mdevctlMs: median(m10),
      targetMs: SMALL_TARGET_MS,
      met: smallMet,
    },
    missed,
  };
  Deno.mkdirSync(OUT, { recursive: true });
  Deno.writeTextFileSync(
    `${OUT}/mdev_bench.json`,
    JSON.stringify(result, null, 2) + "\n",
  );
  Deno.writeTextFileSync(`${OUT}/mdev_bench.csv`, csv(rows));
  console.log(`\nwrote ${OUT}/mdev_bench.{json,csv}`);
  if (missed > 0) {
    console.log(
      `\n${missed} target(s) MISSED in this run (timings on a loaded machine are noisy: check the load above)`,
    );
  }
} finally {
  Deno.removeSync(base, { recursive: true });
}
