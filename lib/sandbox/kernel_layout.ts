/**
 * The kernel cache's layout: each prepared kernel lives in
 * `CACHE/linux-VERSION/` (extracted packages under `root/`, the module
 * sources, the M= build directory, the UAPI headers, the initramfs and a
 * `manifest.json` written last), and {@linkcode cachedKernels} lists the
 * finished ones.
 *
 * @module
 */

import { cacheDirOf, type CacheDirOptions } from "./cache_dir.ts";
import {
  compareDebianVersions,
  type KernelVersion,
  kernelVersionOf,
} from "./debian_version.ts";
import { buildInitramfs, initramfsName } from "./initramfs.ts";
import { OUT_OF_TREE_MODULES } from "./modules.ts";

/** Paths of one prepared kernel in the cache. */
export interface KernelPaths {
  /** Debian package version, e.g. `6.12.117-1~deb12u1`. */
  version: string;
  /** ABI name, e.g. `6.12.117+deb12`. */
  abi: string;
  /** Kernel release, e.g. `6.12.117+deb12-amd64`. */
  kver: string;
  /** The kernel's cache directory. */
  dir: string;
  /** Root of the extracted packages (boot/, lib/modules/, usr/src/). */
  root: string;
  /** The kernel image. */
  vmlinuz: string;
  /** `lib/modules/KVER` of the extracted tree (depmod'ed, with extra/). */
  modulesDir: string;
  /** The flavour headers (`make -C` here with M= for out-of-tree modules). */
  headersDir: string;
  /** The common headers (include/uapi, arch/x86/include/uapi, ...). */
  headersCommonDir: string;
  /** Processed UAPI headers: `gcc -I<uapiInclude>` compiles `<linux/vduse.h>` of 6.12. */
  uapiInclude: string;
  /** The extracted linux-source-6.12 files (only those the modules need). */
  srcDir: string;
  /** The M= directory the extra modules were built in. */
  buildDir: string;
  /** The out-of-tree modules built and installed under extra/. */
  extraModules: string[];
  /** The initramfs (uncompressed cpio). */
  initramfs: string;
}

/** The file written last into a finished kernel directory. */
export const MANIFEST = "manifest.json";

/** The cache directory name of a Debian kernel version. */
export function kernelDirName(version: string): string {
  return `linux-${version.replace(/[^A-Za-z0-9.+-]/g, "_")}`;
}

/** The paths of kernel `kv` inside the kernel directory `dir`. */
export function kernelPathsOf(kv: KernelVersion, dir: string): KernelPaths {
  const root = `${dir}/root`;
  return {
    version: kv.version,
    abi: kv.abi,
    kver: kv.kver,
    dir,
    root,
    vmlinuz: `${root}/boot/vmlinuz-${kv.kver}`,
    modulesDir: `${root}/lib/modules/${kv.kver}`,
    headersDir: `${root}/usr/src/linux-headers-${kv.kver}`,
    headersCommonDir: `${root}/usr/src/linux-headers-${kv.abi}-common`,
    uapiInclude: `${dir}/uapi`,
    srcDir: `${dir}/src`,
    buildDir: `${dir}/build`,
    extraModules: [...OUT_OF_TREE_MODULES],
    initramfs: `${dir}/${initramfsName()}`,
  };
}

/** The finished kernels in the cache, newest first. */
export async function cachedKernels(
  options: CacheDirOptions = {},
): Promise<KernelPaths[]> {
  const cache = cacheDirOf(options);
  const found: KernelPaths[] = [];
  try {
    for await (const e of Deno.readDir(cache)) {
      if (!e.isDirectory || !e.name.startsWith("linux-")) continue;
      const dir = `${cache}/${e.name}`;
      try {
        const m = JSON.parse(
          await Deno.readTextFile(`${dir}/${MANIFEST}`),
        ) as { version: string; extraModules?: string[] };
        const kv = kernelVersionOf(m.version);
        if (!kv) continue;
        const p = kernelPathsOf(kv, dir);
        if (m.extraModules) p.extraModules = m.extraModules;
        try {
          await Deno.stat(p.initramfs);
        } catch {
          // Prepared by a vdevctl with other guest scripts: rebuild it.
          await buildInitramfs(p.root, p.kver, p.initramfs);
        }
        found.push(p);
      } catch {
        // Not a finished kernel directory.
      }
    }
  } catch {
    // No cache yet.
  }
  return found.sort((a, b) => compareDebianVersions(b.version, a.version));
}
