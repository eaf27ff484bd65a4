/**
 * A minimal VDUSE daemon for e2e tests: answers every message of a device OK
 * on this event loop (so the kernel's attach and detach can complete) and
 * records the statuses the driver set.
 *
 * @module
 */

import { close, POLL, pollAsync } from "../../lib/sys/mod.ts";
import { resolveRoot } from "../../lib/root.ts";
import {
  openDevice,
  readRequest,
  VDUSE_REQ_RESULT,
  writeResponse,
} from "../../lib/vduse/mod.ts";

/** A running responder: its device fd, and `stop` (returns the statuses seen). */
export interface Responder {
  /** The open `/dev/vduse/NAME` fd. */
  fd: number;
  /** Stops answering, closes the fd, and returns the statuses set so far. */
  stop: () => Promise<number[]>;
}

/** Starts answering every request of VDUSE device `name`. */
export function respond(name: string): Responder {
  const fd = openDevice(name, { root: resolveRoot(), nonblock: true });
  const statuses: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const [rev] = await pollAsync([[fd, POLL.IN]], 100);
      if (!(rev & POLL.IN)) continue;
      for (let req = readRequest(fd); req; req = readRequest(fd)) {
        if (req.kind === "set_status") statuses.push(req.status);
        writeResponse(fd, {
          requestId: req.requestId,
          result: VDUSE_REQ_RESULT.OK,
          ...(req.kind === "get_vq_state"
            ? { vqIndex: req.vqIndex, availIndex: 0 }
            : {}),
        });
      }
    }
  })();
  return {
    fd,
    stop: async () => {
      running = false;
      await loop;
      close(fd);
      return statuses;
    },
  };
}
