import assert from "node:assert/strict";
import { Chain } from "../../lib/virtio/chain.ts";
import { needEvent, SplitQueue } from "../../lib/virtio/virtqueue.ts";
import { VRING_DESC_F, VRING_USED_F_NO_NOTIFY } from "../../lib/virtio/uapi.ts";
import { FakeMemory, fill, queueOf, RING_IOVA, SimDriver } from "./sim.ts";

Deno.test("TX: one readable descriptor is popped, read and completed", () => {
  const drv = new SimDriver(8);
  const { vq, reasons } = queueOf(drv, { kind: "readable" });
  fill(drv, 0x1000, new Uint8Array([1, 2, 3, 4, 5]));
  const head = drv.add([{ addr: 0x1000n, len: 5 }]);
  const c = new Chain(8);
  assert.equal(vq.availableCount(), 1);
  assert.equal(vq.pop(c), true);
  assert.equal(c.head, head);
  assert.equal(c.count, 1);
  assert.equal(c.readableBytes, 5);
  assert.equal(c.writableBytes, 0);
  const out = new Uint8Array(5);
  assert.equal(c.readInto(out), 5);
  assert.deepEqual([...out], [1, 2, 3, 4, 5]);
  assert.equal(vq.pop(c), false);
  vq.push(c.head, 0);
  assert.equal(drv.usedIdx(), 0, "not visible before publish");
  assert.equal(vq.publish(), true);
  assert.deepEqual(drv.takeUsed(), [{ id: head, len: 0 }]);
  assert.equal(vq.publish(), false, "nothing new: no second interrupt");
  assert.deepEqual(reasons, []);
});

Deno.test("RX: multi-descriptor writable chain gets data across segments", () => {
  const drv = new SimDriver(8);
  const { vq } = queueOf(drv, { kind: "writable" });
  const head = drv.add([
    { addr: 0x2000n, len: 3, write: true },
    { addr: 0x3000n, len: 4, write: true },
    { addr: 0x4000n, len: 10, write: true },
  ]);
  const c = new Chain(8);
  assert.equal(vq.pop(c), true);
  assert.equal(c.count, 3);
  assert.equal(c.readableCount, 0);
  assert.equal(c.writableBytes, 17);
  const n = c.writeFrom(new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2]), 1);
  assert.equal(n, 8);
  const b = drv.bounce.bytes;
  assert.deepEqual([...b.subarray(0x2000, 0x2003)], [0, 9, 8]);
  assert.deepEqual([...b.subarray(0x3000, 0x3004)], [7, 6, 5, 4]);
  assert.deepEqual([...b.subarray(0x4000, 0x4003)], [3, 2, 0]);
  vq.push(head, 9);
  vq.publish();
  assert.deepEqual(drv.takeUsed(), [{ id: head, len: 9 }]);
});

Deno.test("a chain with readable then writable parts (any)", () => {
  const drv = new SimDriver(4);
  const { vq, reasons } = queueOf(drv);
  drv.add([{ addr: 0n, len: 16 }, { addr: 64n, len: 16, write: true }]);
  const c = new Chain(4);
  assert.equal(vq.pop(c), true);
  assert.equal(c.readableCount, 1);
  assert.equal(c.readableBytes, 16);
  assert.equal(c.writableBytes, 16);
  assert.deepEqual(reasons, []);
});

Deno.test("16-bit index wraparound keeps working", () => {
  const drv = new SimDriver(4);
  drv.startAt(0xfffe);
  const { vq, reasons } = queueOf(drv, { kind: "readable" });
  assert.equal(vq.lastAvail, 0xfffe, "resumes from the used index");
  const c = new Chain(4);
  for (let round = 0; round < 20; round++) {
    const heads = [
      drv.add([{ addr: 0n, len: 1 }]),
      drv.add([{ addr: 1n, len: 1 }]),
    ];
    const got: number[] = [];
    while (vq.pop(c)) {
      got.push(c.head);
      vq.push(c.head, 0);
    }
    assert.deepEqual(got, heads);
    vq.publish();
    assert.deepEqual(drv.takeUsed().map((u) => u.id), heads);
  }
  assert.equal(vq.usedIdx, (0xfffe + 40) & 0xffff);
  assert.deepEqual(reasons, []);
});

Deno.test("NO_INTERRUPT suppresses the interrupt; it comes when cleared", () => {
  const drv = new SimDriver(8);
  const { vq } = queueOf(drv);
  const c = new Chain(8);
  drv.setNoInterrupt(true);
  drv.add([{ addr: 0n, len: 1 }]);
  assert.equal(vq.pop(c), true);
  vq.push(c.head, 0);
  assert.equal(vq.publish(), false);
  assert.equal(drv.usedIdx(), 1, "used index is still published");
  drv.setNoInterrupt(false);
  assert.equal(vq.publish(), true, "the pending completion is signalled");
  assert.equal(vq.publish(), false);
});

Deno.test("batched completions: one used-index store and one interrupt", () => {
  const drv = new SimDriver(64);
  const { vq } = queueOf(drv);
  const c = new Chain(64);
  for (let i = 0; i < 32; i++) drv.add([{ addr: BigInt(i), len: 1 }]);
  let n = 0;
  while (vq.pop(c)) {
    vq.push(c.head, 0);
    n++;
    assert.equal(drv.usedIdx(), 0);
  }
  assert.equal(n, 32);
  assert.equal(vq.publish(), true);
  assert.equal(drv.usedIdx(), 32);
});

Deno.test("setNotify toggles VRING_USED_F_NO_NOTIFY", () => {
  const drv = new SimDriver(8);
  const { vq } = queueOf(drv);
  vq.setNotify(false);
  assert.equal(drv.usedFlags(), VRING_USED_F_NO_NOTIFY);
  vq.setNotify(true);
  assert.equal(drv.usedFlags(), 0);
});

Deno.test("unpop gives the chain back", () => {
  const drv = new SimDriver(8);
  const { vq } = queueOf(drv);
  const h = drv.add([{ addr: 0n, len: 4, write: true }]);
  const c = new Chain(8);
  assert.equal(vq.pop(c), true);
  vq.unpop();
  assert.equal(vq.pop(c), true);
  assert.equal(c.head, h);
});

Deno.test("zero-length descriptors are accepted and never looked up", () => {
  const drv = new SimDriver(8);
  const { vq, reasons } = queueOf(drv);
  drv.add([{ addr: 0xdead00000000n, len: 0 }, { addr: 0n, len: 2 }]);
  const c = new Chain(8);
  assert.equal(vq.pop(c), true);
  assert.equal(c.readableBytes, 2);
  assert.deepEqual(reasons, []);
});

/** Each bad input, built on a fresh 8-entry queue. */
const BAD: Record<string, (d: SimDriver) => void> = {
  "head out of range": (d) => {
    d.putAvail(8);
    d.kick();
  },
  "next out of range": (d) => {
    d.setDesc(0, { addr: 0n, len: 1, flags: VRING_DESC_F.NEXT, next: 9 });
    d.putAvail(0);
    d.kick();
  },
  "self loop": (d) => {
    d.setDesc(0, { addr: 0n, len: 1, flags: VRING_DESC_F.NEXT, next: 0 });
    d.putAvail(0);
    d.kick();
  },
  "longer loop": (d) => {
    for (let i = 0; i < 8; i++) {
      d.setDesc(i, {
        addr: 0n,
        len: 1,
        flags: VRING_DESC_F.NEXT,
        next: (i + 1) % 8,
      });
    }
    d.putAvail(3);
    d.kick();
  },
  "length beyond the mapping": (d) => {
    d.add([{ addr: BigInt(d.bounce.bytes.length - 4), len: 5 }]);
  },
  "huge length": (d) => {
    d.add([{ addr: 0n, len: 0xffffffff }]);
  },
  "IOVA in no mapping": (d) => {
    d.add([{ addr: 0x7000000000n, len: 1 }]);
  },
  "IOVA just below the ring region": (d) => {
    d.add([{ addr: RING_IOVA - 1n, len: 2 }]);
  },
  "readable after writable": (d) => {
    d.add([{ addr: 0n, len: 1, write: true }, { addr: 8n, len: 1 }]);
  },
  "INDIRECT (not offered)": (d) => {
    d.setDesc(0, { addr: 0n, len: 16, flags: VRING_DESC_F.INDIRECT, next: 0 });
    d.putAvail(0);
    d.kick();
  },
  "avail index more than a queue ahead": (d) => {
    d.availIdx = 9;
    d.kick();
  },
};

for (const [name, make] of Object.entries(BAD)) {
  Deno.test(`bad input marks the queue broken once: ${name}`, () => {
    const drv = new SimDriver(8, { bounceSize: 4096 });
    const { vq, reasons } = queueOf(drv);
    make(drv);
    const c = new Chain(8);
    assert.equal(vq.pop(c), false);
    assert.equal(vq.pop(c), false);
    assert.equal(reasons.length, 1, `one report, got ${reasons}`);
    assert.equal(vq.broken, reasons[0]);
    vq.push(0, 0);
    assert.equal(vq.publish(), false);
    assert.equal(drv.usedIdx(), 0, "a broken queue writes nothing");
  });
}

Deno.test("wrong descriptor kind for the queue marks it broken", () => {
  for (
    const [kind, write] of [["readable", true], ["writable", false]] as const
  ) {
    const drv = new SimDriver(8);
    const { vq, reasons } = queueOf(drv, { kind });
    drv.add([{ addr: 0n, len: 1, write }]);
    assert.equal(vq.pop(new Chain(8)), false);
    assert.equal(reasons.length, 1);
    assert.match(reasons[0], new RegExp(write ? "writable" : "readable"));
  }
});

Deno.test("mapping permissions are enforced", () => {
  const memory = new FakeMemory();
  memory.add(0n, 4096, { writable: false });
  memory.add(0x10000n, 4096, { readable: false });
  const drv = new SimDriver(8, { memory });
  const c = new Chain(8);
  {
    const { vq, reasons } = queueOf(drv);
    drv.add([{ addr: 0n, len: 4, write: true }]);
    assert.equal(vq.pop(c), false);
    assert.match(reasons[0], /forbids device writes/);
  }
  const drv2 = new SimDriver(8, {
    memory: (() => {
      const m = new FakeMemory();
      m.add(0n, 4096, { readable: false });
      return m;
    })(),
  });
  {
    const { vq, reasons } = queueOf(drv2);
    drv2.add([{ addr: 0n, len: 4 }]);
    assert.equal(vq.pop(c), false);
    assert.match(reasons[0], /forbids device reads/);
  }
});

Deno.test("unmapped or misaligned rings give a broken queue, no throw", () => {
  const memory = new FakeMemory();
  memory.add(0n, 1 << 16);
  const reasons: string[] = [];
  const vq = new SplitQueue({
    num: 8,
    rings: { desc: 0x100000n, driver: 0x200000n, device: 0x300000n },
    memory,
    onBroken: (_q, r) => reasons.push(r),
  });
  assert.equal(vq.pop(new Chain(8)), false);
  assert.equal(reasons.length, 1);
  const vq2 = new SplitQueue({
    num: 8,
    rings: { desc: 8n, driver: 0x1000n, device: 0x2000n },
    memory,
  });
  assert.match(vq2.broken ?? "", /misaligned/);
  const vq3 = new SplitQueue({
    num: 0,
    rings: { desc: 0n, driver: 0x1000n, device: 0x2000n },
    memory,
  });
  assert.match(vq3.broken ?? "", /queue size/);
});

Deno.test("a broken queue does not affect another queue on the same memory", () => {
  const memory = new FakeMemory();
  memory.add(0n, 1 << 16);
  const a = new SimDriver(8, { memory, ringIova: 0xffffffffff000000n });
  const b = new SimDriver(8, { memory, ringIova: 0xfffffffffe000000n });
  const qa = queueOf(a).vq;
  const qb = queueOf(b).vq;
  a.putAvail(77);
  a.kick();
  b.add([{ addr: 0n, len: 1 }]);
  const c = new Chain(8);
  assert.equal(qa.pop(c), false);
  assert.notEqual(qa.broken, null);
  assert.equal(qb.pop(c), true);
  qb.push(c.head, 0);
  assert.equal(qb.publish(), true);
});

/** xorshift32: a fast seeded PRNG. */
function prng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

Deno.test("fuzz: 1,000,000 random descriptor tables never crash", () => {
  const CASES = 1_000_000;
  const started = performance.now();
  const rand = prng(0x5eed1234);
  const memory = new FakeMemory();
  const BOUNCE = 1 << 16;
  memory.add(0n, BOUNCE);
  const sizes = [1, 2, 3, 4, 8, 16];
  const drivers = sizes.map((n, k) =>
    new SimDriver(n, {
      memory,
      ringIova: 0xffffffffff000000n - BigInt(k) * 0x100000n,
    })
  );
  // The descriptor table is at the start of each driver's ring region.
  const tables = drivers.map((d) =>
    new Uint32Array(d.ring.bytes.buffer, 0, 4 * d.num)
  );
  const chain = new Chain(16);
  let popped = 0;
  let broken = 0;
  let segments = 0;
  for (let k = 0; k < CASES; k++) {
    const which = rand() % drivers.length;
    const drv = drivers[which];
    const num = drv.num;
    const d32 = tables[which];
    // Random descriptor table, biased towards plausible values.
    for (let i = 0; i < num; i++) {
      const r = rand();
      const addrKind = r & 7;
      const lo = addrKind < 5
        ? rand() % BOUNCE
        : addrKind === 5
        ? rand()
        : BOUNCE - (rand() & 15);
      const hi = addrKind === 6 ? rand() : addrKind === 7 ? 0xffffffff : 0;
      const lenKind = (r >>> 3) & 7;
      const len = lenKind === 0 ? rand() : lenKind === 1 ? 0 : rand() & 2047;
      const flags = ((r >>> 6) & 3) |
        (((r >>> 12) & 15) === 0 ? VRING_DESC_F.INDIRECT : 0);
      const next = (r >>> 16) % (num + 1);
      d32[4 * i] = lo;
      d32[4 * i + 1] = hi;
      d32[4 * i + 2] = len;
      d32[4 * i + 3] = flags | (next << 16);
    }
    // A fresh queue at a random 16-bit position with random avail entries.
    const start = rand() & 0xffff;
    drv.setUsedIdx(start);
    drv.availIdx = start;
    const avail = rand() % (num + 2);
    for (let j = 0; j < avail; j++) drv.putAvail(rand() % (num + 1));
    drv.kick();
    drv.setNoInterrupt((rand() & 1) === 1);
    const vq = new SplitQueue({
      num,
      rings: drv.rings,
      memory,
      kind: (["readable", "writable", "any"] as const)[rand() % 3],
    });
    let guard = 0;
    while (vq.pop(chain)) {
      popped++;
      // Every segment lies inside its region: nothing else is touched.
      for (let s = 0; s < chain.count; s++) {
        segments++;
        const end = chain.offs[s] + chain.lens[s];
        if (chain.offs[s] < 0 || end > chain.bufs[s].length) {
          throw new Error(`case ${k}: segment outside its region`);
        }
      }
      if (chain.count > num) throw new Error(`case ${k}: chain too long`);
      vq.push(chain.head, chain.writableBytes > 0 ? 1 : 0);
      if (++guard > num + 1) throw new Error(`case ${k}: popped too many`);
    }
    vq.publish();
    if (vq.broken !== null) broken++;
  }
  const ms = performance.now() - started;
  console.log(
    `fuzz: ${CASES} tables, ${popped} chains popped (${segments} segments), ` +
      `${broken} broken queues, ${ms.toFixed(0)} ms`,
  );
  assert.ok(popped > 10_000, "the fuzz reaches valid chains too");
  assert.ok(broken > 10_000, "and broken ones");
});

Deno.test("needEvent is the kernel's vring_need_event, across 16-bit wraparound", () => {
  assert.equal(needEvent(5, 6, 5), true, "just passed");
  assert.equal(needEvent(5, 5, 4), false, "not yet passed");
  assert.equal(needEvent(5, 10, 6), false, "passed before the window");
  assert.equal(needEvent(0xffff, 0x0001, 0xfffe), true, "window wraps");
  assert.equal(needEvent(0x0000, 0x0002, 0xfffe), true);
  assert.equal(needEvent(0x0002, 0x0002, 0xfffe), false);
  assert.equal(needEvent(0xfffd, 0x0002, 0xfffe), false);
  assert.equal(needEvent(7, 7, 7), false, "empty window");
});

function eventQueue(drv: SimDriver): SplitQueue {
  return new SplitQueue({
    num: drv.num,
    rings: drv.rings,
    memory: drv.memory,
    eventIdx: true,
  });
}

Deno.test("EVENT_IDX: interrupts only when used_event is passed, with wraparound", () => {
  for (const start of [0, 0xfff0]) {
    const drv = new SimDriver(8);
    drv.startAt(start);
    const vq = eventQueue(drv);
    const c = new Chain(8);
    const complete = (n: number): boolean => {
      for (let i = 0; i < n; i++) drv.add([{ addr: BigInt(i), len: 1 }]);
      while (vq.pop(c)) vq.push(c.head, 0);
      const irq = vq.publish();
      drv.takeUsed();
      return irq;
    };
    // NO_INTERRUPT is ignored with EVENT_IDX.
    drv.setNoInterrupt(true);
    assert.equal(complete(1), true, "the first decision signals");
    const s = start + 1;
    // Driver: "interrupt me after 3 more" (used_event = s + 2).
    drv.setUsedEvent(s + 2);
    assert.equal(complete(2), false, "used_event not passed yet");
    assert.equal(complete(2), true, "used_event passed");
    assert.equal(complete(3), false, "stale used_event: no interrupt");
    drv.setUsedEvent(s + 7); // the next completion
    assert.equal(complete(1), true);
    assert.equal(vq.publish(), false, "nothing new");
    assert.equal(drv.usedIdx(), (s + 8) & 0xffff);
  }
});

Deno.test("EVENT_IDX: avail_event asks for one kick, none while processing", () => {
  const drv = new SimDriver(8);
  drv.startAt(0xfffd);
  const vq = eventQueue(drv);
  const c = new Chain(8);
  vq.setNotify(false);
  assert.equal(drv.usedFlags(), 0, "no NO_NOTIFY flag with EVENT_IDX");
  // Before sleeping: kick me when you add the next one.
  vq.setNotify(true);
  assert.equal(drv.availEvent(), 0xfffd);
  let old = drv.availIdx;
  drv.add([{ addr: 0n, len: 1 }]);
  assert.equal(drv.wouldKick(old), true, "the first new chain kicks");
  // Processing (notify off): later chains do not kick, across the wrap.
  vq.setNotify(false);
  for (let i = 0; i < 5; i++) {
    old = drv.availIdx;
    drv.add([{ addr: 0n, len: 1 }]);
    assert.equal(drv.wouldKick(old), false);
    assert.equal(vq.pop(c), true);
    vq.push(c.head, 0);
    vq.publish();
    drv.takeUsed();
  }
  assert.equal(vq.pop(c), true);
  vq.push(c.head, 0);
  vq.publish();
  drv.takeUsed();
  vq.setNotify(true);
  assert.equal(drv.availEvent(), (0xfffd + 6) & 0xffff);
  old = drv.availIdx;
  drv.add([{ addr: 0n, len: 1 }]);
  assert.equal(drv.wouldKick(old), true, "kicks again after the wrap");
});
