/**
 * `vdevctl mvnet` (not implemented yet).
 *
 * @module
 */

import { Command, type CommandUnknownOpts } from "commander";
import { VdevError } from "../lib/errors.ts";

/** Builds the `mvnet` command. */
export function command(): CommandUnknownOpts {
  return new Command("mvnet").allowUnknownOption().argument("[args...]").action(
    () => {
      throw new VdevError("'vdevctl mvnet' is not implemented yet");
    },
  );
}
