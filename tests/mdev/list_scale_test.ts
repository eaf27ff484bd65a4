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
import { Rng, scaleTree, writeFakeTree } from "./fake_tree.ts";
import { listActive, listDefined, openMdev } from "../../lib/mdev/list.ts";
import { SysRoot } from "../../lib/root.ts";

type PathFn = (path: string | URL, ...rest: never[]) => unknown;

/** Runs `fn` counting the calls of Deno[name] whose path contains `under`. */
function counting(
  names: ("readLinkSync" | "statSync" | "openSync" | "lstatSync")[],
  under: string,
  fn: () => void,
): number {
  const deno = Deno as unknown as Record<string, PathFn>;
  const saved = names.map((n) => deno[n]);
  let calls = 0;
  names.forEach((n, i) => {
    deno[n] = (path, ...rest) => {
      if (String(path).includes(under)) calls++;
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
