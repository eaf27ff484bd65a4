/**
 * Sandbox timings against the targets: warm boot-to-command (cached
 * kernel; median of several runs) <= 6 s, and cold (empty cache in a
 * temporary XDG cache: download, extract, build, boot) <= 90 s. Prints each
 * measurement as a ratio to its target (<= 1.00 meets it) and the load
 * average, since other QEMUs on the same cores slow every boot.
 *
 * Options: `--runs N` (warm runs, default 5), `--warm-only`.
 *
 * @module
 */

import { sandboxRun } from "../lib/sandbox/mod.ts";
import type { Progress } from "../lib/progress.ts";

const WARM_TARGET_SEC = 6;
const COLD_TARGET_SEC = 90;

/** Records when the boot step ends (the guest reached the command). */
class BootClock implements Progress {
  bootStarted = 0;
  commandStarted = 0;
  #booting = false;
  step(label: string): void {
    this.#booting = label.startsWith("booting");
    if (this.#booting) this.bootStarted = performance.now();
  }
  update(): void {}
  done(): void {
    if (this.#booting && this.commandStarted === 0) {
      this.commandStarted = performance.now();
    }
    this.#booting = false;
  }
  note(line: string): void {
    console.error(line);
  }
}

interface Timing {
  /** Call to result, seconds. */
  total: number;
  /** Call to the command's start in the guest, seconds. */
  toCommand: number;
}

async function timedRun(cacheDir?: string): Promise<Timing> {
  const clock = new BootClock();
  const t0 = performance.now();
  const r = await sandboxRun(["true"], {
    cacheDir,
    progress: clock,
    timeoutSec: 120,
  });
  const t1 = performance.now();
  if (r.code !== 0) throw new Error(`'true' exited ${r.code} in the guest`);
  return {
    total: (t1 - t0) / 1000,
    toCommand: ((clock.commandStarted || t1) - t0) / 1000,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function load(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3)
      .join(" ");
  } catch {
    return "?";
  }
}

const args = Deno.args;
const runsAt = args.indexOf("--runs");
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
const warmOnly = args.includes("--warm-only");

console.log(`sandbox bench: load average ${load()}`);
// One run first so the cache exists (not counted).
await timedRun();
const warm: Timing[] = [];
for (let i = 0; i < runs; i++) warm.push(await timedRun());
const toCmd = median(warm.map((t) => t.toCommand));
const total = median(warm.map((t) => t.total));
console.log(
  `warm boot-to-command: median ${toCmd.toFixed(2)} s over ${runs} runs (${
    warm.map((t) => t.toCommand.toFixed(2)).join(", ")
  }); target ${WARM_TARGET_SEC} s; ratio ${
    (toCmd / WARM_TARGET_SEC).toFixed(2)
  }`,
);
console.log(
  `warm end-to-end ('true', result back): median ${
    total.toFixed(2)
  } s; ratio to the boot target ${(total / WARM_TARGET_SEC).toFixed(2)}`,
);

if (!warmOnly) {
  const tmp = await Deno.makeTempDir({ prefix: "vdevctl-cold-bench-" });
  try {
    console.log(`cold: empty cache in ${tmp} (download, extract, build, boot)`);
    const cold = await timedRun(`${tmp}/vdevctl`);
    console.log(
      `cold (empty cache to result): ${
        cold.total.toFixed(1)
      } s; target ${COLD_TARGET_SEC} s; ratio ${
        (cold.total / COLD_TARGET_SEC).toFixed(2)
      }`,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
console.log(`sandbox bench: load average ${load()}`);
