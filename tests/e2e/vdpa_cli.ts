/**
 * e2e helper: `vdevctl vdpa` run in-process, with its output captured.
 *
 * @module
 */

import { main } from "../../main.ts";
import type { CommandResult } from "../command_output.ts";

/**
 * vdevctl's whole command path (commander, parsing, netlink, output) run
 * in-process with stdout and stderr captured: a Deno process start costs
 * seconds under TCG. A few cases below also run the real ./vdevctl launcher.
 * `argv0` runs it under that program name (`vdpa`: the personality).
 */
export async function ours(
  args: readonly string[],
  options: { argv0?: string } = {},
): Promise<CommandResult> {
  const dec = new TextDecoder();
  let stdout = "";
  const stderr: string[] = [];
  const writeSync = (b: Uint8Array) => {
    stdout += dec.decode(b);
    return b.length;
  };
  Object.defineProperty(Deno.stdout, "writeSync", {
    value: writeSync,
    configurable: true,
  });
  const origError = console.error;
  console.error = (...a: unknown[]) => stderr.push(a.join(" ") + "\n");
  try {
    // As `vdpa` (the personality) the words are given without the family.
    const code = options.argv0 === undefined
      ? await main(["vdpa", ...args])
      : await main([...args], { argv0: options.argv0 });
    return { code, stdout, stderr: stderr.join("") };
  } finally {
    delete (Deno.stdout as { writeSync?: unknown }).writeSync;
    console.error = origError;
  }
}
