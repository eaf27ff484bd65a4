import assert from "node:assert/strict";
import {
  Loopback,
  NET_HDR_SIZE,
  readStats,
  WANT_IRQ,
} from "../../lib/mvnet/loopback.ts";
import { SplitQueue } from "../../lib/virtio/mod.ts";
import { FakeMemory, SimDriver } from "../virtio/sim.ts";

function setup(num = 16) {
  const memory = new FakeMemory();
  memory.add(0n, 1 << 20);
  const rxd = new SimDriver(num, { memory, ringIova: 0xffffffffff000000n });
  const txd = new SimDriver(num, { memory, ringIova: 0xfffffffffe000000n });
  const broken: string[] = [];
  const onBroken = (_q: SplitQueue, r: string) => broken.push(r);
  const rx = new SplitQueue({
    num,
    rings: rxd.rings,
    memory,
    kind: "writable",
    name: "rx",
    onBroken,
  });
  const tx = new SplitQueue({
    num,
    rings: txd.rings,
    memory,
    kind: "readable",
    name: "tx",
    onBroken,
  });
  const lb = new Loopback({ rx, tx });
  const bytes = memory.regions.find((r) => r.startHi === 0)!.bytes;
  return { rxd, txd, lb, bytes, broken };
}

function frame(len: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => (i * 7 + seed) & 0xff);
}

Deno.test("a transmitted frame comes back with a fresh header", () => {
  const { rxd, txd, lb, bytes, broken } = setup();
  const f = frame(60, 3);
  bytes.fill(0xee, 0x1000, 0x1000 + NET_HDR_SIZE); // TX header: garbage
  bytes.set(f, 0x1000 + NET_HDR_SIZE);
  const rxHead = rxd.add([{ addr: 0x8000n, len: 1530, write: true }]);
  const txHead = txd.add([{ addr: 0x1000n, len: NET_HDR_SIZE + 60 }]);
  assert.equal(lb.run(), 1);
  assert.equal(lb.publish(), WANT_IRQ.RX | WANT_IRQ.TX);
  assert.deepEqual(rxd.takeUsed(), [{ id: rxHead, len: NET_HDR_SIZE + 60 }]);
  assert.deepEqual(txd.takeUsed(), [{ id: txHead, len: 0 }]);
  assert.deepEqual(
    [...bytes.subarray(0x8000, 0x8000 + NET_HDR_SIZE)],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
  );
  assert.deepEqual(
    bytes.subarray(0x8000 + NET_HDR_SIZE, 0x8000 + NET_HDR_SIZE + 60),
    f,
  );
  assert.equal(bytes[0x8000 + NET_HDR_SIZE + 60], 0, "nothing written past");
  const s = readStats(lb.stats);
  assert.equal(s.txPackets, 1);
  assert.equal(s.rxPackets, 1);
  assert.equal(s.rxBytes, 60);
  assert.deepEqual(broken, []);
});

Deno.test("multi-descriptor TX and RX chains", () => {
  const { rxd, txd, lb, bytes } = setup();
  const f = frame(1500, 9);
  // TX: header alone, then the frame split 100 + 1400.
  bytes.set(f.subarray(0, 100), 0x2000);
  bytes.set(f.subarray(100), 0x3000);
  txd.add([
    { addr: 0x1000n, len: NET_HDR_SIZE },
    { addr: 0x2000n, len: 100 },
    { addr: 0x3000n, len: 1400 },
  ]);
  // RX: 4 + 1000 + 600 bytes.
  rxd.add([
    { addr: 0x10000n, len: 4, write: true },
    { addr: 0x11000n, len: 1000, write: true },
    { addr: 0x12000n, len: 600, write: true },
  ]);
  lb.run();
  lb.publish();
  assert.equal(rxd.takeUsed()[0].len, NET_HDR_SIZE + 1500);
  const got = new Uint8Array(NET_HDR_SIZE + 1500);
  got.set(bytes.subarray(0x10000, 0x10004), 0);
  got.set(bytes.subarray(0x11000, 0x11000 + 1000), 4);
  got.set(bytes.subarray(0x12000, 0x12000 + 1500 + NET_HDR_SIZE - 1004), 1004);
  assert.equal(got[10], 1, "num_buffers");
  assert.deepEqual(got.subarray(NET_HDR_SIZE), f);
});

Deno.test("no RX buffer: the frame is dropped and counted, TX completed", () => {
  const { txd, lb } = setup();
  txd.add([{ addr: 0n, len: NET_HDR_SIZE + 60 }]);
  txd.add([{ addr: 0n, len: NET_HDR_SIZE + 60 }]);
  assert.equal(lb.run(), 2);
  assert.equal(lb.publish(), WANT_IRQ.TX);
  assert.equal(txd.takeUsed().length, 2);
  assert.equal(readStats(lb.stats).rxDropped, 2);
});

Deno.test("an RX buffer too small is kept; a short TX chain is an error", () => {
  const { rxd, txd, lb } = setup();
  const small = rxd.add([{ addr: 0x8000n, len: 40, write: true }]);
  txd.add([{ addr: 0n, len: NET_HDR_SIZE + 60 }]);
  txd.add([{ addr: 0n, len: 4 }]);
  lb.run();
  assert.equal(lb.publish(), WANT_IRQ.TX);
  assert.deepEqual(rxd.takeUsed(), []);
  const s = readStats(lb.stats);
  assert.equal(s.rxTooBig, 1);
  assert.equal(s.txErrors, 1);
  // The small buffer is still first in line.
  txd.add([{ addr: 0n, len: NET_HDR_SIZE + 10 }]);
  lb.run();
  lb.publish();
  assert.deepEqual(rxd.takeUsed(), [{ id: small, len: NET_HDR_SIZE + 10 }]);
});

Deno.test("budget, batching and NO_INTERRUPT on RX", () => {
  const { rxd, txd, lb } = setup(64);
  rxd.setNoInterrupt(true);
  for (let i = 0; i < 40; i++) {
    rxd.add([{ addr: BigInt(0x8000 + i * 2048), len: 2048, write: true }]);
    txd.add([{ addr: 0n, len: NET_HDR_SIZE + 60 }]);
  }
  assert.equal(lb.run(32), 32);
  assert.equal(lb.run(32), 8);
  assert.equal(lb.publish(), WANT_IRQ.TX, "RX interrupt suppressed");
  assert.equal(rxd.takeUsed().length, 40);
  assert.equal(txd.takeUsed().length, 40);
});

Deno.test("a broken TX queue leaves RX alone and never throws", () => {
  const { rxd, txd, lb, broken } = setup();
  rxd.add([{ addr: 0x8000n, len: 2048, write: true }]);
  txd.add([{ addr: 0x7000000000n, len: 100 }]);
  assert.equal(lb.run(), 0);
  assert.equal(lb.publish(), 0);
  assert.equal(broken.length, 1);
  assert.notEqual(lb.tx.broken, null);
  assert.equal(lb.rx.broken, null);
  assert.equal(lb.rx.availableCount(), 1);
});

Deno.test("hold: without an RX buffer the TX chain waits in its ring", () => {
  const { rxd, txd, lb } = setup();
  lb.hold = true;
  const t1 = txd.add([{ addr: 0n, len: NET_HDR_SIZE + 60 }]);
  txd.add([{ addr: 0n, len: NET_HDR_SIZE + 60 }]);
  assert.equal(lb.run(), 0);
  assert.equal(lb.starved, true);
  assert.equal(lb.publish(), 0);
  assert.deepEqual(txd.takeUsed(), [], "nothing completed, nothing lost");
  assert.equal(readStats(lb.stats).rxDropped, 0);
  const r1 = rxd.add([{ addr: 0x8000n, len: 2048, write: true }]);
  assert.equal(lb.run(), 1, "one frame per RX buffer");
  assert.equal(lb.starved, true);
  lb.publish();
  assert.deepEqual(rxd.takeUsed(), [{ id: r1, len: NET_HDR_SIZE + 60 }]);
  assert.deepEqual(txd.takeUsed(), [{ id: t1, len: 0 }]);
  rxd.add([{ addr: 0x9000n, len: 2048, write: true }]);
  assert.equal(lb.run(), 1);
  assert.equal(lb.starved, false);
  assert.equal(readStats(lb.stats).txPackets, 2);
});
