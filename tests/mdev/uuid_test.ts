/**
 * mdev UUIDs (lib/mdev/uuid.ts): the forms mdevctl accepts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseMdevUuid } from "../../lib/mdev/uuid.ts";

Deno.test("mdevctl's UUID forms are accepted, others refused", () => {
  const c = "11111111-2222-3333-4444-555555555555";
  for (
    const s of [
      c,
      c.toUpperCase(),
      c.replaceAll("-", ""),
      `urn:uuid:${c}`,
      `{${c}}`,
    ]
  ) {
    assert.equal(parseMdevUuid(s), c, s);
  }
  for (
    const s of [
      `URN:UUID:${c}`,
      `{${c.replaceAll("-", "")}}`,
      `{${c}`,
      c.slice(1),
      "",
    ]
  ) {
    assert.equal(parseMdevUuid(s), undefined, s);
  }
});
