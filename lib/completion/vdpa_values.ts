/**
 * Live completion values of the vdpa family (its keyword syntax, devices and
 * management devices). Loaded only when a vdpa command line is completed.
 *
 * @module
 */

import type { ValueSources } from "./complete.ts";
import type { SysRoot } from "../root.ts";
import { vdpaArgCandidates } from "../vdpa/mod.ts";

/** The live-value sources of the vdpa command. */
export function sources(root: SysRoot): ValueSources {
  return { "vdpa <ARGS>": (words) => vdpaArgCandidates(root, words) };
}
