/**
 * Live completion values of the sandbox family: the kernel modules a guest
 * can load. Loaded only when a sandbox command line is completed.
 *
 * @module
 */

import type { ValueSources } from "./complete.ts";
import { LOADABLE_MODULES } from "../sandbox/mod.ts";

/** The live-value sources of the sandbox commands. */
export function sources(): ValueSources {
  const out: ValueSources = {};
  for (const sub of ["run", "shell"]) {
    out[`sandbox ${sub} --modules`] = () =>
      LOADABLE_MODULES.map((m) => [m, "kernel module"]);
  }
  return out;
}
