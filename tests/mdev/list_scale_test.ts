/**
 * Listing does not do per-device work that one directory read answers:
 * a stopped definition costs no readlink(2) on sysfs, and a running device
 * without a definition no failed open or stat in /etc/mdevctl.d. Counted by
 * wrapping Deno's file-system calls (speed itself lives in
 * bench/mdev_bench.ts; this is the structure that makes it). And a store
 * directory big enough to be read through libc reports bad files exactly
 * as a small one read through Deno does.
 *
 * @module
 */

import assert from "node:assert/strict";
import { bigTree, Rng, scaleTree, writeFakeTree } from "./fake_tree.ts";
import {
  listActive,
  listDefined,
  listTypes,
  openMdev,
} from "../../lib/mdev/list.ts";
import { SysRoot } from "../../lib/root.ts";
import { libcOpen } from "../../lib/small_file.ts";

type PathFn = (path: string | URL, ...rest: never[]) => unknown;

/**
 * Runs `fn` counting the calls of Deno[name] whose path contains `under`
 * (and ends with `options.suffix`).
 */
function counting(
  names: ("readLinkSync" | "statSync" | "openSync" | "lstatSync")[],
  under: string,
  fn: () => void,
  options: { suffix?: string } = {},
): number {
  const deno = Deno as unknown as Record<string, PathFn>;
  const saved = names.map((n) => deno[n]);
  let calls = 0;
  names.forEach((n, i) => {
    deno[n] = (path, ...rest) => {
      const p = String(path);
      if (p.includes(under) && p.endsWith(options.suffix ?? "")) calls++;
      return saved[i](path, ...rest);
    };
  });
  try {
    fn();
  } finally {
    names.forEach((n, i) => deno[n] = saved[i]);
  }
  return calls;
}

type Listing = typeof listActive;

/**
 * Lists a `shape` tree of 120 devices with `list`, counting the calls of
 * `names` on paths containing `under`; returns the count after checking
 * that every device was listed.
 */
function callsWhileListing(
  shape: "defined-only" | "running-only",
  list: Listing,
  watch: { names: Parameters<typeof counting>[0]; under: string },
): number {
  const dir = Deno.makeTempDirSync({ prefix: "mdev-scale-" });
  try {
    writeFakeTree(
      dir,
      scaleTree(new Rng(3), { parents: 4, devices: 120, shape }),
    );
    const ctx = openMdev(new SysRoot(dir));
    let listed = 0;
    const calls = counting(watch.names, watch.under, () => {
      for (const e of list(ctx).parents.values()) listed += e.length;
    });
    assert.equal(listed, 120);
    return calls;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("list -d of stopped definitions reads no sysfs link per device", () => {
  const calls = callsWhileListing("defined-only", listDefined, {
    names: ["readLinkSync", "statSync", "lstatSync"],
    under: "/sys/",
  });
  assert.equal(calls, 0, "sysfs calls per stopped definition");
});

Deno.test("list of running devices without definitions opens no definition file", () => {
  const calls = callsWhileListing("running-only", listActive, {
    names: ["openSync", "statSync", "lstatSync"],
    under: "/etc/mdevctl.d/",
  });
  assert.equal(calls, 0, "store calls per running device");
});

Deno.test("a directory of many definitions (read through libc) reports bad files as a few do", () => {
  for (const count of [5, 60]) {
    const dir = Deno.makeTempDirSync({ prefix: "mdev-scale-" });
    try {
      const rng = new Rng(count);
      const tree = scaleTree(rng, {
        parents: 1,
        devices: count,
        shape: "defined-only",
      });
      tree.defined[0].raw = '{"mdev_type": "nvidia-31", "start"';
      writeFakeTree(dir, tree);
      const bad = `${dir}/etc/mdevctl.d/${tree.defined[1].parent}/${
        tree.defined[1].uuid
      }`;
      Deno.writeFileSync(bad, new Uint8Array([0x7b, 0xff, 0x7d]));
      const scan = openMdev(new SysRoot(dir)).store.scan();
      assert.equal(scan.definitions.length, count - 2, `${count} files`);
      assert.equal(scan.problems.length, 2, `${count} files`);
      assert.ok(scan.problems.some((p) => p.includes("not valid JSON")));
      assert.ok(
        scan.problems.some((p) => p.includes(`${bad}: not UTF-8 text`)),
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  }
});

Deno.test("directories listed by getdents64 (after the first big one) give what Deno's listing gives", () => {
  const dir = Deno.makeTempDirSync({ prefix: "mdev-scale-" });
  try {
    const tree = scaleTree(new Rng(11), {
      parents: 3,
      devices: 240,
      shape: "defined-only",
    });
    writeFakeTree(dir, tree);
    const base = `${dir}/etc/mdevctl.d`;
    const parents = [...new Set(tree.defined.map((d) => d.parent))];
    assert.equal(parents.length, 3);
    const bytes = new TextEncoder();
    const lib = Deno.dlopen(
      "libc.so.6",
      {
        rename: { parameters: ["buffer", "buffer"], result: "i32" },
      } as const,
    );
    const expected = new Map<string, string[]>();
    try {
      for (const p of parents) {
        const pdir = `${base}/${p}`;
        const mine = tree.defined.filter((d) => d.parent === p);
        assert.ok(mine.length > 40, `${mine.length} definitions on ${p}`);
        // A definition under a non-canonical name, a bad one, one not UTF-8.
        const upper = mine[0].uuid.toUpperCase();
        Deno.renameSync(`${pdir}/${mine[0].uuid}`, `${pdir}/${upper}`);
        Deno.writeTextFileSync(`${pdir}/${mine[1].uuid}`, '{"mdev_type": ');
        Deno.writeFileSync(`${pdir}/${mine[2].uuid}`, new Uint8Array([0xff]));
        // Skipped without a word: a symlink, a directory, a FIFO.
        const u = (i: number) => `${mine[i].uuid.slice(0, -4)}ffff`;
        Deno.symlinkSync(`${pdir}/${mine[3].uuid}`, `${pdir}/${u(3)}`);
        Deno.mkdirSync(`${pdir}/${u(4)}`);
        new Deno.Command("mkfifo", { args: [`${pdir}/${u(5)}`] }).outputSync();
        // Warned about: names that are not UUIDs (one not UTF-8).
        Deno.writeTextFileSync(`${pdir}/notes`, "{}");
        Deno.writeTextFileSync(`${pdir}/tmp`, "{}");
        const to = bytes.encode(`${pdir}/bad-\0`);
        to[to.length - 1] = 0xfe;
        const rc = lib.symbols.rename(
          bytes.encode(`${pdir}/tmp\0`),
          new Uint8Array([...to, 0]),
        );
        assert.equal(rc, 0);
        // A dead writer's temporary file: removed.
        Deno.writeTextFileSync(`${pdir}/.${mine[6].uuid}.999999999.x1.tmp`, "");
        expected.set(
          p,
          [
            ...mine.slice(3).map((d) => d.uuid),
            mine[0].uuid,
          ].sort(),
        );
      }
    } finally {
      lib.close();
    }
    const scan = openMdev(new SysRoot(dir)).store.scan();
    for (const p of parents) {
      const pdir = `${base}/${p}`;
      assert.deepEqual(
        scan.definitions.filter((d) => d.parent === p).map((d) => d.uuid)
          .sort(),
        expected.get(p),
        p,
      );
      assert.equal(scan.problems.filter((l) => l.startsWith(pdir)).length, 2);
      assert.ok(
        scan.problems.some((l) => l.startsWith(pdir) && l.includes("UTF-8")),
      );
      assert.deepEqual(
        scan.warnings.filter((l) => l.startsWith(`ignoring ${pdir}/`)).sort(),
        [
          `ignoring ${pdir}/bad-\uFFFD: the file name is not a UUID`,
          `ignoring ${pdir}/notes: the file name is not a UUID`,
        ],
      );
      const mine = tree.defined.filter((d) => d.parent === p);
      assert.ok(scan.nonCanonical.has(`${p}/${mine[0].uuid}`));
      assert.ok(
        ![...Deno.readDirSync(pdir)].some((e) => e.name.endsWith(".tmp")),
        "the dead writer's file is removed",
      );
    }
    assert.equal(scan.problems.length, 6);
    assert.equal(scan.warnings.length, 6);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("types: an optional attribute its type's listing does not hold is not opened (mtty has no description)", () => {
  const dir = Deno.makeTempDirSync({ prefix: "mdev-types-" });
  try {
    writeFakeTree(dir, bigTree(new Rng(5), { parents: 2, devices: 4 }));
    const sysfs = openMdev(new SysRoot(dir)).sysfs;
    const parent = sysfs.parentNames()[0];
    const types = sysfs.typeNames(parent);
    for (const t of types) {
      Deno.removeSync(`${sysfs.typeDir(parent, t)}/description`);
    }
    let listed: ReturnType<typeof listTypes> | undefined;
    // Paths of this parent's descriptions only (the other parent's exist).
    const calls = counting(
      ["statSync", "openSync", "lstatSync"],
      `${sysfs.typesDir(parent)}/`,
      () => listed = listTypes(openMdev(new SysRoot(dir))),
      { suffix: "/description" },
    );
    assert.equal(calls, 0, "opens or stats of a missing description");
    const got = listed!.get(parent)!;
    assert.equal(got.length, types.length);
    assert.ok(got.every((t) => t.description === "" && t.name !== ""));
    // The other parent still has its descriptions.
    const other = [...listed!.keys()].find((p) => p !== parent)!;
    assert.ok(listed!.get(other)!.every((t) => t.description !== ""));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** The process's open descriptors. */
function openFdCount(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

Deno.test("runsAsEach answers as runsAs does for every definition (running as defined, as another type, stopped, a type that leaves sysfs) and leaves no descriptor open", () => {
  const dir = Deno.makeTempDirSync({ prefix: "mdev-runs-as-" });
  try {
    writeFakeTree(
      dir,
      scaleTree(new Rng(11), { parents: 3, devices: 600, shape: "mix" }),
    );
    const ctx = openMdev(new SysRoot(dir));
    // Big directories: the store is read through libc (opened), so
    // runsAsEach takes its descriptor-relative path.
    const defs = ctx.store.scan({}).definitions;
    assert.ok(defs.length > 300, `${defs.length} definitions`);
    assert.ok(libcOpen(), "the scan opened libc");
    ctx.sysfs.indexDevices({ types: false });
    const running = defs[
      defs.findIndex((d) => ctx.sysfs.runsAs(d.uuid, d) === true)
    ];
    const places = [
      ...defs,
      { ...running, type: "../../../etc" },
      { ...running, parent: "no-such-parent" },
    ];
    const before = openFdCount();
    const each = ctx.sysfs.runsAsEach(places);
    assert.equal(openFdCount(), before, "descriptors left open");
    const one = places.map((p) => ctx.sysfs.runsAs(p.uuid, p));
    assert.deepEqual(each, one);
    const count = (v: boolean | undefined) =>
      each.filter((x) => x === v).length;
    assert.ok(count(true) > 20, `${count(true)} running as defined`);
    assert.ok(count(false) > 200, `${count(false)} stopped`);
    assert.ok(count(undefined) >= 3, `${count(undefined)} to ask loadActive`);
    assert.equal(each.at(-2), undefined);
    assert.equal(each.at(-1), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
