/**
 * Many small files read fast: open, read and close through libc with no
 * Deno resource per file (10,000 mdev definitions). A shared leaf, not part
 * of lib/sys, so that mdev (and TAB on it) loads no FFI family: libc is
 * opened on the first call only (lib/libc_read.ts). {@linkcode readBounded}
 * is the bounded read loop that lib/mdev's Deno-file reads share; the
 * signatures of files (lib/file_signature.ts) are taken through a directory
 * opened here.
 *
 * @module
 */

import { ErrnoError } from "./errno.ts";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  DT,
  LINUX_DIRENT64,
  S_IFMT,
  S_IFREG,
} from "./dir_entry_layout.ts";
import { libc, readErrno } from "./libc_read.ts";
import {
  EMPTY_PATH,
  entryMode,
  pushSignature,
  sameSignature,
  SIGNATURE_WORDS,
  statxInto,
} from "./file_signature.ts";

export { libcOpen } from "./libc_read.ts";

const O_RDONLY = 0;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const O_NOCTTY = 0o400;

const O_DIRECTORY = 0o200000;
const O_NOFOLLOW = 0o400000;

let readLen = 0;
let readLenBig = 0n;
/** The bytes of the last {@linkcode SmallFileDir.readListedRun}. */
let runBuf = new Uint8Array(0);
let pathBuf = new Uint8Array(4096);
let readBuf = new Uint8Array(16 << 10);

/**
 * A run of descriptors kept open for one close_range(2) stays inside the
 * block of this many that its first is in: the kernel sizes a descriptor
 * table in multiples of 64, and growing it in a process with threads (Deno)
 * waits for an RCU grace period (runs of 256 cost 10-15 ms more per 10,000
 * files than they saved).
 */
const FD_BLOCK = 64;
const ENFILE = 23;
const EMFILE = 24;
const OPEN_FLAGS = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW;

const D_RECLEN = LINUX_DIRENT64.fields.d_reclen.offset;
const D_TYPE = LINUX_DIRENT64.fields.d_type.offset;
const D_NAME = LINUX_DIRENT64.fields.d_name.offset;

/** Room for one name (NAME_MAX 255) and its NUL. */
const NAME_SLOT = 256;
/** What one getdents64 call may fill. */
const DENT_CHUNK = 32 << 10;
const DENT_CHUNK_BIG = BigInt(DENT_CHUNK);
/** False once close_range(2) failed (ENOSYS before Linux 5.9, a filter). */
let closeRangeWorks = true;

/** Files of a listing read one after another ({@linkcode SmallFileDir.readListedRun}). */
export interface FileRun {
  /** How many were read: those at `indices[from]` ... `indices[from + count - 1]`. */
  count: number;
  /** Their bytes, one after another (a view of the buffer the next run reuses). */
  bytes: Uint8Array;
  /** Where each one's bytes end in `bytes` (and the next one's start). */
  ends: number[];
  /** Each one's error ({@linkcode ErrnoError}s naming the file), or undefined. */
  errors: (Error | undefined)[];
}

/**
 * The small regular files of one directory, read by name: one directory
 * descriptor, then per file an `openat` of the bare name (no path walk from
 * `/`) and reads, with no Deno resource. Opens are non-blocking (a FIFO
 * cannot stall them) and do not follow a final symlink, reads stop at the
 * limit (a device without end cannot grow them); a read shorter than asked
 * ends the file, as it does for the regular files this is for (a directory
 * listing said so). The files read stay open until a run of consecutive
 * descriptors, all opened here, inside one block of 64 (one descriptor table
 * size), is closed by one close_range(2) (one close(2) each when close_range
 * is missing or fails). Close it when done: that closes them all.
 */
export class SmallFileDir {
  #fd: number;
  #dir: string;
  #closeRange: boolean;
  /** First and last descriptor of the run still open (-1: none). */
  #runFirst = -1;
  #runLast = -1;
  /**
   * The names of {@linkcode SmallFileDir.listFiles}, each NUL-terminated,
   * after a slot that the one being opened is moved to.
   */
  #nameBytes = new Uint8Array(NAME_SLOT);
  #nameSlot = this.#nameBytes.subarray(0, NAME_SLOT);
  /** Where each listed name starts in #nameBytes, and where the last ends. */
  #nameAt: number[] = [];
  #nameEnd = NAME_SLOT;
  #names: string[] = [];
  /** The file being read, for readBounded's callback and its errors. */
  #readFd = -1;
  #readName = "";
  #readOpts = { max: 0, shortEnds: true };
  #reader = (into: Uint8Array): number => {
    const c = libc();
    if (into.length !== readLen) {
      readLen = into.length;
      readLenBig = BigInt(readLen); // one bigint per size, not per read
    }
    const n = c.read(this.#readFd, into, readLenBig);
    if (n < 0) {
      throw new ErrnoError(`read ${this.#dir}/${this.#readName}`, readErrno(c));
    }
    return n;
  };

  /**
   * Opens directory `dir`; throws an {@linkcode ErrnoError}.
   * `options.closeRange: false` closes each file on its own (as when the
   * kernel has no close_range).
   */
  constructor(dir: string, options: { closeRange?: boolean } = {}) {
    const c = libc();
    this.#dir = dir;
    this.#closeRange = options.closeRange ?? true;
    this.#fd = c.open(cString(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (this.#fd < 0) throw new ErrnoError(`open ${dir}`, readErrno(c));
  }

  /**
   * The first `max` bytes of file `name` in the directory, as a view of a
   * buffer that the next read reuses (decode it first); errors are
   * {@linkcode ErrnoError}s naming the file.
   */
  read(name: string, max: number): Uint8Array {
    this.#readName = name;
    return this.#readAt(cString(name), max);
  }

  /**
   * The names of the directory's regular files in directory order, as
   * `Deno.readDirSync` gives them and says `isFile` (from getdents64(2):
   * an entry whose record has no type, `DT_UNKNOWN`, is asked with statx(2)
   * without following a symlink; a name that is not UTF-8 is decoded with
   * U+FFFD for each bad sequence). {@linkcode SmallFileDir.readListed}
   * reads them by position. Undefined when this libc has no getdents64 or
   * statx; errors are {@linkcode ErrnoError}s. Once per directory.
   * `options.unknownTypes`: treat every record as `DT_UNKNOWN` (tests);
   * `options.all`: every entry but "." and "..", of any type, as
   * `Deno.readDirSync` names them.
   */
  listFiles(
    options: { unknownTypes?: boolean; all?: boolean } = {},
  ): string[] | undefined {
    const c = libc();
    if (c.getdents64 === null || c.statx === null) return undefined;
    const starts: number[] = [];
    // getdents64 fills the buffer past the names kept so far, and each
    // regular file's name (with its NUL) is moved down next to them.
    let bytes = new Uint8Array(64 << 10);
    let pos = NAME_SLOT;
    for (;;) {
      if (bytes.length - pos < DENT_CHUNK) {
        const bigger = new Uint8Array(bytes.length * 2);
        bigger.set(bytes.subarray(0, pos));
        bytes = bigger;
      }
      const n = c.getdents64(this.#fd, bytes.subarray(pos), DENT_CHUNK_BIG);
      if (n < 0) {
        throw new ErrnoError(`read directory ${this.#dir}`, readErrno(c));
      }
      if (n === 0) break;
      for (let at = pos, end = pos + n; at < end;) {
        let type = options.unknownTypes ? DT.UNKNOWN : bytes[at + D_TYPE];
        const name = at + D_NAME;
        at += bytes[at + D_RECLEN] | (bytes[at + D_RECLEN + 1] << 8);
        if (options.all) {
          if (isDotName(bytes, name)) continue;
        } else {
          if (type === DT.UNKNOWN) type = this.#typeOf(bytes, name);
          if (type !== DT.REG) continue;
        }
        starts.push(pos);
        const nul = bytes.indexOf(0, name);
        bytes.copyWithin(pos, name, nul + 1);
        pos += nul + 1 - name;
      }
    }
    // One decode for all the names, then slices of it, when every byte
    // became one code unit (ASCII names, all of a store's); else each name
    // on its own.
    const names = new Array<string>(starts.length);
    const all = lossy.decode(bytes.subarray(NAME_SLOT, pos));
    const whole = all.length === pos - NAME_SLOT;
    for (let i = 0; i < starts.length; i++) {
      const end = (i + 1 < starts.length ? starts[i + 1] : pos) - 1;
      names[i] = whole
        ? all.slice(starts[i] - NAME_SLOT, end - NAME_SLOT)
        : lossy.decode(bytes.subarray(starts[i], end));
    }
    this.#nameBytes = bytes;
    this.#nameSlot = bytes.subarray(0, NAME_SLOT);
    this.#nameAt = starts;
    this.#nameEnd = pos;
    this.#names = names;
    return names;
  }

  /**
   * The first `max` bytes of the file at `index` in
   * {@linkcode SmallFileDir.listFiles}'s names (opened by the bytes the
   * directory holds), as {@linkcode SmallFileDir.read} reads them.
   */
  readListed(index: number, max: number): Uint8Array {
    return this.#readAt(this.#nameIn(index), max);
  }

  /**
   * Reads the listed files at `indices[from]`, `indices[from + 1]`, ... (at
   * most `max` bytes each, as {@linkcode SmallFileDir.readListed} reads
   * them) one after another into one buffer, until it holds `budget` bytes
   * or the list ends: one decode can then serve them all. The run's buffer
   * is the one the next run reuses.
   */
  readListedRun(
    indices: readonly number[],
    from: number,
    options: { max: number; budget: number },
  ): FileRun {
    const { max, budget } = options;
    const ends: number[] = [];
    const errors: (Error | undefined)[] = [];
    let pos = 0;
    for (let k = from; k < indices.length && pos < budget; k++) {
      try {
        const bytes = this.#readAt(this.#nameIn(indices[k]), max);
        if (runBuf.length < pos + bytes.length) {
          const bigger = new Uint8Array(
            Math.max(budget, 2 * (pos + bytes.length)),
          );
          bigger.set(runBuf.subarray(0, pos));
          runBuf = bigger;
        }
        runBuf.set(bytes, pos);
        pos += bytes.length;
        errors.push(undefined);
      } catch (err) {
        errors.push(err instanceof Error ? err : new Error(String(err)));
      }
      ends.push(pos);
    }
    return {
      count: ends.length,
      bytes: runBuf.subarray(0, pos),
      ends,
      errors,
    };
  }

  /**
   * The name of listed file `index`, NUL-terminated, moved to the start of
   * the names' buffer (no view made per file); #readName is it.
   */
  #nameIn(index: number): Uint8Array {
    const at = this.#nameAt;
    const end = index + 1 < at.length ? at[index + 1] : this.#nameEnd;
    this.#nameBytes.copyWithin(0, at[index], end);
    this.#readName = this.#names[index];
    return this.#nameSlot;
  }

  /**
   * The directory's own signature ({@linkcode SIGNATURE_WORDS} numbers: an
   * entry added, removed or renamed in it changes its times), or undefined
   * when statx(2) cannot give one.
   */
  signature(): number[] | undefined {
    const out: number[] = [];
    if (
      !statxInto(this.#fd, Deno.UnsafePointer.of(EMPTY_PATH), AT_EMPTY_PATH)
    ) {
      return undefined;
    }
    pushSignature(out);
    return out;
  }

  /**
   * The signatures of every file of {@linkcode SmallFileDir.listFiles} in
   * its order, one after another (take them before reading the files: a
   * write after it then changes one); undefined when one cannot be taken.
   */
  listedSignatures(): number[] | undefined {
    const out: number[] = [];
    const slot = Deno.UnsafePointer.of(this.#nameSlot);
    for (let i = 0; i < this.#nameAt.length; i++) {
      this.#nameIn(i);
      if (!statxInto(this.#fd, slot, AT_SYMLINK_NOFOLLOW)) return undefined;
      pushSignature(out);
    }
    return out;
  }

  /**
   * True when every file of `names` (ASCII names) still has the signature
   * `sigs` holds for it ({@linkcode SmallFileDir.listedSignatures}'s form):
   * one statx(2) per file, no open and no read. `options.at`: where the
   * first file's signature is in `sigs` (the rest of `sigs` is theirs).
   */
  matchSignatures(
    names: readonly string[],
    sigs: ArrayLike<number>,
    options: { at?: number } = {},
  ): boolean {
    const first = options.at ?? 0;
    if (sigs.length !== first + names.length * SIGNATURE_WORDS) return false;
    const joined = names.join("\0") + "\0";
    const bytes = new Uint8Array(NAME_SLOT + joined.length);
    const { written } = encoder.encodeInto(joined, bytes.subarray(NAME_SLOT));
    if (written !== joined.length) return false; // not ASCII
    const slot = Deno.UnsafePointer.of(bytes);
    let at = NAME_SLOT;
    for (let i = 0; i < names.length; i++) {
      const end = at + names[i].length + 1;
      if (end - at > NAME_SLOT) return false;
      bytes.copyWithin(0, at, end);
      at = end;
      if (!statxInto(this.#fd, slot, AT_SYMLINK_NOFOLLOW)) return false;
      if (!sameSignature(sigs, first + i * SIGNATURE_WORDS)) return false;
    }
    return true;
  }

  /**
   * True when the directory has an entry `name` of any type (a final
   * symlink not followed): one statx(2) relative to its descriptor; false
   * for a name with "/" (it would leave the directory).
   */
  has(name: string): boolean {
    if (name.includes("/")) return false;
    return entryMode(this.#fd, Deno.UnsafePointer.of(cString(name))) !==
      undefined;
  }

  /** Closes the files still open and the directory descriptor. */
  close(): void {
    this.#flush();
    if (this.#fd >= 0) libc().close(this.#fd);
    this.#fd = -1;
  }

  /** Opens the file named by `cName` (NUL-terminated; #readName) and reads it. */
  #readAt(cName: Uint8Array, max: number): Uint8Array {
    const name = this.#readName;
    const c = libc();
    let fd = c.openat(this.#fd, cName, OPEN_FLAGS, 0);
    if (fd < 0) {
      let errno = readErrno(c);
      if ((errno === EMFILE || errno === ENFILE) && this.#runFirst >= 0) {
        this.#flush(); // the files kept open took the last descriptors
        fd = c.openat(this.#fd, cName, OPEN_FLAGS, 0);
        if (fd < 0) errno = readErrno(c);
      }
      if (fd < 0) throw new ErrnoError(`open ${this.#dir}/${name}`, errno);
    }
    this.#readFd = fd;
    // Bounded: a file without end (/dev/zero) cannot grow it past `max`;
    // a short read ends a regular file (and saves the read that returns 0).
    this.#readOpts.max = max;
    if (!this.#closeRange) {
      try {
        return readBounded(this.#reader, this.#readOpts);
      } finally {
        c.close(fd);
      }
    }
    this.#keep(fd); // closed with its run, also when the read fails
    return readBounded(this.#reader, this.#readOpts);
  }

  /** Adds `fd` to the run of open descriptors (closing the run it cannot join). */
  #keep(fd: number): void {
    if (
      this.#runFirst >= 0 && fd === this.#runLast + 1 &&
      Math.floor(fd / FD_BLOCK) === Math.floor(this.#runFirst / FD_BLOCK)
    ) {
      this.#runLast = fd;
      return;
    }
    this.#flush();
    this.#runFirst = this.#runLast = fd;
  }

  /**
   * Closes the run: every descriptor in it was opened here and is still
   * open, so no one else can hold one of its numbers.
   */
  #flush(): void {
    const first = this.#runFirst;
    const last = this.#runLast;
    if (first < 0) return;
    this.#runFirst = this.#runLast = -1;
    const c = libc();
    if (closeRangeWorks && c.close_range !== null) {
      if (c.close_range(first, last, 0) === 0) return;
      closeRangeWorks = false;
    }
    for (let fd = first; fd <= last; fd++) c.close(fd);
  }

  /**
   * DT.REG when the entry named at `bytes[name]` (NUL-terminated) is a
   * regular file, as lstat(2) says; else DT.UNKNOWN.
   */
  #typeOf(bytes: Uint8Array, name: number): number {
    const nul = bytes.indexOf(0, name);
    pathBuf.set(bytes.subarray(name, nul + 1));
    const mode = entryMode(this.#fd, Deno.UnsafePointer.of(pathBuf));
    // As Deno: an entry it cannot stat is not a file.
    return mode !== undefined && (mode & S_IFMT) === S_IFREG
      ? DT.REG
      : DT.UNKNOWN;
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

/** True when the NUL-terminated name at `bytes[at]` is "." or "..". */
function isDotName(bytes: Uint8Array, at: number): boolean {
  return bytes[at] === 0x2e &&
    (bytes[at + 1] === 0 || (bytes[at + 1] === 0x2e && bytes[at + 2] === 0));
}

/**
 * True when `path` names an entry of any type (a final symlink not
 * followed): one statx(2) and no Deno object, for a caller that asks it
 * of many paths once libc is open.
 */
export function entryExists(path: string): boolean {
  return entryMode(AT_FDCWD, Deno.UnsafePointer.of(cString(path))) !==
    undefined;
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

const encoder = new TextEncoder();
/** As Rust's `to_string_lossy` (Deno's names): U+FFFD per bad sequence, a BOM kept. */
const lossy = new TextDecoder("utf-8", { ignoreBOM: true });
