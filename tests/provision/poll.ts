/**
 * Waiting on a condition in provisioning tests (never a fixed sleep).
 *
 * @module
 */

/** Polls `fn` until true (60 s at most). */
export async function waitFor(fn: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 60_000;
  while (!fn()) {
    if (Date.now() > until) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The text of `path`, "" when it cannot be read. */
export function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}
