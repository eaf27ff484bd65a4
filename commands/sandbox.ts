/**
 * `vdevctl sandbox` (not implemented yet).
 *
 * @module
 */

import { Command, type CommandUnknownOpts } from "commander";
import { VdevError } from "../lib/errors.ts";

/** Builds the `sandbox` command. */
export function command(): CommandUnknownOpts {
  return new Command("sandbox").allowUnknownOption().argument("[args...]")
    .action(
      () => {
        throw new VdevError("'vdevctl sandbox' is not implemented yet");
      },
    );
}
