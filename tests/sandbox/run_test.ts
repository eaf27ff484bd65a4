/**
 * lib/sandbox/run.ts: the job scripts (quoting, environment, working
 * directory, modules), a boot panic retried once (with a stand-in boot) and
 * a few real boots (exit status and byte-exact
 * output, modules and writes staying in the guest, the time limit, the
 * progress line on a 40-column pseudo-terminal). Real boots cost seconds of
 * the shared cores: keep them few.
 *
 * @module
 */

import assert from "node:assert/strict";
import { kernelVersionOf } from "../../lib/sandbox/debian_version.ts";
import {
  type bootGuest,
  EXIT_GUEST,
  EXIT_TIMEOUT,
} from "../../lib/sandbox/qemu.ts";
import { kernelPathsOf } from "../../lib/sandbox/kernel_layout.ts";
import { configScript, runScript, sandboxRun } from "../../lib/sandbox/run.ts";
import { VdevError } from "../../lib/errors.ts";
import { displayColumns, type Progress } from "../../lib/progress.ts";

Deno.test("job scripts: quoting, environment, working directory, modules", () => {
  const run = runScript(["printf", "%s\\n", "a b", "it's"], {
    cwd: "/work/my dir",
    env: { FOO: "x y" },
  });
  assert.match(run, /^export HOME=\/root$/m);
  assert.match(
    run,
    /^export PATH=.*\/node_modules\/\.bin:.*\/usr\/sbin:\/usr\/bin:\/sbin:\/bin'?$/m,
  );
  assert.match(run, /^export FOO='x y'$/m);
  assert.match(run, /^cd '\/work\/my dir' \|\|/m);
  assert.match(run, /^exec printf '%s\\n' 'a b' 'it'\\''s'$/m);
  assert.throws(
    () => runScript(["x"], { cwd: "/", env: { "A-B": "1" } }),
    VdevError,
  );
  const kernel = kernelPathsOf(kernelVersionOf("6.12.117-1~deb12u1")!, "/c/k");
  const conf = configScript(kernel, { modules: ["mtty", "vdpa_sim_net"] });
  assert.match(conf, /^VDEVCTL_MODE=run$/m);
  assert.match(conf, /^VDEVCTL_KVER=6\.12\.117\+deb12-amd64$/m);
  assert.match(
    conf,
    /^VDEVCTL_MODDIR=\/c\/k\/root\/lib\/modules\/6\.12\.117\+deb12-amd64$/m,
  );
  assert.match(conf, /^VDEVCTL_MODULES='mtty vdpa_sim_net'$/m);
  assert.throws(
    () => configScript(kernel, { modules: ["x;reboot"] }),
    VdevError,
  );
});

/**
 * A stand-in for bootGuest: each call plays the next of `boots` in the job
 * directory (what the guest's init writes there), with the real kernel
 * cache.
 */
function scriptedBoots(boots: Array<"panic" | "panic-after-start" | "ok">) {
  const calls: string[] = [];
  const notes: string[] = [];
  const boot: typeof bootGuest = (config) => {
    const what = boots[calls.length];
    calls.push(what);
    const panic = `[    1.5] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI
[    1.5] RIP: 0010:sched_clock_cpu+0x9/0x100
[    1.6] Kernel panic - not syncing: Fatal exception in interrupt
`;
    // A stale console of an earlier boot would hide this one's.
    assert.throws(() => Deno.statSync(`${config.jobDir}/started`));
    if (what === "ok" || what === "panic-after-start") {
      Deno.writeTextFileSync(`${config.jobDir}/started`, "");
    }
    if (what === "ok") {
      Deno.writeTextFileSync(`${config.jobDir}/stdout`, "ran\n");
      Deno.writeTextFileSync(`${config.jobDir}/status`, "0\n");
    }
    Deno.writeTextFileSync(config.console, what === "ok" ? "booted\n" : panic);
    return Promise.resolve({
      qemuCode: 0,
      timedOut: false,
      qemuStderr: "",
      interrupted: false,
    });
  };
  const progress: Progress = {
    step() {},
    update() {},
    done() {},
    note: (line) => notes.push(line),
  };
  return { calls, notes, options: { boot, progress, timeoutSec: 300 } };
}

Deno.test("a kernel panic before the command started boots once more, and says so", async () => {
  const s = scriptedBoots(["panic", "ok"]);
  const r = await sandboxRun(["true"], s.options);
  assert.deepEqual(s.calls, ["panic", "ok"]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "ran\n");
  assert.deepEqual(s.notes, [
    "vdevctl sandbox: the guest kernel panicked while booting (Kernel panic - not syncing: Fatal exception in interrupt: Oops: int3: 0000 [#1] PREEMPT SMP NOPTI | RIP: 0010:sched_clock_cpu+0x9/0x100); booting once more",
  ]);
});

Deno.test("a panic on both boots, or after the command started, is the panic error", async () => {
  for (
    const [boots, calls] of [
      [["panic", "panic", "ok"], 2],
      [["panic-after-start", "ok"], 1],
    ] as const
  ) {
    const s = scriptedBoots([...boots]);
    await assert.rejects(
      sandboxRun(["true"], s.options),
      (err: unknown) =>
        err instanceof VdevError && err.exitCode === EXIT_GUEST &&
        /^sandbox: guest kernel panic: Kernel panic - not syncing: Fatal exception in interrupt; console: Oops: int3/
          .test(err.message),
    );
    assert.equal(s.calls.length, calls, boots.join(","));
  }
});

// Real boots (a few seconds each on an idle machine; more when others boot too).

Deno.test("real boot: exit status and byte-exact stdout/stderr come back", async () => {
  const r = await sandboxRun([
    "sh",
    "-c",
    `printf 'out\\000\\377\\n'; printf 'err\\n' >&2; uname -r; pwd; exit 7`,
  ], { timeoutSec: 300 });
  assert.equal(r.code, 7);
  const expected = new Uint8Array([
    ...new TextEncoder().encode("out"),
    0,
    0xff,
    0x0a,
  ]);
  assert.deepEqual(r.stdoutBytes.slice(0, expected.length), expected);
  const lines = new TextDecoder().decode(r.stdoutBytes.slice(expected.length))
    .split("\n");
  assert.match(lines[0], /^6\.12\.\d+\+deb\d+-amd64$/);
  assert.equal(lines[1], Deno.cwd());
  assert.equal(r.stderr, "err\n");
});

Deno.test("real boot: modules load and writes stay in the guest", async () => {
  const probe = `${Deno.cwd()}/.sandbox-host-probe-${crypto.randomUUID()}`;
  const r = await sandboxRun([
    "sh",
    "-c",
    `echo guest > '${probe}' && cat '${probe}' && test -c /dev/vduse/control && grep -c '^mtty ' /proc/modules`,
  ], { modules: ["vduse", "mtty"], timeoutSec: 300 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "guest\n1\n");
  assert.throws(
    () => Deno.statSync(probe),
    "the guest's write reached the host",
  );
});

Deno.test("real boot: a command that outlives --timeout gives the time-limit error", async () => {
  const started = performance.now();
  await assert.rejects(
    sandboxRun(["sh", "-c", "echo begun; sleep 600"], { timeoutSec: 2 }),
    (err: unknown) =>
      err instanceof VdevError && err.exitCode === EXIT_TIMEOUT &&
      /^sandbox: time limit hit: the command did not finish within 2 s/.test(
        err.message,
      ),
  );
  // Killed well before the command's own 600 s.
  assert.ok(performance.now() - started < 300_000);
});

Deno.test("real boot on a 40-column terminal: vdevctl sandbox run's progress rows fit, the guest's output follows", async () => {
  const vdevctl = new URL("../../vdevctl", import.meta.url).pathname;
  const out = await new Deno.Command("script", {
    args: [
      "-qfec",
      `stty cols 40 rows 24; exec '${vdevctl}' sandbox run -- echo guest-says-hi`,
      "/dev/null",
    ],
    stdin: "null",
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, text);
  // deno-lint-ignore no-control-regex
  const rows = text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").split(/\r\n|\r|\n/);
  assert.ok(
    rows.some((r) => /^[|/\\-] booting Linux 6\.12/.test(r)),
    `a spinner row for the boot: ${JSON.stringify(text.slice(0, 600))}`,
  );
  for (const r of rows) {
    assert.ok(displayColumns(r) < 40, `${displayColumns(r)} columns: ${r}`);
  }
  assert.ok(rows.includes("guest-says-hi"), JSON.stringify(text.slice(-600)));
});
