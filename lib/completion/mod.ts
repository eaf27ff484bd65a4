/**
 * Shell completion: the bash, zsh and fish scripts and the live values
 * behind them.
 *
 * This module is the family's face: other families, `commands/`, benches
 * and tests outside `tests/completion/` import the family only from here.
 *
 * @module
 */

export { completionScript, optionValue, SHELLS } from "./script.ts";
export type { Shell } from "./script.ts";
export { completeWords, formatCompletion } from "./complete.ts";
export type {
  Candidate,
  Completion,
  CompletionKind,
  ValueSource,
  ValueSources,
} from "./complete.ts";
export { COMMA_LISTS, completionSources } from "./values.ts";
