/**
 * Man pages: `man/` is what the command tree generates (a test fails when
 * they drift: run `deno task man`), every command and option of the tree is
 * on its family's page, and man/groff render every page without warnings.
 */

import assert from "node:assert/strict";
import { buildProgram } from "../../main.ts";
import { manPages, roffText } from "../../lib/install/mod.ts";
import type { CommandUnknownOpts } from "commander";
import { runCommand } from "../command_output.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const VERSION =
  JSON.parse(Deno.readTextFileSync(`${REPO}/package.json`)).version;

async function pages() {
  const program = await buildProgram([]);
  return { program, pages: manPages(program as never, { version: VERSION }) };
}

Deno.test("man/ holds exactly the pages the command tree generates", async () => {
  const { pages: ps } = await pages();
  const names = ps.map((p) => `${p.name}.${p.section}`).sort();
  const files = [...Deno.readDirSync(`${REPO}/man`)].map((e) => e.name).sort();
  assert.deepEqual(files, names, "run 'deno task man'");
  for (const p of ps) {
    assert.equal(
      Deno.readTextFileSync(`${REPO}/man/${p.name}.${p.section}`),
      p.text,
      `man/${p.name}.${p.section} is stale: run 'deno task man'`,
    );
  }
});

/** `cmd` and its subcommands, depth first (no `help`). */
function walk(cmd: CommandUnknownOpts): CommandUnknownOpts[] {
  return [
    cmd,
    ...cmd.commands.filter((c) => c.name() !== "help").flatMap(walk),
  ];
}

Deno.test("every command and option of the tree is on its family's page", async () => {
  const { program, pages: ps } = await pages();
  const families = program.commands.filter((c) => c.name() !== "help");
  assert.ok(families.length >= 6);
  for (const fam of families) {
    const page = ps.find((p) => p.name === `vdevctl-${fam.name()}`);
    assert.ok(page, `page for ${fam.name()}`);
    const text = page.text.replace(/\\-/g, "-");
    for (const cmd of walk(fam)) {
      const path: string[] = [];
      for (let c: CommandUnknownOpts | null = cmd; c; c = c.parent) {
        path.unshift(c.name());
      }
      assert.ok(
        text.includes(`.SS "${path.join(" ")} `) || cmd === fam,
        `${path.join(" ")} on the page`,
      );
      for (const opt of cmd.options) {
        if (opt.hidden || opt.long === "--help") continue;
        assert.ok(
          text.includes(opt.flags),
          `${path.join(" ")} ${opt.flags} on the page`,
        );
      }
    }
    const main = ps.find((p) => p.name === "vdevctl")!;
    assert.ok(
      main.text.includes(`vdevctl\\-${fam.name()}`),
      `vdevctl(8) names ${fam.name()}`,
    );
  }
});

Deno.test("roff escaping: backslashes and control characters at line start", () => {
  assert.equal(roffText("a\\b"), "a\\eb");
  assert.equal(roffText(".SH x\n'y\nz"), "\\&.SH x\n\\&'y\nz");
});

Deno.test("man -l and groff render every page without warnings", async () => {
  for (const e of Deno.readDirSync(`${REPO}/man`)) {
    const file = `${REPO}/man/${e.name}`;
    const groff = await runCommand([
      "groff",
      "-man",
      "-Tutf8",
      "-ww",
      "-z",
      file,
    ]);
    assert.equal(groff.code, 0, groff.stderr);
    assert.equal(groff.stderr, "", `groff warnings for ${e.name}`);
    const man = await runCommand(["man", "--warnings", "-l", file], {
      env: { MANPAGER: "cat", PAGER: "cat", MANWIDTH: "80", LC_ALL: "C.UTF-8" },
    });
    assert.equal(man.code, 0, man.stderr);
    assert.equal(man.stderr, "", `man warnings for ${e.name}`);
    assert.match(man.stdout, /NAME\n\s+vdevctl/);
  }
});
