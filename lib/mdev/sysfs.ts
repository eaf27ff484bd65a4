/**
 * The mdev part of sysfs as the kernel lays it out:
 *
 * - `/sys/class/mdev_bus/PARENT` → the parent's device directory, with
 *   `mdev_supported_types/TYPE/{name,description,available_instances,device_api,create,devices/}`;
 * - `/sys/bus/mdev/devices/UUID` → `PARENT_DEVICE_DIR/UUID`, with `mdev_type`
 *   → the type directory and `remove`.
 *
 * Reads are synchronous and cheap (this runs on every `mdev list`). Errors
 * are Deno's, carrying the errno in `code`; callers translate them.
 *
 * @module
 */

import { VdevError } from "../errors.ts";
import { normalizePath, type SysRoot } from "../root.ts";
import { entryExists, libcOpen, SmallFileDir } from "../small_file.ts";
import {
  basename,
  dirNames,
  exists,
  isDir,
  manyNames,
  optionalText,
  pathExists,
  readText,
  typeFiles,
} from "../sysfs_read.ts";

/** A supported mdev type of a parent. */
export interface MdevType {
  /** Parent device name (entry of /sys/class/mdev_bus). */
  parent: string;
  /** Type id, e.g. "mtty-1". */
  id: string;
  /** `name`, or "" when the type has none. */
  name: string;
  /** `description` folded to one line (", " for newlines), or "". */
  description: string;
  /** `available_instances`. */
  availableInstances: number;
  /** `device_api`, e.g. "vfio-pci". */
  deviceApi: string;
}

/** A running mediated device. */
export interface ActiveMdev {
  /** Canonical UUID. */
  uuid: string;
  /** Parent name (basename of the parent's device directory). */
  parent: string;
  /** Type id (basename of the `mdev_type` link's target). */
  type: string;
}

/**
 * Throws unless `name` can only name an entry of its directory (a parent of
 * /sys/class/mdev_bus or a type of mdev_supported_types): not empty, not
 * "." or "..", no "/". Names that climb out of the mdev tree would make a
 * write to `create` land outside it.
 */
export function checkSysfsName(what: "parent" | "type", name: string): void {
  if (
    name === "" || name === "." || name === ".." || name.includes("/") ||
    name.includes("\0")
  ) {
    throw new VdevError(
      `mdev ${what} ${
        JSON.stringify(name)
      } is not a ${what} name (it is empty or contains "/" or ".."): see 'vdevctl mdev types'`,
    );
  }
}

/** The mdev sysfs tree under a root. */
export class MdevSysfs {
  /** The root the tree is read under. */
  readonly root: SysRoot;
  /** `/sys/class/mdev_bus` under the root. */
  readonly parentBase: string;
  /** `/sys/bus/mdev/devices` under the root. */
  readonly deviceBase: string;

  /** Opens the tree under `root`. */
  constructor(root: SysRoot) {
    this.root = root;
    this.parentBase = root.path("/sys/class/mdev_bus");
    this.deviceBase = root.path("/sys/bus/mdev/devices");
  }

  /**
   * True when the kernel has mdev (the mdev module registers the
   * `mdev_bus` class): without it there are no parents and no devices.
   */
  present(): boolean {
    try {
      return Deno.statSync(this.parentBase).isDirectory;
    } catch {
      return false;
    }
  }

  /** Parent names in directory order; [] when there is no mdev_bus class. */
  parentNames(): string[] {
    return dirNames(this.parentBase);
  }

  /** Type ids of `parent` in directory order; [] when it has no types. */
  typeNames(parent: string): string[] {
    return dirNames(this.typesDir(parent));
  }

  /** The directory of `parent`'s supported types. */
  typesDir(parent: string): string {
    return `${this.parentBase}/${parent}/mdev_supported_types`;
  }

  /**
   * The types of `parent`, in directory order, read as mdevctl 1.2 reads
   * them: only real directories count, `available_instances` (an i32) and
   * `device_api` are required, `name` and `description` optional (trimmed;
   * the description's newlines folded to ", "). Throws, as mdevctl fails,
   * when the parent has no `mdev_supported_types` or a required file is
   * missing or bad.
   */
  types(parent: string): MdevType[] {
    const dir = this.typesDir(parent);
    const out: MdevType[] = [];
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.isDirectory) continue;
      const tdir = `${dir}/${entry.name}`;
      // One listing says which attributes are regular files (a stat per
      // file costs more than its read) and which are missing; anything else
      // is checked by name.
      const files = typeFiles(tdir);
      const regular = (name: string) => files?.get(name) === true;
      out.push({
        parent,
        id: entry.name,
        availableInstances: this.availableInstances(parent, entry.name, {
          regular: regular("available_instances"),
        }),
        deviceApi: readText(`${tdir}/device_api`, regular("device_api")),
        name: optionalText(tdir, "name", files),
        description: optionalText(tdir, "description", files)
          .replaceAll("\n", ", "),
      });
    }
    return out;
  }

  /**
   * `available_instances` of a type, parsed as mdevctl does (an i32);
   * `regular`: a listing of the type's directory showed a regular file.
   */
  availableInstances(
    parent: string,
    type: string,
    options: { regular?: boolean } = {},
  ): number {
    const path = `${this.typeDir(parent, type)}/available_instances`;
    const avail = readText(path, options.regular);
    const n = /^[+-]?\d+$/.test(avail) ? Number(avail) : NaN;
    if (!Number.isInteger(n) || n < -2147483648 || n > 2147483647) {
      throw new Error(`${path}: not a number: "${avail}"`);
    }
    return n;
  }

  /**
   * A type's `name` and `available_instances` as text, "" when a file is
   * missing or unreadable: what shell completion shows, read without
   * failing (unlike {@linkcode MdevSysfs.types}).
   */
  typeSummary(
    parent: string,
    type: string,
  ): { name: string; available: string } {
    const dir = this.typeDir(parent, type);
    return {
      name: optionalText(dir, "name"),
      available: optionalText(dir, "available_instances"),
    };
  }

  /** How many devices of a type exist (entries of the type's `devices/`). */
  typeDeviceCount(parent: string, type: string): number {
    return dirNames(`${this.typeDir(parent, type)}/devices`).length;
  }

  /** True when `path` is a directory (following symlinks). */
  isDir(path: string): boolean {
    return isDir(path);
  }

  /** The directory of one type of a parent. */
  typeDir(parent: string, type: string): string {
    return `${this.typesDir(parent)}/${type}`;
  }

  /** Names in /sys/bus/mdev/devices (unfiltered, directory order). */
  activeNames(): string[] {
    return dirNames(this.deviceBase);
  }

  /** The sysfs directory of device `uuid` (through the bus link). */
  devicePath(uuid: string): string {
    return `${this.deviceBase}/${uuid}`;
  }

  /**
   * The running device `uuid` as mdevctl's `load_from_sysfs` sees it:
   * undefined when /sys/bus/mdev/devices/UUID does not resolve; throws when
   * it resolves but its `mdev_type` link does not.
   *
   * Fast path (this runs once per device on every `list`): two readlink(2)
   * calls resolved as text, instead of two realpath(3) walks. The kernel's
   * links point at real directories, so the basenames are the same.
   */
  loadActive(uuid: string): ActiveMdev | undefined {
    const hit = this.index?.get(uuid);
    if (hit !== undefined) return hit;
    // Not on the bus when the listing was indexed: not running (no syscall,
    // no thrown NotFound per stopped device).
    if (this.busNames !== undefined && !this.busNames.has(uuid)) {
      return undefined;
    }
    const path = this.devicePath(uuid);
    let devLink: string;
    let typeLink: string;
    try {
      devLink = Deno.readLinkSync(path);
      typeLink = Deno.readLinkSync(`${path}/mdev_type`);
    } catch {
      return this.loadActiveSlow(uuid);
    }
    const real = devLink.startsWith("/")
      ? devLink
      : normalizePath(`${this.deviceBase}/${devLink}`);
    const parentDir = real.slice(0, real.lastIndexOf("/"));
    return { uuid, parent: basename(parentDir), type: basename(typeLink) };
  }

  private loadActiveSlow(uuid: string): ActiveMdev | undefined {
    const path = this.devicePath(uuid);
    if (!exists(path)) return undefined;
    const real = Deno.realPathSync(path);
    const parentDir = real.slice(0, real.lastIndexOf("/"));
    const type = basename(Deno.realPathSync(`${path}/mdev_type`));
    return { uuid, parent: basename(parentDir), type };
  }

  /** UUID → device, from the types' `devices/` directories (see indexDevices). */
  private index?: Map<string, ActiveMdev>;

  /** The names in /sys/bus/mdev/devices when the index was made. */
  private busNames?: Set<string>;

  /**
   * Indexes the running devices for a listing: one readdir per type's
   * `devices/` (the kernel links every device there) instead of two
   * readlinks per device. {@linkcode MdevSysfs.loadActive} answers from the
   * index, answers "not running" for a name the bus directory did not hold,
   * and falls back to the links for the others. `options.types: false`
   * lists only the bus directory (a listing of definitions asks
   * {@linkcode MdevSysfs.runsAs} of the few that run). Only for read-only
   * listings: the index does not follow create and remove.
   */
  indexDevices(options: { types?: boolean } = {}): void {
    this.busNames = new Set(manyNames(this.deviceBase));
    if (options.types === false) return;
    const index = new Map<string, ActiveMdev>();
    for (const parent of this.parentNames()) {
      for (const type of this.typeNames(parent)) {
        for (const uuid of manyNames(`${this.typeDir(parent, type)}/devices`)) {
          index.set(uuid, { uuid, parent, type });
        }
      }
    }
    this.index = index;
  }

  /**
   * Whether device `uuid` runs under `place.parent` as `place.type`, when
   * the index tells cheaply: false when the bus directory did not hold it,
   * true when the type's `devices/` holds it (one lstat); undefined when
   * only {@linkcode MdevSysfs.loadActive} can tell (no index, or it runs as
   * something else).
   */
  runsAs(
    uuid: string,
    place: { parent: string; type: string },
  ): boolean | undefined {
    if (this.busNames === undefined) return undefined;
    if (!this.busNames.has(uuid)) return false;
    const hit = this.index?.get(uuid);
    if (hit !== undefined) {
      return hit.parent === place.parent && hit.type === place.type;
    }
    if (this.index !== undefined) return undefined;
    try {
      checkSysfsName("parent", place.parent);
      checkSysfsName("type", place.type);
      const link = `${this.typeDir(place.parent, place.type)}/devices/${uuid}`;
      if (libcOpen() ? entryExists(link) : pathExists(link)) return true;
      return undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * {@linkcode MdevSysfs.runsAs} of many definitions at once (a listing of
   * definitions): once libc is open, each type's `devices/` is opened once
   * and asked with one statx(2) per definition that runs, instead of a walk
   * of the whole path per definition; closed before it returns.
   */
  runsAsEach(
    places: readonly { uuid: string; parent: string; type: string }[],
  ): (boolean | undefined)[] {
    if (this.busNames === undefined || this.index !== undefined) {
      return places.map((p) => this.runsAs(p.uuid, p));
    }
    const bus = this.busNames;
    const viaLibc = libcOpen();
    const dirs = new Map<string, SmallFileDir | null>();
    try {
      return places.map((p) => {
        if (!bus.has(p.uuid)) return false;
        if (!viaLibc) return this.runsAs(p.uuid, p);
        // No "\0" in a checked name: the key names one pair.
        const key = `${p.parent}\0${p.type}`;
        let dir = dirs.get(key);
        if (dir === undefined) {
          try {
            checkSysfsName("parent", p.parent);
            checkSysfsName("type", p.type);
            dir = new SmallFileDir(`${this.typeDir(p.parent, p.type)}/devices`);
          } catch {
            dir = null;
          }
          dirs.set(key, dir);
        }
        return dir !== null && dir.has(p.uuid) ? true : undefined;
      });
    } finally {
      for (const dir of dirs.values()) dir?.close();
    }
  }

  /**
   * Creates device `uuid` by writing it to the type's `create`; refuses a
   * parent or type name that would leave the mdev tree.
   */
  create(uuid: string, spec: { parent: string; type: string }): void {
    checkSysfsName("parent", spec.parent);
    checkSysfsName("type", spec.type);
    Deno.writeTextFileSync(
      `${this.typeDir(spec.parent, spec.type)}/create`,
      uuid,
    );
  }

  /** Removes running device `uuid` by writing 1 to its `remove`. */
  remove(uuid: string): void {
    Deno.writeTextFileSync(`${this.devicePath(uuid)}/remove`, "1");
  }

  /** True when the device has a sysfs attribute `name`. */
  hasAttr(uuid: string, name: string): boolean {
    return exists(`${this.devicePath(uuid)}/${name}`);
  }

  /** Writes `value` to the device's sysfs attribute `name`. */
  writeAttr(uuid: string, attr: { name: string; value: string }): void {
    Deno.writeTextFileSync(`${this.devicePath(uuid)}/${attr.name}`, attr.value);
  }

  /** The driver bound to `parent`'s device (the `driver` link's name), or "". */
  parentDriver(parent: string): string {
    try {
      return basename(
        Deno.readLinkSync(`${this.parentBase}/${parent}/driver`).replace(
          /\/+$/,
          "",
        ),
      );
    } catch {
      return "";
    }
  }

  /** The real device path of `parent` (without the root prefix). */
  parentDevicePath(parent: string): string {
    try {
      const real = Deno.realPathSync(`${this.parentBase}/${parent}`);
      const rootDir = this.root.dir === "/" ? "" : this.root.dir;
      return rootDir && real.startsWith(rootDir)
        ? real.slice(rootDir.length)
        : real;
    } catch {
      return "";
    }
  }
}
