/**
 * The kernel cache: Debian's Linux 6.12 packages of one version, downloaded
 * with `apt-get download`, extracted with `dpkg-deb -x`, plus the source
 * files the extra modules need, the processed UAPI headers, the built
 * out-of-tree modules and the initramfs. Each kernel lives in
 * `CACHE/linux-VERSION/`, built under a temporary name and renamed when
 * complete, under the exclusive `prepare.lock`.
 *
 * @module
 */

import { VdevError } from "../errors.ts";
import {
  cacheDirOf,
  type CacheDirOptions,
  duBytes,
  freeBytes,
  lockCache,
} from "./cache_dir.ts";
import {
  candidatePackages,
  compareDebianVersions,
  type KernelVersion,
  kernelVersionOf,
  parseMadison,
  pickKernelVersion,
  SOURCE_PACKAGE,
} from "./debian_version.ts";
import { aptUpdate, BUILD_TOOLS, ensureHostTools } from "./host_packages.ts";
import { buildInitramfs, initramfsName } from "./initramfs.ts";
import { buildModules } from "./module_build.ts";
import { OUT_OF_TREE_MODULES, OUT_OF_TREE_SOURCES } from "./modules.ts";
import { logTail, runTool, shQuote } from "./process.ts";
import {
  createProgress,
  type Progress,
  type ProgressMode,
} from "./progress.ts";

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

const MANIFEST = "manifest.json";

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

function packageNotFound(what: string): VdevError {
  return new VdevError(
    `sandbox: Debian package ${what} not found in the apt sources: make sure bookworm-security is in /etc/apt/sources.list and run 'apt-get update'`,
  );
}

function classifyApt(what: string) {
  return (out: string): VdevError | undefined => {
    if (/No space left on device/i.test(out)) {
      return new VdevError(
        `sandbox: no disk space left while downloading ${what}: free space or set XDG_CACHE_HOME to a larger file system`,
      );
    }
    if (
      /Unable to locate package|not found|Can't find a source|has no installation candidate/i
        .test(out)
    ) {
      return packageNotFound(what);
    }
    if (/Could not resolve|Failed to fetch|Temporary failure/i.test(out)) {
      return new VdevError(
        `sandbox: cannot download ${what} from the Debian mirror: check the network (${
          logTail(out, 2)
        })`,
      );
    }
    return undefined;
  };
}

async function madison(names: string[]): Promise<string> {
  const { stdout } = await runTool(["apt-cache", "madison", ...names], {
    what: "query apt-cache madison",
    classify: () => undefined,
  }).catch(() => ({ stdout: "" }));
  return stdout;
}

/** Asks apt for the newest complete set of kernel packages. */
export async function resolveKernelVersion(
  options: { suite?: string; say?: (l: string) => void } = {},
): Promise<KernelVersion> {
  const suite = options.suite ?? "bookworm-security";
  for (let attempt = 0; attempt < 2; attempt++) {
    const src = parseMadison(await madison([SOURCE_PACKAGE]), { suite });
    const names = candidatePackages(src);
    if (names.length > 0) {
      const all = parseMadison(await madison(names), { suite });
      all.set(SOURCE_PACKAGE, src.get(SOURCE_PACKAGE) ?? []);
      const kv = pickKernelVersion(all);
      if (kv) return kv;
    }
    if (attempt === 0) {
      options.say?.(
        "no complete 6.12 kernel package set known to apt: running apt-get update",
      );
      await aptUpdate({ say: options.say });
    }
  }
  throw packageNotFound(
    `${SOURCE_PACKAGE} (with matching linux-image, linux-headers, linux-kbuild) in ${suite}`,
  );
}

async function packageSizes(
  kv: KernelVersion,
  names: string[],
): Promise<number> {
  const { stdout } = await runTool(
    [
      "apt-cache",
      "show",
      "--no-all-versions",
      ...names.map((n) => `${n}=${kv.version}`),
    ],
    {
      what: "query package sizes",
      classify: classifyApt("the kernel packages"),
    },
  );
  let total = 0;
  for (const m of stdout.matchAll(/^Size: (\d+)$/gm)) total += Number(m[1]);
  return total;
}

async function download(
  kv: KernelVersion,
  debs: string,
  progress: Progress,
): Promise<void> {
  const p = kv.packages;
  const names = [p.image, p.headers, p.headersCommon, p.kbuild, p.source];
  const total = await packageSizes(kv, names).catch(() => 0);
  progress.step(
    `downloading Linux ${kv.version} (${
      total ? `${Math.round(total / 1e6)} MB` : "5 packages"
    })`,
  );
  let timer: ReturnType<typeof setInterval> | undefined;
  if (total > 0) {
    timer = setInterval(async () => {
      const got = await duBytes(debs);
      progress.update(
        got / total,
        `${Math.round(got / 1e6)}/${Math.round(total / 1e6)} MB`,
      );
    }, 250);
  }
  try {
    await runTool(
      [
        "apt-get",
        "download",
        "-q",
        "-o",
        "APT::Sandbox::User=root",
        ...names.map((n) => `${n}=${kv.version}`),
      ],
      {
        cwd: debs,
        what: `download the Linux ${kv.version} packages`,
        classify: classifyApt(`${names.join(", ")} ${kv.version}`),
      },
    );
  } finally {
    clearInterval(timer);
  }
}

async function debOf(debs: string, name: string): Promise<string> {
  for await (const e of Deno.readDir(debs)) {
    if (e.name.startsWith(`${name}_`) && e.name.endsWith(".deb")) {
      return `${debs}/${e.name}`;
    }
  }
  throw packageNotFound(name);
}

/** The shell pipeline that extracts only `files` of linux-source-6.12 from its .deb. */
export function sourceExtractScript(
  deb: string,
  dest: string,
  files: readonly string[],
): string {
  return `set -euo pipefail; dpkg-deb --fsys-tarfile ${shQuote(deb)} | ` +
    `tar -xO ./usr/src/linux-source-6.12.tar.xz | xz -dc | ` +
    `tar -x -C ${shQuote(dest)} --strip-components=1 ${
      files.map((f) => shQuote(`linux-source-6.12/${f}`)).join(" ")
    }`;
}

/** The rewritten one-line Makefile of the flavour headers (relative include). */
export function headersMakefile(abi: string): string {
  return `include $(dir $(lastword $(MAKEFILE_LIST)))../linux-headers-${abi}-common/Makefile\n`;
}

/**
 * The script that installs processed UAPI headers as `make headers_install`
 * does (the same sed edits and `unifdef -U__KERNEL__`): one sed over all
 * files, then one unifdef per file. Arguments: OUT UNIFDEF SRCDIR...
 */
export function uapiInstallScript(): string {
  return `set -e
out=$1; unifdef=$2; shift 2
stage=$out.stage
rm -rf "$stage"; mkdir -p "$stage" "$out"
for base in "$@"; do
  [ -d "$base" ] || continue
  cp -r "$base/." "$stage/"
done
cd "$stage"
find . -type f ! -name '*.h' -delete
find . -name '*.h' -print0 | xargs -0 -r sed -i -E -e '
	s/([[:space:](])(__user|__force|__iomem)[[:space:]]/\\1/g
	s/__attribute_const__([[:space:]]|$)/\\1/g
	s@^#include <linux/compiler(|_types).h>@@
	s/(^|[^a-zA-Z0-9])__packed([^a-zA-Z0-9_]|$)/\\1__attribute__((packed))\\2/g
	s/(^|[[:space:](])(inline|asm|volatile)([[:space:](]|$)/\\1__\\2__\\3/g
	s@#(ifndef|define|endif[[:space:]]*/[*])[[:space:]]*_UAPI@#\\1 @
'
find . -type d -print0 | (cd "$out" && xargs -0 mkdir -p)
find . -name '*.h' | while read -r f; do
  "$unifdef" -U__KERNEL__ -D__EXPORTED_HEADERS__ "$f" > "$out/$f" || [ $? -le 1 ]
done
cd /
rm -rf "$stage"
`;
}

async function installUapi(p: KernelPaths): Promise<void> {
  const unifdef = `${p.root}/usr/lib/linux-kbuild-${p.abi}/scripts/unifdef`;
  const tmp = `${p.uapiInclude}.tmp`;
  await runTool([
    "bash",
    "-c",
    uapiInstallScript(),
    "uapi-install",
    tmp,
    unifdef,
    `${p.headersCommonDir}/include/uapi`,
    `${p.headersCommonDir}/arch/x86/include/uapi`,
    `${p.headersDir}/arch/x86/include/generated/uapi`,
    `${p.headersDir}/include/generated/uapi`,
  ], { what: "install the 6.12 UAPI headers" });
  await Deno.rename(tmp, p.uapiInclude);
}

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
    await download(kv, debs, progress);
    progress.step(`extracting Linux ${kv.kver} and its UAPI headers`);
    await Deno.mkdir(p.root, { recursive: true });
    await Deno.mkdir(p.srcDir, { recursive: true });
    const pk = kv.packages;
    const srcJob = runTool(
      [
        "bash",
        "-c",
        sourceExtractScript(
          await debOf(debs, pk.source),
          p.srcDir,
          OUT_OF_TREE_SOURCES,
        ),
      ],
      { what: `extract the module sources from ${pk.source}` },
    );
    const debJob = (async () => {
      for (const name of [pk.image, pk.headers, pk.headersCommon, pk.kbuild]) {
        await runTool(["dpkg-deb", "-x", await debOf(debs, name), p.root], {
          what: `extract ${name}`,
          classify: (out) =>
            /No space left/i.test(out)
              ? new VdevError(
                `sandbox: no disk space left in ${cache}: free space or set XDG_CACHE_HOME`,
              )
              : undefined,
        });
      }
      await Deno.writeTextFile(
        `${p.headersDir}/Makefile`,
        headersMakefile(kv.abi),
      );
      // Overlaps the single-threaded source decompression.
      await installUapi(p);
    })();
    await Promise.all([srcJob, debJob]);
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
