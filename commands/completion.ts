/**
 * `vdevctl completion` (not implemented yet).
 *
 * @module
 */

import { Command, type CommandUnknownOpts } from "commander";
import { VdevError } from "../lib/errors.ts";

/** Builds the `completion` command. */
export function command(): CommandUnknownOpts {
  return new Command("completion").allowUnknownOption().argument("[args...]")
    .action(
      () => {
        throw new VdevError("'vdevctl completion' is not implemented yet");
      },
    );
}
