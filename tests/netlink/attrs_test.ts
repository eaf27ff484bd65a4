import assert from "node:assert/strict";
import {
  type Attr,
  type AttrTable,
  decodeAttrs,
  encodeAttrs,
} from "../../lib/netlink/attrs.ts";
import { devAddAttrs, VDPA_ATTRS } from "../../lib/vdpa/mod.ts";
import { hex } from "./bytes.ts";

Deno.test("a BUS/NAME management device gives both handle attributes", () => {
  const attrs = decodeAttrs(
    encodeAttrs(
      devAddAttrs({ name: "v", mgmtdev: "pci/0000:00:04.0" }),
      VDPA_ATTRS,
    ),
    VDPA_ATTRS,
  );
  assert.deepEqual(attrs.map((a) => [a.name, a.value]), [
    ["MGMTDEV_BUS_NAME", "pci"],
    ["MGMTDEV_DEV_NAME", "0000:00:04.0"],
    ["DEV_NAME", "v"],
  ]);
});

Deno.test("nested attributes, u8, flag and u64 round-trip through a table", () => {
  const inner: AttrTable = {
    1: { name: "A", type: "u8" },
    2: { name: "F", type: "flag" },
  };
  const table: AttrTable = {
    1: { name: "N", type: "nested", nested: inner },
    2: { name: "Q", type: "u64" },
  };
  const bytes = encodeAttrs([
    ["N", [["A", 7], ["F", true]]],
    ["Q", 0xfedcba9876543210n],
  ], table);
  assert.deepEqual(
    bytes,
    hex(`
      10 00 01 80  05 00 01 00 07 00 00 00  04 00 02 00
      0c 00 02 00  10 32 54 76 98 ba dc fe`),
  );
  const back = decodeAttrs(bytes, table);
  assert.equal(back[0].name, "N");
  assert.deepEqual(
    (back[0].value as readonly Attr[]).map((
      a,
    ) => [a.name, a.value]),
    [["A", 7], ["F", true]],
  );
  assert.equal(back[1].value, 0xfedcba9876543210n);
  assert.deepEqual(encodeAttrs([["F", false]], inner), new Uint8Array(0));
  assert.throws(() => encodeAttrs([["A", 256]], inner), RangeError);
  assert.throws(
    () => encodeAttrs([["nope", 1]], inner),
    /unknown netlink attribute nope/,
  );
});

Deno.test("a truncated attribute ends decoding without inventing data", () => {
  assert.deepEqual(decodeAttrs(hex("08 00 05 00 01 00"), VDPA_ATTRS), []);
  assert.throws(
    () => decodeAttrs(hex("05 00 05 00 01 00 00 00"), VDPA_ATTRS),
    /DEV_ID: 1 bytes, u32 needs 4/,
  );
});
