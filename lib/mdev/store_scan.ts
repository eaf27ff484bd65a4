/**
 * Reading the whole store the way mdevctl walks /etc/mdevctl.d: parent
 * directories (not symlinks, not scripts.d), then regular files named by a
 * UUID; bad files become problems, the rest definitions. A big directory is
 * read through one directory descriptor (lib/small_file.ts), and the ones
 * after it are listed with getdents64 on it too.
 *
 * @module
 */

import { processAlive, tempFileWriter } from "../atomic_write.ts";
import { errnoCode, VdevError } from "../errors.ts";
import { genericError, isPermissionError, notRootError } from "./errors.ts";
import {
  readDefinitionIn,
  readLimitedText,
  readListedDefinitions,
} from "./bounded_read.ts";
import {
  type MdevDefinition,
  parseDefinition,
  problemText,
} from "./definition.ts";
import { SmallFileDir } from "../small_file.ts";
import { parseMdevUuid } from "./uuid.ts";

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

/** The directory that mdevctl 1.2 keeps its callout scripts in. */
export const SCRIPTS_DIR = "scripts.d";

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
export function storeError(
  err: unknown,
  path: string,
  action: string,
): VdevError {
  if (err instanceof VdevError) return err;
  return genericError(err, { object: "mdev definitions", path, action });
}

/** True for a temporary file of a writer that is no longer running. */
function staleTemp(name: string): boolean {
  const pid = tempFileWriter(name);
  return pid !== undefined && !processAlive(pid);
}

/** Removes the temporary files of dead writers in `dir` (best effort). */
export function removeStaleTemps(dir: string, names: Iterable<string>): void {
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

/** A store directory being scanned: its files and those to read. */
interface ParentScan {
  /** The parent's name and directory. */
  parent: string;
  pdir: string;
  /** The regular files' names. */
  names: string[];
  /** The files to read (positions in `names`) and their UUIDs. */
  reads: number[];
  uuids: string[];
}

/**
 * Scans one parent directory into `scan` (listed with getdents64 when
 * `place.viaLibc`, else by Deno); returns whether the next ones should be.
 * Each step is a function of its own: V8 optimizes small loops cheaply
 * (one loop over everything took 28 ms to compile on a worker thread).
 */
function scanParent(
  scan: DefinitionScan,
  pdir: string,
  place: { parent: string; uuid?: string; viaLibc: boolean },
): boolean {
  let viaLibc = place.viaLibc;
  let files = viaLibc ? openFilesOf(pdir) : undefined;
  let names = listFilesOf(files);
  let listed = names !== undefined;
  if (names === undefined) {
    // Deno's listing (the errors of one that cannot be listed are its).
    files?.close();
    files = undefined;
    const children = readDir(pdir);
    if (children === undefined) return viaLibc;
    names = [];
    for (const cent of children) if (cent.isFile) names.push(cent.name);
    // Many files: one directory descriptor and libc reads pay for opening
    // libc once (listed again by it: a listing is a few per cent of the
    // reads); a directory that cannot be opened so is read file by file.
    if (children.length > FEW_FILES) {
      files = openFilesOf(pdir);
      viaLibc ||= files !== undefined;
      const again = listFilesOf(files);
      if (again !== undefined) [names, listed] = [again, true];
    }
  }
  const ps: ParentScan = {
    parent: place.parent,
    pdir,
    names,
    reads: [],
    uuids: [],
  };
  const temps = pickFiles(scan, ps, place.uuid);
  const take = (k: number, text: string | Error) =>
    takeDefinition(scan, ps, k, text);
  try {
    if (files !== undefined && listed) {
      readListedDefinitions(files, ps.reads, take);
    } else {
      for (let k = 0; k < ps.reads.length; k++) {
        take(k, readOne(files, pdir, names[ps.reads[k]]));
      }
    }
  } finally {
    files?.close();
  }
  if (temps.length > 0) removeStaleTemps(pdir, temps);
  return viaLibc;
}

/**
 * Chooses the files of `ps` to read (named by a UUID, matching `uuid` if
 * given) into `ps.reads`; warns about the others; returns the temporary
 * files of writers.
 */
function pickFiles(
  scan: DefinitionScan,
  ps: ParentScan,
  uuid?: string,
): string[] {
  const temps: string[] = [];
  for (let i = 0; i < ps.names.length; i++) {
    const name = ps.names[i];
    if (tempFileWriter(name) !== undefined) {
      temps.push(name); // a writer's, being renamed or left behind
      continue;
    }
    const id = parseMdevUuid(name);
    if (id === undefined) {
      scan.warnings.push(
        `ignoring ${ps.pdir}/${name}: the file name is not a UUID`,
      );
      continue;
    }
    if (uuid !== undefined && uuid !== id) continue;
    if (name !== id) scan.nonCanonical.add(`${ps.parent}/${id}`);
    ps.reads.push(i);
    ps.uuids.push(id);
  }
  return temps;
}

/** The text of definition `name` in `pdir`, or why it cannot be read. */
function readOne(
  files: SmallFileDir | undefined,
  pdir: string,
  name: string,
): string | Error {
  try {
    return files === undefined
      ? readLimitedText(`${pdir}/${name}`)
      : readDefinitionIn(files, name);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** Parses the `k`th file read into `scan` (a definition or a problem). */
function takeDefinition(
  scan: DefinitionScan,
  ps: ParentScan,
  k: number,
  text: string | Error,
): void {
  try {
    if (typeof text !== "string") throw text;
    scan.definitions.push(
      parseDefinition(text, { parent: ps.parent, uuid: ps.uuids[k] }),
    );
  } catch (err) {
    const path = `${ps.pdir}/${ps.names[ps.reads[k]]}`;
    if (isPermissionError(err)) throw notRootError(path, err);
    scan.problems.push(problemText(path, err));
    scan.badParents.add(ps.parent);
  }
}

/**
 * Reads the definitions under `base` matching the filter (see
 * `ConfigStore.scan`).
 */
export function scanStore(
  base: string,
  filter: { uuid?: string; parent?: string } = {},
): DefinitionScan {
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
  for (const pent of readDir(base) ?? []) {
    if (pent.name === SCRIPTS_DIR || !pent.isDirectory) continue;
    if (filter.parent !== undefined && filter.parent !== pent.name) continue;
    viaLibc = scanParent(scan, `${base}/${pent.name}`, {
      parent: pent.name,
      uuid: filter.uuid,
      viaLibc,
    });
  }
  scan.problems.sort();
  return scan;
}
