/**
 * lib/mdev/bounded_read.ts: definitions read in runs and decoded once give
 * exactly what reading and decoding each one does (texts and errors).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  DEFINITION_LIMIT,
  readDefinitionIn,
  readListedDefinitions,
} from "../../lib/mdev/bounded_read.ts";
import { SmallFileDir } from "../../lib/small_file.ts";

/** What `readDefinitionIn` gives for `name`: its text or its error's line. */
function oneByOne(dir: string, name: string): string {
  const files = new SmallFileDir(dir);
  try {
    return `text ${readDefinitionIn(files, name)}`;
  } catch (err) {
    return `error ${(err as Error).name} ${(err as Error).message}`;
  } finally {
    files.close();
  }
}

/** Every file of `dir` through readListedDefinitions (in reverse order), by name. */
function inRuns(
  dir: string,
  change: () => void = () => {},
): Map<string, string> {
  const files = new SmallFileDir(dir);
  try {
    const names = files.listFiles()!;
    change();
    const indices = names.map((_, i) => i).reverse();
    const got = new Map<string, string>();
    readListedDefinitions(files, indices, (k, text) => {
      assert.equal(k, got.size, "in order");
      got.set(
        names[indices[k]],
        typeof text === "string"
          ? `text ${text}`
          : `error ${text.name} ${text.message}`,
      );
    });
    return got;
  } finally {
    files.close();
  }
}

const json = (i: number) =>
  JSON.stringify({ mdev_type: `t${i}`, start: "auto", pad: "x".repeat(900) });

Deno.test("readListedDefinitions: runs decoded once give what file-by-file reads give", () => {
  const specials: [string, Uint8Array][] = [
    ["utf8", new TextEncoder().encode('{"mdev_type": "é名", "start": "auto"}')],
    ["latin1", new Uint8Array([0x7b, 0xe9, 0x7d])],
    ["bom", new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d])],
    ["empty", new Uint8Array()],
    ["huge", new TextEncoder().encode("x".repeat(DEFINITION_LIMIT + 10))],
    ["none", new Uint8Array()], // only ASCII files
  ];
  for (const [special, bytes] of specials) {
    const dir = Deno.makeTempDirSync({ prefix: "mdev-runs-" });
    try {
      // Over 256 KiB in all: more than one run.
      for (let i = 0; i < 400; i++) {
        Deno.writeTextFileSync(`${dir}/a${i}`, json(i));
      }
      if (special !== "none") Deno.writeFileSync(`${dir}/${special}`, bytes);
      const got = inRuns(dir);
      assert.equal(got.size, special === "none" ? 400 : 401);
      for (const [name, text] of got) {
        assert.equal(text, oneByOne(dir, name), `${special}: ${name}`);
      }
      const mine = got.get(special);
      if (special === "latin1") assert.match(mine!, /not UTF-8 text/);
      if (special === "huge") assert.match(mine!, /too large/);
      if (special === "bom") assert.equal(mine, "text \uFEFF{}");
      if (special === "utf8") assert.match(mine!, /é名/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  }
});

Deno.test("readListedDefinitions: files gone or changed since the listing are errors naming them, the others are read", () => {
  const dir = Deno.makeTempDirSync({ prefix: "mdev-runs-" });
  try {
    for (let i = 0; i < 50; i++) {
      Deno.writeTextFileSync(`${dir}/a${i}`, json(i));
    }
    Deno.writeTextFileSync(`${dir}/gone`, "{}");
    Deno.writeTextFileSync(`${dir}/dir`, "{}");
    const got = inRuns(dir, () => {
      Deno.removeSync(`${dir}/gone`);
      Deno.removeSync(`${dir}/dir`);
      Deno.mkdirSync(`${dir}/dir`);
    });
    assert.match(got.get("gone")!, new RegExp(`^error .*open ${dir}/gone`));
    assert.match(got.get("dir")!, new RegExp(`^error .*read ${dir}/dir`));
    for (let i = 0; i < 50; i++) {
      assert.equal(got.get(`a${i}`), `text ${json(i)}`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
