/**
 * lib/small_file.ts: whole small files, bounded devices, no wait on a FIFO,
 * errno names for what cannot be read.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readSmallFile } from "../lib/small_file.ts";
import { errnoCode } from "../lib/errors.ts";

Deno.test("readSmallFile: whole small files, bounded devices, no wait on a FIFO", () => {
  const dir = Deno.makeTempDirSync({ prefix: "libc-read-" });
  try {
    const big = "x".repeat(40_000); // past the first buffer: it grows
    Deno.writeTextFileSync(`${dir}/f`, big);
    assert.equal(
      new TextDecoder().decode(readSmallFile(`${dir}/f`, 1 << 20)),
      big,
    );
    assert.equal(readSmallFile(`${dir}/f`, 10).length, 10);
    const view = readSmallFile(`${dir}/f`, 5, { view: true });
    assert.equal(new TextDecoder().decode(view), "xxxxx");
    assert.equal(readSmallFile("/dev/zero", 1000).length, 1000);
    new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
    // No writer: a blocking open would wait forever; this one reads nothing.
    assert.equal(readSmallFile(`${dir}/fifo`, 100).length, 0);
    assert.throws(
      () => readSmallFile(`${dir}/absent`, 100),
      (err: unknown) => errnoCode(err) === "ENOENT",
    );
    assert.throws(
      () => readSmallFile(dir, 100),
      (err: unknown) => errnoCode(err) === "EISDIR",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
