/**
 * Shell completion for bash, zsh and fish through `@bomb.sh/tab`: the
 * command tree comes from commander, the live values (parents, types, UUIDs,
 * device names) from {@linkcode ValueSource}s keyed by command path and option
 * or argument.
 *
 * @module
 */

import type { CommandUnknownOpts } from "commander";
import t, { script } from "@bomb.sh/tab";
import tab from "@bomb.sh/tab/commander";

/** The shells a completion script can be generated for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** One of {@linkcode SHELLS}. */
export type Shell = typeof SHELLS[number];

/** A completion candidate: value and a short description. */
export type Candidate = readonly [value: string, description: string];

/**
 * Produces live candidates. `words` are the words typed so far (after the
 * program name), so a source can look at earlier options such as `-p`.
 */
export type ValueSource = (words: readonly string[]) => Candidate[];

/**
 * Where live values go: `"mdev start --parent"` for an option (long name),
 * `"vduse destroy <name>"` for a positional argument.
 */
export type ValueSources = Record<string, ValueSource>;

/** Prints the completion script for `shell`; the script calls `executable complete -- WORDS`. */
export function printCompletionScript(
  shell: Shell,
  options: { name?: string; executable?: string } = {},
): void {
  const name = options.name ?? "vdevctl";
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    script(shell, name, options.executable ?? name);
  } finally {
    console.log = log;
  }
  console.log(fixScript(shell, lines.join("\n")));
}

/**
 * Values with colons (PCI parents such as `0000:00:02.0`) must complete
 * whole. tab's zsh script escapes `:` with `\:`, which zsh turns back into a
 * bare `:` (the `_describe` separator); its bash script leaves the part
 * before the cursor's last `:` (a COMP_WORDBREAKS character) in every reply.
 */
function fixScript(shell: Shell, text: string): string {
  if (shell === "zsh") {
    return replaceOnce(text, "comp=${comp//:/\\:}", "comp=${comp//:/\\\\:}");
  }
  if (shell === "bash") {
    const reply = 'COMPREPLY=( $(compgen -W "${completions[*]}" -- "$cur") )';
    return replaceOnce(
      text,
      reply,
      `${reply}\n    if declare -F __ltrim_colon_completions >/dev/null; then\n        __ltrim_colon_completions "$cur"\n    fi`,
    );
  }
  return text;
}

function replaceOnce(text: string, from: string, to: string): string {
  if (!text.includes(from)) {
    throw new Error(`completion script changed upstream: no "${from}"`);
  }
  return text.replace(from, () => to);
}

/**
 * Prints the candidates for `words` (the words after the program name, the
 * last one being the word under the cursor) to stdout, in tab's protocol.
 */
export function printCompletions(
  program: CommandUnknownOpts,
  options: { words: readonly string[]; sources: ValueSources },
): void {
  tab(program as unknown as Parameters<typeof tab>[0]);
  // tab adds its own `complete` command; vdevctl's is `completion` (and the
  // hidden `complete` that main.ts routes here): offer neither twice.
  t.commands.delete("complete");
  for (const [key, source] of Object.entries(options.sources)) {
    const m = /^(.*) (--[\w-]+|<[\w-]+>)$/.exec(key);
    if (!m) throw new Error(`bad completion key: ${key}`);
    const cmd = t.commands.get(m[1]);
    if (!cmd) continue;
    const handler = (complete: (v: string, d: string) => void) => {
      let found: Candidate[] = [];
      try {
        found = source(options.words);
      } catch {
        // Completion must never fail loudly: offer nothing.
      }
      for (const [value, description] of found) complete(value, description);
    };
    if (m[2].startsWith("--")) {
      const opt = cmd.options.get(m[2].slice(2));
      if (opt) opt.handler = handler;
    } else {
      const arg = cmd.arguments.get(m[2].slice(1, -1));
      if (arg) arg.handler = handler;
    }
  }
  t.parse([...options.words]);
}

/** The value of option `short`/`long` among `words` (last one wins). */
export function optionValue(
  words: readonly string[],
  names: { short?: string; long: string },
): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (
      (w === names.long || (names.short && w === names.short)) &&
      i + 1 < words.length
    ) {
      value = words[i + 1];
    } else if (w.startsWith(`${names.long}=`)) {
      value = w.slice(names.long.length + 1);
    }
  }
  return value;
}
