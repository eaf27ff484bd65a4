/**
 * The kernel cache: {@linkcode kernelCache} returns the newest prepared
 * kernel, or prepares one under the exclusive `prepare.lock`: Debian's
 * Linux 6.12 packages fetched and extracted (`kernel_fetch.ts`), the
 * out-of-tree modules built, the initramfs written, all under a temporary
 * name renamed into the layout of `kernel_layout.ts` when complete.
 *
 * @module
 */

import { VdevError } from "../errors.ts";
import {
  cacheDirOf,
  type CacheDirOptions,
  freeBytes,
  lockCache,
} from "./cache_dir.ts";
import type { KernelVersion } from "./debian_version.ts";
import { BUILD_TOOLS, ensureHostTools } from "./host_packages.ts";
import { buildInitramfs } from "./initramfs.ts";
import {
  downloadKernel,
  extractKernel,
  resolveKernelVersion,
} from "./kernel_fetch.ts";
import {
  cachedKernels,
  kernelDirName,
  type KernelPaths,
  kernelPathsOf,
  MANIFEST,
} from "./kernel_layout.ts";
import { buildModules } from "./module_build.ts";
import { OUT_OF_TREE_MODULES } from "./modules.ts";
import {
  createProgress,
  type Progress,
  type ProgressMode,
} from "../progress.ts";

/** Options of {@linkcode kernelCache}. */
export interface KernelCacheOptions extends CacheDirOptions {
  /** Ask apt for the newest version even if a kernel is cached. */
  update?: boolean;
  /** Progress display (default "auto"). */
  progress?: ProgressMode | Progress;
  /** apt suite the packages must come from (default "bookworm-security"). */
  suite?: string;
}

/** Bytes of free space a cold preparation needs (debs + extraction + build). */
export const NEEDED_BYTES = 900 * 1024 * 1024;

async function prepare(
  kv: KernelVersion,
  cache: string,
  progress: Progress,
): Promise<KernelPaths> {
  const final = `${cache}/${kernelDirName(kv.version)}`;
  const tmp = `${cache}/.${kernelDirName(kv.version)}.tmp-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  const p = kernelPathsOf(kv, tmp);
  const debs = `${tmp}/debs`;
  const logs = `${cache}/logs`;
  await Deno.mkdir(debs, { recursive: true });
  await Deno.mkdir(logs, { recursive: true });
  try {
    await downloadKernel(kv, debs, progress);
    progress.step(`extracting Linux ${kv.kver} and its UAPI headers`);
    await extractKernel(kv, p, { debs, cacheDir: cache });
    await Deno.remove(debs, { recursive: true });
    progress.step(`building ${OUT_OF_TREE_MODULES.length} out-of-tree modules`);
    const extra = await buildModules({
      srcDir: p.srcDir,
      headersDir: p.headersDir,
      buildDir: p.buildDir,
      root: p.root,
      kver: kv.kver,
      logFile: `${logs}/build-modules.log`,
    });
    progress.step("building the initramfs");
    await buildInitramfs(p.root, kv.kver, p.initramfs);
    await Deno.writeTextFile(
      `${tmp}/${MANIFEST}`,
      JSON.stringify(
        {
          version: kv.version,
          abi: kv.abi,
          kver: kv.kver,
          extraModules: extra,
          created: new Date().toISOString(),
        },
        null,
        2,
      ) + "\n",
    );
    await Deno.rename(tmp, final);
    progress.done();
  } catch (err) {
    progress.done();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
  return kernelPathsOf(kv, final);
}

/**
 * The prepared kernel: the newest cached one, or (when none is cached or
 * `update` is set) the newest complete set from apt, downloaded and built.
 * Safe to call from concurrent processes.
 */
export async function kernelCache(
  options: KernelCacheOptions = {},
): Promise<KernelPaths> {
  if (!options.update) {
    const cached = await cachedKernels(options);
    if (cached.length > 0) return cached[0];
  }
  const cache = cacheDirOf(options);
  const progress = typeof options.progress === "object"
    ? options.progress
    : createProgress(options.progress ?? "auto");
  await Deno.mkdir(cache, { recursive: true });
  // Say so when another process holds the lock (it is preparing the cache).
  const waiting = setTimeout(
    () => progress.step("waiting for another vdevctl to prepare the cache"),
    1000,
  );
  let lock;
  try {
    lock = await lockCache(cache, "prepare.lock", { exclusive: true });
  } finally {
    clearTimeout(waiting);
  }
  try {
    // Someone else may have finished while we waited for the lock.
    if (!options.update) {
      const done = await cachedKernels(options);
      if (done.length > 0) return done[0];
    }
    const say = (l: string) => {
      progress.step(l);
    };
    await ensureHostTools(BUILD_TOOLS, { say });
    const kv = await resolveKernelVersion({ suite: options.suite, say });
    const cached = (await cachedKernels(options)).find((k) =>
      k.version === kv.version
    );
    if (cached) return cached;
    for await (const e of Deno.readDir(cache)) {
      // Leftovers of runs that died while preparing (we hold the lock).
      if (e.name.startsWith(".linux-") && e.name.includes(".tmp-")) {
        await Deno.remove(`${cache}/${e.name}`, { recursive: true }).catch(
          () => {},
        );
      }
    }
    const free = await freeBytes(cache);
    if (free !== undefined && free < NEEDED_BYTES) {
      throw new VdevError(
        `sandbox: not enough disk space in ${cache}: ${
          Math.round(free / 2 ** 20)
        } MiB free, ${
          Math.round(NEEDED_BYTES / 2 ** 20)
        } MiB needed; free space or set XDG_CACHE_HOME`,
      );
    }
    return await prepare(kv, cache, progress);
  } finally {
    progress.done();
    lock.release();
  }
}
