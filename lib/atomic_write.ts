/**
 * Atomic file replacement: write a temporary file in the same directory,
 * fsync it, rename it over the target, fsync the directory. Readers see the
 * old or the new contents, never a partial file. The temporary file is
 * `.NAME.PID.RAND.tmp`; {@linkcode tempFileWriter} tells whose it is, so
 * that the files of writers that died can be found and removed.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Options of {@linkcode atomicWriteFileSync}. */
export interface AtomicWriteOptions {
  /** Mode of a new file (default 0644). */
  mode?: number;
  /**
   * Keep an existing target's mode and owner (uid, gid) instead of
   * `mode` and the writer's ids.
   */
  keep?: boolean;
}

/** Replaces `path` with `data` atomically; on failure the old file is untouched. */
export function atomicWriteFileSync(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): void {
  const slash = path.lastIndexOf("/");
  const dir = slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
  const base = path.slice(slash + 1);
  const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  const tmp = `${dir}/.${base}.${Deno.pid}.${rand}.tmp`;
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  let old: Deno.FileInfo | undefined;
  if (options.keep) {
    try {
      old = Deno.statSync(path);
    } catch {
      old = undefined; // a new file
    }
  }
  try {
    const mode = old?.mode != null ? old.mode & 0o7777 : options.mode ?? 0o644;
    const file = Deno.openSync(tmp, { write: true, createNew: true, mode });
    try {
      if (old !== undefined) {
        Deno.chmodSync(tmp, mode); // the umask applied to the open
        if (
          old.uid !== null && old.gid !== null &&
          (old.uid !== Deno.uid() || old.gid !== Deno.gid())
        ) {
          Deno.chownSync(tmp, old.uid, old.gid);
        }
      }
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

/**
 * The writer's pid when `name` is a temporary file of
 * {@linkcode atomicWriteFileSync} (`.NAME.PID.RAND.tmp`), else undefined.
 */
export function tempFileWriter(name: string): number | undefined {
  const m = /^\..+\.(\d+)\.[0-9a-z]+\.tmp$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** True when process `pid` is alive on this host (its /proc entry exists). */
export function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** True for a temporary file of a writer that is no longer running. */
function staleTemp(name: string): boolean {
  const pid = tempFileWriter(name);
  return pid !== undefined && !processAlive(pid);
}

/**
 * Removes from `dir` the temporary files among `names` whose writers are no
 * longer running (a writer killed between its write and its rename); best
 * effort.
 */
export function removeStaleTemps(dir: string, names: Iterable<string>): void {
  for (const name of names) {
    if (!staleTemp(name)) continue;
    try {
      Deno.removeSync(`${dir}/${name}`);
    } catch {
      // Read-only, or another cleaner was first.
    }
  }
}
