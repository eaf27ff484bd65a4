/**
 * Builds fake mdev trees laid out as the kernel lays them out, for the unit
 * tests, the differential test against mdevctl, the benchmark and
 * `examples/sysroot`:
 *
 * - `sys/class/mdev_bus/P` → `../../devices/DEVPATH` (basename P);
 * - `DEVPATH/mdev_supported_types/T/{name,description,available_instances,
 *   device_api,create,devices/}`;
 * - running devices `DEVPATH/UUID/` with `mdev_type` → the type directory,
 *   `remove`, attribute files, `T/devices/UUID` → the device, and
 *   `sys/bus/mdev/devices/UUID` → the device;
 * - `etc/mdevctl.d/scripts.d/{callouts,notifiers}` (mdevctl 1.2 requires
 *   them) and definitions `etc/mdevctl.d/P/UUID`.
 *
 * Random trees come from a seeded generator, so every run builds the same
 * trees. Run directly to (re)build a tree: `deno run -A
 * tests/mdev/fake_tree.ts examples/sysroot` builds the example.
 *
 * @module
 */

import { MdevSysfs } from "../../lib/mdev/mod.ts";

/** A type of a fake parent. */
export interface FakeType {
  /** Type id (directory name). */
  id: string;
  /** `name` file contents (without the kernel's newline), or none. */
  name?: string;
  /** `description` contents, or none; may span lines. */
  description?: string;
  /** `available_instances` contents. */
  available: number | string;
  /** `device_api`. */
  deviceApi: string;
}

/** A fake parent device. */
export interface FakeParent {
  /** Name in /sys/class/mdev_bus (the basename of `devicePath`). */
  name: string;
  /** Directory under /sys/devices, e.g. "pci0000:00/0000:00:02.0". */
  devicePath: string;
  /** Driver bound to it (a directory under /sys/bus/BUS/drivers), or none. */
  driver?: { bus: string; name: string };
  /** Its types. */
  types: FakeType[];
}

/** A running fake device. */
export interface FakeActive {
  /** UUID (canonical). */
  uuid: string;
  /** Parent name. */
  parent: string;
  /** Type id. */
  type: string;
  /** Extra attribute files of the device: name → contents. */
  attrs?: Record<string, string>;
}

/** A definition file. */
export interface FakeDefinition {
  /** Parent directory name. */
  parent: string;
  /** File name (usually the canonical UUID). */
  uuid: string;
  /** `mdev_type`. */
  type: string;
  /** `start`. */
  start: "auto" | "manual";
  /** `attrs`, in order. */
  attrs: [string, string][];
  /** Raw file contents instead (malformed files). */
  raw?: string;
}

/** A whole fake tree. */
export interface FakeTree {
  /** Parents. */
  parents: FakeParent[];
  /** Running devices. */
  active: FakeActive[];
  /** Definition files. */
  defined: FakeDefinition[];
}

/** The file mdevctl writes for a definition. */
export function definitionFile(d: FakeDefinition): string {
  if (d.raw !== undefined) return d.raw;
  return JSON.stringify(
    {
      mdev_type: d.type,
      start: d.start,
      attrs: d.attrs.map(([k, v]) => ({ [k]: v })),
    },
    null,
    2,
  );
}

function rel(fromDir: string, to: string): string {
  const a = fromDir.split("/").filter((s) => s);
  const b = to.split("/").filter((s) => s);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/");
}

function dirname(p: string): string {
  return p.slice(0, p.lastIndexOf("/"));
}

function link(root: string, at: string, target: string): void {
  Deno.mkdirSync(`${root}/${dirname(at)}`, { recursive: true });
  Deno.symlinkSync(rel(dirname(at), target), `${root}/${at}`);
}

function file(root: string, at: string, text: string, mode = 0o644): void {
  Deno.mkdirSync(`${root}/${dirname(at)}`, { recursive: true });
  Deno.writeTextFileSync(`${root}/${at}`, text, { mode });
}

/** Writes `tree` into `dir` (which should be empty or absent). */
export function writeFakeTree(dir: string, tree: FakeTree): void {
  Deno.mkdirSync(`${dir}/sys/class/mdev_bus`, { recursive: true });
  Deno.mkdirSync(`${dir}/sys/bus/mdev/devices`, { recursive: true });
  Deno.mkdirSync(`${dir}/etc/mdevctl.d/scripts.d/callouts`, {
    recursive: true,
  });
  Deno.mkdirSync(`${dir}/etc/mdevctl.d/scripts.d/notifiers`, {
    recursive: true,
  });
  const devDir = new Map<string, string>();
  for (const p of tree.parents) {
    const pdir = `sys/devices/${p.devicePath}`;
    devDir.set(p.name, pdir);
    Deno.mkdirSync(`${dir}/${pdir}/mdev_supported_types`, { recursive: true });
    file(dir, `${pdir}/uevent`, `MDEV_PARENT=${p.name}\n`);
    link(dir, `sys/class/mdev_bus/${p.name}`, pdir);
    if (p.driver) {
      const ddir = `sys/bus/${p.driver.bus}/drivers/${p.driver.name}`;
      Deno.mkdirSync(`${dir}/${ddir}`, { recursive: true });
      link(dir, `${pdir}/driver`, ddir);
    }
    for (const t of p.types) {
      const tdir = `${pdir}/mdev_supported_types/${t.id}`;
      Deno.mkdirSync(`${dir}/${tdir}/devices`, { recursive: true });
      if (t.name !== undefined) file(dir, `${tdir}/name`, `${t.name}\n`);
      if (t.description !== undefined) {
        file(dir, `${tdir}/description`, `${t.description}\n`);
      }
      file(dir, `${tdir}/available_instances`, `${t.available}\n`);
      file(dir, `${tdir}/device_api`, `${t.deviceApi}\n`);
      file(dir, `${tdir}/create`, "", 0o200);
    }
  }
  for (const a of tree.active) {
    const pdir = devDir.get(a.parent);
    if (pdir === undefined) throw new Error(`no parent ${a.parent}`);
    const ddir = `${pdir}/${a.uuid}`;
    const tdir = `${pdir}/mdev_supported_types/${a.type}`;
    Deno.mkdirSync(`${dir}/${ddir}`, { recursive: true });
    link(dir, `${ddir}/mdev_type`, tdir);
    file(dir, `${ddir}/remove`, "", 0o200);
    file(dir, `${ddir}/uevent`, `MDEV_TYPE=${a.type}\n`);
    for (const [k, v] of Object.entries(a.attrs ?? {})) {
      file(dir, `${ddir}/${k}`, v);
    }
    link(dir, `${tdir}/devices/${a.uuid}`, ddir);
    link(dir, `sys/bus/mdev/devices/${a.uuid}`, ddir);
  }
  for (const d of tree.defined) {
    file(dir, `etc/mdevctl.d/${d.parent}/${d.uuid}`, definitionFile(d));
  }
}

/** A seeded pseudo-random generator (mulberry32). */
export class Rng {
  private state: number;

  /** Starts the sequence for `seed`. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** A random canonical UUID (version-4 shaped). */
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(0, 15).toString(16))
      .join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${
      "89ab"[this.int(0, 3)]
    }${hex.slice(17, 20)}-${hex.slice(20)}`;
  }
}

const PARENT_KINDS = [
  (i: number) => ({
    name: `0000:00:0${i + 2}.0`,
    devicePath: `pci0000:00/0000:00:0${i + 2}.0`,
    driver: { bus: "pci", name: "i915" },
    prefix: "i915-GVTg_V5_",
    api: "vfio-pci",
  }),
  (i: number) => ({
    name: i === 0 ? "mtty" : `mtty${i}`,
    devicePath: `virtual/mtty/${i === 0 ? "mtty" : `mtty${i}`}`,
    driver: undefined,
    prefix: "mtty-",
    api: "vfio-pci",
  }),
  (i: number) => ({
    name: `0.0.00${10 + i}`,
    devicePath: `css0/0.0.00${10 + i}`,
    driver: { bus: "css", name: "vfio_ccw" },
    prefix: "vfio_ccw-io",
    api: "vfio-ccw",
  }),
  (i: number) => ({
    name: `0000:3b:00.${i}`,
    devicePath: `pci0000:3a/0000:3a:00.0/0000:3b:00.${i}`,
    driver: { bus: "pci", name: "nvidia" },
    prefix: "nvidia-",
    api: "vfio-pci",
  }),
];

const NAMES = [
  "GRID M60-0B",
  "Single port serial",
  "I/O subchannel (Non-QDIO)",
];
const DESCRIPTIONS = [
  "low_gm_size: 64MB\nhigh_gm_size: 384MB\nfence: 4\nresolution: 1920x1200\nweight: 2",
  "num_heads=4, frl_config=45, framebuffer=2048M, max_resolution=5120x2880, max_instance=4",
  '  padded description with "quotes" and \\ backslash  ',
  "unicode: é ✓",
  "two\n\nblank lines",
];
const ATTR_NAMES = ["assign_adapter", "assign_domain", "vgpu_params", "x"];
const ATTR_VALUES = ["5", "0x4", 'a b "c"', "ü", "", "tab\there"];

/** Options for {@linkcode randomTree}. */
export interface RandomTreeOptions {
  /** Number of parents (default random 1..4). */
  parents?: number;
  /** Number of running devices (default random 0..8). */
  active?: number;
  /** Extra defined-only devices (default random 0..6). */
  definedOnly?: number;
}

/** A random but well-formed tree (what a real system could show). */
export function randomTree(
  rng: Rng,
  options: RandomTreeOptions = {},
): FakeTree {
  const nParents = options.parents ?? rng.int(1, 4);
  const parents: FakeParent[] = [];
  const kindCount = new Map<number, number>();
  for (let i = 0; i < nParents; i++) {
    const k = rng.int(0, PARENT_KINDS.length - 1);
    const n = kindCount.get(k) ?? 0;
    kindCount.set(k, n + 1);
    const kind = PARENT_KINDS[k](n);
    const types: FakeType[] = [];
    const nTypes = rng.int(1, 4);
    for (let j = 0; j < nTypes; j++) {
      types.push({
        id: `${kind.prefix}${rng.pick(["1", "2", "4", "8", "35", "11"])}${
          j > 0 && rng.chance(0.3) ? "b" : ""
        }`,
        name: rng.chance(0.7) ? rng.pick(NAMES) : undefined,
        description: rng.chance(0.6) ? rng.pick(DESCRIPTIONS) : undefined,
        available: rng.chance(0.15) ? 0 : rng.int(1, 30),
        deviceApi: kind.api,
      });
    }
    const unique = [...new Map(types.map((t) => [t.id, t])).values()];
    parents.push({
      name: kind.name,
      devicePath: kind.devicePath,
      driver: kind.driver,
      types: unique,
    });
  }
  const attrsList = (): [string, string][] =>
    Array.from(
      { length: rng.chance(0.5) ? 0 : rng.int(1, 3) },
      () => [rng.pick(ATTR_NAMES), rng.pick(ATTR_VALUES)],
    );
  const active: FakeActive[] = [];
  const defined: FakeDefinition[] = [];
  const nActive = options.active ?? rng.int(0, 8);
  for (let i = 0; i < nActive; i++) {
    const p = rng.pick(parents);
    const t = rng.pick(p.types);
    const uuid = rng.uuid();
    active.push({ uuid, parent: p.name, type: t.id, attrs: { x: "1\n" } });
    const r = rng.next();
    const start = rng.chance(0.5) ? "auto" : "manual";
    if (r < 0.4) {
      defined.push({
        parent: p.name,
        uuid,
        type: t.id,
        start,
        attrs: attrsList(),
      });
    } else if (r < 0.5) {
      // Defined with another type of the same parent.
      const other = rng.pick(p.types).id + (rng.chance(0.5) ? "" : "x");
      defined.push({ parent: p.name, uuid, type: other, start, attrs: [] });
    } else if (r < 0.6) {
      // Defined on another parent as well.
      const q = rng.pick(parents);
      defined.push({
        parent: q.name,
        uuid,
        type: t.id,
        start,
        attrs: attrsList(),
      });
      if (q.name !== p.name && rng.chance(0.5)) {
        defined.push({ parent: p.name, uuid, type: t.id, start, attrs: [] });
      }
    }
  }
  const nDefined = options.definedOnly ?? rng.int(0, 6);
  for (let i = 0; i < nDefined; i++) {
    const onAbsent = rng.chance(0.15);
    const p = rng.pick(parents);
    defined.push({
      parent: onAbsent ? "0000:ff:00.0" : p.name,
      uuid: rng.uuid(),
      type: onAbsent ? "gone-1" : rng.pick(p.types).id,
      start: rng.chance(0.5) ? "auto" : "manual",
      attrs: attrsList(),
    });
  }
  return { parents, active, defined };
}

/** `count` GPU-like parents with four types each (the big trees' parents). */
function gpuParents(count: number): FakeParent[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `0000:${(0x10 + i).toString(16)}:00.0`,
    devicePath: `pci0000:00/0000:${(0x10 + i).toString(16)}:00.0`,
    driver: { bus: "pci", name: "nvidia" },
    types: [1, 2, 3, 4].map((n) => ({
      id: `nvidia-${30 + n}`,
      name: `GRID T4-${n}Q`,
      description: `num_heads=4, frl_config=60\nframebuffer=${n}G`,
      available: 1000,
      deviceApi: "vfio-pci",
    })),
  }));
}

/** A big tree for the benchmark: `devices` running devices over `parents` parents, all defined. */
export function bigTree(
  rng: Rng,
  options: { parents: number; devices: number },
): FakeTree {
  const parents = gpuParents(options.parents);
  const active: FakeActive[] = [];
  const defined: FakeDefinition[] = [];
  for (let i = 0; i < options.devices; i++) {
    const p = parents[i % parents.length];
    const t = p.types[i % 4];
    const uuid = rng.uuid();
    active.push({ uuid, parent: p.name, type: t.id });
    defined.push({
      parent: p.name,
      uuid,
      type: t.id,
      start: i % 2 ? "auto" : "manual",
      attrs: i % 3 ? [] : [["vgpu_params", "x=1"]],
    });
  }
  return { parents, active, defined };
}

/** The shapes of {@linkcode scaleTree}. */
export type ScaleShape = "mix" | "defined-only" | "running-only";

/**
 * A tree for listing at scale, over `parents` GPU-like parents with four
 * types each. `mix`: of `devices` devices 40% run and 70% have a definition
 * (so 10% both, 30% running without one, 60% defined and stopped), a few
 * of the running-and-defined ones defined with another type; definitions
 * carry 0-3 attributes. `defined-only`: every device defined, none running.
 * `running-only`: every device running, none defined.
 */
export function scaleTree(
  rng: Rng,
  options: { parents: number; devices: number; shape: ScaleShape },
): FakeTree {
  const parents = gpuParents(options.parents);
  const active: FakeActive[] = [];
  const defined: FakeDefinition[] = [];
  const n = options.devices;
  for (let i = 0; i < n; i++) {
    const p = rng.pick(parents);
    const t = rng.pick(p.types);
    const uuid = rng.uuid();
    // mix: [0, 0.3) running only, [0.3, 0.4) both, [0.4, 1) defined only.
    const at = i / n;
    const runs = options.shape === "running-only" ||
      (options.shape === "mix" && at < 0.4);
    const defines = options.shape === "defined-only" ||
      (options.shape === "mix" && at >= 0.3);
    if (runs) active.push({ uuid, parent: p.name, type: t.id });
    if (defines) {
      const other = runs && rng.chance(0.05);
      defined.push({
        parent: p.name,
        uuid,
        type: other ? rng.pick(p.types).id : t.id,
        start: rng.chance(0.5) ? "auto" : "manual",
        attrs: Array.from(
          { length: rng.int(0, 3) },
          () => [rng.pick(ATTR_NAMES), rng.pick(ATTR_VALUES)],
        ),
      });
    }
  }
  return { parents, active, defined };
}

/** The tree shipped as `examples/sysroot`: mtty and a GVT-g GPU, some devices. */
export function exampleTree(): FakeTree {
  const gpu = "0000:00:02.0";
  const desc =
    "low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\nresolution: 1920x1200\nweight: 4";
  return {
    parents: [
      {
        name: gpu,
        devicePath: `pci0000:00/${gpu}`,
        driver: { bus: "pci", name: "i915" },
        types: [
          {
            id: "i915-GVTg_V5_4",
            name: "GVTg_V5_4",
            description: desc,
            available: 1,
            deviceApi: "vfio-pci",
          },
          {
            id: "i915-GVTg_V5_8",
            name: "GVTg_V5_8",
            description: desc.replace("128MB", "64MB").replace("512MB", "384MB")
              .replace("weight: 4", "weight: 2"),
            available: 2,
            deviceApi: "vfio-pci",
          },
        ],
      },
      {
        name: "mtty",
        devicePath: "virtual/mtty/mtty",
        types: [
          {
            id: "mtty-1",
            name: "Single port serial",
            available: 22,
            deviceApi: "vfio-pci",
          },
          {
            id: "mtty-2",
            name: "Dual port serial",
            available: 11,
            deviceApi: "vfio-pci",
          },
        ],
      },
    ],
    active: [
      {
        uuid: "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
        parent: gpu,
        type: "i915-GVTg_V5_4",
      },
      {
        uuid: "b1b8c3b4-1d1e-4c5f-9a0e-6a7b8c9d0e1f",
        parent: "mtty",
        type: "mtty-1",
      },
      {
        uuid: "c2f5e0d6-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
        parent: "mtty",
        type: "mtty-2",
      },
    ],
    defined: [
      {
        parent: gpu,
        uuid: "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
        type: "i915-GVTg_V5_4",
        start: "auto",
        attrs: [],
      },
      {
        parent: "mtty",
        uuid: "b1b8c3b4-1d1e-4c5f-9a0e-6a7b8c9d0e1f",
        type: "mtty-1",
        start: "manual",
        attrs: [],
      },
      {
        parent: "mtty",
        uuid: "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70",
        type: "mtty-2",
        start: "auto",
        attrs: [["x", "1"]],
      },
    ],
  };
}

/**
 * Writes the example tree, changed first by `mutate`, into a new temporary
 * directory and returns the directory (the caller removes it).
 */
export function tempExampleTree(mutate?: (t: FakeTree) => void): string {
  const t = exampleTree();
  mutate?.(t);
  const dir = Deno.makeTempDirSync({ prefix: "mdev-test-" });
  writeFakeTree(dir, t);
  return dir;
}

function errno(code: string): Error {
  if (code === "EUSERS") {
    // Deno gives EUSERS no `code`: only the message carries the number.
    return new Error("Too many users (os error 87): writefile '/sys/x/create'");
  }
  return Object.assign(new Error(`simulated ${code}`), { code });
}

/**
 * An MdevSysfs whose create/remove change a fake tree as the kernel would
 * (the device directory with `mdev_type`, `remove` and `uevent`, the type's `devices/UUID` and the bus's links), with errnos that
 * can be injected.
 */
export class FakeKernel extends MdevSysfs {
  /** An errno ("ENOSPC", "EUSERS", ...) that every create fails with. */
  failCreate?: string;
  /** An errno that every remove fails with. */
  failRemove?: string;
  /** The attributes a device takes (mtty's take "x"), files or not. */
  attrNames = ["x"];
  /** An attribute whose writes fail with EINVAL. */
  rejectAttr?: string;
  /** The UUIDs removed, in order. */
  removed: string[] = [];

  override create(uuid: string, spec: { parent: string; type: string }) {
    if (this.failCreate) throw errno(this.failCreate);
    if (this.loadActive(uuid)) throw errno("EEXIST");
    const pdir = Deno.realPathSync(`${this.parentBase}/${spec.parent}`);
    const ddir = `${pdir}/${uuid}`;
    Deno.mkdirSync(ddir);
    Deno.symlinkSync(
      `../mdev_supported_types/${spec.type}`,
      `${ddir}/mdev_type`,
    );
    Deno.writeTextFileSync(`${ddir}/remove`, "");
    Deno.writeTextFileSync(`${ddir}/uevent`, `MDEV_TYPE=${spec.type}\n`);
    Deno.symlinkSync(
      ddir,
      `${this.typeDir(spec.parent, spec.type)}/devices/${uuid}`,
    );
    Deno.symlinkSync(ddir, `${this.deviceBase}/${uuid}`);
  }

  override hasAttr(uuid: string, name: string): boolean {
    return this.attrNames.includes(name) || super.hasAttr(uuid, name);
  }

  override writeAttr(uuid: string, attr: { name: string; value: string }) {
    if (attr.name === this.rejectAttr) throw errno("EINVAL");
    super.writeAttr(uuid, attr);
  }

  override remove(uuid: string) {
    if (this.failRemove) throw errno(this.failRemove);
    const act = this.loadActive(uuid);
    const real = Deno.realPathSync(this.devicePath(uuid));
    Deno.removeSync(this.devicePath(uuid));
    if (act) {
      Deno.removeSync(`${this.typeDir(act.parent, act.type)}/devices/${uuid}`);
    }
    Deno.removeSync(real, { recursive: true });
    this.removed.push(uuid);
  }
}

if (import.meta.main) {
  const dir = Deno.args[0];
  if (!dir) {
    console.error("usage: fake_tree.ts DIR [SEED]");
    Deno.exit(2);
  }
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // absent
  }
  const seed = Deno.args[1];
  writeFakeTree(
    dir,
    seed === undefined ? exampleTree() : randomTree(new Rng(Number(seed))),
  );
}
