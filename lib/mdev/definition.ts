/**
 * The definition format: what one mdevctl definition file holds
 * (`{"mdev_type", "start", "attrs"}`, pretty-printed as mdevctl writes it),
 * parsed with mdevctl's rules, and the one line naming a bad file.
 *
 * @module
 */

import { messageOf } from "../errors.ts";
import { DefinitionError } from "./bounded_read.ts";

/** One sysfs attribute of a definition, written in order on start. */
export interface MdevAttr {
  /** Attribute file name under the device's sysfs directory. */
  name: string;
  /** Value written to it. */
  value: string;
}

/** A device definition (the contents of one config file, plus its place). */
export interface MdevDefinition {
  /** Parent name (the directory the file is in). */
  parent: string;
  /** Canonical UUID (the file name). */
  uuid: string;
  /** `mdev_type`. */
  type: string;
  /** `start` is "auto". */
  autostart: boolean;
  /** `attrs`, in order. */
  attrs: MdevAttr[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Parses the `attrs` array of a definition (or of a --jsonfile): a list of
 * one-field objects with string values. Missing or null means none.
 */
export function parseAttrs(value: unknown): MdevAttr[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new DefinitionError('"attrs" is not an array');
  }
  return value.map((item, i) => {
    if (!isRecord(item)) {
      throw new DefinitionError(`attrs[${i}] is not an object`);
    }
    const keys = Object.keys(item);
    if (keys.length !== 1) {
      throw new DefinitionError(`attrs[${i}] must have exactly one field`);
    }
    const v = item[keys[0]];
    if (typeof v !== "string") {
      throw new DefinitionError(`attrs[${i}].${keys[0]} is not a string`);
    }
    return { name: keys[0], value: v };
  });
}

/**
 * Parses definition JSON text (mdevctl's rules: `mdev_type` and `start`
 * required, `start` other than "auto" means manual, `attrs` optional).
 */
export function parseDefinition(
  text: string,
  place: { parent: string; uuid: string },
): MdevDefinition {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const how = text.trim() === ""
      ? "empty"
      : `not valid JSON (${messageOf(err)})`;
    throw new DefinitionError(how);
  }
  if (!isRecord(json)) throw new DefinitionError("not a JSON object");
  if (json.mdev_type === undefined || json.mdev_type === null) {
    throw new DefinitionError('"mdev_type" is missing');
  }
  if (json.start === undefined || json.start === null) {
    throw new DefinitionError('"start" is missing');
  }
  if (typeof json.mdev_type !== "string") {
    throw new DefinitionError('"mdev_type" is not a string');
  }
  return {
    parent: place.parent,
    uuid: place.uuid,
    type: json.mdev_type,
    autostart: json.start === "auto",
    attrs: parseAttrs(json.attrs),
  };
}

/** The JSON value mdevctl stores for a definition (also `list --dumpjson` of one device). */
export function definitionValue(
  def: Pick<MdevDefinition, "type" | "autostart" | "attrs">,
): Record<string, unknown> {
  return {
    mdev_type: def.type,
    start: def.autostart ? "auto" : "manual",
    attrs: def.attrs.map((a) => ({ [a.name]: a.value })),
  };
}

/** The file contents mdevctl writes for a definition (pretty JSON, no newline). */
export function definitionText(
  def: Pick<MdevDefinition, "type" | "autostart" | "attrs">,
): string {
  return JSON.stringify(definitionValue(def), null, 2);
}

/** The one-line report of a bad definition file. */
export function problemText(path: string, err: unknown): string {
  const why = err instanceof DefinitionError
    ? err.message
    : `cannot be read (${messageOf(err)})`;
  return `${path}: ${why}: fix or remove this definition file`;
}
