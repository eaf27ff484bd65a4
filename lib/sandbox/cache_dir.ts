/**
 * The sandbox's cache directory (`$XDG_CACHE_HOME/vdevctl` or
 * `~/.cache/vdevctl`) and the locks that let concurrent runs share it:
 * `prepare.lock` (exclusive while a kernel is downloaded and built) and
 * `use.lock` (shared by every boot, exclusive for `sandbox clean`).
 *
 * @module
 */

import { VdevError } from "../errors.ts";

/** Options naming the cache directory. */
export interface CacheDirOptions {
  /** The cache directory itself (default from XDG_CACHE_HOME / HOME). */
  cacheDir?: string;
}

/** The vdevctl cache directory for `options` (not created). */
export function cacheDirOf(options: CacheDirOptions = {}): string {
  if (options.cacheDir) return options.cacheDir;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg && xdg.startsWith("/")) return `${xdg}/vdevctl`;
  const home = Deno.env.get("HOME");
  if (!home) {
    throw new VdevError(
      "sandbox: neither XDG_CACHE_HOME nor HOME is set: set one to choose the cache directory",
    );
  }
  return `${home}/.cache/vdevctl`;
}

/** A held lock on a lock file; release it with `release()`. */
export interface HeldLock {
  /** Unlocks and closes the lock file. */
  release(): void;
}

/**
 * Locks `name` (a file in the cache directory) shared or exclusive, waiting
 * for other holders. The lock dies with the process.
 */
export async function lockCache(
  dir: string,
  name: string,
  options: { exclusive: boolean },
): Promise<HeldLock> {
  await Deno.mkdir(dir, { recursive: true });
  const file = await Deno.open(`${dir}/${name}`, {
    read: true,
    write: true,
    create: true,
  });
  try {
    await file.lock(options.exclusive);
  } catch (err) {
    file.close();
    throw err;
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      try {
        file.unlockSync();
      } finally {
        file.close();
      }
    },
  };
}

/** Free bytes on the file system holding `dir` (its nearest existing parent). */
export async function freeBytes(dir: string): Promise<number | undefined> {
  let probe = dir;
  while (probe !== "/" && probe !== "") {
    try {
      await Deno.stat(probe);
      break;
    } catch {
      probe = probe.replace(/\/[^/]*$/, "") || "/";
    }
  }
  try {
    const out = await new Deno.Command("df", {
      args: ["-Pk", probe],
      stdout: "piped",
      stderr: "null",
    }).output();
    const line = new TextDecoder().decode(out.stdout).trim().split("\n")[1];
    const avail = Number(line?.split(/\s+/)[3]);
    return Number.isFinite(avail) ? avail * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Total size in bytes of the files under `path` (not following symlinks). */
export async function duBytes(path: string): Promise<number> {
  let total = 0;
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory) return st.size;
  for await (const e of Deno.readDir(path)) {
    total += await duBytes(`${path}/${e.name}`);
  }
  return total;
}
