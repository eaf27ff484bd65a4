/**
 * Many small files read fast: open, read and close through libc with no
 * Deno resource per file (10,000 mdev definitions). A shared leaf, not part
 * of lib/sys, so that mdev (and TAB on it) loads no FFI family: libc is
 * opened on the first call only. {@linkcode readBounded} is the bounded
 * read loop that lib/mdev's Deno-file reads share.
 *
 * @module
 */

import { ErrnoError } from "./errno.ts";

const O_RDONLY = 0;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const O_NOCTTY = 0o400;

const O_DIRECTORY = 0o200000;
const O_NOFOLLOW = 0o400000;

/**
 * Only what this module calls: cheaper to bind than all of libc. `read`'s
 * result is taken as an i32 (its low half): every count asked for is below
 * 2 GiB, so the result fits, and a number is cheaper than a bigint.
 */
const READ_SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type ReadLib = Deno.DynamicLibrary<typeof READ_SYMBOLS>["symbols"];

function libc(): ReadLib {
  return readLib ??= Deno.dlopen("libc.so.6", READ_SYMBOLS).symbols;
}

let readLib: ReadLib | undefined;
let pathBuf = new Uint8Array(4096);
let readBuf = new Uint8Array(16 << 10);

/**
 * The small regular files of one directory, read by name: one directory
 * descriptor, then per file an `openat` of the bare name (no path walk from
 * `/`), reads and a close, with no Deno resource. Opens are non-blocking
 * (a FIFO cannot stall them) and do not follow a final symlink, reads stop
 * at the limit (a device without end cannot grow them); a read shorter than asked ends the file, as
 * it does for the regular files this is for (a directory listing said so).
 * Close it when done.
 */
export class SmallFileDir {
  #fd: number;
  #dir: string;

  /** Opens directory `dir`; throws an {@linkcode ErrnoError}. */
  constructor(dir: string) {
    const c = libc();
    this.#dir = dir;
    this.#fd = c.open(cString(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (this.#fd < 0) throw new ErrnoError(`open ${dir}`, readErrno(c));
  }

  /**
   * The first `max` bytes of file `name` in the directory, as a view of a
   * buffer that the next read reuses (decode it first); errors are
   * {@linkcode ErrnoError}s naming the file.
   */
  read(name: string, max: number): Uint8Array {
    const c = libc();
    const fd = c.openat(
      this.#fd,
      cString(name),
      O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
      0,
    );
    if (fd < 0) {
      throw new ErrnoError(`open ${this.#dir}/${name}`, readErrno(c));
    }
    // Bounded: a file without end (/dev/zero) cannot grow it past `max`;
    // a short read ends a regular file (and saves the read that returns 0).
    try {
      return readBounded((into) => {
        const n = c.read(fd, into, BigInt(into.length));
        if (n < 0) {
          throw new ErrnoError(`read ${this.#dir}/${name}`, readErrno(c));
        }
        return n;
      }, { max, shortEnds: true });
    } finally {
      c.close(fd);
    }
  }

  /** Closes the directory descriptor. */
  close(): void {
    if (this.#fd >= 0) libc().close(this.#fd);
    this.#fd = -1;
  }
}

/**
 * Reads with `read` (it fills the buffer it is given and returns the count,
 * 0 at the end) into a buffer shared by every caller, until the end or
 * `max` bytes, so that a file without end cannot grow it past `max`;
 * `shortEnds`: a read shorter than asked is the end (true of regular files
 * and sysfs attributes, not of pipes). Returns a view of the bytes that the
 * next call reuses: decode or copy them first.
 */
export function readBounded(
  read: (into: Uint8Array) => number,
  options: { max: number; shortEnds?: boolean },
): Uint8Array {
  const { max } = options;
  let len = 0;
  while (len < max) {
    if (len === readBuf.length) {
      const bigger = new Uint8Array(Math.min(max, readBuf.length * 2));
      bigger.set(readBuf);
      readBuf = bigger;
    }
    const want = Math.min(readBuf.length, max) - len;
    const n = read(
      len === 0 && want === readBuf.length
        ? readBuf
        : readBuf.subarray(len, len + want),
    );
    if (n === 0) break;
    len += n;
    if (options.shortEnds && n < want) break;
  }
  return readBuf.subarray(0, len);
}

/** `text` NUL-terminated in the shared path buffer. */
function cString(text: string): Uint8Array {
  if (pathBuf.length < text.length * 3 + 1) {
    pathBuf = new Uint8Array(text.length * 3 + 1);
  }
  const { written } = encoder.encodeInto(text, pathBuf);
  pathBuf[written] = 0;
  return pathBuf;
}

function readErrno(c: { __errno_location(): Deno.PointerValue }): number {
  const p = c.__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

const encoder = new TextEncoder();
