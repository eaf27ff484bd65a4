/**
 * What every entry (main.ts, and the launcher's `mdev list|types` entry
 * commands/mdev_fast.ts) reads first: where the family word is among the
 * arguments, the arguments of the commander-free mdev listing, and the
 * one-line report of the error that ended a command.
 *
 * @module
 */

import { messageOf, VdevError } from "../lib/errors.ts";
import { personalize, programName } from "../lib/personality.ts";

/** Where the family word is among the arguments. */
export interface FamilyWord {
  /** The first argument that is not a global option (the family to load). */
  family?: string;
  /** Its index in the arguments (the arguments' length when there is none). */
  index: number;
  /** The value of the last `--root DIR` or `--root=DIR` before it. */
  root?: string;
  /** Nothing but `--root` options comes before it (no help, no unknown option). */
  onlyRoot: boolean;
}

/** Finds the family word of `args`, skipping the global options before it. */
export function familyWord(args: readonly string[]): FamilyWord {
  let root: string | undefined;
  let onlyRoot = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--root") {
      root = args[++i];
      continue;
    }
    if (a.startsWith("--root=")) {
      root = a.slice("--root=".length);
      continue;
    }
    if (a.startsWith("-")) {
      onlyRoot = false;
      continue;
    }
    return { family: a, index: i, root, onlyRoot };
  }
  return { index: args.length, root, onlyRoot };
}

/**
 * The arguments for the commander-free `mdev list`/`mdev types` path
 * (`commands/mdev_fast.ts`): what follows the family word `mdev` when the
 * subcommand is `list` or `types`, with the `--root` given before it;
 * undefined for every other command line. Only the family word counts: an
 * argument `mdev` anywhere else (`vduse show mdev`) does not.
 */
export function fastMdevArgs(
  args: readonly string[],
): { args: readonly string[]; root?: string } | undefined {
  const word = familyWord(args);
  if (word.family !== "mdev" || !word.onlyRoot) return undefined;
  const sub = args[word.index + 1];
  if (sub !== "list" && sub !== "types") return undefined;
  return { args: args.slice(word.index + 1), root: word.root };
}

/**
 * Reports an error that ended a command and returns the exit status: one
 * line on stderr for a {@linkcode VdevError} (its own status), nothing more
 * for commander's usage errors (already printed; 2, or 0 for help and
 * version), "internal error" and 70 for anything else.
 */
export async function exitStatusOf(err: unknown): Promise<number> {
  if (
    !(err instanceof VdevError) &&
    err instanceof (await import("commander")).CommanderError
  ) {
    // Help and version exit 0; usage errors were already printed.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof VdevError) {
    // console.error adds the final newline (and is what the in-process
    // e2e helper captures).
    if (err.stderr !== undefined) {
      console.error(err.stderr.replace(/\n$/, ""));
    } else console.error(personalize(`vdevctl: ${err.message}`));
    if (Deno.env.get("VDEVCTL_DEBUG") && err.cause) console.error(err.cause);
    return err.exitCode;
  }
  const msg = messageOf(err);
  console.error(`${programName()}: internal error: ${msg}`);
  if (Deno.env.get("VDEVCTL_DEBUG")) console.error(err);
  return 70;
}
