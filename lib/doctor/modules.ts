/**
 * Where a kernel module stands on this host, read from files under one
 * {@linkcode SysRoot} without running modprobe or modinfo: loaded
 * (`/sys/module/NAME`), built into the kernel (`modules.builtin`), available
 * (`modules.dep` of the running release) or missing. Also the small bounded
 * file reads the doctor's checks share (a FIFO or a huge file cannot stall
 * them).
 *
 * @module
 */

import type { SysRoot } from "../root.ts";
import { isDir } from "../sysfs_read.ts";

/** Where a module stands. */
export type ModuleState = "loaded" | "builtin" | "available" | "missing";

/** Biggest file the checks read (modules.dep of a distribution kernel is ~1 MiB). */
const MAX_READ = 16 << 20;

/**
 * The text of regular file `path` (at most 16 MiB), undefined when it is
 * missing, unreadable, not a regular file or too big.
 */
export function readSmallFile(path: string): string | undefined {
  try {
    const info = Deno.statSync(path);
    if (!info.isFile || info.size > MAX_READ) return undefined;
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** The module name of a modules.dep path: `kernel/x/mdpy-fb.ko.xz` → `mdpy_fb`. */
export function moduleNameOf(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base.replace(/\.ko(\.(xz|gz|zst))?$/, "").replaceAll("-", "_");
}

/** The modules of one kernel release, as its files under a root list them. */
export class ModuleIndex {
  /** The root. */
  readonly root: SysRoot;
  /** The kernel release (`uname -r`). */
  readonly release: string;
  /** `/lib/modules/RELEASE` (the system path, for messages). */
  readonly dir: string;
  /** False when there is no readable modules.dep for the release. */
  readonly hasIndex: boolean;
  #available = new Set<string>();
  #builtin = new Set<string>();

  /** Reads `/lib/modules/RELEASE/modules.{dep,builtin}` under `root`. */
  constructor(root: SysRoot, release: string) {
    this.root = root;
    this.release = release;
    this.dir = `/lib/modules/${release}`;
    const dep = release === "" || release.includes("/")
      ? undefined
      : readSmallFile(root.path(`${this.dir}/modules.dep`));
    this.hasIndex = dep !== undefined;
    for (const line of (dep ?? "").split("\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) this.#available.add(moduleNameOf(line.slice(0, colon)));
    }
    const builtin = this.hasIndex
      ? readSmallFile(root.path(`${this.dir}/modules.builtin`))
      : undefined;
    for (const line of (builtin ?? "").split("\n")) {
      if (line.trim() !== "") this.#builtin.add(moduleNameOf(line.trim()));
    }
  }

  /** Where module `name` stands. */
  state(name: string): ModuleState {
    const n = name.replaceAll("-", "_");
    if (this.#builtin.has(n)) return "builtin";
    if (isDir(this.root.path(`/sys/module/${n}`))) return "loaded";
    return this.#available.has(n) ? "available" : "missing";
  }
}
