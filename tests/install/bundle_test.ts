/**
 * lib/install/bundle.ts: the fast entry bundled by the checkout's esbuild
 * is one module that imports no file (only commander, on the way to
 * main.ts, which it finds beside itself); without esbuild the install
 * stops with the fix.
 */

import assert from "node:assert/strict";
import { FAST_BUNDLE, fastEntryBundle } from "../../lib/install/bundle.ts";
import { VdevError } from "../../lib/errors.ts";
import { programFiles } from "../../lib/install/layout.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("the fast entry's bundle imports no module file and hands on to the main.ts beside it", async () => {
  const text = new TextDecoder().decode(await fastEntryBundle(REPO));
  const imports = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gm),
  ]
    .map((m) => m[1]);
  assert.deepEqual(imports, [], "static imports left in the bundle");
  assert.match(text, /await import\("commander"\)/);
  assert.match(text, /new URL\("\.\.\/main\.ts", import\.meta\.url\)/);
  // The one module-relative path in its graph: another would resolve
  // against commands/ once bundled.
  assert.equal(text.match(/import\.meta\.url/g)?.length, 1);
  // It is the entry's own code (its parser), not a stub.
  assert.match(text, /function fastMdev\(/);
  assert.ok(FAST_BUNDLE.startsWith("commands/"), "beside its entry module");
});

Deno.test("without esbuild in the checkout the bundle (and so the install) stops with the fix", async () => {
  const dir = await Deno.makeTempDir({ prefix: "no-esbuild-" });
  try {
    await assert.rejects(
      () => fastEntryBundle(dir),
      (err: unknown) =>
        err instanceof VdevError &&
        err.message ===
          `esbuild is not installed in ${dir}: run 'npm ci' there first`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bundle left in a checkout is not copied: the install makes the copy's own", async () => {
  const src = await Deno.makeTempDir({ prefix: "stray-bundle-" });
  try {
    for (const dir of ["commands", "lib"]) await Deno.mkdir(`${src}/${dir}`);
    for (
      const f of [
        "main.ts",
        "deno.json",
        "vdevctl",
        "commands/mdev_fast.ts",
        FAST_BUNDLE,
        "lib/errors.ts",
      ]
    ) await Deno.writeTextFile(`${src}/${f}`, "");
    await Deno.writeTextFile(`${src}/package.json`, "{}");
    const rels = programFiles(src).map((f) => f.rel);
    assert.ok(rels.includes("commands/mdev_fast.ts"), rels.join(" "));
    assert.ok(!rels.includes(FAST_BUNDLE), rels.join(" "));
  } finally {
    await Deno.remove(src, { recursive: true });
  }
});
