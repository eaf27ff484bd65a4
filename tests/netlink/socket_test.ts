import assert from "node:assert/strict";
import { attrRecord, encodeAttrs } from "../../lib/netlink/attrs.ts";
import { decodeGenl, NetlinkError } from "../../lib/netlink/message.ts";
import {
  CTRL_ATTRS,
  CTRL_FAMILY,
  GENL_OP_FLAGS,
  GenlSocket,
} from "../../lib/netlink/socket.ts";
import { NL } from "../../lib/netlink/uapi.ts";
import { errnoCode } from "../../lib/errors.ts";

Deno.test("host kernel: the controller resolves itself; an absent family gives ENOENT", async () => {
  const s = GenlSocket.open();
  try {
    const ctrl = s.resolveFamily("nlctrl");
    assert.equal(ctrl.id, NL.GENL_ID_CTRL);
    assert.ok(ctrl.version >= 1);
    assert.throws(
      () => s.resolveFamily("vdevctl-absent"),
      (e: unknown) => e instanceof NetlinkError && e.code === "ENOENT",
    );
    // The socket still works after an error, synchronously and asynchronously.
    const [again] = await s.requestAsync({
      family: CTRL_FAMILY,
      cmd: NL.CTRL_CMD_GETFAMILY,
      attrs: encodeAttrs([["FAMILY_NAME", "nlctrl"]], CTRL_ATTRS),
    });
    assert.equal(
      attrRecord(decodeGenl(again, CTRL_ATTRS).attrs).FAMILY_NAME,
      "nlctrl",
    );
    // A dump of every family: multipart, ends at NLMSG_DONE.
    const all = s.request({
      family: CTRL_FAMILY,
      cmd: NL.CTRL_CMD_GETFAMILY,
      dump: true,
    });
    const names = all.map((m) =>
      attrRecord(decodeGenl(m, CTRL_ATTRS).attrs).FAMILY_NAME
    );
    assert.ok(names.includes("nlctrl"), `families: ${names.join(",")}`);
  } finally {
    s.close();
  }
});

Deno.test("host kernel: concurrent async requests on one socket take turns", async () => {
  const s = GenlSocket.open();
  try {
    const ask = (name: string) =>
      s.requestAsync({
        family: CTRL_FAMILY,
        cmd: NL.CTRL_CMD_GETFAMILY,
        attrs: encodeAttrs([["FAMILY_NAME", name]], CTRL_ATTRS),
        what: `family ${name}`,
      });
    const [a, bad, b] = await Promise.allSettled([
      ask("nlctrl"),
      ask("vdevctl-absent"),
      ask("nlctrl"),
    ]);
    for (const r of [a, b]) {
      assert.equal(r.status, "fulfilled");
      if (r.status === "fulfilled") {
        assert.equal(
          attrRecord(decodeGenl(r.value[0], CTRL_ATTRS).attrs).FAMILY_ID,
          NL.GENL_ID_CTRL,
        );
      }
    }
    assert.equal(bad.status, "rejected");
    if (bad.status === "rejected") {
      assert.equal(errnoCode(bad.reason), "ENOENT");
    }
    // A synchronous request while an asynchronous one is pending is refused.
    const pending = ask("nlctrl");
    assert.throws(
      () => s.resolveFamily("nlctrl"),
      /busy with an asynchronous request/,
    );
    await pending;
    assert.equal(s.resolveFamily("nlctrl").id, NL.GENL_ID_CTRL);
  } finally {
    s.close();
  }
});

Deno.test("host kernel: describeFamily lists the controller's own commands and flags", () => {
  const s = GenlSocket.open();
  try {
    const ctrl = s.describeFamily("nlctrl");
    assert.equal(ctrl.id, NL.GENL_ID_CTRL);
    const getFamily = ctrl.ops.find((o) => o.cmd === NL.CTRL_CMD_GETFAMILY);
    assert.ok(getFamily, JSON.stringify(ctrl.ops));
    // GETFAMILY can be done and dumped, by anyone.
    assert.equal(
      getFamily.flags & (GENL_OP_FLAGS.CMD_CAP_DO | GENL_OP_FLAGS.CMD_CAP_DUMP),
      GENL_OP_FLAGS.CMD_CAP_DO | GENL_OP_FLAGS.CMD_CAP_DUMP,
    );
    assert.equal(getFamily.flags & GENL_OP_FLAGS.ADMIN_PERM, 0);
    assert.equal(new Set(ctrl.ops.map((o) => o.cmd)).size, ctrl.ops.length);
  } finally {
    s.close();
  }
});
