/**
 * The house layout (HACKING.md), checked on the real tree: one folder per
 * family under `lib/`, each with a `mod.ts` face that only re-exports; outside
 * a family, imports name only its face; no product file past the size limit.
 *
 * @module
 */

import assert from "node:assert/strict";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Longest product module (lib/, commands/, main.ts), in lines. */
const MAX_LINES = 520;

/** Every .ts file under `dir` (relative to the repository), recursively. */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${REPO}/${dir}`)) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...tsFiles(rel));
    else if (e.isFile && e.name.endsWith(".ts")) out.push(rel);
  }
  return out;
}

/** The families: the folders directly under lib/. */
function families(): string[] {
  return [...Deno.readDirSync(`${REPO}/lib`)]
    .filter((e) => e.isDirectory)
    .map((e) => e.name)
    .sort();
}

/** Relative module specifiers a file imports or re-exports (static or dynamic). */
export function specifiers(text: string): string[] {
  const out: string[] = [];
  const re =
    /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)["'](\.{1,2}\/[^"']+)["']/g;
  for (const m of text.matchAll(re)) out.push(m[1]);
  return out;
}

/**
 * The family a file belongs to for the import rule: `lib/F/...` and
 * `tests/F/...` belong to F (a family's own tests may test its internals).
 */
function ownerOf(file: string, fams: readonly string[]): string | undefined {
  const [top, second] = file.split("/");
  if ((top === "lib" || top === "tests") && fams.includes(second)) {
    return second;
  }
  return undefined;
}

/** `a/b/../c` → `a/c`. */
function normalize(path: string): string {
  const parts: string[] = [];
  for (const p of path.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== "." && p !== "") parts.push(p);
  }
  return parts.join("/");
}

/** Import-rule violations in the tree: `FILE imports TARGET`. */
function violations(): string[] {
  const fams = families();
  const files = [
    "main.ts",
    ...tsFiles("lib"),
    ...tsFiles("commands"),
    ...tsFiles("tests"),
    ...tsFiles("bench"),
  ];
  const bad: string[] = [];
  for (const file of files) {
    const own = ownerOf(file, fams);
    const dir = file.split("/").slice(0, -1).join("/");
    for (const spec of specifiers(Deno.readTextFileSync(`${REPO}/${file}`))) {
      const target = normalize(`${dir}/${spec}`);
      const [top, fam, ...rest] = target.split("/");
      if (top !== "lib" || !fams.includes(fam) || rest.length === 0) continue;
      if (fam === own) continue;
      if (rest.join("/") !== "mod.ts") bad.push(`${file} imports ${target}`);
    }
  }
  return bad;
}

Deno.test("layout: specifiers finds static, type, dynamic and URL imports", () => {
  const text = [
    'import { a } from "./a.ts";',
    'import type { B } from "../b/mod.ts";',
    'export { c } from "./c.ts";',
    'const d = await import("./d.ts");',
    'new Worker(new URL("./e.ts", import.meta.url));',
    'import "./f.ts";',
    'import assert from "node:assert/strict";',
  ].join("\n");
  assert.deepEqual(specifiers(text), [
    "./a.ts",
    "../b/mod.ts",
    "./c.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
  ]);
});

Deno.test("layout: every family under lib/ has a mod.ts face", () => {
  const fams = families();
  assert.ok(fams.length >= 8, `families: ${fams.join(", ")}`);
  for (const fam of fams) {
    const face = Deno.readTextFileSync(`${REPO}/lib/${fam}/mod.ts`);
    assert.match(face, /@module/, `lib/${fam}/mod.ts has no @module doc`);
  }
});

Deno.test("layout: a mod.ts face only re-exports", () => {
  for (const fam of families()) {
    const face = Deno.readTextFileSync(`${REPO}/lib/${fam}/mod.ts`);
    const code = face.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    const stmts = code.split(";").map((s) => s.trim()).filter((s) => s !== "");
    for (const s of stmts) {
      assert.match(
        s,
        /^export\s+(type\s+)?(\*|\{[^}]*\})\s+from\s+"\.\/[^"]+\.ts"$/,
        `lib/${fam}/mod.ts: not a re-export: ${s.slice(0, 80)}`,
      );
    }
  }
});

Deno.test("layout: outside a family, imports name only its mod.ts", () => {
  assert.deepEqual(violations(), []);
});

Deno.test(`layout: no product module over ${MAX_LINES} lines`, () => {
  const long = ["main.ts", ...tsFiles("lib"), ...tsFiles("commands")]
    .map((f) =>
      [f, Deno.readTextFileSync(`${REPO}/${f}`).split("\n").length] as const
    )
    .filter(([, n]) => n > MAX_LINES)
    .map(([f, n]) => `${f}: ${n} lines`);
  assert.deepEqual(long, []);
});
