/**
 * Helpers shared by the command modules: the global options.
 *
 * @module
 */

import type { CommandUnknownOpts } from "commander";
import { resolveRoot, type SysRoot } from "../lib/root.ts";

/** The `--root` of the program that `cmd` belongs to. */
export function rootOf(cmd: CommandUnknownOpts): SysRoot {
  const opts = cmd.optsWithGlobals() as { root?: string };
  return resolveRoot(opts.root);
}
