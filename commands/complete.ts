/**
 * The hidden `vdevctl complete -- WORDS...` that the completion scripts call
 * on TAB. It runs without commander and without the commands' modules: it
 * walks the shipped command tree and loads the live values of the family
 * being completed only (start-up time is TAB latency).
 *
 * @module
 */

import {
  COMMA_LISTS,
  completeWords,
  familySources,
  formatCompletion,
  optionValue,
  shippedCommandTree,
} from "../lib/completion/mod.ts";
import { resolveRoot } from "../lib/root.ts";
import { out } from "./context.ts";

/**
 * Prints the answer for `words` (what follows `vdevctl complete --`);
 * `family` is the family word once it is typed in full.
 */
export async function complete(
  words: readonly string[],
  options: { family?: string } = {},
): Promise<void> {
  const root = resolveRoot(optionValue(words.slice(0, -1), { long: "--root" }));
  const completion = completeWords(shippedCommandTree(), words, {
    sources: await familySources(options.family, root),
    commaLists: COMMA_LISTS,
  });
  out(formatCompletion(completion));
}
