import assert from "node:assert/strict";
import { IDLE_YIELDS, yieldUntil } from "../../lib/mvnet/idle.ts";
import { libc } from "../../lib/sys/mod.ts";

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
