/**
 * Personalities: the launcher started as `mdevctl`, `lsmdev` or `vdpa`
 * (a symlink) runs `vdevctl mdev`, `vdevctl mdev list`, `vdevctl vdpa`, and
 * its messages name the personality's commands.
 */

import assert from "node:assert/strict";
import { personalityOf, personalize } from "../lib/personality.ts";
import { runCommand } from "./command_output.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const ROOT = `${REPO}/examples/sysroot`;

Deno.test("personalityOf: by the name's last component only", () => {
  assert.deepEqual(personalityOf("/usr/bin/mdevctl")?.prefix, ["mdev"]);
  assert.deepEqual(personalityOf("lsmdev")?.prefix, ["mdev", "list"]);
  assert.deepEqual(personalityOf("/x/vdpa")?.prefix, ["vdpa"]);
  assert.equal(personalityOf("vdevctl"), undefined);
  assert.equal(personalityOf("/usr/bin/mdevctl.old"), undefined);
  assert.equal(personalityOf(undefined), undefined);
});

Deno.test("personalize: commands and the message prefix", () => {
  const p = personalityOf("mdevctl");
  assert.equal(
    personalize("vdevctl: no such device: see 'vdevctl mdev list -d'", p),
    "mdevctl: no such device: see 'mdevctl list -d'",
  );
  assert.equal(
    personalize("Usage: vdevctl mdev list [options]", personalityOf("lsmdev")),
    "Usage: lsmdev [options]",
  );
  assert.equal(
    personalize("vdevctl: see 'vdevctl vdpa dev show'", personalityOf("vdpa")),
    "vdpa: see 'vdpa dev show'",
  );
  assert.equal(
    personalize("vdevctl: x 'vdevctl mdev'", undefined),
    "vdevctl: x 'vdevctl mdev'",
  );
});

Deno.test("the launcher under each personality's name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vdevctl-personality-" });
  try {
    for (const n of ["mdevctl", "lsmdev", "vdpa"]) {
      Deno.symlinkSync(`${REPO}/vdevctl`, `${dir}/${n}`);
    }
    const run = (argv: string[]) =>
      runCommand(argv, { cwd: dir, env: { VDEVCTL_ROOT: ROOT } });
    const want = await run([
      `${REPO}/vdevctl`,
      "mdev",
      "list",
      "-d",
      "--dumpjson",
    ]);
    assert.equal(want.code, 0, want.stderr);
    const ls = await run([`${dir}/lsmdev`, "-d", "--dumpjson"]);
    assert.equal(ls.stdout, want.stdout);
    const mdevctl = await run([`${dir}/mdevctl`, "list", "-d", "--dumpjson"]);
    assert.equal(mdevctl.stdout, want.stdout);
    const bad = await run([`${dir}/mdevctl`, "stop", "-u", "nope"]);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /^mdevctl: option '-u, --uuid <UUID>' argument 'nope' is invalid/,
    );
    const help = await run([`${dir}/lsmdev`, "--help"]);
    assert.match(help.stdout, /^Usage: lsmdev \[options\]/);
    const vdpaHelp = await run([`${dir}/vdpa`, "--help"]);
    assert.match(vdpaHelp.stdout, /^Usage: vdpa \[-V\] \[-j\|--json\]/);
    assert.doesNotMatch(vdpaHelp.stdout, /vdevctl vdpa/);
    // The name is not passed on to the programs vdevctl starts.
    const env = await run([`${dir}/mdevctl`, "bogus"]);
    assert.match(env.stderr, /^mdevctl: unknown command 'bogus'/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
