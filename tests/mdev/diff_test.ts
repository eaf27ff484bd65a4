/**
 * Differential test: Debian's real mdevctl 1.2 and `vdevctl mdev` on the
 * same generated trees (seeded, so every run sees the same trees) must
 * print the same stdout bytes, print to stderr in the same cases and exit
 * with the same status; and define/modify/undefine must leave byte-identical
 * files that each tool reads back the same way. The scale trees are listed
 * by vdevctl from its store cache.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type FakeTree,
  randomTree,
  Rng,
  type ScaleShape,
  scaleTree,
  writeFakeTree,
} from "./fake_tree.ts";
import {
  findMdevctl,
  type Peer,
  pool,
  runPeer,
  type RunResult,
  runVdevctl,
  runVdevctlAs,
  snapshot,
} from "./diff_helpers.ts";
import {
  SETTLE_MS,
  STORE_CACHE_PATH,
  StoreCache,
} from "../../lib/mdev/store_cache.ts";
import { scanStore } from "../../lib/mdev/store_scan.ts";
import { SysRoot } from "../../lib/root.ts";

const SEEDS = Array.from({ length: 24 }, (_, i) => 1000 + i);

function same(what: string, a: RunResult, b: RunResult): void {
  const ctx = `${what}\n--- mdevctl (exit ${a.code}) stderr: ${a.stderr}` +
    `--- vdevctl (exit ${b.code}) stderr: ${b.stderr}`;
  assert.equal(b.stdout, a.stdout, `stdout differs: ${ctx}`);
  assert.equal(b.code, a.code, `exit status differs: ${ctx}`);
  assert.equal(
    b.stderr !== "",
    a.stderr !== "",
    `stderr presence differs: ${ctx}`,
  );
}

function requireTools(): void {
  assert.ok(
    findMdevctl(),
    "mdevctl is not installed: run tests/host_packages.sh (apt-get install mdevctl)",
  );
  assert.equal(
    Deno.uid(),
    0,
    "the differential test needs root for unshare -m",
  );
}

/** Read-only commands compared on a tree. */
function readCommands(tree: FakeTree, rng: Rng): string[][] {
  const uuids = [
    ...tree.active.map((a) => a.uuid),
    ...tree.defined.map((d) => d.uuid),
  ];
  const parents = [
    ...tree.parents.map((p) => p.name),
    ...tree.defined.map((d) => d.parent),
  ];
  const someUuid = uuids.length > 0 ? rng.pick(uuids) : rng.uuid();
  const someParent = rng.pick(parents);
  return [
    ["list"],
    ["list", "-d"],
    ["list", "--dumpjson"],
    ["list", "-d", "--dumpjson"],
    ["list", "-v"],
    ["list", "-d", "-v"],
    ["list", "-u", someUuid],
    ["list", "-u", someUuid.toUpperCase(), "--dumpjson"],
    ["list", "-d", "-u", someUuid, "--dumpjson"],
    ["list", "-d", "-u", someUuid, "-v"],
    ["list", "-p", someParent],
    ["list", "-d", "-p", someParent, "--dumpjson"],
    ["list", "-d", "-p", someParent, "-u", someUuid, "--dumpjson"],
    ["list", "-u", rng.uuid(), "--dumpjson"],
    ["types"],
    ["types", "--dumpjson"],
    ["types", "-p", someParent],
    ["types", "-p", "no-such-parent", "--dumpjson"],
    ["list", "-u", "not-a-uuid"],
  ];
}

const PEERS: { peer: Peer; seeds: number[] }[] = [
  { peer: "1.2", seeds: SEEDS },
  // mdevctl 1.4 from the Debian 13 peer root, vdevctl with COMPAT=1.4.
  { peer: "1.4", seeds: SEEDS.slice(0, 12) },
];

/**
 * Runs the read commands on `tree` with both tools and compares them;
 * `options.cached`: vdevctl lists the definitions from its store cache
 * (the tree has a /run, its files are older than SETTLE_MS, one listing
 * wrote the cache).
 */
async function compareReads(
  what: string,
  tree: FakeTree,
  options: { peer: Peer; rng: Rng; cached?: boolean },
): Promise<void> {
  const { peer, rng } = options;
  const dir = Deno.makeTempDirSync({ prefix: "mdev-diff-" });
  try {
    writeFakeTree(dir, tree);
    if (options.cached) await warmStoreCache(dir);
    const cmds = readCommands(tree, rng);
    const results = await pool(
      cmds.map((args) => () =>
        Promise.all([
          runPeer(peer, dir, args),
          runVdevctlAs(peer, dir, args),
        ])
      ),
      2,
    );
    cmds.forEach((args, i) =>
      same(`${what}: mdev ${args.join(" ")}`, ...results[i])
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

for (const { peer, seeds } of PEERS) {
  for (const seed of seeds) {
    Deno.test(`mdev diff: seed ${seed}: list and types match mdevctl ${peer}`, async () => {
      requireTools();
      const rng = new Rng(seed);
      await compareReads(`seed ${seed}`, randomTree(rng), { peer, rng });
    });
  }
}

/**
 * Makes vdevctl's store cache for the tree in `dir` and checks that the
 * next listing is served from it.
 */
async function warmStoreCache(dir: string): Promise<void> {
  Deno.mkdirSync(`${dir}/run`);
  const written = Date.now();
  while (Date.now() <= written + SETTLE_MS + 50) {
    await new Promise((r) => setTimeout(r, 50)); // until the files settle
  }
  const first = await runVdevctl(dir, ["list", "-d"]);
  assert.equal(first.code, 0, first.stderr);
  assert.ok(Deno.lstatSync(`${dir}${STORE_CACHE_PATH}`).isFile);
  const cache = StoreCache.open(new SysRoot(dir), `${dir}/etc/mdevctl.d`);
  const served = scanStore(`${dir}/etc/mdevctl.d`, {}, { cache });
  assert.ok(served.fromCache > 0, "the store cache serves the listing");
}

// The benchmark's tree shapes at a smaller scale (the listing's indexed
// paths: bus names, each parent's definition names; over 32 definitions a
// parent, so that the store reads them through libc), vdevctl listing the
// definitions from its store cache.
const SHAPES: ScaleShape[] = ["mix", "defined-only", "running-only"];
for (const peer of ["1.2", "1.4"] as const) {
  for (const [i, shape] of SHAPES.entries()) {
    Deno.test(`mdev diff: ${shape} tree of 200 devices: list and types match mdevctl ${peer}`, async () => {
      requireTools();
      const rng = new Rng(500 + i);
      const tree = scaleTree(rng, { parents: 3, devices: 200, shape });
      const cached = tree.defined.length > 0; // running-only: nothing to cache
      await compareReads(`${shape} tree`, tree, { peer, rng, cached });
    });
  }
}

/** A define/modify/undefine session for a tree; `@FILE` is the jsonfile path. */
function writeSession(tree: FakeTree, rng: Rng): string[][] {
  const p = rng.pick(tree.parents);
  const t = rng.pick(p.types).id;
  const n1 = rng.uuid();
  const n2 = rng.uuid();
  const n3 = rng.uuid();
  const cmds: string[][] = [
    ["define", "-u", n1, "-p", p.name, "-t", t],
    ["define", "-u", n2, "-p", p.name, "-t", t, "-a"],
    ["define", "-u", n1, "-p", p.name, "-t", t],
    ["modify", "-u", n1, "--addattr", "a", "--value", "v 1"],
    ["modify", "-u", n1, "--addattr", "b", "--value", 'q"uote', "--index", "0"],
    ["modify", "-u", n1, "--addattr", "c", "--value", "3", "-i", "9"],
    ["modify", "-u", n1, "-a"],
    ["modify", "-u", n2, "--delattr"],
    ["modify", "-u", n2, "-m", "-t", `${t}-other`],
    ["modify", "-u", n1, "--delattr", "--index", "1"],
    ["modify", "-u", n1, "--addattr", "x"],
    ["modify", "-u", n1, "-a", "-m"],
    ["modify", "-u", rng.uuid(), "-a"],
    ["define", "-u", n3, "-p", p.name, "--jsonfile", "@FILE"],
    ["define", "-u", n3, "-p", p.name, "--jsonfile", "@FILE"],
    ["define", "-u", n3, "--jsonfile", "@FILE"],
    ["define", "-u", n3, "-p", p.name, "--jsonfile", "@MISSING"],
    ["define", "-u", rng.uuid()],
    ["define", "-p", p.name],
    ["define", "-u", rng.uuid(), "-t", t],
    ["undefine", "-u", n2],
    ["undefine", "-u", n2],
    ["undefine", "-u", rng.uuid(), "-p", p.name],
  ];
  for (const a of tree.active.slice(0, 3)) {
    cmds.push(["define", "-u", a.uuid]);
    cmds.push(["define", "-u", a.uuid, "-a"]);
    cmds.push(["define", "-u", a.uuid, "-p", a.parent, "-t", `${a.type}`]);
  }
  for (const d of tree.defined.slice(0, 3)) {
    cmds.push([
      "modify",
      "-u",
      d.uuid,
      "-p",
      d.parent,
      "--addattr",
      "z",
      "--value",
      "1",
    ]);
    cmds.push(["modify", "-u", d.uuid, "-m"]);
    cmds.push(["undefine", "-u", d.uuid, "-p", d.parent]);
  }
  cmds.push(["list", "-d", "--dumpjson"], ["list", "-d", "-v"]);
  return cmds;
}

const JSONFILE = JSON.stringify({
  mdev_type: "from-file",
  start: "auto",
  attrs: [{ k1: "v1" }, { k2: "two words" }],
});

const WRITE_RUNS: [Peer, number][] = [
  ...SEEDS.slice(0, 6).map((s): [Peer, number] => ["1.2", s]),
  ...SEEDS.slice(0, 2).map((s): [Peer, number] => ["1.4", s]),
];

for (const [peer, seed] of WRITE_RUNS) {
  Deno.test(`mdev diff: seed ${seed}: define/modify/undefine write what mdevctl ${peer} writes`, async () => {
    requireTools();
    const rng = new Rng(seed);
    const tree = randomTree(rng);
    const base = Deno.makeTempDirSync({ prefix: `mdev-diffw-${seed}-` });
    const a = `${base}/mdevctl`;
    const b = `${base}/vdevctl`;
    try {
      writeFakeTree(a, tree);
      writeFakeTree(b, tree);
      Deno.writeTextFileSync(`${base}/dev.json`, JSONFILE);
      const session = writeSession(tree, new Rng(seed * 7)).map((args) =>
        args.map((x) =>
          x === "@FILE"
            ? `${base}/dev.json`
            : x === "@MISSING"
            ? `${base}/missing.json`
            : x
        )
      );
      for (const args of session) {
        const [ra, rb] = await Promise.all([
          runPeer(peer, a, args, { share: base }),
          runVdevctlAs(peer, b, args),
        ]);
        same(`seed ${seed}: mdev ${args.join(" ")}`, ra, rb);
      }
      assert.deepEqual(
        snapshot(`${b}/etc/mdevctl.d`),
        snapshot(`${a}/etc/mdevctl.d`),
        "the definition files differ",
      );
      // Each tool reads what the other wrote.
      for (const args of [["list", "-d", "--dumpjson"], ["list", "-v"]]) {
        const [mOnV, vOnV, vOnM, mOnM] = await Promise.all([
          runPeer(peer, b, args),
          runVdevctlAs(peer, b, args),
          runVdevctlAs(peer, a, args),
          runPeer(peer, a, args),
        ]);
        same(`seed ${seed}: mdevctl reads vdevctl's files`, mOnV, vOnV);
        same(`seed ${seed}: vdevctl reads mdevctl's files`, mOnM, vOnM);
      }
    } finally {
      Deno.removeSync(base, { recursive: true });
    }
  });
}
