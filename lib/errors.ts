/**
 * User-facing errors. Every failure the user can cause or fix is a
 * {@linkcode VdevError}: `main.ts` prints its one-line message and exits with
 * its status, never a stack trace.
 *
 * @module
 */

import { ERRNO } from "./errno.ts";

/** Options for {@linkcode VdevError}. */
export interface VdevErrorOptions {
  /** Process exit status (default 1). */
  exitCode?: number;
  /** The underlying error, kept for `VDEVCTL_DEBUG=1`. */
  cause?: unknown;
  /**
   * Printed as it is instead of `vdevctl: MESSAGE` (a peer tool's exact
   * words, for the commands that reproduce them byte for byte).
   */
  stderr?: string;
}

/** An error whose message is fit to show to the user as one line. */
export class VdevError extends Error {
  /** Process exit status. */
  readonly exitCode: number;
  /** What to print instead of the message, when set (see the options). */
  readonly stderr?: string;

  /** Creates an error; `message` names the object and what to do. */
  constructor(message: string, options: VdevErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "VdevError";
    this.exitCode = options.exitCode ?? 1;
    this.stderr = options.stderr;
  }
}

/**
 * The errno name ("EEXIST", "ENOSPC", ...) of an error thrown by Deno's file
 * APIs or by the FFI layer, or undefined. Deno maps errnos to several error
 * classes, so always match on this code, never on the class. Some errnos
 * (EUSERS, from the mdev core) reach JavaScript without a `code`: their
 * "(os error N)" number is looked up instead. For a {@linkcode VdevError}
 * it is the code of its cause, never a number its message happens to quote.
 */
export function errnoCode(err: unknown): string | undefined {
  // Our own message may quote a system error's text: only its cause counts.
  if (err instanceof VdevError) {
    return err.cause === undefined ? undefined : errnoCode(err.cause);
  }
  if (err !== null && typeof err === "object" && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === "string" && /^E[A-Z0-9]+$/.test(code)) return code;
  }
  const m = /\(os error (\d+)\)/.exec(messageOf(err));
  return m ? ERRNO.get(Number(m[1]))?.[0] : undefined;
}

/** The message of any thrown value, as text. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
