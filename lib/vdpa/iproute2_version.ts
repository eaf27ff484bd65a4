/**
 * Which iproute2 `vdpa` the compat form follows: 6.1 (Debian 12, the
 * default) or 6.15 (Debian 13), chosen by `VDEVCTL_IPROUTE2_COMPAT` or
 * `--iproute2 VERSION`. Their output on Linux 6.12 is the same for every
 * command both have (measured in tests/e2e/vdpa_peer_test.ts); what differs
 * is `-V`'s version and the commands 6.15 added (`dev add ...
 * device_features`, `dev set`), which vdevctl accepts whatever the version.
 *
 * @module
 */

import { VdevError } from "../errors.ts";

/** The iproute2 versions the compat form can follow. */
export const IPROUTE2_VERSIONS = ["6.1", "6.15"] as const;

/** One of {@linkcode IPROUTE2_VERSIONS}. */
export type Iproute2Version = typeof IPROUTE2_VERSIONS[number];

/**
 * The iproute2 version to follow: `given` (the option), else `env` (the
 * value of VDEVCTL_IPROUTE2_COMPAT), else 6.1. "6.15.0" means 6.15.
 */
export function iproute2Version(
  given: string | undefined,
  env: string | undefined,
): Iproute2Version {
  const text = given ?? env;
  if (text === undefined || text === "") return "6.1";
  const short = text.replace(/^(\d+\.\d+)\.0$/, "$1");
  const v = IPROUTE2_VERSIONS.find((x) => x === short);
  if (v === undefined) {
    const from = given !== undefined ? "--iproute2" : "VDEVCTL_IPROUTE2_COMPAT";
    throw new VdevError(
      `${from}: unknown iproute2 version "${text}": use 6.1 or 6.15`,
    );
  }
  return v;
}
