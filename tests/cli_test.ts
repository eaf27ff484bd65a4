/**
 * The command tree as a whole: every family reports usage errors as one line
 * `vdevctl: ...` with exit status 2, and help exits 0.
 */

import assert from "node:assert/strict";

const repo = new URL("..", import.meta.url).pathname;

async function vdevctl(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${repo}main.ts`, ...args],
    cwd: repo,
    env: { VDEVCTL_ROOT: `${repo}examples/sysroot` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
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
