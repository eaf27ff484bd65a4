import assert from "node:assert/strict";
import {
  choosePlacement,
  formatPlacement,
  threadSchedStat,
} from "../../lib/mvnet/placement.ts";
import { SysRoot } from "../../lib/root.ts";

const pick = (p: ReturnType<typeof choosePlacement>) => [
  p.irqCpus,
  p.datapathCpus,
];

Deno.test("auto: two CPUs give the bench's fastest, interrupts 1 and datapath 0", () => {
  const p = choosePlacement({ online: [1, 0], irqMask: [0, 1] });
  assert.deepEqual(pick(p), [[1], [0]]);
  assert.match(p.reason, /^auto/);
  assert.equal(
    formatPlacement(p),
    `interrupts on CPU 1, datapath on CPU 0 (${p.reason})`,
  );
});

Deno.test("auto: the interrupt CPU comes from the driver's mask, intersected with the online CPUs", () => {
  assert.deepEqual(
    pick(choosePlacement({ online: [0, 1, 2, 3], irqMask: [1, 2] })),
    [[2], [0, 1, 3]],
  );
  // A mask of offline CPUs only: any online CPU.
  assert.deepEqual(
    pick(choosePlacement({ online: [0, 1], irqMask: [5] })),
    [[1], [0]],
  );
  // No mask read yet (start-up): the last online CPU.
  assert.deepEqual(pick(choosePlacement({ online: [0, 2, 3] })), [[3], [
    0,
    2,
  ]]);
  // The mask we wrote last time is read back: the choice is stable.
  assert.deepEqual(
    pick(choosePlacement({ online: [0, 1, 2], irqMask: [2] })),
    pick(choosePlacement({ online: [0, 1, 2], irqMask: [0, 1, 2] })),
  );
});

Deno.test("auto: one CPU places nothing; no worker pins no datapath", () => {
  const one = choosePlacement({ online: [0], irqMask: [0] });
  assert.deepEqual(pick(one), [null, null]);
  assert.match(one.reason, /one CPU/);
  const inline = choosePlacement({ online: [0, 1], worker: false });
  assert.deepEqual(pick(inline), [[1], null]);
});

Deno.test("overrides: given halves are kept, the other half avoids them", () => {
  assert.deepEqual(
    pick(choosePlacement({ online: [0, 1], irqCpus: [1], datapathCpus: [1] })),
    [[1], [1]],
  );
  assert.deepEqual(
    pick(choosePlacement({ online: [0, 1, 2], irqCpus: [0] })),
    [[0], [1, 2]],
  );
  assert.deepEqual(
    pick(choosePlacement({ online: [0, 1, 2], datapathCpus: [2] })),
    [[1], [2]],
  );
  // The driver's mask leaves only the datapath's CPU: shared, and said so.
  const shared = choosePlacement({
    online: [0, 1],
    irqMask: [0],
    datapathCpus: [0],
  });
  assert.deepEqual(pick(shared), [[0], [0]]);
  assert.match(shared.reason, /sharing/);
  // Interrupts on every CPU: nothing left for a datapath pin.
  assert.deepEqual(
    pick(choosePlacement({ online: [0, 1], irqCpus: [0, 1] })),
    [[0, 1], null],
  );
  // One CPU with a flag: the flag.
  assert.deepEqual(
    pick(choosePlacement({ online: [0], datapathCpus: [0] })),
    [null, [0]],
  );
});

Deno.test("mode kernel: nothing placed, whatever the CPUs", () => {
  for (const online of [[0], [0, 1], [0, 1, 2, 3]]) {
    const p = choosePlacement({ online, irqMask: online, mode: "kernel" });
    assert.deepEqual(pick(p), [null, null]);
    assert.match(formatPlacement(p), /CPU any.*CPU any.*--placement kernel/);
  }
  // "auto" is the default.
  assert.deepEqual(
    pick(choosePlacement({ online: [0, 1], mode: "auto" })),
    pick(choosePlacement({ online: [0, 1] })),
  );
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
