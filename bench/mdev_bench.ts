/**
 * `vdevctl mdev` against Debian's mdevctl 1.2 on the same generated tree
 * (tests/mdev/fake_tree.ts): 10,000 running and defined devices over 20
 * parents; `mdev list`, `mdev list -d --dumpjson` and `mdev types`, the two
 * tools interleaved run by run, medians and ratios printed. mdevctl runs in
 * a private mount namespace with the tree bind-mounted over /sys and
 * /etc/mdevctl.d; the cost of that wrapper (unshare + mounts + exec of
 * /bin/true) is measured the same way and subtracted from mdevctl's times.
 * Also: a 10-device `mdev list` against the 40 ms target, and the floor,
 * `deno run` of an empty file. Targets: <= 0.7x mdevctl at 10,000 devices,
 * <= 40 ms for 10 devices. A missed target is printed as MISSED.
 *
 * Run: `deno task bench mdev` (or `deno run -A bench/mdev_bench.ts [RUNS]`).
 *
 * @module
 */

import { bigTree, Rng, writeFakeTree } from "../tests/mdev/fake_tree.ts";
import {
  findMdevctl,
  mdevctlArgv,
  vdevctlArgv,
} from "../tests/mdev/diff_helpers.ts";

const RUNS = Number(Deno.args[0] ?? 7);
const base = Deno.makeTempDirSync({ prefix: "mdev-bench-" });

const TIME = "/usr/bin/time";
const hasTime = (() => {
  try {
    return Deno.statSync(TIME).isFile;
  } catch {
    return false;
  }
})();

/** Runs `argv`: wall time, and CPU time (user + sys) through time(1). */
async function time(
  argv: string[],
): Promise<{ ms: number; cpu: number; out: string }> {
  const cpuFile = `${base}/cpu`;
  const full = hasTime ? [TIME, "-f", "%U %S", "-o", cpuFile, ...argv] : argv;
  const t0 = performance.now();
  const r = await new Deno.Command(full[0], {
    args: full.slice(1),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
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
    cpu = (u + s) * 1000;
  }
  return { ms, cpu, out: new TextDecoder().decode(r.stdout) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const fmt = (ms: number) => `${ms.toFixed(1).padStart(8)} ms`;

if (!findMdevctl()) {
  console.error(
    "mdev bench: mdevctl is not installed (apt-get install mdevctl)",
  );
  Deno.exit(1);
}

let missed = 0;
try {
  const big = `${base}/big`;
  const small = `${base}/small`;
  const t0 = performance.now();
  writeFakeTree(big, bigTree(new Rng(7), { parents: 20, devices: 10_000 }));
  writeFakeTree(small, bigTree(new Rng(8), { parents: 2, devices: 10 }));
  console.log(
    `trees: 10,000 devices over 20 parents, and 10 devices (${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s to generate); ${RUNS} interleaved runs each; load ${
      Deno.loadavg().map((x) => x.toFixed(1)).join(" ")
    }`,
  );
  Deno.writeTextFileSync(`${base}/empty.ts`, "");
  const floor: number[] = [];
  const wrapper: number[] = [];
  const wrapperCpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    floor.push((await time([Deno.execPath(), "run", `${base}/empty.ts`])).ms);
    const w = await time(mdevctlArgv(big, []).slice(0, -1).concat("true"));
    wrapper.push(w.ms);
    wrapperCpu.push(w.cpu);
  }
  const wrap = median(wrapper);
  const wrapCpu = median(wrapperCpu);
  console.log(
    `floor: deno run of an empty file          ${fmt(median(floor))}`,
  );
  console.log(
    `mdevctl's namespace wrapper (subtracted)   ${fmt(wrap)} wall, ${
      fmt(wrapCpu)
    } CPU`,
  );
  console.log("");
  console.log(
    "command (10,000 devices)   wall: vdevctl      mdevctl    ratio        CPU: vdevctl      mdevctl    ratio   target <= 0.70 (wall)",
  );
  for (
    const args of [["list"], ["list", "-d", "--dumpjson"], ["types"]]
  ) {
    const v: number[] = [];
    const m: number[] = [];
    const vc: number[] = [];
    const mc: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const a = await time(vdevctlArgv(big, args));
      const b = await time(mdevctlArgv(big, args));
      if (a.out !== b.out) {
        throw new Error(`outputs of mdev ${args.join(" ")} differ`);
      }
      v.push(a.ms);
      m.push(Math.max(0, b.ms - wrap));
      vc.push(a.cpu);
      mc.push(Math.max(0, b.cpu - wrapCpu));
    }
    const ratio = median(v) / median(m);
    const cpuRatio = median(vc) / median(mc);
    const ok = ratio <= 0.7;
    if (!ok) missed++;
    const startupBound = median(m) * 0.7 < median(floor);
    console.log(
      `mdev ${args.join(" ").padEnd(24)}${fmt(median(v))} ${fmt(median(m))}  ${
        ratio.toFixed(2).padStart(6)
      }x     ${fmt(median(vc))} ${fmt(median(mc))}  ${
        cpuRatio.toFixed(2).padStart(6)
      }x   ${ok ? "ok" : "MISSED"}`,
    );
    if (!ok && startupBound) {
      console.log(
        `  (start-up bound: 0.7x mdevctl's ${
          median(m).toFixed(1)
        } ms is below Deno's empty-file floor of ${
          median(floor).toFixed(1)
        } ms; no Deno program can meet it)`,
      );
    }
  }
  const v10: number[] = [];
  const m10: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    v10.push((await time(vdevctlArgv(small, ["list"]))).ms);
    m10.push(Math.max(0, (await time(mdevctlArgv(small, ["list"]))).ms - wrap));
  }
  const s = median(v10);
  if (s > 40) missed++;
  console.log("");
  console.log(
    `mdev list, 10 devices: vdevctl ${fmt(s)} (target <= 40 ms: ${
      s <= 40 ? "ok" : "MISSED"
    }), mdevctl ${fmt(median(m10))}, floor ${fmt(median(floor))}`,
  );
  if (missed > 0) {
    console.log(
      `\n${missed} target(s) MISSED in this run (timings on a loaded machine are noisy: check the load above)`,
    );
  }
} finally {
  Deno.removeSync(base, { recursive: true });
}
