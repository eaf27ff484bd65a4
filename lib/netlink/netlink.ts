/**
 * A generic-netlink client over Deno's FFI: a NETLINK_GENERIC socket
 * (CLOEXEC, extended ACKs on), family resolution through the controller
 * (CTRL_CMD_GETFAMILY), "do" and "dump" requests with sequence numbers,
 * multipart replies (NLM_F_MULTI ... NLMSG_DONE), ACKs, and NLMSG_ERROR
 * turned into a {@linkcode NetlinkError} that carries the errno name and the
 * kernel's extended-ACK message (NLMSGERR_ATTR_MSG).
 *
 * Attributes are encoded and decoded by tables ({@linkcode AttrTable}) that
 * map attribute ids to names and types, so a family's UAPI header is mirrored
 * as data (see `lib/vdpa/uapi.ts`).
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

import { ERRNO } from "../errno.ts";
import { check, close, libc, POLL, pollAsync } from "../sys/mod.ts";

/** Netlink and generic-netlink constants (include/uapi/linux/netlink.h, genetlink.h). */
export const NL = {
  AF_NETLINK: 16,
  NETLINK_GENERIC: 16,
  SOCK_RAW: 3,
  SOCK_CLOEXEC: 0o2000000,
  SOL_NETLINK: 270,
  NETLINK_CAP_ACK: 10,
  NETLINK_EXT_ACK: 11,
  NLM_F_REQUEST: 0x1,
  NLM_F_MULTI: 0x2,
  NLM_F_ACK: 0x4,
  NLM_F_DUMP: 0x300,
  NLM_F_CAPPED: 0x100,
  NLM_F_ACK_TLVS: 0x200,
  NLMSG_NOOP: 1,
  NLMSG_ERROR: 2,
  NLMSG_DONE: 3,
  NLMSG_OVERRUN: 4,
  NLMSG_HDRLEN: 16,
  GENL_HDRLEN: 4,
  NLA_HDRLEN: 4,
  NLA_F_NESTED: 0x8000,
  NLA_TYPE_MASK: 0x3fff,
  NLMSGERR_ATTR_MSG: 1,
  NLMSGERR_ATTR_OFFS: 2,
  GENL_ID_CTRL: 0x10,
  CTRL_CMD_GETFAMILY: 3,
  MSG_PEEK: 0x2,
  MSG_TRUNC: 0x20,
  MSG_DONTWAIT: 0x40,
} as const;

/** How an attribute's payload is encoded. */
export type AttrType =
  | "u8"
  | "u16"
  | "u32"
  | "u64"
  | "string"
  | "binary"
  | "flag"
  | "nested";

/** One row of an attribute table. */
export interface AttrSpec {
  /** Name used in code, e.g. "DEV_NAME". */
  readonly name: string;
  /** Payload encoding. */
  readonly type: AttrType;
  /** Table of the nested attributes (type "nested"). */
  readonly nested?: AttrTable;
}

/** Attribute id → spec: a family's attribute enum as data. */
export type AttrTable = Readonly<Record<number, AttrSpec>>;

/**
 * A decoded attribute value: numbers for u8/u16/u32, bigint for u64, string,
 * bytes for binary (and unknown ids), true for a flag, a list for nested.
 */
export type AttrValue =
  | number
  | bigint
  | string
  | Uint8Array
  | boolean
  | readonly Attr[];

/** A decoded attribute, in message order. */
export interface Attr {
  /** Attribute id (flags masked off). */
  readonly id: number;
  /** Name from the table, or `unknown_ID`. */
  readonly name: string;
  /** Decoded payload. */
  readonly value: AttrValue;
}

/** A value to encode: u64 takes number or bigint, nested takes pairs. */
export type AttrInput =
  | number
  | bigint
  | string
  | Uint8Array
  | boolean
  | readonly (readonly [string, AttrInput])[];

/** A raw netlink message. */
export interface NlMsg {
  /** nlmsg_type (family id for generic netlink). */
  readonly type: number;
  /** nlmsg_flags. */
  readonly flags: number;
  /** nlmsg_seq. */
  readonly seq: number;
  /** nlmsg_pid. */
  readonly pid: number;
  /** Everything after the 16-byte header (nlmsg_len - 16 bytes). */
  readonly payload: Uint8Array;
}

/** A resolved generic-netlink family. */
export interface FamilyInfo {
  /** Family name, e.g. "vdpa". */
  readonly name: string;
  /** Numeric id to use as nlmsg_type. */
  readonly id: number;
  /** Family version. */
  readonly version: number;
  /** Family header size (0 for most). */
  readonly hdrsize: number;
  /** Highest attribute id the kernel knows. */
  readonly maxattr: number;
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

/** Errors in netlink messages: the errno (with name) and the kernel's extack text. */
export class NetlinkError extends Error {
  /** errno name, e.g. "ENODEV". */
  readonly code: string;
  /** errno number (positive). */
  readonly errno: number;
  /** The kernel's extended-ACK message, when it sent one. */
  readonly extack?: string;
  /** The errno's text, e.g. "No such device". */
  readonly reason: string;

  /** Creates an error for `errnum` (positive) with an optional extack message. */
  constructor(what: string, errnum: number, options: { extack?: string } = {}) {
    const [code, text] = ERRNO.get(errnum) ?? [`E${errnum}`, "Unknown error"];
    const detail = options.extack
      ? `${options.extack} (${code})`
      : `${text} (${code})`;
    super(`${what}: ${detail}`);
    this.name = "NetlinkError";
    this.code = code;
    this.errno = errnum;
    this.extack = options.extack;
    this.reason = text;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Rounds up to the 4-byte netlink alignment. */
export function nlAlign(n: number): number {
  return (n + 3) & ~3;
}

function specByName(table: AttrTable): Map<string, [number, AttrSpec]> {
  const m = new Map<string, [number, AttrSpec]>();
  for (const [id, spec] of Object.entries(table)) {
    m.set(spec.name, [Number(id), spec]);
  }
  return m;
}

function payloadOf(spec: AttrSpec, value: AttrInput): Uint8Array {
  const num = (bytes: number): Uint8Array => {
    if (typeof value !== "number" && typeof value !== "bigint") {
      throw new TypeError(`attribute ${spec.name} wants a number`);
    }
    const b = new Uint8Array(bytes);
    const dv = new DataView(b.buffer);
    const n = BigInt(value);
    if (n < 0n || n >= 1n << BigInt(bytes * 8)) {
      throw new RangeError(
        `attribute ${spec.name}: ${n} does not fit ${spec.type}`,
      );
    }
    if (bytes === 1) dv.setUint8(0, Number(n));
    else if (bytes === 2) dv.setUint16(0, Number(n), true);
    else if (bytes === 4) dv.setUint32(0, Number(n), true);
    else dv.setBigUint64(0, n, true);
    return b;
  };
  switch (spec.type) {
    case "u8":
      return num(1);
    case "u16":
      return num(2);
    case "u32":
      return num(4);
    case "u64":
      return num(8);
    case "string": {
      if (typeof value !== "string") {
        throw new TypeError(`attribute ${spec.name} wants a string`);
      }
      const s = encoder.encode(value);
      const b = new Uint8Array(s.length + 1);
      b.set(s);
      return b;
    }
    case "binary":
      if (!(value instanceof Uint8Array)) {
        throw new TypeError(`attribute ${spec.name} wants bytes`);
      }
      return value;
    case "flag":
      return new Uint8Array(0);
    case "nested":
      if (!Array.isArray(value)) {
        throw new TypeError(`attribute ${spec.name} wants nested attributes`);
      }
      return encodeAttrs(
        value as readonly (readonly [string, AttrInput])[],
        spec.nested ?? {},
      );
  }
}

/**
 * Encodes attributes given as `[name, value]` pairs (in that order) with
 * `table`; a flag whose value is `false` is left out. Each attribute is
 * padded to 4 bytes; the result's length is a multiple of 4.
 */
export function encodeAttrs(
  attrs: readonly (readonly [string, AttrInput])[],
  table: AttrTable,
): Uint8Array {
  const byName = specByName(table);
  const parts: Uint8Array[] = [];
  for (const [name, value] of attrs) {
    const found = byName.get(name);
    if (!found) throw new Error(`unknown netlink attribute ${name}`);
    const [id, spec] = found;
    if (spec.type === "flag" && value === false) continue;
    const payload = payloadOf(spec, value);
    const len = NL.NLA_HDRLEN + payload.length;
    const b = new Uint8Array(nlAlign(len));
    const dv = new DataView(b.buffer);
    dv.setUint16(0, len, true);
    dv.setUint16(2, spec.type === "nested" ? id | NL.NLA_F_NESTED : id, true);
    b.set(payload, NL.NLA_HDRLEN);
    parts.push(b);
  }
  return concat(parts);
}

function decodeValue(spec: AttrSpec | undefined, p: Uint8Array): AttrValue {
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const need = (n: number) => {
    if (p.length < n) {
      throw new Error(
        `netlink attribute ${spec?.name}: ${p.length} bytes, ${spec?.type} needs ${n}`,
      );
    }
  };
  switch (spec?.type) {
    case undefined:
    case "binary":
      return p.slice();
    case "u8":
      need(1);
      return dv.getUint8(0);
    case "u16":
      need(2);
      return dv.getUint16(0, true);
    case "u32":
      need(4);
      return dv.getUint32(0, true);
    case "u64":
      need(8);
      return dv.getBigUint64(0, true);
    case "string": {
      const nul = p.indexOf(0);
      return decoder.decode(nul < 0 ? p : p.subarray(0, nul));
    }
    case "flag":
      return true;
    case "nested":
      return decodeAttrs(p, spec.nested ?? {});
  }
}

/**
 * Decodes a run of attributes with `table`, in message order. Ids missing
 * from the table are kept as bytes named `unknown_ID`; a truncated attribute
 * ends the run (as the kernel's own parser does, nothing is invented).
 */
export function decodeAttrs(bytes: Uint8Array, table: AttrTable): Attr[] {
  const out: Attr[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  while (off + NL.NLA_HDRLEN <= bytes.length) {
    const len = dv.getUint16(off, true);
    const id = dv.getUint16(off + 2, true) & NL.NLA_TYPE_MASK;
    if (len < NL.NLA_HDRLEN || off + len > bytes.length) break;
    const spec = table[id];
    const p = bytes.subarray(off + NL.NLA_HDRLEN, off + len);
    out.push({
      id,
      name: spec?.name ?? `unknown_${id}`,
      value: decodeValue(spec, p),
    });
    off += nlAlign(len);
  }
  return out;
}

/** The attributes by name (the last one wins, as with libmnl's table parse). */
export function attrRecord(attrs: readonly Attr[]): Record<string, AttrValue> {
  const r: Record<string, AttrValue> = {};
  for (const a of attrs) r[a.name] = a.value;
  return r;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Encodes one netlink message: 16-byte header + payload (padded to 4). */
export function encodeNlmsg(
  msg: { type: number; flags: number; seq: number; pid?: number },
  payload: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const len = NL.NLMSG_HDRLEN + payload.length;
  const b = new Uint8Array(nlAlign(len));
  const dv = new DataView(b.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, msg.type, true);
  dv.setUint16(6, msg.flags, true);
  dv.setUint32(8, msg.seq >>> 0, true);
  dv.setUint32(12, (msg.pid ?? 0) >>> 0, true);
  b.set(payload, NL.NLMSG_HDRLEN);
  return b;
}

/**
 * Encodes a generic-netlink request: netlink header (type = family id),
 * genl header (cmd, version, reserved 0) and the encoded attributes.
 */
export function encodeGenlRequest(
  req: {
    family: number;
    cmd: number;
    version: number;
    flags: number;
    seq: number;
  },
  attrs: Uint8Array = new Uint8Array(0),
): Uint8Array<ArrayBuffer> {
  const body = new Uint8Array(NL.GENL_HDRLEN + attrs.length);
  body[0] = req.cmd;
  body[1] = req.version;
  body.set(attrs, NL.GENL_HDRLEN);
  return encodeNlmsg(
    { type: req.family, flags: req.flags, seq: req.seq },
    body,
  );
}

/** Splits a datagram into netlink messages (stops at a malformed header). */
export function parseNlmsgs(buf: Uint8Array): NlMsg[] {
  const out: NlMsg[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + NL.NLMSG_HDRLEN <= buf.length) {
    const len = dv.getUint32(off, true);
    if (len < NL.NLMSG_HDRLEN || off + len > buf.length) break;
    out.push({
      type: dv.getUint16(off + 4, true),
      flags: dv.getUint16(off + 6, true),
      seq: dv.getUint32(off + 8, true),
      pid: dv.getUint32(off + 12, true),
      payload: buf.subarray(off + NL.NLMSG_HDRLEN, off + len),
    });
    off += nlAlign(len);
  }
  return out;
}

/** A generic-netlink message decoded: genl header and attributes. */
export interface GenlMsg {
  /** genlmsghdr.cmd. */
  readonly cmd: number;
  /** genlmsghdr.version. */
  readonly version: number;
  /** Attributes in message order. */
  readonly attrs: readonly Attr[];
}

/** Decodes the genl header and attributes of `msg` with `table`. */
export function decodeGenl(msg: NlMsg, table: AttrTable): GenlMsg {
  if (msg.payload.length < NL.GENL_HDRLEN) {
    throw new Error("generic netlink message shorter than its header");
  }
  return {
    cmd: msg.payload[0],
    version: msg.payload[1],
    attrs: decodeAttrs(msg.payload.subarray(NL.GENL_HDRLEN), table),
  };
}

/** The contents of an NLMSG_ERROR (ACK when `error` is 0) or NLMSG_DONE. */
export interface NlStatus {
  /** 0 or a negative errno. */
  readonly error: number;
  /** NLMSGERR_ATTR_MSG, the kernel's extended-ACK text. */
  readonly message?: string;
  /** NLMSGERR_ATTR_OFFS, offset of the offending attribute in the request. */
  readonly offset?: number;
}

const EXTACK_ATTRS: AttrTable = {
  [NL.NLMSGERR_ATTR_MSG]: { name: "MSG", type: "string" },
  [NL.NLMSGERR_ATTR_OFFS]: { name: "OFFS", type: "u32" },
};

function extack(
  msg: NlMsg,
  tlvOffset: number,
): { message?: string; offset?: number } {
  if (!(msg.flags & NL.NLM_F_ACK_TLVS) || tlvOffset > msg.payload.length) {
    return {};
  }
  const rec = attrRecord(
    decodeAttrs(msg.payload.subarray(tlvOffset), EXTACK_ATTRS),
  );
  const out: { message?: string; offset?: number } = {};
  if (typeof rec.MSG === "string" && rec.MSG !== "") out.message = rec.MSG;
  if (typeof rec.OFFS === "number") out.offset = rec.OFFS;
  return out;
}

/**
 * Parses an NLMSG_ERROR message: the error, then the echoed request header
 * (whole request unless NLM_F_CAPPED), then extack TLVs (NLM_F_ACK_TLVS).
 */
export function parseNlmsgerr(msg: NlMsg): NlStatus {
  if (msg.payload.length < 4 + NL.NLMSG_HDRLEN) {
    throw new Error("truncated NLMSG_ERROR");
  }
  const dv = new DataView(
    msg.payload.buffer,
    msg.payload.byteOffset,
    msg.payload.byteLength,
  );
  const error = dv.getInt32(0, true);
  const echoed = msg.flags & NL.NLM_F_CAPPED
    ? NL.NLMSG_HDRLEN
    : dv.getUint32(4, true);
  return { error, ...extack(msg, 4 + nlAlign(echoed)) };
}

/** Parses an NLMSG_DONE message: the dump's final status and extack TLVs. */
export function parseNlmsgDone(msg: NlMsg): NlStatus {
  if (msg.payload.length < 4) return { error: 0 };
  const dv = new DataView(
    msg.payload.buffer,
    msg.payload.byteOffset,
    msg.payload.byteLength,
  );
  return { error: dv.getInt32(0, true), ...extack(msg, 4) };
}

/**
 * Feeds received messages of one request (sequence number `seq`) and tells
 * when the reply is complete: at the ACK (do) or at NLMSG_DONE (dump).
 * Messages of other sequence numbers are ignored; an error throws.
 */
export class ReplyCollector {
  /** The data messages received so far. */
  readonly messages: NlMsg[] = [];
  /** True once the terminating ACK or NLMSG_DONE has been seen. */
  done = false;

  /** Collects the reply to request `seq`; `what` names it in errors. */
  constructor(readonly seq: number, readonly what: string) {}

  /** Consumes one datagram; throws a NetlinkError for an error reply. */
  feed(datagram: Uint8Array): void {
    for (const msg of parseNlmsgs(datagram)) {
      if (msg.seq !== this.seq || this.done) continue;
      if (msg.type === NL.NLMSG_ERROR || msg.type === NL.NLMSG_DONE) {
        const st = msg.type === NL.NLMSG_ERROR
          ? parseNlmsgerr(msg)
          : parseNlmsgDone(msg);
        this.done = true;
        if (st.error !== 0) {
          throw new NetlinkError(this.what, Math.abs(st.error), {
            extack: st.message,
          });
        }
      } else if (msg.type !== NL.NLMSG_NOOP && msg.type !== NL.NLMSG_OVERRUN) {
        this.messages.push(msg);
      }
    }
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
  hdrsize: 0,
  maxattr: 10,
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

  /** The socket's file descriptor. */
  get fd(): number {
    return this.#fd;
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
    return {
      name,
      id: rec.FAMILY_ID,
      version: typeof rec.VERSION === "number" ? rec.VERSION : 1,
      hdrsize: typeof rec.HDRSIZE === "number" ? rec.HDRSIZE : 0,
      maxattr: typeof rec.MAXATTR === "number" ? rec.MAXATTR : 0,
    };
  }
}
