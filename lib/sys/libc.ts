/**
 * libc through Deno's FFI: the system calls vdevctl needs for VDUSE ioctls,
 * mmap'ed virtqueues, netlink and AF_PACKET sockets, with errno turned into
 * {@linkcode ErrnoError}s that carry the errno name in `code`.
 *
 * The library is opened on first use, so commands that do not need it (mdev)
 * do not pay for it.
 *
 * @module
 */

import { ErrnoError } from "../errno.ts";

export { ErrnoError };

const SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  poll_nb: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: {
    parameters: ["i32", "i32", "i32", "buffer", "u32"],
    result: "i32",
  },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "isize",
  },
  sendto_nb: {
    name: "sendto",
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
    nonblocking: true,
  },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  sched_yield: { parameters: [], result: "i32" },
  gettid: { parameters: [], result: "i32" },
  sched_setaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  sched_getaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** The raw libc symbols (call the wrappers below unless you need raw speed). */
export type LibcSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** The raw libc symbols, opening libc on first use. */
export function libc(): LibcSymbols {
  lib ??= Deno.dlopen("libc.so.6", SYMBOLS);
  return lib.symbols;
}

/** The calling thread's errno. Read it right after a synchronous call. */
export function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** Throws an ErrnoError for the current errno when `result` is negative. */
export function check<T extends number | bigint>(
  result: T,
  syscall: string,
): T {
  if (result < 0) throw new ErrnoError(syscall, errno());
  return result;
}

const encoder = new TextEncoder();

/** A NUL-terminated C string. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(encoder.encode(s).length + 1);
  encoder.encodeInto(s, b);
  return b;
}

/** open(2) flags and constants used by vdevctl (x86_64 values). */
export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  NONBLOCK: 0o4000,
  CLOEXEC: 0o2000000,
} as const;

/** mmap(2) constants. */
export const MMAP = {
  PROT_READ: 1,
  PROT_WRITE: 2,
  MAP_SHARED: 1,
  MAP_PRIVATE: 2,
  MAP_ANONYMOUS: 0x20,
  FAILED: 0xffffffffffffffffn,
} as const;

/** poll(2) events. */
export const POLL = {
  IN: 0x1,
  OUT: 0x4,
  ERR: 0x8,
  HUP: 0x10,
  NVAL: 0x20,
} as const;

/** eventfd(2) flags. */
export const EFD = { CLOEXEC: 0o2000000, NONBLOCK: 0o4000 } as const;

/** Opens `path` (O_CLOEXEC is always added) and returns the fd. */
export function open(path: string, flags: number): number {
  return check(
    libc().open(cString(path), flags | O.CLOEXEC, 0),
    `open ${path}`,
  );
}

/** Closes `fd`; errors are ignored (there is nothing useful to do). */
export function close(fd: number): void {
  if (fd >= 0) libc().close(fd);
}

/**
 * ioctl(2) with a buffer argument (or none); returns the non-negative result.
 * `name` is used in errors, e.g. "VDUSE_CREATE_DEV".
 */
export function ioctl(
  fd: number,
  request: bigint,
  options: { arg?: Uint8Array<ArrayBuffer> | null; name?: string } = {},
): number {
  return check(
    libc().ioctl(fd, request, options.arg ?? null),
    `ioctl ${options.name ?? `0x${request.toString(16)}`}`,
  );
}

/** read(2) into `buf`; returns the byte count (throws on error, EAGAIN too). */
export function read(fd: number, buf: Uint8Array<ArrayBuffer>): number {
  return Number(check(libc().read(fd, buf, BigInt(buf.byteLength)), "read"));
}

/** write(2) all of `buf` in one call; returns the byte count. */
export function write(fd: number, buf: Uint8Array<ArrayBuffer>): number {
  return Number(check(libc().write(fd, buf, BigInt(buf.byteLength)), "write"));
}

/** A shared mapping of `length` bytes of `fd` at `offset`. */
export interface Mapping {
  /** Start of the mapping. */
  readonly pointer: Deno.PointerObject;
  /** Length in bytes. */
  readonly length: number;
  /** A zero-copy view of the whole mapping (invalid after unmap: drop it). */
  readonly buffer: ArrayBuffer;
}

/** mmap(2) `length` bytes of `fd` at `offset`, shared, read-write by default. */
export function mmap(
  fd: number,
  length: number,
  options: { offset?: bigint; prot?: number; flags?: number } = {},
): Mapping {
  const prot = options.prot ?? (MMAP.PROT_READ | MMAP.PROT_WRITE);
  const flags = options.flags ?? MMAP.MAP_SHARED;
  const p = libc().mmap(
    null,
    BigInt(length),
    prot,
    flags,
    fd,
    options.offset ?? 0n,
  );
  const addr = p === null ? 0n : BigInt(Deno.UnsafePointer.value(p));
  if (p === null || addr === MMAP.FAILED) {
    throw new ErrnoError("mmap", errno());
  }
  return {
    pointer: p,
    length,
    buffer: Deno.UnsafePointerView.getArrayBuffer(p, length),
  };
}

/** munmap(2) a mapping made by {@linkcode mmap}. */
export function munmap(mapping: Mapping): void {
  check(libc().munmap(mapping.pointer, BigInt(mapping.length)), "munmap");
}

/** The calling thread's ID (gettid(2)): its `/proc/self/task/TID`. */
export function threadId(): number {
  return libc().gettid();
}

/** Bytes of glibc's cpu_set_t (CPU_SETSIZE 1024 bits). */
const CPU_SET_BYTES = 128;

/**
 * Restricts the calling thread (only it: Linux affinity is per thread) to
 * `cpus`, with sched_setaffinity(2).
 */
export function setThreadAffinity(cpus: readonly number[]): void {
  const set = new Uint8Array(CPU_SET_BYTES);
  for (const c of cpus) {
    if (!Number.isInteger(c) || c < 0 || c >= CPU_SET_BYTES * 8) {
      throw new RangeError(`CPU ${c} is outside cpu_set_t`);
    }
    set[c >> 3] |= 1 << (c & 7);
  }
  check(
    libc().sched_setaffinity(0, BigInt(CPU_SET_BYTES), set),
    "sched_setaffinity",
  );
}

/** The CPUs the calling thread may run on (sched_getaffinity(2)). */
export function threadAffinity(): number[] {
  const set = new Uint8Array(CPU_SET_BYTES);
  check(
    libc().sched_getaffinity(0, BigInt(CPU_SET_BYTES), set),
    "sched_getaffinity",
  );
  const cpus: number[] = [];
  for (let c = 0; c < CPU_SET_BYTES * 8; c++) {
    if (set[c >> 3] & (1 << (c & 7))) cpus.push(c);
  }
  return cpus;
}

/** An eventfd, for waking a thread blocked in a nonblocking poll. */
export function eventfd(flags: number = EFD.CLOEXEC | EFD.NONBLOCK): number {
  return check(libc().eventfd(0, flags), "eventfd");
}

/**
 * poll(2) on `fds` ([fd, events] pairs) without blocking the event loop
 * (runs on another thread). Returns the revents of each fd in order.
 * errno is not meaningful after a nonblocking call, so a failure is reported
 * as EINTR-like "poll failed" with errno unknown.
 */
export async function pollAsync(
  fds: readonly (readonly [number, number])[],
  timeoutMs: number,
): Promise<number[]> {
  const buf = new Uint8Array(fds.length * 8);
  const dv = new DataView(buf.buffer);
  fds.forEach(([fd, events], i) => {
    dv.setInt32(i * 8, fd, true);
    dv.setInt16(i * 8 + 4, events, true);
  });
  const n = await libc().poll_nb(buf, BigInt(fds.length), timeoutMs);
  if (n < 0) throw new ErrnoError("poll", 4 /* EINTR: errno is per thread */);
  return fds.map((_, i) => dv.getInt16(i * 8 + 6, true));
}

/** poll(2) synchronously; returns the revents of each fd in order. */
export function poll(
  fds: readonly (readonly [number, number])[],
  timeoutMs: number,
): number[] {
  const buf = new Uint8Array(fds.length * 8);
  const dv = new DataView(buf.buffer);
  fds.forEach(([fd, events], i) => {
    dv.setInt32(i * 8, fd, true);
    dv.setInt16(i * 8 + 4, events, true);
  });
  check(libc().poll(buf, BigInt(fds.length), timeoutMs), "poll");
  return fds.map((_, i) => dv.getInt16(i * 8 + 6, true));
}
