/**
 * The newest real peers (mdevctl 1.4, iproute2 6.15) come from a newer Debian
 * release than the host's, whose binaries need a newer glibc: they run from a
 * root file system made with `debootstrap` from the host's own Debian mirror,
 * cached beside the kernel (`$CACHE/peers/SUITE-HASH`) and shared by
 * concurrent runs under the cache's `prepare.lock`. {@linkcode peerRoot}
 * makes or returns it; {@linkcode peerScript} is the shell line that runs a
 * peer binary in it on given fake trees (`unshare -m`, bind mounts,
 * `chroot`), on the host or inside a sandbox guest.
 *
 * @module
 */

import { VdevError } from "../errors.ts";
import { cacheDirOf, type CacheDirOptions, lockCache } from "./cache_dir.ts";
import { ensureHostTools, type HostTool } from "./host_packages.ts";
import { runTool, shQuote } from "./process.ts";

/** The Debian release the newest peers come from. */
export const PEER_SUITE = "trixie";

/** Packages the peer root holds (debootstrap `--include`). */
export const PEER_PACKAGES: readonly string[] = ["iproute2", "mdevctl"];

/** The peer root's manifest (versions the peers report of themselves). */
export interface PeerRoot {
  /** The root directory. */
  dir: string;
  /** Debian release. */
  suite: string;
  /** `mdevctl --version` there, e.g. "mdevctl 1.4.0". */
  mdevctl: string;
  /** `vdpa -V` there, e.g. "vdpa utility, iproute2-6.15.0". */
  vdpa: string;
}

/** Options of {@linkcode peerRoot}. */
export interface PeerRootOptions extends CacheDirOptions {
  /** Debian release (default {@linkcode PEER_SUITE}). */
  suite?: string;
  /** Mirror URL (default: the host's Debian mirror from its apt sources). */
  mirror?: string;
  /** Progress lines (stderr). */
  say?: (line: string) => void;
}

const MANIFEST = "vdevctl-peer.json";
const TOOLS: HostTool[] = [{ command: "debootstrap", pkg: "debootstrap" }];

/**
 * The Debian mirror this host's apt uses (the first `URIs:` of a deb822
 * source or `deb URL SUITE` line naming a Debian suite, security excluded).
 */
export function hostMirror(sources: readonly string[]): string | undefined {
  for (const text of sources) {
    for (const block of text.split(/\n\s*\n/)) {
      const uris = block.match(/^URIs:\s*(\S+)/m)?.[1];
      const suites = block.match(/^Suites:\s*(.+)$/m)?.[1] ?? "";
      if (uris && /\/debian\/?$/.test(uris) && !/security/.test(suites)) {
        return uris.replace(/\/$/, "");
      }
    }
    for (const line of text.split("\n")) {
      const m = line.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+\S+/);
      if (m) return m[1];
    }
  }
  return undefined;
}

function readSources(): string[] {
  const out: string[] = [];
  const files = ["/etc/apt/sources.list"];
  try {
    for (const e of Deno.readDirSync("/etc/apt/sources.list.d")) {
      if (/\.(list|sources)$/.test(e.name)) {
        files.push(`/etc/apt/sources.list.d/${e.name}`);
      }
    }
  } catch {
    // no sources.list.d
  }
  for (const f of files.sort()) {
    try {
      out.push(Deno.readTextFileSync(f));
    } catch {
      // unreadable source lists are skipped
    }
  }
  return out;
}

/** Directory name of a peer root: suite and a hash of its package list. */
export async function peerDirName(
  suite: string,
  packages: readonly string[],
): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode([suite, ...packages].join("\n")),
  );
  const hex = [...new Uint8Array(digest)].slice(0, 6)
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${suite}-${hex}`;
}

function readManifest(dir: string): PeerRoot | undefined {
  try {
    const m = JSON.parse(Deno.readTextFileSync(`${dir}/${MANIFEST}`));
    if (typeof m.mdevctl === "string" && typeof m.vdpa === "string") {
      return { dir, suite: String(m.suite), mdevctl: m.mdevctl, vdpa: m.vdpa };
    }
  } catch {
    // not (yet) a finished root
  }
  return undefined;
}

async function versionIn(dir: string, argv: string[]): Promise<string> {
  const out = await runTool(["chroot", dir, ...argv], {
    what: `run ${argv.join(" ")} in the peer root`,
  });
  return (out.stdout + out.stderr).trim().split("\n")[0];
}

/**
 * The cached Debian peer root, made with debootstrap if missing (about
 * 280 MB, a few minutes). Safe to call from concurrent processes.
 */
export async function peerRoot(
  options: PeerRootOptions = {},
): Promise<PeerRoot> {
  const suite = options.suite ?? PEER_SUITE;
  const cache = cacheDirOf(options);
  const dir = `${cache}/peers/${await peerDirName(suite, PEER_PACKAGES)}`;
  const ready = readManifest(dir);
  if (ready) return ready;
  const lock = await lockCache(cache, "prepare.lock", { exclusive: true });
  try {
    const done = readManifest(dir);
    if (done) return done;
    if (Deno.uid() !== 0) {
      throw new VdevError(
        `sandbox: the ${suite} peer root is not cached and making it needs root: run as root once (it is kept in ${cache}/peers)`,
      );
    }
    await ensureHostTools(TOOLS, { say: options.say });
    const mirror = options.mirror ?? hostMirror(readSources());
    if (!mirror) {
      throw new VdevError(
        "sandbox: no Debian mirror in /etc/apt/sources.list*: add one or pass a mirror",
      );
    }
    await Deno.mkdir(`${cache}/peers`, { recursive: true });
    for (const e of Deno.readDirSync(`${cache}/peers`)) {
      // Leftovers of runs that died while making a root (we hold the lock).
      if (e.name.startsWith(".") && e.name.includes(".tmp-")) {
        await Deno.remove(`${cache}/peers/${e.name}`, { recursive: true })
          .catch(() => {});
      }
    }
    const tmp = `${cache}/peers/.${dir.split("/").pop()}.tmp-${Deno.pid}`;
    options.say?.(
      `making the Debian ${suite} peer root (${
        PEER_PACKAGES.join(", ")
      }) with debootstrap`,
    );
    try {
      await runTool([
        "debootstrap",
        "--variant=minbase",
        `--include=${PEER_PACKAGES.join(",")}`,
        suite,
        tmp,
        mirror,
      ], {
        what: `debootstrap Debian ${suite}`,
        logFile: `${cache}/logs/peer-${suite}.log`,
      });
      const manifest = {
        suite,
        packages: PEER_PACKAGES,
        mdevctl: await versionIn(tmp, ["mdevctl", "--version"]),
        vdpa: await versionIn(tmp, ["vdpa", "-V"]),
        created: new Date().toISOString(),
      };
      await Deno.writeTextFile(
        `${tmp}/${MANIFEST}`,
        JSON.stringify(manifest, null, 2) + "\n",
      );
      await Deno.rename(tmp, dir);
    } catch (err) {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      throw err;
    }
    const made = readManifest(dir);
    if (!made) {
      throw new VdevError(`sandbox: the peer root ${dir} has no manifest`);
    }
    return made;
  } finally {
    lock.release();
  }
}

/** Options of {@linkcode peerScript}. */
export interface PeerScriptOptions {
  /**
   * Host paths bind-mounted at paths inside the root, in order
   * (`[["/tmp/tree/sys", "/sys"]]`); the target is created if missing.
   */
  binds?: readonly (readonly [source: string, target: string])[];
  /** Also bind the host's /proc, /sys and /dev (for netlink peers such as vdpa). */
  system?: boolean;
}

/**
 * A shell command line that runs `argv` from the peer root in a private
 * mount namespace with `options.binds` mounted, and exits with its status.
 */
export function peerScript(
  root: PeerRoot,
  argv: readonly string[],
  options: PeerScriptOptions = {},
): string {
  const binds: [string, string][] = [];
  if (options.system) {
    binds.push(["/proc", "/proc"], ["/sys", "/sys"], ["/dev", "/dev"]);
  }
  for (const [s, t] of options.binds ?? []) binds.push([s, t]);
  const steps = binds.map(([s, t]) => {
    const target = shQuote(`${root.dir}${t}`);
    return `mkdir -p ${target} && mount --rbind ${shQuote(s)} ${target}`;
  });
  steps.push(`exec chroot ${shQuote(root.dir)} ${argv.map(shQuote).join(" ")}`);
  return `unshare -m sh -c ${shQuote(steps.join(" && "))}`;
}
