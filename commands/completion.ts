/**
 * `vdevctl completion bash|zsh|fish` prints a completion script; the script
 * calls the hidden `PROGRAM complete -- WORDS...`, which `main.ts` routes to
 * `commands/complete.ts` (commander-free, over the shipped command tree).
 *
 * @module
 */

import { Argument, Command, type CommandUnknownOpts } from "commander";
import { completionScript, SHELLS } from "../lib/completion/mod.ts";
import { out } from "./context.ts";

/** The launcher beside main.ts: the program the scripts call by default. */
const LAUNCHER = new URL("../vdevctl", import.meta.url).pathname;

/** Builds the `completion` command. */
export function command(): CommandUnknownOpts {
  return new Command("completion")
    .description("print a shell completion script (bash, zsh or fish)")
    .addArgument(new Argument("<SHELL>", "the shell").choices(SHELLS))
    .option(
      "--program <PATH>",
      "the program the script calls (default: this vdevctl, by absolute path)",
    )
    .addHelpText(
      "after",
      `
The script calls the vdevctl it was generated from, so it works when
vdevctl is not on PATH; --program vdevctl makes it call the one on PATH
(the scripts in completions/ do).

Examples:
  source <(vdevctl completion bash)
  vdevctl completion zsh > "\${fpath[1]}/_vdevctl"
  vdevctl completion fish > ~/.config/fish/completions/vdevctl.fish`,
    )
    .action((shell, opts) => {
      out(completionScript(shell, { program: opts.program ?? LAUNCHER }));
    });
}
