/**
 * `vdevctl apply` of a manifest with 1,000 mdev definitions against the
 * shell loop a script runs today, 1,000 `mdevctl define` calls of Debian's
 * mdevctl, on the same fake tree (tests/mdev/fake_tree.ts: the example tree
 * without devices). Per run, interleaved, each on a fresh copy of the tree:
 * the loop (one `unshare -m` with the tree bind-mounted over /sys and
 * /etc/mdevctl.d, as tests/mdev/diff_helpers.ts does, then the loop in that
 * shell), `apply` from empty, and a no-change re-apply. Medians and ratios
 * against the loop are printed; the result is written as JSON (to the path
 * given as the second argument, else printed as the last line). Targets:
 * the re-apply <= 1 s and <= 0.05x the loop; a missed target is printed as
 * MISSED.
 *
 * Run: `deno task bench provision` (or `deno run -A bench/provision_bench.ts [RUNS] [JSON_FILE]`).
 *
 * @module
 */

import { exampleTree, writeFakeTree } from "../tests/mdev/fake_tree.ts";
import { findMdevctl, REPO } from "../tests/mdev/diff_helpers.ts";
import { runCommand } from "../tests/command_output.ts";

const RUNS = Number(Deno.args[0] ?? 3);
const JSON_FILE = Deno.args[1];
const N = 1000;
const base = Deno.makeTempDirSync({ prefix: "provision-bench-" });

const uuid = (i: number) =>
  `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;

/** Runs `argv`; returns the wall time in ms, or throws with its stderr. */
async function time(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const r = await runCommand(argv);
  const ms = performance.now() - t0;
  if (r.code === 0) return ms;
  throw new Error(
    `${argv.slice(0, 4).join(" ")} ... exited ${r.code}: ${
      r.stderr.slice(0, 500)
    }`,
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A fresh copy of the example tree's mtty and GPU parents, no devices. */
function freshTree(name: string): string {
  const t = exampleTree();
  t.active = [];
  t.defined = [];
  const dir = `${base}/${name}`;
  writeFakeTree(dir, t);
  return dir;
}

function definitions(tree: string): number {
  return [...Deno.readDirSync(`${tree}/etc/mdevctl.d/mtty`)].length;
}

const mdevctl = findMdevctl();
if (!mdevctl) {
  console.error(
    "provision bench: mdevctl is not installed (apt-get install mdevctl)",
  );
  Deno.exit(1);
}

const LOOP = 'mount --make-rprivate / && mount --bind "$1/sys" /sys && ' +
  'mount --bind "$1/etc/mdevctl.d" /etc/mdevctl.d && ' +
  `i=0; while [ $i -lt ${N} ]; do ` +
  `"$2" define -u "00000000-0000-4000-8000-$(printf %012x $i)" -p mtty -t mtty-1 || exit 1; ` +
  "i=$((i + 1)); done";

const manifest = {
  mdev: Array.from({ length: N }, (_, i) => ({
    uuid: uuid(i),
    parent: "mtty",
    type: "mtty-1",
    start: "manual",
    state: "defined",
  })),
};
const manifestFile = `${base}/manifest.json`;
Deno.writeTextFileSync(manifestFile, JSON.stringify(manifest));
const vdevctl = (tree: string) => [
  `${REPO}/vdevctl`,
  "--root",
  tree,
  "apply",
  manifestFile,
];

try {
  console.log(
    `${N} mdev definitions (mtty-1 on mtty), ${RUNS} interleaved runs; load ${
      Deno.loadavg().map((x) => x.toFixed(1)).join(" ")
    }`,
  );
  const loop: number[] = [];
  const apply: number[] = [];
  const reapply: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const a = freshTree(`loop${i}`);
    loop.push(
      await time(["unshare", "-m", "sh", "-c", LOOP, "sh", a, mdevctl]),
    );
    const b = freshTree(`apply${i}`);
    apply.push(await time(vdevctl(b)));
    reapply.push(await time(vdevctl(b)));
    for (const t of [a, b]) {
      const n = definitions(t);
      if (n !== N) throw new Error(`${t}: ${n} definitions, not ${N}`);
    }
    Deno.removeSync(a, { recursive: true });
    Deno.removeSync(b, { recursive: true });
  }
  const m = {
    loop: median(loop),
    apply: median(apply),
    reapply: median(reapply),
  };
  const ratio = { apply: m.apply / m.loop, reapply: m.reapply / m.loop };
  const ok = m.reapply <= 1000 && ratio.reapply <= 0.05;
  const f = (ms: number) => `${ms.toFixed(0).padStart(7)} ms`;
  console.log(`shell loop of ${N} mdevctl define  ${f(m.loop)}`);
  console.log(
    `vdevctl apply, from empty          ${f(m.apply)}  ${
      ratio.apply.toFixed(3)
    }x the loop`,
  );
  console.log(
    `vdevctl apply, no change           ${f(m.reapply)}  ${
      ratio.reapply.toFixed(3)
    }x the loop   target <= 1000 ms and <= 0.05x: ${ok ? "ok" : "MISSED"}`,
  );
  const json = JSON.stringify({
    bench: "provision",
    definitions: N,
    runs: RUNS,
    load: Deno.loadavg(),
    ms: { loop, apply, reapply },
    median_ms: m,
    ratio_to_loop: ratio,
    target: { reapply_ms: 1000, reapply_ratio: 0.05, met: ok },
  });
  if (JSON_FILE) Deno.writeTextFileSync(JSON_FILE, json + "\n");
  else console.log(json);
} finally {
  Deno.removeSync(base, { recursive: true });
}
