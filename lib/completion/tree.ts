/**
 * The command tree as data, for completion: what `complete.ts` walks when
 * TAB is pressed. `vdevctl complete` must not import commander (about 45 ms
 * of start-up, through Deno's Node compatibility layer) nor the commands'
 * modules, so it reads the tree from `command_tree.json`, which
 * {@linkcode commandTree} derives from the commander tree
 * (`deno run -A tools/completions.ts` writes it; a test fails when it
 * drifts from the command tree).
 *
 * @module
 */

import type { CommandUnknownOpts } from "commander";

/** One option of a command, as completion needs it. */
export interface OptionNode {
  /** commander's flags (`-p, --parent <parent>`): the value name tells paths. */
  flags: string;
  long?: string;
  short?: string;
  description: string;
  /** Takes a value: always (`required`) or may (`optional`). */
  value?: "required" | "optional";
  variadic?: true;
  hidden?: true;
  /** The values it accepts, when it lists them. */
  choices?: string[];
}

/** One positional argument of a command. */
export interface ArgumentNode {
  name: string;
  variadic?: true;
  choices?: string[];
}

/** A command with its options, arguments and subcommands. */
export interface CommandNode {
  name: string;
  aliases?: string[];
  description: string;
  options: OptionNode[];
  arguments: ArgumentNode[];
  commands: CommandNode[];
}

/** The completion data of commander command `cmd` and everything under it. */
export function commandTree(cmd: CommandUnknownOpts): CommandNode {
  const node: CommandNode = {
    name: cmd.name(),
    description: cmd.description(),
    options: cmd.options.map((o) => {
      const opt: OptionNode = { flags: o.flags, description: o.description };
      if (o.long) opt.long = o.long;
      if (o.short) opt.short = o.short;
      if (o.required) opt.value = "required";
      else if (o.optional) opt.value = "optional";
      if (o.variadic) opt.variadic = true;
      if (o.hidden) opt.hidden = true;
      if (o.argChoices) opt.choices = [...o.argChoices];
      return opt;
    }),
    arguments: cmd.registeredArguments.map((a) => {
      const arg: ArgumentNode = { name: a.name() };
      if (a.variadic) arg.variadic = true;
      if (a.argChoices) arg.choices = [...a.argChoices];
      return arg;
    }),
    commands: cmd.commands.map((c) => commandTree(c)),
  };
  if (cmd.aliases().length > 0) node.aliases = [...cmd.aliases()];
  return node;
}

/** Where the shipped tree is (beside this module). */
export const COMMAND_TREE_FILE: URL = new URL(
  "./command_tree.json",
  import.meta.url,
);

/** The shipped command tree (`command_tree.json`). */
export function shippedCommandTree(): CommandNode {
  return JSON.parse(Deno.readTextFileSync(COMMAND_TREE_FILE)) as CommandNode;
}
