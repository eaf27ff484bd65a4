/**
 * What `vdevctl doctor` asks the running kernel and process rather than a
 * file tree: the generic-netlink families and their commands, the VDUSE API
 * version, who this process is, and a program's `--version`. Behind one
 * interface ({@linkcode DoctorProbe}) so the checks run on fake trees with a
 * scripted probe; {@linkcode systemProbe} is the real one (exercised in
 * tests/e2e/doctor_test.ts on the 6.12 kernel).
 *
 * @module
 */

import { errnoCode } from "../errors.ts";
import { GenlSocket } from "../netlink/mod.ts";
import { close, ioctl, O, open } from "../sys/mod.ts";
import { VDUSE_IOCTL } from "../vduse/mod.ts";

/** A generic-netlink family as the kernel describes it. */
export interface ProbedFamily {
  /** Family version. */
  version: number;
  /** The commands it implements, with their GENL_* flags. */
  ops: { cmd: number; flags: number }[];
}

/** Who this process is, as the kernel's permission checks see it. */
export interface Identity {
  /** Effective user id. */
  uid: number;
  /** Effective group id. */
  gid: number;
  /** Supplementary groups. */
  groups: number[];
  /** Effective capability set (CapEff). */
  capEff: bigint;
}

/** The kernel and process questions of the checks. */
export interface DoctorProbe {
  /**
   * The generic-netlink family `name`, undefined when the kernel has none
   * (ENOENT); throws on other failures.
   */
  genlFamily(name: string): ProbedFamily | undefined;
  /** VDUSE_GET_API_VERSION on the control device at `path` (throws on errors). */
  vduseApiVersion(path: string): number;
  /** This process's identity. */
  identity(): Identity;
  /** The first line `path --version` prints, undefined if it fails. */
  programVersion(path: string): Promise<string | undefined>;
}

/** CAP_NET_ADMIN's bit in the capability sets. */
export const CAP_NET_ADMIN = 12;

/** Parses /proc/self/status text into an {@linkcode Identity}. */
export function parseStatus(text: string): Identity {
  const field = (name: string) =>
    new RegExp(`^${name}:\\s*(.*)$`, "m").exec(text)?.[1].trim() ?? "";
  // Uid: real effective saved fs; the effective one is what checks use.
  const second = (line: string) => Number(line.split(/\s+/)[1] ?? NaN);
  const cap = field("CapEff");
  return {
    uid: second(field("Uid")),
    gid: second(field("Gid")),
    groups: field("Groups").split(/\s+/).filter((g) => g !== "").map(Number),
    capEff: /^[0-9a-f]+$/i.test(cap) ? BigInt(`0x${cap}`) : 0n,
  };
}

/** Runs `path --version`, at most `timeoutMs`, stdin closed. */
async function versionOf(
  path: string,
  timeoutMs: number,
): Promise<string | undefined> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(path, {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
  } catch {
    return undefined;
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    if (!out.success) return undefined;
    const text = new TextDecoder().decode(out.stdout.subarray(0, 4096));
    return text.split("\n")[0].trim() || undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** The real probe: netlink, ioctl, /proc/self/status and programs. */
export function systemProbe(): DoctorProbe {
  return {
    genlFamily(name) {
      const socket = GenlSocket.open();
      try {
        const d = socket.describeFamily(name);
        return {
          version: d.version,
          ops: d.ops.map((o) => ({ cmd: o.cmd, flags: o.flags })),
        };
      } catch (err) {
        if (errnoCode(err) === "ENOENT") return undefined;
        throw err;
      } finally {
        socket.close();
      }
    },
    vduseApiVersion(path) {
      const fd = open(path, O.RDWR);
      try {
        const b = new Uint8Array(8);
        ioctl(fd, VDUSE_IOCTL.GET_API_VERSION, {
          arg: b,
          name: "VDUSE_GET_API_VERSION",
        });
        return Number(new DataView(b.buffer).getBigUint64(0, true));
      } finally {
        close(fd);
      }
    },
    identity() {
      return parseStatus(Deno.readTextFileSync("/proc/self/status"));
    },
    programVersion(path) {
      return versionOf(path, 5000);
    },
  };
}
