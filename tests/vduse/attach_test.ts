import assert from "node:assert/strict";
import { configFromAttrs } from "../../lib/vduse/attach.ts";

Deno.test("vdpa config attributes decode like the config space", () => {
  assert.deepEqual(
    configFromAttrs(1, {
      DEV_NET_CFG_MACADDR: new Uint8Array([0x52, 0x54, 0, 0, 0, 9]),
      DEV_NET_STATUS: 1,
      DEV_NET_CFG_MAX_VQP: 1,
    }),
    { mac: "52:54:00:00:00:09", link: "up", max_virtqueue_pairs: 1 },
  );
  assert.deepEqual(
    configFromAttrs(2, {
      DEV_BLK_CFG_CAPACITY: 2048n,
      DEV_BLK_CFG_NUM_QUEUES: 2,
    }),
    { capacity_sectors: 2048, capacity: "1 MiB", num_queues: 2 },
  );
  assert.deepEqual(configFromAttrs(3, {}), {});
});
