/**
 * The hot read-only mdev commands without commander: `mdev list` and
 * `mdev types` with plain options are parsed here (commander's import costs
 * ~25 ms, more than the rest of a 10-device `list`). Anything else (help,
 * errors, unknown or combined flags) returns `undefined` and goes through
 * the commander tree in commands/mdev.ts, which runs the same actions.
 * The launcher starts `mdev list` and `mdev types` here ({@linkcode
 * fastEntry}): main.ts's own start-up is then skipped as well.
 *
 * @module
 */

import {
  addListedAttributes,
  Callouts,
  listActive,
  listDefined,
  listJson,
  listText,
  listTypes,
  MDEV_MISSING,
  type MdevctlCompat,
  type MdevListing,
  type MdevSysfs,
  openMdev,
  parseCompat,
  parseMdevUuid,
  typesJson,
  typesText,
} from "../lib/mdev/mod.ts";
import {
  personalityOf,
  personalize,
  setPersonality,
} from "../lib/personality.ts";
import { resolveRoot, type SysRoot } from "../lib/root.ts";
import { failWith, warn, write } from "./context.ts";
import { exitStatusOf, fastMdevArgs } from "./entry.ts";

/** Options of `mdev list`. */
export interface ListOptions {
  /** -d. */
  defined?: boolean;
  /** --dumpjson. */
  dumpjson?: boolean;
  /** --json: the same as --dumpjson. */
  json?: boolean;
  /** -v. */
  verbose?: boolean;
  /** -u (canonical). */
  uuid?: string;
  /** -p. */
  parent?: string;
  /** Whose output: mdevctl 1.2's (default) or 1.4's. */
  compat?: MdevctlCompat;
}

/**
 * The mdevctl release to imitate: `option` (`mdev --compat V`) if given,
 * else `$VDEVCTL_MDEVCTL_COMPAT`, else 1.2.
 */
export function compatFrom(option?: string): MdevctlCompat {
  return option !== undefined ? parseCompat(option, "--compat") : parseCompat(
    Deno.env.get("VDEVCTL_MDEVCTL_COMPAT"),
    "VDEVCTL_MDEVCTL_COMPAT",
  );
}

/**
 * The callouts of `root`, with the protocol of `VDEVCTL_MDEVCTL_COMPAT`
 * (1.2 or 1.4) and the time limit `VDEVCTL_CALLOUT_TIMEOUT` (seconds);
 * scripts' stderr goes to stderr.
 */
export function calloutsOf(
  root: SysRoot,
  options: { compat?: MdevctlCompat } = {},
): Callouts {
  const secs = Number(Deno.env.get("VDEVCTL_CALLOUT_TIMEOUT") ?? "60");
  return new Callouts(root, {
    version: options.compat ?? compatFrom(),
    timeoutMs: Number.isFinite(secs) && secs > 0 ? secs * 1000 : 60_000,
    report: (text) => write(Deno.stderr, text),
  });
}

/**
 * On a host without mdev, `list` and `types` print what mdevctl prints
 * (nothing, exit 0: scripts and libvirt rely on it), and tell a person at a
 * terminal what `vdevctl doctor` tells: the same line, on stderr only when
 * stderr is a terminal.
 */
export function hintIfMissing(
  sysfs: MdevSysfs,
  options: { terminal?: boolean } = {},
): boolean {
  const terminal = options.terminal ?? Deno.stderr.isTerminal();
  if (!terminal || sysfs.present()) return false;
  write(Deno.stderr, personalize(`vdevctl: ${MDEV_MISSING}\n`));
  return true;
}

/** `mdev list`: prints the listing, warnings, then fails on bad files. */
export async function listAction(
  root: SysRoot,
  opts: ListOptions,
): Promise<void> {
  const ctx = openMdev(root);
  hintIfMissing(ctx.sysfs);
  const filter = { uuid: opts.uuid, parent: opts.parent, compat: opts.compat };
  const listing: MdevListing = opts.defined
    ? listDefined(ctx, filter)
    : listActive(ctx, filter);
  if (!opts.defined) {
    await addListedAttributes(
      listing,
      calloutsOf(root, { compat: opts.compat }),
    );
  }
  write(
    Deno.stdout,
    opts.dumpjson || opts.json
      ? listJson(listing, { uuid: opts.uuid, compat: opts.compat })
      : listText(listing, {
        defined: opts.defined === true,
        verbose: opts.verbose === true,
        compat: opts.compat,
      }),
  );
  warn(listing.warnings);
  failWith(listing.problems);
}

/** `mdev types`. */
export function typesAction(
  root: SysRoot,
  opts: {
    parent?: string;
    dumpjson?: boolean;
    json?: boolean;
    compat?: MdevctlCompat;
  },
): void {
  const ctx = openMdev(root);
  hintIfMissing(ctx.sysfs);
  const types = listTypes(ctx, opts.parent);
  const how = { compat: opts.compat };
  write(
    Deno.stdout,
    opts.dumpjson || opts.json ? typesJson(types, how) : typesText(types, how),
  );
}

const LONG: Record<string, string> = {
  "-p": "--parent",
  "-u": "--uuid",
  "-d": "--defined",
  "-v": "--verbose",
};

/**
 * Runs `mdev list|types OPTIONS` (`args` start at the subcommand; `main.ts`
 * has found the family word and the `--root` before it) if every argument
 * is a plain option of that command; returns the exit status, or undefined
 * to let commander handle the arguments.
 */
export function fastMdev(
  args: readonly string[],
  options: { root?: string } = {},
): Promise<number> | undefined {
  const sub = args[0];
  if (sub !== "list" && sub !== "types") return undefined;
  const opts: ListOptions = {};
  const value = (j: number): string | undefined => {
    const v = args[j];
    return v === undefined || v.startsWith("-") ? undefined : v;
  };
  const seen = new Set<string>();
  for (let j = 1; j < args.length; j++) {
    const a = args[j];
    const eq = a.startsWith("--") || /^-[pu]=/.test(a) ? a.indexOf("=") : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    // A repeated option is a usage error: commander's path reports it.
    const key = LONG[name] ?? name;
    if (seen.has(key)) return undefined;
    seen.add(key);
    let v: string | undefined;
    if (
      name === "-p" || name === "--parent" || name === "-u" || name === "--uuid"
    ) {
      if (eq > 0) v = a.slice(eq + 1);
      else if ((v = value(j + 1)) !== undefined) j++;
      if (v === undefined) return undefined;
    } else if (eq > 0) {
      return undefined;
    }
    switch (name) {
      case "--dumpjson":
      case "--json":
        opts.dumpjson = true;
        break;
      case "-p":
      case "--parent":
        opts.parent = v;
        break;
      case "-d":
      case "--defined":
        if (sub !== "list") return undefined;
        opts.defined = true;
        break;
      case "-v":
      case "--verbose":
        if (sub !== "list") return undefined;
        opts.verbose = true;
        break;
      case "-u":
      case "--uuid": {
        if (sub !== "list") return undefined;
        const uuid = parseMdevUuid(v as string);
        if (uuid === undefined) return undefined;
        opts.uuid = uuid;
        break;
      }
      default:
        return undefined;
    }
  }
  const root = resolveRoot(options.root);
  opts.compat = compatFrom();
  if (sub === "list") return listAction(root, opts).then(() => 0);
  typesAction(root, opts);
  return Promise.resolve(0);
}

/**
 * The entry for `mdev list|types` command lines (the launcher starts this
 * module for them): runs them here when {@linkcode fastMdev} parses them,
 * else hands the same arguments to main.ts's `main`. `argv0` is the name the
 * launcher was started under (personalities: `mdevctl list`, `lsmdev`).
 */
export async function fastEntry(
  args: string[],
  options: { argv0?: string } = {},
): Promise<number> {
  const personality = personalityOf(options.argv0);
  setPersonality(personality);
  const full = personality ? [...personality.prefix, ...args] : args;
  const fast = fastMdevArgs(full);
  if (fast !== undefined) {
    try {
      const code = await fastMdev(fast.args, { root: fast.root });
      if (code !== undefined) return code;
    } catch (err) {
      return await exitStatusOf(err);
    }
  }
  // A computed specifier: main.ts is read only when it is needed.
  const { main } = await import(
    new URL("../main.ts", import.meta.url).href
  ) as typeof import("../main.ts");
  return await main(args, { argv0: options.argv0, fastTried: true });
}

if (import.meta.main) {
  const argv0 = Deno.env.get("VDEVCTL_ARGV0");
  // Not passed on to the programs vdevctl runs.
  Deno.env.delete("VDEVCTL_ARGV0");
  // No top-level await: commands/mdev.ts imports this module when the
  // arguments go on to main.ts, and an import of a module still awaiting
  // at its top level would never finish.
  fastEntry(Deno.args, { argv0 }).then((code) => Deno.exitCode = code);
}
