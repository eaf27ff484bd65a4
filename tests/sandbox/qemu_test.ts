/**
 * lib/sandbox/qemu.ts: the kernel command line and QEMU arguments, panic
 * detection, and the classification of a guest's outcome into one-line
 * errors.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  classifyOutcome,
  detectPanic,
  EXIT_GUEST,
  EXIT_TIMEOUT,
  kernelCmdline,
  outcomeError,
  panicContext,
  qemuArgs,
} from "../../lib/sandbox/qemu.ts";
import { VdevError } from "../../lib/errors.ts";

Deno.test("kernel command line and QEMU arguments", () => {
  const cmdline = kernelCmdline();
  for (const w of ["console=ttyS0", "panic=-1", "quiet", "rdinit=/init"]) {
    assert.ok(cmdline.split(" ").includes(w), w);
  }
  const args = qemuArgs({
    vmlinuz: "/c/vmlinuz",
    initramfs: "/c/initramfs.cpio",
    jobDir: "/tmp/job",
    console: "/tmp/job/console.log",
  });
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  assert.equal(after("-m"), "2048");
  assert.equal(after("-smp"), "2");
  assert.equal(after("-accel"), "tcg,thread=multi");
  assert.equal(after("-kernel"), "/c/vmlinuz");
  assert.equal(after("-initrd"), "/c/initramfs.cpio");
  assert.equal(after("-append"), cmdline);
  assert.ok(args.includes("-no-reboot") && args.includes("-nodefaults"));
  const virtfs = args.filter((_, i) => args[i - 1] === "-virtfs");
  assert.deepEqual(virtfs, [
    "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
    "local,path=/tmp/job,mount_tag=job,security_model=none,multidevs=remap",
  ]);
  assert.ok(args.includes("file,id=con0,path=/tmp/job/console.log"));
  const shell = qemuArgs({
    vmlinuz: "v",
    initramfs: "i",
    jobDir: "j",
    console: "stdio",
    memoryMiB: 512,
  });
  assert.equal(shell[shell.indexOf("-m") + 1], "512");
  assert.ok(shell.includes("stdio,id=con0,signal=off"));
});

const PANIC_TAIL = `[    2.101] Run /init as init process
[    2.530] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100
[    2.531] CPU: 0 UID: 0 PID: 1 Comm: init Not tainted 6.12.117+deb12-amd64 #1
[    2.532] Call Trace:
`;

Deno.test("panicContext keeps the oops reason and the task", () => {
  const oops = `[ 16.1] sysrq: Trigger a crash
[ 16.2] Kernel panic - not syncing: sysrq triggered crash
[ 16.3] CPU: 1 UID: 0 PID: 80 Comm: sh Tainted: G  O  E  6.12.117+deb12-amd64 #1
[ 16.4] RAX: ffffffffffffffda RBX: 0000000000000002
`;
  assert.equal(
    panicContext(oops),
    "sysrq: Trigger a crash | CPU: 1 UID: 0 PID: 80 Comm: sh Tainted: G  O  E  6.12.117+deb12-amd64 #1",
  );
});

Deno.test("detectPanic finds the panic line in a console tail", () => {
  assert.equal(
    detectPanic(PANIC_TAIL),
    "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100",
  );
  assert.equal(detectPanic("[ 1.0] reboot: Power down\n"), undefined);
  assert.equal(detectPanic(""), undefined);
});

Deno.test("classifyOutcome tells exit, timeout, panic, modules, init and missing apart", () => {
  const base = { timedOut: false, console: "", qemuCode: 0 };
  assert.deepEqual(classifyOutcome({ ...base, status: "3\n" }), {
    kind: "exit",
    code: 3,
  });
  // A status wins even if the console mentions a panic later on.
  assert.equal(
    classifyOutcome({ ...base, status: "0\n", console: PANIC_TAIL }).kind,
    "exit",
  );
  assert.deepEqual(classifyOutcome({ ...base, timedOut: true }), {
    kind: "timeout",
    phase: "boot",
  });
  assert.deepEqual(
    classifyOutcome({ ...base, timedOut: true, started: true }),
    { kind: "timeout", phase: "command" },
  );
  assert.equal(
    classifyOutcome({ ...base, console: PANIC_TAIL, qemuCode: 0 }).kind,
    "panic",
  );
  assert.deepEqual(
    classifyOutcome({
      ...base,
      modulesFailed: "modprobe: FATAL: Module nope not found\n",
    }),
    {
      kind: "modules-failed",
      message: "modprobe: FATAL: Module nope not found",
    },
  );
  assert.deepEqual(
    classifyOutcome({ ...base, initError: "cannot mount the host root\n" }),
    { kind: "init-error", message: "cannot mount the host root" },
  );
  assert.deepEqual(classifyOutcome({ ...base, qemuCode: 1 }), {
    kind: "missing",
    qemuCode: 1,
  });
  assert.equal(classifyOutcome({ ...base, status: "garbage" }).kind, "missing");
});

Deno.test("outcomeError: one line, distinct messages and exit statuses", () => {
  const ev = { console: PANIC_TAIL, timeoutSec: 5 };
  assert.equal(outcomeError({ kind: "exit", code: 0 }, ev), undefined);
  const t = outcomeError({ kind: "timeout", phase: "command" }, ev);
  assert.ok(t instanceof VdevError);
  assert.match(t.message, /^sandbox: time limit hit: the command .* 5 s/);
  assert.equal(t.exitCode, EXIT_TIMEOUT);
  const b = outcomeError({ kind: "timeout", phase: "boot" }, {
    ...ev,
    bootTimeoutSec: 300,
  });
  assert.match(
    b?.message ?? "",
    /^sandbox: time limit hit: the guest did not reach the command within 300 s/,
  );
  const p = outcomeError({ kind: "panic", line: "Kernel panic - x" }, ev);
  assert.match(
    p?.message ?? "",
    /^sandbox: guest kernel panic: Kernel panic - x; console: /,
  );
  assert.equal(p?.exitCode, EXIT_GUEST);
  const m = outcomeError(
    { kind: "modules-failed", message: "FATAL: nope" },
    ev,
  );
  assert.match(
    m?.message ?? "",
    /cannot load the requested modules.*FATAL: nope/,
  );
  const x = outcomeError({ kind: "missing", qemuCode: 1 }, ev);
  assert.match(x?.message ?? "", /stopped without a result \(QEMU exit 1\)/);
  for (const e of [t, p, m, x]) assert.ok(!e?.message.includes("\n"));
});
