/**
 * Host commands run by the sandbox (apt-get, dpkg-deb, make, depmod, ...):
 * captured output, and failures turned into one-line errors with the tail of
 * the log.
 *
 * @module
 */

import { messageOf, VdevError } from "../errors.ts";

/** Options for {@linkcode runTool}. */
export interface RunToolOptions {
  /** Working directory. */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** What the step is, for the error message ("build the modules"). */
  what?: string;
  /** A log file to write the combined output to (kept on failure). */
  logFile?: string;
  /** Lines of output to quote in the error (default 12). */
  tailLines?: number;
  /** Turns a failure into a more specific error (or undefined for the default one). */
  classify?: (output: string, code: number) => VdevError | undefined;
}

/** Output of a finished host command. */
export interface ToolOutput {
  /** Standard output as text. */
  stdout: string;
  /** Standard error as text. */
  stderr: string;
}

/** Quotes `s` for a POSIX shell (only when it needs quoting). */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)
    ? s
    : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The last `lines` non-empty lines of `text`, joined with " | ". */
export function logTail(text: string, lines = 12): string {
  return text.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "")
    .slice(-lines).join(" | ");
}

/**
 * Runs `cmd` (argv) to completion and returns its output; a non-zero exit
 * becomes a {@linkcode VdevError} naming the step and quoting the log tail.
 */
export async function runTool(
  cmd: string[],
  options: RunToolOptions = {},
): Promise<ToolOutput> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    throw new VdevError(
      `cannot run ${cmd[0]}: ${messageOf(err)}`,
      { cause: err },
    );
  }
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout);
  const stderr = dec.decode(out.stderr);
  if (options.logFile) {
    // A fresh cache has no logs folder yet.
    const slash = options.logFile.lastIndexOf("/");
    if (slash > 0) {
      await Deno.mkdir(options.logFile.slice(0, slash), { recursive: true });
    }
    await Deno.writeTextFile(options.logFile, stdout + stderr);
  }
  if (out.code !== 0) {
    const text = stdout + "\n" + stderr;
    const specific = options.classify?.(text, out.code);
    if (specific) throw specific;
    const what = options.what ?? cmd.join(" ");
    const log = options.logFile ? ` (log: ${options.logFile})` : "";
    throw new VdevError(
      `sandbox: failed to ${what} (exit ${out.code})${log}: ${
        logTail(text, options.tailLines ?? 12)
      }`,
    );
  }
  return { stdout, stderr };
}

/** Whether `name` is an executable on PATH (or an absolute executable path). */
export function haveCommand(name: string): boolean {
  const dirs = name.includes("/")
    ? [""]
    : (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")
      .concat(["/usr/sbin", "/sbin"]);
  for (const dir of dirs) {
    const p = dir === "" ? name : `${dir}/${name}`;
    try {
      const st = Deno.statSync(p);
      if (st.isFile && st.mode !== null && (st.mode & 0o111) !== 0) return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}
