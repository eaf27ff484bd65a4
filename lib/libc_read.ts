/**
 * The libc calls that lib/small_file.ts and lib/file_signature.ts make,
 * bound on the first call only (a listing of few files opens no library):
 * only what they call, cheaper to bind than all of libc.
 *
 * @module
 */

/**
 * Only what the readers call. `read`'s
 * result is taken as an i32 (its low half): every count asked for is below
 * 2 GiB, so the result fits, and a number is cheaper than a bigint.
 */
const READ_SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  // Optional (glibc 2.30, 2.34, 2.28): without them a directory is listed
  // by Deno and each file closed on its own.
  getdents64: {
    parameters: ["i32", "buffer", "usize"],
    result: "i32",
    optional: true,
  },
  close_range: {
    parameters: ["u32", "u32", "i32"],
    result: "i32",
    optional: true,
  },
  // Pointers, not buffers: a signature is one call per file, and pointer
  // arguments are the cheap ones before V8 has optimized the caller.
  statx: {
    parameters: ["i32", "pointer", "i32", "u32", "pointer"],
    result: "i32",
    optional: true,
  },
} as const;

/** The bound functions. */
export type ReadLib = Deno.DynamicLibrary<typeof READ_SYMBOLS>["symbols"];

/** libc, opened on the first call. */
export function libc(): ReadLib {
  return readLib ??= Deno.dlopen("libc.so.6", READ_SYMBOLS).symbols;
}

let readLib: ReadLib | undefined;

/**
 * True once libc has been opened for this process's reads: a caller with a
 * choice can then list through it at no further cost.
 */
export function libcOpen(): boolean {
  return readLib !== undefined;
}

/** The calling thread's errno after a failed call. */
export function readErrno(
  c: { __errno_location(): Deno.PointerValue },
): number {
  const p = c.__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}
