/**
 * Writes an install under DESTDIR and remembers every step, so that a
 * failed install is undone and a finished one leaves a manifest. Whatever was
 * at a target before is moved into a staging folder first: put back on
 * failure, dropped on success when an earlier install wrote it, kept (and
 * restored by uninstall) when it belonged to someone else and `--force` said
 * to replace it.
 *
 * @module
 */

import { errnoCode, messageOf, VdevError } from "../errors.ts";
import type { ManifestEntry } from "./manifest.ts";

/** SHA-256 of `bytes`, in hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const buf = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** `lstat`, or undefined when nothing is there. */
export function lstatOrNone(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || err instanceof Deno.errors.NotFound) {
      return undefined;
    }
    throw err;
  }
}

/** Something that was at a target before this install. */
interface Staged {
  path: string;
  staged: string;
  /** Written by an earlier vdevctl install (else someone else's). */
  ours: boolean;
}

/** Options of {@linkcode InstallWriter}. */
export interface InstallWriterOptions {
  /** Prepended to every target path ("" for the live system). */
  destdir: string;
  /** Paths an earlier install wrote (replaced without `--force`). */
  owned: ReadonlySet<string>;
  /** Replace other programs' files (they are kept and restored by uninstall). */
  force: boolean;
  /** Folder (under DESTDIR) for what is moved aside during the install. */
  staging: string;
}

/** Writes files, symlinks and folders, recording each. */
export class InstallWriter {
  readonly entries: ManifestEntry[] = [];
  readonly #opts: InstallWriterOptions;
  readonly #staged: Staged[] = [];
  #stageCount = 0;

  /** A writer for one install. */
  constructor(options: InstallWriterOptions) {
    this.#opts = options;
  }

  /** The real path of `path` (a target path) under DESTDIR. */
  real(path: string): string {
    return `${this.#opts.destdir}${path}`;
  }

  /** Creates `dir` and its missing parents, recording the ones it made. */
  mkdirs(dir: string): void {
    const parts = dir.split("/").filter((p) => p !== "");
    let cur = "";
    for (const p of parts) {
      cur += `/${p}`;
      const info = lstatOrNone(this.real(cur));
      if (info?.isDirectory) continue;
      if (info?.isSymlink) {
        const target = Deno.statSync(this.real(cur));
        if (target.isDirectory) continue;
      }
      if (info) {
        throw new VdevError(
          `${this.real(cur)} is not a folder: move it away and install again`,
        );
      }
      Deno.mkdirSync(this.real(cur), { mode: 0o755 });
      Deno.chmodSync(this.real(cur), 0o755);
      this.entries.push({ path: cur, type: "dir" });
    }
  }

  /** Writes a file of `bytes` with `mode` (atomically: temp file, rename). */
  async writeFile(
    path: string,
    bytes: Uint8Array,
    mode: number,
  ): Promise<void> {
    this.#prepare(path);
    const real = this.real(path);
    const tmp = `${real}.vdevctl-new`;
    Deno.writeFileSync(tmp, bytes, { mode });
    Deno.chmodSync(tmp, mode);
    Deno.renameSync(tmp, real);
    this.entries.push({ path, type: "file", sha256: await sha256Hex(bytes) });
  }

  /** Copies the file `src` (on this system) to `path`. */
  async copyFile(src: string, path: string, mode: number): Promise<void> {
    await this.writeFile(path, Deno.readFileSync(src), mode);
  }

  /** Makes `path` a symlink to `target`. */
  symlink(target: string, path: string): void {
    this.#prepare(path);
    Deno.symlinkSync(target, this.real(path));
    this.entries.push({ path, type: "symlink", target });
  }

  /** Moves whatever is at `path` aside, refusing someone else's without force. */
  #prepare(path: string): void {
    const dir = path.slice(0, path.lastIndexOf("/")) || "/";
    this.mkdirs(dir);
    const real = this.real(path);
    const info = lstatOrNone(real);
    if (!info) return;
    const ours = this.#opts.owned.has(path);
    if (info.isDirectory) {
      throw new VdevError(
        `${real} is a folder: move it away and install again`,
      );
    }
    if (!ours && !this.#opts.force) {
      throw new VdevError(
        `${real} exists and is not vdevctl's: install with --force to replace it (uninstall puts it back)`,
      );
    }
    Deno.mkdirSync(this.real(this.#opts.staging), { recursive: true });
    const staged = `${this.#opts.staging}/${this.#stageCount++}`;
    Deno.renameSync(real, this.real(staged));
    this.#staged.push({ path, staged, ours });
  }

  /** Undoes everything written so far and puts back what was moved aside. */
  rollback(): string[] {
    const problems: string[] = [];
    for (const e of [...this.entries].reverse()) {
      try {
        if (e.type === "dir") Deno.removeSync(this.real(e.path));
        else Deno.removeSync(this.real(e.path));
      } catch (err) {
        problems.push(
          `could not remove ${this.real(e.path)}: ${messageOf(err)}`,
        );
      }
    }
    for (const s of [...this.#staged].reverse()) {
      try {
        Deno.renameSync(this.real(s.staged), this.real(s.path));
      } catch (err) {
        problems.push(
          `could not put back ${this.real(s.path)} from ${
            this.real(s.staged)
          }: ${messageOf(err)}`,
        );
      }
    }
    this.#removeStaging();
    return problems;
  }

  /**
   * Finishes: drops what earlier installs wrote, moves other programs'
   * files into `saveDir` and records where in the entries.
   */
  commit(saveDir: string): void {
    let n = 0;
    for (const s of this.#staged) {
      if (s.ours) {
        Deno.removeSync(this.real(s.staged));
        continue;
      }
      this.mkdirs(saveDir);
      const saved = `${saveDir}/${n++}-${s.path.split("/").pop()}`;
      Deno.renameSync(this.real(s.staged), this.real(saved));
      const entry = this.entries.find((e) => e.path === s.path);
      if (entry) entry.saved = saved;
    }
    this.#removeStaging();
  }

  #removeStaging(): void {
    try {
      Deno.removeSync(this.real(this.#opts.staging), { recursive: true });
    } catch {
      // Nothing was staged.
    }
  }
}
