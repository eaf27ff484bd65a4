/**
 * mdevctl's callouts and notifiers: `vdevctl mdev` runs logging, vetoing,
 * attribute-reporting, versioned and hanging scripts on fake trees; and the
 * differential part runs the same scripts under the real mdevctl 1.2 (the
 * host's) and 1.4 (the Debian 13 peer root): same scripts called, in the
 * same order, with the same arguments and stdin, the same outcome.
 *
 * @module
 */

import assert from "node:assert/strict";
import { writeFakeTree } from "./fake_tree.ts";
import { findMdevctl, mdevctlArgv, REPO, snapshot } from "./diff_helpers.ts";
import { type CommandResult, runCommand } from "../command_output.ts";
import {
  type ScriptBehaviour,
  takeLog,
  writeScript,
} from "./callout_scripts.ts";
import { peerRoot, peerScript } from "../../lib/sandbox/mod.ts";

const RUNNING = "b1b8c3b4-1d1e-4c5f-9a0e-6a7b8c9d0e1f";
const DEFINED = "c2c9d4c5-2e2f-4d60-8b1f-7b8c9d0e1f20";
const NEW = "d3dae5d6-3f30-4e71-9c20-8c9d0e1f2031";
const NEW2 = "e4ebf6e7-4041-4f82-8d31-9d0e1f203142";

/** A tree with mtty (types mtty-1, mtty-2), one running undefined device, one definition. */
function makeTree(): string {
  const dir = Deno.makeTempDirSync({ prefix: "vdevctl-callouts-" });
  writeFakeTree(dir, {
    parents: [{
      name: "mtty",
      devicePath: "virtual/mtty/mtty",
      types: [
        {
          id: "mtty-1",
          name: "Single port serial",
          available: 8,
          deviceApi: "vfio-pci",
        },
        {
          id: "mtty-2",
          name: "Dual port serial",
          available: 4,
          deviceApi: "vfio-pci",
        },
      ],
    }],
    active: [{ uuid: RUNNING, parent: "mtty", type: "mtty-1" }],
    defined: [{
      parent: "mtty",
      uuid: DEFINED,
      type: "mtty-1",
      start: "manual",
      attrs: [["x", "1"]],
    }],
  });
  for (const d of ["callouts", "notifiers"]) {
    Deno.mkdirSync(`${dir}/usr/lib/mdevctl/scripts.d/${d}`, {
      recursive: true,
    });
  }
  Deno.mkdirSync(`${dir}/log`);
  return dir;
}

const etc = (t: string, d = "callouts") => `${t}/etc/mdevctl.d/scripts.d/${d}`;
const usr = (t: string, d = "callouts") =>
  `${t}/usr/lib/mdevctl/scripts.d/${d}`;

/** A tool run on a tree: `@LOG` and `@DIR` in args name the tree's log folder. */
type Tool = (tree: string, args: string[]) => Promise<CommandResult>;

function vdevctl(
  version: "1.2" | "1.4",
  extra: Record<string, string> = {},
): Tool {
  return (tree, args) =>
    runCommand([
      `${REPO}/vdevctl`,
      "--root",
      tree,
      "mdev",
      ...args.map((a) => a.replace("@DIR", `${tree}/log`)),
    ], {
      env: {
        CALLOUT_LOG: `${tree}/log/calls.log`,
        VDEVCTL_MDEVCTL_COMPAT: version,
        ...extra,
      },
    });
}

const mdevctl12: Tool = (tree, args) =>
  runCommand(
    mdevctlArgv(tree, args.map((a) => a.replace("@DIR", `${tree}/log`))),
    {
      env: { CALLOUT_LOG: `${tree}/log/calls.log` },
    },
  );

async function mdevctl14(): Promise<Tool> {
  const root = await peerRoot({ say: (l) => console.error(l) });
  return (tree, args) =>
    runCommand([
      "sh",
      "-c",
      peerScript(root, [
        "mdevctl",
        ...args.map((a) => a.replace("@DIR", "/log")),
      ], {
        binds: [
          [`${tree}/sys`, "/sys"],
          [`${tree}/etc/mdevctl.d`, "/etc/mdevctl.d"],
          [`${tree}/usr/lib/mdevctl`, "/usr/lib/mdevctl"],
          [`${tree}/log`, "/log"],
        ],
      }),
    ], { env: { CALLOUT_LOG: "/log/calls.log" } });
}

function withTree(fn: (tree: string) => Promise<void>) {
  return async () => {
    const tree = makeTree();
    try {
      await fn(tree);
    } finally {
      Deno.removeSync(tree, { recursive: true });
    }
  };
}

const MAIN: ScriptBehaviour = { types: ["mtty-1"], vetoAction: "undefine" };

Deno.test(
  "callouts: pre, post and notify with mdevctl's arguments and the device's JSON",
  withTree(async (t) => {
    writeScript(etc(t), "20-main", MAIN);
    writeScript(etc(t, "notifiers"), "n1", { types: ["mtty-1"] });
    const run = vdevctl("1.2");
    const r = await run(t, ["define", "-u", NEW, "-p", "mtty", "-t", "mtty-1"]);
    assert.equal(r.code, 0, r.stderr);
    const json = '{"mdev_type":"mtty-1","start":"manual","attrs":[]}';
    const args = (e: string, s: string) =>
      `-t mtty-1 -e ${e} -a define -s ${s} -u ${NEW} -p mtty`;
    assert.deepEqual(takeLog(`${t}/log/calls.log`), [
      `20-main ${args("pre", "none")} | ${json}`,
      `20-main ${args("post", "success")} | ${json}`,
      `n1 ${args("notify", "success")} | ${json}`,
    ]);
  }),
);

Deno.test(
  "callouts: a failing pre callout vetoes (naming the script and its code) unless --force",
  withTree(async (t) => {
    const script = writeScript(etc(t), "20-main", {
      types: ["mtty-1"],
      vetoAction: "define",
    });
    const run = vdevctl("1.2");
    const r = await run(t, ["define", "-u", NEW, "-p", "mtty", "-t", "mtty-1"]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`20-main: no define today`), r.stderr);
    assert.ok(
      r.stderr.includes(`callout script "${script}" failed with return code 1`),
      r.stderr,
    );
    assert.match(r.stderr, /add -f\/--force/);
    assert.equal(snapshot(`${t}/etc/mdevctl.d`).has(`mtty/${NEW}`), false);
    assert.equal(takeLog(`${t}/log/calls.log`).length, 1);
    const f = await run(t, [
      "define",
      "-u",
      NEW,
      "-p",
      "mtty",
      "-t",
      "mtty-1",
      "--force",
    ]);
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stderr, /forcing define/);
    assert.equal(snapshot(`${t}/etc/mdevctl.d`).has(`mtty/${NEW}`), true);
    assert.deepEqual(
      takeLog(`${t}/log/calls.log`).map((l) =>
        l.split(" ").slice(0, 11).join(" ")
      ),
      [
        "20-main -t mtty-1 -e pre -a define -s none -u " + NEW,
        "20-main -t mtty-1 -e post -a define -s success -u " + NEW,
      ],
    );
  }),
);

Deno.test(
  "callouts: /usr/lib first, sorted, a script for another type (exit 2) skipped",
  withTree(async (t) => {
    writeScript(usr(t), "50-other", { types: ["mtty-2"] });
    writeScript(etc(t), "30-b", { types: ["mtty-1"] });
    writeScript(etc(t), "10-a", { types: ["mtty-1"] });
    const r = await vdevctl("1.2")(t, ["modify", "-u", DEFINED, "-a"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      takeLog(`${t}/log/calls.log`).map((l) =>
        `${l.split(" ")[0]} ${l.split(" ")[4]}`
      ),
      [
        "50-other pre",
        "10-a pre",
        "10-a post",
      ],
    );
  }),
);

Deno.test(
  "callouts: a hanging script is killed after the time limit with one clear line",
  withTree(async (t) => {
    writeScript(etc(t), "20-hang", { types: ["mtty-1"], hangSeconds: 300 });
    const started = Date.now();
    const r = await vdevctl("1.2", { VDEVCTL_CALLOUT_TIMEOUT: "2" })(t, [
      "modify",
      "-u",
      DEFINED,
      "-a",
    ]);
    assert.ok(Date.now() - started < 60_000);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /callout script "[^"]*20-hang" did not finish within 2 s and was killed/,
    );
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }),
);

Deno.test(
  "callouts: no shell: names and values with $(...) are passed as they are",
  withTree(async (t) => {
    const odd = "20 $(touch pwned)";
    writeScript(etc(t), odd, { types: ["mtty-1"] });
    const r = await vdevctl("1.2")(t, [
      "modify",
      "-u",
      DEFINED,
      "--addattr",
      "a",
      "--value",
      "$(touch pwned2)",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const log = takeLog(`${t}/log/calls.log`);
    assert.equal(log.length, 2);
    assert.ok(log[0].includes('{"x":"1"},{"a":"$(touch pwned2)"}'), log[0]);
    for (const f of ["pwned", "pwned2"]) {
      assert.throws(() => Deno.statSync(`${REPO}/${f}`));
      assert.throws(() => Deno.statSync(`${t}/${f}`));
    }
  }),
);

Deno.test(
  "callouts: list shows get-attributes of running devices; NUL end (1.4 only); bad JSON is a warning, define fails",
  withTree(async (t) => {
    const list = (v: "1.2" | "1.4") => vdevctl(v)(t, ["list", "-v"]);
    const script = { types: ["mtty-1"], attributes: '[{"a":"1"},{"b":"x y"}]' };
    writeScript(etc(t), "20-attrs", script);
    const expect =
      `${RUNNING} mtty mtty-1 manual\n  Attrs:\n    @{0}: {"a":"1"}\n    @{1}: {"b":"x y"}\n`;
    assert.ok((await list("1.2")).stdout.startsWith(expect));
    writeScript(etc(t), "20-attrs", {
      ...script,
      attributes: script.attributes + "\0",
    });
    assert.ok((await list("1.4")).stdout.startsWith(expect));
    assert.equal(
      (await list("1.2")).stdout,
      `${RUNNING} mtty mtty-1 manual\n\n`,
    );
    writeScript(etc(t), "20-attrs", { ...script, attributes: "{not json" });
    const bad = await list("1.2");
    assert.equal(bad.code, 0);
    assert.equal(bad.stdout, `${RUNNING} mtty mtty-1 manual\n\n`);
    assert.match(
      bad.stderr,
      /20-attrs" printed invalid JSON for get attributes/,
    );
    const def = await vdevctl("1.2")(t, ["define", "-u", RUNNING]);
    assert.equal(def.code, 1);
    assert.match(def.stderr, /printed invalid JSON/);
  }),
);

Deno.test(
  "callouts: modify --live goes through a versioned script's live event; --defined writes the definition",
  withTree(async (t) => {
    const json = `${t}/log/dev.json`;
    Deno.writeTextFileSync(
      json,
      '{"mdev_type":"mtty-1","start":"auto","attrs":[{"z":"9"}]}',
    );
    const run = vdevctl("1.4");
    const live = ["modify", "-u", RUNNING, "--live"];
    writeScript(etc(t), "20-plain", { types: ["mtty-1"] });
    const no = await run(t, [...live, "--jsonfile", json]);
    assert.equal(no.code, 1);
    assert.match(no.stderr, /live update not supported/);
    Deno.removeSync(`${etc(t)}/20-plain`);
    writeScript(usr(t), "20-live", {
      types: ["mtty-1"],
      versioned: ["pre", "post", "get", "live"],
    });
    takeLog(`${t}/log/calls.log`);
    const ok = await run(t, [...live, "--jsonfile", json]);
    assert.equal(ok.code, 0, ok.stderr);
    const events = takeLog(`${t}/log/calls.log`).map((l) =>
      l.split(" ").slice(3, 7).join(" ")
    );
    assert.deepEqual(events, [
      "-e get -a capabilities",
      "-e get -a attributes",
      "-e live -a modify",
    ]);
    assert.equal(snapshot(`${t}/etc/mdevctl.d`).has(`mtty/${RUNNING}`), false);
    const liveDefined = [...live, "-d"];
    const noDef = await run(t, [...liveDefined, "--jsonfile", json]);
    assert.equal(noDef.code, 1);
    assert.match(noDef.stderr, /is not defined/);
    writeScript(usr(t), "20-live", {
      types: ["mtty-1"],
      versioned: ["pre", "post", "get", "live"],
      liveExit: 1,
    });
    await vdevctl("1.2")(t, ["define", "-u", RUNNING]);
    const failed = await run(t, [...liveDefined, "--jsonfile", json]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /20-live" failed with return code 1/);
    writeScript(usr(t), "20-live", {
      types: ["mtty-1"],
      versioned: ["pre", "post", "get", "live"],
    });
    const both = await run(t, [
      ...liveDefined.slice(0, -1),
      "--defined",
      "--jsonfile",
      json,
    ]);
    assert.equal(both.code, 0, both.stderr);
    assert.match(
      snapshot(`${t}/etc/mdevctl.d`).get(`mtty/${RUNNING}`) ?? "",
      /"z": "9"/,
    );
  }),
);

// ------------------------------------------------ against the real mdevctl

/** The scripts of the differential scenario (in /etc only for 1.2). */
function installScenario(t: string, version: "1.2" | "1.4"): void {
  writeScript(etc(t), "10-other", { types: ["mtty-2"] });
  writeScript(etc(t), "20-main", {
    types: ["mtty-1"],
    vetoAction: "undefine",
    attributes: '[{"a":"1"}]',
  });
  writeScript(etc(t, "notifiers"), "n1", { types: ["mtty-1", "mtty-2"] });
  if (version === "1.4") {
    writeScript(usr(t), "05-versioned", {
      types: ["mtty-2"],
      versioned: ["pre", "post", "get"],
      vetoAction: "start",
    });
  }
  for (const dir of [etc(t), usr(t)]) {
    const order = [...Deno.readDirSync(dir)].map((e) => e.name);
    // mdevctl runs a folder's scripts in readdir order (1.2): it must be sorted here.
    assert.deepEqual(
      order,
      [...order].sort(),
      `readdir order of ${dir} is not sorted`,
    );
  }
}

const SCENARIO: string[][] = [
  ["define", "-u", NEW, "-p", "mtty", "-t", "mtty-1"],
  ["define", "-u", RUNNING],
  ["modify", "-u", NEW, "--addattr", "k", "--value", "v w"],
  ["define", "-u", NEW2, "-p", "mtty", "-t", "mtty-2"],
  ["start", "-u", NEW2],
  ["undefine", "-u", DEFINED],
  ["undefine", "-u", NEW],
  ["start", "-u", DEFINED],
  ["list"],
  ["list", "-v"],
  ["list", "-d"],
];

async function compare(version: "1.2" | "1.4", peer: Tool): Promise<void> {
  const a = makeTree();
  const b = makeTree();
  try {
    installScenario(a, version);
    installScenario(b, version);
    const ours = vdevctl(version);
    for (const args of SCENARIO) {
      const want = await peer(a, args);
      const got = await ours(b, args);
      const what = `${version}: mdev ${
        args.join(" ")
      }\n--- mdevctl (exit ${want.code}): ${want.stderr}--- vdevctl (exit ${got.code}): ${got.stderr}`;
      assert.deepEqual(
        takeLog(`${b}/log/calls.log`),
        takeLog(`${a}/log/calls.log`),
        `calls differ: ${what}`,
      );
      assert.equal(got.code, want.code, `exit status differs: ${what}`);
      const trim = (s: string) => version === "1.4" ? s.replace(/\n+$/, "") : s;
      assert.equal(
        trim(got.stdout),
        trim(want.stdout),
        `stdout differs: ${what}`,
      );
      assert.deepEqual(
        snapshot(`${b}/etc/mdevctl.d`),
        snapshot(`${a}/etc/mdevctl.d`),
        `files differ: ${what}`,
      );
    }
  } finally {
    Deno.removeSync(a, { recursive: true });
    Deno.removeSync(b, { recursive: true });
  }
}

Deno.test("callouts diff: the real mdevctl 1.2 calls the same scripts the same way", async () => {
  assert.ok(
    findMdevctl(),
    "mdevctl is not installed: run tests/host_packages.sh",
  );
  assert.equal(
    Deno.uid(),
    0,
    "the differential test needs root for unshare -m",
  );
  await compare("1.2", mdevctl12);
});

Deno.test("callouts diff: the real mdevctl 1.4 (Debian 13) calls the same scripts the same way", async () => {
  assert.equal(
    Deno.uid(),
    0,
    "the differential test needs root for unshare -m",
  );
  await compare("1.4", await mdevctl14());
});
