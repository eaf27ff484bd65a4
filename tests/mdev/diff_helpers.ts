/**
 * Runs Debian's real `mdevctl` and `vdevctl mdev` against the same fake tree:
 * mdevctl inside `unshare -m` with the tree's `sys` bind-mounted over /sys
 * and its `etc/mdevctl.d` over /etc/mdevctl.d (after making every mount
 * private), vdevctl with `--root`. Debian 12's mdevctl 1.2 runs on the host,
 * Debian 13's 1.4 from the cached peer root (`peerScript`), compared with
 * vdevctl under `VDEVCTL_MDEVCTL_COMPAT=1.4`. Shared by the differential
 * test and the benchmark.
 *
 * @module
 */

import { type CommandResult, runCommand } from "../command_output.ts";
import { type PeerRoot, peerRoot, peerScript } from "../../lib/sandbox/mod.ts";

/** What one run printed and returned. */
export type RunResult = CommandResult;

/** The repository root (this file is in tests/). */
export const REPO = new URL("../..", import.meta.url).pathname.replace(
  /\/$/,
  "",
);

/** Path of the mdevctl binary, or undefined. */
export function findMdevctl(): string | undefined {
  for (const p of ["/usr/sbin/mdevctl", "/usr/bin/mdevctl", "/sbin/mdevctl"]) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch {
      // next
    }
  }
  return undefined;
}

const SCRIPT = 'mount --make-rprivate / && mount --bind "$1/sys" /sys && ' +
  'mount --bind "$1/etc/mdevctl.d" /etc/mdevctl.d && shift && exec "$@"';

/** The argv that runs `mdevctl ARGS` with `tree` mounted in a private namespace. */
export function mdevctlArgv(tree: string, args: string[]): string[] {
  const bin = findMdevctl() ?? "mdevctl";
  return ["unshare", "-m", "sh", "-c", SCRIPT, "sh", tree, bin, ...args];
}

/** The argv that runs `vdevctl --root tree mdev ARGS` through the launcher. */
export function vdevctlArgv(tree: string, args: string[]): string[] {
  return [`${REPO}/vdevctl`, "--root", tree, "mdev", ...args];
}

/** Runs `argv` and collects its output. */
export const run: (
  argv: string[],
  options?: { cwd?: string; env?: Record<string, string> },
) => Promise<RunResult> = runCommand;

/** The mdevctl release a differential run compares with. */
export type Peer = "1.2" | "1.4";

let peer14: Promise<PeerRoot> | undefined;

/** The Debian 13 peer root holding mdevctl 1.4 (made once per process). */
export function mdevctl14Root(): Promise<PeerRoot> {
  peer14 ??= peerRoot();
  return peer14;
}

/**
 * Runs the peer root's mdevctl 1.4 ARGS on `tree` (bind-mounted in a
 * chroot); `options.share` is a host directory seen at the same path inside
 * (for `--jsonfile` paths).
 */
export async function runMdevctl14(
  tree: string,
  args: string[],
  options: { share?: string } = {},
): Promise<RunResult> {
  const binds: [string, string][] = [
    [`${tree}/sys`, "/sys"],
    [`${tree}/etc/mdevctl.d`, "/etc/mdevctl.d"],
  ];
  if (options.share) binds.push([options.share, options.share]);
  const script = peerScript(await mdevctl14Root(), ["mdevctl", ...args], {
    binds,
  });
  return run(["sh", "-c", script]);
}

/** Runs mdevctl `peer` on `tree` (`share`: see {@linkcode runMdevctl14}). */
export function runPeer(
  peer: Peer,
  tree: string,
  args: string[],
  options: { share?: string } = {},
): Promise<RunResult> {
  return peer === "1.4"
    ? runMdevctl14(tree, args, options)
    : runMdevctl(tree, args);
}

/** Runs vdevctl mdev ARGS on `tree` with the output of mdevctl `peer`. */
export function runVdevctlAs(
  peer: Peer,
  tree: string,
  args: string[],
): Promise<RunResult> {
  return run(vdevctlArgv(tree, args), {
    env: { VDEVCTL_MDEVCTL_COMPAT: peer },
  });
}

/** Runs mdevctl ARGS on `tree`. */
export function runMdevctl(
  tree: string,
  args: string[],
  options: { cwd?: string } = {},
): Promise<RunResult> {
  return run(mdevctlArgv(tree, args), options);
}

/** Runs vdevctl mdev ARGS on `tree`. */
export function runVdevctl(
  tree: string,
  args: string[],
  options: { cwd?: string } = {},
): Promise<RunResult> {
  return run(vdevctlArgv(tree, args), options);
}

/** Every file under `dir` (relative path → contents and mode), sorted. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(`${dir}/${rel}`)) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isSymlink) {
        out.set(p, `-> ${Deno.readLinkSync(`${dir}/${p}`)}`);
      } else if (e.isDirectory) {
        out.set(`${p}/`, "dir");
        walk(p);
      } else {
        const st = Deno.lstatSync(`${dir}/${p}`);
        const mode = ((st.mode ?? 0) & 0o777).toString(8);
        out.set(p, `${mode}:${Deno.readTextFileSync(`${dir}/${p}`)}`);
      }
    }
  };
  walk("");
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Runs `tasks` with at most `limit` at a time, keeping their order. */
export async function pool<T>(
  tasks: (() => Promise<T>)[],
  limit: number,
): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}
