import assert from "node:assert/strict";
import { CTL, DatapathRunner } from "../../lib/mvnet/datapath.ts";
import { close, eventfd } from "../../lib/sys/mod.ts";

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
