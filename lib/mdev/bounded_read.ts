/**
 * Bounded reads of definition files and `--jsonfile`s: only regular files
 * (or the process's own stdin), at most a limit, strict UTF-8, so that no
 * input (a FIFO, /dev/zero, a huge file) can block the read or grow it
 * without bound.
 *
 * @module
 */

import { readAtMost } from "../sysfs_read.ts";
import type { SmallFileDir } from "../small_file.ts";

/** Bytes of definitions read before they are decoded together. */
const RUN_BUDGET = 256 << 10;

/** A definition file that cannot be used; the message says why. */
export class DefinitionError extends Error {
  /** Creates the error for a reason such as "not valid JSON". */
  constructor(message: string) {
    super(message);
    this.name = "DefinitionError";
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const probe = new TextDecoder("utf-8", { ignoreBOM: true });

/** The most a definition or a --jsonfile may hold (mdevctl's are < 1 KiB). */
export const DEFINITION_LIMIT = 1 << 20;

/**
 * Reads a regular file of at most `limit` bytes as UTF-8, or the process's
 * own stdin when `path` names it (a pipe, as libvirt passes
 * `--jsonfile=/dev/stdin`). Anything else (a FIFO, a device such as
 * /dev/zero, a directory) is refused before it is opened, so that no input
 * can block the read or grow it without bound.
 */
export function readLimitedText(
  path: string,
  options: { limit?: number; stdin?: boolean } = {},
): string {
  const limit = options.limit ?? DEFINITION_LIMIT;
  const st = Deno.statSync(path);
  if (!st.isFile && !(options.stdin && isStdin(st))) {
    throw new DefinitionError(
      `not a regular file (${st.isFifo ? "a FIFO" : kindOf(st)})`,
    );
  }
  if (st.isFile && st.size > limit) {
    throw new DefinitionError(`too large (${st.size} bytes, over ${limit})`);
  }
  return decodeAtMost(
    readAtMost(path, limit + 1, { regular: st.isFile }),
    limit,
  );
}

/** `bytes` (read with a limit of `limit + 1`) as strict UTF-8 text. */
function decodeAtMost(bytes: Uint8Array, limit: number): string {
  if (bytes.length > limit) {
    throw new DefinitionError(`too large (over ${limit} bytes)`);
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw new DefinitionError("not UTF-8 text");
  }
}

/**
 * Reads definition file `name` of a store directory that its listing showed
 * as a regular file, through `dir` (lib/small_file.ts `SmallFileDir`: one
 * directory descriptor for all its files; a non-blocking open and a read
 * bounded by the limit, so that a file replaced by a FIFO or a device since
 * the listing cannot stall or grow it). The checks and errors are
 * {@linkcode readLimitedText}'s.
 */
export function readDefinitionIn(dir: SmallFileDir, name: string): string {
  const limit = DEFINITION_LIMIT;
  return decodeAtMost(dir.read(name, limit + 1), limit);
}

/**
 * Reads the definition files at `indices` of `dir`'s listing
 * (`SmallFileDir.listFiles`) and hands each to `each` (its position in
 * `indices`, then its text or why it cannot be used: the errors of
 * {@linkcode readDefinitionIn}), in order. Files are read in runs into one
 * buffer, and a run that is all ASCII (a store's are) is decoded once:
 * each file's text is then a slice of it, as its own strict decode would
 * be; any other run is decoded file by file.
 */
export function readListedDefinitions(
  dir: SmallFileDir,
  indices: readonly number[],
  each: (k: number, text: string | Error) => void,
): void {
  const limit = DEFINITION_LIMIT;
  for (let from = 0; from < indices.length;) {
    const run = dir.readListedRun(indices, from, {
      max: limit + 1,
      budget: RUN_BUDGET,
    });
    const { bytes, ends, errors } = run;
    // One code unit per byte and no U+FFFD (what a bad byte becomes) is
    // ASCII. Deno's non-fatal UTF-8 decode is its fast one, and gives
    // one-byte strings (the strict one decodes to UTF-16); a run that is
    // not ASCII is decoded file by file.
    const all = probe.decode(bytes);
    const ascii = all.length === bytes.length && !all.includes("\uFFFD");
    let start = 0;
    for (let k = 0; k < run.count; k++) {
      const end = ends[k];
      let text: string | Error;
      if (errors[k] !== undefined) text = errors[k]!;
      else if (end - start > limit) {
        text = new DefinitionError(`too large (over ${limit} bytes)`);
      } else if (ascii) text = all.slice(start, end);
      else text = decodeOne(bytes.subarray(start, end), limit);
      each(from + k, text);
      start = end;
    }
    from += run.count;
  }
}

/**
 * `bytes` as strict UTF-8 text, or the error: decoded by the fast decoder,
 * whose text is the strict one's unless it holds a U+FFFD (what a bad
 * sequence becomes), and then by the strict decoder.
 */
function decodeOne(bytes: Uint8Array, limit: number): string | Error {
  const text = probe.decode(bytes);
  if (!text.includes("\uFFFD")) return text;
  try {
    return decodeAtMost(bytes, limit);
  } catch (err) {
    return err as Error;
  }
}

function kindOf(st: Deno.FileInfo): string {
  if (st.isDirectory) return "a directory";
  if (st.isCharDevice) return "a character device";
  if (st.isBlockDevice) return "a block device";
  if (st.isSocket) return "a socket";
  return "not a file";
}

function isStdin(st: Deno.FileInfo): boolean {
  try {
    const fd0 = Deno.statSync("/proc/self/fd/0");
    return fd0.dev === st.dev && fd0.ino === st.ino && !st.isDirectory &&
      !st.isCharDevice;
  } catch {
    return false;
  }
}
