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

const encoder = new TextEncoder();

/** Writes all of `text` to `fd` (stdout or stderr), synchronously. */
export function write(fd: typeof Deno.stdout, text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += fd.writeSync(bytes.subarray(off));
}

/** Writes all of `text` to stdout. */
export function out(text: string): void {
  write(Deno.stdout, text);
}
