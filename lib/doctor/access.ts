/**
 * What the current user may do, judged as the kernel's permission check
 * does from the file's owner, group and mode and the process's identity
 * (root passes; owner, then group, then other bits), so that a file is
 * never opened, and a FIFO never blocked on, to find out.
 *
 * @module
 */

import { CAP_NET_ADMIN, type DoctorProbe, type Identity } from "./probe.ts";

/** The identity the checks judge permissions for. */
export interface Access {
  /** Who this process is. */
  identity: Identity;
}

/** The {@linkcode Access} of the process the probe describes. */
export function accessOf(probe: DoctorProbe): Access {
  return { identity: probe.identity() };
}

/** True when the process has CAP_NET_ADMIN (netlink admin commands). */
export function hasNetAdmin(access: Access): boolean {
  return (access.identity.capEff >> BigInt(CAP_NET_ADMIN) & 1n) === 1n;
}

/**
 * True when the process may write `path` (a directory: create in it),
 * judged from the mode bits; false when it does not exist.
 */
export function writable(path: string, access: Access): boolean {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    return false;
  }
  const { uid, gid, groups } = access.identity;
  if (uid === 0) return true;
  const mode = info.mode ?? 0;
  const need = info.isDirectory ? 0o3 : 0o2; // write (and search for a directory)
  const bits = info.uid === uid
    ? mode >> 6
    : info.gid === gid || groups.includes(info.gid ?? -1)
    ? mode >> 3
    : mode;
  return (bits & need) === need;
}
