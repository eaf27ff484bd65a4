/**
 * Host tools the sandbox needs, installed with apt-get when missing (and
 * said so on stderr), and apt-get run so that it waits, for a bounded time,
 * while another apt-get or dpkg holds apt's locks.
 *
 * @module
 */

import { VdevError } from "../errors.ts";
import {
  haveCommand,
  logTail,
  runTool,
  type RunToolOptions,
  type ToolOutput,
} from "./process.ts";

/**
 * Seconds apt-get waits for another apt-get or dpkg to release its locks
 * (a second test run, unattended-upgrades) before it fails.
 */
export const APT_LOCK_TIMEOUT_SEC = 300;

/**
 * The apt-get command line for `args` (a subcommand and its arguments):
 * dpkg's lock is waited for up to `lockTimeoutSec` (`DPkg::Lock::Timeout`).
 */
export function aptGetArgs(
  args: string[],
  options: { lockTimeoutSec?: number } = {},
): string[] {
  const timeout = options.lockTimeoutSec ?? APT_LOCK_TIMEOUT_SEC;
  return ["apt-get", "-o", `DPkg::Lock::Timeout=${timeout}`, ...args];
}

/** Whether apt's output says another process holds one of its locks. */
export function aptLockBusy(output: string): boolean {
  return /Could not get lock|Unable to acquire the dpkg frontend lock/
    .test(output);
}

/** apt-get gave up waiting for a lock another process holds. */
class AptLockError extends VdevError {}

/** Options of {@linkcode runAptGet}. */
export interface RunAptGetOptions extends RunToolOptions {
  /** Seconds to wait for apt's locks (default {@linkcode APT_LOCK_TIMEOUT_SEC}). */
  lockTimeoutSec?: number;
  /** Told once when apt is busy and the call waits for it. */
  say?: (line: string) => void;
}

/**
 * Runs apt-get with `args` non-interactively. dpkg's lock is waited for by
 * apt itself; the locks apt-get does not wait for (`apt-get update`'s lists
 * lock) by running it again, with growing pauses, until `lockTimeoutSec`
 * has passed; then the error names the busy lock.
 */
export async function runAptGet(
  args: string[],
  options: RunAptGetOptions = {},
): Promise<ToolOutput> {
  const { lockTimeoutSec = APT_LOCK_TIMEOUT_SEC, say, ...tool } = options;
  const deadline = performance.now() + lockTimeoutSec * 1000;
  const cmd = aptGetArgs(args, { lockTimeoutSec });
  const what = tool.what ?? cmd.join(" ");
  let pauseMs = 250;
  let said = false;
  while (true) {
    let busy = false;
    try {
      return await runTool(cmd, {
        ...tool,
        env: { DEBIAN_FRONTEND: "noninteractive", ...tool.env },
        classify: (out, code) => {
          if (aptLockBusy(out)) {
            busy = true;
            return new AptLockError(
              `sandbox: cannot ${what}: another apt-get or dpkg still holds apt's lock after ${lockTimeoutSec} s (${
                logTail(out, 1)
              }): let it finish, then retry`,
            );
          }
          return tool.classify?.(out, code);
        },
      });
    } catch (err) {
      if (!busy || performance.now() + pauseMs > deadline) throw err;
    }
    if (!said) say?.("waiting for another apt-get or dpkg to finish");
    said = true;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    pauseMs = Math.min(pauseMs * 2, 4000);
  }
}

/** `apt-get update -qq`, waiting for a concurrent apt as {@linkcode runAptGet} does. */
export async function aptUpdate(
  options: { say?: (line: string) => void; lockTimeoutSec?: number } = {},
): Promise<void> {
  await runAptGet(["update", "-qq"], {
    ...options,
    what: "update the apt package lists",
  });
}

/** A host tool and the Debian package that provides it. */
export interface HostTool {
  /** Command name (or absolute path) that must exist. */
  command: string;
  /** Debian package to install. */
  pkg: string;
  /** Extra check beyond existence (e.g. busybox must be static). */
  ok?: () => boolean;
  /** The sandbox works without it (pahole: the build then skips module BTF). */
  optional?: boolean;
}

/** Whether the ELF file at `path` has no program interpreter (is static). */
export function isStaticElf(bytes: Uint8Array): boolean {
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45) {
    return false;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > bytes.length) return false;
    if (dv.getUint32(off, true) === 3) return false; // PT_INTERP
  }
  return true;
}

/** The busybox binary the initramfs uses. */
export const BUSYBOX = "/bin/busybox";

function busyboxIsStatic(): boolean {
  try {
    const f = Deno.openSync(BUSYBOX);
    try {
      const buf = new Uint8Array(4096);
      const n = f.readSync(buf) ?? 0;
      return isStaticElf(buf.subarray(0, n));
    } finally {
      f.close();
    }
  } catch {
    return false;
  }
}

/** Tools needed to download and build the kernel cache. */
export const BUILD_TOOLS: HostTool[] = [
  { command: "apt-get", pkg: "apt" },
  { command: "dpkg-deb", pkg: "dpkg" },
  { command: "xz", pkg: "xz-utils" },
  { command: "tar", pkg: "tar" },
  { command: "make", pkg: "make" },
  { command: "gcc", pkg: "gcc" },
  { command: "depmod", pkg: "kmod" },
  { command: "pahole", pkg: "dwarves", optional: true },
  { command: BUSYBOX, pkg: "busybox-static", ok: busyboxIsStatic },
  { command: "bash", pkg: "bash" },
];

/** Tools needed to boot the sandbox. */
export const BOOT_TOOLS: HostTool[] = [
  { command: "qemu-system-x86_64", pkg: "qemu-system-x86" },
];

/** Tools among `tools` that are missing on this host. */
export function missingTools(tools: HostTool[]): HostTool[] {
  return tools.filter((t) => !haveCommand(t.command) || (t.ok && !t.ok()));
}

let updated = false;

/**
 * Installs the packages of the missing `tools` with apt-get, saying so on
 * stderr through `say`. Throws a one-line error when that is impossible.
 */
export async function ensureHostTools(
  tools: HostTool[],
  options: { say?: (line: string) => void } = {},
): Promise<void> {
  const missing = missingTools(tools);
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((t) => t.pkg))];
  const qemu = missing.some((t) => t.pkg === "qemu-system-x86");
  const onlyOptional = missing.every((t) => t.optional);
  if (Deno.uid() !== 0 && onlyOptional) return;
  if (Deno.uid() !== 0) {
    throw new VdevError(
      `sandbox: ${
        qemu ? "QEMU (qemu-system-x86_64) is missing" : "host tools missing"
      }: run as root or 'apt-get install ${pkgs.join(" ")}'`,
    );
  }
  const say = options.say ??
    ((l: string) => console.error(`vdevctl sandbox: ${l}`));
  say(`installing ${pkgs.join(" ")} with apt-get`);
  const install = () =>
    runAptGet(
      ["install", "-y", "-qq", "--no-install-recommends", ...pkgs],
      { say, what: `install ${pkgs.join(" ")} with apt-get` },
    );
  try {
    try {
      await install();
    } catch (err) {
      // Updating the lists would only wait for the same lock again.
      if (updated || err instanceof AptLockError) throw err;
      updated = true;
      await aptUpdate({ say });
      await install();
    }
  } catch (err) {
    if (!onlyOptional) throw err;
    say(`continuing without ${pkgs.join(" ")}`);
    return;
  }
  const still = missingTools(tools).filter((t) => !t.optional);
  if (still.length > 0) {
    throw new VdevError(
      `sandbox: ${
        still.map((t) => t.command).join(", ")
      } still missing after installing ${pkgs.join(" ")}`,
    );
  }
}
