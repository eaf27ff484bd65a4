import assert from "node:assert/strict";
import {
  attrRecord,
  type AttrTable,
  concat,
  encodeAttrs,
} from "../../lib/netlink/attrs.ts";
import {
  decodeGenl,
  encodeGenlRequest,
  encodeNlmsg,
  NetlinkError,
  parseNlmsgDone,
  parseNlmsgerr,
  parseNlmsgs,
  ReplyCollector,
} from "../../lib/netlink/message.ts";
import { CTRL_ATTRS } from "../../lib/netlink/socket.ts";
import { NL } from "../../lib/netlink/uapi.ts";
import { devAddAttrs, VDPA_ATTRS, VDPA_CMD } from "../../lib/vdpa/mod.ts";
import { errnoCode } from "../../lib/errors.ts";
import { ascii, hex } from "./bytes.ts";

Deno.test("CTRL_CMD_GETFAMILY request for vdpa, byte for byte", () => {
  const got = encodeGenlRequest(
    {
      family: NL.GENL_ID_CTRL,
      cmd: NL.CTRL_CMD_GETFAMILY,
      version: 1,
      flags: NL.NLM_F_REQUEST | NL.NLM_F_ACK,
      seq: 1,
    },
    encodeAttrs([["FAMILY_NAME", "vdpa"]], CTRL_ATTRS),
  );
  assert.deepEqual(
    got,
    hex(`
      20 00 00 00  10 00  05 00  01 00 00 00  00 00 00 00
      03 01 00 00
      09 00 02 00  76 64 70 61 00 00 00 00`),
  );
});

Deno.test("vdpa DEV_NEW attributes (mgmtdev, name, mac, mtu, max_vqp), byte for byte", () => {
  const attrs = encodeAttrs(
    devAddAttrs({
      name: "sim0",
      mgmtdev: "vdpasim_net",
      mac: "52:54:00:00:00:01",
      mtu: 1500,
      maxVqp: 2,
    }),
    VDPA_ATTRS,
  );
  assert.deepEqual(
    attrs,
    hex(`
      10 00 02 00  ${ascii("vdpasim_net")} 00
      09 00 04 00  ${ascii("sim0")} 00 00 00 00
      0a 00 0a 00  52 54 00 00 00 01 00 00
      06 00 0d 00  dc 05 00 00
      06 00 0c 00  02 00 00 00`),
  );
  const msg = encodeGenlRequest({
    family: 0x1b,
    cmd: VDPA_CMD.DEV_NEW,
    version: 1,
    flags: NL.NLM_F_REQUEST | NL.NLM_F_ACK,
    seq: 0x01020304,
  }, attrs);
  assert.deepEqual(
    msg.subarray(0, 20),
    hex("4c 00 00 00 1b 00 05 00 04 03 02 01 00 00 00 00 03 01 00 00"),
  );
  assert.equal(msg.length, 16 + 4 + attrs.length);
});

Deno.test("dump request flags: REQUEST|ACK|DUMP = 0x305", () => {
  const msg = encodeGenlRequest({
    family: 0x1b,
    cmd: VDPA_CMD.MGMTDEV_GET,
    version: 1,
    flags: NL.NLM_F_REQUEST | NL.NLM_F_ACK | NL.NLM_F_DUMP,
    seq: 7,
  });
  assert.deepEqual(
    msg,
    hex("14 00 00 00 1b 00 05 03 07 00 00 00 00 00 00 00 02 01 00 00"),
  );
});

Deno.test("decode a dev-show reply: strings, u16, u32, u64, pad, unknown ids", () => {
  const payload = hex(`
    03 01 00 00
    10 00 02 00  ${ascii("vdpasim_net")} 00
    09 00 04 00  ${ascii("sim0")} 00 00 00 00
    08 00 05 00  01 00 00 00
    08 00 06 00  00 00 00 00
    08 00 07 00  03 00 00 00
    06 00 08 00  00 01 00 00
    0c 00 10 00  20 00 00 28 03 00 00 00
    04 00 00 00
    05 00 63 00  aa 00 00 00`);
  const [msg] = parseNlmsgs(
    encodeNlmsg({ type: 0x1b, flags: 0, seq: 9 }, payload),
  );
  const g = decodeGenl(msg, VDPA_ATTRS);
  assert.equal(g.cmd, VDPA_CMD.DEV_NEW);
  assert.equal(g.version, 1);
  const rec = attrRecord(g.attrs);
  assert.equal(rec.MGMTDEV_DEV_NAME, "vdpasim_net");
  assert.equal(rec.DEV_NAME, "sim0");
  assert.equal(rec.DEV_ID, 1);
  assert.equal(rec.DEV_VENDOR_ID, 0);
  assert.equal(rec.DEV_MAX_VQS, 3);
  assert.equal(rec.DEV_MAX_VQ_SIZE, 256);
  assert.equal(rec.DEV_SUPPORTED_FEATURES, 0x0000000328000020n);
  assert.deepEqual(rec.PAD, new Uint8Array(0));
  assert.deepEqual(rec.unknown_99, new Uint8Array([0xaa]));
  assert.deepEqual(g.attrs.map((a) => a.id), [2, 4, 5, 6, 7, 8, 16, 0, 99]);
});

function reply(seq: number, flags: number, name: string): Uint8Array {
  return encodeNlmsg(
    { type: 0x1b, flags, seq },
    concat([hex("05 01 00 00"), encodeAttrs([["DEV_NAME", name]], VDPA_ATTRS)]),
  );
}

function done(
  seq: number,
  error = 0,
  tlvs: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const p = new Uint8Array(4 + tlvs.length);
  new DataView(p.buffer).setInt32(0, error, true);
  p.set(tlvs, 4);
  return encodeNlmsg(
    {
      type: NL.NLMSG_DONE,
      flags: NL.NLM_F_MULTI | (tlvs.length ? NL.NLM_F_ACK_TLVS : 0),
      seq,
    },
    p,
  );
}

Deno.test("multipart dump over two datagrams ends at NLMSG_DONE; other seqs ignored", () => {
  const c = new ReplyCollector(5, "vdpa dev show");
  c.feed(
    concat([
      reply(5, NL.NLM_F_MULTI, "a"),
      reply(4, NL.NLM_F_MULTI, "stale"),
      reply(5, NL.NLM_F_MULTI, "b"),
    ]),
  );
  assert.equal(c.done, false);
  c.feed(concat([reply(5, NL.NLM_F_MULTI, "c"), done(5)]));
  assert.equal(c.done, true);
  assert.deepEqual(
    c.messages.map((m) => attrRecord(decodeGenl(m, VDPA_ATTRS).attrs).DEV_NAME),
    ["a", "b", "c"],
  );
  // Anything after the end is ignored.
  c.feed(reply(5, NL.NLM_F_MULTI, "late"));
  assert.equal(c.messages.length, 3);
});

/** An NLMSG_ERROR: error, echoed request (capped or whole), extack TLVs. */
function nlerr(
  error: number,
  request: Uint8Array,
  options: { capped: boolean; msg?: string; offs?: number },
): Uint8Array {
  const echoed = options.capped ? request.subarray(0, 16) : request;
  const tlvTable: AttrTable = {
    1: { name: "MSG", type: "string" },
    2: { name: "OFFS", type: "u32" },
  };
  const pairs: [string, string | number][] = [];
  if (options.msg !== undefined) pairs.push(["MSG", options.msg]);
  if (options.offs !== undefined) pairs.push(["OFFS", options.offs]);
  const tlvs = encodeAttrs(pairs, tlvTable);
  const head = new Uint8Array(4);
  new DataView(head.buffer).setInt32(0, error, true);
  const flags = (options.capped ? NL.NLM_F_CAPPED : 0) |
    (tlvs.length ? NL.NLM_F_ACK_TLVS : 0);
  return encodeNlmsg(
    { type: NL.NLMSG_ERROR, flags, seq: 3 },
    concat([head, echoed, tlvs]),
  );
}

Deno.test("NLMSG_ERROR with a capped echo and extack message, byte for byte", () => {
  const request = encodeGenlRequest(
    { family: 0x1b, cmd: VDPA_CMD.DEV_DEL, version: 1, flags: 5, seq: 3 },
    encodeAttrs([["DEV_NAME", "nope"]], VDPA_ATTRS),
  );
  const bytes = nlerr(-19, request, {
    capped: true,
    msg: "vdpa: device not found",
  });
  assert.deepEqual(
    bytes,
    hex(`
      40 00 00 00  02 00  00 03  03 00 00 00  00 00 00 00
      ed ff ff ff
      20 00 00 00 1b 00 05 00 03 00 00 00 00 00 00 00
      1b 00 01 00  ${ascii("vdpa: device not found")} 00 00`),
  );
  const [msg] = parseNlmsgs(bytes);
  assert.deepEqual(parseNlmsgerr(msg), {
    error: -19,
    message: "vdpa: device not found",
  });
  const c = new ReplyCollector(3, "vdpa dev del nope");
  assert.throws(
    () => c.feed(bytes),
    (e: unknown) =>
      e instanceof NetlinkError && e.code === "ENODEV" &&
      errnoCode(e) === "ENODEV" &&
      e.extack === "vdpa: device not found" &&
      e.message === "vdpa dev del nope: vdpa: device not found (ENODEV)",
  );
  assert.equal(c.done, true);
});

Deno.test("NLMSG_ERROR with the whole request echoed (not capped): TLVs found after it", () => {
  const request = encodeGenlRequest(
    { family: 0x1b, cmd: VDPA_CMD.DEV_NEW, version: 1, flags: 5, seq: 3 },
    encodeAttrs([["DEV_NAME", "x"], ["DEV_NET_CFG_MTU", 9000]], VDPA_ATTRS),
  );
  const [msg] = parseNlmsgs(
    nlerr(-95, request, {
      capped: false,
      msg: "vdpa: All provided attributes are not supported",
      offs: 28,
    }),
  );
  assert.deepEqual(parseNlmsgerr(msg), {
    error: -95,
    message: "vdpa: All provided attributes are not supported",
    offset: 28,
  });
});

Deno.test("an error without extack gives the errno text; an ACK ends a do request", () => {
  const request = encodeGenlRequest({
    family: 0x1b,
    cmd: 3,
    version: 1,
    flags: 5,
    seq: 3,
  });
  const c = new ReplyCollector(3, "vdpa dev add sim0");
  assert.throws(
    () => c.feed(nlerr(-17, request, { capped: true })),
    (e: unknown) =>
      e instanceof NetlinkError &&
      e.message === "vdpa dev add sim0: File exists (EEXIST)",
  );
  const ok = new ReplyCollector(3, "x");
  ok.feed(concat([reply(3, 0, "sim0"), nlerr(0, request, { capped: true })]));
  assert.equal(ok.done, true);
  assert.equal(ok.messages.length, 1);
});

Deno.test("NLMSG_DONE carrying a dump error and its extack message", () => {
  const tlvs = encodeAttrs([[
    "MSG",
    "vdpa: Features negotiation not completed",
  ]], {
    1: { name: "MSG", type: "string" },
  });
  const bytes = done(8, -11, tlvs);
  const [msg] = parseNlmsgs(bytes);
  assert.deepEqual(parseNlmsgDone(msg), {
    error: -11,
    message: "vdpa: Features negotiation not completed",
  });
  const c = new ReplyCollector(8, "vdpa dev config show");
  assert.throws(() => c.feed(bytes), (e: unknown) => errnoCode(e) === "EAGAIN");
});
