/**
 * lib/sandbox/kernel_fetch.ts: the pipeline that extracts the module sources
 * from linux-source-6.12's .deb.
 *
 * @module
 */

import assert from "node:assert/strict";
import { sourceExtractScript } from "../../lib/sandbox/kernel_fetch.ts";

Deno.test("sourceExtractScript: quoting of the .deb, the destination and the files", () => {
  const extract = sourceExtractScript("/c/it's.deb", "/c/my src", [
    "samples/vfio-mdev/mtty.c",
  ]);
  assert.match(extract, /--fsys-tarfile '\/c\/it'\\''s\.deb' \|/);
  assert.match(
    extract,
    /tar -x -C '\/c\/my src' --strip-components=1 linux-source-6\.12\/samples\/vfio-mdev\/mtty\.c$/,
  );
});
