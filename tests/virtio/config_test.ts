import assert from "node:assert/strict";
import {
  decodeConfig,
  encodeBlkConfig,
  encodeNetConfig,
} from "../../lib/virtio/config.ts";
import { StructView } from "../../lib/sys/mod.ts";
import {
  featureBit,
  VIRTIO_BLK_CONFIG,
  VIRTIO_BLK_F,
  VIRTIO_ID,
  VIRTIO_NET_CONFIG,
  VIRTIO_NET_F,
} from "../../lib/virtio/uapi.ts";

const bit = featureBit;
const mac = new Uint8Array([0x52, 0x54, 0, 0x12, 0x34, 0x56]);

Deno.test("net config: MAC, link, one queue pair, MTU, unknown speed", () => {
  const bytes = encodeNetConfig({ mac, mtu: 1500 });
  assert.equal(bytes.length, VIRTIO_NET_CONFIG.size);
  const v = new StructView(VIRTIO_NET_CONFIG, bytes);
  assert.deepEqual([...v.slice("mac")], [...mac]);
  assert.equal(v.get("status"), 1);
  assert.equal(v.get("max_virtqueue_pairs"), 1);
  assert.equal(v.get("mtu"), 1500);
  assert.equal(v.get("speed"), 0xffffffff);
  assert.equal(v.get("duplex"), 0xff);
  assert.equal(
    new StructView(VIRTIO_NET_CONFIG, encodeNetConfig({ linkUp: false }))
      .get("status"),
    0,
  );
});

Deno.test("net config decodes only the fields its features offer", () => {
  const bytes = encodeNetConfig({ mac, mtu: 9000 });
  const all = bit(VIRTIO_NET_F.MAC) | bit(VIRTIO_NET_F.STATUS) |
    bit(VIRTIO_NET_F.MTU);
  assert.deepEqual(decodeConfig(VIRTIO_ID.NET, bytes, all), {
    mac: "52:54:00:12:34:56",
    link: "up",
    max_virtqueue_pairs: 1,
    mtu: 9000,
  });
  assert.deepEqual(decodeConfig(VIRTIO_ID.NET, bytes, 0n), {
    max_virtqueue_pairs: 1,
  });
});

Deno.test("block config: capacity in sectors, optional fields by feature", () => {
  const bytes = encodeBlkConfig({ capacity: 1n << 30n, numQueues: 4 });
  assert.equal(bytes.length, VIRTIO_BLK_CONFIG.size);
  assert.equal(
    new StructView(VIRTIO_BLK_CONFIG, bytes).getBig("capacity"),
    (1n << 30n) / 512n,
  );
  assert.deepEqual(decodeConfig(VIRTIO_ID.BLOCK, bytes, 0n), {
    capacity_sectors: 2097152,
    capacity: "1 GiB",
  });
  assert.deepEqual(
    decodeConfig(VIRTIO_ID.BLOCK, bytes, bit(VIRTIO_BLK_F.MQ)).num_queues,
    4,
  );
  // A short block config (capacity only) is padded before decoding.
  assert.deepEqual(decodeConfig(VIRTIO_ID.BLOCK, bytes.subarray(0, 8), 0n), {
    capacity_sectors: 2097152,
    capacity: "1 GiB",
  });
});

Deno.test("other devices and short config spaces: only the size", () => {
  assert.deepEqual(decodeConfig(VIRTIO_ID.NET, new Uint8Array(4), 0n), {
    bytes: 4,
  });
  assert.deepEqual(decodeConfig(99, new Uint8Array(16), 0n), { bytes: 16 });
});
