/**
 * The processes that hold `/dev/vduse/NAME` open (the daemon serving a
 * device), found by scanning `/proc/PID/fd` under a {@linkcode SysRoot}.
 *
 * @module
 */

import type { SysRoot } from "../root.ts";
import { listDir, readAttr } from "../sysfs_read.ts";
import { VDUSE_DEV_DIR } from "./device.ts";

/** A process that holds `/dev/vduse/NAME` open. */
export interface Holder {
  /** Process id. */
  pid: number;
  /** Its command name (`/proc/PID/comm`). */
  comm: string;
}

/** The processes holding `/dev/vduse/NAME` open (scans `/proc/PID/fd`). */
export function holders(name: string, options: { root: SysRoot }): Holder[] {
  const { root } = options;
  const target = `${VDUSE_DEV_DIR}/${name}`;
  const out: Holder[] = [];
  for (const pid of listDir(root.path("/proc"))) {
    if (!/^\d+$/.test(pid)) continue;
    const fdDir = root.path(`/proc/${pid}/fd`);
    for (const fd of listDir(fdDir)) {
      let link: string;
      try {
        link = Deno.readLinkSync(`${fdDir}/${fd}`);
      } catch {
        continue;
      }
      if (link === target) {
        out.push({
          pid: Number(pid),
          comm: readAttr(root.path(`/proc/${pid}/comm`)) ?? "?",
        });
        break;
      }
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}
