/**
 * A file's signature: what statx(2) says of it that any change to it
 * changes (owner, group, mode, inode, size, change and modification times to
 * the nanosecond, device), as 32-bit words, taken relative to a directory
 * descriptor without following a final symlink. lib/mdev's store cache
 * keeps them to tell a file unchanged without reading it.
 *
 * @module
 */

import {
  AT_SYMLINK_NOFOLLOW,
  S_IFMT,
  S_IFREG,
  STATX,
  STATX_SIGNATURE_BITS,
  STATX_TYPE,
} from "./dir_entry_layout.ts";
import { libc } from "./libc_read.ts";

const statxBuf = new Uint8Array(STATX.size);
const statxWords = new Uint32Array(statxBuf.buffer);
let statxPtr: Deno.PointerValue = null;
/** An empty path (AT_EMPTY_PATH: the descriptor itself). */
export const EMPTY_PATH = new Uint8Array(1);

/**
 * How many numbers one file's signature is: owner, group, mode, inode,
 * size, change and modification times (to the nanosecond) and device, as
 * 32-bit words of statx(2)'s answer ({@linkcode SmallFileDir.signatures}).
 */
export const SIGNATURE_WORDS = 15;
const F = STATX.fields;
const STX_MODE_WORD = F.stx_mode.offset / 4;
/** The statx words of a signature, in its order. */
const SIGNATURE_AT = [
  F.stx_uid.offset / 4,
  F.stx_gid.offset / 4,
  F.stx_mode.offset / 4, // with the padding after it (zero)
  F.stx_ino.offset / 4,
  F.stx_ino.offset / 4 + 1,
  F.stx_size.offset / 4,
  F.stx_size.offset / 4 + 1,
  F.stx_ctime_sec.offset / 4,
  F.stx_ctime_sec.offset / 4 + 1,
  F.stx_ctime_nsec.offset / 4,
  F.stx_mtime_sec.offset / 4,
  F.stx_mtime_sec.offset / 4 + 1,
  F.stx_mtime_nsec.offset / 4,
  F.stx_dev_major.offset / 4,
  F.stx_dev_minor.offset / 4,
];
const SIGNATURE_MASK = Object.values(STATX_SIGNATURE_BITS).reduce(
  (a, b) => a | b,
  0,
);
/** Where a signature's change time is (seconds low, high, nanoseconds). */
const SIG_CTIME = 7;
const SIG_MODE = 2;

/**
 * The change time (ctime) of the signature at `sigs[at]` in milliseconds
 * since the epoch: every write, chmod, chown or rename of the file sets it
 * to the kernel's clock, and nothing sets it back.
 */
export function signatureChangedMs(
  sigs: ArrayLike<number>,
  at: number,
): number {
  const sec = sigs[at + SIG_CTIME + 1] * 2 ** 32 + sigs[at + SIG_CTIME];
  const signed = sec >= 2 ** 63 ? sec - 2 ** 64 : sec;
  return signed * 1000 + sigs[at + SIG_CTIME + 2] / 1e6;
}

/** True when the signature at `sigs[at]` is a regular file's. */
export function signatureIsFile(sigs: ArrayLike<number>, at: number): boolean {
  return (sigs[at + SIG_MODE] & S_IFMT) === S_IFREG;
}

/**
 * statx(2) of `path` (a pointer to a NUL-terminated name, or the empty
 * one) under `dirFd` into statxBuf, without following a final symlink:
 * false when it fails or the kernel did not fill every field of a
 * signature.
 */
export function statxInto(
  dirFd: number,
  path: Deno.PointerValue,
  flags: number,
): boolean {
  const c = libc();
  if (c.statx === null) return false;
  statxPtr ??= Deno.UnsafePointer.of(statxBuf);
  if (c.statx(dirFd, path, flags, SIGNATURE_MASK, statxPtr) !== 0) {
    return false;
  }
  return (statxWords[0] & SIGNATURE_MASK) === SIGNATURE_MASK;
}

/** Appends the signature {@linkcode statxInto} took to `out`. */
export function pushSignature(out: number[]): void {
  for (let k = 0; k < SIGNATURE_WORDS; k++) {
    out.push(statxWords[SIGNATURE_AT[k]]);
  }
}

/** True when {@linkcode statxInto} took the signature at `sigs[at]`. */
export function sameSignature(sigs: ArrayLike<number>, at: number): boolean {
  for (let k = 0; k < SIGNATURE_WORDS; k++) {
    if (statxWords[SIGNATURE_AT[k]] !== sigs[at + k]) return false;
  }
  return true;
}

/**
 * The mode (type and permissions) of the entry named by `path` (a pointer
 * to a NUL-terminated name) under `dirFd`, not following a final symlink;
 * undefined when statx(2) fails.
 */
export function entryMode(
  dirFd: number,
  path: Deno.PointerValue,
): number | undefined {
  const c = libc();
  if (c.statx === null) return undefined;
  statxPtr ??= Deno.UnsafePointer.of(statxBuf);
  if (c.statx(dirFd, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, statxPtr) !== 0) {
    return undefined;
  }
  return statxWords[STX_MODE_WORD] & 0xffff;
}
