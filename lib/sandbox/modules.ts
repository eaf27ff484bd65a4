/**
 * The kernel modules the sandbox knows, in one table: the out-of-tree ones
 * it builds from linux-source-6.12 (Debian's 6.12 kernel lacks them) and the
 * Debian ones vdevctl's families use. Every list of module names derives
 * from it: what the build compiles ({@linkcode OUT_OF_TREE_MODULES}), what
 * a user names to `sandbox run --modules` and completion offers
 * ({@linkcode LOADABLE_MODULES}), and what the e2e suite loads
 * ({@linkcode E2E_MODULES}).
 *
 * @module
 */

/** A module the sandbox knows. */
export interface SandboxModule {
  /** Module name, as modprobe knows it. */
  name: string;
  /** The family whose tests use it; offered lists go family by family. */
  family: "mdev" | "vdpa" | "net";
  /**
   * linux-source-6.12 files (relative to its top) the sandbox builds the
   * module from; absent for the modules Debian's kernel ships.
   */
  sources?: string[];
  /**
   * Named to `--modules` and offered by completion; false for vringh (a
   * dependency of vdpa_sim) and mdpy-fb (the driver for mdpy's display).
   */
  loadable: boolean;
  /** Loaded by the e2e suite (`deno task e2e`) before it runs. */
  e2e: boolean;
}

/**
 * The table, in dependency order within a family: the out-of-tree modules
 * are built in this order.
 */
export const MODULE_TABLE: readonly SandboxModule[] = [
  // vDPA: core, VDUSE, the simulators (out of tree) and the bus drivers.
  {
    name: "vringh",
    family: "vdpa",
    sources: ["drivers/vhost/vringh.c"],
    loadable: false,
    e2e: false,
  },
  { name: "vdpa", family: "vdpa", loadable: true, e2e: true },
  { name: "vduse", family: "vdpa", loadable: true, e2e: true },
  {
    name: "vdpa_sim",
    family: "vdpa",
    sources: [
      "drivers/vdpa/vdpa_sim/vdpa_sim.c",
      "drivers/vdpa/vdpa_sim/vdpa_sim.h",
    ],
    loadable: true,
    e2e: false,
  },
  {
    name: "vdpa_sim_net",
    family: "vdpa",
    sources: ["drivers/vdpa/vdpa_sim/vdpa_sim_net.c"],
    loadable: true,
    e2e: true,
  },
  {
    name: "vdpa_sim_blk",
    family: "vdpa",
    sources: ["drivers/vdpa/vdpa_sim/vdpa_sim_blk.c"],
    loadable: true,
    e2e: true,
  },
  { name: "virtio_vdpa", family: "vdpa", loadable: true, e2e: true },
  { name: "vhost_vdpa", family: "vdpa", loadable: true, e2e: true },
  { name: "virtio_net", family: "vdpa", loadable: true, e2e: true },
  // mdev: the vfio-mdev samples (mdev and vfio come as dependencies).
  {
    name: "mtty",
    family: "mdev",
    sources: ["samples/vfio-mdev/mtty.c"],
    loadable: true,
    e2e: true,
  },
  {
    name: "mdpy",
    family: "mdev",
    sources: ["samples/vfio-mdev/mdpy.c", "samples/vfio-mdev/mdpy-defs.h"],
    loadable: true,
    e2e: true,
  },
  {
    name: "mdpy-fb",
    family: "mdev",
    sources: ["samples/vfio-mdev/mdpy-fb.c"],
    loadable: false,
    e2e: false,
  },
  {
    name: "mbochs",
    family: "mdev",
    sources: ["samples/vfio-mdev/mbochs.c"],
    loadable: true,
    e2e: true,
  },
  // Traffic generator for the mvnet / vdpa_sim datapath tests.
  { name: "pktgen", family: "net", loadable: true, e2e: true },
];

/** The order families are offered in (mdev first, as in the README). */
const FAMILY_ORDER: readonly SandboxModule["family"][] = [
  "mdev",
  "vdpa",
  "net",
];

function offered(pick: (m: SandboxModule) => boolean): string[] {
  return FAMILY_ORDER.flatMap((f) =>
    MODULE_TABLE.filter((m) => m.family === f && pick(m)).map((m) => m.name)
  );
}

/** The out-of-tree modules the sandbox builds, in build order. */
export const OUT_OF_TREE_MODULES: readonly string[] = MODULE_TABLE
  .filter((m) => m.sources !== undefined).map((m) => m.name);

/** The linux-source-6.12 files the out-of-tree modules are built from. */
export const OUT_OF_TREE_SOURCES: readonly string[] = MODULE_TABLE
  .flatMap((m) => m.sources ?? []);

/** The modules Debian's 6.12 kernel ships that the sandbox knows. */
export const DEBIAN_MODULES: readonly string[] = MODULE_TABLE
  .filter((m) => m.sources === undefined).map((m) => m.name);

/** The modules a user names to `sandbox run --modules` (completion offers them). */
export const LOADABLE_MODULES: readonly string[] = offered((m) => m.loadable);

/** Every module the e2e suite needs, loaded (with dependencies) before it runs. */
export const E2E_MODULES: readonly string[] = offered((m) => m.e2e);
