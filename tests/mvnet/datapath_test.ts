import assert from "node:assert/strict";
import { CTL, DatapathRunner } from "../../lib/mvnet/datapath.ts";
import { IDLE_YIELDS, yieldUntil } from "../../lib/mvnet/idle.ts";
import { threadSchedStat } from "../../lib/mvnet/placement.ts";
import { SysRoot } from "../../lib/root.ts";
import { close, eventfd, libc, threadId } from "../../lib/sys/mod.ts";

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

Deno.test("yieldUntil: yields until work is ready, at most `tries` times", () => {
  let yields = 0;
  let readyAfter = 3;
  const ready = () => yields >= readyAfter;
  const opts = { tries: IDLE_YIELDS, yieldCpu: () => yields++ };
  assert.equal(yieldUntil(ready, opts), true);
  assert.equal(yields, 3, "stops at the first look that finds work");
  yields = 0;
  readyAfter = Infinity;
  assert.equal(yieldUntil(ready, opts), false);
  assert.equal(yields, IDLE_YIELDS, "gives up after `tries` yields");
  yields = 0;
  readyAfter = 0;
  assert.equal(yieldUntil(ready, { ...opts, tries: 0 }), false);
  assert.equal(yields, 0, "no yield, no look, when tries is 0");
});

Deno.test("the datapath's yield is sched_yield(2) through FFI (returns 0)", () => {
  assert.equal(libc().sched_yield(), 0);
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

Deno.test("threadSchedStat reads run and wait time and minor faults, and nothing from a malformed file", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/proc/self/task/7`, { recursive: true });
    const file = `${dir}/proc/self/task/7/schedstat`;
    Deno.writeTextFileSync(file, "1495748067 639395788 162\n");
    const root = new SysRoot(dir);
    assert.deepEqual(threadSchedStat(7, { root }), {
      runNs: 1495748067,
      waitNs: 639395788,
    });
    // A comm with spaces and parentheses; minflt is the 10th field.
    Deno.writeTextFileSync(
      `${dir}/proc/self/task/7/stat`,
      "7 (dp (a) b) R 1 7 7 0 -1 4194560 4321 0 0 0 12 3 0 0 20 0 9 0\n",
    );
    assert.deepEqual(threadSchedStat(7, { root }), {
      runNs: 1495748067,
      waitNs: 639395788,
      minorFaults: 4321,
    });
    Deno.writeTextFileSync(file, "12 x 3\n");
    assert.equal(threadSchedStat(7, { root }), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
