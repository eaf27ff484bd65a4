/**
 * lib/sandbox/process.ts: shell quoting, the log tail quoted in errors, and
 * the log of a host command in a folder not made yet (a fresh cache).
 *
 * @module
 */

import assert from "node:assert/strict";
import { logTail, runTool, shQuote } from "../../lib/sandbox/process.ts";

Deno.test("shQuote: quotes only when needed, and single quotes safely", () => {
  assert.equal(shQuote("plain-word_1.2/x"), "plain-word_1.2/x");
  assert.equal(shQuote("it's"), `'it'\\''s'`);
  assert.equal(shQuote(""), "''");
});

Deno.test("logTail: the last non-empty lines, joined", () => {
  assert.equal(logTail("a\n\nb\nc\n", 2), "b | c");
});

Deno.test("runTool: the log goes into its folder, made when missing (a fresh cache has no logs/)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "run-tool-" });
  try {
    const logFile = `${dir}/cache/logs/step.log`;
    const out = await runTool(["sh", "-c", "echo out; echo err >&2"], {
      logFile,
    });
    assert.equal(out.stdout, "out\n");
    assert.equal(await Deno.readTextFile(logFile), "out\nerr\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
