/**
 * Shell completion: the bash, zsh and fish scripts, the command tree they
 * complete along, and the live values behind them.
 *
 * This module is the family's face: other families, `commands/`, benches
 * and tests outside `tests/completion/` import the family only from here.
 * It loads no other family (values are loaded per family, on demand).
 *
 * @module
 */

export { completionScript, optionValue, SHELLS } from "./script.ts";
export type { Shell } from "./script.ts";
export {
  completedFamily,
  completeWords,
  formatCompletion,
} from "./complete.ts";
export type {
  Candidate,
  Completion,
  CompletionKind,
  ValueSource,
  ValueSources,
} from "./complete.ts";
export { COMMA_LISTS, completionSources, familySources } from "./values.ts";
export { COMMAND_TREE_FILE, commandTree, shippedCommandTree } from "./tree.ts";
export type { ArgumentNode, CommandNode, OptionNode } from "./tree.ts";
