/**
 * Shell completion: the bash, zsh and fish scripts and the live values
 * behind them.
 *
 * This module is the family's face: other families, `commands/`, benches
 * and tests outside `tests/completion/` import the family only from here.
 *
 * @module
 */

export {
  optionValue,
  printCompletions,
  printCompletionScript,
  SHELLS,
} from "./script.ts";
export type { Candidate } from "./script.ts";
export { completionSources } from "./values.ts";
