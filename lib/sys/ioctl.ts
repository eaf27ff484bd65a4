/**
 * The Linux `_IOC` ioctl number encoding (asm-generic/ioctl.h, as used on
 * x86_64), so ioctl numbers are computed from their definition instead of
 * pasted as magic numbers.
 *
 * @module
 */

const NRBITS = 8;
const TYPEBITS = 8;
const SIZEBITS = 14;
const NRSHIFT = 0;
const TYPESHIFT = NRSHIFT + NRBITS;
const SIZESHIFT = TYPESHIFT + TYPEBITS;
const DIRSHIFT = SIZESHIFT + SIZEBITS;

/** No data transfer. */
export const IOC_NONE = 0;
/** User space writes, the kernel reads (`_IOW`). */
export const IOC_WRITE = 1;
/** The kernel writes, user space reads (`_IOR`). */
export const IOC_READ = 2;

/** `_IOC(dir, type, nr, size)` as a bigint, ready for an FFI `u64`. */
export function ioc(
  dir: number,
  spec: { type: number; nr: number; size: number },
): bigint {
  const { type, nr, size } = spec;
  if (size < 0 || size >= 1 << SIZEBITS) {
    throw new RangeError(`ioctl size ${size} out of range`);
  }
  return (BigInt(dir) << BigInt(DIRSHIFT)) |
    (BigInt(size) << BigInt(SIZESHIFT)) |
    (BigInt(type) << BigInt(TYPESHIFT)) |
    (BigInt(nr) << BigInt(NRSHIFT));
}

/** `_IO(type, nr)`. */
export function io(type: number, nr: number): bigint {
  return ioc(IOC_NONE, { type, nr, size: 0 });
}

/** `_IOR(type, nr, size)`: the kernel fills `size` bytes. */
export function ior(type: number, nr: number, size: number): bigint {
  return ioc(IOC_READ, { type, nr, size });
}

/** `_IOW(type, nr, size)`: the kernel reads `size` bytes. */
export function iow(type: number, nr: number, size: number): bigint {
  return ioc(IOC_WRITE, { type, nr, size });
}

/** `_IOWR(type, nr, size)`. */
export function iowr(type: number, nr: number, size: number): bigint {
  return ioc(IOC_READ | IOC_WRITE, { type, nr, size });
}
