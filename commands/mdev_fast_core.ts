/**
 * What both commander-free mdev entries share (commands/mdev_fast.ts for
 * `mdev list` and `mdev types`, commands/mdev_types_fast.ts for `types`
 * alone): the parser of their plain options, the `types` action, and the
 * entry that hands anything it does not run on to main.ts. Nothing here
 * names the definitions store or the callouts, so that the installed
 * copy's `types` bundle leaves them out (lib/install/bundle.ts).
 *
 * @module
 */

import {
  listTypes,
  MDEV_MISSING,
  type MdevctlCompat,
  MdevSysfs,
  openMdevSysfs,
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
import { write } from "./context.ts";
import { exitStatusOf, fastMdevArgs } from "./entry.ts";

/** Options of `mdev list` (and the subset `mdev types` takes). */
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
  const sysfs = new MdevSysfs(root);
  const types = listTypes({ sysfs }, opts.parent);
  // A root that does not exist lists no parent; only then is it checked
  // (a first stat costs a Deno process about 0.5 ms).
  if (types.size === 0) openMdevSysfs(root);
  hintIfMissing(sysfs);
  const how = { compat: opts.compat };
  write(
    Deno.stdout,
    opts.dumpjson || opts.json ? typesJson(types, how) : typesText(types, how),
  );
}

/** A `mdev list|types` command line that the fast entries run themselves. */
export interface FastCommand {
  /** The subcommand. */
  sub: "list" | "types";
  /** Its options. */
  opts: ListOptions;
}

const LONG: Record<string, string> = {
  "-p": "--parent",
  "-u": "--uuid",
  "-d": "--defined",
  "-v": "--verbose",
};

/**
 * Parses `mdev list|types OPTIONS` (`args` start at the subcommand) when
 * every argument is a plain option of that command; undefined lets
 * commander handle the arguments (help, errors, unknown or repeated flags).
 */
export function parseFastMdev(
  args: readonly string[],
): FastCommand | undefined {
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
  return { sub, opts };
}

/**
 * Runs a parsed command in `root` and returns its exit status, or
 * undefined when this entry does not run that subcommand.
 */
export type FastRunner = (
  command: FastCommand,
  root: SysRoot,
) => Promise<number> | undefined;

/**
 * Runs `mdev list|types OPTIONS` (`args` start at the subcommand; the
 * family word and the `--root` before it already found) through `run`
 * when {@linkcode parseFastMdev} parses them; returns the exit status, or
 * undefined to let commander handle the arguments.
 */
export function runFastMdev(
  args: readonly string[],
  options: { root?: string; run: FastRunner },
): Promise<number> | undefined {
  const command = parseFastMdev(args);
  if (command === undefined) return undefined;
  const root = resolveRoot(options.root);
  command.opts.compat = compatFrom();
  return options.run(command, root);
}

/** Runs `mdev types`: the runner of commands/mdev_types_fast.ts. */
export const typesRunner: FastRunner = (command, root) => {
  if (command.sub !== "types") return undefined;
  typesAction(root, command.opts);
  return Promise.resolve(0);
};

/**
 * The body of a fast entry: runs the command line (started as `argv0`:
 * personalities such as `mdevctl list` and `lsmdev`) through `run` when it
 * parses it, else hands the same arguments to main.ts's `main`.
 */
export async function fastEntryWith(
  args: string[],
  options: { argv0?: string; run: FastRunner },
): Promise<number> {
  const personality = personalityOf(options.argv0);
  setPersonality(personality);
  const full = personality ? [...personality.prefix, ...args] : args;
  const fast = fastMdevArgs(full);
  if (fast !== undefined) {
    try {
      const code = runFastMdev(fast.args, {
        root: fast.root,
        run: options.run,
      });
      if (code !== undefined) return await code;
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
