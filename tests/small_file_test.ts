/**
 * lib/small_file.ts: whole small files of a directory, bounded devices, no
 * wait on a FIFO, no final symlink followed, errno names for what cannot be
 * read.
 *
 * @module
 */

import assert from "node:assert/strict";
import { SmallFileDir } from "../lib/small_file.ts";
import { errnoCode } from "../lib/errors.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("SmallFileDir: whole small files by name, bounded devices, no wait on a FIFO", () => {
  const dir = Deno.makeTempDirSync({ prefix: "libc-read-" });
  const files = new SmallFileDir(dir);
  try {
    const big = "x".repeat(40_000); // past the first buffer: it grows
    Deno.writeTextFileSync(`${dir}/f`, big);
    Deno.writeTextFileSync(`${dir}/small`, "{}");
    Deno.writeTextFileSync(`${dir}/empty`, "");
    assert.equal(text(files.read("f", 1 << 20)), big);
    assert.equal(text(files.read("small", 1 << 20)), "{}");
    assert.equal(files.read("empty", 100).length, 0);
    assert.equal(files.read("f", 10).length, 10);
    // A view of a buffer that the next read reuses.
    const view = files.read("f", 5);
    assert.equal(text(view), "xxxxx");
    files.read("small", 100);
    assert.equal(text(view.subarray(0, 2)), "{}");
    new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
    // No writer: a blocking open would wait forever; this one reads nothing.
    assert.equal(files.read("fifo", 100).length, 0);
    Deno.symlinkSync(`${dir}/small`, `${dir}/link`);
    assert.throws(
      () => files.read("link", 100),
      (err: unknown) => errnoCode(err) === "ELOOP",
    );
    assert.throws(
      () => files.read("absent", 100),
      (err: unknown) =>
        errnoCode(err) === "ENOENT" &&
        (err as Error).message.includes(`${dir}/absent`),
    );
    Deno.mkdirSync(`${dir}/sub`);
    assert.throws(
      () => files.read("sub", 100),
      (err: unknown) => errnoCode(err) === "EISDIR",
    );
  } finally {
    files.close();
    Deno.removeSync(dir, { recursive: true });
  }
  const dev = new SmallFileDir("/dev");
  try {
    assert.equal(dev.read("zero", 1000).length, 1000);
  } finally {
    dev.close();
  }
  assert.throws(
    () => new SmallFileDir(`${dir}/gone`),
    (err: unknown) => errnoCode(err) === "ENOENT",
  );
});
