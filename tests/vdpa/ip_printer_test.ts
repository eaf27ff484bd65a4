import assert from "node:assert/strict";
import { IpPrinter } from "../../lib/vdpa/ip_printer.ts";

Deno.test("IpPrinter escapes like iproute2's json_writer (C escapes only)", () => {
  const p = new IpPrinter({ json: true });
  p.openObject(null);
  p.string("k\t", 'a"b\\c\nd/é', { text: "" });
  p.closeObject();
  assert.equal(p.finish(), '{"k\\t":"a\\"b\\\\c\\nd/é"}\n');
});
