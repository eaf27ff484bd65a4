/**
 * TAB latency of the bash completion script on the example tree: one bash
 * (with bash-completion) sources `vdevctl completion bash` and Debian's
 * mdevctl completion, then presses TAB in a loop, timing each call of the
 * completion function with $EPOCHREALTIME (the program's start-up included,
 * bash's not). mdevctl's completion is clap's static word list (no live
 * values, no process), the floor a script can reach. Prints a table and
 * JSON (`--json FILE` writes it to FILE too); target: median <= 60 ms.
 *
 * @module
 */

import { completionScript } from "../lib/completion/mod.ts";

const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 21);
const TARGET_MS = 60;

/** Lines to press TAB on: [name, command, words]. */
const CASES: [string, string, string[]][] = [
  ["families", "vdevctl", ["vdevctl", ""]],
  ["mdev subcommands", "vdevctl", ["vdevctl", "mdev", ""]],
  ["mdev parents", "vdevctl", ["vdevctl", "mdev", "start", "--parent", ""]],
  ["mdev types", "vdevctl", [
    "vdevctl",
    "mdev",
    "start",
    "-p",
    "mtty",
    "--type",
    "",
  ]],
  ["mdev uuids", "vdevctl", ["vdevctl", "mdev", "stop", "--uuid", ""]],
  ["peer: mdevctl subcommands", "mdevctl", ["mdevctl", ""]],
  ["peer: mdevctl start options", "mdevctl", ["mdevctl", "start", "--"]],
];

const q = (w: string) => `'${w.replaceAll("'", `'\\''`)}'`;

function benchScript(script: string): string {
  const lines = [
    "source /usr/share/bash-completion/bash_completion",
    `source ${q(script)}`,
    "source /usr/share/bash-completion/completions/mdevctl",
  ];
  CASES.forEach(([, cmd, words], i) => {
    const fn = cmd === "vdevctl" ? "__vdevctl_complete" : "_mdevctl";
    lines.push(
      `COMP_WORDS=(${words.map(q).join(" ")}); COMP_CWORD=${words.length - 1}`,
      `COMP_LINE=${q(words.join(" "))}; COMP_POINT=\${#COMP_LINE}`,
      `for r in $(seq ${ROUNDS}); do s=$EPOCHREALTIME; ${fn} mdevctl "" ""; e=$EPOCHREALTIME;`,
      `  echo "${i} $s $e \${#COMPREPLY[@]}"; done`,
    );
  });
  return lines.join("\n") + "\n";
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const dir = Deno.makeTempDirSync({ prefix: "completion-bench-" });
try {
  const script = `${dir}/vdevctl.bash`;
  Deno.writeTextFileSync(
    script,
    completionScript("bash", { program: `${repo}/vdevctl` }),
  );
  const out = await new Deno.Command("bash", {
    args: ["-c", benchScript(script)],
    env: { VDEVCTL_ROOT: `${repo}/examples/sysroot` },
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
  const results = CASES.map(([name], i) => ({
    name,
    median_ms: Number(median(samples[i]).toFixed(2)),
    min_ms: Number(Math.min(...samples[i]).toFixed(2)),
    candidates: offered[i],
  }));
  const ours = results.filter((r) => !r.name.startsWith("peer"));
  const peer = results.filter((r) => r.name.startsWith("peer"));
  const oursMedian = median(ours.map((r) => r.median_ms));
  const peerMedian = median(peer.map((r) => r.median_ms));
  for (const r of results) {
    console.log(
      `${r.name.padEnd(30)} median ${
        r.median_ms.toFixed(1).padStart(7)
      } ms  min ${
        r.min_ms.toFixed(1).padStart(7)
      } ms  ${r.candidates} candidates`,
    );
  }
  const report = {
    bench: "completion",
    rounds: ROUNDS,
    target_median_ms: TARGET_MS,
    median_ms: oursMedian,
    peer_median_ms: peerMedian,
    ratio_to_peer: Number((oursMedian / peerMedian).toFixed(1)),
    within_target: oursMedian <= TARGET_MS,
    cases: results,
  };
  console.log(
    `TAB median ${oursMedian.toFixed(1)} ms (target <= ${TARGET_MS} ms), ` +
      `mdevctl's static completion ${peerMedian.toFixed(2)} ms`,
  );
  const json = JSON.stringify(report, null, 2);
  console.log(json);
  const at = Deno.args.indexOf("--json");
  if (at >= 0 && Deno.args[at + 1]) {
    Deno.writeTextFileSync(Deno.args[at + 1], json + "\n");
  }
} finally {
  Deno.removeSync(dir, { recursive: true });
}
