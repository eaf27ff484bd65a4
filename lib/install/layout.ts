/**
 * Where an install puts things (paths on the target system, DESTDIR not
 * included), and which files of a checkout make the self-contained copy.
 *
 * @module
 */

import { FAST_ENTRIES } from "./bundle.ts";
import { VdevError } from "../errors.ts";

/** The install's folders and files on the target system. */
export interface InstallLayout {
  prefix: string;
  /** The self-contained copy: program, runtime, npm dependencies. */
  libdir: string;
  bindir: string;
  /** Holds man1/ and man8/. */
  mandir: string;
  bashCompletion: string;
  zshCompletion: string;
  fishCompletion: string;
  udevRulesDir: string;
  systemdUnitDir: string;
}

/** Checks a `--prefix`/`--destdir` value: absolute, no `..`, no trailing `/`. */
export function checkDir(value: string, option: string): string {
  if (!value.startsWith("/") || value.split("/").includes("..")) {
    throw new VdevError(
      `${option} '${value}': give an absolute path without '..'`,
      { exitCode: 2 },
    );
  }
  if (/[\s"'\\$`]/.test(value)) {
    throw new VdevError(
      `${option} '${value}': no spaces, quotes, '$', '\\' or backquotes (the path goes into udev rules and shell scripts)`,
      { exitCode: 2 },
    );
  }
  return value.replace(/\/+$/, "").replace(/\/+/g, "/");
}

/**
 * The layout for `prefix`. With prefix `/usr` (a distribution's package)
 * udev rules and units go under `/usr/lib`, zsh functions to Debian's
 * vendor-completions; with any other prefix udev and systemd read only
 * `/etc`, so they go there.
 */
export function installLayout(prefix: string): InstallLayout {
  const p = checkDir(prefix, "--prefix");
  const system = p === "/usr";
  const root = p === "" ? "" : p;
  return {
    prefix: p === "" ? "/" : p,
    libdir: `${root}/lib/vdevctl`,
    bindir: `${root}/bin`,
    mandir: `${root}/share/man`,
    bashCompletion: `${root}/share/bash-completion/completions/vdevctl`,
    zshCompletion: system
      ? `${root}/share/zsh/vendor-completions/_vdevctl`
      : `${root}/share/zsh/site-functions/_vdevctl`,
    fishCompletion: `${root}/share/fish/vendor_completions.d/vdevctl.fish`,
    udevRulesDir: system ? "/usr/lib/udev/rules.d" : "/etc/udev/rules.d",
    systemdUnitDir: system ? "/usr/lib/systemd/system" : "/etc/systemd/system",
  };
}

/** The names under which the program is also installed with `--personalities`. */
export const PERSONALITY_NAMES = ["mdevctl", "lsmdev", "vdpa"] as const;

/** One file of the self-contained copy. */
export interface ProgramFile {
  /** Path relative to the checkout (and to the installed copy). */
  rel: string;
  /** File mode. */
  mode: number;
}

/** The program's own folders and top-level files in a checkout. */
const PROGRAM_DIRS = ["commands", "lib"];
const PROGRAM_TOP = ["main.ts", "deno.json", "package.json"];

function walk(root: string, rel: string, out: ProgramFile[]): void {
  const names = [...Deno.readDirSync(`${root}/${rel}`)]
    .filter((e) => !e.name.startsWith("."))
    .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const e of names) {
    const r = `${rel}/${e.name}`;
    if (e.isDirectory) walk(root, r, out);
    else if (e.isFile) {
      const mode = Deno.statSync(`${root}/${r}`).mode ?? 0o644;
      out.push({ rel: r, mode: mode & 0o111 ? 0o755 : 0o644 });
    }
  }
}

/** `package.json`'s `dependencies` (names) of the package in `dir`. */
function dependencies(dir: string): string[] {
  let pkg: { dependencies?: Record<string, string> };
  try {
    pkg = JSON.parse(Deno.readTextFileSync(`${dir}/package.json`));
  } catch {
    throw new VdevError(
      `${dir}/package.json is missing or broken: run 'npm ci' in the checkout first`,
    );
  }
  return Object.keys(pkg.dependencies ?? {}).sort();
}

/**
 * The files of the self-contained copy, from the checkout at `source`: the
 * program, the launcher, and every npm package the program needs at run
 * time (package.json's `dependencies`, with theirs), but the `deno` package
 * only as its binary.
 */
export function programFiles(source: string): ProgramFile[] {
  const out: ProgramFile[] = [];
  for (const f of PROGRAM_TOP) out.push({ rel: f, mode: 0o644 });
  out.push({ rel: "vdevctl", mode: 0o755 });
  for (const d of PROGRAM_DIRS) walk(source, d, out);
  // The bundles are made for the copy (lib/install/bundle.ts), never copied.
  const bundles = new Set(FAST_ENTRIES.map((e) => e.bundle));
  for (let i = out.length - 1; i >= 0; i--) {
    if (bundles.has(out[i].rel)) out.splice(i, 1);
  }
  const seen = new Set<string>();
  const queue = dependencies(source);
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name) || name === "deno") continue;
    seen.add(name);
    const dir = `node_modules/${name}`;
    try {
      Deno.statSync(`${source}/${dir}`);
    } catch {
      throw new VdevError(
        `npm package ${name} is not installed in ${source}: run 'npm ci' there first`,
      );
    }
    walk(source, dir, out);
    queue.push(...dependencies(`${source}/${dir}`));
  }
  return out;
}

/** The Deno binary of the checkout (what `node_modules/.bin/deno` runs). */
export function denoBinary(source: string): string {
  const path = `${source}/node_modules/deno/deno`;
  try {
    const real = Deno.realPathSync(path);
    if (Deno.statSync(real).isFile) return real;
  } catch {
    // Reported below.
  }
  throw new VdevError(
    `no Deno runtime at ${path}: run 'npm ci' in ${source} first`,
  );
}
