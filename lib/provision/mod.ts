/**
 * Declarative provisioning of mdev, VDUSE, vDPA devices and mvnet daemons: the manifest
 * and its checks, the plan (diff), apply with verification and rollback,
 * export, and the manifest sources (files, stdin, /etc/vdevctl).
 *
 * This module is the family's face: other families, `commands/`, benches
 * and tests outside `tests/provision/` import the family only from here.
 *
 * @module
 */

export {
  applyManifest,
  hostDifferences,
  LOCK_PATH,
  lockHost,
} from "./apply.ts";
export type { ApplyOptions, ApplyResult } from "./apply.ts";
export { SystemHost } from "./host.ts";
export type { HostRead, MdevContext } from "./host.ts";
export {
  checkManifest,
  KINDS,
  manifestFromDocument,
  mergeManifests,
  parseManifest,
} from "./manifest.ts";
export type {
  HostFacts,
  Kind,
  Manifest,
  MdevItem,
  MvnetItem,
  VdpaItem,
  VduseItem,
} from "./manifest.ts";
export { exportManifest, plan } from "./plan.ts";
export type {
  Action,
  HostState,
  MdevCurrent,
  MvnetCurrent,
  Step,
} from "./plan.ts";
export {
  MVNET_DIR,
  mvnetRunArgs,
  MvnetServices,
  processArgv,
  spawnDetached,
  unitEnvironment,
  unitName,
} from "./mvnet_service.ts";
export {
  ETC_DIR,
  etcManifestPaths,
  isYamlPath,
  manifestToYaml,
  MAX_MANIFEST_BYTES,
  parseYamlManifest,
  readManifest,
  readManifests,
} from "./source.ts";
export {
  APPLY_UNIT,
  runUdevTrigger,
  UDEV_APPLY_LOG,
  udevTrigger,
} from "./udev_trigger.ts";
export type { UdevTrigger } from "./udev_trigger.ts";
