/**
 * Host tools the sandbox needs, installed with apt-get when missing (and
 * said so on stderr).
 *
 * @module
 */

import { VdevError } from "../errors.ts";
import { haveCommand, runTool } from "./process.ts";

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
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const install = () =>
    runTool(
      ["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...pkgs],
      { env, what: `install ${pkgs.join(" ")} with apt-get` },
    );
  try {
    try {
      await install();
    } catch (err) {
      if (updated) throw err;
      updated = true;
      await runTool(["apt-get", "update", "-qq"], {
        env,
        what: "update the apt package lists",
      });
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
