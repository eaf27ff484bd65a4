/**
 * Fetching a kernel into the cache: the newest complete set of Debian's
 * Linux 6.12 packages from `apt-cache madison`, downloaded with `apt-get
 * download` and extracted with `dpkg-deb -x`, plus the source files the
 * out-of-tree modules need (from linux-source-6.12) and the processed UAPI
 * headers.
 *
 * @module
 */

import { VdevError } from "../errors.ts";
import { duBytes } from "./cache_dir.ts";
import {
  candidatePackages,
  type KernelVersion,
  parseMadison,
  pickKernelVersion,
  SOURCE_PACKAGE,
} from "./debian_version.ts";
import { aptUpdate } from "./host_packages.ts";
import type { KernelPaths } from "./kernel_layout.ts";
import { OUT_OF_TREE_SOURCES } from "./modules.ts";
import { logTail, runTool, shQuote } from "./process.ts";
import type { Progress } from "../progress.ts";

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

/** Downloads the kernel packages of `kv` into `debs`, showing the progress. */
export async function downloadKernel(
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

/**
 * Extracts the downloaded kernel packages in `options.debs` into `p`: the
 * image, headers and kbuild trees (then the relative headers Makefile and
 * the UAPI headers) alongside the module sources from linux-source.
 */
export async function extractKernel(
  kv: KernelVersion,
  p: KernelPaths,
  options: { debs: string; cacheDir: string },
): Promise<void> {
  await Deno.mkdir(p.root, { recursive: true });
  await Deno.mkdir(p.srcDir, { recursive: true });
  const pk = kv.packages;
  const srcJob = runTool(
    [
      "bash",
      "-c",
      sourceExtractScript(
        await debOf(options.debs, pk.source),
        p.srcDir,
        OUT_OF_TREE_SOURCES,
      ),
    ],
    { what: `extract the module sources from ${pk.source}` },
  );
  const debJob = (async () => {
    for (const name of [pk.image, pk.headers, pk.headersCommon, pk.kbuild]) {
      await runTool(
        ["dpkg-deb", "-x", await debOf(options.debs, name), p.root],
        {
          what: `extract ${name}`,
          classify: (out) =>
            /No space left/i.test(out)
              ? new VdevError(
                `sandbox: no disk space left in ${options.cacheDir}: free space or set XDG_CACHE_HOME`,
              )
              : undefined,
        },
      );
    }
    await Deno.writeTextFile(
      `${p.headersDir}/Makefile`,
      headersMakefile(kv.abi),
    );
    // Overlaps the single-threaded source decompression.
    await installUapi(p);
  })();
  await Promise.all([srcJob, debJob]);
}
