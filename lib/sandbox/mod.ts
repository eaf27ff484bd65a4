/**
 * The real-kernel sandbox: Debian's Linux 6.12 in QEMU/TCG with the host's /
 * shared read-only, the kernel and module cache, and running commands in a
 * guest.
 *
 * This module is the family's face: other families, `commands/`, benches
 * and tests outside `tests/sandbox/` import the family only from here.
 *
 * @module
 */

export {
  E2E_MODULES,
  LOADABLE_MODULES,
  OUT_OF_TREE_MODULES,
} from "./modules.ts";
export type { Progress } from "./progress.ts";
export {
  DEFAULT_MEMORY_MIB,
  DEFAULT_TIMEOUT_SEC,
  kernelCache,
  REPO_ROOT,
  sandboxClean,
  sandboxRun,
  sandboxShell,
  sandboxStatus,
} from "./run.ts";
