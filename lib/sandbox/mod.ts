/**
 * The real-kernel sandbox: Debian's Linux 6.12 in QEMU/TCG with the host's
 * `/` shared read-only under a writable tmpfs overlay.
 * {@linkcode sandboxRun} runs one command in a fresh guest (the e2e suite,
 * `deno task smoke`, the benches), {@linkcode sandboxShell} attaches a shell,
 * {@linkcode kernelCache} prepares and returns the cached kernel (its UAPI
 * headers are what the struct-layout tests compile against), and the module
 * lists say which modules the sandbox builds and knows.
 *
 * This module is the family's face: other families, `commands/`, benches
 * and tests outside `tests/sandbox/` import the family only from here.
 *
 * @module
 */

export {
  DEFAULT_BOOT_TIMEOUT_SEC,
  DEFAULT_TIMEOUT_SEC,
  REPO_ROOT,
  sandboxClean,
  type SandboxResult,
  sandboxRun,
  type SandboxRunOptions,
  sandboxShell,
  type SandboxStatus,
  sandboxStatus,
} from "./run.ts";
export { DEFAULT_MEMORY_MIB } from "./qemu.ts";
export { kernelCache, type KernelCacheOptions } from "./kernel_cache.ts";
export type { KernelPaths } from "./kernel_layout.ts";
export type { CacheDirOptions } from "./cache_dir.ts";
export {
  E2E_MODULES,
  LOADABLE_MODULES,
  OUT_OF_TREE_MODULES,
} from "./modules.ts";
export {
  PEER_SUITE,
  type PeerRoot,
  peerRoot,
  type PeerRootOptions,
  peerScript,
  type PeerScriptOptions,
} from "./peer_root.ts";
