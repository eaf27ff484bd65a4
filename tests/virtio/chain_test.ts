import assert from "node:assert/strict";
import { Chain, copyChain } from "../../lib/virtio/chain.ts";
import { fill, queueOf, SimDriver } from "./sim.ts";

Deno.test("copyChain copies segment to segment with offsets", () => {
  const drv = new SimDriver(16);
  const { vq } = queueOf(drv);
  fill(drv, 0x100, Uint8Array.from({ length: 30 }, (_, i) => i + 1));
  drv.add([
    { addr: 0x100n, len: 12 },
    { addr: 0x10cn, len: 7 },
    { addr: 0x113n, len: 11 },
  ]);
  drv.add([
    { addr: 0x800n, len: 5, write: true },
    { addr: 0x900n, len: 100, write: true },
  ]);
  const tx = new Chain(16);
  const rx = new Chain(16);
  assert.equal(vq.pop(tx), true);
  assert.equal(vq.pop(rx), true);
  assert.equal(copyChain(tx, rx, { from: 12, to: 12 }), 18);
  const b = drv.bounce.bytes;
  assert.deepEqual(
    [...b.subarray(0x900 + 7, 0x900 + 25)],
    Array.from({ length: 18 }, (_, i) => 13 + i),
  );
  assert.equal(b[0x900 + 25], 0);
  assert.equal(b[0x804], 0);
});
