/**
 * Test helper: the schemas in schemas/ compiled with ajv (pinned in
 * package.json's devDependencies); `validate(name, value)` throws with
 * ajv's errors when `value` does not match `schemas/NAME.schema.json`.
 *
 * @module
 */

import Ajv from "ajv";

const DIR = new URL("../../schemas/", import.meta.url).pathname;

/** The compiled schemas. */
export interface SchemaValidator {
  /** Throws unless `value` matches schema `name`. */
  validate: (name: string, value: unknown) => void;
  /** Every schema's name (`mdev-list`, ...). */
  names: string[];
}

/** Compiles every schema in schemas/. */
export function schemaValidator(): SchemaValidator {
  const ajv = new Ajv.default({
    allErrors: true,
    strict: true,
    allowUnionTypes: true,
  });
  const names: string[] = [];
  for (const e of Deno.readDirSync(DIR)) {
    const m = /^(.*)\.schema\.json$/.exec(e.name);
    if (!m) continue;
    names.push(m[1]);
    ajv.addSchema(JSON.parse(Deno.readTextFileSync(`${DIR}/${e.name}`)), m[1]);
  }
  names.sort();
  return {
    names,
    validate(name, value) {
      const check = ajv.getSchema(name);
      if (!check) throw new Error(`no schema ${name}`);
      if (!check(value)) {
        throw new Error(
          `${name}: ${ajv.errorsText(check.errors)}\n${
            JSON.stringify(value).slice(0, 400)
          }`,
        );
      }
    },
  };
}
