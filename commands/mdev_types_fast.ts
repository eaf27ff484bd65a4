/**
 * The launcher's entry for `mdev types` command lines (also `mdevctl types`):
 * commands/mdev_fast.ts's entry with only the `types` action, which reads
 * sysfs and nothing else. From a checkout it runs as that one would; in an
 * installed copy it is bundled on its own (lib/install/bundle.ts), without
 * the definitions store and the callouts, so that the most start-up-bound
 * command loads the least. Anything it does not run goes on to main.ts.
 *
 * @module
 */

import { fastEntryWith, typesRunner } from "./mdev_fast_core.ts";

if (import.meta.main) {
  const argv0 = Deno.env.get("VDEVCTL_ARGV0");
  // Not passed on to the programs vdevctl runs.
  Deno.env.delete("VDEVCTL_ARGV0");
  fastEntryWith(Deno.args, { argv0, run: typesRunner }).then((code) =>
    Deno.exitCode = code
  );
}
