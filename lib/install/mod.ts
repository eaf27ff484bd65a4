/**
 * Installing vdevctl as a host tool: the self-contained copy and its
 * manifest, man pages from the command tree, and vdevctl's udev rule.
 *
 * This module is the family's face: other families, `commands/`, tools,
 * benches and tests outside `tests/install/` import the family only from
 * here.
 *
 * @module
 */

export { install, uninstall } from "./install.ts";
export type {
  InstallOptions,
  InstallResult,
  UninstallOptions,
} from "./install.ts";
export { installLayout, PERSONALITY_NAMES } from "./layout.ts";
export type { InstallLayout } from "./layout.ts";
export { MANIFEST_NAME, parseManifest } from "./manifest.ts";
export type { Manifest, ManifestEntry } from "./manifest.ts";
export { manPages, roffText, sectionOf } from "./manpage.ts";
export type { ManPage, ManPageOptions } from "./manpage.ts";
export {
  MDEV_RULE_NAME,
  mdevctlRules,
  mdevRule,
  UDEV_RULE_DIRS,
} from "./udev.ts";
