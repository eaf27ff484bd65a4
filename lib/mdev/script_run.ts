/**
 * Runs one callout or notifier script the way mdevctl does (argv straight
 * to exec, no shell; stdin, stdout and stderr piped), but bounded: a time
 * limit after which the script is killed, and at most 1 MiB kept of each
 * output stream.
 *
 * @module
 */

/** What a script run returned. */
export interface ScriptResult {
  /** Exit status, or null when a signal ended it (or it was killed). */
  code: number | null;
  /** Its stdout (at most {@linkcode OUTPUT_LIMIT} bytes). */
  stdout: Uint8Array;
  /** Its stderr, decoded (at most {@linkcode OUTPUT_LIMIT} bytes). */
  stderr: string;
  /** It did not finish within the time limit and was killed. */
  timedOut: boolean;
  /** It printed more than {@linkcode OUTPUT_LIMIT} bytes on a stream. */
  overflow: boolean;
}

/** Bytes kept of each of a script's output streams. */
export const OUTPUT_LIMIT = 1 << 20;

async function collect(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  state: { overflow: boolean },
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (size + value.length > OUTPUT_LIMIT) {
      state.overflow = true;
      parts.push(value.subarray(0, OUTPUT_LIMIT - size));
      size = OUTPUT_LIMIT;
      continue; // keep draining so the script is not blocked on a full pipe
    }
    parts.push(value);
    size += value.length;
  }
  return new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
}

async function feed(
  child: Deno.ChildProcess,
  input: Uint8Array | undefined,
): Promise<void> {
  const writer = child.stdin.getWriter();
  try {
    if (input !== undefined) await writer.write(input);
  } catch {
    // The script closed its stdin early (EPIPE), as mdevctl tolerates.
  }
  try {
    await writer.close();
  } catch {
    // already closed by the script's exit
  }
}

/**
 * Runs `path ARGS` with `input` on stdin (stdin is closed at once without
 * it) and waits for its exit and the end of its output, at most
 * `options.timeoutMs`; throws only when it cannot be started.
 */
export async function runScript(
  path: string,
  args: readonly string[],
  options: { input?: string; timeoutMs: number },
): Promise<ScriptResult> {
  const child = new Deno.Command(path, {
    args: [...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const state = { overflow: false };
  const outReader = child.stdout.getReader();
  const errReader = child.stderr.getReader();
  const input = options.input === undefined
    ? undefined
    : new TextEncoder().encode(options.input);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), options.timeoutMs);
  });
  const work = Promise.all([
    collect(outReader, state),
    collect(errReader, state),
    child.status,
    feed(child, input),
  ]);
  const res = await Promise.race([work, limit]);
  clearTimeout(timer);
  if (res === "timeout") {
    try {
      child.kill("SIGKILL");
    } catch {
      // it has exited; a process it started still holds the pipes
    }
    await child.status;
    await outReader.cancel().catch(() => {});
    await errReader.cancel().catch(() => {});
    await work.catch(() => {});
    return {
      code: null,
      stdout: new Uint8Array(),
      stderr: "",
      timedOut: true,
      overflow: state.overflow,
    };
  }
  const [stdout, stderr, status] = res;
  return {
    code: status.signal === null ? status.code : null,
    stdout,
    stderr: new TextDecoder().decode(stderr),
    timedOut: false,
    overflow: state.overflow,
  };
}
