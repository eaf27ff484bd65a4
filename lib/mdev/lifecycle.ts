/**
 * The mdev device lifecycle with mdevctl 1.2's semantics: starting (create,
 * then attributes in order, removing the device again if one fails),
 * stopping, defining, undefining, modifying, and starting a parent's `auto`
 * devices.
 *
 * @module
 */

import {
  checkDefinitionPlace,
  type MdevDefinition,
  parseDefinition,
} from "./config_store.ts";
import { DefinitionError, readLimitedText } from "./bounded_read.ts";
import { errnoCode, messageOf, VdevError } from "../errors.ts";
import { attrError, createError, firstLine, genericError } from "./errors.ts";
import { loadActive, type MdevContext, unknownParentError } from "./list.ts";
import { type ActiveMdev, checkSysfsName } from "./sysfs.ts";
import { newMdevUuid } from "./uuid.ts";

function deviceName(dev: { uuid: string; parent: string; type: string }) {
  return `mdev ${dev.uuid} (type ${dev.type} on ${dev.parent})`;
}

/**
 * Creates a device from a complete description: checks as mdevctl does
 * (not already running, parent, type, available instances), writes the UUID
 * to `create`, then each attribute in order; if an attribute fails, removes
 * the device again and names the attribute.
 */
export function createDevice(
  ctx: MdevContext,
  dev: Pick<MdevDefinition, "uuid" | "parent" | "type" | "attrs">,
): void {
  const { sysfs } = ctx;
  checkSysfsName("parent", dev.parent);
  checkSysfsName("type", dev.type);
  let existing: ActiveMdev | undefined;
  try {
    existing = sysfs.loadActive(dev.uuid);
  } catch {
    existing = undefined;
  }
  if (existing !== undefined) {
    throw new VdevError(
      `mdev ${dev.uuid} is already running (type ${existing.type} on ${existing.parent}): stop it first or pick another UUID`,
    );
  }
  if (!sysfs.isDir(`${sysfs.parentBase}/${dev.parent}`)) {
    throw unknownParentError(ctx, dev.parent);
  }
  if (!sysfs.isDir(sysfs.typesDir(dev.parent))) {
    throw new VdevError(
      `${dev.parent} is not registered for mdev support (no mdev_supported_types): load or bind its mdev driver`,
    );
  }
  if (!sysfs.isDir(sysfs.typeDir(dev.parent, dev.type))) {
    throw new VdevError(
      `mdev parent ${dev.parent} has no type ${dev.type}: see 'vdevctl mdev types -p ${dev.parent}'`,
    );
  }
  let avail: number;
  try {
    avail = sysfs.availableInstances(dev.parent, dev.type);
  } catch (err) {
    throw genericError(err, {
      object: `type ${dev.type} on ${dev.parent}`,
      path: `${sysfs.typeDir(dev.parent, dev.type)}/available_instances`,
      action: "reading available_instances",
    });
  }
  const name = deviceName(dev);
  if (avail === 0) {
    throw new VdevError(
      `${name}: no available instances of ${dev.type} on ${dev.parent}: stop another device of this parent first`,
    );
  }
  const createPath = `${sysfs.typeDir(dev.parent, dev.type)}/create`;
  try {
    sysfs.create(dev.uuid, dev);
  } catch (err) {
    throw createError(err, {
      object: name,
      path: createPath,
      action: "create",
    });
  }
  for (const attr of dev.attrs) {
    const path = `${sysfs.devicePath(dev.uuid)}/${attr.name}`;
    let failure: VdevError | undefined;
    if (attr.name.includes("/") || !sysfs.hasAttr(dev.uuid, attr.name)) {
      failure = new VdevError(
        `${name}: it has no attribute ${
          JSON.stringify(attr.name)
        }; the device was removed again: fix the definition with 'vdevctl mdev modify --delattr'`,
      );
    } else {
      try {
        sysfs.writeAttr(dev.uuid, attr);
      } catch (err) {
        failure = attrError(err, {
          object: name,
          path,
          action: `writing ${JSON.stringify(attr.value)} to attribute ${
            JSON.stringify(attr.name)
          }`,
        });
      }
    }
    if (failure !== undefined) {
      try {
        sysfs.remove(dev.uuid);
      } catch (err) {
        throw new VdevError(
          `${failure.message}; removing it again also failed (${
            errnoCode(err) ?? firstLine(messageOf(err))
          }): stop it with 'vdevctl mdev stop -u ${dev.uuid}'`,
          { cause: err },
        );
      }
      throw failure;
    }
  }
}

/** What `start` was given. */
export interface StartRequest {
  /** Canonical UUID, if given. */
  uuid?: string;
  /** Parent, if given. */
  parent?: string;
  /** Type, if given. */
  type?: string;
  /** Path of a JSON device description, if given. */
  jsonfile?: string;
}

/** The outcome of `start` and `define`. */
export interface Started {
  /** The device's UUID. */
  uuid: string;
  /** True when the UUID was generated (the command prints it). */
  generated: boolean;
}

/** Reads a `--jsonfile` device description (mdevctl's config format). */
export function readJsonFile(
  path: string,
  place: { parent: string; uuid: string },
): MdevDefinition {
  let text: string;
  try {
    text = readLimitedText(path, { stdin: true });
  } catch (err) {
    const why = err instanceof DefinitionError
      ? err.message
      : `cannot read it (${errnoCode(err) ?? firstLine(messageOf(err))})`;
    throw new VdevError(
      `--jsonfile ${path}: ${why}: give the path of a JSON device description in a regular file`,
      { cause: err },
    );
  }
  try {
    return parseDefinition(text, place);
  } catch (err) {
    throw new VdevError(
      `--jsonfile ${path}: ${
        messageOf(err)
      }: it must be an object with "mdev_type", "start" and optional "attrs"`,
      { cause: err },
    );
  }
}

function requireNoProblems(problems: string[]): void {
  if (problems.length > 0) throw new VdevError(problems[0]);
}

/**
 * The definition of `uuid` (on `parent`, if given), or undefined; fails on a
 * bad definition file and when the UUID is defined on several parents.
 */
function findDefinition(
  ctx: MdevContext,
  uuid: string,
  parent: string | undefined,
): MdevDefinition | undefined {
  const scan = ctx.store.scan({ uuid, parent });
  requireNoProblems(scan.problems);
  if (scan.definitions.length > 1) {
    throw new VdevError(
      `mdev ${uuid} is defined on several parents (${
        scan.definitions.map((d) => d.parent).sort().join(", ")
      }): add -p PARENT`,
    );
  }
  return scan.definitions[0];
}

/** Finds a device to start, exactly as mdevctl's `start` resolves its arguments. */
export function resolveStart(
  ctx: MdevContext,
  req: StartRequest,
): MdevDefinition & { generated: boolean } {
  const generated = req.uuid === undefined;
  const uuid = req.uuid ?? newMdevUuid();
  if (req.jsonfile !== undefined) {
    if (req.type !== undefined) {
      throw new VdevError(
        "--type cannot be given with --jsonfile: put mdev_type in the file",
      );
    }
    if (req.parent === undefined) {
      throw new VdevError(
        `--jsonfile ${req.jsonfile}: a parent is required: add -p PARENT`,
      );
    }
    return {
      ...readJsonFile(req.jsonfile, { parent: req.parent, uuid }),
      generated,
    };
  }
  let dev = req.uuid === undefined
    ? undefined
    : findDefinition(ctx, uuid, req.parent);
  if (dev !== undefined && req.type !== undefined && req.type !== dev.type) {
    throw new VdevError(
      `mdev ${uuid} is defined on ${dev.parent} with type ${dev.type}, not ${req.type}: drop -t or modify the definition`,
    );
  }
  if (dev === undefined) {
    if (req.type !== undefined && req.parent === undefined) {
      throw new VdevError("a type needs a parent: add -p PARENT");
    }
    if (req.type === undefined || req.parent === undefined) {
      throw new VdevError(
        `${
          generated
            ? "no type given"
            : `mdev ${uuid} is not defined and not fully specified`
        }: give -p PARENT and -t TYPE (or define it first)`,
      );
    }
    dev = {
      uuid,
      parent: req.parent,
      type: req.type,
      autostart: false,
      attrs: [],
    };
  }
  return { ...dev, generated };
}

/** What `define` was given. */
export interface DefineRequest extends StartRequest {
  /** `--auto`. */
  auto?: boolean;
}

/** A definition `define` is about to write. */
export interface PlannedDefinition extends Started {
  /** The definition. */
  def: MdevDefinition;
  /** Made from a running device (a `get attributes` callout may add attributes). */
  active: boolean;
}

/**
 * `define`'s checks: the definition to write (from arguments, a running
 * device, or a file); `actions.ts` writes it between its callouts.
 */
export function planDefinition(
  ctx: MdevContext,
  req: DefineRequest,
): PlannedDefinition {
  const generated = req.uuid === undefined;
  const uuid = req.uuid ?? newMdevUuid();
  if (req.parent !== undefined) checkDefinitionPlace(req.parent, uuid);
  let def: MdevDefinition;
  let active = false;
  if (req.jsonfile !== undefined) {
    if (req.type !== undefined || req.auto) {
      throw new VdevError(
        "--type and --auto cannot be given with --jsonfile: put them in the file",
      );
    }
    if (req.parent === undefined) {
      throw new VdevError(
        `--jsonfile ${req.jsonfile}: a parent is required: add -p PARENT`,
      );
    }
    const scan = ctx.store.scan({ uuid, parent: req.parent });
    requireNoProblems(scan.problems);
    if (scan.definitions.length > 0) {
      throw new VdevError(
        `mdev ${uuid} is already defined on ${req.parent}: undefine it first or use 'vdevctl mdev modify'`,
      );
    }
    def = readJsonFile(req.jsonfile, { parent: req.parent, uuid });
  } else {
    let parent: string | undefined;
    let type: string | undefined;
    if (req.uuid !== undefined) {
      const act = loadActive(ctx, uuid);
      if (act !== undefined) {
        parent = act.parent;
        type = act.type;
        active = true;
      }
      if (req.parent === undefined && (act === undefined || req.type)) {
        throw new VdevError(
          `mdev ${uuid} is not running${
            act ? " with that type" : ""
          }: give its parent with -p PARENT`,
        );
      }
    }
    parent = req.parent ?? parent;
    type = req.type ?? type;
    if (parent === undefined) {
      throw new VdevError("no parent given: add -p PARENT");
    }
    if (type === undefined) {
      throw new VdevError(
        generated
          ? "no type given: add -t TYPE (or -u UUID of a running device)"
          : `mdev ${uuid}: no type given and it is not running: add -t TYPE`,
      );
    }
    checkDefinitionPlace(parent, uuid);
    if (ctx.store.exists(parent, uuid)) {
      throw new VdevError(
        `mdev ${uuid} is already defined on ${parent}: use 'vdevctl mdev modify' or undefine it first`,
      );
    }
    def = { uuid, parent, type, autostart: req.auto ?? false, attrs: [] };
  }
  return { uuid, generated, def, active };
}

/** What `modify` was given. */
export interface ModifyRequest {
  /** Parent, when the UUID is defined on several. */
  parent?: string;
  /** New type. */
  type?: string;
  /** Attribute to add (with `value`). */
  addattr?: string;
  /** Value of the added attribute. */
  value?: string;
  /** Delete an attribute (the last, or `index`). */
  delattr?: boolean;
  /** Position for addattr/delattr. */
  index?: number;
  /** Start automatically. */
  auto?: boolean;
  /** Start manually. */
  manual?: boolean;
  /** Replace type, start and attributes from this JSON file. */
  jsonfile?: string;
  /** `--live`: change the running device through a `live` callout. */
  live?: boolean;
  /** With `--live`: change the definition too. */
  defined?: boolean;
}

/** Finds the one definition of `uuid` (optionally on `options.parent`). */
export function definedDevice(
  ctx: MdevContext,
  uuid: string,
  options: { parent?: string } = {},
): MdevDefinition {
  const parent = options.parent;
  if (parent !== undefined) checkDefinitionPlace(parent, uuid);
  const def = findDefinition(ctx, uuid, parent);
  if (def === undefined) {
    throw new VdevError(
      `mdev ${
        parent ? `${parent}/` : ""
      }${uuid} is not defined: see 'vdevctl mdev list -d'`,
    );
  }
  return def;
}

/**
 * `modify`'s checks and changes: the changed definition (not yet written;
 * `actions.ts` writes it between its callouts).
 */
export function planModify(
  ctx: MdevContext,
  uuid: string,
  req: ModifyRequest,
): MdevDefinition {
  const dev = definedDevice(ctx, uuid, { parent: req.parent });
  if (req.jsonfile !== undefined) {
    if (
      req.type !== undefined || req.auto || req.manual ||
      req.addattr !== undefined || req.delattr
    ) {
      throw new VdevError(
        "--jsonfile replaces the whole definition: drop -t, -a, -m, --addattr and --delattr",
      );
    }
    const from = readJsonFile(req.jsonfile, dev);
    dev.type = from.type;
    dev.autostart = from.autostart;
    dev.attrs = from.attrs;
  }
  if (req.type !== undefined) dev.type = req.type;
  if (req.auto) dev.autostart = true;
  else if (req.manual) dev.autostart = false;
  if (req.addattr !== undefined) {
    if (req.value === undefined) {
      throw new VdevError(
        `--addattr ${req.addattr} needs a value: add --value VALUE`,
      );
    }
    const attr = { name: req.addattr, value: req.value };
    if (req.index === undefined) dev.attrs.push(attr);
    else if (req.index > dev.attrs.length) {
      throw new VdevError(
        `attribute index ${req.index} is out of range for mdev ${uuid} (it has ${dev.attrs.length}): use 0..${dev.attrs.length}`,
      );
    } else dev.attrs.splice(req.index, 0, attr);
  } else if (req.delattr) {
    if (req.index === undefined) dev.attrs.pop();
    else if (req.index >= dev.attrs.length) {
      throw new VdevError(
        `attribute index ${req.index} is out of range for mdev ${uuid} (it has ${dev.attrs.length}): see 'vdevctl mdev list -d -v -u ${uuid}'`,
      );
    } else dev.attrs.splice(req.index, 1);
  }
  return dev;
}
