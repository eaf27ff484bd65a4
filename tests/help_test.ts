/**
 * Help: `vdevctl help WORDS...` shows the help of the command the words
 * name, however deep (and vdpa's keyword usage), the same text as `--help`;
 * words that name no command are a one-line usage error (exit 2) pointing
 * at `vdevctl help`. The whole command tree's help is consistent: value
 * placeholders `<UPPER>` (`[UPPER]` only for an optional value), argument
 * names in capitals, defaults `(default: x)` unquoted.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { CommandUnknownOpts } from "commander";
import { type CommandResult, runCommand } from "./command_output.ts";
import { buildProgram } from "../main.ts";

const repo = new URL("..", import.meta.url).pathname;

function vdevctl(args: string[]): Promise<CommandResult> {
  return runCommand([Deno.execPath(), "run", "-A", `${repo}main.ts`, ...args], {
    cwd: repo,
    env: { VDEVCTL_ROOT: `${repo}examples/sysroot` },
  });
}

for (
  const [words, same, re] of [
    [
      ["mdev", "list"],
      ["mdev", "list", "--help"],
      /^Usage: vdevctl mdev list /,
    ],
    [
      ["vdpa", "dev", "add"],
      ["vdpa", "dev", "add", "help"],
      /vdpa dev add name NAME mgmtdev/,
    ],
    [
      ["sandbox", "run"],
      ["sandbox", "run", "--help"],
      /^Usage: vdevctl sandbox run /,
    ],
    [["mvnet"], ["mvnet", "--help"], /^Usage: vdevctl mvnet /],
  ] as const
) {
  Deno.test(`vdevctl help ${words.join(" ")} shows what ${same.join(" ")} shows`, async () => {
    const r = await vdevctl(["help", ...words]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, re);
    const want = await vdevctl([...same]);
    assert.equal(want.code, 0, want.stderr);
    assert.equal(r.stdout, want.stdout);
  });
}

Deno.test("vdevctl help sandbox run: --timeout says it limits the command from its start, not the boot", async () => {
  const r = await vdevctl(["help", "sandbox", "run"]);
  assert.match(
    r.stdout.replace(/\s+/g, " "),
    /--timeout <SECONDS> time limit for CMD, counted from its start in the guest \(booting has its own limit of 300 s\) \(default: 600\)/,
  );
});

for (
  const [words, hint] of [
    [["mdev", "frob"], "vdevctl help mdev"],
    [["nosuchfamily"], "vdevctl help"],
    [["vdpa", "dev", "frob"], "vdevctl help vdpa"],
    [["sandbox", "run", "extra"], "vdevctl help sandbox run"],
  ] as const
) {
  Deno.test(`vdevctl help ${words.join(" ")}: one line naming it and '${hint}', exit 2`, async () => {
    const r = await vdevctl(["help", ...words]);
    assert.equal(r.code, 2, r.stdout);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      `vdevctl: help: no command '${
        words.join(" ")
      }': see '${hint}' for the commands\n`,
    );
  });
}

/** `cmd` and its subcommands, depth first (no `help`). */
function walk(cmd: CommandUnknownOpts): CommandUnknownOpts[] {
  return [
    cmd,
    ...cmd.commands.filter((c) => c.name() !== "help").flatMap(walk),
  ];
}

function pathOf(cmd: CommandUnknownOpts): string {
  const path: string[] = [];
  for (let c: CommandUnknownOpts | null = cmd; c; c = c.parent) {
    path.unshift(c.name());
  }
  return path.join(" ");
}

/** Problems in the help of `cmd`: placeholders, argument names, defaults. */
export function helpProblems(cmd: CommandUnknownOpts): string[] {
  const out: string[] = [];
  const where = pathOf(cmd);
  for (const opt of cmd.options) {
    for (const ph of opt.flags.match(/[<[][^>\]]*[>\]]/g) ?? []) {
      const ok = opt.required
        ? /^<[A-Z][A-Z0-9_]*(=[A-Z][A-Z0-9_]*)?>$/.test(ph)
        : /^\[[A-Z][A-Z0-9_]*\]$/.test(ph);
      if (!ok) out.push(`${where} ${opt.flags}: placeholder ${ph}`);
    }
  }
  for (const arg of cmd.registeredArguments) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(arg.name())) {
      out.push(`${where}: argument ${arg.name()}`);
    }
  }
  const text = cmd.helpInformation();
  for (const m of text.matchAll(/\(default:? "[^)]*\)|\(default [^)]*\)/g)) {
    out.push(`${where}: ${m[0]}`);
  }
  return out;
}

Deno.test("the whole command tree: <UPPER> placeholders, capital argument names, defaults unquoted", async () => {
  const program = await buildProgram([]);
  const all = walk(program);
  assert.ok(all.length >= 30, `${all.length} commands`);
  assert.deepEqual(all.flatMap(helpProblems), []);
  // A default is shown, unquoted.
  const smoke = all.find((c) => pathOf(c) === "vdevctl mvnet smoke")!;
  assert.match(
    smoke.helpInformation(),
    /--frames <N> +number of frames \(default: 1000\)/,
  );
});

Deno.test("helpProblems finds a lower-case placeholder, a quoted default, a [value] for a required value", async () => {
  const { Command } = await import("commander");
  const bad = new Command("bad")
    .option("--type <type>", "t")
    .option("--size [size]", "s")
    .option("--mode <MODE>", "m", "fast")
    .argument("<name>", "n");
  assert.deepEqual(helpProblems(bad), [
    "bad --type <type>: placeholder <type>",
    "bad --size [size]: placeholder [size]",
    "bad: argument name",
    'bad: (default: "fast")',
  ]);
});
