/**
 * Persistent mdev definitions in mdevctl's format: one file per device,
 * `/etc/mdevctl.d/PARENT/UUID`, holding `{"mdev_type", "start", "attrs"}`
 * pretty-printed as mdevctl writes it. Files are replaced atomically; parent
 * names that would leave the directory are refused; a malformed or truncated
 * file is reported by name while the good ones are still returned.
 *
 * @module
 */

import {
  atomicWriteFileSync,
  processAlive,
  tempFileWriter,
} from "../atomic_write.ts";
import { errnoCode, messageOf, VdevError } from "../errors.ts";
import { genericError, isPermissionError, notRootError } from "./errors.ts";
import {
  DefinitionError,
  readDefinitionIn,
  readLimitedText,
  readListedDefinition,
} from "./bounded_read.ts";
import { SmallFileDir } from "../small_file.ts";
import { parseMdevUuid } from "./uuid.ts";
import type { SysRoot } from "../root.ts";
import { listDir } from "../sysfs_read.ts";

/** One sysfs attribute of a definition, written in order on start. */
export interface MdevAttr {
  /** Attribute file name under the device's sysfs directory. */
  name: string;
  /** Value written to it. */
  value: string;
}

/** A device definition (the contents of one config file, plus its place). */
export interface MdevDefinition {
  /** Parent name (the directory the file is in). */
  parent: string;
  /** Canonical UUID (the file name). */
  uuid: string;
  /** `mdev_type`. */
  type: string;
  /** `start` is "auto". */
  autostart: boolean;
  /** `attrs`, in order. */
  attrs: MdevAttr[];
}

/** The result of reading many definitions. */
export interface DefinitionScan {
  /** Definitions that parsed, in directory order. */
  definitions: MdevDefinition[];
  /** One line per bad file (malformed, truncated, unreadable). */
  problems: string[];
  /** Parent directory of each bad file (a bad file is still a definition). */
  badParents: Set<string>;
  /** One line per ignored entry (a file name that is not a UUID). */
  warnings: string[];
  /** "PARENT/UUID" of definitions whose file name is not the canonical UUID. */
  nonCanonical: Set<string>;
}

export { DefinitionError };

/** The directory that mdevctl 1.2 keeps its callout scripts in. */
export const SCRIPTS_DIR = "scripts.d";

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Parses the `attrs` array of a definition (or of a --jsonfile): a list of
 * one-field objects with string values. Missing or null means none.
 */
export function parseAttrs(value: unknown): MdevAttr[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new DefinitionError('"attrs" is not an array');
  }
  return value.map((item, i) => {
    if (!isRecord(item)) {
      throw new DefinitionError(`attrs[${i}] is not an object`);
    }
    const keys = Object.keys(item);
    if (keys.length !== 1) {
      throw new DefinitionError(`attrs[${i}] must have exactly one field`);
    }
    const v = item[keys[0]];
    if (typeof v !== "string") {
      throw new DefinitionError(`attrs[${i}].${keys[0]} is not a string`);
    }
    return { name: keys[0], value: v };
  });
}

/**
 * Parses definition JSON text (mdevctl's rules: `mdev_type` and `start`
 * required, `start` other than "auto" means manual, `attrs` optional).
 */
export function parseDefinition(
  text: string,
  place: { parent: string; uuid: string },
): MdevDefinition {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const how = text.trim() === ""
      ? "empty"
      : `not valid JSON (${messageOf(err)})`;
    throw new DefinitionError(how);
  }
  if (!isRecord(json)) throw new DefinitionError("not a JSON object");
  if (json.mdev_type === undefined || json.mdev_type === null) {
    throw new DefinitionError('"mdev_type" is missing');
  }
  if (json.start === undefined || json.start === null) {
    throw new DefinitionError('"start" is missing');
  }
  if (typeof json.mdev_type !== "string") {
    throw new DefinitionError('"mdev_type" is not a string');
  }
  return {
    parent: place.parent,
    uuid: place.uuid,
    type: json.mdev_type,
    autostart: json.start === "auto",
    attrs: parseAttrs(json.attrs),
  };
}

/** The JSON value mdevctl stores for a definition (also `list --dumpjson` of one device). */
export function definitionValue(
  def: Pick<MdevDefinition, "type" | "autostart" | "attrs">,
): Record<string, unknown> {
  return {
    mdev_type: def.type,
    start: def.autostart ? "auto" : "manual",
    attrs: def.attrs.map((a) => ({ [a.name]: a.value })),
  };
}

/** The file contents mdevctl writes for a definition (pretty JSON, no newline). */
export function definitionText(
  def: Pick<MdevDefinition, "type" | "autostart" | "attrs">,
): string {
  return JSON.stringify(definitionValue(def), null, 2);
}

/**
 * Throws unless `parent` can name a directory inside /etc/mdevctl.d: one
 * path component, not "." or "..", not the scripts directory.
 */
export function checkParentName(parent: string): void {
  if (
    parent === "" || parent === "." || parent === ".." ||
    parent.includes("/") || parent.includes("\0") || parent === SCRIPTS_DIR
  ) {
    throw new VdevError(
      `parent name ${
        JSON.stringify(parent)
      } would escape /etc/mdevctl.d or is reserved: give a device name as listed by 'vdevctl mdev types'`,
    );
  }
}

/**
 * Throws unless `parent` and `uuid` can name a definition file: a parent
 * name inside /etc/mdevctl.d ({@linkcode checkParentName}) and a canonical
 * UUID. Commands check this before looking anything up.
 */
export function checkDefinitionPlace(parent: string, uuid: string): void {
  checkParentName(parent);
  if (parseMdevUuid(uuid) !== uuid) {
    throw new VdevError(`${JSON.stringify(uuid)} is not a canonical UUID`);
  }
}

function readDir(path: string): Deno.DirEntry[] | undefined {
  try {
    return [...Deno.readDirSync(path)];
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw storeError(err, path, `reading ${path}`);
  }
}

/** A file-system failure in the store as one line naming the path. */
function storeError(err: unknown, path: string, action: string): VdevError {
  if (err instanceof VdevError) return err;
  return genericError(err, { object: "mdev definitions", path, action });
}

/** True for a temporary file of a writer that is no longer running. */
function staleTemp(name: string): boolean {
  const pid = tempFileWriter(name);
  return pid !== undefined && !processAlive(pid);
}

/** Removes the temporary files of dead writers in `dir` (best effort). */
function removeStaleTemps(dir: string, names: Iterable<string>): void {
  for (const name of names) {
    if (!staleTemp(name)) continue;
    try {
      Deno.removeSync(`${dir}/${name}`);
    } catch {
      // Read-only, or another cleaner was first.
    }
  }
}

/** Directory `dir` opened for reading its files by name, if it can be. */
function openFilesOf(dir: string): SmallFileDir | undefined {
  try {
    return new SmallFileDir(dir);
  } catch {
    return undefined;
  }
}

/** The regular files of `files`'s directory, unless it cannot be listed so. */
function listFilesOf(files: SmallFileDir | undefined): string[] | undefined {
  try {
    return files?.listFiles();
  } catch {
    return undefined; // Deno's listing reports it
  }
}

/** Up to this many files a directory is read with Deno's calls (no dlopen). */
const FEW_FILES = 32;

/** mdevctl's definitions under a root. */
export class ConfigStore {
  /** `/etc/mdevctl.d` under the root. */
  readonly base: string;

  /** Opens the store under `root` (nothing is read yet). */
  constructor(root: SysRoot) {
    this.base = root.path("/etc/mdevctl.d");
  }

  /** The file of a definition; refuses names that would leave the directory. */
  path(parent: string, uuid: string): string {
    checkDefinitionPlace(parent, uuid);
    return `${this.base}/${parent}/${uuid}`;
  }

  /** True when the definition file exists (as mdevctl's `is_defined`). */
  exists(parent: string, uuid: string): boolean {
    try {
      Deno.statSync(this.path(parent, uuid));
      return true;
    } catch {
      return false; // no such file, or a name that cannot be one
    }
  }

  /**
   * Reads one definition if its file exists (one open, no separate stat):
   * undefined when it does not; throws {@linkcode DefinitionError} when it
   * is malformed and Deno's error when it cannot be read.
   */
  readIfExists(parent: string, uuid: string): MdevDefinition | undefined {
    let path: string;
    try {
      path = this.path(parent, uuid);
    } catch {
      return undefined; // a name that cannot be a definition file
    }
    let text: string;
    try {
      text = readLimitedText(path);
    } catch (err) {
      const code = errnoCode(err);
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw err;
    }
    return parseDefinition(text, { parent, uuid });
  }

  /**
   * The entry names of `parent`'s directory, for answering "not defined"
   * without a failed open per device; undefined when it cannot be listed
   * for a reason other than not existing (the caller then reads each file,
   * which reports the error).
   */
  namesIn(parent: string): Set<string> | undefined {
    try {
      checkParentName(parent);
    } catch {
      return new Set(); // a name that cannot be a definitions directory
    }
    try {
      return new Set(
        Array.from(Deno.readDirSync(`${this.base}/${parent}`), (e) => e.name),
      );
    } catch (err) {
      const code = errnoCode(err);
      if (code === "ENOENT" || code === "ENOTDIR") return new Set();
      return undefined;
    }
  }

  /**
   * The file names under each parent directory (of every parent, or of
   * `filter.parent`), both sorted, without reading or checking any file:
   * cheap and never failing, for shell completion. Skips scripts.d and
   * parent names that cannot be a definitions directory.
   */
  entryNames(filter: { parent?: string } = {}): [string, string[]][] {
    const parents = filter.parent !== undefined
      ? [filter.parent]
      : listDir(this.base);
    const out: [string, string[]][] = [];
    for (const parent of parents) {
      try {
        checkParentName(parent);
      } catch {
        continue;
      }
      const names = listDir(`${this.base}/${parent}`);
      out.push([parent, names.filter((n) => tempFileWriter(n) === undefined)]);
    }
    return out;
  }

  /**
   * Reads the definitions matching the filter, the way mdevctl walks the
   * directory: parent directories (not symlinks, not scripts.d), then regular
   * files named by a UUID. Bad files become problems; the rest are returned.
   */
  scan(filter: { uuid?: string; parent?: string } = {}): DefinitionScan {
    const scan: DefinitionScan = {
      definitions: [],
      problems: [],
      badParents: new Set(),
      warnings: [],
      nonCanonical: new Set(),
    };
    // After one big directory (libc opened), the others are listed with
    // getdents64 on the descriptor their files are read through.
    let viaLibc = false;
    for (const pent of readDir(this.base) ?? []) {
      if (pent.name === SCRIPTS_DIR || !pent.isDirectory) continue;
      if (filter.parent !== undefined && filter.parent !== pent.name) continue;
      const pdir = `${this.base}/${pent.name}`;
      let files: SmallFileDir | undefined;
      let names = viaLibc ? listFilesOf(files = openFilesOf(pdir)) : undefined;
      let listed = names !== undefined;
      if (names === undefined) {
        // Deno's listing (the errors of one that cannot be listed are its).
        files?.close();
        files = undefined;
        const children = readDir(pdir);
        if (children === undefined) continue;
        names = [];
        for (const cent of children) if (cent.isFile) names.push(cent.name);
        // Many files: one directory descriptor and libc reads pay for
        // opening libc once; a directory that cannot be opened so is read
        // file by file.
        if (children.length > FEW_FILES) {
          files = openFilesOf(pdir);
          viaLibc ||= files !== undefined;
        }
      }
      const temps: string[] = [];
      try {
        for (let i = 0; i < names.length; i++) {
          const name = names[i];
          if (tempFileWriter(name) !== undefined) {
            temps.push(name); // a writer's, being renamed or left behind
            continue;
          }
          const uuid = parseMdevUuid(name);
          if (uuid === undefined) {
            scan.warnings.push(
              `ignoring ${pdir}/${name}: the file name is not a UUID`,
            );
            continue;
          }
          if (filter.uuid !== undefined && filter.uuid !== uuid) continue;
          if (name !== uuid) scan.nonCanonical.add(`${pent.name}/${uuid}`);
          try {
            const text = files === undefined
              ? readLimitedText(`${pdir}/${name}`)
              : listed
              ? readListedDefinition(files, i)
              : readDefinitionIn(files, name);
            scan.definitions.push(
              parseDefinition(text, { parent: pent.name, uuid }),
            );
          } catch (err) {
            const path = `${pdir}/${name}`;
            if (isPermissionError(err)) throw notRootError(path, err);
            scan.problems.push(problemText(path, err));
            scan.badParents.add(pent.name);
          }
        }
      } finally {
        files?.close();
      }
      if (temps.length > 0) removeStaleTemps(pdir, temps);
    }
    scan.problems.sort();
    return scan;
  }

  /** Writes a definition atomically (creating the parent directory). */
  write(def: MdevDefinition): void {
    const path = this.path(def.parent, def.uuid);
    const dir = `${this.base}/${def.parent}`;
    let created = false;
    try {
      const st = lstatOrUndefined(dir);
      if (st?.isSymlink) {
        throw new VdevError(
          `${dir} is a symlink (mdevctl ignores those): replace it with a directory`,
        );
      }
      if (st === undefined) {
        Deno.mkdirSync(dir, { recursive: true, mode: 0o755 });
        created = true;
      }
      if (!created) {
        removeStaleTemps(dir, listDir(dir));
      }
      atomicWriteFileSync(path, definitionText(def), {
        mode: 0o644,
        keep: true,
      });
    } catch (err) {
      if (created) {
        try {
          Deno.removeSync(dir);
        } catch {
          // Not empty or already gone: leave it.
        }
      }
      if (err instanceof VdevError) throw err;
      throw genericError(err, {
        object: `definition of mdev ${def.uuid} on ${def.parent}`,
        path,
        action: `writing ${path}`,
      });
    }
  }

  /**
   * Runs `fn` holding the store's write lock: flock(2) on the
   * /etc/mdevctl.d directory itself (created if missing), which the kernel
   * releases when the holder exits or is killed. Every read-modify-write of
   * a definition runs under it, so concurrent writers are serialized and
   * none loses another's update.
   */
  locked<T>(fn: () => T): T {
    let dir: Deno.FsFile;
    try {
      Deno.mkdirSync(this.base, { recursive: true, mode: 0o755 });
      dir = Deno.openSync(this.base, { read: true });
    } catch (err) {
      throw storeError(err, this.base, `locking ${this.base}`);
    }
    // Closing the last descriptor releases the lock; an asynchronous `fn`
    // holds it until its promise settles (callers run no callout script
    // under it: lib/mdev/actions.ts).
    let result: T;
    try {
      dir.lockSync(true);
      result = fn();
    } catch (err) {
      dir.close();
      throw err;
    }
    if (result instanceof Promise) {
      return result.finally(() => dir.close()) as T;
    }
    dir.close();
    return result;
  }

  /** Removes a definition file. */
  remove(parent: string, uuid: string): void {
    const path = this.path(parent, uuid);
    try {
      Deno.removeSync(path);
    } catch (err) {
      throw genericError(err, {
        object: `definition of mdev ${uuid} on ${parent}`,
        path,
        action: `removing ${path}`,
      });
    }
  }
}

function lstatOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw err;
  }
}

/** The one-line report of a bad definition file. */
export function problemText(path: string, err: unknown): string {
  const why = err instanceof DefinitionError
    ? err.message
    : `cannot be read (${messageOf(err)})`;
  return `${path}: ${why}: fix or remove this definition file`;
}
