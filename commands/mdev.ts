/**
 * `vdevctl mdev` (not implemented yet).
 *
 * @module
 */

import { Command, type CommandUnknownOpts } from "commander";
import { VdevError } from "../lib/errors.ts";

/** Builds the `mdev` command. */
export function command(): CommandUnknownOpts {
  return new Command("mdev").allowUnknownOption().argument("[args...]").action(
    () => {
      throw new VdevError("'vdevctl mdev' is not implemented yet");
    },
  );
}
