/**
 * A generic-netlink client over Deno's FFI: a NETLINK_GENERIC socket
 * (CLOEXEC, extended ACKs on), family resolution through the controller
 * (CTRL_CMD_GETFAMILY), "do" and "dump" requests with sequence numbers,
 * multipart replies (NLM_F_MULTI ... NLMSG_DONE), ACKs, and NLMSG_ERROR
 * turned into a `NetlinkError` (`./message.ts`) that carries the errno name and the
 * kernel's extended-ACK message (NLMSGERR_ATTR_MSG).
 *
 * Requests can be synchronous ({@linkcode GenlSocket.request}) or
 * asynchronous ({@linkcode GenlSocket.requestAsync}): the latter sends on
 * another thread and waits for the reply with a nonblocking poll, so the
 * JavaScript thread stays free while the kernel processes the request inside
 * the send system call (needed when the request waits for this very process,
 * as `vdpa dev add` of a VDUSE device does).
 *
 * @module
 */

import { check, close, libc, POLL, pollAsync } from "../sys/mod.ts";
import {
  type Attr,
  attrRecord,
  type AttrTable,
  decodeAttrs,
  encodeAttrs,
  nlAlign,
} from "./attrs.ts";
import {
  decodeGenl,
  encodeGenlRequest,
  type NlMsg,
  ReplyCollector,
} from "./message.ts";
import { NL } from "./uapi.ts";

/** A resolved generic-netlink family. */
export interface FamilyInfo {
  /** Family name, e.g. "vdpa". */
  readonly name: string;
  /** Numeric id to use as nlmsg_type. */
  readonly id: number;
  /** Family version. */
  readonly version: number;
}

/** The controller family's attributes (CTRL_ATTR_*), as data. */
export const CTRL_ATTRS: AttrTable = {
  1: { name: "FAMILY_ID", type: "u16" },
  2: { name: "FAMILY_NAME", type: "string" },
  3: { name: "VERSION", type: "u32" },
  4: { name: "HDRSIZE", type: "u32" },
  5: { name: "MAXATTR", type: "u32" },
  6: { name: "OPS", type: "nested" },
  7: { name: "MCAST_GROUPS", type: "nested" },
};

/** One entry of CTRL_ATTR_OPS (CTRL_ATTR_OP_*). */
const CTRL_OP_ATTRS: AttrTable = {
  1: { name: "ID", type: "u32" },
  2: { name: "FLAGS", type: "u32" },
};

/** GENL_* op flags (include/uapi/linux/genetlink.h). */
export const GENL_OP_FLAGS = {
  ADMIN_PERM: 0x01,
  CMD_CAP_DO: 0x02,
  CMD_CAP_DUMP: 0x04,
  CMD_CAP_HASPOL: 0x08,
  UNS_ADMIN_PERM: 0x10,
} as const;

/** A command a generic-netlink family implements. */
export interface FamilyOp {
  /** Command number. */
  readonly cmd: number;
  /** GENL_* flags ({@linkcode GENL_OP_FLAGS}). */
  readonly flags: number;
}

/** A resolved family with the commands the kernel implements for it. */
export interface FamilyDescription extends FamilyInfo {
  /** The family's commands (CTRL_ATTR_OPS). */
  readonly ops: readonly FamilyOp[];
}

/**
 * An asynchronous request that could not be sent or got no reply in time:
 * what the kernel did with it is unknown.
 */
export class NetlinkTransportError extends Error {
  /** An error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "NetlinkTransportError";
  }
}

/** One generic-netlink request. */
export interface GenlRequest {
  /** The resolved family. */
  readonly family: FamilyInfo;
  /** Command number. */
  readonly cmd: number;
  /** Encoded attributes (see {@linkcode encodeAttrs}). */
  readonly attrs?: Uint8Array;
  /** Dump (NLM_F_DUMP) instead of do. */
  readonly dump?: boolean;
  /** Names the request in errors, e.g. "vdpa dev add sim0". */
  readonly what?: string;
}

/** Options of {@linkcode GenlSocket.requestAsync}. */
export interface AsyncRequestOptions {
  /**
   * Give up waiting for the reply after this long once the send has
   * returned (default 120 s). The send itself is not limited: the kernel
   * runs the command inside it (VDUSE bounds that by its msg_timeout).
   */
  readonly timeoutMs?: number;
}

/** The generic-netlink controller ("nlctrl"), whose id is fixed. */
export const CTRL_FAMILY: FamilyInfo = {
  name: "nlctrl",
  id: NL.GENL_ID_CTRL,
  version: 1,
};

function sockaddrNl(): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(12);
  new DataView(b.buffer).setUint16(0, NL.AF_NETLINK, true);
  return b;
}

/** A NETLINK_GENERIC socket. Close it with {@linkcode GenlSocket.close}. */
export class GenlSocket {
  #fd: number;
  #seq: number;
  #buf = new Uint8Array(65536);
  /** The asynchronous request in flight (requests on one socket take turns). */
  #inFlight: Promise<unknown> = Promise.resolve();
  #asyncPending = 0;

  private constructor(fd: number) {
    this.#fd = fd;
    this.#seq = (Date.now() / 1000) >>> 0;
  }

  /**
   * Opens a NETLINK_GENERIC socket (SOCK_CLOEXEC), asks for extended ACKs
   * (NETLINK_EXT_ACK) and capped ACKs (NETLINK_CAP_ACK), and binds it.
   */
  static open(): GenlSocket {
    const c = libc();
    const fd = check(
      c.socket(
        NL.AF_NETLINK,
        NL.SOCK_RAW | NL.SOCK_CLOEXEC,
        NL.NETLINK_GENERIC,
      ),
      "socket NETLINK_GENERIC",
    );
    try {
      const one = new Uint8Array(4);
      new DataView(one.buffer).setInt32(0, 1, true);
      // Extended ACKs are best effort: old kernels lack them, messages still work.
      c.setsockopt(fd, NL.SOL_NETLINK, NL.NETLINK_EXT_ACK, one, 4);
      c.setsockopt(fd, NL.SOL_NETLINK, NL.NETLINK_CAP_ACK, one, 4);
      check(c.bind(fd, sockaddrNl(), 12), "bind netlink socket");
    } catch (err) {
      close(fd);
      throw err;
    }
    return new GenlSocket(fd);
  }

  /** Closes the socket (idempotent). */
  close(): void {
    close(this.#fd);
    this.#fd = -1;
  }

  #prepare(
    req: GenlRequest,
  ): { bytes: Uint8Array<ArrayBuffer>; collector: ReplyCollector } {
    if (this.#fd < 0) throw new Error("netlink socket is closed");
    const seq = this.#seq = (this.#seq + 1) >>> 0;
    const flags = NL.NLM_F_REQUEST | NL.NLM_F_ACK |
      (req.dump ? NL.NLM_F_DUMP : 0);
    const bytes = encodeGenlRequest(
      {
        family: req.family.id,
        cmd: req.cmd,
        version: req.family.version,
        flags,
        seq,
      },
      req.attrs,
    );
    return {
      bytes,
      collector: new ReplyCollector(
        seq,
        req.what ?? `${req.family.name} command ${req.cmd}`,
      ),
    };
  }

  /** Receives one datagram (blocking unless `flags` has MSG_DONTWAIT). */
  #recv(flags: number): Uint8Array {
    const c = libc();
    // Peek with MSG_TRUNC for the real size so a big datagram is never cut.
    const size = Number(check(
      c.recvfrom(
        this.#fd,
        this.#buf,
        BigInt(this.#buf.length),
        flags | NL.MSG_PEEK | NL.MSG_TRUNC,
        null,
        null,
      ),
      "recvfrom netlink",
    ));
    if (size > this.#buf.length) this.#buf = new Uint8Array(nlAlign(size));
    const n = Number(check(
      c.recvfrom(
        this.#fd,
        this.#buf,
        BigInt(this.#buf.length),
        flags,
        null,
        null,
      ),
      "recvfrom netlink",
    ));
    return this.#buf.slice(0, n);
  }

  /** Sends `req` and returns the reply's data messages (blocks the thread). */
  request(req: GenlRequest): NlMsg[] {
    if (this.#asyncPending > 0) {
      throw new Error(
        "netlink socket busy with an asynchronous request: await it first",
      );
    }
    const { bytes, collector } = this.#prepare(req);
    check(
      libc().sendto(this.#fd, bytes, BigInt(bytes.length), 0, sockaddrNl(), 12),
      "sendto netlink",
    );
    while (!collector.done) collector.feed(this.#recv(0));
    return collector.messages;
  }

  /**
   * Sends `req` on another thread (nonblocking FFI) and waits for the reply
   * with a nonblocking poll, so the event loop keeps running while the kernel
   * processes the request inside sendmsg. errno is meaningless after the
   * nonblocking send: the outcome comes from the ACK. Concurrent calls on
   * one socket are queued, so no reply is taken by the wrong caller.
   */
  requestAsync(
    req: GenlRequest,
    options: AsyncRequestOptions = {},
  ): Promise<NlMsg[]> {
    this.#asyncPending++;
    const turn = this.#inFlight.catch(() => {}).then(() =>
      this.#requestAsync(req, options)
    );
    this.#inFlight = turn;
    return turn.finally(() => this.#asyncPending--);
  }

  async #requestAsync(
    req: GenlRequest,
    options: AsyncRequestOptions,
  ): Promise<NlMsg[]> {
    const { bytes, collector } = this.#prepare(req);
    const addr = sockaddrNl();
    const sent = await libc().sendto_nb(
      this.#fd,
      bytes,
      BigInt(bytes.length),
      0,
      addr,
      12,
    );
    if (sent < 0) {
      throw new NetlinkTransportError(
        `${collector.what}: sending the netlink request failed`,
      );
    }
    const timeoutMs = options.timeoutMs ?? 120_000;
    while (!collector.done) {
      const [revents] = await pollAsync([[this.#fd, POLL.IN]], timeoutMs);
      if (!(revents & POLL.IN)) {
        throw new NetlinkTransportError(
          `${collector.what}: no netlink reply within ${timeoutMs} ms`,
        );
      }
      collector.feed(this.#recv(NL.MSG_DONTWAIT));
    }
    return collector.messages;
  }

  /**
   * Resolves family `name` with CTRL_CMD_GETFAMILY. Throws a NetlinkError
   * with code ENOENT when the kernel has no such family (module not loaded).
   */
  resolveFamily(name: string): FamilyInfo {
    const { id, version } = this.describeFamily(name);
    return { name, id, version };
  }

  /**
   * Resolves family `name` as {@linkcode GenlSocket.resolveFamily} does and
   * also returns the commands the kernel implements for it (CTRL_ATTR_OPS:
   * each op's command number and GENL_* flags, e.g. GENL_ADMIN_PERM).
   */
  describeFamily(name: string): FamilyDescription {
    const [reply] = this.request({
      family: CTRL_FAMILY,
      cmd: NL.CTRL_CMD_GETFAMILY,
      attrs: encodeAttrs([["FAMILY_NAME", name]], CTRL_ATTRS),
      what: `generic netlink family ${name}`,
    });
    if (!reply) throw new Error(`generic netlink family ${name}: empty reply`);
    const rec = attrRecord(decodeGenl(reply, CTRL_ATTRS).attrs);
    if (typeof rec.FAMILY_ID !== "number") {
      throw new Error(`generic netlink family ${name}: reply without an id`);
    }
    const ops: FamilyOp[] = [];
    if (Array.isArray(rec.OPS)) {
      for (const entry of rec.OPS as readonly Attr[]) {
        if (!(entry.value instanceof Uint8Array)) continue;
        const op = attrRecord(decodeAttrs(entry.value, CTRL_OP_ATTRS));
        if (typeof op.ID !== "number") continue;
        ops.push({
          cmd: op.ID,
          flags: typeof op.FLAGS === "number" ? op.FLAGS : 0,
        });
      }
    }
    return {
      name,
      id: rec.FAMILY_ID,
      version: typeof rec.VERSION === "number" ? rec.VERSION : 1,
      ops,
    };
  }
}
