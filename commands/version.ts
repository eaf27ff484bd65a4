/**
 * `-V`/`--version` on every command of the tree, with the lines of
 * `lib/version.ts`. The flag names the command it is given to
 * (`vdevctl mdev list -V` prints `mdevctl-list 1.2.0`), so it is looked for
 * before commander parses: commander lets a parent's options match anywhere
 * after it and would print the parent's line. `vdevctl vdpa` takes the flag
 * as iproute2's getopt_long does (lib/vdpa/getopt.ts): `-V`, `-jV`,
 * `-Version`, `--V` ... `--Version`, unless an option it refuses comes
 * first.
 *
 * @module
 */

import type { CommandUnknownOpts } from "commander";
import { versionText } from "../lib/version.ts";
import { out } from "./context.ts";
import { compatFrom } from "./mdev_fast.ts";
import { MDEVCTL_VERSIONS } from "../lib/mdev/mod.ts";
import { iproute2Version, vdpaGetopt } from "../lib/vdpa/mod.ts";

/** Adds `-V, --version` to the help of `cmd` and of every command below it. */
export function addVersionOptions(cmd: CommandUnknownOpts): void {
  if (!cmd.options.some((o) => o.long === "--version" || o.short === "-V")) {
    cmd.option("-V, --version", "print the version and exit");
  }
  for (const sub of cmd.commands) addVersionOptions(sub);
}

/**
 * The command path that `args` ask the version of (`[]` for `vdevctl -V`,
 * `["mdev", "list"]` for `vdevctl mdev list --version`), or undefined when
 * they do not ask for it. Arguments after `--` are never flags.
 */
export function versionPath(
  program: CommandUnknownOpts,
  args: readonly string[],
): string[] | undefined {
  let cmd = program;
  const path: string[] = [];
  for (const [i, a] of args.entries()) {
    if (a === "--") return undefined;
    if (a === "-V" || a === "--version") return path;
    if (a.startsWith("-")) continue;
    const sub = cmd.commands.find((c) =>
      c.name() === a || c.aliases().includes(a)
    );
    if (sub) {
      cmd = sub;
      path.push(sub.name());
      if (path[0] === "vdpa") {
        // iproute2's getopt_long: -jV, -Vx, --V ... --Version, left to right.
        const g = vdpaGetopt(args.slice(i + 1));
        return g.ok && g.options.version ? path : undefined;
      }
    }
  }
  return undefined;
}

/** The value of `--NAME V` or `--NAME=V` in `args` (before `--`). */
function optionIn(args: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length && args[i] !== "--"; i++) {
    if (args[i] === name) value = args[i + 1];
    else if (args[i].startsWith(`${name}=`)) {
      value = args[i].slice(name.length + 1);
    }
  }
  return value;
}

/**
 * Prints the version line when `args` ask for it; true when they did. The
 * peer lines follow the releases chosen for the run: `mdev --compat` or
 * VDEVCTL_MDEVCTL_COMPAT, `vdpa --iproute2` or VDEVCTL_IPROUTE2_COMPAT, and
 * `--no-iproute2-compat`.
 */
export function printVersion(
  program: CommandUnknownOpts,
  args: readonly string[],
): boolean {
  const path = versionPath(program, args);
  if (path === undefined) return false;
  const mdevctl = MDEVCTL_VERSIONS[compatFrom(optionIn(args, "--compat"))];
  const iproute2 = `${
    iproute2Version(
      optionIn(args, "--iproute2"),
      Deno.env.get("VDEVCTL_IPROUTE2_COMPAT"),
    )
  }.0`;
  const iproute2Compat = !args.includes("--no-iproute2-compat");
  out(`${versionText(path, { mdevctl, iproute2, iproute2Compat })}\n`);
  return true;
}
