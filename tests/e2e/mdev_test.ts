/**
 * `vdevctl mdev` on the real 6.12 kernel with mtty and mdpy loaded, checked
 * against Debian's mdevctl 1.2 run in the same guest on the same devices:
 * types, list (text, JSON, verbose, filters), start/stop, define (also
 * promoting a running device), undefine, modify, start-parent-mdevs, the
 * attribute rollback, and every kernel errno translation (duplicate UUID
 * EEXIST, malformed UUID EINVAL, exhausted pool ENOSPC with mtty and EUSERS
 * with mdpy, no permission as nobody). Run inside the sandbox:
 *
 *   ./vdevctl sandbox run --modules mtty,mdpy -- \
 *     ./node_modules/.bin/deno test -A tests/e2e/mdev_test.ts
 *
 * @module
 */

import assert from "node:assert/strict";
import { VdevError } from "../../lib/errors.ts";
import {
  ConfigStore,
  createDevice,
  MdevSysfs,
  openMdev,
} from "../../lib/mdev/mod.ts";
import { SysRoot } from "../../lib/root.ts";
import { asNobodyArgv, runCommand } from "../command_output.ts";
import { findMdevctl } from "../mdev/diff_helpers.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const VDEVCTL = `${REPO}/vdevctl`;

function mdevctlPath(): string {
  const p = findMdevctl();
  if (p === undefined) {
    throw new Error(
      "mdevctl is not installed on the host (apt-get install mdevctl)",
    );
  }
  return p;
}

const run = (cmd: string, args: string[]) => runCommand([cmd, ...args]);

const ours = (args: string[]) => run(VDEVCTL, ["mdev", ...args]);
const theirs = (args: string[]) => run(mdevctlPath(), args);

/** vdevctl succeeds; its stdout equals mdevctl's and both exit alike. */
async function same(args: string[]): Promise<string> {
  const a = await ours(args);
  const b = await theirs(args);
  assert.equal(a.stdout, b.stdout, `stdout of mdev ${args.join(" ")}`);
  assert.equal(
    a.code,
    b.code,
    `exit of mdev ${args.join(" ")}: ${a.stderr} / ${b.stderr}`,
  );
  assert.equal(
    a.stderr !== "",
    b.stderr !== "",
    `stderr of mdev ${args.join(" ")}: ${a.stderr} / ${b.stderr}`,
  );
  return a.stdout;
}

async function ok(args: string[]): Promise<string> {
  const r = await ours(args);
  assert.equal(r.code, 0, `vdevctl mdev ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

async function failsOneLine(
  args: string[],
  re: RegExp,
  code = 1,
): Promise<void> {
  const r = await ours(args);
  assert.equal(r.code, code, `vdevctl mdev ${args.join(" ")}: ${r.stderr}`);
  assert.match(r.stderr, /^vdevctl: [^\n]*\n$/, "one line on stderr");
  assert.match(r.stderr, re);
}

function hasParent(name: string): boolean {
  try {
    Deno.statSync(`/sys/class/mdev_bus/${name}`);
    return true;
  } catch {
    return false;
  }
}

function active(uuid: string): boolean {
  try {
    Deno.statSync(`/sys/bus/mdev/devices/${uuid}`);
    return true;
  } catch {
    return false;
  }
}

async function stopAll(): Promise<void> {
  for (const e of Deno.readDirSync("/sys/bus/mdev/devices")) {
    Deno.writeTextFileSync(`/sys/bus/mdev/devices/${e.name}/remove`, "1");
  }
  for (const p of ["mtty", "mdpy"]) {
    try {
      Deno.removeSync(`/etc/mdevctl.d/${p}`, { recursive: true });
    } catch {
      // none
    }
  }
  await Promise.resolve();
}

const U = [
  "0e6a1d5c-0000-4000-8000-000000000001",
  "0e6a1d5c-0000-4000-8000-000000000002",
  "0e6a1d5c-0000-4000-8000-000000000003",
  "0e6a1d5c-0000-4000-8000-000000000004",
];

function mustHaveKernel(): void {
  assert.ok(
    hasParent("mtty") && hasParent("mdpy"),
    "mtty and mdpy must be loaded (sandbox run --modules mtty,mdpy)",
  );
  Deno.mkdirSync("/etc/mdevctl.d/scripts.d/callouts", { recursive: true });
  Deno.mkdirSync("/etc/mdevctl.d/scripts.d/notifiers", { recursive: true });
}

Deno.test("e2e mdev: types and empty lists equal mdevctl's", async () => {
  mustHaveKernel();
  await stopAll();
  const types = await same(["types"]);
  assert.ok(
    types.includes("mtty\n  mtty-1\n    Available instances: 24\n"),
    types,
  );
  await same(["types", "--dumpjson"]);
  await same(["types", "-p", "mdpy"]);
  await same(["list"]);
  await same(["list", "-d", "--dumpjson"]);
});

Deno.test("e2e mdev: start/stop, define/modify/undefine, outputs equal mdevctl's", async () => {
  mustHaveKernel();
  await stopAll();
  // Transient start with a given and a generated UUID.
  assert.equal(
    await ok(["start", "-u", U[0], "-p", "mtty", "-t", "mtty-1"]),
    "",
  );
  assert.ok(active(U[0]));
  const gen = (await ok(["start", "-p", "mtty", "-t", "mtty-2"])).trim();
  assert.match(gen, /^[0-9a-f-]{36}$/);
  assert.ok(active(gen));
  await same(["list"]);
  await same(["list", "--dumpjson"]);
  await same(["list", "-u", U[0], "--dumpjson"]);
  await same(["types"]);
  // Promote the running device; define others; modify.
  await ok(["define", "-u", U[0]]);
  await ok(["define", "-u", U[1], "-p", "mtty", "-t", "mtty-2", "-a"]);
  await ok(["modify", "-u", U[1], "--addattr", "nope", "--value", "1"]);
  await ok(["define", "-u", U[2], "-p", "mdpy", "-t", "mdpy-vga"]);
  await ok(["modify", "-u", U[2], "-a", "-t", "mdpy-xga"]);
  for (
    const args of [["list"], ["list", "-d"], ["list", "-d", "-v"], [
      "list",
      "-d",
      "--dumpjson",
    ], [
      "list",
      "-v",
      "-p",
      "mtty",
    ]]
  ) await same(args);
  // Files written by vdevctl are mdevctl's files.
  assert.equal(
    Deno.readTextFileSync(`/etc/mdevctl.d/mdpy/${U[2]}`),
    '{\n  "mdev_type": "mdpy-xga",\n  "start": "auto",\n  "attrs": []\n}',
  );
  // Start a defined device: its attribute does not exist on mtty, so the
  // device is removed again and the error names the attribute.
  await failsOneLine(
    ["start", "-u", U[1]],
    /has no attribute "nope"; the device was removed again/,
  );
  assert.ok(!active(U[1]));
  await ok(["modify", "-u", U[1], "--delattr"]);
  await ok(["start", "-u", U[1]]);
  assert.ok(active(U[1]));
  await same(["list", "-d"]);
  // mdevctl starts what vdevctl defined and the reverse.
  const m = await theirs(["start", "-u", U[2]]);
  assert.equal(m.code, 0, m.stderr);
  await ok(["stop", "-u", U[2]]);
  assert.ok(!active(U[2]));
  // Stop and undefine.
  await ok(["stop", "-u", U[0]]);
  await ok(["stop", "-u", gen]);
  await ok(["undefine", "-u", U[0]]);
  await same(["list"]);
  await same(["list", "-d", "--dumpjson"]);
  await failsOneLine(["stop", "-u", U[0]], /is not running/);
  await stopAll();
});

Deno.test("e2e mdev: start-parent-mdevs starts the auto devices only", async () => {
  mustHaveKernel();
  await stopAll();
  await ok(["define", "-u", U[0], "-p", "mtty", "-t", "mtty-1", "-a"]);
  await ok(["define", "-u", U[1], "-p", "mtty", "-t", "mtty-2", "-a"]);
  await ok(["define", "-u", U[2], "-p", "mtty", "-t", "mtty-1"]);
  await ok(["start-parent-mdevs", "mtty"]);
  assert.ok(active(U[0]) && active(U[1]) && !active(U[2]));
  await same(["list"]);
  await same(["list", "-d"]);
  // mdevctl's own start-parent-mdevs agrees: nothing new to start, exit 0.
  await same(["start-parent-mdevs", "mtty"]);
  await stopAll();
});

Deno.test("e2e mdev: duplicate UUID, malformed UUID, unknown parent and type", async () => {
  mustHaveKernel();
  await stopAll();
  await ok(["start", "-u", U[0], "-p", "mtty", "-t", "mtty-1"]);
  // Through the CLI: refused before the kernel, as mdevctl refuses it.
  await failsOneLine(
    ["start", "-u", U[0], "-p", "mdpy", "-t", "mdpy-vga"],
    /already running/,
  );
  assert.equal(
    (await theirs(["start", "-u", U[0], "-p", "mdpy", "-t", "mdpy-vga"])).code,
    1,
  );
  await failsOneLine(
    ["start", "-u", "0e6a1d5c-0000", "-p", "mtty", "-t", "mtty-1"],
    /not a UUID/,
    2,
  );
  await failsOneLine(
    ["start", "-p", "nope", "-t", "mtty-1"],
    /mdev parent nope does not exist/,
  );
  await failsOneLine(
    ["start", "-p", "mtty", "-t", "mtty-9"],
    /has no type mtty-9/,
  );
  // The kernel's own errnos, reached by skipping the pre-checks.
  const ctx = openMdev(new SysRoot("/"));
  const blind = new (class extends MdevSysfs {
    override loadActive() {
      return undefined;
    }
    override availableInstances() {
      return 1;
    }
  })(new SysRoot("/"));
  const raw = { sysfs: blind, store: ctx.store };
  assert.throws(
    () =>
      createDevice(raw, {
        uuid: U[0],
        parent: "mdpy",
        type: "mdpy-vga",
        attrs: [],
      }),
    (e) => e instanceof VdevError && /duplicate UUID/.test(e.message),
  );
  assert.throws(
    () =>
      createDevice(raw, {
        uuid: "not-a-uuid",
        parent: "mtty",
        type: "mtty-1",
        attrs: [],
      }),
    (e) => e instanceof VdevError && /\(EINVAL\)/.test(e.message),
  );
  await stopAll();
});

Deno.test("e2e mdev: exhausted pools: ENOSPC (mtty), EUSERS (mdpy), and the CLI's check", async () => {
  mustHaveKernel();
  await stopAll();
  const sysfs = new MdevSysfs(new SysRoot("/"));
  // mtty: 24 ports; mtty-2 takes 2.
  for (let i = 0; i < 12; i++) {
    await ok(["start", "-p", "mtty", "-t", "mtty-2"]);
  }
  assert.equal(sysfs.availableInstances("mtty", "mtty-1"), 0);
  await failsOneLine(
    ["start", "-p", "mtty", "-t", "mtty-1"],
    /no available instances of mtty-1 on mtty/,
  );
  assert.equal((await theirs(["start", "-p", "mtty", "-t", "mtty-1"])).code, 1);
  // mdpy: the mdev core's instance counter.
  let n = 0;
  while (sysfs.availableInstances("mdpy", "mdpy-vga") > 0 && n++ < 16) {
    await ok(["start", "-p", "mdpy", "-t", "mdpy-vga"]);
  }
  await failsOneLine(
    ["start", "-p", "mdpy", "-t", "mdpy-xga"],
    /no available instances/,
  );
  const blind = new (class extends MdevSysfs {
    override availableInstances() {
      return 1;
    }
  })(new SysRoot("/"));
  const raw = { sysfs: blind, store: new ConfigStore(new SysRoot("/")) };
  const codes: string[] = [];
  for (const [parent, type] of [["mtty", "mtty-1"], ["mdpy", "mdpy-vga"]]) {
    assert.throws(
      () =>
        createDevice(raw, {
          uuid: crypto.randomUUID(),
          parent,
          type,
          attrs: [],
        }),
      (e) => {
        assert.ok(e instanceof VdevError);
        const m = /no available instances left \((\w+)\)/.exec(e.message);
        assert.ok(m, e.message);
        codes.push(m[1]);
        return true;
      },
    );
  }
  assert.deepEqual(codes, ["ENOSPC", "EUSERS"]);
  await same(["list"]);
  await same(["types"]);
  await stopAll();
});

Deno.test("e2e mdev: not root: one line naming the file, nothing created", async () => {
  mustHaveKernel();
  await stopAll();
  // From a copy nobody can reach: the clone may be in a 0700 directory.
  const [setpriv, ...asNobody] = asNobodyArgv([
    "mdev",
    "start",
    "-u",
    U[3],
    "-p",
    "mtty",
    "-t",
    "mtty-1",
  ]);
  const r = await run(setpriv, asNobody);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^vdevctl: permission denied on \/sys\/\S+\/create \(running as uid 65534\): run vdevctl mdev as root\n$/,
  );
  assert.ok(!active(U[3]));
});
