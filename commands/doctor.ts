/**
 * `vdevctl doctor [--json]`: what this host can do and what to do about
 * what it cannot. Argument handling and output only; the checks are in
 * lib/doctor/.
 *
 * @module
 */

import { Command, type CommandUnknownOpts } from "commander";
import { diagnose, reportJson, reportText } from "../lib/doctor/mod.ts";
import { VdevError } from "../lib/errors.ts";
import { out, rootOf } from "./context.ts";

/** The `doctor` command. */
export function command(): CommandUnknownOpts {
  return new Command("doctor")
    .description(
      "check what this host needs for each family: one line per check (ok, missing, the command that fixes it), exit 1 when a family cannot work",
    )
    .summary("what this host needs for each family, and how to get it")
    .option("--json", "print the report as JSON")
    .action(async function (opts) {
      const report = await diagnose(rootOf(this));
      out(opts.json ? reportJson(report) : reportText(report));
      const broken = report.families.filter((f) => !f.works);
      if (broken.length > 0) {
        throw new VdevError(
          `${
            broken.map((f) => f.family).join(", ")
          } cannot work on this host (see the lines above)`,
        );
      }
    });
}
