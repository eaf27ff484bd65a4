/**
 * The Worker that runs the mvnet datapath loop on its own thread (blocking
 * poll there does not block the main event loop, which answers VDUSE
 * messages). Started by `DatapathRunner` in `lib/mvnet/runner.ts`.
 *
 * @module
 */

import { Datapath } from "./datapath.ts";
import type { WorkerPlace, WorkerReply, WorkerStart } from "./runner.ts";
import { messageOf } from "../errors.ts";
import { setThreadAffinity, threadId } from "../sys/mod.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<WorkerStart | WorkerPlace>) => void) | null;
  postMessage(m: WorkerReply): void;
}

const scope = globalThis as unknown as WorkerScope;
const log = (message: string) => scope.postMessage({ type: "log", message });

scope.postMessage({ type: "ready", tid: threadId() });

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === "place") {
    try {
      setThreadAffinity(m.cpus);
    } catch (err) {
      log(`mvnet: cannot place the datapath thread: ${messageOf(err)}`);
    }
    scope.postMessage({ type: "placed" });
    return;
  }
  if (m.type !== "start") return;
  let dp: Datapath | null = null;
  try {
    dp = new Datapath(m.spec, { ctl: m.ctl, stats: m.stats, log });
    dp.runSync();
  } catch (err) {
    log(`mvnet: datapath failed: ${messageOf(err)}`);
  } finally {
    dp?.close();
    scope.postMessage({ type: "stopped" });
  }
};
