/**
 * The real-kernel sandbox: Debian's Linux 6.12 in QEMU (TCG) with the host's
 * `/` shared read-only under a writable tmpfs overlay. {@linkcode sandboxRun}
 * runs one command in a fresh guest and returns its exit status and output
 * (byte-exact, through a writable 9p job directory, not the console),
 * booting the kernel that `kernel_cache.ts` prepares; {@linkcode sandboxShell}
 * attaches an interactive shell; {@linkcode sandboxStatus} and
 * {@linkcode sandboxClean} report and empty the cache.
 *
 * @module
 */

import { VdevError } from "../errors.ts";
import {
  cacheDirOf,
  type CacheDirOptions,
  duBytes,
  type HeldLock,
  lockCache,
} from "./cache_dir.ts";
import { BOOT_TOOLS, ensureHostTools } from "./host_packages.ts";
import { kernelCache } from "./kernel_cache.ts";
import { cachedKernels, type KernelPaths } from "./kernel_layout.ts";
import { shQuote } from "./process.ts";
import {
  createProgress,
  type Progress,
  type ProgressMode,
} from "../progress.ts";
import {
  bootGuest,
  classifyOutcome,
  DEFAULT_MEMORY_MIB,
  type GuestOutcome,
  outcomeError,
  panicContext,
} from "./qemu.ts";

/** Options of {@linkcode sandboxRun}. */
export interface SandboxRunOptions extends CacheDirOptions {
  /** Modules to modprobe before the command (deps resolved; extra/ included). */
  modules?: readonly string[];
  /** Time limit in seconds for the command, from its start (default 600). */
  timeoutSec?: number;
  /** Time limit in seconds from QEMU's start to the command's (default 300). */
  bootTimeoutSec?: number;
  /** Guest memory in MiB (default 2048). */
  memoryMiB?: number;
  /** Extra environment variables for the command. */
  env?: Record<string, string>;
  /** Working directory in the guest (default: the host's current directory). */
  cwd?: string;
  /** "capture" (default) returns the output; "stream" also writes it to this process's stdout/stderr as it comes. */
  output?: "capture" | "stream";
  /** Progress display for download/build/boot (default "none"). */
  progress?: ProgressMode | Progress;
  /** What boots the guest (default {@linkcode bootGuest}; a seam for tests). */
  boot?: typeof bootGuest;
}

/** Result of {@linkcode sandboxRun}. */
export interface SandboxResult {
  /** Exit status of the command in the guest. */
  code: number;
  /** Its standard output, decoded as UTF-8. */
  stdout: string;
  /** Its standard error, decoded as UTF-8. */
  stderr: string;
  /** Its standard output, byte-exact. */
  stdoutBytes: Uint8Array;
  /** Its standard error, byte-exact. */
  stderrBytes: Uint8Array;
}

/** Default time limit of a command in seconds. */
export const DEFAULT_TIMEOUT_SEC = 600;
/** Default time limit for the guest to boot and reach the command. */
export const DEFAULT_BOOT_TIMEOUT_SEC = 300;

/** The repository's root (holds node_modules/.bin, whose deno the guest uses). */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname
  .replace(/\/$/, "");

/** The guest PATH: the repository's node_modules/.bin, then the system directories. */
export function guestPath(): string {
  return `${REPO_ROOT}/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
}

/** The job's `run.sh`: environment, working directory, then `exec CMD`. */
export function runScript(
  cmd: string[],
  options: { cwd: string; env?: Record<string, string>; shell?: boolean },
): string {
  const env: Record<string, string> = {
    HOME: "/root",
    USER: "root",
    LOGNAME: "root",
    PATH: guestPath(),
    ...options.env,
  };
  const lines = ["# vdevctl sandbox job (generated)"];
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
      throw new VdevError(`sandbox: invalid environment variable name '${k}'`);
    }
    lines.push(`export ${k}=${shQuote(v)}`);
  }
  lines.push(
    `cd ${shQuote(options.cwd)} || { echo "vdevctl sandbox: no directory ${
      options.cwd.replace(/["$`\\]/g, "")
    } in the guest (its /run is its own)" >&2; exit 125; }`,
  );
  if (options.shell) {
    lines.push(
      `if command -v bash >/dev/null; then exec bash -i; else exec sh -i; fi`,
    );
  } else {
    lines.push(`exec ${cmd.map(shQuote).join(" ")}`);
  }
  return lines.join("\n") + "\n";
}

/** The job's `config.sh`, read by the guest's /init. */
export function configScript(
  kernel: KernelPaths,
  options: { modules?: readonly string[]; shell?: boolean },
): string {
  for (const m of options.modules ?? []) {
    if (!/^[A-Za-z0-9_-]+$/.test(m)) {
      throw new VdevError(
        `sandbox: invalid module name '${m}': use names such as vdpa_sim_net`,
      );
    }
  }
  return [
    `VDEVCTL_MODE=${options.shell ? "shell" : "run"}`,
    `VDEVCTL_KVER=${shQuote(kernel.kver)}`,
    `VDEVCTL_MODDIR=${shQuote(kernel.modulesDir)}`,
    `VDEVCTL_MODULES=${shQuote((options.modules ?? []).join(" "))}`,
    "",
  ].join("\n");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

/** Follows a growing file, handing new bytes to `sink` and keeping them. */
class Follower {
  #path: string;
  #offset = 0;
  #chunks: Uint8Array[] = [];
  #sink?: (b: Uint8Array) => void;
  constructor(path: string, sink?: (b: Uint8Array) => void) {
    this.#path = path;
    this.#sink = sink;
  }
  async poll(): Promise<void> {
    let f: Deno.FsFile;
    try {
      f = await Deno.open(this.#path);
    } catch {
      return;
    }
    try {
      await f.seek(this.#offset, Deno.SeekMode.Start);
      const buf = new Uint8Array(1 << 16);
      while (true) {
        const n = await f.read(buf);
        if (n === null || n === 0) break;
        const chunk = buf.slice(0, n);
        this.#offset += n;
        this.#chunks.push(chunk);
        this.#sink?.(chunk);
      }
    } finally {
      f.close();
    }
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#offset);
    let off = 0;
    for (const c of this.#chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

function writeAll(file: { writeSync(p: Uint8Array): number }, b: Uint8Array) {
  let off = 0;
  while (off < b.length) off += file.writeSync(b.subarray(off));
}

/** What one boot of the guest came to. */
interface Attempt {
  outcome: GuestOutcome;
  /** The guest had started the command. */
  started: boolean;
  /** The serial console and QEMU's stderr. */
  consoleText: string;
}

/** What the host writes into the job directory; the guest writes the rest. */
const RUN_SCRIPT = "run.sh";
const CONFIG_SCRIPT = "config.sh";
const JOB_INPUTS = new Set([RUN_SCRIPT, CONFIG_SCRIPT]);

/** Removes what a boot of the guest left in `jobDir` (before booting again). */
async function clearGuestOutputs(jobDir: string): Promise<void> {
  for await (const e of Deno.readDir(jobDir)) {
    if (JOB_INPUTS.has(e.name)) continue;
    await Deno.remove(`${jobDir}/${e.name}`, { recursive: true });
  }
}

/**
 * The panic line when the guest kernel panicked before the command started
 * (nothing ran, so the run may boot once more; a panic of the command's own
 * making comes after `started`), else undefined.
 */
function bootPanicLine(
  attempt: { outcome: GuestOutcome; started: boolean },
): string | undefined {
  return attempt.outcome.kind === "panic" && !attempt.started
    ? attempt.outcome.line
    : undefined;
}

interface GuestJob {
  cmd: string[];
  shell: boolean;
  options: SandboxRunOptions;
}

async function runGuest(job: GuestJob): Promise<SandboxResult> {
  const { options } = job;
  const progress = typeof options.progress === "object"
    ? options.progress
    : createProgress(options.progress ?? "none");
  await ensureHostTools(BOOT_TOOLS, { say: (l) => progress.step(l) });
  const cache = cacheDirOf(options);
  let kernel: KernelPaths;
  let useLock: HeldLock;
  for (let attempt = 0;; attempt++) {
    kernel = await kernelCache({ ...options, progress });
    useLock = await lockCache(cache, "use.lock", { exclusive: false });
    // `sandbox clean` may have removed it between the two steps.
    if (await exists(kernel.vmlinuz) || attempt > 0) break;
    useLock.release();
  }
  const jobDir = await Deno.makeTempDir({ prefix: "vdevctl-job-" }).catch(
    (err) => {
      // Not yet in the try below: give back the shared lock here.
      useLock.release();
      throw err;
    },
  );
  const timeoutSec = options.timeoutSec ?? DEFAULT_TIMEOUT_SEC;
  const bootTimeoutSec = options.bootTimeoutSec ?? DEFAULT_BOOT_TIMEOUT_SEC;
  try {
    const cwd = options.cwd ?? Deno.cwd();
    const env: Record<string, string> = {
      VDEVCTL_SANDBOX: "1",
      VDEVCTL_SANDBOX_MODULES: (options.modules ?? []).join(","),
      ...options.env,
    };
    if (job.shell) env.TERM ??= Deno.env.get("TERM") ?? "vt100";
    await Deno.writeTextFile(
      `${jobDir}/${RUN_SCRIPT}`,
      runScript(job.cmd, { cwd, env, shell: job.shell }),
    );
    await Deno.writeTextFile(
      `${jobDir}/${CONFIG_SCRIPT}`,
      configScript(kernel, { modules: options.modules, shell: job.shell }),
    );
    const stream = options.output === "stream";
    const out = new Follower(
      `${jobDir}/stdout`,
      stream ? (b) => writeAll(Deno.stdout, b) : undefined,
    );
    const err = new Follower(
      `${jobDir}/stderr`,
      stream ? (b) => writeAll(Deno.stderr, b) : undefined,
    );
    const consoleFile = `${jobDir}/console.log`;
    const boot = options.boot ?? bootGuest;
    const attempt = async (): Promise<Attempt> => {
      let started = false;
      let deadline = performance.now() + bootTimeoutSec * 1000;
      progress.step(`booting Linux ${kernel.kver}`, { transient: true });
      const result = await boot({
        vmlinuz: kernel.vmlinuz,
        initramfs: kernel.initramfs,
        jobDir,
        memoryMiB: options.memoryMiB ?? DEFAULT_MEMORY_MIB,
        smp: 2,
        console: job.shell ? "stdio" : consoleFile,
      }, {
        timeoutSec: bootTimeoutSec + timeoutSec + 60,
        interactive: job.shell,
        poll: async () => {
          if (!started) {
            try {
              await Deno.stat(`${jobDir}/started`);
              started = true;
              deadline = performance.now() + timeoutSec * 1000;
              progress.done();
            } catch {
              // Still booting.
            }
          }
          await out.poll();
          await err.poll();
          return performance.now() > deadline ? "kill" : undefined;
        },
      });
      progress.done();
      await out.poll();
      await err.poll();
      if (result.interrupted) {
        throw new VdevError("sandbox: interrupted; the guest was stopped", {
          exitCode: 130,
        });
      }
      // The started file, not the poll's last look, says whether it ran.
      started ||= await exists(`${jobDir}/started`);
      const consoleText =
        (job.shell ? "" : (await readOptional(consoleFile) ?? "")) +
        result.qemuStderr;
      const modulesFailed = await readOptional(`${jobDir}/modules-failed`);
      const outcome = classifyOutcome({
        status: await readOptional(`${jobDir}/status`),
        timedOut: result.timedOut,
        started,
        console: consoleText,
        initError: await readOptional(`${jobDir}/init-error`),
        modulesFailed: modulesFailed !== undefined
          ? (await readOptional(`${jobDir}/modprobe.err`) ?? "")
          : undefined,
        qemuCode: result.qemuCode,
      });
      return { outcome, started, consoleText };
    };
    let ran = await attempt();
    const panic = job.shell ? undefined : bootPanicLine(ran);
    if (panic !== undefined) {
      // TCG sometimes oopses while the kernel boots; the command has not
      // run, so a second boot is safe.
      const why = panicContext(ran.consoleText);
      progress.note(
        `vdevctl sandbox: the guest kernel panicked while booting (${panic}${
          why ? `: ${why}` : ""
        }); booting once more`,
      );
      await clearGuestOutputs(jobDir);
      ran = await attempt();
    }
    const { outcome } = ran;
    const error = outcomeError(outcome, {
      console: ran.consoleText,
      timeoutSec,
      bootTimeoutSec,
    });
    if (error) throw error;
    const stdoutBytes = out.bytes();
    const stderrBytes = err.bytes();
    const dec = new TextDecoder();
    return {
      code: outcome.kind === "exit" ? outcome.code : 1,
      stdout: dec.decode(stdoutBytes),
      stderr: dec.decode(stderrBytes),
      stdoutBytes,
      stderrBytes,
    };
  } finally {
    progress.done();
    useLock.release();
    await Deno.remove(jobDir, { recursive: true }).catch(() => {});
  }
}

/**
 * Runs `cmd` (argv) as root in a fresh sandbox guest, in the same working
 * directory as on the host, and returns its exit status and output. Throws a
 * one-line {@linkcode VdevError} for a time limit hit, a guest panic, a
 * module that cannot load, or a guest that stopped without a result.
 */
export async function sandboxRun(
  cmd: string[],
  options: SandboxRunOptions = {},
): Promise<SandboxResult> {
  if (cmd.length === 0) {
    throw new VdevError("sandbox: no command given: add '-- CMD ARGS...'");
  }
  return await runGuest({ cmd, shell: false, options });
}

/**
 * Boots a guest with an interactive shell on the serial console, attached to
 * this process's stdin/stdout; returns the shell's exit status.
 */
export async function sandboxShell(
  options: SandboxRunOptions = {},
): Promise<number> {
  const r = await runGuest({
    cmd: [],
    shell: true,
    options: { timeoutSec: 24 * 3600, ...options },
  });
  return r.code;
}

/** What is in the cache. */
export interface SandboxStatus {
  /** The cache directory. */
  cacheDir: string;
  /** Prepared kernels, newest first, with their sizes in bytes. */
  kernels: (KernelPaths & { bytes: number })[];
  /** Total bytes used by the cache directory. */
  totalBytes: number;
}

/** Reports what is cached (kernel versions, sizes, modules built). */
export async function sandboxStatus(
  options: CacheDirOptions = {},
): Promise<SandboxStatus> {
  const cacheDir = cacheDirOf(options);
  const kernels = [];
  for (const k of await cachedKernels(options)) {
    kernels.push({ ...k, bytes: await duBytes(k.dir) });
  }
  return { cacheDir, kernels, totalBytes: await duBytes(cacheDir) };
}

/**
 * Removes everything cached (waits for running guests and preparations to
 * finish); returns the bytes freed.
 */
export async function sandboxClean(
  options: CacheDirOptions = {},
): Promise<number> {
  const cacheDir = cacheDirOf(options);
  try {
    await Deno.stat(cacheDir);
  } catch {
    return 0;
  }
  const prep = await lockCache(cacheDir, "prepare.lock", { exclusive: true });
  const use = await lockCache(cacheDir, "use.lock", { exclusive: true });
  try {
    let freed = 0;
    for await (const e of Deno.readDir(cacheDir)) {
      if (e.name.endsWith(".lock")) continue;
      const p = `${cacheDir}/${e.name}`;
      freed += await duBytes(p);
      await Deno.remove(p, { recursive: true });
    }
    return freed;
  } finally {
    use.release();
    prep.release();
  }
}
