/**
 * vdevctl entry point: builds the command tree, loading only the command
 * family that the arguments name, and turns every error into one line on
 * stderr with a non-zero exit status.
 *
 * @module
 */

import type { Command, CommandUnknownOpts } from "commander";
import { VdevError } from "./lib/errors.ts";
import {
  personalityOf,
  personalize,
  programName,
  setPersonality,
} from "./lib/personality.ts";
import { exitStatusOf, familyWord, fastMdevArgs } from "./commands/entry.ts";

/** What every `commands/NAME.ts` exports. */
interface CommandModule {
  /** `name`: the family word, for a module that provides several. */
  command: (name: string) => CommandUnknownOpts;
  /**
   * For a family with its own keyword syntax (vdpa): the help of the words
   * after the family, or undefined when they name no command.
   */
  keywordHelp?: (words: readonly string[]) => string | undefined;
}

/** A top-level command family, loaded on demand to keep start-up fast. */
interface Family {
  summary: string;
  load: () => Promise<CommandModule>;
}

/**
 * Imports one of vdevctl's own modules by a computed specifier. With a
 * literal `import("./x.ts")` Deno reads (and checks the cache of) `x.ts` and
 * everything it imports at every start-up, whether or not the branch runs:
 * the whole program, for `mdev list`. The type comes from the caller.
 */
function lazy<T>(path: string): Promise<T> {
  return import(new URL(path, import.meta.url).href) as Promise<T>;
}

const families: Record<string, Family> = {
  mdev: {
    summary: "mediated devices (a drop-in mdevctl)",
    load: () => lazy<CommandModule>("./commands/mdev.ts"),
  },
  vdpa: {
    summary: "vDPA management devices and devices (as iproute2's vdpa)",
    load: () => lazy<CommandModule>("./commands/vdpa.ts"),
  },
  vduse: {
    summary: "VDUSE devices in /dev/vduse",
    load: () => lazy<CommandModule>("./commands/vduse.ts"),
  },
  mvnet: {
    summary: "user-space virtio-net loopback device over VDUSE",
    load: () => lazy<CommandModule>("./commands/mvnet.ts"),
  },
  sandbox: {
    summary: "throwaway real-kernel (Linux 6.12) sandbox in QEMU",
    load: () => lazy<CommandModule>("./commands/sandbox.ts"),
  },
  apply: {
    summary: "make the host match a device manifest",
    load: () => lazy<CommandModule>("./commands/provision.ts"),
  },
  diff: {
    summary: "print what apply would change",
    load: () => lazy<CommandModule>("./commands/provision.ts"),
  },
  export: {
    summary: "print the host's devices as a manifest",
    load: () => lazy<CommandModule>("./commands/provision.ts"),
  },
  assert: {
    summary: "check that the host matches a manifest",
    load: () => lazy<CommandModule>("./commands/provision.ts"),
  },
  doctor: {
    summary: "what this host needs for each family, and how to get it",
    load: () => lazy<CommandModule>("./commands/doctor.ts"),
  },
  completion: {
    summary: "shell completion scripts for bash, zsh and fish",
    load: () => lazy<CommandModule>("./commands/completion.ts"),
  },
};

/** Builds the program with the families needed for `args`. */
export async function buildProgram(args: string[]): Promise<Command> {
  // commander is imported on demand: the mdev fast path never loads it.
  const commander = await import("commander");
  const program = new commander.Command("vdevctl")
    .description(
      "Linux virtual devices: mdev, vDPA, VDUSE, and a virtio-net loopback",
    )
    .option(
      "--root <DIR>",
      "resolve every system path under DIR (default: $VDEVCTL_ROOT or /)",
    )
    .exitOverride();
  const wanted = familyWord(args).family;
  const names = wanted !== undefined && wanted in families
    ? [wanted]
    : Object.keys(families);
  for (const name of names) {
    const mod = await families[name].load();
    const cmd = mod.command(name);
    if (!cmd.description()) cmd.description(families[name].summary);
    program.addCommand(cmd);
  }
  const { addVersionOptions } = await lazy<
    typeof import("./commands/version.ts")
  >("./commands/version.ts");
  addVersionOptions(program);
  configureTree(program);
  return program;
}

/**
 * `vdevctl help WORDS...`: the help of the command the words name, however
 * deep (`help mdev list`, `help sandbox run`), and for vdpa's keyword syntax
 * (`help vdpa dev add`). Words that name no command are a usage error
 * (exit status 2) that says where the commands are listed.
 */
export async function helpFor(words: readonly string[]): Promise<number> {
  const program = await buildProgram([...words]);
  let cmd: CommandUnknownOpts = program;
  for (let i = 0; i < words.length; i++) {
    const sub = cmd.commands.find((c) =>
      c.name() === words[i] || c.aliases().includes(words[i])
    );
    if (sub !== undefined && sub.name() !== "help") {
      cmd = sub;
      continue;
    }
    const family = i > 0 && cmd.commands.length === 0
      ? await families[words[0]]?.load()
      : undefined;
    const text = family?.keywordHelp?.(words.slice(1));
    if (text === undefined) {
      const known = words.slice(0, i).join(" ");
      throw new VdevError(
        `help: no command '${words.join(" ")}': see 'vdevctl help${
          known ? ` ${known}` : ""
        }' for the commands`,
        { exitCode: 2 },
      );
    }
    writeAll(Deno.stdout, personalize(text));
    return 0;
  }
  cmd.outputHelp();
  return 0;
}

/**
 * Defaults are shown as they are typed, `(default: 1000)`, not as
 * commander's JSON `(default: "1000")`.
 */
function unquoteDefault(
  o: { defaultValue?: unknown; defaultValueDescription?: string },
): void {
  if (typeof o.defaultValue === "string" && o.defaultValue !== "") {
    o.defaultValueDescription ??= o.defaultValue;
  }
}

/**
 * Every command, however deep, reports usage errors the same way: one line
 * `vdevctl: ...` on stderr and a CommanderError (exit status 2) instead of
 * commander's own `process.exit`, and shows its defaults unquoted.
 * `addCommand` does not pass these settings down, so they are applied to the
 * whole tree.
 */
function configureTree(cmd: CommandUnknownOpts): void {
  for (const opt of cmd.options) unquoteDefault(opt);
  for (const arg of cmd.registeredArguments) unquoteDefault(arg);
  cmd.exitOverride().configureOutput({
    writeOut: (s) => writeAll(Deno.stdout, personalize(s)),
    writeErr: (s) => writeAll(Deno.stderr, personalize(s)),
    outputError: (s, write) =>
      write(`${programName()}: ${s.replace(/^error: /, "")}`),
  });
  for (const sub of cmd.commands) configureTree(sub);
}

function writeAll(fd: typeof Deno.stdout, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) off += fd.writeSync(bytes.subarray(off));
}

/**
 * Runs vdevctl with `args` and returns the exit status. `argv0` is the name
 * it was started under (the launcher passes it in `VDEVCTL_ARGV0`): as
 * `mdevctl`, `lsmdev` or `vdpa` it runs that personality. `fastTried`: the
 * caller (commands/mdev_fast.ts's entry) has already tried the
 * commander-free mdev listing on these arguments.
 */
export async function main(
  args: string[],
  options: { argv0?: string; fastTried?: boolean } = {},
): Promise<number> {
  const personality = personalityOf(options.argv0);
  setPersonality(personality);
  if (personality) args = [...personality.prefix, ...args];
  try {
    const word = familyWord(args);
    if (word.family === "complete" && word.onlyRoot && !personality) {
      // Called by the completion scripts on TAB: no commander, no command
      // modules, only the live values of the family being completed.
      const rest = args.slice(word.index + 1);
      const words = rest[0] === "--" ? rest.slice(1) : rest;
      const { complete } = await lazy<
        typeof import("./commands/complete.ts")
      >("./commands/complete.ts");
      await complete(words, { root: word.root });
      return 0;
    }
    if (word.family === "help") {
      return await helpFor(args.slice(word.index + 1));
    }
    const fast = options.fastTried ? undefined : fastMdevArgs(args);
    if (fast !== undefined) {
      // Plain `mdev list` / `mdev types` run without commander (start-up time).
      const { fastMdev } = await lazy<
        typeof import("./commands/mdev_fast.ts")
      >("./commands/mdev_fast.ts");
      const code = await fastMdev(fast.args, { root: fast.root });
      if (code !== undefined) return code;
    }
    const program = await buildProgram(args);
    const { printVersion } = await lazy<
      typeof import("./commands/version.ts")
    >("./commands/version.ts");
    if (printVersion(program, args)) return 0;
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    return await exitStatusOf(err);
  }
}

if (import.meta.main) {
  const argv0 = Deno.env.get("VDEVCTL_ARGV0");
  // Not passed on to the programs vdevctl runs.
  Deno.env.delete("VDEVCTL_ARGV0");
  Deno.exitCode = await main(Deno.args, { argv0 });
}
