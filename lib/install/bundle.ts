/**
 * The installed copy's bundled entry: `mdev list` and `mdev types` (which
 * scripts and libvirt run often, through the `mdevctl` personality too)
 * start from one JavaScript file instead of about twenty TypeScript modules
 * (each a transpile-cache and code-cache lookup at start-up). It is made by
 * esbuild (the checkout's npm devDependency) from the same sources as the
 * copy, at install time only: a checkout always runs its sources, so that
 * an edit is never hidden behind a stale bundle. The launcher uses the
 * bundle when it is there; what the fast path does not parse goes on to the
 * copy's main.ts (a path relative to the bundle, which sits where its entry
 * module does).
 *
 * @module
 */

import { VdevError } from "../errors.ts";

/** The fast entry's module, relative to the checkout and to the copy. */
export const FAST_ENTRY = "commands/mdev_fast.ts";

/**
 * The bundle's path in the installed copy; the launcher (`vdevctl`) names
 * it too. Beside {@linkcode FAST_ENTRY}, so that the entry's module-relative
 * paths mean the same.
 */
export const FAST_BUNDLE = "commands/mdev_fast.bundle.js";

/**
 * Bundles {@linkcode FAST_ENTRY} of the checkout at `source` into one ES
 * module (commander, imported only on the way to main.ts, stays an import
 * that the copy's deno.json resolves). Throws a {@linkcode VdevError} naming
 * the fix when esbuild is missing or fails.
 */
export async function fastEntryBundle(source: string): Promise<Uint8Array> {
  const esbuild = `${source}/node_modules/.bin/esbuild`;
  try {
    Deno.statSync(esbuild);
  } catch {
    throw new VdevError(
      `esbuild is not installed in ${source}: run 'npm ci' there first`,
    );
  }
  const out = await new Deno.Command(esbuild, {
    args: [
      `${source}/${FAST_ENTRY}`,
      "--bundle",
      "--format=esm",
      "--platform=neutral",
      "--target=esnext",
      "--external:commander",
      "--log-level=error",
      "--charset=utf8",
    ],
    cwd: source,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success || out.stdout.length === 0) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    throw new VdevError(
      `bundling ${FAST_ENTRY} with esbuild failed: ${
        why || `exit status ${out.code}`
      }`,
    );
  }
  return out.stdout;
}
