/**
 * The command tree as a whole: every family reports usage errors as one line
 * `vdevctl: ...` with exit status 2, and help exits 0; the family word (and
 * with it the mdev fast path) is found after the global options.
 */

import assert from "node:assert/strict";
import {
  type CommandResult,
  LAUNCHER_YOUNG_FLAG,
  launcherDenoArgv,
  runCommand,
} from "./command_output.ts";
import { familyWord, fastMdevArgs } from "../commands/entry.ts";

const repo = new URL("..", import.meta.url).pathname;

function vdevctl(args: string[]): Promise<CommandResult> {
  return runCommand([Deno.execPath(), "run", "-A", `${repo}main.ts`, ...args], {
    cwd: repo,
    env: { VDEVCTL_ROOT: `${repo}examples/sysroot` },
  });
}

const USAGE_ERRORS = [
  ["mdev", "list", "--bogus"],
  ["vdpa", "--no-iproute2-compat", "dev", "show", "--bogus"],
  ["vduse", "show", "--bogus"],
  ["mvnet", "run", "--bogus"],
  ["sandbox", "run", "--bogus"],
  ["completion", "--bogus"],
  ["nosuchfamily"],
];

for (const args of USAGE_ERRORS) {
  Deno.test(`usage error: vdevctl ${args.join(" ")}`, async () => {
    const r = await vdevctl(args);
    assert.equal(r.code, 2, `exit status for ${args.join(" ")}`);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^vdevctl: /);
    assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/, "no stack trace");
  });
}

for (const family of ["mdev", "vdpa", "vduse", "mvnet", "sandbox"]) {
  Deno.test(`vdevctl ${family} --help exits 0 with usage`, async () => {
    const r = await vdevctl([family, "--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Usage: vdevctl ${family}`));
  });
}

Deno.test("mvnet run --irq-cpus/--datapath-cpus: bad or offline CPUs are refused before anything is created", async () => {
  // examples/sysroot has CPUs 0-3 online and no VDUSE.
  for (
    const [list, re, option = "--irq-cpus"] of [
      ["9", /^vdevctl: bad --irq-cpus 9: CPU 9 is not online \(online: 0-3\)$/],
      ["1-x", /^vdevctl: bad --irq-cpus '1-x': '1-x' is not a CPU number/],
      [
        "9",
        /^vdevctl: bad --datapath-cpus 9: CPU 9 is not online/,
        "--datapath-cpus",
      ],
    ] as const
  ) {
    const r = await vdevctl(["mvnet", "run", option, list]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr.trimEnd(), re);
  }
  const ok = await vdevctl([
    "mvnet",
    "run",
    "--irq-cpus",
    "3",
    "--datapath-cpus",
    "0-2",
  ]);
  assert.equal(ok.code, 1);
  assert.match(ok.stderr, /VDUSE is not available/, "valid CPUs pass on");
  const both = await vdevctl([
    "mvnet",
    "run",
    "--no-worker",
    "--datapath-cpus",
    "0",
  ]);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /drop --no-worker or --datapath-cpus/);
});

Deno.test("the family word is the first argument that is not a global option", () => {
  assert.deepEqual(familyWord(["--root", "/r", "--root=/s", "vduse", "x"]), {
    family: "vduse",
    index: 3,
    root: "/s",
    onlyRoot: true,
  });
  assert.deepEqual(familyWord(["-h", "mdev"]), {
    family: "mdev",
    index: 1,
    root: undefined,
    onlyRoot: false,
  });
  assert.deepEqual(familyWord(["--root", "mdev"]), {
    index: 2,
    root: "mdev",
    onlyRoot: true,
  });
});

Deno.test("the mdev fast path is taken for the family word mdev with list or types only", () => {
  // "mdev" as any other argument (old main.ts: args.includes("mdev")) does
  // not choose it.
  for (
    const args of [
      ["vduse", "show", "mdev"],
      ["vdpa", "dev", "show", "mdev"],
      ["sandbox", "run", "--", "mdev", "list"],
      ["--root", "mdev", "list"],
      ["mdev", "stop", "-u", "mdev"],
      ["mdev", "--root", "/r", "list"],
      ["-h", "mdev", "list"],
      ["mdev"],
    ]
  ) {
    assert.equal(fastMdevArgs(args), undefined, args.join(" "));
  }
  assert.deepEqual(fastMdevArgs(["mdev", "list", "-p", "mdev"]), {
    args: ["list", "-p", "mdev"],
    root: undefined,
  });
  assert.deepEqual(fastMdevArgs(["--root", "/r", "mdev", "list", "-d"]), {
    args: ["list", "-d"],
    root: "/r",
  });
  assert.deepEqual(fastMdevArgs(["--root=/r", "mdev", "types"]), {
    args: ["types"],
    root: "/r",
  });
});

Deno.test("mdev list after --root DIR and --root=DIR lists the last root's devices", async () => {
  const r = await vdevctl([
    "--root",
    "/nonexistent",
    `--root=${repo}examples/sysroot`,
    "mdev",
    "list",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^b1b8c3b4-1d1e-4c5f-9a0e-6a7b8c9d0e1f mtty mtty-1/m);
});

/** Where `./vdevctl ARGS` (started as `name`) starts: its entry module. */
async function launcherEntry(
  args: string[],
  options: { name?: string; bundle?: boolean; flags?: string[] } = {},
): Promise<string> {
  const dir = Deno.makeTempDirSync({ prefix: "launcher-" });
  try {
    Deno.copyFileSync(`${repo}vdevctl`, `${dir}/vdevctl`);
    if (options.bundle) {
      // What an install adds (lib/install/bundle.ts).
      Deno.mkdirSync(`${dir}/commands`);
      Deno.writeTextFileSync(`${dir}/commands/mdev_fast.bundle.js`, "");
      Deno.writeTextFileSync(`${dir}/commands/mdev_types_fast.bundle.js`, "");
    }
    Deno.mkdirSync(`${dir}/node_modules/.bin`, { recursive: true });
    // A deno that prints what it was asked to run.
    Deno.writeTextFileSync(
      `${dir}/node_modules/.bin/deno`,
      '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n',
      { mode: 0o755 },
    );
    let launcher = `${dir}/vdevctl`;
    if (options.name !== undefined) {
      Deno.symlinkSync(launcher, `${dir}/${options.name}`);
      launcher = `${dir}/${options.name}`;
    }
    const r = await runCommand([launcher, ...args]);
    assert.equal(r.code, 0, r.stderr);
    const argv = r.stdout.split("\n").slice(0, -1);
    // deno run FLAGS... ENTRY ARGS...: the entry is what precedes ARGS.
    assert.deepEqual(argv.slice(argv.length - args.length), args);
    // What precedes the entry, the copy's folder written as DIR.
    options.flags?.push(
      ...argv.slice(0, argv.length - args.length - 1).map((a) =>
        a.replaceAll(dir, "DIR")
      ),
    );
    return argv[argv.length - args.length - 1].slice(dir.length + 1);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("the launcher starts mdev list (also as mdevctl and lsmdev) at commands/mdev_fast.ts, mdev types at commands/mdev_types_fast.ts", async () => {
  const fast = "commands/mdev_fast.ts";
  const types = "commands/mdev_types_fast.ts";
  for (
    const [args, want] of [
      [["mdev", "list"], fast],
      [["mdev", "list", "-d", "--dumpjson"], fast],
      [["mdev", "types", "-p", "mtty"], types],
      [["--root", "/r", "mdev", "list"], fast],
      [["--root", "/r", "mdev", "types"], types],
      [["--root=/r", "mdev", "types"], types],
      [["--root=/r", "mdev", "list", "-d"], fast],
    ] as const
  ) {
    assert.equal(await launcherEntry([...args]), want, args.join(" "));
  }
  assert.equal(await launcherEntry(["list", "-d"], { name: "mdevctl" }), fast);
  assert.equal(await launcherEntry(["types"], { name: "mdevctl" }), types);
  assert.equal(await launcherEntry(["-d"], { name: "lsmdev" }), fast);
  assert.equal(await launcherEntry(["types"], { name: "lsmdev" }), fast);
  assert.equal(
    await launcherEntry(["complete", "--", "mdev", ""]),
    "commands/complete.ts",
  );
  for (
    const args of [
      ["mdev", "start", "-u", "x"],
      ["mdev"],
      ["vdpa", "dev", "show"],
      ["--root", "mdev", "list"],
      ["--root", "/r", "vduse", "list"],
      ["sandbox", "run", "--", "mdev", "list"],
      ["mdev", "parents"],
      ["--root=/r", "mdev", "define"],
      ["list"],
      ["types"],
    ]
  ) {
    assert.equal(await launcherEntry(args), "main.ts", args.join(" "));
  }
  assert.equal(await launcherEntry(["start"], { name: "mdevctl" }), "main.ts");
  assert.equal(await launcherEntry(["list"], { name: "vdpa" }), "main.ts");
});

Deno.test("an installed copy's launcher starts mdev list and types at their bundles, and nothing else", async () => {
  const bundle = "commands/mdev_fast.bundle.js";
  const types = "commands/mdev_types_fast.bundle.js";
  const opts = { bundle: true };
  assert.equal(await launcherEntry(["mdev", "list", "-d"], opts), bundle);
  assert.equal(
    await launcherEntry(["--root=/r", "mdev", "types"], opts),
    types,
  );
  assert.equal(
    await launcherEntry(["types", "--dumpjson"], { ...opts, name: "mdevctl" }),
    types,
  );
  assert.equal(
    await launcherEntry(["list"], { ...opts, name: "mdevctl" }),
    bundle,
  );
  assert.equal(
    await launcherEntry(["-d"], { ...opts, name: "lsmdev" }),
    bundle,
  );
  assert.equal(await launcherEntry(["mdev", "start"], opts), "main.ts");
  assert.equal(
    await launcherEntry(["complete", "--", "mdev", ""], opts),
    "commands/complete.ts",
  );
});

Deno.test("the launcher runs deno with launcherDenoArgv's flags: an installed copy's with a 32 MB young generation, a checkout's without", async () => {
  for (const bundle of [false, true]) {
    const flags: string[] = [];
    await launcherEntry(["mdev", "list"], { bundle, flags });
    const dir = Deno.makeTempDirSync({ prefix: "launcher-argv-" });
    try {
      if (bundle) {
        Deno.mkdirSync(`${dir}/commands`);
        Deno.writeTextFileSync(`${dir}/commands/mdev_fast.bundle.js`, "");
      }
      const want = launcherDenoArgv("deno", { repo: dir }).slice(1)
        .map((a) => a.replaceAll(dir, "DIR"));
      assert.deepEqual(flags, want, bundle ? "installed" : "checkout");
      assert.equal(flags.includes(LAUNCHER_YOUNG_FLAG), bundle);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  }
});

Deno.test("mdev list and types started at commands/mdev_fast.ts or commands/mdev_types_fast.ts answer as main.ts does; plain forms load neither main.ts nor npm packages", async () => {
  const lines = [
    ["mdev", "list"],
    ["mdev", "list", "-d", "-v"],
    ["mdev", "list", "--dumpjson"],
    ["mdev", "types"],
    ["mdev", "types", "-p", "mtty", "--dumpjson"],
    ["--root", `${repo}examples/sysroot`, "mdev", "list", "-d"],
    ["mdev", "list", "--bogus"],
    ["mdev", "list", "-u", "not-a-uuid"],
    ["mdev", "types", "--help"],
    ["--root", "/nonexistent-root", "mdev", "list"],
    ["--root", "/nonexistent-root", "mdev", "types"],
    ["mdev", "types", "-d"],
  ];
  const plain = 6;
  const types = "commands/mdev_types_fast.ts";
  for (const [i, args] of lines.entries()) {
    const answers: CommandResult[] = [];
    const entries = ["commands/mdev_fast.ts", types, "main.ts"];
    for (const entry of entries) {
      // The types entry runs a `list` line through main.ts.
      const own = entry === types
        ? args.includes("types")
        : entry !== "main.ts";
      const deny = own && i < plain
        ? [`--deny-read=${repo}main.ts,${repo}node_modules`]
        : [];
      answers.push(
        await runCommand(
          [Deno.execPath(), "run", "-A", ...deny, `${repo}${entry}`, ...args],
          { cwd: repo, env: { VDEVCTL_ROOT: `${repo}examples/sysroot` } },
        ),
      );
    }
    const main = answers[answers.length - 1];
    for (const [k, fast] of answers.slice(0, -1).entries()) {
      const what = `${entries[k]}: ${args.join(" ")}`;
      assert.deepEqual(
        { code: fast.code, stdout: fast.stdout, stderr: fast.stderr },
        { code: main.code, stdout: main.stdout, stderr: main.stderr },
        what,
      );
      if (i < plain) assert.equal(fast.code, 0, `${what}: ${fast.stderr}`);
    }
    if (i < plain) assert.notEqual(main.stdout, "", args.join(" "));
  }
});
