/**
 * Netlink messages: the 16-byte nlmsghdr and the generic-netlink header
 * around encoded attributes, splitting datagrams into messages, NLMSG_ERROR
 * and NLMSG_DONE statuses with the kernel's extended-ACK text, and
 * {@linkcode ReplyCollector}, which tells when the reply to one request is
 * complete (ACK for "do", NLMSG_DONE for "dump") and turns an error reply
 * into a {@linkcode NetlinkError} carrying the errno name.
 *
 * @module
 */

import { ERRNO } from "../errno.ts";
import {
  type Attr,
  attrRecord,
  type AttrTable,
  decodeAttrs,
  nlAlign,
} from "./attrs.ts";
import { NL } from "./uapi.ts";

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
