/**
 * TAB latency of the bash completion script on the example tree: one bash
 * (with bash-completion) sources `vdevctl completion bash` and Debian's
 * mdevctl completion, then presses TAB on each case in turn, round after
 * round (interleaved, so a burst of load hits every case alike), timing each
 * call of the completion function with $EPOCHREALTIME (the program's
 * start-up included, bash's not).
 *
 * Measured in the same run, as references:
 * - the floor: Deno's own start-up, an empty program run with the
 *   launcher's flags and read by bash the way the script reads vdevctl;
 * - mdevctl's completion: clap's static word list (no live values, no
 *   process), what a script without a program can reach;
 * - the script's own overhead: vdevctl's bash function calling a shell
 *   script that prints an empty answer (bash and one `sh`, no Deno).
 *
 * Also the CPU time (user + sys) per call of each case, from the
 * children's times in /proc/self/stat over ROUNDS direct runs: on a loaded
 * machine wall time is mostly waiting for a core, CPU time is not.
 *
 * Prints a table and JSON; `--json FILE` and `--csv FILE` write them to
 * files too. Target: every vdevctl case's median <= 60 ms; a missed target
 * is printed as MISSED (and compared with the floor).
 *
 * Run: `deno task bench completion` (or `deno run -A
 * bench/completion_bench.ts [--json FILE] [--csv FILE]`; BENCH_ROUNDS=N).
 *
 * @module
 */

import { completionScript } from "../lib/completion/mod.ts";
import { launcherDenoArgv } from "../tests/command_output.ts";

const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 21);
const TARGET_MS = 60;
const EXAMPLE = `${repo}/examples/sysroot`;
const UUID = "b1b8c3b4-1d1e-4c5f-9a0e-6a7b8c9d0e1f"; // defined and running

/**
 * What a case runs: vdevctl's completion, mdevctl's, the empty program, or
 * vdevctl's script over a program that only answers (`script`).
 */
type Kind = "vdevctl" | "mdevctl" | "floor" | "script";

/** Lines to press TAB on: [name, kind, words]. */
const CASES: [string, Kind, string[]][] = [
  ["floor: deno run of an empty file", "floor", []],
  ["script overhead: bash + sh, no Deno", "script", ["vdevctl", "mdev", ""]],
  ["families", "vdevctl", ["vdevctl", ""]],
  ["mdev subcommands", "vdevctl", ["vdevctl", "mdev", ""]],
  ["mdev start -p ''", "vdevctl", ["vdevctl", "mdev", "start", "-p", ""]],
  ["mdev start -p mtty -t ''", "vdevctl", [
    "vdevctl",
    "mdev",
    "start",
    "-p",
    "mtty",
    "-t",
    "",
  ]],
  ["mdev stop -u ''", "vdevctl", ["vdevctl", "mdev", "stop", "-u", ""]],
  ["mdev modify -u b1b8 (one UUID)", "vdevctl", [
    "vdevctl",
    "mdev",
    "modify",
    "-u",
    UUID.slice(0, 4),
  ]],
  ["mdev list --", "vdevctl", ["vdevctl", "mdev", "list", "--"]],
  ["vdpa dev show ''", "vdevctl", ["vdevctl", "vdpa", "dev", "show", ""]],
  ["sandbox run --modules mtty,''", "vdevctl", [
    "vdevctl",
    "sandbox",
    "run",
    "--modules",
    "mtty,",
  ]],
  ["mdev define --jsonfile '' (files)", "vdevctl", [
    "vdevctl",
    "mdev",
    "define",
    "--jsonfile",
    "",
  ]],
  ["--root '' (dirs)", "vdevctl", ["vdevctl", "--root", ""]],
  ["peer: mdevctl subcommands", "mdevctl", ["mdevctl", ""]],
  ["peer: mdevctl start options", "mdevctl", ["mdevctl", "start", "--"]],
];

const q = (w: string) => `'${w.replaceAll("'", `'\\''`)}'`;

/** The launcher's Deno command line for `main` (see ./vdevctl). */
function denoArgv(main: string): string[] {
  return [
    ...launcherDenoArgv(`${repo}/node_modules/.bin/deno`, { repo }),
    main,
  ];
}

function benchScript(script: string, empty: string, overhead: string): string {
  const lines = [
    "source /usr/share/bash-completion/bash_completion",
    `source ${q(script)}`,
    `source ${q(overhead)}`,
    "source /usr/share/bash-completion/completions/mdevctl",
    // The floor, read the way the vdevctl script reads its program.
    `__floor() { local line; COMPREPLY=(); while IFS= read -r line; do COMPREPLY+=("$line"); done < <(${
      denoArgv(empty).map(q).join(" ")
    } 2>/dev/null); }`,
  ];
  const fn = {
    vdevctl: "__vdevctl_complete",
    mdevctl: "_mdevctl",
    floor: "__floor",
    script: "__vdevctl_overhead_complete",
  };
  lines.push(`for r in $(seq ${ROUNDS}); do`);
  CASES.forEach(([, kind, words], i) => {
    const w = words.length > 0 ? words : [""];
    lines.push(
      `  COMP_WORDS=(${w.map(q).join(" ")}); COMP_CWORD=${w.length - 1}`,
      `  COMP_LINE=${q(w.join(" "))}; COMP_POINT=\${#COMP_LINE}`,
      `  s=$EPOCHREALTIME; ${fn[kind]} ${kind} "" ""; e=$EPOCHREALTIME`,
      `  echo "${i} $s $e \${#COMPREPLY[@]}"`,
    );
  });
  lines.push("done");
  return lines.join("\n") + "\n";
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** CPU time (user + sys, ms) of this process's waited-for children so far. */
function childrenCpuMs(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  // Fields after the ")" of the command name: state is field 3; cutime and
  // cstime are fields 16 and 17, in clock ticks (USER_HZ, 100 on Linux).
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** Mean CPU time (ms) of one run of `argv`, over ROUNDS runs. */
async function cpuPerRun(argv: string[]): Promise<number> {
  const before = childrenCpuMs();
  for (let r = 0; r < ROUNDS; r++) {
    await new Deno.Command(argv[0], {
      args: argv.slice(1),
      env: { VDEVCTL_ROOT: EXAMPLE },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
  }
  return (childrenCpuMs() - before) / ROUNDS;
}

const fix = (x: number, d = 1) => Number(x.toFixed(d));
const load = () => Deno.loadavg().map((x) => x.toFixed(1)).join(" ");

const dir = Deno.makeTempDirSync({ prefix: "completion-bench-" });
try {
  const script = `${dir}/vdevctl.bash`;
  const empty = `${dir}/empty.ts`;
  Deno.writeTextFileSync(empty, "");
  const answer = `${dir}/answer`;
  Deno.writeTextFileSync(answer, "#!/bin/sh\necho words\n", { mode: 0o755 });
  const overhead = `${dir}/overhead.bash`;
  Deno.writeTextFileSync(
    overhead,
    completionScript("bash", { name: "vdevctl_overhead", program: answer }),
  );
  Deno.writeTextFileSync(
    script,
    completionScript("bash", { program: `${repo}/vdevctl` }),
  );
  const loadBefore = load();
  const out = await new Deno.Command("bash", {
    args: ["-c", benchScript(script, empty, overhead)],
    env: { VDEVCTL_ROOT: EXAMPLE },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("bench bash failed");
  const samples = CASES.map(() => [] as number[]);
  const offered = CASES.map(() => 0);
  for (const line of new TextDecoder().decode(out.stdout).trim().split("\n")) {
    const [i, s, e, n] = line.split(" ");
    samples[Number(i)].push(
      (Number(e.replace(",", ".")) - Number(s.replace(",", "."))) * 1000,
    );
    offered[Number(i)] = Number(n);
  }
  const cpu: number[] = [];
  for (const [, kind, words] of CASES) {
    if (kind === "mdevctl" || kind === "script") cpu.push(NaN); // not Deno
    else if (kind === "floor") cpu.push(await cpuPerRun(denoArgv(empty)));
    else {
      cpu.push(
        await cpuPerRun([
          `${repo}/vdevctl`,
          "complete",
          "--",
          ...words.slice(1),
        ]),
      );
    }
  }
  const floorMedian = median(samples[0]);
  const floorCpu = cpu[0];
  const results = CASES.map(([name, kind], i) => ({
    name,
    kind,
    median_ms: fix(median(samples[i]), 2),
    min_ms: fix(Math.min(...samples[i]), 2),
    cpu_ms: Number.isNaN(cpu[i]) ? null : fix(cpu[i]),
    ratio_to_floor: kind === "mdevctl"
      ? null
      : fix(median(samples[i]) / floorMedian, 2),
    candidates: offered[i],
    within_target: kind === "vdevctl" ? median(samples[i]) <= TARGET_MS : null,
  }));
  const ours = results.filter((r) => r.kind === "vdevctl");
  const all = CASES.flatMap(([, kind], i) =>
    kind === "vdevctl" ? samples[i] : []
  );
  const tabMedian = median(all);
  const worst = Math.max(...ours.map((r) => r.median_ms));
  const oursCpu = median(ours.map((r) => r.cpu_ms ?? NaN));
  const scriptMedian = median(
    results.filter((r) => r.kind === "script").map((r) => r.median_ms),
  );
  const peerMedian = median(
    results.filter((r) => r.kind === "mdevctl").map((r) => r.median_ms),
  );
  console.log(
    `${ROUNDS} interleaved rounds on examples/sysroot; load ${loadBefore} (before), ${load()} (after)`,
  );
  console.log(
    `${"case".padEnd(36)}  median      min   CPU/run  x floor  candidates`,
  );
  for (const r of results) {
    const miss = r.within_target === false ? "  MISSED" : "";
    console.log(
      `${r.name.padEnd(36)}${r.median_ms.toFixed(1).padStart(7)} ms${
        r.min_ms.toFixed(1).padStart(6)
      } ms${
        r.cpu_ms === null
          ? "         -"
          : `${r.cpu_ms.toFixed(1).padStart(7)} ms`
      }${
        r.ratio_to_floor === null
          ? "        -"
          : r.ratio_to_floor.toFixed(2).padStart(9)
      }${String(r.candidates).padStart(12)}${miss}`,
    );
  }
  const within = ours.every((r) => r.within_target);
  const report = {
    bench: "completion",
    rounds: ROUNDS,
    load_before: loadBefore,
    load_after: load(),
    target_median_ms: TARGET_MS,
    tab_median_ms: fix(tabMedian, 2),
    worst_case_median_ms: worst,
    tab_cpu_ms: fix(oursCpu),
    floor_median_ms: fix(floorMedian, 2),
    floor_cpu_ms: fix(floorCpu),
    ratio_to_floor: fix(tabMedian / floorMedian, 2),
    cpu_ratio_to_floor: fix(oursCpu / floorCpu, 2),
    script_overhead_median_ms: scriptMedian,
    peer_median_ms: peerMedian,
    within_target: within,
    cases: results,
  };
  console.log(
    `TAB median ${tabMedian.toFixed(1)} ms over every case (worst case ${
      worst.toFixed(1)
    } ms; target <= ${TARGET_MS} ms${within ? "" : ": MISSED"}); ` +
      `floor (Deno's empty start-up) ${
        floorMedian.toFixed(1)
      } ms, ratio ${report.ratio_to_floor}x; CPU ${oursCpu.toFixed(1)} ms vs ${
        floorCpu.toFixed(1)
      } ms (${report.cpu_ratio_to_floor}x); the script itself (bash + sh) ${
        scriptMedian.toFixed(1)
      } ms; mdevctl's static completion ${peerMedian.toFixed(2)} ms`,
  );
  if (!within && floorMedian > TARGET_MS / 1.2) {
    console.log(
      `the floor alone takes ${floorMedian.toFixed(1)} ms here: ` +
        `${TARGET_MS} ms is below what Deno's start-up reaches on this machine now`,
    );
  }
  const json = JSON.stringify(report, null, 2);
  console.log(json);
  const arg = (name: string) => {
    const at = Deno.args.indexOf(name);
    return at >= 0 ? Deno.args[at + 1] : undefined;
  };
  const jsonFile = arg("--json");
  if (jsonFile) Deno.writeTextFileSync(jsonFile, json + "\n");
  const csvFile = arg("--csv");
  if (csvFile) {
    const cols = [
      "name",
      "kind",
      "median_ms",
      "min_ms",
      "cpu_ms",
      "ratio_to_floor",
      "candidates",
      "within_target",
    ] as const;
    const cell = (v: unknown) => {
      const s = v === null ? "" : String(v);
      return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
    };
    const rows = results.map((r) => cols.map((c) => cell(r[c])).join(","));
    Deno.writeTextFileSync(
      csvFile,
      [cols.join(","), ...rows].join("\n") + "\n",
    );
  }
} finally {
  Deno.removeSync(dir, { recursive: true });
}
