/**
 * `deno run -A tools/completions.ts [--check]`: writes (or checks) what is
 * generated from the command tree for completion: the scripts in
 * `completions/` (what `vdevctl completion SHELL --program vdevctl` prints)
 * and `lib/completion/command_tree.json`, the tree `vdevctl complete` walks
 * without loading commander.
 *
 * @module
 */

import { buildProgram } from "../main.ts";
import {
  COMMAND_TREE_FILE,
  commandTree,
  completionScript,
  SHELLS,
} from "../lib/completion/mod.ts";

const SOURCE = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const SCRIPT_FILES = {
  bash: "vdevctl.bash",
  zsh: "_vdevctl",
  fish: "vdevctl.fish",
};

/** The text of `lib/completion/command_tree.json` for the current commands. */
export async function currentCommandTreeText(): Promise<string> {
  const tree = commandTree(await buildProgram([]));
  return JSON.stringify(tree, null, 2) + "\n";
}

/** Every generated file: path and the text it must hold. */
async function generated(): Promise<[string, string][]> {
  const files: [string, string][] = [
    [COMMAND_TREE_FILE.pathname, await currentCommandTreeText()],
  ];
  for (const shell of SHELLS) {
    files.push([
      `${SOURCE}/completions/${SCRIPT_FILES[shell]}`,
      completionScript(shell, { program: "vdevctl" }),
    ]);
  }
  return files;
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const stale: string[] = [];
  for (const [path, text] of await generated()) {
    let old = "";
    try {
      old = Deno.readTextFileSync(path);
    } catch {
      // Not written yet.
    }
    if (old === text) continue;
    stale.push(path);
    if (!check) Deno.writeTextFileSync(path, text);
  }
  if (check && stale.length > 0) {
    console.error(
      `out of date: ${
        stale.join(", ")
      }: run 'deno run -A tools/completions.ts'`,
    );
    Deno.exit(1);
  }
}
