/**
 * Mediated devices, the way mdevctl manages them: the kernel's mdev sysfs
 * (`MdevSysfs`), mdevctl's definitions in /etc/mdevctl.d (`ConfigStore`),
 * listing, the device lifecycle, and mdevctl's text and JSON output.
 *
 * This module is the family's face: other families, `commands/`, benches
 * and tests outside `tests/mdev/` import the family only from here.
 *
 * @module
 */

export { ConfigStore } from "./config_store.ts";
export {
  listJson,
  listText,
  MDEVCTL_VERSIONS,
  type MdevctlCompat,
  parentsJson,
  parentsText,
  parseCompat,
  typesJson,
  typesText,
} from "./format.ts";
export {
  addListedAttributes,
  defineDevice,
  modifyDevice,
  startDevice,
  startParentMdevs,
  stopDevice,
  undefineDevice,
} from "./actions.ts";
export type { CalloutRequest } from "./actions.ts";
export { Callouts } from "./callouts.ts";
export type { CalloutOptions, CalloutVersion } from "./callouts.ts";
export { createDevice } from "./lifecycle.ts";
export { MDEV_MISSING } from "./errors.ts";
export {
  listActive,
  listDefined,
  listParents,
  listTypes,
  openMdev,
  openMdevSysfs,
} from "./list.ts";
export type { MdevContext, MdevListing } from "./list.ts";
export { MdevSysfs } from "./sysfs.ts";
export { SETTLE_MS, STORE_CACHE_PATH } from "./store_cache.ts";
export { parseMdevUuid } from "./uuid.ts";
