/**
 * The command tree as a whole: every family reports usage errors as one line
 * `vdevctl: ...` with exit status 2, and help exits 0.
 */

import assert from "node:assert/strict";
import { type CommandResult, runCommand } from "./command_output.ts";

const repo = new URL("..", import.meta.url).pathname;

function vdevctl(args: string[]): Promise<CommandResult> {
  return runCommand([Deno.execPath(), "run", "-A", `${repo}main.ts`, ...args], {
    cwd: repo,
    env: { VDEVCTL_ROOT: `${repo}examples/sysroot` },
  });
}

const USAGE_ERRORS = [
  ["mdev", "list", "--bogus"],
  ["vdpa", "dev", "show", "--bogus"],
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
