/**
 * Install and uninstall: a self-contained copy of vdevctl (program, Deno
 * runtime, npm dependencies) under PREFIX/lib/vdevctl, the command in
 * PREFIX/bin, completions, man pages, udev rules and systemd units, and a
 * manifest of all of it. One install at a time (a lock on the prefix); a
 * failed install is undone; uninstall removes what the manifest lists.
 *
 * @module
 */

import { errnoCode, messageOf, VdevError } from "../errors.ts";
import {
  checkDir,
  denoBinary,
  type InstallLayout,
  installLayout,
  PERSONALITY_NAMES,
  programFiles,
} from "./layout.ts";
import { FAST_ENTRIES, fastEntryBundle } from "./bundle.ts";
import {
  type Manifest,
  MANIFEST_NAME,
  manifestText,
  parseManifest,
} from "./manifest.ts";
import type { ManPage } from "./manpage.ts";
import { MDEV_RULE_NAME, mdevctlRules, mdevRule } from "./udev.ts";
import { InstallWriter, lstatOrNone, sha256Hex } from "./writer.ts";

/** Options of {@linkcode install}. */
export interface InstallOptions {
  /** The checkout to install from (after `npm ci`). */
  source: string;
  /** Installation prefix (default `/usr/local`). */
  prefix?: string;
  /** Staging root prepended to every path (default: none). */
  destdir?: string;
  /** Also install the `mdevctl`, `lsmdev` and `vdpa` names. */
  personalities?: boolean;
  /** Replace files that are not vdevctl's (kept; uninstall restores them). */
  force?: boolean;
  /** The man pages to install (from the command tree). */
  manPages: ManPage[];
  /** vdevctl's version. */
  version: string;
  /** Progress and notes, one line each. */
  log?: (line: string) => void;
}

/** Options of {@linkcode uninstall}. */
export interface UninstallOptions {
  prefix?: string;
  destdir?: string;
  log?: (line: string) => void;
}

/** What an install did. */
export interface InstallResult {
  layout: InstallLayout;
  manifest: Manifest;
  /** mdevctl rules found (vdevctl's mdev rule was then not installed). */
  mdevctlRules: string[];
}

const SHELL_TARGETS = [
  ["bash", "bashCompletion"],
  ["zsh", "zshCompletion"],
  ["fish", "fishCompletion"],
] as const;

/** Unit files of the provisioning family that `dist/systemd/` may hold. */
const UNIT_SUFFIXES = [".service", ".socket", ".timer", ".path", ".target"];

const encoder = new TextEncoder();

/** Substitutes `@prefix@`, `@bindir@` and `@libdir@` in a dist/ file. */
function substitute(text: string, layout: InstallLayout): string {
  // dist/ files name /usr/bin/vdevctl (what a --prefix /usr install gives,
  // and what systemd-analyze verifies); any other prefix has its own.
  return text.replaceAll("/usr/bin/vdevctl", `${layout.bindir}/vdevctl`)
    .replaceAll("@prefix@", layout.prefix)
    .replaceAll("@bindir@", layout.bindir)
    .replaceAll("@libdir@", layout.libdir);
}

/** The launcher, relative to the checkout and to the copy. */
const LAUNCHER = "vdevctl";

/**
 * The copy's launcher: the checkout's, with the copy's folder in place of
 * `@libdir@`, so that PREFIX/bin/vdevctl (a symlink) resolves without a
 * readlink(1) fork; a copy run from elsewhere (a DESTDIR) still resolves
 * by readlink.
 */
function launcherText(source: string, layout: InstallLayout): string {
  const text = Deno.readTextFileSync(`${source}/${LAUNCHER}`);
  if (!text.includes('"@libdir@/vdevctl" -ef')) {
    throw new VdevError(
      `${source}/${LAUNCHER} does not resolve its installed folder: restore it from git`,
    );
  }
  return text.replaceAll("@libdir@", layout.libdir);
}

/** The files of `dir` whose names end with one of `suffixes`, sorted. */
function distFiles(dir: string, suffixes: readonly string[]): string[] {
  try {
    return [...Deno.readDirSync(dir)]
      .filter((e) => e.isFile && suffixes.some((s) => e.name.endsWith(s)))
      .map((e) => e.name).sort();
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || err instanceof Deno.errors.NotFound) {
      return [];
    }
    throw err;
  }
}

/**
 * Holds the install lock while `fn` runs: a lock on the prefix folder (under
 * DESTDIR), or on its nearest existing parent (creating nothing).
 */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  let at = dir;
  while (at !== "/" && !lstatOrNone(at)?.isDirectory) {
    at = at.slice(0, at.lastIndexOf("/")) || "/";
  }
  const file = Deno.openSync(at, { read: true });
  try {
    file.lockSync(true);
    return await fn();
  } finally {
    file.close();
  }
}

function readManifest(path: string): Manifest | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || err instanceof Deno.errors.NotFound) {
      return undefined;
    }
    throw err;
  }
  return parseManifest(text, path);
}

/** Runs the installed program to print a completion script. */
async function completionScript(
  launcher: string,
  shell: string,
  destdir: string,
): Promise<string> {
  const out = await new Deno.Command(launcher, {
    args: ["completion", shell],
    cwd: "/",
    env: { VDEVCTL_ROOT: "/" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new VdevError(
      `the installed program failed to print its ${shell} completion: ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
  const text = new TextDecoder().decode(out.stdout);
  // The script names the program it came from: the target, not DESTDIR.
  return destdir === "" ? text : text.replaceAll(destdir, "");
}

/** Installs vdevctl; see the module documentation. */
export async function install(options: InstallOptions): Promise<InstallResult> {
  const destdir = options.destdir ? checkDir(options.destdir, "--destdir") : "";
  const layout = installLayout(options.prefix ?? "/usr/local");
  const log = options.log ?? (() => {});
  const source = options.source;
  const files = programFiles(source);
  const deno = denoBinary(source);
  // Before anything is written: a failure here leaves nothing to undo.
  const bundles: [string, Uint8Array][] = [];
  for (const { entry, bundle } of FAST_ENTRIES) {
    bundles.push([bundle, await fastEntryBundle(source, entry)]);
  }
  const manifestPath = `${layout.libdir}/${MANIFEST_NAME}`;
  // DESTDIR is a staging root: made, never recorded (nor removed).
  if (destdir !== "") Deno.mkdirSync(destdir, { recursive: true });
  return await withLock(`${destdir}${layout.prefix}`, async () => {
    const previous = readManifest(`${destdir}${manifestPath}`);
    const owned = new Set((previous?.entries ?? []).map((e) => e.path));
    owned.add(manifestPath);
    const w = new InstallWriter({
      destdir,
      owned,
      force: options.force ?? false,
      staging: `${
        layout.prefix === "/" ? "" : layout.prefix
      }/lib/.vdevctl-install-${Deno.pid}`,
    });
    let rules: string[] = [];
    try {
      log(
        `installing ${files.length} program files into ${destdir}${layout.libdir}`,
      );
      for (const f of files) {
        if (f.rel === LAUNCHER) continue;
        await w.copyFile(
          `${source}/${f.rel}`,
          `${layout.libdir}/${f.rel}`,
          f.mode,
        );
      }
      await w.writeFile(
        `${layout.libdir}/${LAUNCHER}`,
        encoder.encode(launcherText(source, layout)),
        0o755,
      );
      for (const [rel, bytes] of bundles) {
        await w.writeFile(`${layout.libdir}/${rel}`, bytes, 0o644);
      }
      await w.copyFile(deno, `${layout.libdir}/node_modules/deno/deno`, 0o755);
      w.symlink("../deno/deno", `${layout.libdir}/node_modules/.bin/deno`);
      const launcher = `${layout.libdir}/vdevctl`;
      w.symlink("../lib/vdevctl/vdevctl", `${layout.bindir}/vdevctl`);
      if (options.personalities) {
        for (const name of PERSONALITY_NAMES) {
          w.symlink("../lib/vdevctl/vdevctl", `${layout.bindir}/${name}`);
        }
      }
      for (const [shell, key] of SHELL_TARGETS) {
        const text = await completionScript(w.real(launcher), shell, destdir);
        await w.writeFile(layout[key], encoder.encode(text), 0o644);
      }
      for (const page of options.manPages) {
        await w.writeFile(
          `${layout.mandir}/man${page.section}/${page.name}.${page.section}`,
          encoder.encode(page.text),
          0o644,
        );
      }
      rules = mdevctlRules(destdir);
      if (rules.length === 0) {
        await w.writeFile(
          `${layout.udevRulesDir}/${MDEV_RULE_NAME}`,
          encoder.encode(mdevRule(layout.bindir)),
          0o644,
        );
      } else {
        log(
          `not installing ${MDEV_RULE_NAME}: mdevctl's rule ${
            rules.join(", ")
          } starts the persistent mdevs`,
        );
      }
      for (
        const [dir, target, suffixes] of [
          ["dist/udev", layout.udevRulesDir, [".rules"]],
          ["dist/systemd", layout.systemdUnitDir, UNIT_SUFFIXES],
        ] as const
      ) {
        for (const name of distFiles(`${source}/${dir}`, suffixes)) {
          const text = Deno.readTextFileSync(`${source}/${dir}/${name}`);
          await w.writeFile(
            `${target}/${name}`,
            encoder.encode(substitute(text, layout)),
            0o644,
          );
        }
      }
      w.commit(`${layout.libdir}/saved`);
      // What an earlier install wrote that this one did not: remove it, and
      // put back what that install had replaced.
      const now = new Set(w.entries.map((e) => e.path));
      for (const old of previous?.entries ?? []) {
        const entry = w.entries.find((e) => e.path === old.path);
        if (entry && old.saved) entry.saved = old.saved;
      }
      const stale = (previous?.entries ?? []).filter((e) => !now.has(e.path));
      await removeEntries(stale.filter((e) => e.type !== "dir"), destdir, log);
      // Folders an earlier install made stay ours (removed when empty).
      w.entries.unshift(...stale.filter((e) => e.type === "dir"));
    } catch (err) {
      const problems = w.rollback();
      for (const p of problems) log(p);
      if (err instanceof VdevError) throw err;
      throw new VdevError(`install failed and was undone: ${messageOf(err)}`, {
        cause: err,
      });
    }
    const manifest: Manifest = {
      format: 1,
      version: options.version,
      prefix: layout.prefix,
      entries: w.entries,
    };
    const real = `${destdir}${manifestPath}`;
    Deno.writeTextFileSync(`${real}.tmp`, manifestText(manifest), {
      mode: 0o644,
    });
    Deno.renameSync(`${real}.tmp`, real);
    return { layout, manifest, mdevctlRules: rules };
  });
}

/**
 * Removes `entries` (reverse order): files still as written, symlinks still
 * pointing where they did, then folders left empty; puts saved files back.
 */
async function removeEntries(
  entries: readonly Manifest["entries"][number][],
  destdir: string,
  log: (line: string) => void,
): Promise<void> {
  for (const e of [...entries].reverse()) {
    if (e.type === "dir") continue;
    const real = `${destdir}${e.path}`;
    const info = lstatOrNone(real);
    if (!info) {
      log(`already gone: ${real}`);
    } else if (e.type === "symlink") {
      if (info.isSymlink && Deno.readLinkSync(real) === e.target) {
        Deno.removeSync(real);
      } else log(`kept ${real}: changed since the install`);
    } else if (
      info.isFile && (await sha256Hex(Deno.readFileSync(real))) === e.sha256
    ) {
      Deno.removeSync(real);
    } else {
      log(`kept ${real}: changed since the install`);
      continue;
    }
    if (e.saved && !lstatOrNone(real)) {
      Deno.renameSync(`${destdir}${e.saved}`, real);
      log(`restored ${real}`);
    }
  }
  const dirs = entries.filter((e) => e.type === "dir")
    .sort((a, b) => b.path.length - a.path.length);
  for (const d of dirs) {
    try {
      Deno.removeSync(`${destdir}${d.path}`);
    } catch {
      // Not empty (someone else's files) or already gone: leave it.
    }
  }
}

/** Uninstalls what the manifest of the install at `prefix` lists. */
export async function uninstall(
  options: UninstallOptions = {},
): Promise<Manifest> {
  const destdir = options.destdir ? checkDir(options.destdir, "--destdir") : "";
  const layout = installLayout(options.prefix ?? "/usr/local");
  const log = options.log ?? (() => {});
  const manifestPath = `${destdir}${layout.libdir}/${MANIFEST_NAME}`;
  if (!lstatOrNone(`${destdir}${layout.prefix}`)) {
    throw new VdevError(
      `no vdevctl install under ${destdir}${layout.prefix}: nothing to uninstall`,
    );
  }
  return await withLock(`${destdir}${layout.prefix}`, async () => {
    const manifest = readManifest(manifestPath);
    if (!manifest) {
      throw new VdevError(
        `no vdevctl install under ${destdir}${layout.prefix} (no ${manifestPath}): give the --prefix and --destdir of the install`,
      );
    }
    Deno.removeSync(manifestPath);
    await removeEntries(manifest.entries, destdir, log);
    for (const d of [`${layout.libdir}/saved`, layout.libdir]) {
      try {
        Deno.removeSync(`${destdir}${d}`);
      } catch {
        // Not empty or gone.
      }
    }
    return manifest;
  });
}
