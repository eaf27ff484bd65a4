/**
 * Atomic file replacement: write a temporary file in the same directory,
 * fsync it, rename it over the target, fsync the directory. Readers see the
 * old or the new contents, never a partial file.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Replaces `path` with `data` atomically; on failure the old file is untouched. */
export function atomicWriteFileSync(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): void {
  const slash = path.lastIndexOf("/");
  const dir = slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
  const base = path.slice(slash + 1);
  const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  const tmp = `${dir}/.${base}.${Deno.pid}.${rand}.tmp`;
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  try {
    const file = Deno.openSync(tmp, {
      write: true,
      createNew: true,
      mode: options.mode ?? 0o644,
    });
    try {
      let off = 0;
      while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
      file.syncSync();
    } finally {
      file.close();
    }
    Deno.renameSync(tmp, path);
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // The temporary file was never created or is already gone.
    }
    throw err;
  }
  try {
    const d = Deno.openSync(dir, { read: true });
    try {
      d.syncSync();
    } finally {
      d.close();
    }
  } catch {
    // Some file systems cannot fsync a directory; the rename is done.
  }
}
