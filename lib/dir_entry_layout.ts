/**
 * What lib/small_file.ts reads from the kernel when it lists a directory:
 * the records of getdents64(2) (`struct linux_dirent64`), the one field of
 * `struct statx` it asks for when a record does not say the entry's type,
 * and the constants it uses. Plain data in the shape of lib/sys's
 * `StructLayout` (small_file loads no FFI family), checked with gcc against
 * the kernel's headers by tests/sys/struct_layout_test.ts like the others.
 *
 * @module
 */

/**
 * `struct linux_dirent64` (include/linux/dirent.h, not exported to UAPI;
 * glibc's `struct dirent64` has the same fields): one record of
 * getdents64(2), `d_reclen` bytes long, `d_name` NUL-terminated.
 */
export const LINUX_DIRENT64 = {
  cType: "struct linux_dirent64",
  header: "linux/dirent.h",
  size: 24,
  fields: {
    d_ino: { offset: 0, type: "u64", count: 1 },
    d_off: { offset: 8, type: "i64", count: 1 },
    d_reclen: { offset: 16, type: "u16", count: 1 },
    d_type: { offset: 18, type: "u8", count: 1 },
    d_name: { offset: 19, type: "u8", count: 0 },
  },
} as const;

/**
 * `struct statx` (linux/stat.h): its size, the type read when a record does
 * not say it, and what a file's signature is made of (lib/small_file.ts
 * `SmallFileDir.signatures`: owner, mode, inode, size, change and
 * modification times, device).
 */
export const STATX = {
  cType: "struct statx",
  header: "linux/stat.h",
  size: 256,
  fields: {
    stx_mask: { offset: 0, type: "u32", count: 1 },
    stx_uid: { offset: 20, type: "u32", count: 1 },
    stx_gid: { offset: 24, type: "u32", count: 1 },
    stx_mode: { offset: 28, type: "u16", count: 1 },
    stx_ino: { offset: 32, type: "u64", count: 1 },
    stx_size: { offset: 40, type: "u64", count: 1 },
    stx_ctime_sec: {
      offset: 96,
      type: "i64",
      count: 1,
      cName: "stx_ctime.tv_sec",
    },
    stx_ctime_nsec: {
      offset: 104,
      type: "u32",
      count: 1,
      cName: "stx_ctime.tv_nsec",
    },
    stx_mtime_sec: {
      offset: 112,
      type: "i64",
      count: 1,
      cName: "stx_mtime.tv_sec",
    },
    stx_mtime_nsec: {
      offset: 120,
      type: "u32",
      count: 1,
      cName: "stx_mtime.tv_nsec",
    },
    stx_dev_major: { offset: 136, type: "u32", count: 1 },
    stx_dev_minor: { offset: 140, type: "u32", count: 1 },
  },
} as const;

/** `d_type` values (DT_* of <dirent.h>). */
export const DT = { UNKNOWN: 0, DIR: 4, REG: 8, LNK: 10 } as const;

/** The file-type bits of a mode and the regular-file type (linux/stat.h). */
export const S_IFMT = 0o170000;
/** A regular file's type bits. */
export const S_IFREG = 0o100000;
/** statx(2)'s `mask` bit for the file type. */
export const STATX_TYPE = 0x1;
/**
 * statx(2)'s `mask` bits of a signature's fields (STATX_TYPE, _MODE, _UID,
 * _GID, _MTIME, _CTIME, _INO, _SIZE).
 */
export const STATX_SIGNATURE_BITS = {
  TYPE: 0x1,
  MODE: 0x2,
  UID: 0x8,
  GID: 0x10,
  MTIME: 0x40,
  CTIME: 0x80,
  INO: 0x100,
  SIZE: 0x200,
} as const;
/** `*at` flag: do not follow a final symlink (linux/fcntl.h). */
export const AT_SYMLINK_NOFOLLOW = 0x100;
/** `*at` flag: an empty path names the descriptor itself (linux/fcntl.h). */
export const AT_EMPTY_PATH = 0x1000;
/** `*at` directory: the working directory (a path is taken as it is). */
export const AT_FDCWD = -100;
