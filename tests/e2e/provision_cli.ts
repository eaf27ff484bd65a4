/**
 * The provisioning e2e tests' way of running vdevctl from this checkout:
 * `vdevctl(...)` for the result, `ok(...)` for the output of a command
 * that must succeed, `sh(...)` for pipelines.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CommandResult, runCommand } from "../command_output.ts";

/** This checkout's launcher. */
export const VDEVCTL = new URL("../../vdevctl", import.meta.url).pathname;

/** Runs vdevctl with `args`. */
export function vdevctl(...args: string[]): Promise<CommandResult> {
  return runCommand([VDEVCTL, ...args]);
}

/** Runs a shell script. */
export function sh(script: string): Promise<CommandResult> {
  return runCommand(["sh", "-c", script]);
}

/** The standard output of vdevctl `args`, which must exit 0. */
export async function ok(...args: string[]): Promise<string> {
  const r = await vdevctl(...args);
  assert.equal(r.code, 0, `vdevctl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}
