/**
 * lib/mvnet/runner.ts: the runner as the control plane's backend, and the
 * thread it runs the datapath on (the Worker's, reported by the Worker).
 *
 * @module
 */

import assert from "node:assert/strict";
import { CTL } from "../../lib/mvnet/datapath.ts";
import { DatapathRunner } from "../../lib/mvnet/runner.ts";
import { threadSchedStat } from "../../lib/mvnet/placement.ts";
import { SysRoot } from "../../lib/root.ts";
import { close, eventfd, threadId } from "../../lib/sys/mod.ts";

Deno.test("the runner as backend: RX 0 and TX 1, last available indices from the control block", async () => {
  const runner = new DatapathRunner({ worker: false, wakeFd: eventfd() });
  try {
    const backend = runner.backend(-1);
    assert.deepEqual(backend.queues, [0, 1]);
    assert.equal(backend.running, false);
    runner.ctl[CTL.rxLastAvail] = 5;
    runner.ctl[CTL.txLastAvail] = 9;
    assert.equal(backend.lastAvail(0), 5);
    assert.equal(backend.lastAvail(1), 9);
    assert.equal(backend.lastAvail(2), undefined);
    await backend.stop(); // not running: returns at once
    assert.equal(backend.running, false);
  } finally {
    await runner.close();
    close(runner.wakeFd);
  }
});

Deno.test("the runner's thread: the worker's own task of this process, with scheduler counters that grow", async () => {
  const root = new SysRoot("/");
  const runner = new DatapathRunner({ wakeFd: eventfd() });
  try {
    await runner.ready();
    const tid = runner.threadId;
    assert.ok(tid !== undefined && tid !== threadId(), `worker tid ${tid}`);
    assert.ok(Deno.statSync(`/proc/self/task/${tid}`).isDirectory);
    const inline = new DatapathRunner({ worker: false, wakeFd: eventfd() });
    assert.equal(
      inline.threadId,
      threadId(),
      "without a worker: this thread",
    );
    await inline.close();
    close(inline.wakeFd);
    // This thread's counters grow while it spins.
    const a = threadSchedStat(threadId(), { root });
    assert.ok(a, "no /proc/self/task/PID/schedstat");
    // Until it has run 5 ms more (however busy the machine), at most 60 s.
    const limit = performance.now() + 60_000;
    let b = threadSchedStat(threadId(), { root })!;
    while (b.runNs - a.runNs < 5e6 && performance.now() < limit) {
      b = threadSchedStat(threadId(), { root })!;
    }
    assert.ok(b.runNs - a.runNs >= 5e6, `${b.runNs - a.runNs} ns in 60 s`);
    assert.ok(b.waitNs >= a.waitNs);
    assert.ok(
      a.minorFaults !== undefined && b.minorFaults! >= a.minorFaults,
      "no minor faults from /proc/self/task/TID/stat",
    );
    assert.equal(threadSchedStat(1 << 30, { root }), undefined);
  } finally {
    await runner.close();
    close(runner.wakeFd);
  }
});
