import assert from "node:assert/strict";
import { decodeAttrs, encodeAttrs } from "../../lib/netlink/mod.ts";
import { type VdpaReply, vdpaReply } from "../../lib/vdpa/client.ts";
import { formatDevConfigShow, formatDevShow } from "../../lib/vdpa/format.ts";
import { VDPA_ATTRS } from "../../lib/vdpa/uapi.ts";

// What the kernel reports and iproute2 ignores: only in the clean form.

function reply(
  pairs: [string, number | bigint | string | Uint8Array][],
): VdpaReply {
  return vdpaReply(decodeAttrs(encodeAttrs(pairs, VDPA_ATTRS), VDPA_ATTRS));
}

const CLEAN = { compat: false };
const BLK_FEATURES = (1n << 2n) | (1n << 6n) | (1n << 9n) | (1n << 13n) |
  (1n << 32n);

const BLK = reply([
  ["DEV_NAME", "blk0"],
  ["DEV_ID", 2],
  ["DEV_NEGOTIATED_FEATURES", BLK_FEATURES],
  ["DEV_FEATURES", BLK_FEATURES | (1n << 14n)],
  ["DEV_BLK_CFG_CAPACITY", 262144n],
  ["DEV_BLK_CFG_BLK_SIZE", 512],
  ["DEV_BLK_CFG_SEG_MAX", 126],
  ["DEV_BLK_CFG_NUM_QUEUES", 1],
  ["DEV_BLK_CFG_MAX_DISCARD_SEC", 4294967295],
  ["DEV_BLK_READ_ONLY", 0],
  ["DEV_BLK_FLUSH", 1],
]);

Deno.test("dev config show, block device: iproute2 prints only the handle, the clean form the config", () => {
  assert.equal(formatDevConfigShow([BLK]), "blk0: \n");
  assert.equal(
    formatDevConfigShow([BLK], { json: true }),
    '{"config":{"blk0":{}}}\n',
  );
  assert.equal(
    formatDevConfigShow([BLK], CLEAN),
    "blk0: capacity 262144 blk_size 512 seg_max 126 num_queues 1 " +
      "max_discard_sectors 4294967295 read_only false flush true \n" +
      "  negotiated_features SEG_MAX BLK_SIZE FLUSH DISCARD VERSION_1\n" +
      "  device_features SEG_MAX BLK_SIZE FLUSH DISCARD WRITE_ZEROES VERSION_1\n",
  );
  const j = JSON.parse(formatDevConfigShow([BLK], { ...CLEAN, json: true }));
  assert.deepEqual(j.config.blk0, {
    capacity: 262144,
    blk_size: 512,
    seg_max: 126,
    num_queues: 1,
    max_discard_sectors: 4294967295,
    read_only: false,
    flush: true,
    negotiated_features: [
      "SEG_MAX",
      "BLK_SIZE",
      "FLUSH",
      "DISCARD",
      "VERSION_1",
    ],
    device_features: [
      "SEG_MAX",
      "BLK_SIZE",
      "FLUSH",
      "DISCARD",
      "WRITE_ZEROES",
      "VERSION_1",
    ],
  });
});

Deno.test("dev config show, net: the provisioned device_features follow iproute2's fields", () => {
  const net = reply([
    ["DEV_NAME", "sim0"],
    ["DEV_ID", 1],
    ["DEV_NET_CFG_MTU", 1500],
    ["DEV_FEATURES", (1n << 5n) | (1n << 32n)],
  ]);
  assert.equal(formatDevConfigShow([net]), "sim0: mtu 1500 \n");
  assert.equal(
    formatDevConfigShow([net], CLEAN),
    "sim0: mtu 1500 \n  device_features MAC VERSION_1\n",
  );
});

Deno.test("dev show: min_vq_size and the bus binding in the clean form only", () => {
  const dev = reply([
    ["DEV_NAME", "sim0"],
    ["DEV_ID", 1],
    ["MGMTDEV_DEV_NAME", "vdpasim_net"],
    ["DEV_VENDOR_ID", 0],
    ["DEV_MAX_VQS", 3],
    ["DEV_MAX_VQ_SIZE", 256],
    ["DEV_MIN_VQ_SIZE", 64],
  ]);
  const binding = (name: string) => ({
    driver: name === "sim0" ? "vhost_vdpa" : undefined,
    vhostDev: "/dev/vhost-vdpa-0",
    netdevs: [],
    disks: [],
  });
  const base =
    "sim0: type network mgmtdev vdpasim_net vendor_id 0 max_vqs 3 max_vq_size 256";
  assert.equal(formatDevShow([dev], { binding }), `${base}\n`);
  assert.equal(
    formatDevShow([dev], { ...CLEAN, binding }),
    `${base} min_vq_size 64 driver vhost_vdpa vhost_dev /dev/vhost-vdpa-0\n`,
  );
  const j = JSON.parse(formatDevShow([dev], { ...CLEAN, binding, json: true }));
  assert.equal(j.dev.sim0.min_vq_size, 64);
  assert.equal(j.dev.sim0.driver, "vhost_vdpa");
  assert.equal(j.dev.sim0.vhost_dev, "/dev/vhost-vdpa-0");
  const unbound = formatDevShow([dev], {
    ...CLEAN,
    binding: () => ({ netdevs: ["eth0"], disks: [] }),
  });
  assert.match(unbound, / driver none netdev eth0\n$/);
});
