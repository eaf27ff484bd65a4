/**
 * Tolerant reads of sysfs and procfs: an attribute's text or a directory's
 * entries, with "absent" (undefined, or no entries) instead of an error,
 * for code that describes what is there rather than requiring it.
 *
 * @module
 */

/** The text of `path`, trimmed, or undefined when it cannot be read. */
export function readAttr(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}

/** The entry names of directory `dir`, sorted; none when it cannot be read. */
export function listDir(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** True when `path` exists (a dangling symlink counts). */
export function pathExists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
