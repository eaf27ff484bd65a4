/**
 * The hot read-only mdev commands without commander: `mdev list` and
 * `mdev types` with plain options are parsed here (commander's import costs
 * ~25 ms, more than the rest of a 10-device `list`). Anything else (help,
 * errors, unknown or combined flags) goes through the commander tree in
 * commands/mdev.ts, which runs the same actions. The launcher starts
 * `mdev list` here ({@linkcode fastEntry}), and `mdev types` at
 * commands/mdev_types_fast.ts (the same code without the store and the
 * callouts, for the installed copy's smaller `types` bundle): main.ts's own
 * start-up is then skipped as well. The parser, the `types` action and the
 * entry's body are in commands/mdev_fast_core.ts.
 *
 * @module
 */

import {
  addListedAttributes,
  Callouts,
  listActive,
  listDefined,
  listJson,
  listText,
  type MdevctlCompat,
  type MdevListing,
  openMdev,
} from "../lib/mdev/mod.ts";
import type { SysRoot } from "../lib/root.ts";
import { failWith, warn, write } from "./context.ts";
import {
  compatFrom,
  fastEntryWith,
  type FastRunner,
  hintIfMissing,
  type ListOptions,
  runFastMdev,
  typesRunner,
} from "./mdev_fast_core.ts";

export {
  compatFrom,
  hintIfMissing,
  type ListOptions,
  typesAction,
} from "./mdev_fast_core.ts";

/**
 * The callouts of `root`, with the protocol of `VDEVCTL_MDEVCTL_COMPAT`
 * (1.2 or 1.4) and the time limit `VDEVCTL_CALLOUT_TIMEOUT` (seconds);
 * scripts' stderr goes to stderr.
 */
export function calloutsOf(
  root: SysRoot,
  options: { compat?: MdevctlCompat } = {},
): Callouts {
  const secs = Number(Deno.env.get("VDEVCTL_CALLOUT_TIMEOUT") ?? "60");
  return new Callouts(root, {
    version: options.compat ?? compatFrom(),
    timeoutMs: Number.isFinite(secs) && secs > 0 ? secs * 1000 : 60_000,
    report: (text) => write(Deno.stderr, text),
  });
}

/** `mdev list`: prints the listing, warnings, then fails on bad files. */
export async function listAction(
  root: SysRoot,
  opts: ListOptions,
): Promise<void> {
  const ctx = openMdev(root);
  hintIfMissing(ctx.sysfs);
  const filter = { uuid: opts.uuid, parent: opts.parent, compat: opts.compat };
  const listing: MdevListing = opts.defined
    ? listDefined(ctx, filter)
    : listActive(ctx, filter);
  if (!opts.defined) {
    await addListedAttributes(
      listing,
      calloutsOf(root, { compat: opts.compat }),
    );
  }
  write(
    Deno.stdout,
    opts.dumpjson || opts.json
      ? listJson(listing, { uuid: opts.uuid, compat: opts.compat })
      : listText(listing, {
        defined: opts.defined === true,
        verbose: opts.verbose === true,
        compat: opts.compat,
      }),
  );
  warn(listing.warnings);
  failWith(listing.problems);
}

/** Runs `mdev list` and `mdev types`. */
const listRunner: FastRunner = (command, root) =>
  command.sub === "list"
    ? listAction(root, command.opts).then(() => 0)
    : typesRunner(command, root);

/**
 * Runs `mdev list|types OPTIONS` (`args` start at the subcommand; `main.ts`
 * has found the family word and the `--root` before it) if every argument
 * is a plain option of that command; returns the exit status, or undefined
 * to let commander handle the arguments.
 */
export function fastMdev(
  args: readonly string[],
  options: { root?: string } = {},
): Promise<number> | undefined {
  return runFastMdev(args, { root: options.root, run: listRunner });
}

/**
 * The entry for `mdev list|types` command lines (the launcher starts this
 * module for `list`): runs them here when they parse, else hands the same
 * arguments to main.ts's `main`. `argv0` is the name the launcher was
 * started under (personalities: `mdevctl list`, `lsmdev`).
 */
export function fastEntry(
  args: string[],
  options: { argv0?: string } = {},
): Promise<number> {
  return fastEntryWith(args, { argv0: options.argv0, run: listRunner });
}

if (import.meta.main) {
  const argv0 = Deno.env.get("VDEVCTL_ARGV0");
  // Not passed on to the programs vdevctl runs.
  Deno.env.delete("VDEVCTL_ARGV0");
  // No top-level await: commands/mdev.ts imports this module when the
  // arguments go on to main.ts, and an import of a module still awaiting
  // at its top level would never finish.
  fastEntry(Deno.args, { argv0 }).then((code) => Deno.exitCode = code);
}
