/**
 * The mdev host set-up beside the kernel: which `mdevctl` is on PATH (a
 * real one, with its version, or vdevctl's personality), and whose udev
 * rule starts persistent mdevs when a parent appears (mdevctl's
 * 60-mdevctl.rules or vdevctl's own; never two).
 *
 * @module
 */

import {
  MDEV_RULE_NAME,
  mdevctlRules,
  UDEV_RULE_DIRS,
} from "../install/mod.ts";
import type { SysRoot } from "../root.ts";
import { VDEVCTL_VERSION } from "../version.ts";
import type { Check } from "./report.ts";
import type { DoctorProbe } from "./probe.ts";

/** The first `mdevctl` on `path` (a PATH value) under `root`, as a system path. */
export function findOnPath(
  root: SysRoot,
  options: { name: string; path: string },
): string | undefined {
  for (const dir of options.path.split(":")) {
    if (!dir.startsWith("/")) continue; // a relative entry means the cwd
    const file = `${dir.replace(/\/+$/, "")}/${options.name}`;
    try {
      const info = Deno.statSync(root.path(file));
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** True when `file` (under `root`) is vdevctl's launcher under another name. */
function isPersonality(root: SysRoot, file: string): boolean {
  try {
    const real = Deno.realPathSync(root.path(file));
    return real.slice(real.lastIndexOf("/") + 1) === "vdevctl";
  } catch {
    return false;
  }
}

/** The line for mdevctl on PATH. */
export async function mdevctlCheck(
  root: SysRoot,
  options: { probe: DoctorProbe; path?: string; askKernel: boolean },
): Promise<Check> {
  const line = {
    id: "mdev:mdevctl",
    family: "mdev" as const,
    name: "mdevctl",
  };
  const file = findOnPath(root, {
    name: "mdevctl",
    path: options.path ?? Deno.env.get("PATH") ?? "",
  });
  if (file === undefined) {
    return {
      ...line,
      status: "ok",
      detail: "not installed (vdevctl mdev does its work)",
    };
  }
  if (isPersonality(root, file)) {
    return {
      ...line,
      status: "ok",
      detail: `${file} is vdevctl ${VDEVCTL_VERSION}'s personality`,
    };
  }
  // Only the running system's own programs are run, never a tree's.
  const version = options.askKernel
    ? await options.probe.programVersion(root.path(file))
    : undefined;
  return {
    ...line,
    status: "ok",
    detail: `${file}${version ? `: ${version}` : ""}`,
  };
}

/** The line for the udev rules that start persistent mdevs. */
export function udevCheck(root: SysRoot): Check {
  const line = {
    id: "mdev:udev",
    family: "mdev" as const,
    name: "udev rule for persistent mdevs",
  };
  const destdir = root.isReal ? "" : root.dir;
  // /lib is /usr/lib on merged-/usr systems: one file, found twice.
  const seen = new Set<string>();
  const theirs = mdevctlRules(destdir).filter((f) => {
    let real = f;
    try {
      real = Deno.realPathSync(root.path(f));
    } catch {
      // keep the name
    }
    if (seen.has(real)) return false;
    seen.add(real);
    return true;
  });
  const ours = UDEV_RULE_DIRS.map((d) => `${d}/${MDEV_RULE_NAME}`)
    .filter((f) => {
      try {
        return Deno.statSync(root.path(f)).isFile;
      } catch {
        return false;
      }
    });
  if (theirs.length > 1) {
    return {
      ...line,
      status: "warn",
      detail: `${theirs.length} rules start the same mdevs: ${
        theirs.join(", ")
      }`,
      fix: `remove all but one of ${theirs.join(", ")}`,
    };
  }
  if (theirs.length === 1) {
    return {
      ...line,
      status: "ok",
      detail: `${theirs[0]} (mdevctl's)${
        ours.length > 0
          ? `; vdevctl's ${ours[0]} stands aside while it is installed`
          : ""
      }`,
    };
  }
  if (ours.length > 0) {
    return { ...line, status: "ok", detail: `${ours[0]} (vdevctl's)` };
  }
  return {
    ...line,
    status: "warn",
    detail:
      "none: persistent (auto-start) mdevs are not started when their parent appears",
    fix: "deno task install (vdevctl's rule) or install mdevctl",
  };
}
