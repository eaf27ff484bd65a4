/**
 * The hidden `vdevctl complete -- WORDS...` that the completion scripts call
 * on TAB. It runs without commander and without the commands' modules: it
 * walks the shipped command tree and loads the live values of the family
 * being completed only (start-up time is TAB latency).
 *
 * The launcher starts this module directly for `vdevctl complete` (going
 * through `main.ts` costs Deno another module-graph pass and main.ts's own
 * load, 1-2 ms of CPU); `main.ts` routes `complete` here too. Started with
 * other arguments or as a personality, this module runs `main.ts`'s `main`.
 *
 * @module
 */

import {
  COMMA_LISTS,
  completedFamily,
  completeWords,
  familySources,
  formatCompletion,
  optionValue,
  shippedCommandTree,
} from "../lib/completion/mod.ts";
import { messageOf, VdevError } from "../lib/errors.ts";
import { resolveRoot } from "../lib/root.ts";
import { personalityOf } from "../lib/personality.ts";
import { out } from "./context.ts";

/**
 * Prints the answer for `words` (what follows `vdevctl complete --`), with
 * the live values of the family being completed when the cursor is on one:
 * those under the `--root` among the words, else `options.root` (a
 * `vdevctl --root DIR complete`), else `$VDEVCTL_ROOT` or `/`.
 */
export async function complete(
  words: readonly string[],
  options: { root?: string } = {},
): Promise<void> {
  const root = resolveRoot(
    optionValue(words.slice(0, -1), { long: "--root" }) ?? options.root,
  );
  const tree = shippedCommandTree();
  // Subcommands, option names and paths need no live values: the family's
  // values (and the family's code) are loaded only when they are asked for.
  const asked: string[] = [];
  let completion = completeWords(tree, words, {
    sources: {},
    commaLists: COMMA_LISTS,
    asked,
  });
  if (asked.length > 0) {
    completion = completeWords(tree, words, {
      sources: await familySources(completedFamily(tree, words), root),
      commaLists: COMMA_LISTS,
    });
  }
  out(formatCompletion(completion));
}

if (import.meta.main) {
  const argv0 = Deno.env.get("VDEVCTL_ARGV0");
  // Not passed on to the programs vdevctl runs.
  Deno.env.delete("VDEVCTL_ARGV0");
  if (Deno.args[0] !== "complete" || personalityOf(argv0)) {
    // Not a TAB of vdevctl's own scripts (`mdevctl complete ...`): the
    // whole program decides (imported here: main.ts imports this module).
    const { main } = await import(
      new URL("../main.ts", import.meta.url).href
    ) as typeof import("../main.ts");
    Deno.exitCode = await main(Deno.args, { argv0 });
  } else {
    try {
      const words = Deno.args.slice(Deno.args[1] === "--" ? 2 : 1);
      await complete(words);
    } catch (err) {
      console.error(`vdevctl: ${messageOf(err)}`);
      Deno.exitCode = err instanceof VdevError ? err.exitCode : 70;
    }
  }
}
