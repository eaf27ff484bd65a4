/**
 * Many small files read fast: open, read and close through libc with no
 * Deno resource per file (10,000 mdev definitions). A shared leaf, not part
 * of lib/sys, so that mdev (and TAB on it) loads no FFI family: libc is
 * opened on the first call only.
 *
 * @module
 */

import { ErrnoError } from "./errno.ts";

const O_RDONLY = 0;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const O_NOCTTY = 0o400;

/** Only what {@linkcode readSmallFile} calls: cheaper to bind than all of libc. */
const READ_SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

let readLib: Deno.DynamicLibrary<typeof READ_SYMBOLS>["symbols"] | undefined;
let pathBuf = new Uint8Array(4096);
let readBuf = new Uint8Array(16 << 10);

/**
 * The first `max` bytes of file `path` (all of it when shorter) in open,
 * read (until the end) and close, with no Deno resource: for reading many
 * small files (10,000 mdev definitions). The open is non-blocking, so a
 * FIFO cannot stall it, and the read stops at `max`, so a device without
 * end (/dev/zero) cannot grow it. Errors are {@linkcode ErrnoError}s.
 * With `view`, the bytes are a view of a buffer that the next call reuses
 * (no allocation per file: decode them before reading another).
 */
export function readSmallFile(
  path: string,
  max: number,
  options: { view?: boolean } = {},
): Uint8Array {
  const c = readLib ??= Deno.dlopen("libc.so.6", READ_SYMBOLS).symbols;
  if (pathBuf.length < path.length * 3 + 1) {
    pathBuf = new Uint8Array(path.length * 3 + 1);
  }
  const { written } = encoder.encodeInto(path, pathBuf);
  pathBuf[written] = 0;
  const fd = c.open(pathBuf, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0);
  if (fd < 0) throw new ErrnoError(`open ${path}`, readErrno(c));
  let len = 0;
  try {
    while (len < max) {
      if (len === readBuf.length) {
        const bigger = new Uint8Array(Math.min(max, readBuf.length * 2));
        bigger.set(readBuf);
        readBuf = bigger;
      }
      const want = Math.min(readBuf.length, max) - len;
      const n = Number(c.read(fd, readBuf.subarray(len), BigInt(want)));
      if (n < 0) throw new ErrnoError(`read ${path}`, readErrno(c));
      if (n === 0) break;
      len += n;
    }
  } finally {
    c.close(fd);
  }
  return options.view ? readBuf.subarray(0, len) : readBuf.slice(0, len);
}

function readErrno(c: { __errno_location(): Deno.PointerValue }): number {
  const p = c.__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

const encoder = new TextEncoder();
