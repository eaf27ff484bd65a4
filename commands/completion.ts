/**
 * `vdevctl completion bash|zsh|fish` prints a completion script; the script
 * calls the hidden `vdevctl complete -- WORDS...`, which `main.ts` routes to
 * {@linkcode complete} with the whole command tree loaded.
 *
 * @module
 */

import { Argument, Command, type CommandUnknownOpts } from "commander";
import {
  completionSources,
  optionValue,
  printCompletions,
  printCompletionScript,
  SHELLS,
} from "../lib/completion/mod.ts";
import { resolveRoot } from "../lib/root.ts";

/** Builds the `completion` command. */
export function command(): CommandUnknownOpts {
  return new Command("completion")
    .description("print a shell completion script (bash, zsh or fish)")
    .addArgument(new Argument("<shell>", "the shell").choices(SHELLS))
    .addHelpText(
      "after",
      `
Examples:
  source <(vdevctl completion bash)
  vdevctl completion zsh > "\${fpath[1]}/_vdevctl"
  vdevctl completion fish > ~/.config/fish/completions/vdevctl.fish`,
    )
    .action((shell) => printCompletionScript(shell));
}

/** Prints the candidates for `words` (what follows `vdevctl complete --`). */
export function complete(
  program: CommandUnknownOpts,
  words: readonly string[],
): void {
  const root = resolveRoot(optionValue(words, { long: "--root" }));
  printCompletions(program, { words, sources: completionSources(root) });
}
