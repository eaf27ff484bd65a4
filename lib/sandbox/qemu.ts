/**
 * Booting the sandbox guest in QEMU (TCG) and telling apart how a run ended:
 * the command's exit status, the time limit, a kernel panic, a failed module
 * load, an init failure, or a guest that stopped without a result.
 *
 * @module
 */

import { messageOf, VdevError } from "../errors.ts";
import { logTail } from "./process.ts";

/** What QEMU boots and how. */
export interface QemuConfig {
  /** Kernel image. */
  vmlinuz: string;
  /** Initramfs (cpio). */
  initramfs: string;
  /** Host directory exported writable as the 9p tag `job`. */
  jobDir: string;
  /** Guest memory in MiB (default 2048). */
  memoryMiB?: number;
  /** Virtual CPUs (default 2). */
  smp?: number;
  /** Serial console: a file path, or "stdio" for an interactive console. */
  console: string;
  /** Extra kernel command-line words. */
  append?: string[];
}

/** Default guest memory in MiB. */
export const DEFAULT_MEMORY_MIB = 2048;

/** The QEMU binary. */
export const QEMU = "qemu-system-x86_64";

/** The kernel command line. */
export function kernelCmdline(append: string[] = []): string {
  return [
    "console=ttyS0",
    "panic=-1",
    "quiet",
    "rdinit=/init",
    // Speed-ups under TCG: no mitigations, no timer self-check, one UART,
    // no crypto self-tests, and no initcalls the sandbox never uses
    // (encrypted keys, the KDF self-test, jitter entropy): about 1 s.
    "mitigations=off",
    "no_timer_check",
    "tsc=reliable",
    "8250.nr_uarts=1",
    "cryptomgr.notests",
    "initcall_blacklist=init_encrypted,crypto_kdf108_init,jent_mod_init",
    ...append,
  ].join(" ");
}

/** The QEMU argument vector (without the binary) for `config`. */
export function qemuArgs(config: QemuConfig): string[] {
  const serial = config.console === "stdio"
    ? ["-chardev", "stdio,id=con0,signal=off", "-serial", "chardev:con0"]
    : [
      "-chardev",
      `file,id=con0,path=${config.console}`,
      "-serial",
      "chardev:con0",
    ];
  return [
    "-nodefaults",
    "-display",
    "none",
    "-no-reboot",
    "-no-user-config",
    "-accel",
    "tcg,thread=multi",
    "-machine",
    "q35",
    "-cpu",
    "max",
    "-smp",
    String(config.smp ?? 2),
    "-m",
    String(config.memoryMiB ?? DEFAULT_MEMORY_MIB),
    "-kernel",
    config.vmlinuz,
    "-initrd",
    config.initramfs,
    "-append",
    kernelCmdline(config.append),
    "-virtfs",
    "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
    "-virtfs",
    `local,path=${config.jobDir},mount_tag=job,security_model=none,multidevs=remap`,
    ...serial,
    "-monitor",
    "none",
  ];
}

/** The panic line in a console log, if the kernel panicked. */
export function detectPanic(console: string): string | undefined {
  const m = /^.*Kernel panic - not syncing.*$/m.exec(console);
  return m ? m[0].replace(/^\[\s*[\d.]+\]\s*/, "").trim() : undefined;
}

/**
 * The informative lines of a panic's console output (the oops reason, the
 * faulting task and RIP), joined with " | ".
 */
export function panicContext(console: string): string {
  const keep =
    /(BUG:|Oops|general protection|RIP: 0010|Comm:|Kernel BUG|WARNING:|sysrq)/;
  return console.split("\n")
    .filter((l) => keep.test(l) && !/Kernel panic/.test(l))
    .map((l) => l.replace(/^\[\s*[\d.]+\]\s*/, "").trim())
    .slice(0, 4).join(" | ");
}

/** How a guest run ended. */
export type GuestOutcome =
  | { kind: "exit"; code: number }
  | { kind: "timeout"; phase: "boot" | "command" }
  | { kind: "panic"; line: string }
  | { kind: "modules-failed"; message: string }
  | { kind: "init-error"; message: string }
  | { kind: "missing"; qemuCode: number };

/** What the host found after QEMU exited (or was killed). */
export interface GuestEvidence {
  /** Contents of job/status, if it exists. */
  status?: string;
  /** The host killed QEMU at the time limit. */
  timedOut: boolean;
  /** The guest had started the command (job/started exists). */
  started?: boolean;
  /** The serial console log. */
  console: string;
  /** Contents of job/init-error, if it exists. */
  initError?: string;
  /** Contents of job/modprobe.err when job/modules-failed exists. */
  modulesFailed?: string;
  /** QEMU's exit status. */
  qemuCode: number;
}

/** Classifies a finished run from its evidence. */
export function classifyOutcome(e: GuestEvidence): GuestOutcome {
  if (e.status !== undefined && /^\d+\s*$/.test(e.status)) {
    return { kind: "exit", code: Number(e.status.trim()) };
  }
  const panic = detectPanic(e.console);
  if (panic) return { kind: "panic", line: panic };
  if (e.modulesFailed !== undefined) {
    return { kind: "modules-failed", message: e.modulesFailed.trim() };
  }
  if (e.initError !== undefined) {
    return { kind: "init-error", message: e.initError.trim() };
  }
  if (e.timedOut) {
    return { kind: "timeout", phase: e.started ? "command" : "boot" };
  }
  return { kind: "missing", qemuCode: e.qemuCode };
}

/** Exit status of `sandbox run` when the time limit is hit. */
export const EXIT_TIMEOUT = 124;
/** Exit status of `sandbox run` when the guest failed (panic, no result). */
export const EXIT_GUEST = 125;

/**
 * The one-line error for a non-"exit" outcome (undefined for "exit").
 * `timeoutSec` and `bootTimeoutSec` are the limits of the command and of the
 * boot.
 */
export function outcomeError(
  outcome: GuestOutcome,
  evidence: { console: string; timeoutSec: number; bootTimeoutSec?: number },
): VdevError | undefined {
  const tail = logTail(evidence.console, 8) || "(empty console)";
  switch (outcome.kind) {
    case "exit":
      return undefined;
    case "timeout":
      return new VdevError(
        outcome.phase === "command"
          ? `sandbox: time limit hit: the command did not finish within ${evidence.timeoutSec} s (raise --timeout)`
          : `sandbox: time limit hit: the guest did not reach the command within ${
            evidence.bootTimeoutSec ?? "the boot limit of"
          } s (machine overloaded?); console: ${tail}`,
        { exitCode: EXIT_TIMEOUT },
      );
    case "panic":
      return new VdevError(
        `sandbox: guest kernel panic: ${outcome.line}; console: ${
          panicContext(evidence.console) || tail
        }`,
        { exitCode: EXIT_GUEST },
      );
    case "modules-failed":
      return new VdevError(
        `sandbox: cannot load the requested modules in the guest: ${
          logTail(outcome.message, 3) || "modprobe failed"
        } (check --modules)`,
        { exitCode: EXIT_GUEST },
      );
    case "init-error":
      return new VdevError(
        `sandbox: guest set-up failed: ${outcome.message}; console: ${tail}`,
        { exitCode: EXIT_GUEST },
      );
    case "missing":
      return new VdevError(
        `sandbox: the guest stopped without a result (QEMU exit ${outcome.qemuCode}); console: ${tail}`,
        { exitCode: EXIT_GUEST },
      );
  }
}

/** Options of {@linkcode bootGuest}. */
export interface BootOptions {
  /** Kill QEMU after this many seconds in any case. */
  timeoutSec: number;
  /** Attach QEMU's stdin/stdout (interactive console). */
  interactive?: boolean;
  /**
   * Called every ~100 ms while QEMU runs (e.g. to stream output); returning
   * "kill" stops QEMU as a time-limit hit.
   */
  poll?: () => Promise<void | "kill">;
}

/** How QEMU ended. */
export interface BootResult {
  /** QEMU's exit status. */
  qemuCode: number;
  /** The host killed it at the time limit. */
  timedOut: boolean;
  /** QEMU's own stderr (not the guest's). */
  qemuStderr: string;
  /** SIGINT/SIGTERM arrived and QEMU was killed. */
  interrupted: boolean;
}

/** Boots `config` and waits for QEMU to exit or the time limit. */
export async function bootGuest(
  config: QemuConfig,
  options: BootOptions,
): Promise<BootResult> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(QEMU, {
      args: qemuArgs(config),
      stdin: options.interactive ? "inherit" : "null",
      stdout: options.interactive ? "inherit" : "null",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw new VdevError(
      `sandbox: QEMU (${QEMU}) is missing or cannot start: install qemu-system-x86 (${
        messageOf(err)
      })`,
      { cause: err },
    );
  }
  let timedOut = false;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutSec * 1000);
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    kill();
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  if (!options.interactive) {
    for (const s of signals) Deno.addSignalListener(s, onSignal);
  }
  const stderrText = new Response(child.stderr).text();
  let finished = false;
  const status = child.status.finally(() => {
    finished = true;
  });
  try {
    if (options.poll) {
      while (!finished) {
        await Promise.race([status, new Promise((r) => setTimeout(r, 100))]);
        if (await options.poll() === "kill" && !finished) {
          timedOut = true;
          kill();
        }
      }
    }
    const st = await status;
    return {
      qemuCode: st.code,
      timedOut,
      qemuStderr: await stderrText,
      interrupted,
    };
  } finally {
    clearTimeout(timer);
    if (!options.interactive) {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    }
  }
}
