/**
 * Listing mdev devices with mdevctl 1.2's semantics: running and defined
 * devices (merged, grouped by parent, sorted as mdevctl sorts them), types,
 * and parents with their instance counts.
 *
 * @module
 */

import {
  ConfigStore,
  type MdevAttr,
  type MdevDefinition,
  problemText,
} from "./config_store.ts";
import { messageOf, VdevError } from "../errors.ts";
import {
  firstLine,
  isPermissionError,
  MDEV_MISSING,
  notRootError,
} from "./errors.ts";
import { type ActiveMdev, MdevSysfs, type MdevType } from "./sysfs.ts";
import { parseMdevUuid } from "./uuid.ts";
import type { SysRoot } from "../root.ts";

/** The sysfs tree and the definitions store of one root. */
export interface MdevContext {
  /** sysfs (a subclass can simulate the kernel in tests). */
  sysfs: MdevSysfs;
  /** /etc/mdevctl.d. */
  store: ConfigStore;
}

/**
 * Opens sysfs and the definitions under `root`; a root other than `/` must
 * be an existing directory (else a mistyped `--root` would look like an
 * empty host, and `define` would create the whole tree under it).
 */
export function openMdev(root: SysRoot): MdevContext {
  return { sysfs: openMdevSysfs(root), store: new ConfigStore(root) };
}

/**
 * Opens only the sysfs side of `root` (for `types`, which reads no
 * definitions: a bundle of it then leaves the store out), with
 * {@linkcode openMdev}'s check of the root.
 */
export function openMdevSysfs(root: SysRoot): MdevSysfs {
  if (!root.isReal) {
    let isDir = false;
    try {
      isDir = Deno.statSync(root.dir).isDirectory;
    } catch {
      isDir = false;
    }
    if (!isDir) {
      throw new VdevError(
        `root ${root.dir} is not an existing directory: fix --root (or VDEVCTL_ROOT)`,
      );
    }
  }
  return new MdevSysfs(root);
}

/** A device as listed: running, defined, or both. */
export interface MdevEntry {
  /** Canonical UUID. */
  uuid: string;
  /** Parent name. */
  parent: string;
  /** Type id. */
  type: string;
  /** Starts automatically with its parent. */
  autostart: boolean;
  /** Attributes of the definition. */
  attrs: MdevAttr[];
  /** Running with this parent and type. */
  active: boolean;
  /** A definition file exists for it. */
  defined: boolean;
}

/** Devices grouped by parent, both sorted as mdevctl sorts them. */
export interface MdevListing {
  /** Parent name → devices (sorted by UUID); parents sorted by name. */
  parents: Map<string, MdevEntry[]>;
  /** Bad definition files (the command fails after listing the rest). */
  problems: string[];
  /** Things mdevctl also warns about on stderr. */
  warnings: string[];
}

/** Filters of `list`. */
export interface ListFilter {
  /** Only this canonical UUID. */
  uuid?: string;
  /** Only this parent. */
  parent?: string;
  /** List running devices as mdevctl 1.4 does (default 1.2). */
  compat?: "1.2" | "1.4";
}

/** Compares as mdevctl (Rust) sorts strings: by code unit, not by locale. */
export function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedListing(
  entries: MdevEntry[],
  extra: { problems: string[]; warnings: string[] },
): MdevListing {
  const groups = new Map<string, MdevEntry[]>();
  for (const e of entries) {
    const g = groups.get(e.parent);
    if (g) g.push(e);
    else groups.set(e.parent, [e]);
  }
  const parents = new Map<string, MdevEntry[]>();
  for (const name of [...groups.keys()].sort(byteCompare)) {
    parents.set(
      name,
      groups.get(name)!.sort((a, b) => byteCompare(a.uuid, b.uuid)),
    );
  }
  return { parents, ...extra };
}

/**
 * The running device `uuid`, or undefined when it is not running; a device
 * whose `mdev_type` link cannot be read is a {@linkcode VdevError}.
 */
export function loadActive(
  ctx: MdevContext,
  uuid: string,
): ActiveMdev | undefined {
  try {
    return ctx.sysfs.loadActive(uuid);
  } catch (err) {
    throw new VdevError(
      `${ctx.sysfs.devicePath(uuid)} has no readable mdev_type link (${
        firstLine(messageOf(err))
      }): the sysfs tree is inconsistent; check the parent's driver`,
      { cause: err },
    );
  }
}

/** The running devices (mdevctl `list`), with their definitions merged in. */
export function listActive(
  ctx: MdevContext,
  filter: ListFilter = {},
): MdevListing {
  const entries: MdevEntry[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  ctx.sysfs.indexDevices();
  // Each parent's definition names, listed once (a failed open per device
  // without a definition costs more than the rest of its listing).
  const storeNames = new Map<string, Set<string> | undefined>();
  for (const name of ctx.sysfs.activeNames()) {
    const uuid = parseMdevUuid(name);
    if (uuid === undefined) {
      warnings.push(
        `ignoring ${ctx.sysfs.deviceBase}/${name}: the name is not a UUID`,
      );
      continue;
    }
    if (filter.uuid !== undefined && filter.uuid !== uuid) continue;
    let act: ActiveMdev | undefined;
    try {
      act = ctx.sysfs.loadActive(uuid);
    } catch {
      continue; // as mdevctl: a device without mdev_type is skipped
    }
    if (filter.parent !== undefined && act?.parent !== filter.parent) continue;
    if (act === undefined) {
      throw new VdevError(
        `${ctx.sysfs.deviceBase}/${name} does not resolve to a device: the sysfs tree is inconsistent`,
      );
    }
    const entry: MdevEntry = {
      uuid,
      parent: act.parent,
      type: act.type,
      autostart: false,
      attrs: [],
      active: true,
      defined: false,
    };
    const defPath = `${ctx.store.base}/${act.parent}/${uuid}`;
    if (!storeNames.has(act.parent)) {
      storeNames.set(act.parent, ctx.store.namesIn(act.parent));
    }
    const names = storeNames.get(act.parent);
    if (names !== undefined && !names.has(uuid)) {
      entries.push(entry);
      continue;
    }
    try {
      // ENOENT (removed since the directory was listed) means "not defined".
      const def = ctx.store.readIfExists(act.parent, uuid);
      if (def !== undefined && filter.compat === "1.4") {
        // 1.4 keeps the running type, and the attributes only a `get
        // attributes` callout reports (none without callouts).
        entry.defined = true;
        entry.autostart = def.autostart;
      } else if (def !== undefined) {
        entry.defined = true;
        if (def.type !== act.type) {
          warnings.push(
            `mdev ${uuid} runs as type ${act.type} but is defined as ${def.type} in ${defPath}`,
          );
        }
        entry.type = def.type;
        entry.autostart = def.autostart;
        entry.attrs = def.attrs;
      }
    } catch (err) {
      if (isPermissionError(err)) throw notRootError(defPath, err);
      entry.defined = true;
      problems.push(problemText(defPath, err));
    }
    entries.push(entry);
  }
  return sortedListing(entries, { problems, warnings });
}

/** The defined devices (mdevctl `list --defined`), marked active when running as defined. */
export function listDefined(
  ctx: MdevContext,
  filter: ListFilter = {},
): MdevListing {
  const scan = ctx.store.scan(filter);
  // The bus directory says which run; each that does is asked for its type.
  if (scan.definitions.length > 16) ctx.sysfs.indexDevices({ types: false });
  const runs = ctx.sysfs.runsAsEach(scan.definitions);
  const entries = scan.definitions.map((def, i) =>
    definedEntry(ctx, def, { runs: runs[i], nonCanonical: scan.nonCanonical })
  );
  return sortedListing(entries, {
    problems: scan.problems,
    warnings: scan.warnings,
  });
}

function definedEntry(
  ctx: MdevContext,
  def: MdevDefinition,
  known: { runs: boolean | undefined; nonCanonical: Set<string> },
): MdevEntry {
  const { nonCanonical } = known;
  let active = known.runs;
  if (active === undefined) {
    const act = loadActive(ctx, def.uuid);
    active = act !== undefined && act.parent === def.parent &&
      act.type === def.type;
  }
  return {
    uuid: def.uuid,
    parent: def.parent,
    type: def.type,
    autostart: def.autostart,
    attrs: def.attrs,
    active,
    // A file read under its canonical name exists; others are checked.
    defined: nonCanonical.size === 0 ||
      !nonCanonical.has(`${def.parent}/${def.uuid}`) ||
      ctx.store.exists(def.parent, def.uuid),
  };
}

/** Types of every parent (or of one), parents and types sorted by name. */
export function listTypes(
  ctx: Pick<MdevContext, "sysfs">,
  parent?: string,
): Map<string, MdevType[]> {
  const out = new Map<string, MdevType[]>();
  for (const name of ctx.sysfs.parentNames().sort(byteCompare)) {
    if (parent !== undefined && parent !== name) continue;
    let types: MdevType[];
    try {
      types = ctx.sysfs.types(name);
    } catch (err) {
      if (isPermissionError(err)) {
        throw notRootError(ctx.sysfs.typesDir(name), err);
      }
      throw new VdevError(
        `mdev parent ${name}: cannot read its types (${
          firstLine(messageOf(err))
        }): check the parent's driver`,
        { cause: err },
      );
    }
    out.set(name, types.sort((a, b) => byteCompare(a.id, b.id)));
  }
  return out;
}

/** One type of a parent, with instance counts (for `mdev parents`). */
export interface ParentTypeInfo {
  /** Type id. */
  type: string;
  /** `name`, or "". */
  name: string;
  /** Description folded to one line, or "". */
  description: string;
  /** `device_api`. */
  deviceApi: string;
  /** Devices of this type that exist now. */
  inUse: number;
  /** `available_instances`. */
  available: number;
}

/** A parent device (for `mdev parents`). */
export interface ParentInfo {
  /** Parent name. */
  parent: string;
  /** Bound driver, or "". */
  driver: string;
  /** Device path in sysfs (without the root). */
  device: string;
  /** Its types, sorted. */
  types: ParentTypeInfo[];
}

/** Every parent with its driver, device path and per-type instance counts. */
export function listParents(
  ctx: MdevContext,
  parent?: string,
): ParentInfo[] {
  const out: ParentInfo[] = [];
  for (const name of ctx.sysfs.parentNames().sort(byteCompare)) {
    if (parent !== undefined && parent !== name) continue;
    let types: MdevType[] = [];
    try {
      types = ctx.sysfs.types(name).sort((a, b) => byteCompare(a.id, b.id));
    } catch {
      // A parent whose types cannot be read is still listed, without types.
    }
    out.push({
      parent: name,
      driver: ctx.sysfs.parentDriver(name),
      device: ctx.sysfs.parentDevicePath(name),
      types: types.map((t) => ({
        type: t.id,
        name: t.name,
        description: t.description,
        deviceApi: t.deviceApi,
        inUse: ctx.sysfs.typeDeviceCount(name, t.id),
        available: t.availableInstances,
      })),
    });
  }
  if (parent !== undefined && out.length === 0) {
    throw unknownParentError(ctx, parent);
  }
  return out;
}

/** The error for a parent that does not exist, suggesting a near match. */
export function unknownParentError(
  ctx: MdevContext,
  parent: string,
): VdevError {
  if (!ctx.sysfs.present()) {
    return new VdevError(
      `mdev parent ${parent} does not exist: ${MDEV_MISSING}`,
    );
  }
  const similar = ctx.sysfs.parentNames().find((n) =>
    n.toLowerCase() === parent.toLowerCase()
  );
  const hint = similar !== undefined ? ` (did you mean ${similar}?)` : "";
  return new VdevError(
    `mdev parent ${parent} does not exist${hint}: see 'vdevctl mdev parents'`,
  );
}
