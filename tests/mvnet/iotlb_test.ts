import assert from "node:assert/strict";
import { IotlbCache } from "../../lib/mvnet/iotlb.ts";
import { ErrnoError, O, open } from "../../lib/sys/mod.ts";
import { type IotlbEntry, VDUSE_ACCESS } from "../../lib/vduse/mod.ts";
import { Chain, SplitQueue } from "../../lib/virtio/mod.ts";

/** A fake IOTLB: entries backed by one temporary file each. */
function fakeIotlb(entries: { start: bigint; size: number; perm: number }[]) {
  const files = entries.map((e) => {
    const path = Deno.makeTempFileSync({ prefix: "mvnet-iotlb-" });
    Deno.truncateSync(path, e.size);
    return path;
  });
  let calls = 0;
  const source = (range: { start: bigint; last: bigint }) => {
    calls++;
    const i = entries.findIndex((e) =>
      range.start >= e.start && range.start < e.start + BigInt(e.size)
    );
    if (i < 0) throw new ErrnoError("ioctl VDUSE_IOTLB_GET_FD", 22);
    const e = entries[i];
    const entry: IotlbEntry = {
      offset: 0n,
      start: e.start,
      last: e.start + BigInt(e.size) - 1n,
      perm: e.perm,
    };
    return { fd: open(files[i], O.RDWR), entry };
  };
  const cleanup = () => files.forEach((f) => Deno.removeSync(f));
  return { source, cleanup, calls: () => calls, files };
}

const HIGH = 0xfffffffffff00000n;

Deno.test("IotlbCache maps entries on demand, once, and finds ranges", () => {
  const f = fakeIotlb([
    { start: 0n, size: 1 << 20, perm: VDUSE_ACCESS.RW },
    { start: HIGH, size: 1 << 16, perm: VDUSE_ACCESS.RW },
  ]);
  const c = new IotlbCache(-1, { source: f.source });
  try {
    const r = c.find(0, 0x1000, 100);
    assert.ok(r);
    assert.equal(r.bytes.length, 1 << 20);
    assert.equal(c.find(0, 0x2000, 10), r, "cached");
    assert.equal(f.calls(), 1);
    assert.equal(c.find(0, (1 << 20) - 4, 8), null, "runs past the end");
    const hi = c.find(0xffffffff, 0xfff00000 + 16, 32);
    assert.ok(hi);
    assert.equal(hi.startHi, 0xffffffff);
    assert.equal(c.mapCount, 2);
    // Writes through the mapping reach the file.
    r.bytes[0x1000] = 0xab;
    const back = Deno.readFileSync(f.files[0]);
    assert.equal(back[0x1000], 0xab);
    assert.equal(c.find(0x12, 0, 1), null, "no entry: null, no throw");
    c.unmapAll();
    assert.equal(c.regions.length, 0);
    assert.ok(c.find(0, 0x1000, 1));
    assert.equal(c.mapCount, 3, "re-mapped after unmapAll");
    assert.equal(c.invalidate(0n, 0xfffn), 1);
    assert.equal(c.regions.length, 0);
  } finally {
    c.unmapAll();
    f.cleanup();
  }
});

Deno.test("IotlbCache reports entry permissions", () => {
  const f = fakeIotlb([
    { start: 0n, size: 4096, perm: VDUSE_ACCESS.RO },
    { start: 0x10000n, size: 4096, perm: VDUSE_ACCESS.RW },
  ]);
  const errors: string[] = [];
  const c = new IotlbCache(-1, {
    source: f.source,
    onError: (m) => errors.push(m),
  });
  try {
    const ro = c.find(0, 0, 1)!;
    assert.equal(ro.readable, true);
    assert.equal(ro.writable, false);
    const rw = c.find(0, 0x10000, 1)!;
    assert.equal(rw.writable, true);
    assert.equal(c.find(0, 0x20000, 1), null);
    assert.equal(c.find(0, 0x20000, 1), null);
    assert.equal(errors.length, 1, "a missing entry is reported once");
  } finally {
    c.unmapAll();
    f.cleanup();
  }
});

Deno.test("a SplitQueue runs over IotlbCache memory (rings in a high entry)", () => {
  const f = fakeIotlb([
    { start: 0n, size: 1 << 16, perm: VDUSE_ACCESS.RW },
    { start: HIGH, size: 3 * 4096, perm: VDUSE_ACCESS.RW },
  ]);
  const c = new IotlbCache(-1, { source: f.source });
  try {
    const rings = { desc: HIGH, driver: HIGH + 4096n, device: HIGH + 8192n };
    const vq = new SplitQueue({ num: 8, rings, memory: c });
    assert.equal(vq.broken, null);
    const ring = c.find(0xffffffff, 0xfff00000, 3 * 4096)!.bytes;
    const dv = new DataView(ring.buffer, ring.byteOffset);
    dv.setBigUint64(0, 0x100n, true); // desc 0: addr
    dv.setUint32(8, 4, true); // len
    dv.setUint16(4096 + 4, 0, true); // avail ring[0] = 0
    dv.setUint16(4096 + 2, 1, true); // avail idx = 1
    const chain = new Chain(8);
    assert.equal(vq.pop(chain), true);
    assert.equal(chain.readableBytes, 4);
    vq.push(chain.head, 0);
    assert.equal(vq.publish(), true);
    assert.equal(dv.getUint16(8192 + 2, true), 1, "used idx published");
  } finally {
    c.unmapAll();
    f.cleanup();
  }
});
