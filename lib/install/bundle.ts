/**
 * The installed copy's bundled entries: `mdev list` and `mdev types` (which
 * scripts and libvirt run often, through the `mdevctl` personality too)
 * each start from one JavaScript file instead of about twenty TypeScript
 * modules (each a transpile-cache and code-cache lookup at start-up). They
 * are made by esbuild (the checkout's npm devDependency) from the same
 * sources as the copy, at install time only: a checkout always runs its
 * sources, so that an edit is never hidden behind a stale bundle. The
 * launcher uses a bundle when it is there; what the fast path does not
 * parse goes on to the copy's main.ts (a path relative to the bundle, which
 * sits where its entry module does).
 *
 * @module
 */

import { VdevError } from "../errors.ts";

/** One commander-free entry of the launcher and its bundle in the copy. */
export interface FastEntry {
  /** The entry module, relative to the checkout and to the copy. */
  entry: string;
  /**
   * The bundle's path in the installed copy; the launcher (`vdevctl`) names
   * it too. Beside its entry, so that the entry's module-relative paths
   * mean the same.
   */
  bundle: string;
}

/**
 * The bundled entries: `mdev list` (with `types`, which it also runs when
 * main.ts hands it on) and `mdev types` alone, which leaves the store and
 * the callouts out and so loads the least.
 */
export const FAST_ENTRIES: readonly FastEntry[] = [
  {
    entry: "commands/mdev_fast.ts",
    bundle: "commands/mdev_fast.bundle.js",
  },
  {
    entry: "commands/mdev_types_fast.ts",
    bundle: "commands/mdev_types_fast.bundle.js",
  },
];

/**
 * Bundles the entry module `entry` (one of {@linkcode FAST_ENTRIES}) of the
 * checkout at `source` into one ES module (commander, imported only on the
 * way to main.ts, stays an import that the copy's deno.json resolves), its
 * functions compiled with it ({@linkcode eagerFunctions}). Throws a {@linkcode VdevError} naming the fix when esbuild is missing or
 * fails.
 */
export async function fastEntryBundle(
  source: string,
  entry: string,
): Promise<Uint8Array> {
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
      `${source}/${entry}`,
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
      `bundling ${entry} with esbuild failed: ${
        why || `exit status ${out.code}`
      }`,
    );
  }
  return new TextEncoder().encode(
    eagerFunctions(new TextDecoder().decode(out.stdout)),
  );
}

/** A top-level function declaration as esbuild prints it. */
const DECLARATION = /^(?:async )?function\*? ([A-Za-z_$][\w$]*)\(/;

/**
 * `js` (an esbuild bundle) with each top-level function declaration turned
 * into a parenthesized function expression assigned to its name, all of
 * them moved to the top: the same bindings, defined before any other code
 * runs, as declarations are. V8 compiles a parenthesized function with its
 * script instead of at its first call, so the code cache that Deno keeps
 * for the bundle then holds their bytecode too: a start-up compiles 40-odd
 * fewer functions (about 1 ms of a 24 ms `mdev types`). A declaration ends
 * at the first line that is only `}` (esbuild's layout); one whose text in
 * between has unbalanced braces is left as it is.
 */
export function eagerFunctions(js: string): string {
  const lines = js.split("\n");
  const hoisted: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = DECLARATION.exec(lines[i]);
    const end = m === null ? -1 : lines.indexOf("}", i);
    if (m === null || end < 0) {
      rest.push(lines[i]);
      continue;
    }
    const text = lines.slice(i, end + 1).join("\n");
    if (count(text, "{") !== count(text, "}")) {
      rest.push(lines[i]);
      continue;
    }
    hoisted.push(`var ${m[1]} = (${text});`);
    i = end;
  }
  return [...hoisted, ...rest].join("\n");
}

function count(text: string, ch: string): number {
  let n = 0;
  for (let i = text.indexOf(ch); i >= 0; i = text.indexOf(ch, i + 1)) n++;
  return n;
}
