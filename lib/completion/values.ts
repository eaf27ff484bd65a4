/**
 * Live values for shell completion, loaded per family: only the module of
 * the family being completed (`mdev_values.ts`, `vduse_values.ts`,
 * `vdpa_values.ts`, `sandbox_values.ts`) is imported, so TAB in an mdev
 * command line never loads the vdpa, vduse or sandbox code (netlink, FFI,
 * QEMU). Every source reads synchronously and never throws.
 *
 * @module
 */

import type { Candidate, ValueSources } from "./complete.ts";
import type { SysRoot } from "../root.ts";
import { onlineCpus } from "../cpu_list.ts";

/** Online CPUs (for --irq-cpus and --datapath-cpus), from /sys/devices/system/cpu/online. */
export function onlineCpuCandidates(root: SysRoot): Candidate[] {
  try {
    return onlineCpus(root).map((c) => [String(c), "online CPU"]);
  } catch {
    return [];
  }
}

/** Keys of the value sources whose values are comma lists. */
export const COMMA_LISTS: ReadonlySet<string> = new Set([
  "sandbox run --modules",
  "sandbox shell --modules",
  "vduse set --irq-cpus",
  "mvnet run --irq-cpus",
  "mvnet run --datapath-cpus",
]);

/**
 * Imports a value module by a computed specifier, so that Deno loads it
 * (and the family behind it) only when it is asked for, not at start-up.
 * The type comes from the caller.
 */
function load<T>(path: string): Promise<T> {
  return import(new URL(path, import.meta.url).href) as Promise<T>;
}

type Loader = (root: SysRoot) => Promise<ValueSources>;

const MODULES: Record<string, Loader> = {
  mdev: async (root) =>
    (await load<typeof import("./mdev_values.ts")>("./mdev_values.ts"))
      .sources(root),
  vduse: async (root) =>
    (await load<typeof import("./vduse_values.ts")>("./vduse_values.ts"))
      .sources(root),
  vdpa: async (root) =>
    (await load<typeof import("./vdpa_values.ts")>("./vdpa_values.ts"))
      .sources(root),
  sandbox: async () =>
    (await load<typeof import("./sandbox_values.ts")>("./sandbox_values.ts"))
      .sources(),
};

/**
 * The live-value sources of `family` (the family word of the command line;
 * none for the first word or a family without live values).
 */
export async function familySources(
  family: string | undefined,
  root: SysRoot,
): Promise<ValueSources> {
  if (family === "mvnet") {
    const cpus = () => onlineCpuCandidates(root);
    return { "mvnet run --irq-cpus": cpus, "mvnet run --datapath-cpus": cpus };
  }
  const loader = family !== undefined && Object.hasOwn(MODULES, family)
    ? MODULES[family]
    : undefined;
  return loader === undefined ? {} : await loader(root);
}

/** The live-value sources of every family (for tests and tools). */
export async function completionSources(root: SysRoot): Promise<ValueSources> {
  const all: ValueSources = {};
  for (const family of ["mvnet", ...Object.keys(MODULES)]) {
    Object.assign(all, await familySources(family, root));
  }
  return all;
}
