/**
 * `vdevctl vdpa` (not implemented yet).
 *
 * @module
 */

import { Command, type CommandUnknownOpts } from "commander";
import { VdevError } from "../lib/errors.ts";

/** Builds the `vdpa` command. */
export function command(): CommandUnknownOpts {
  return new Command("vdpa").allowUnknownOption().argument("[args...]").action(
    () => {
      throw new VdevError("'vdevctl vdpa' is not implemented yet");
    },
  );
}
