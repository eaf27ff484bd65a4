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
  removeStaleTemps,
  tempFileWriter,
} from "../atomic_write.ts";
import { errnoCode, VdevError } from "../errors.ts";
import { genericError } from "./errors.ts";
import { DefinitionError, readLimitedText } from "./bounded_read.ts";
import {
  definitionText,
  type MdevDefinition,
  parseDefinition,
} from "./definition.ts";
import {
  type DefinitionScan,
  scanStore,
  SCRIPTS_DIR,
  storeError,
} from "./store_scan.ts";
import { parseMdevUuid } from "./uuid.ts";
import { StoreCache } from "./store_cache.ts";
import type { SysRoot } from "../root.ts";
import { listDir } from "../sysfs_read.ts";

export {
  definitionText,
  definitionValue,
  type MdevAttr,
  type MdevDefinition,
  parseAttrs,
  parseDefinition,
  problemText,
} from "./definition.ts";
export { type DefinitionScan, SCRIPTS_DIR } from "./store_scan.ts";

export { DefinitionError };

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

/** mdevctl's definitions under a root. */
export class ConfigStore {
  /** `/etc/mdevctl.d` under the root. */
  readonly base: string;
  readonly #root: SysRoot;

  /** Opens the store under `root` (nothing is read yet). */
  constructor(root: SysRoot) {
    this.base = root.path("/etc/mdevctl.d");
    this.#root = root;
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
    // Whole directories come from the cache when none of their files
    // changed since they were read (lib/mdev/store_cache.ts).
    const cache = filter.uuid === undefined
      ? StoreCache.open(this.#root, this.base)
      : undefined;
    const scan = scanStore(this.base, filter, { cache });
    cache?.save();
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
