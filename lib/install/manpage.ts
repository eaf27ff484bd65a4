/**
 * Man pages generated from the commander tree, the one source of the help
 * text: `vdevctl(8)` for the program and one page per family
 * (`vdevctl-mdev(8)`, ..., `vdevctl-sandbox(1)`), in man(7) roff.
 *
 * @module
 */

import type { CommandUnknownOpts } from "commander";

/** One generated page. */
export interface ManPage {
  /** Page name (`vdevctl-mdev`). */
  name: string;
  /** Manual section. */
  section: 1 | 8;
  /** The roff source. */
  text: string;
}

/** Options of {@linkcode manPages}. */
export interface ManPageOptions {
  /** vdevctl's version, shown in the footer. */
  version: string;
}

/** Families that need no privileges: section 1; the rest: section 8. */
const USER_FAMILIES = new Set(["sandbox", "completion"]);

/** The peers a family's page refers to. */
const PEERS: Record<string, string[]> = {
  mdev: ["mdevctl(8)", "lsmdev(8)"],
  vdpa: ["vdpa(8)"],
};

/** The manual section of family `name`'s page. */
export function sectionOf(name: string): 1 | 8 {
  return USER_FAMILIES.has(name) ? 1 : 8;
}

/** Escapes text for roff: backslashes, and control characters at line start. */
export function roffText(s: string): string {
  return s.replace(/\\/g, "\\e").split("\n")
    .map((l) => /^[.']/.test(l) ? `\\&${l}` : l).join("\n");
}

/** Escapes a command or option term: also every `-` as a real minus. */
function roffTerm(s: string): string {
  return roffText(s).replace(/-/g, "\\-");
}

/** Every visible subcommand of `cmd` (no `help`). */
function subcommands(cmd: CommandUnknownOpts): CommandUnknownOpts[] {
  const help = cmd.createHelp();
  return (help.visibleCommands(cmd as never) as unknown as CommandUnknownOpts[])
    .filter((c) => c.name() !== "help");
}

/** `vdevctl mdev list` for a command of the tree. */
function fullName(cmd: CommandUnknownOpts): string {
  const names: string[] = [];
  for (let c: CommandUnknownOpts | null = cmd; c; c = c.parent) {
    names.unshift(c.name());
  }
  return names.join(" ");
}

function optionItems(cmd: CommandUnknownOpts): string[] {
  const help = cmd.createHelp();
  const lines: string[] = [];
  for (const arg of help.visibleArguments(cmd as never)) {
    lines.push(
      ".TP",
      `.I ${roffTerm(help.argumentTerm(arg))}`,
      roffText(help.argumentDescription(arg) || "(argument)"),
    );
  }
  for (const opt of help.visibleOptions(cmd as never)) {
    if (opt.long === "--help") continue;
    lines.push(
      ".TP",
      `.B ${roffTerm(help.optionTerm(opt))}`,
      roffText(help.optionDescription(opt)),
    );
  }
  return lines;
}

/** The text a command adds after its help (`addHelpText("after")`). */
function afterHelp(cmd: CommandUnknownOpts): string {
  let text = "";
  // commander keeps that text as an `afterHelp` listener (it is an EventEmitter).
  const emitter = cmd as unknown as {
    emit: (event: string, context: unknown) => boolean;
  };
  emitter.emit("afterHelp", {
    error: false,
    command: cmd,
    write: (s: string) => (text += s, true),
  });
  return text;
}

/** The section of one command and, after it, of its subcommands. */
function commandSection(cmd: CommandUnknownOpts): string[] {
  const help = cmd.createHelp();
  const lines = [
    `.SS "${roffTerm(fullName(cmd))} ${roffTerm(cmd.usage())}"`,
  ];
  const desc = help.commandDescription(cmd as never);
  if (desc) lines.push(roffText(desc));
  lines.push(...optionItems(cmd));
  const after = afterHelp(cmd).replace(/^\n+|\n+$/g, "");
  if (after) lines.push(".PP", ".nf", roffText(after), ".fi");
  for (const sub of subcommands(cmd)) lines.push(...commandSection(sub));
  return lines;
}

function header(name: string, section: number, version: string): string[] {
  return [
    `.\\" Generated from vdevctl's command tree (lib/install/manpage.ts): do not edit.`,
    `.TH "${roffTerm(name.toUpperCase())}" "${section}" "" "vdevctl ${
      roffText(version)
    }" "vdevctl manual"`,
  ];
}

function familyPage(
  fam: CommandUnknownOpts,
  version: string,
): ManPage {
  const name = `vdevctl-${fam.name()}`;
  const section = sectionOf(fam.name());
  const leaves: CommandUnknownOpts[] = [];
  const walk = (c: CommandUnknownOpts) => {
    const subs = subcommands(c);
    if (subs.length === 0) leaves.push(c);
    for (const s of subs) walk(s);
  };
  walk(fam);
  const seeAlso = ["vdevctl(8)", ...(PEERS[fam.name()] ?? [])]
    .map((p) => {
      const m = /^(.*)\((\d)\)$/.exec(p)!;
      return `.BR ${roffTerm(m[1])} (${m[2]})`;
    });
  const text = [
    ...header(name, section, version),
    ".SH NAME",
    `${roffTerm(name)} \\- ${roffText(fam.description())}`,
    ".SH SYNOPSIS",
    ".nf",
    ...leaves.map((c) =>
      `\\fB${roffTerm(fullName(c))}\\fR ${roffTerm(c.usage())}`
    ),
    ".fi",
    ".SH DESCRIPTION",
    `The \\fB${roffTerm(fullName(fam))}\\fR commands: ${
      roffText(fam.description())
    }.`,
    `Global options (such as \\fB\\-\\-root\\fR) are described in`,
    ".BR vdevctl (8).",
    // The family's own options (mdev's --compat, -V), before its commands.
    ...(subcommands(fam).length > 0 && optionItems(fam).length > 0
      ? [".SH OPTIONS", ...optionItems(fam)]
      : []),
    ".SH COMMANDS",
    ...(subcommands(fam).length > 0
      ? subcommands(fam).flatMap(commandSection)
      : commandSection(fam)),
    ".SH SEE ALSO",
    ...seeAlso.flatMap((s, i) => i < seeAlso.length - 1 ? [`${s},`] : [s]),
    "",
  ].join("\n");
  return { name, section, text };
}

function programPage(
  program: CommandUnknownOpts,
  families: CommandUnknownOpts[],
  version: string,
): ManPage {
  const famItems = families.flatMap((f) => [
    ".TP",
    `.B ${roffTerm(f.name())}`,
    `${roffText(f.description())}; see`,
    `.BR ${roffTerm(`vdevctl-${f.name()}`)} (${sectionOf(f.name())}).`,
  ]);
  const text = [
    ...header("vdevctl", 8, version),
    ".SH NAME",
    `vdevctl \\- ${roffText(program.description())}`,
    ".SH SYNOPSIS",
    ".B vdevctl",
    `[\\fB\\-\\-root\\fR \\fIDIR\\fR] \\fIFAMILY\\fR \\fICOMMAND\\fR [\\fIOPTIONS\\fR]`,
    ".SH DESCRIPTION",
    `${roffText(program.description())}.`,
    "Each family of commands has its own page.",
    ".SH OPTIONS",
    ...optionItems(program),
    ".SH FAMILIES",
    ...famItems,
    ".SH PERSONALITIES",
    "Started under the name",
    ".BR mdevctl ,",
    "vdevctl behaves as",
    '.BR "vdevctl mdev" ;',
    "as",
    ".BR lsmdev ,",
    "as mdevctl's lsmdev (\\fBvdevctl mdev list\\fR);",
    "as",
    ".BR vdpa ,",
    "as",
    '.BR "vdevctl vdpa" .',
    "Messages then name the personality's commands.",
    "The installer creates these names only when asked to",
    "(\\fBdeno task install \\-\\-personalities\\fR).",
    ".SH ENVIRONMENT",
    ".TP",
    ".B VDEVCTL_ROOT",
    "the default of \\fB\\-\\-root\\fR.",
    ".TP",
    ".B VDEVCTL_DEBUG",
    "when set, errors also print their cause.",
    ".SH EXIT STATUS",
    "0 on success, 1 when the operation failed, 2 on a usage error.",
    ".SH SEE ALSO",
    ...families.map((f, i) =>
      `.BR ${roffTerm(`vdevctl-${f.name()}`)} (${sectionOf(f.name())})${
        i < families.length - 1 ? "," : ""
      }`
    ),
    "",
  ].join("\n");
  return { name: "vdevctl", section: 8, text };
}

/** The pages for `program` (the whole tree, every family loaded). */
export function manPages(
  program: CommandUnknownOpts,
  options: ManPageOptions,
): ManPage[] {
  const families = subcommands(program);
  return [
    programPage(program, families, options.version),
    ...families.map((f) => familyPage(f, options.version)),
  ];
}
