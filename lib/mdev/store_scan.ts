/**
 * Reading the whole store the way mdevctl walks /etc/mdevctl.d: parent
 * directories (not symlinks, not scripts.d), then regular files named by a
 * UUID; bad files become problems, the rest definitions. A big directory is
 * read through one directory descriptor (lib/small_file.ts), and the ones
 * after it are listed with getdents64 on it too. With a cache
 * (./store_cache.ts), a directory whose files all still have the
 * signatures they had when last read is served from it, and one read
 * through a descriptor is recorded in it.
 *
 * @module
 */

import { removeStaleTemps, tempFileWriter } from "../atomic_write.ts";
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
import { SIGNATURE_WORDS, signatureChangedMs } from "../file_signature.ts";
import { SmallFileDir } from "../small_file.ts";
import {
  cachedDefinitions,
  type CachedParent,
  cachedParentOf,
  settled,
  type StoreCache,
} from "./store_cache.ts";
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
  /** How many of the definitions came from the cache, unread. */
  fromCache: number;
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
  place: {
    parent: string;
    uuid?: string;
    viaLibc: boolean;
    cache?: StoreCache;
  },
): boolean {
  const { cache } = place;
  let viaLibc = place.viaLibc;
  let files = viaLibc ? openFilesOf(pdir) : undefined;
  // For the cache: the directory's signature before it is listed.
  let dirSig = cache && files?.signature();
  let names = listFilesOf(files);
  let listed = names !== undefined;
  if (names === undefined) {
    // Deno's listing (the errors of one that cannot be listed are its).
    files?.close();
    files = undefined;
    const children = readDir(pdir);
    if (children === undefined) {
      cache?.record(place.parent, undefined);
      return viaLibc;
    }
    names = [];
    for (const cent of children) if (cent.isFile) names.push(cent.name);
    // Many files: one directory descriptor and libc reads pay for opening
    // libc once (listed again by it: a listing is a few per cent of the
    // reads); a directory that cannot be opened so is read file by file.
    if (children.length > FEW_FILES) {
      files = openFilesOf(pdir);
      viaLibc ||= files !== undefined;
      dirSig = cache && files?.signature();
      const again = listFilesOf(files);
      if (again !== undefined) [names, listed] = [again, true];
    }
  }
  // The files' signatures before they are read: a write after this shows.
  const fileSigs = dirSig && listed ? files?.listedSignatures() : undefined;
  const ps: ParentScan = {
    parent: place.parent,
    pdir,
    names,
    reads: [],
    uuids: [],
  };
  const before = scanCounts(scan);
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
  if (cache !== undefined) {
    const clean = temps.length === 0 && ps.reads.length === names.length &&
      sameCounts(scan, before, names.length);
    cache.record(
      place.parent,
      clean && dirSig && fileSigs
        ? cacheEntry(scan, { dir: dirSig, files: fileSigs, cache })
        : undefined,
    );
  }
  return viaLibc;
}

/** What a scan has gathered so far (to tell what one directory added). */
function scanCounts(scan: DefinitionScan): number[] {
  return [
    scan.definitions.length,
    scan.problems.length,
    scan.warnings.length,
    scan.nonCanonical.size,
  ];
}

/** True when the scan gained `defs` definitions since `before` and nothing else. */
function sameCounts(
  scan: DefinitionScan,
  before: number[],
  defs: number,
): boolean {
  const now = scanCounts(scan);
  return now[0] === before[0] + defs && now[1] === before[1] &&
    now[2] === before[2] && now[3] === before[3];
}

/**
 * The cache entry of the directory just read (its definitions are the last
 * `files.length / SIGNATURE_WORDS` of the scan's), or undefined when it or
 * one of its files changed too recently to be kept.
 */
function cacheEntry(
  scan: DefinitionScan,
  sigs: { dir: number[]; files: number[]; cache: StoreCache },
): CachedParent | undefined {
  const { settledBefore } = sigs.cache;
  if (
    !(signatureChangedMs(sigs.dir, 0) < settledBefore) ||
    !settled(sigs.files, settledBefore)
  ) {
    return undefined;
  }
  const n = sigs.files.length / SIGNATURE_WORDS;
  const defs = scan.definitions.slice(scan.definitions.length - n);
  return cachedParentOf(defs, [...sigs.dir, ...sigs.files]);
}

/**
 * Adds `parent`'s definitions from the cache when its directory and every
 * file in it still have the signatures they had when they were read.
 */
function fromCache(
  scan: DefinitionScan,
  cache: StoreCache,
  place: { parent: string; pdir: string },
): boolean {
  const entry = cache.lookup(place.parent);
  if (entry === undefined) return false;
  const files = openFilesOf(place.pdir);
  if (files === undefined) return false;
  try {
    const dir = files.signature();
    if (dir === undefined || dir.some((w, i) => w !== entry.sigs[i])) {
      return false;
    }
    const at = SIGNATURE_WORDS;
    if (!files.matchSignatures(entry.names, entry.sigs, { at })) return false;
  } finally {
    files.close();
  }
  const defs = cachedDefinitions(place.parent, entry);
  if (defs === undefined) return false;
  for (const def of defs) scan.definitions.push(def);
  scan.fromCache += entry.names.length;
  return true;
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
 * `ConfigStore.scan`); `options.cache` serves and records whole directories
 * (not used with a `uuid` filter: that reads one file).
 */
export function scanStore(
  base: string,
  filter: { uuid?: string; parent?: string } = {},
  options: { cache?: StoreCache } = {},
): DefinitionScan {
  const scan: DefinitionScan = {
    definitions: [],
    problems: [],
    badParents: new Set(),
    warnings: [],
    nonCanonical: new Set(),
    fromCache: 0,
  };
  const cache = filter.uuid === undefined ? options.cache : undefined;
  // After one big directory (libc opened), the others are listed with
  // getdents64 on the descriptor their files are read through; so is every
  // one when the cache holds some (a store that was big).
  let viaLibc = cache?.warm ?? false;
  const seen = new Set<string>();
  for (const pent of readDir(base) ?? []) {
    if (pent.name === SCRIPTS_DIR || !pent.isDirectory) continue;
    if (filter.parent !== undefined && filter.parent !== pent.name) continue;
    const place = { parent: pent.name, pdir: `${base}/${pent.name}` };
    seen.add(pent.name);
    if (cache !== undefined && fromCache(scan, cache, place)) continue;
    viaLibc = scanParent(scan, place.pdir, {
      parent: pent.name,
      uuid: filter.uuid,
      viaLibc,
      cache,
    });
  }
  if (filter.parent === undefined) cache?.keepOnly(seen);
  scan.problems.sort();
  return scan;
}
