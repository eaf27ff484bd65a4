/**
 * `-V`/`--version` (lib/version.ts, commands/version.ts): vdevctl's version
 * is package.json's; `vdevctl mdev` and `vdevctl vdpa` print exactly what
 * Debian's mdevctl and iproute2's vdpa print on this host (differential),
 * with every spelling the peers take.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CommandResult, runCommand } from "./command_output.ts";
import {
  IPROUTE2_VERSION,
  MDEVCTL_VERSION,
  VDEVCTL_VERSION,
  versionText,
} from "../lib/version.ts";
import { findMdevctl } from "./mdev/diff_helpers.ts";

const repo = new URL("..", import.meta.url).pathname;

function vdevctl(args: string[]): Promise<CommandResult> {
  return runCommand([`${repo}vdevctl`, ...args], {
    env: { VDEVCTL_ROOT: `${repo}examples/sysroot` },
  });
}

async function peer(argv: string[]): Promise<CommandResult> {
  const r = await runCommand(argv);
  assert.equal(r.code, 0, `${argv.join(" ")}: ${r.stderr}`);
  return r;
}

Deno.test("vdevctl's version is package.json's", () => {
  const pkg = JSON.parse(Deno.readTextFileSync(`${repo}package.json`));
  assert.equal(VDEVCTL_VERSION, pkg.version);
  assert.match(VDEVCTL_VERSION, /^\d+\.\d+\.\d+/);
});

Deno.test("vdevctl -V and --version name vdevctl and the peer versions", async () => {
  for (const args of [["-V"], ["--version"], ["--root", "/", "-V"]]) {
    const r = await vdevctl(args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal(
      r.stdout,
      `vdevctl ${VDEVCTL_VERSION}\n` +
        `mdev: compatible with mdevctl ${MDEVCTL_VERSION}\n` +
        `vdpa: compatible with iproute2 ${IPROUTE2_VERSION} (vdpa)\n`,
    );
  }
});

Deno.test("vdevctl mdev --version prints what mdevctl 1.2 prints, subcommands too", async () => {
  const mdevctl = findMdevctl();
  assert.ok(mdevctl, "mdevctl is not installed (bash tests/host_packages.sh)");
  const cases = [
    ["--version"],
    ["-V"],
    ["list", "--version"],
    ["list", "-d", "-V"],
  ];
  for (const args of cases) {
    const want = await peer([mdevctl, ...args]);
    const got = await vdevctl(["mdev", ...args]);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, want.stdout, `mdev ${args.join(" ")}`);
    assert.equal(got.stderr, "");
  }
  // mdevctl 1.2 refuses the flag on its other subcommands; vdevctl answers
  // in clap's format.
  for (const sub of ["types", "start", "define"]) {
    const r = await vdevctl(["mdev", sub, "-V"]);
    assert.equal(r.stdout, `mdevctl-${sub} ${MDEVCTL_VERSION}\n`);
  }
});

Deno.test("vdevctl vdpa -V prints what iproute2's vdpa prints, in its spellings", async () => {
  for (const flag of ["-V", "-Version", "--Version", "--V", "--Vers"]) {
    const want = await peer(["vdpa", flag]);
    const got = await vdevctl(["vdpa", flag]);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, want.stdout, flag);
  }
  // vdevctl's spelling too (iproute2 6.1 refuses --version).
  assert.equal(
    (await vdevctl(["vdpa", "--version"])).stdout,
    `vdpa utility, iproute2-${IPROUTE2_VERSION}\n`,
  );
});

Deno.test("the other families print vdevctl's version; -- ends the flags", async () => {
  for (const family of ["vduse", "mvnet", "sandbox", "completion"]) {
    const r = await vdevctl([family, "-V"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `vdevctl ${family} ${VDEVCTL_VERSION}\n`);
  }
  assert.equal(
    versionText(["vduse", "show"]),
    `vdevctl vduse show ${VDEVCTL_VERSION}`,
  );
  const r = await vdevctl(["sandbox", "run", "--", "-V"]);
  assert.notEqual(r.stdout, `vdevctl sandbox run ${VDEVCTL_VERSION}\n`);
});

Deno.test("help lists -V, --version on every level", async () => {
  for (
    const args of [["--help"], ["mdev", "--help"], ["vduse", "show", "-h"]]
  ) {
    const r = await vdevctl(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /-V, --version +print the version and exit/,
      args.join(" "),
    );
  }
});
