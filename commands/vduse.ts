/**
 * `vdevctl vduse` (not implemented yet).
 *
 * @module
 */

import { Command, type CommandUnknownOpts } from "commander";
import { VdevError } from "../lib/errors.ts";

/** Builds the `vduse` command. */
export function command(): CommandUnknownOpts {
  return new Command("vduse").allowUnknownOption().argument("[args...]").action(
    () => {
      throw new VdevError("'vdevctl vduse' is not implemented yet");
    },
  );
}
