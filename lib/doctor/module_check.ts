/**
 * One module's line: ok when it is loaded or built in, else the command
 * that loads it or what the host lacks.
 *
 * @module
 */

import { OUT_OF_TREE_MODULES } from "../sandbox/mod.ts";
import type { ModuleIndex } from "./modules.ts";
import type { Check, DoctorFamily } from "./report.ts";

/** A line for module `name`: ok when loaded or built in, else how to get it. */
export function moduleCheck(
  index: ModuleIndex,
  name: string,
  options: {
    /** The family the line is shown under. */
    family: DoctorFamily;
    /** Found by other evidence (its sysfs class or device node exists). */
    present?: boolean;
  },
): Check {
  const found = index.state(name);
  const state = options.present && found !== "builtin" ? "loaded" : found;
  const base = { id: `module:${name}`, family: options.family };
  const line = { ...base, name: `module ${name}` };
  switch (state) {
    case "loaded":
    case "builtin":
      return { ...line, status: "ok", detail: state };
    case "available":
      return {
        ...line,
        status: "missing",
        detail: "available, not loaded",
        fix: `modprobe ${name}`,
      };
    case "missing":
      return {
        ...line,
        status: "missing",
        detail: index.hasIndex
          ? `not built for Linux ${index.release}`
          : `not loaded, and no ${index.dir}/modules.dep to load it from`,
        fix: OUT_OF_TREE_MODULES.includes(name)
          ? "build it from linux-source (Debian does not ship it; vdevctl sandbox does)"
          : "a kernel that has it (Debian: linux-image-6.12)",
      };
  }
}
