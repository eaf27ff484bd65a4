/**
 * Kernel and file-system errors of mdev operations, translated into one-line
 * {@linkcode VdevError}s that name the object and what to do. Matching is on
 * the errno name (`errnoCode`), never on Deno's error class.
 *
 * @module
 */

import { errnoCode, messageOf, VdevError } from "../errors.ts";

/**
 * What a host without mdev lacks and how to get it: the one text that
 * `vdevctl doctor` and the mdev commands print.
 */
export const MDEV_MISSING =
  "mdev is not available: /sys/class/mdev_bus is missing; load a parent driver (a vGPU driver, or modprobe mtty to try)";

/** What was being done when a system call failed. */
export interface FailureContext {
  /** The object, e.g. "mdev 1234... (type mtty-1 on mtty)". */
  object: string;
  /** The file that was written or read (a path under the root). */
  path: string;
  /** What the write meant, e.g. "create", "remove", "write attribute x". */
  action: string;
}

/** True when `err` is a permission error (EACCES or EPERM). */
export function isPermissionError(err: unknown): boolean {
  const code = errnoCode(err);
  return code === "EACCES" || code === "EPERM";
}

/** A permission failure on `path`: the caller is not root. */
export function notRootError(path: string, cause?: unknown): VdevError {
  const uid = typeof Deno.uid === "function" ? Deno.uid() : null;
  const who = uid === 0 || uid === null ? "" : ` (running as uid ${uid})`;
  return new VdevError(
    `permission denied on ${path}${who}: run vdevctl mdev as root`,
    { cause },
  );
}

/**
 * Translates an error from writing a type's `create` file (permission and
 * unknown errnos fall through to {@linkcode genericError}).
 */
export function createError(err: unknown, ctx: FailureContext): VdevError {
  const code = errnoCode(err);
  switch (code) {
    case "EEXIST":
      return new VdevError(
        `${ctx.object}: a device with this UUID already exists (the kernel refused a duplicate UUID): stop it first or pick another UUID`,
        { cause: err },
      );
    case "EINVAL":
      return new VdevError(
        `${ctx.object}: the kernel rejected the UUID or type as invalid (EINVAL): check the UUID and the type with 'vdevctl mdev types'`,
        { cause: err },
      );
    case "ENOSPC":
    case "EUSERS":
    case "EDQUOT":
      return new VdevError(
        `${ctx.object}: no available instances left (${code}): stop another device of this parent first`,
        { cause: err },
      );
    case "EBUSY":
      return new VdevError(
        `${ctx.object}: the parent is busy (EBUSY): retry later`,
        { cause: err },
      );
    case "ENODEV":
    case "ENOENT":
      return new VdevError(
        `${ctx.object}: the parent or type disappeared while creating the device (${code}): check 'vdevctl mdev types'`,
        { cause: err },
      );
  }
  return genericError(err, ctx);
}

/** Translates an error from writing a device's `remove` file. */
export function removeError(err: unknown, ctx: FailureContext): VdevError {
  const code = errnoCode(err);
  switch (code) {
    case "EBUSY":
      return new VdevError(
        `${ctx.object} is busy (EBUSY; in use, e.g. opened by a VM or a vfio user): release it, then stop it again`,
        { cause: err },
      );
    case "ENOENT":
    case "ENODEV":
      return new VdevError(
        `${ctx.object} is not running: see 'vdevctl mdev list'`,
        { cause: err },
      );
  }
  return genericError(err, ctx);
}

/** Translates an error from writing a device attribute. */
export function attrError(err: unknown, ctx: FailureContext): VdevError {
  if (errnoCode(err) === "EINVAL") {
    return new VdevError(
      `${ctx.object}: the kernel rejected ${ctx.action} (EINVAL); the device was removed again: fix the value with 'vdevctl mdev modify'`,
      { cause: err },
    );
  }
  return genericError(err, ctx);
}

/** Any other failure: the errno name and the system's message. */
export function genericError(err: unknown, ctx: FailureContext): VdevError {
  if (isPermissionError(err)) return notRootError(ctx.path, err);
  const code = errnoCode(err);
  const what = code ? `${code}: ` : "";
  return new VdevError(
    `${ctx.object}: ${ctx.action} failed (${what}${firstLine(messageOf(err))})`,
    { cause: err },
  );
}

/** The first line of `text` (user errors are one line). */
export function firstLine(text: string): string {
  const i = text.indexOf("\n");
  return i < 0 ? text : text.slice(0, i);
}
