/**
 * Tolerant reads of sysfs and procfs: an attribute's text or a directory's
 * entries, with "absent" (undefined, or no entries) instead of an error,
 * for code that describes what is there rather than requiring it; and
 * bounded reads for code on a hot path (lib/mdev's sysfs, on every
 * listing): attributes read only as regular files and at most
 * {@linkcode ATTR_LIMIT} bytes, big directories listed through getdents64
 * once libc is open.
 *
 * @module
 */

import { libcOpen, readBounded, SmallFileDir } from "./small_file.ts";

/** The text of `path`, trimmed, or undefined when it cannot be read. */
export function readAttr(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}

/** The entry names of directory `dir`, sorted; none when it cannot be read. */
export function listDir(dir: string): string[] {
  return dirNames(dir).sort();
}

/** True when `path` exists (a dangling symlink counts). */
export function pathExists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

const decoder = new TextDecoder();

/** The most a sysfs attribute is read (the kernel's are one page, 4 KiB). */
export const ATTR_LIMIT = 64 << 10;

/**
 * The first `max` bytes of file `path` (all of it when shorter): a read
 * that a file without end (/dev/zero, a huge file) cannot grow past `max`.
 * `regular`: the caller knows `path` is a regular file (or a sysfs
 * attribute), where a read shorter than asked is the end (which saves the
 * read that would return 0); not so for a pipe.
 */
export function readAtMost(
  path: string,
  max: number,
  options: { regular?: boolean } = {},
): Uint8Array {
  const file = Deno.openSync(path, { read: true });
  try {
    return readBounded((into) => file.readSync(into) ?? 0, {
      max,
      shortEnds: options.regular,
    }).slice();
  } finally {
    file.close();
  }
}

/**
 * Reads a sysfs attribute, trimmed: only a regular file (checked before the
 * open, so that a FIFO cannot block it; `regular`: the caller's directory
 * listing said so, no stat needed) and at most {@linkcode ATTR_LIMIT} bytes
 * (so that /dev/zero cannot grow it without bound).
 */
export function readText(path: string, regular = false): string {
  if (!regular && !Deno.statSync(path).isFile) {
    throw new Error(`${path}: not a regular file`);
  }
  const bytes = readAtMost(path, ATTR_LIMIT + 1, { regular: true });
  if (bytes.length > ATTR_LIMIT) {
    throw new Error(`${path}: larger than ${ATTR_LIMIT} bytes`);
  }
  return decoder.decode(bytes).trim();
}

/** The last component of `path`. */
export function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Entry names of directory `path` in directory order; [] when it cannot be read. */
export function dirNames(path: string): string[] {
  try {
    return [...Deno.readDirSync(path)].map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * {@linkcode dirNames} of a directory that may be big (an index of the
 * running devices): through getdents64 when libc is already open (a
 * listing of many definitions opened it), which makes no object per entry.
 */
export function manyNames(path: string): string[] {
  if (libcOpen()) {
    try {
      const dir = new SmallFileDir(path);
      try {
        const names = dir.listFiles({ all: true });
        if (names !== undefined) return names;
      } finally {
        dir.close();
      }
    } catch {
      // Deno's listing below answers (and reports nothing either).
    }
  }
  return dirNames(path);
}

/** True when `path` names an entry, a final symlink followed. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** True when `path` is a directory, a final symlink followed. */
export function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/**
 * One listing of directory `dir` (an mdev type's, say): each entry's name
 * and whether it is a regular file; undefined when it cannot be listed (each read then reports
 * the error itself).
 */
export function typeFiles(dir: string): Map<string, boolean> | undefined {
  try {
    return new Map(
      Array.from(Deno.readDirSync(dir), (e) => [e.name, e.isFile]),
    );
  } catch {
    return undefined;
  }
}

/**
 * Optional attribute `name` of `dir` as text, "" when it is missing or
 * unreadable. `files`: the directory's listing ({@linkcode typeFiles}); a
 * name it lacks is not opened (a failed open costs more than the rest of a
 * type: the first error a Deno process throws takes 1-2 ms), one it shows
 * as a regular file needs no stat.
 */
export function optionalText(
  dir: string,
  name: string,
  files?: Map<string, boolean>,
): string {
  if (files !== undefined && !files.has(name)) return "";
  try {
    return readText(`${dir}/${name}`, files?.get(name) === true);
  } catch {
    return "";
  }
}
