/**
 * Helpers shared by the command modules: the global options, output, and
 * warnings and problems on stderr.
 *
 * @module
 */

import type { CommandUnknownOpts } from "commander";
import { VdevError } from "../lib/errors.ts";
import { personalize } from "../lib/personality.ts";
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

/** Prints warnings, one line each, on stderr. */
export function warn(lines: string[]): void {
  for (const line of lines) {
    write(Deno.stderr, personalize(`vdevctl: warning: ${line}\n`));
  }
}

/** Prints all problems but the last on stderr, and throws the last one. */
export function failWith(problems: string[]): void {
  if (problems.length === 0) return;
  for (const p of problems.slice(0, -1)) {
    write(Deno.stderr, personalize(`vdevctl: ${p}\n`));
  }
  throw new VdevError(problems[problems.length - 1]);
}
