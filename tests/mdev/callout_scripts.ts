/**
 * Callout scripts for the tests: each logs its name, its arguments and its
 * stdin to `$CALLOUT_LOG`, answers only for the types it is given (exit 2
 * for others) and then does what its behaviour says (veto a `pre`, report
 * attributes, answer the capabilities handshake, print bad JSON, hang).
 *
 * @module
 */

import { PROVIDES } from "../../lib/mdev/callouts.ts";

/** What a test script does besides logging. */
export interface ScriptBehaviour {
  /** Types it takes (others: exit 2). */
  types: string[];
  /** Exit 1 (with a message on stderr) on `pre` of this action. */
  vetoAction?: string;
  /** Answer `get capabilities` with these events (all actions). */
  versioned?: string[];
  /** stdout of `get attributes`. */
  attributes?: string;
  /** Sleep this long on `pre`. */
  hangSeconds?: number;
  /** Exit status of a `live` event. */
  liveExit?: number;
}

function shWord(s: string): string {
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}

/** The script text. */
export function scriptText(name: string, b: ScriptBehaviour): string {
  const lines = [
    "#!/bin/sh",
    `input=$(cat)`,
    `printf '%s %s | %s\\n' ${shWord(name)} "$*" "$input" >> "$CALLOUT_LOG"`,
    `type=$2; event=$4; action=$6`,
    `case "$type" in ${b.types.map(shWord).join("|")}) ;; *) exit 2 ;; esac`,
  ];
  if (b.versioned) {
    const caps = JSON.stringify({
      supports: {
        version: 1,
        actions: PROVIDES.provides.actions,
        events: b.versioned,
      },
    });
    lines.push(
      `if [ "$action" = capabilities ]; then printf '%s' ${
        shWord(caps)
      }; exit 0; fi`,
    );
  }
  if (b.vetoAction) {
    lines.push(
      `if [ "$event" = pre ] && [ "$action" = ${
        shWord(b.vetoAction)
      } ]; then echo "no $action today" >&2; exit 1; fi`,
    );
  }
  if (b.attributes !== undefined) {
    lines.push(
      `if [ "$event" = get ] && [ "$action" = attributes ]; then printf ${
        shWord(b.attributes.replaceAll("%", "%%").replaceAll("\0", "\\0"))
      }; fi`,
    );
  }
  if (b.hangSeconds) {
    lines.push(`if [ "$event" = pre ]; then sleep ${b.hangSeconds}; fi`);
  }
  if (b.liveExit !== undefined) {
    lines.push(`if [ "$event" = live ]; then exit ${b.liveExit}; fi`);
  }
  lines.push("exit 0", "");
  return lines.join("\n");
}

/** Writes a script `name` into `dir` (made if missing), executable. */
export function writeScript(
  dir: string,
  name: string,
  b: ScriptBehaviour,
): string {
  Deno.mkdirSync(dir, { recursive: true });
  const path = `${dir}/${name}`;
  Deno.writeTextFileSync(path, scriptText(name, b), { mode: 0o755 });
  Deno.chmodSync(path, 0o755);
  return path;
}

/** The logged calls (one line each), read and cleared. */
export function takeLog(path: string): string[] {
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    // nothing logged yet
  }
  Deno.writeTextFileSync(path, "");
  return text.split("\n").filter((l) => l !== "");
}
