/**
 * The store cache (lib/mdev/store_cache.ts): a second listing of an
 * unchanged store is served from it, and any change to a directory or a
 * file (in place, same size; added, removed, renamed) is read again; what
 * changed too recently, a directory with a bad file, and a cache file that
 * cannot be trusted are never served.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Rng, scaleTree, writeFakeTree } from "./fake_tree.ts";
import { scanStore } from "../../lib/mdev/store_scan.ts";
import {
  SETTLE_MS,
  STORE_CACHE_PATH,
  StoreCache,
} from "../../lib/mdev/store_cache.ts";
import { SysRoot } from "../../lib/root.ts";
import type { DefinitionScan } from "../../lib/mdev/store_scan.ts";

/** A store of `devices` definitions over two parents, and a /run. */
function tempStore(devices = 80): { dir: string; base: string; root: SysRoot } {
  const dir = Deno.makeTempDirSync({ prefix: "mdev-cache-" });
  writeFakeTree(
    dir,
    scaleTree(new Rng(11), { parents: 2, devices, shape: "defined-only" }),
  );
  Deno.mkdirSync(`${dir}/run`);
  return { dir, base: `${dir}/etc/mdevctl.d`, root: new SysRoot(dir) };
}

/**
 * One scan with the cache, as `ConfigStore.scan` makes it; `later`: the
 * clock that far ahead, so that what was just written counts as settled.
 */
function scan(
  store: { base: string; root: SysRoot },
  options: { later?: number; parent?: string } = {},
): DefinitionScan {
  const cache = StoreCache.open(store.root, store.base, {
    now: Date.now() + (options.later ?? 0),
  });
  const result = scanStore(store.base, { parent: options.parent }, { cache });
  cache?.save();
  return result;
}

const LATER = 10 * SETTLE_MS;

/** The definitions as sorted text (the scan's order is the directory's). */
function defsOf(s: DefinitionScan): string[] {
  return s.definitions.map((d) => JSON.stringify(d)).sort();
}

/** Waits (polling the clock) until a write now gets a later ctime than `path`'s. */
async function afterChangeOf(path: string): Promise<void> {
  const changed = Deno.statSync(path).ctime!.getTime();
  const deadline = Date.now() + 60_000;
  while (Date.now() <= changed + 20) {
    assert.ok(Date.now() < deadline, "the clock did not advance");
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("store cache: a second scan of an unchanged store reads no file, and finds the same definitions", () => {
  const store = tempStore();
  try {
    const first = scan(store, { later: LATER });
    assert.equal(first.definitions.length, 80);
    assert.equal(first.fromCache, 0);
    const st = Deno.lstatSync(store.root.path(STORE_CACHE_PATH));
    assert.ok(st.isFile);
    assert.equal(st.mode! & 0o777, 0o600);
    const second = scan(store, { later: LATER });
    assert.equal(second.fromCache, 80);
    assert.deepEqual(defsOf(second), defsOf(first));
    assert.deepEqual(second.problems, []);
    // Served, not re-written: the cache file stays the one written first.
    const again = Deno.lstatSync(store.root.path(STORE_CACHE_PATH));
    assert.equal(again.ino, st.ino);
  } finally {
    Deno.removeSync(store.dir, { recursive: true });
  }
});

Deno.test("store cache: a file changed in place (same size) or replaced is read again", async () => {
  const store = tempStore();
  try {
    const first = scan(store, { later: LATER });
    const victim = first.definitions[0];
    const path = `${store.base}/${victim.parent}/${victim.uuid}`;
    const text = Deno.readTextFileSync(path);
    const other = victim.type.endsWith("1")
      ? victim.type.replace(/1$/, "2")
      : victim.type.replace(/.$/, "1");
    assert.equal(other.length, victim.type.length);
    await afterChangeOf(path);
    // In place: same inode, same size, only the times and the bytes differ.
    const file = Deno.openSync(path, { write: true });
    file.writeSync(new TextEncoder().encode(text.replace(victim.type, other)));
    file.close();
    const second = scan(store, { later: LATER });
    const now = second.definitions.find((d) => d.uuid === victim.uuid);
    assert.equal(now?.type, other);
    const perParent = second.definitions.filter((d) =>
      d.parent !== victim.parent
    ).length;
    assert.equal(second.fromCache, perParent, "the other parent is served");
    // Replaced by rename (a new inode), as vdevctl and editors write.
    await afterChangeOf(path);
    Deno.writeTextFileSync(`${path}.new`, text);
    Deno.renameSync(`${path}.new`, path);
    const third = scan(store, { later: LATER });
    assert.equal(
      third.definitions.find((d) => d.uuid === victim.uuid)?.type,
      victim.type,
    );
  } finally {
    Deno.removeSync(store.dir, { recursive: true });
  }
});

Deno.test("store cache: a file added or removed is seen (the directory changed)", () => {
  const store = tempStore();
  try {
    const first = scan(store, { later: LATER });
    const gone = first.definitions[3];
    Deno.removeSync(`${store.base}/${gone.parent}/${gone.uuid}`);
    const uuid = "0b2c6d8e-1f3a-4b5c-9d7e-8f9a0b1c2d3e";
    Deno.writeTextFileSync(
      `${store.base}/${gone.parent}/${uuid}`,
      JSON.stringify({ mdev_type: "nvidia-31", start: "auto", attrs: [] }),
    );
    const second = scan(store, { later: LATER });
    const uuids = new Set(second.definitions.map((d) => d.uuid));
    assert.ok(!uuids.has(gone.uuid));
    assert.ok(uuids.has(uuid));
    assert.equal(second.definitions.length, 80);
  } finally {
    Deno.removeSync(store.dir, { recursive: true });
  }
});

Deno.test("store cache: what changed less than SETTLE_MS before the scan is never served", () => {
  const store = tempStore();
  try {
    scan(store); // the real clock: every file was written just now
    const second = scan(store);
    assert.equal(second.fromCache, 0);
    assert.equal(second.definitions.length, 80);
  } finally {
    Deno.removeSync(store.dir, { recursive: true });
  }
});

Deno.test("store cache: a directory with a bad file is read every time, its problem reported every time", () => {
  const store = tempStore();
  try {
    const first = scan(store, { later: LATER });
    const parent = first.definitions[0].parent;
    const bad = `${store.base}/${parent}/6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d`;
    Deno.writeTextFileSync(bad, "{not json");
    for (let i = 0; i < 2; i++) {
      const s = scan(store, { later: LATER });
      assert.equal(s.problems.length, 1);
      assert.match(s.problems[0], /not valid JSON/);
      assert.equal(
        s.fromCache,
        s.definitions.filter((d) => d.parent !== parent).length,
      );
    }
  } finally {
    Deno.removeSync(store.dir, { recursive: true });
  }
});

/** One parent of the cache file's JSON, as lib/mdev/store_cache.ts writes it. */
interface EditableParent {
  names: string;
  rows: unknown[];
  attrs: unknown[];
}

/**
 * `good` (a cache file) with `edit` applied to every parent of its JSON, the
 * header and padding made to fit: only the tables are wrong.
 */
function editedCache(
  good: Uint8Array,
  edit: (e: EditableParent) => void,
): Uint8Array {
  const head = new Uint32Array(good.buffer.slice(0, 16));
  const json = JSON.parse(
    new TextDecoder().decode(good.subarray(16, 16 + head[2])),
  );
  for (const e of Object.values(json.parents)) edit(e as EditableParent);
  let text = JSON.stringify(json);
  text += " ".repeat((4 - new TextEncoder().encode(text).length % 4) % 4);
  const bytes = new TextEncoder().encode(text);
  const sigs = good.subarray(16 + head[2]);
  const out = new Uint8Array(16 + bytes.length + sigs.length);
  head[2] = bytes.length;
  out.set(new Uint8Array(head.buffer), 0);
  out.set(bytes, 16);
  out.set(sigs, 16 + bytes.length);
  return out;
}

Deno.test("store cache: a cache file that cannot be trusted is not read, and is replaced", () => {
  const store = tempStore();
  const cachePath = store.root.path(STORE_CACHE_PATH);
  const cacheDir = cachePath.slice(0, cachePath.lastIndexOf("/"));
  try {
    const first = scan(store, { later: LATER });
    const good = Deno.readFileSync(cachePath);
    const spoil: [string, () => void][] = [
      ["garbage", () => Deno.writeFileSync(cachePath, new Uint8Array(64))],
      ["truncated", () => Deno.writeFileSync(cachePath, good.subarray(0, 999))],
      ["group-writable", () => {
        Deno.writeFileSync(cachePath, good);
        Deno.chmodSync(cachePath, 0o660);
      }],
      ["a symlink", () => {
        Deno.writeFileSync(`${store.dir}/elsewhere`, good);
        Deno.symlinkSync(`${store.dir}/elsewhere`, cachePath);
      }],
      ...([
        ["a type index past its table", (e) => e.rows[0] = 2 * 99],
        ["an attribute count past the attributes", (e) => e.rows[1] = 9999],
        ["attributes left over", (e) => e.attrs.push("x", "y")],
        ["an attribute value that is not a string", (e) => {
          e.rows[1] = 1;
          e.attrs.splice(0, 0, "name", 5);
        }],
        ["names cut short", (e) => e.names = e.names.slice(1)],
        ["a row that is not a number", (e) => e.rows[0] = "1"],
      ] as [string, (e: EditableParent) => void][]).map(
        ([what, edit]): [string, () => void] => [
          what,
          () =>
            Deno.writeFileSync(cachePath, editedCache(good, edit), {
              mode: 0o600,
            }),
        ],
      ),
      ["in a world-writable directory", () => {
        Deno.writeFileSync(cachePath, good, { mode: 0o600 });
        Deno.chmodSync(cacheDir, 0o777);
      }],
    ];
    for (const [what, fn] of spoil) {
      try {
        Deno.removeSync(cachePath);
      } catch { /* already gone */ }
      Deno.chmodSync(cacheDir, 0o755);
      fn();
      const s = scan(store, { later: LATER });
      assert.equal(s.fromCache, 0, what);
      assert.deepEqual(defsOf(s), defsOf(first), what);
    }
    // Each spoiled file but the last (a directory not trusted is not
    // written to) was replaced by a good one: the next scan is served.
    Deno.chmodSync(cacheDir, 0o755);
    scan(store, { later: LATER });
    const served = scan(store, { later: LATER });
    assert.equal(served.fromCache, 80);
    assert.ok(!Deno.lstatSync(cachePath).isSymlink);
  } finally {
    Deno.removeSync(store.dir, { recursive: true });
  }
});

Deno.test("store cache: VDEVCTL_MDEV_CACHE=off, no /run, a killed writer's temporary file", () => {
  const store = tempStore();
  try {
    Deno.env.set("VDEVCTL_MDEV_CACHE", "off");
    try {
      assert.equal(StoreCache.open(store.root, store.base), undefined);
    } finally {
      Deno.env.delete("VDEVCTL_MDEV_CACHE");
    }
    // Without /run under the root nothing is written (or made).
    Deno.removeSync(`${store.dir}/run`);
    scan(store, { later: LATER });
    assert.throws(
      () => Deno.lstatSync(`${store.dir}/run`),
      Deno.errors.NotFound,
    );
    // A temporary file of a writer that died is removed by the next write.
    Deno.mkdirSync(`${store.dir}/run/vdevctl`, { recursive: true });
    const temp = `${store.dir}/run/vdevctl/.mdev-store.cache.999999999.x1.tmp`;
    Deno.writeTextFileSync(temp, "half");
    scan(store, { later: LATER });
    assert.throws(() => Deno.lstatSync(temp), Deno.errors.NotFound);
    assert.equal(scan(store, { later: LATER }).fromCache, 80);
  } finally {
    Deno.removeSync(store.dir, { recursive: true });
  }
});

Deno.test("store cache: a scan of one parent serves it and keeps the other's entry", () => {
  const store = tempStore();
  try {
    const first = scan(store, { later: LATER });
    const [a, b] = [...new Set(first.definitions.map((d) => d.parent))];
    const one = scan(store, { later: LATER, parent: a });
    assert.ok(one.definitions.every((d) => d.parent === a));
    assert.equal(one.fromCache, one.definitions.length);
    const all = scan(store, { later: LATER });
    assert.equal(all.fromCache, 80);
    assert.ok(all.definitions.some((d) => d.parent === b));
  } finally {
    Deno.removeSync(store.dir, { recursive: true });
  }
});

Deno.test('store cache: a parent named "__proto__" is cached like any other', () => {
  const store = tempStore();
  try {
    const dir = `${store.base}/__proto__`;
    Deno.mkdirSync(dir);
    const rng = new Rng(5);
    for (let i = 0; i < 40; i++) {
      Deno.writeTextFileSync(
        `${dir}/${rng.uuid()}`,
        JSON.stringify({ mdev_type: "t", start: "manual", attrs: [] }),
      );
    }
    const first = scan(store, { later: LATER });
    assert.equal(first.definitions.length, 120);
    const second = scan(store, { later: LATER });
    assert.equal(second.fromCache, 120);
    assert.equal(
      second.definitions.filter((d) => d.parent === "__proto__").length,
      40,
    );
  } finally {
    Deno.removeSync(store.dir, { recursive: true });
  }
});
