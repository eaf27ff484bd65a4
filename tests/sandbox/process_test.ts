/**
 * lib/sandbox/process.ts: shell quoting and the log tail quoted in errors.
 *
 * @module
 */

import assert from "node:assert/strict";
import { logTail, shQuote } from "../../lib/sandbox/process.ts";

Deno.test("shQuote: quotes only when needed, and single quotes safely", () => {
  assert.equal(shQuote("plain-word_1.2/x"), "plain-word_1.2/x");
  assert.equal(shQuote("it's"), `'it'\\''s'`);
  assert.equal(shQuote(""), "''");
});

Deno.test("logTail: the last non-empty lines, joined", () => {
  assert.equal(logTail("a\n\nb\nc\n", 2), "b | c");
});
