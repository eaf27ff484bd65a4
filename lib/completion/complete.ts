/**
 * The answer to `vdevctl complete -- WORDS...`: walks the command tree
 * (`tree.ts`, data derived from the commander tree)
 * along the words typed so far (the last one is the word under the cursor)
 * and finds what may come next: subcommands, options not given yet, an
 * option's or argument's live values (whole, or the next item of a comma
 * list), or file or directory names (which the shell completes itself).
 *
 * The protocol (printed by {@linkcode formatCompletion}, read by the scripts
 * of `script.ts`): a first line `words`, `files` or `dirs`, then one
 * candidate per line, `VALUE<TAB>DESCRIPTION`. Candidates already match the
 * word under the cursor, so the scripts never filter, expand or evaluate
 * them; a value with a control character is never printed.
 *
 * @module
 */

import type { CommandNode, OptionNode } from "./tree.ts";

/** A completion candidate: value and a short description. */
export type Candidate = readonly [value: string, description: string];

/**
 * Produces live candidates. `words` are the words typed so far (after the
 * program name), so a source can look at earlier options such as `-p`.
 */
export type ValueSource = (words: readonly string[]) => Candidate[];

/**
 * Where live values go: `"mdev start --parent"` for an option (long name),
 * `"vduse destroy <NAME>"` for a positional argument.
 */
export type ValueSources = Record<string, ValueSource>;

/** How the shell completes the word: from the candidates, or file or directory names. */
export type CompletionKind = "words" | "files" | "dirs";

/** What `vdevctl complete` answers. */
export interface Completion {
  /** `words`: the candidates; `files`/`dirs`: the shell's own path completion. */
  kind: CompletionKind;
  /** The candidates (for `words`), matching the word under the cursor. */
  candidates: Candidate[];
}

/** What the completion of one command line needs besides its words. */
export interface CompleteOptions {
  /** Live values, by key (see {@linkcode ValueSources}). */
  sources: ValueSources;
  /** Keys whose value is a comma-separated list (`sandbox run --modules`). */
  commaLists?: ReadonlySet<string>;
  /**
   * Filled in with the keys of the live values looked up, found or not (so
   * a caller can tell whether the answer needs `sources` at all).
   */
  asked?: string[];
}

/** Value names that mean a directory or a file (`<dir>`, `<JSONFILE>`). */
const DIR_VALUE = /^<(?:dir|directory)>$/i;
const FILE_VALUE = /^<(?:\w*file|path|manifest)>$/i;

function pathKind(opt: OptionNode): CompletionKind | undefined {
  const value = opt.flags.split(/[ ,]+/).find((p) => p.startsWith("<"));
  if (value === undefined) return undefined;
  if (DIR_VALUE.test(value)) return "dirs";
  if (FILE_VALUE.test(value)) return "files";
  return undefined;
}

function takesValue(opt: OptionNode): boolean {
  return opt.value !== undefined;
}

/** The option `word` names (`-p`, `--parent`) on `chain`, innermost first. */
function findOption(
  chain: readonly CommandNode[],
  word: string,
): OptionNode | undefined {
  for (let i = chain.length - 1; i >= 0; i--) {
    const o = chain[i].options.find((o) => o.long === word || o.short === word);
    if (o) return o;
  }
  return undefined;
}

function subcommand(
  cmd: CommandNode,
  word: string,
): CommandNode | undefined {
  return cmd.commands.find((c) =>
    c.name === word || (c.aliases ?? []).includes(word)
  );
}

/** Where the walk along the typed words ended. */
interface Position {
  chain: CommandNode[];
  /** Options given so far (long names). */
  given: Set<string>;
  /** Positional arguments given to the innermost command. */
  positionals: number;
  /** The option whose value the cursor's word is. */
  valueOption?: OptionNode;
  /** After `--`: every word is an argument. */
  dashDash: boolean;
}

function walk(program: CommandNode, typed: readonly string[]): Position {
  const pos: Position = {
    chain: [program],
    given: new Set(),
    positionals: 0,
    dashDash: false,
  };
  for (let i = 0; i < typed.length; i++) {
    const w = typed[i];
    const cmd = pos.chain[pos.chain.length - 1];
    if (!pos.dashDash && w === "--") {
      pos.dashDash = true;
      continue;
    }
    if (!pos.dashDash && w.startsWith("-") && w.length > 1) {
      const eq = w.indexOf("=");
      const opt = findOption(pos.chain, eq > 0 ? w.slice(0, eq) : w);
      if (opt === undefined) continue;
      pos.given.add(opt.long ?? opt.short ?? w);
      if (eq < 0 && opt.value === "required") {
        if (i + 1 === typed.length) pos.valueOption = opt;
        i++;
      }
      continue;
    }
    const sub = pos.dashDash || pos.positionals > 0
      ? undefined
      : subcommand(cmd, w);
    if (sub) {
      pos.chain.push(sub);
      pos.positionals = 0;
    } else {
      pos.positionals++;
    }
  }
  return pos;
}

/** The command path of `chain` without the program (`"mdev start"`). */
function pathOf(chain: readonly CommandNode[]): string {
  return chain.slice(1).map((c) => c.name).join(" ");
}

function live(
  key: string,
  words: readonly string[],
  options: CompleteOptions,
): Candidate[] | undefined {
  options.asked?.push(key);
  const source = Object.hasOwn(options.sources, key)
    ? options.sources[key]
    : undefined;
  if (source === undefined) return undefined;
  try {
    return source(words);
  } catch {
    // Completion must never fail loudly: offer nothing.
    return [];
  }
}

/** Candidates for `prefix + item` of a comma list whose last item starts `cur`. */
function listItems(found: Candidate[], cur: string): Candidate[] {
  const cut = cur.lastIndexOf(",") + 1;
  const head = cur.slice(0, cut);
  const taken = new Set(head.split(",").filter((s) => s));
  return found
    .filter(([v]) => !taken.has(v))
    .map(([v, d]): Candidate => [head + v, d]);
}

function optionValues(
  pos: Position,
  opt: OptionNode,
  words: readonly string[],
  options: CompleteOptions,
): Completion {
  const kind = pathKind(opt);
  if (kind) return { kind, candidates: [] };
  const cur = words[words.length - 1];
  const key = `${pathOf(pos.chain)} ${opt.long}`.trim();
  let found = live(key, words, options) ??
    (opt.choices ?? []).map((c): Candidate => [c, ""]);
  if (options.commaLists?.has(key)) found = listItems(found, cur);
  return { kind: "words", candidates: found };
}

function optionNames(pos: Position, cur: string): Candidate[] {
  const cmd = pos.chain[pos.chain.length - 1];
  const opts = [...cmd.options];
  if (pos.chain.length > 1) {
    // The program's options (--root) go anywhere; --version is everyone's.
    const own = new Set(opts.map((o) => o.long));
    opts.push(...pos.chain[0].options.filter((o) => !own.has(o.long)));
  }
  const out: Candidate[] = [];
  for (const o of opts) {
    if (o.hidden) continue;
    const repeatable = o.variadic || /\brepeatable\b/.test(o.description);
    if (!repeatable && pos.given.has(o.long ?? o.short ?? "")) continue;
    if (o.long && o.long.startsWith(cur)) {
      out.push([o.long, o.description]);
    } else if (o.short && o.short === cur) {
      out.push([o.short, o.description]);
    }
  }
  if (!pos.given.has("--help") && "--help".startsWith(cur)) {
    out.push(["--help", "show help"]);
  }
  return out;
}

function argumentValues(
  pos: Position,
  words: readonly string[],
  options: CompleteOptions,
): Candidate[] {
  const cmd = pos.chain[pos.chain.length - 1];
  const out: Candidate[] = [];
  if (pos.positionals === 0 && !pos.dashDash) {
    for (const sub of cmd.commands) {
      if (sub.name !== "help") out.push([sub.name, sub.description]);
    }
  }
  const args = cmd.arguments;
  const arg = args[pos.positionals] ??
    (args[args.length - 1]?.variadic ? args[args.length - 1] : undefined);
  if (arg) {
    const key = `${pathOf(pos.chain)} <${arg.name}>`.trim();
    out.push(
      ...(live(key, words, options) ??
        (arg.choices ?? []).map((c): Candidate => [c, ""])),
    );
  }
  return out;
}

/**
 * The family (top-level command) of the line being completed, once its word
 * is typed in full: what `words` (the last one being typed) walk into, as
 * {@linkcode completeWords} walks them; undefined on the first word.
 */
export function completedFamily(
  program: CommandNode,
  words: readonly string[],
): string | undefined {
  return walk(program, words.slice(0, -1)).chain[1]?.name;
}

/**
 * What may come at the cursor of `words` (the words after the program name;
 * the last one is the word under the cursor, "" for a new word).
 */
export function completeWords(
  program: CommandNode,
  words: readonly string[],
  options: CompleteOptions,
): Completion {
  const all = words.length === 0 ? [""] : words;
  const cur = all[all.length - 1];
  const pos = walk(program, all.slice(0, -1));
  let result: Completion;
  if (pos.valueOption) {
    result = optionValues(pos, pos.valueOption, all, options);
  } else if (!pos.dashDash && /^--[^=]+=/.test(cur)) {
    const name = cur.slice(0, cur.indexOf("="));
    const opt = findOption(pos.chain, name);
    if (opt === undefined || !takesValue(opt)) {
      return { kind: "words", candidates: [] };
    }
    const value = optionValues(pos, opt, [
      ...all.slice(0, -1),
      cur.slice(name.length + 1),
    ], options);
    if (value.kind !== "words") return value;
    result = {
      kind: "words",
      candidates: value.candidates.map(([v, d]) => [`${name}=${v}`, d]),
    };
  } else if (!pos.dashDash && cur.startsWith("-")) {
    result = { kind: "words", candidates: optionNames(pos, cur) };
  } else {
    result = { kind: "words", candidates: argumentValues(pos, all, options) };
  }
  return {
    kind: result.kind,
    candidates: result.candidates.filter(([v]) => v.startsWith(cur)),
  };
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/g;

/** The protocol text of `completion` (see the module doc). */
export function formatCompletion(completion: Completion): string {
  const lines: string[] = [completion.kind];
  for (const [value, description] of completion.candidates) {
    if (value.replace(CONTROL, "") !== value) continue;
    lines.push(`${value}\t${description.replace(CONTROL, " ")}`);
  }
  return lines.join("\n") + "\n";
}
