/**
 * lib/install/bundle.ts: each fast entry bundled by the checkout's esbuild
 * is one module that imports no file (only commander, on the way to
 * main.ts, which it finds beside itself); the `types` one leaves the store
 * and the callouts out; without esbuild the install stops with the fix.
 */

import assert from "node:assert/strict";
import {
  eagerFunctions,
  FAST_ENTRIES,
  fastEntryBundle,
} from "../../lib/install/bundle.ts";
import { VdevError } from "../../lib/errors.ts";
import { programFiles } from "../../lib/install/layout.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("each fast entry's bundle imports no module file and hands on to the main.ts beside it", async () => {
  assert.deepEqual(FAST_ENTRIES.map((e) => e.entry), [
    "commands/mdev_fast.ts",
    "commands/mdev_types_fast.ts",
  ]);
  for (const { entry, bundle } of FAST_ENTRIES) {
    const text = new TextDecoder().decode(await fastEntryBundle(REPO, entry));
    const imports = [
      ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gm),
    ]
      .map((m) => m[1]);
    assert.deepEqual(
      imports,
      [],
      `${entry}: static imports left in the bundle`,
    );
    assert.match(text, /await import\("commander"\)/, entry);
    assert.match(text, /new URL\("\.\.\/main\.ts", import\.meta\.url\)/, entry);
    // The one module-relative path in its graph: another would resolve
    // against commands/ once bundled.
    assert.equal(text.match(/import\.meta\.url/g)?.length, 1, entry);
    // It is the entries' own code (their parser), not a stub.
    assert.match(text, /function parseFastMdev\(/, entry);
    assert.equal(
      bundle,
      entry.replace(/\.ts$/, ".bundle.js"),
      "beside its entry module",
    );
  }
});

Deno.test("the types bundle leaves the store, its cache and the callouts out, and is the smaller", async () => {
  const [list, types] = await Promise.all(
    FAST_ENTRIES.map(async ({ entry }) =>
      new TextDecoder().decode(await fastEntryBundle(REPO, entry))
    ),
  );
  // esbuild keeps only a module's top-level constants when none of its
  // code is used: its classes are the test.
  for (const cls of ["ConfigStore", "StoreCache", "Callouts"]) {
    const declared = new RegExp(`^var ${cls} = class|^class ${cls}\\b`, "m");
    assert.match(list, declared, `${cls} in the list bundle`);
    assert.doesNotMatch(types, declared, `${cls} in the types bundle`);
  }
  assert.match(types, /function typesAction\(/);
  assert.doesNotMatch(types, /function listAction\(/);
  assert.ok(
    types.length < list.length * 0.6,
    `types ${types.length} bytes, list ${list.length}`,
  );
});

Deno.test("without esbuild in the checkout the bundle (and so the install) stops with the fix", async () => {
  const dir = await Deno.makeTempDir({ prefix: "no-esbuild-" });
  try {
    await assert.rejects(
      () => fastEntryBundle(dir, FAST_ENTRIES[0].entry),
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
        "commands/mdev_types_fast.ts",
        ...FAST_ENTRIES.map((e) => e.bundle),
        "lib/errors.ts",
      ]
    ) await Deno.writeTextFile(`${src}/${f}`, "");
    await Deno.writeTextFile(`${src}/package.json`, "{}");
    const rels = programFiles(src).map((f) => f.rel);
    assert.ok(rels.includes("commands/mdev_fast.ts"), rels.join(" "));
    assert.ok(rels.includes("commands/mdev_types_fast.ts"), rels.join(" "));
    for (const { bundle } of FAST_ENTRIES) {
      assert.ok(!rels.includes(bundle), rels.join(" "));
    }
  } finally {
    await Deno.remove(src, { recursive: true });
  }
});

Deno.test("eagerFunctions: top-level declarations become expressions defined first; the rest stays, a doubtful one too", () => {
  const js = [
    "var a = f(2);",
    "function f(x) {",
    "  return g(x) + 1;",
    "}",
    "async function g(x) {",
    "  if (x) {",
    "    return x;",
    "  }",
    "}",
    "function h() {",
    '  return "{";',
    "}",
    "var k = class {",
    "  m() {",
    "  }",
    "};",
    "export {",
    "  f",
    "};",
  ].join("\n");
  assert.equal(
    eagerFunctions(js),
    [
      "var f = (function f(x) {",
      "  return g(x) + 1;",
      "});",
      "var g = (async function g(x) {",
      "  if (x) {",
      "    return x;",
      "  }",
      "});",
      "var a = f(2);",
      "function h() {",
      '  return "{";',
      "}",
      "var k = class {",
      "  m() {",
      "  }",
      "};",
      "export {",
      "  f",
      "};",
    ].join("\n"),
  );
});

Deno.test("each bundle, with its functions made eager, answers as its entry module does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "eager-bundle-" });
  try {
    const root = `${REPO}/examples/sysroot`;
    for (const { entry, bundle } of FAST_ENTRIES) {
      const text = await fastEntryBundle(REPO, entry);
      // Every line here runs in the bundle: none goes on to main.ts.
      const at = `${dir}/${bundle.replace("/", "-")}`;
      await Deno.writeFile(at, text);
      try {
        // The types entry hands `list` on to main.ts: only its own lines.
        const lines = [["mdev", "types"], ["mdev", "types", "--dumpjson"]];
        if (!entry.includes("types")) {
          lines.push(["mdev", "list", "-d"], ["mdev", "list", "--dumpjson"]);
        }
        for (const args of lines) {
          const run = (module: string) =>
            new Deno.Command(Deno.execPath(), {
              args: ["run", "-A", module, "--root", root, ...args],
              cwd: dir,
              stdin: "null",
            }).output();
          const [b, e] = await Promise.all([
            run(at),
            run(`${REPO}/${entry}`),
          ]);
          const what = `${bundle} ${args.join(" ")}`;
          assert.equal(b.code, 0, what);
          assert.ok(b.stdout.length > 0, what);
          assert.deepEqual(b.stdout, e.stdout, what);
          assert.deepEqual(b.stderr, e.stderr, what);
        }
      } finally {
        await Deno.remove(at);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
