/**
 * AF_PACKET raw sockets bound to one interface and one EtherType, for
 * sending and receiving whole Ethernet frames (`mvnet smoke`).
 *
 * The socket is nonblocking, ignores the frames it sends itself
 * (PACKET_IGNORE_OUTGOING), so on a loopback device it sees only what comes
 * back, and bypasses the qdisc (PACKET_QDISC_BYPASS), so a frame is either
 * handed to the driver or refused (ENOBUFS), never dropped silently.
 *
 * @module
 */

import { check, close, cString, errno, ErrnoError, libc } from "./libc.ts";
import { defineStruct, StructView } from "./struct_layout.ts";

/** `struct sockaddr_ll` (linux/if_packet.h). */
export const SOCKADDR_LL = defineStruct("struct sockaddr_ll", {
  header: "linux/if_packet.h",
  size: 20,
  fields: {
    sll_family: [0, "u16"],
    sll_protocol: [2, "u16"],
    sll_ifindex: [4, "i32"],
    sll_hatype: [8, "u16"],
    sll_pkttype: [10, "u8"],
    sll_halen: [11, "u8"],
    sll_addr: [12, "u8", 8],
  },
});

/** Socket constants (x86_64 Linux). */
export const PACKET = {
  AF_PACKET: 17,
  SOCK_RAW: 3,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  SOL_SOCKET: 1,
  SO_RCVBUF: 8,
  SO_SNDBUF: 7,
  SO_RCVBUFFORCE: 33,
  SO_SNDBUFFORCE: 32,
  SOL_PACKET: 263,
  PACKET_IGNORE_OUTGOING: 23,
  PACKET_QDISC_BYPASS: 20,
  MSG_DONTWAIT: 0x40,
} as const;

/** EAGAIN/EWOULDBLOCK on x86_64. */
const EAGAIN = 11;
/** ENOBUFS: the device queue is full. */
const ENOBUFS = 105;

function htons(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

/** A raw packet socket on one interface. */
export class PacketSocket {
  /** The socket fd. */
  readonly fd: number;
  /** Interface index. */
  readonly ifindex: number;

  private constructor(fd: number, ifindex: number) {
    this.fd = fd;
    this.ifindex = ifindex;
  }

  /**
   * Opens a socket for frames of `etherType` on interface `ifname`
   * (nonblocking, own frames ignored, 4 MiB buffers when allowed).
   */
  static open(ifname: string, etherType: number): PacketSocket {
    const c = libc();
    const ifindex = c.if_nametoindex(cString(ifname));
    if (ifindex === 0) {
      throw new ErrnoError(`if_nametoindex ${ifname}`, errno());
    }
    const fd = check(
      c.socket(
        PACKET.AF_PACKET,
        PACKET.SOCK_RAW | PACKET.SOCK_NONBLOCK | PACKET.SOCK_CLOEXEC,
        htons(etherType),
      ),
      "socket AF_PACKET",
    );
    try {
      const sa = new StructView(SOCKADDR_LL);
      sa.set("sll_family", PACKET.AF_PACKET)
        .set("sll_protocol", htons(etherType))
        .set("sll_ifindex", ifindex);
      check(
        c.bind(fd, sa.bytes as Uint8Array<ArrayBuffer>, SOCKADDR_LL.size),
        `bind AF_PACKET ${ifname}`,
      );
      const one = new Uint8Array(new Int32Array([1]).buffer);
      check(
        c.setsockopt(
          fd,
          PACKET.SOL_PACKET,
          PACKET.PACKET_IGNORE_OUTGOING,
          one,
          4,
        ),
        "setsockopt PACKET_IGNORE_OUTGOING",
      );
      // Straight to the driver: a qdisc such as fq_codel drops frames that
      // wait too long (slow machines) yet reports success to sendto;
      // without it a full device queue is ENOBUFS, which send() retries.
      check(
        c.setsockopt(fd, PACKET.SOL_PACKET, PACKET.PACKET_QDISC_BYPASS, one, 4),
        "setsockopt PACKET_QDISC_BYPASS",
      );
      const size = new Uint8Array(new Int32Array([4 << 20]).buffer);
      // Best effort: FORCE needs CAP_NET_ADMIN.
      if (
        c.setsockopt(fd, PACKET.SOL_SOCKET, PACKET.SO_RCVBUFFORCE, size, 4) < 0
      ) c.setsockopt(fd, PACKET.SOL_SOCKET, PACKET.SO_RCVBUF, size, 4);
      if (
        c.setsockopt(fd, PACKET.SOL_SOCKET, PACKET.SO_SNDBUFFORCE, size, 4) < 0
      ) c.setsockopt(fd, PACKET.SOL_SOCKET, PACKET.SO_SNDBUF, size, 4);
    } catch (err) {
      close(fd);
      throw err;
    }
    return new PacketSocket(fd, ifindex);
  }

  /**
   * Sends one whole frame; returns false when the device queue is full
   * (EAGAIN/ENOBUFS: retry later), throws on other errors.
   */
  send(frame: Uint8Array<ArrayBuffer>): boolean {
    const n = libc().sendto(
      this.fd,
      frame,
      BigInt(frame.length),
      0,
      null,
      0,
    );
    if (n >= 0n) return true;
    const e = errno();
    if (e === EAGAIN || e === ENOBUFS) return false;
    throw new ErrnoError("sendto AF_PACKET", e);
  }

  /** Receives one frame into `buf`; returns its length, or -1 if none. */
  recv(buf: Uint8Array<ArrayBuffer>): number {
    const n = libc().recvfrom(
      this.fd,
      buf,
      BigInt(buf.length),
      PACKET.MSG_DONTWAIT,
      null,
      null,
    );
    if (n >= 0n) return Number(n);
    const e = errno();
    if (e === EAGAIN) return -1;
    throw new ErrnoError("recvfrom AF_PACKET", e);
  }

  /** Closes the socket. */
  close(): void {
    close(this.fd);
  }
}
