/**
 * Linux system access shared by every family: libc over Deno's FFI (open,
 * ioctl, mmap, poll, eventfd, thread affinity), ioctl number encoding,
 * kernel struct layouts declared as data, and AF_PACKET sockets.
 *
 * This module is the family's face: other families, `commands/`, benches
 * and tests outside `tests/sys/` import the family only from here.
 *
 * @module
 */

export { io, ior, iow, iowr } from "./ioctl.ts";
export {
  check,
  close,
  ErrnoError,
  eventfd,
  ioctl,
  libc,
  MMAP,
  mmap,
  munmap,
  O,
  open,
  POLL,
  pollAsync,
  read,
  setThreadAffinity,
  threadId,
  write,
} from "./libc.ts";
export type { Mapping } from "./libc.ts";
export { PACKET, PacketSocket, SOCKADDR_LL } from "./packet_socket.ts";
export { defineStruct, StructView } from "./struct_layout.ts";
export type { StructLayout } from "./struct_layout.ts";
