/**
 * The command tree that `vdevctl complete` walks (lib/completion/tree.ts):
 * the shipped `command_tree.json` is the commander tree's, and TAB loads
 * only what the line being completed needs: no commander (no npm package
 * at all), no command modules, and no family but the one being completed.
 * Module loads are observed, not timed: the completion runs with read
 * access denied to everything it must not load, and Deno refuses to import
 * a module it cannot read (statically or dynamically imported alike).
 *
 * @module
 */

import assert from "node:assert/strict";
import { buildProgram } from "../../main.ts";
import { commandTree, shippedCommandTree } from "../../lib/completion/tree.ts";
import { completedFamily } from "../../lib/completion/complete.ts";
import { launcherDenoArgv, runCommand } from "../command_output.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const EXAMPLE = `${REPO}/examples/sysroot`;

Deno.test("lib/completion/command_tree.json is the command tree's (regenerate: deno run -A tools/completions.ts)", async () => {
  const current = commandTree(await buildProgram([]));
  assert.deepEqual(
    shippedCommandTree(),
    JSON.parse(JSON.stringify(current)),
    "lib/completion/command_tree.json is stale: run 'deno run -A tools/completions.ts'",
  );
  const mdev = current.commands.find((c) => c.name === "mdev");
  const start = mdev?.commands.find((c) => c.name === "start");
  const parent = start?.options.find((o) => o.long === "--parent");
  assert.deepEqual(parent && { short: parent.short, value: parent.value }, {
    short: "-p",
    value: "required",
  });
});

Deno.test("the family whose values TAB loads: the top-level command the words walk into", () => {
  const tree = shippedCommandTree();
  assert.equal(completedFamily(tree, ["mdev", "start", "-p", ""]), "mdev");
  assert.equal(
    completedFamily(tree, ["--root", "/r", "vduse", "destroy", ""]),
    "vduse",
  );
  assert.equal(completedFamily(tree, ["--root=/r", "vdpa", ""]), "vdpa");
  // The family word is still being typed, or is not a family: none.
  assert.equal(completedFamily(tree, ["md"]), undefined);
  assert.equal(completedFamily(tree, ["--root", "/r", ""]), undefined);
  assert.equal(completedFamily(tree, ["--root", "mdev", ""]), undefined);
  assert.equal(completedFamily(tree, ["nope", "x", ""]), undefined);
  assert.equal(completedFamily(tree, ["constructor", ""]), undefined);
  assert.equal(completedFamily(tree, []), undefined);
});

/** Every folder of lib/ but completion and `allowed`, every command module but complete's. */
function deniedPaths(allowed: readonly string[]): string[] {
  const out = [Deno.realPathSync(`${REPO}/node_modules`)];
  for (const e of Deno.readDirSync(`${REPO}/lib`)) {
    if (!e.isDirectory || e.name === "completion") continue;
    if (!allowed.includes(e.name)) out.push(`${REPO}/lib/${e.name}`);
  }
  for (const e of Deno.readDirSync(`${REPO}/commands`)) {
    if (!["complete.ts", "context.ts"].includes(e.name)) {
      out.push(`${REPO}/commands/${e.name}`);
    }
  }
  return out.sort();
}

/**
 * `vdevctl complete -- WORDS` with read access to `deniedPaths(allowed)`
 * denied, started at both entries (the launcher's `commands/complete.ts`,
 * and `main.ts`), which must answer the same.
 */
async function completeDenied(words: string[], allowed: readonly string[]) {
  const deny = deniedPaths(allowed);
  const answers: string[] = [];
  for (const entry of ["commands/complete.ts", "main.ts"]) {
    const r = await runCommand(
      [
        ...launcherDenoArgv(Deno.execPath(), { repo: REPO }),
        `--deny-read=${deny.join(",")}`,
        `${REPO}/${entry}`,
        "complete",
        "--",
        ...words,
      ],
      { env: { VDEVCTL_ROOT: EXAMPLE } },
    );
    assert.equal(
      r.code,
      0,
      `${entry} complete -- ${
        words.join(" ")
      } read past ${allowed}: ${r.stderr}`,
    );
    answers.push(r.stdout);
  }
  assert.equal(answers[0], answers[1], "the two entries answer differently");
  return answers[0];
}

Deno.test("TAB in an mdev line loads the mdev family only: no commander, no vdpa, vduse, sandbox, netlink or FFI", async () => {
  assert.equal(
    await completeDenied(["mdev", "start", "-p", ""], ["mdev"]),
    "words\n0000:00:02.0\tmdev parent\nmtty\tmdev parent\n",
  );
  const uuids = await completeDenied(["mdev", "stop", "-u", ""], ["mdev"]);
  assert.match(
    uuids,
    /^b1b8c3b4-1d1e-4c5f-9a0e-6a7b8c9d0e1f\tactive, defined$/m,
  );
  assert.match(
    await completeDenied(["mdev", "start", "-p", "mtty", "-t", ""], ["mdev"]),
    /^mtty-2\tDual port serial on mtty, 11 available$/m,
  );
});

Deno.test("TAB on the first word, a subcommand, an option name or a path loads no family", async () => {
  const first = await completeDenied([""], []);
  for (const family of ["mdev", "vdpa", "vduse", "mvnet", "sandbox"]) {
    assert.match(first, new RegExp(`^${family}\\t`, "m"));
  }
  assert.equal(await completeDenied(["--root", ""], []), "dirs\n");
  // Subcommands, option names and path options of a family need no values.
  assert.match(
    await completeDenied(["mdev", ""], []),
    /^start-parent-mdevs\t/m,
  );
  assert.match(
    await completeDenied(["mdev", "list", "--d"], []),
    /^--defined\t/m,
  );
  assert.equal(
    await completeDenied(["mdev", "define", "--jsonfile", ""], []),
    "files\n",
  );
  assert.match(await completeDenied(["vdpa", "-"], []), /^--json\t/m);
});

Deno.test("TAB in vdpa, vduse and sandbox lines loads that family (and what it is built on) only", async () => {
  const vdpa = ["vdpa", "netlink", "sys", "virtio"];
  assert.match(await completeDenied(["vdpa", "dev", ""], vdpa), /^show\t/m);
  assert.match(
    await completeDenied(["sandbox", "run", "--modules", "mtty,"], [
      "sandbox",
    ]),
    /^mtty,vduse\tkernel module$/m,
  );
  // vduse devices attach to the vDPA bus: the vduse face imports vdpa's.
  assert.equal(
    await completeDenied(["vduse", "destroy", ""], ["vduse", ...vdpa]),
    "words\n",
  );
});
