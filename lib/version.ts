/**
 * The one place that holds vdevctl's version (package.json's) and the
 * versions of the peers whose syntax and output it reproduces, with the
 * lines `-V`/`--version` print.
 *
 * A family that imitates a peer prints exactly the peer's line, because
 * scripts parse it (`mdevctl --version` prints `mdevctl 1.2.0`, a
 * subcommand `mdevctl-list 1.2.0`; `vdpa -V` prints
 * `vdpa utility, iproute2-6.1.0`); vdevctl's own version is in
 * `vdevctl --version` and in the other families' lines.
 *
 * @module
 */

import pkg from "../package.json" with { type: "json" };

/** vdevctl's version, from package.json. */
export const VDEVCTL_VERSION: string = pkg.version;

/** The mdevctl release whose command line and output `vdevctl mdev` reproduces. */
export const MDEVCTL_VERSION = "1.2.0";

/** The iproute2 release whose `vdpa` syntax and output `vdevctl vdpa` reproduces. */
export const IPROUTE2_VERSION = "6.1.0";

/** What the peer lines depend on: the releases chosen for this run. */
export interface VersionOptions {
  /** `mdevctl --version` to print (default {@linkcode MDEVCTL_VERSION}). */
  mdevctl?: string;
  /** iproute2 release for `vdpa -V` (default {@linkcode IPROUTE2_VERSION}). */
  iproute2?: string;
  /** False with `--no-iproute2-compat`: vdpa names vdevctl instead. */
  iproute2Compat?: boolean;
}

/**
 * The line `--version` prints for the command `path` (the words after
 * `vdevctl`: `[]` for the program, `["mdev", "list"]` for a subcommand).
 */
export function versionText(
  path: readonly string[],
  options: VersionOptions = {},
): string {
  const [family, ...rest] = path;
  const mdevctl = options.mdevctl ?? MDEVCTL_VERSION;
  const iproute2 = options.iproute2 ?? IPROUTE2_VERSION;
  if (family === "mdev") {
    // clap: "mdevctl 1.2.0", "mdevctl-list 1.2.0".
    return `${["mdevctl", ...rest].join("-")} ${mdevctl}`;
  }
  if (family === "vdpa") {
    return options.iproute2Compat === false
      ? `vdevctl vdpa ${VDEVCTL_VERSION} (iproute2 ${iproute2} syntax and output)`
      : `vdpa utility, iproute2-${iproute2}`;
  }
  if (family === undefined) {
    return [
      `vdevctl ${VDEVCTL_VERSION}`,
      `mdev: compatible with mdevctl ${mdevctl}`,
      `vdpa: compatible with iproute2 ${iproute2} (vdpa)`,
    ].join("\n");
  }
  return `vdevctl ${path.join(" ")} ${VDEVCTL_VERSION}`;
}
