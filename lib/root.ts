/**
 * The file-system root every path the tool touches resolves under:
 * `--root DIR`, else `$VDEVCTL_ROOT`, else `/`. Tests point it at fake trees.
 *
 * @module
 */

/** Joins absolute `dir` and absolute `path` (no node:path: it costs start-up time). */
function joinAbs(dir: string, path: string): string {
  return dir.replace(/\/+$/, "") + path;
}

/** Makes `dir` absolute against the working directory and drops "." parts. */
function absolute(dir: string): string {
  return normalizePath(dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`);
}

/** Resolves "." and ".." in an absolute path as text (no file system). */
export function normalizePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}

/** A root directory that system paths are resolved under. */
export class SysRoot {
  /** Absolute path of the root ("/" for the real system). */
  readonly dir: string;

  /** Creates a root for `dir` (made absolute). */
  constructor(dir: string) {
    this.dir = absolute(dir);
  }

  /** Resolves an absolute system path such as `/sys/class/mdev_bus` under the root. */
  path(systemPath: string): string {
    if (!systemPath.startsWith("/")) {
      throw new Error(`system path must be absolute: ${systemPath}`);
    }
    return this.dir === "/" ? systemPath : joinAbs(this.dir, systemPath);
  }

  /** True when this is the real system root. */
  get isReal(): boolean {
    return this.dir === "/";
  }
}

/** Resolves the root from the `--root` option value or `$VDEVCTL_ROOT`. */
export function resolveRoot(option?: string): SysRoot {
  const dir = option ?? Deno.env.get("VDEVCTL_ROOT") ?? "/";
  return new SysRoot(dir === "" ? "/" : dir);
}
