/**
 * `refuses`: asserts that a call throws a one-line {@linkcode VdevError}
 * whose message matches, for the unit tests of every family.
 *
 * @module
 */

import assert from "node:assert/strict";
import { VdevError } from "../lib/errors.ts";

/**
 * A predicate for `assert.throws`/`assert.rejects`: the error is a one-line
 * {@linkcode VdevError} whose message matches `re`.
 */
export function oneLineVdevError(re: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof VdevError, `not a VdevError: ${e}`);
    assert.match(e.message, re);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  };
}

/** Asserts `fn` throws a VdevError whose message matches `re`. */
export function refuses(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, oneLineVdevError(re));
}
