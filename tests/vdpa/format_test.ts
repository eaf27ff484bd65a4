import assert from "node:assert/strict";
import { decodeAttrs, encodeAttrs } from "../../lib/netlink/mod.ts";
import { type VdpaReply, vdpaReply } from "../../lib/vdpa/client.ts";
import {
  formatDevConfigShow,
  formatDevShow,
  formatDevVstatsShow,
  formatEmpty,
  formatMgmtdevHandle,
  formatMgmtdevShow,
} from "../../lib/vdpa/format.ts";
import { VDPA_ATTRS } from "../../lib/vdpa/uapi.ts";

/** A reply as the kernel would send it: attributes through the codec. */
function reply(
  pairs: [string, number | bigint | string | Uint8Array][],
): VdpaReply {
  return vdpaReply(
    decodeAttrs(encodeAttrs(pairs, VDPA_ATTRS), VDPA_ATTRS),
  );
}

// vdpa_sim_net's management device on 6.12: MAC, STATUS, MTU, CTRL_VQ,
// CTRL_MAC_ADDR, ANY_LAYOUT, VERSION_1, ACCESS_PLATFORM.
const SIM_NET_FEATURES = (1n << 5n) | (1n << 16n) | (1n << 3n) | (1n << 17n) |
  (1n << 23n) |
  (1n << 27n) | (1n << 32n) | (1n << 33n);

const MGMT = [
  reply([
    ["MGMTDEV_DEV_NAME", "vdpasim_net"],
    ["MGMTDEV_SUPPORTED_CLASSES", 2n],
    ["DEV_MGMTDEV_MAX_VQS", 3],
    ["DEV_SUPPORTED_FEATURES", SIM_NET_FEATURES],
  ]),
  reply([
    ["MGMTDEV_BUS_NAME", "pci"],
    ["MGMTDEV_DEV_NAME", "0000:00:04.0"],
    ["MGMTDEV_SUPPORTED_CLASSES", 4n],
    ["DEV_MGMTDEV_MAX_VQS", 1],
    ["DEV_SUPPORTED_FEATURES", (1n << 1n) | (1n << 32n) | (1n << 40n)],
  ]),
];

Deno.test("mgmtdev show, text: iproute2's indentation, trailing space after the handle", () => {
  assert.equal(
    formatMgmtdevShow(MGMT),
    "vdpasim_net: \n" +
      "  supported_classes net\n" +
      "  max_supported_vqs 3\n" +
      "  dev_features MTU MAC STATUS CTRL_VQ CTRL_MAC_ADDR ANY_LAYOUT VERSION_1 ACCESS_PLATFORM\n" +
      "pci/0000:00:04.0: \n" +
      "  supported_classes block\n" +
      "  max_supported_vqs 1\n" +
      "  dev_features bit_1 VERSION_1 bit_40\n",
  );
});

Deno.test("mgmtdev show, -j: unnamed feature bits are numbers, as iproute2 prints them", () => {
  assert.equal(
    formatMgmtdevShow(MGMT, { json: true }),
    '{"mgmtdev":{"vdpasim_net":{"supported_classes":["net"],"max_supported_vqs":3,' +
      '"dev_features":["MTU","MAC","STATUS","CTRL_VQ","CTRL_MAC_ADDR","ANY_LAYOUT","VERSION_1","ACCESS_PLATFORM"]},' +
      '"pci/0000:00:04.0":{"supported_classes":["block"],"max_supported_vqs":1,"dev_features":[1,"VERSION_1",40]}}}\n',
  );
});

Deno.test("mgmtdev show, -jp: json_writer's 4-space indent and '[ a,b ]' arrays", () => {
  assert.equal(
    formatMgmtdevShow(MGMT.slice(0, 1), { json: true, pretty: true }),
    `{
    "mgmtdev": {
        "vdpasim_net": {
            "supported_classes": [ "net" ],
            "max_supported_vqs": 3,
            "dev_features": [ "MTU","MAC","STATUS","CTRL_VQ","CTRL_MAC_ADDR","ANY_LAYOUT","VERSION_1","ACCESS_PLATFORM" ]
        }
    }
}
`,
  );
});

Deno.test("management device handles: NAME, or BUS/NAME (also what completion offers)", () => {
  assert.equal(formatMgmtdevHandle(MGMT[0].rec), "vdpasim_net");
  assert.equal(formatMgmtdevHandle(MGMT[1].rec), "pci/0000:00:04.0");
});

Deno.test("empty results and failures print iproute2's empty section", () => {
  assert.equal(formatDevShow([]), "");
  assert.equal(formatDevShow([], { json: true }), '{"dev":{}}\n');
  assert.equal(
    formatDevShow([], { json: true, pretty: true }),
    '{\n    "dev": {}\n}\n',
  );
  assert.equal(formatEmpty({ json: true }), "\n");
  assert.equal(formatEmpty({ json: true, compat: false }), "");
  assert.equal(formatEmpty({}), "");
});

const DEV = reply([
  ["MGMTDEV_DEV_NAME", "vdpasim_net"],
  ["DEV_NAME", "sim0"],
  ["DEV_ID", 1],
  ["DEV_VENDOR_ID", 0],
  ["DEV_MAX_VQS", 3],
  ["DEV_MAX_VQ_SIZE", 256],
  ["DEV_MIN_VQ_SIZE", 1],
]);

Deno.test("dev show, text and JSON", () => {
  assert.equal(
    formatDevShow([DEV]),
    "sim0: type network mgmtdev vdpasim_net vendor_id 0 max_vqs 3 max_vq_size 256\n",
  );
  assert.equal(
    formatDevShow([DEV], { json: true }),
    '{"dev":{"sim0":{"type":"network","mgmtdev":"vdpasim_net","vendor_id":0,"max_vqs":3,"max_vq_size":256}}}\n',
  );
});

const CONFIG = reply([
  ["DEV_NAME", "sim0"],
  ["DEV_ID", 1],
  ["DEV_NET_CFG_MACADDR", new Uint8Array([0x52, 0x54, 0, 0, 0, 1])],
  ["DEV_NET_STATUS", 1],
  ["DEV_NET_CFG_MTU", 1400],
  ["DEV_NEGOTIATED_FEATURES", (1n << 5n) | (1n << 17n) | (1n << 32n)],
]);

Deno.test("dev config show: text, and the trailing-space keys only in compat mode", () => {
  assert.equal(
    formatDevConfigShow([CONFIG]),
    "sim0: mac 52:54:00:00:00:01 link up link_announce false mtu 1400 \n" +
      "  negotiated_features MAC CTRL_VQ VERSION_1\n",
  );
  const compat = formatDevConfigShow([CONFIG], { json: true });
  assert.equal(
    compat,
    '{"config":{"sim0":{"mac":"52:54:00:00:00:01","link ":"up","link_announce ":false,' +
      '"mtu":1400,"negotiated_features":["MAC","CTRL_VQ","VERSION_1"]}}}\n',
  );
  const fixed = JSON.parse(
    formatDevConfigShow([CONFIG], { json: true, compat: false }),
  );
  assert.deepEqual(fixed.config.sim0, {
    mac: "52:54:00:00:00:01",
    link: "up",
    link_announce: false,
    mtu: 1400,
    negotiated_features: ["MAC", "CTRL_VQ", "VERSION_1"],
  });
});

Deno.test("dev config show of a block device: only the handle (iproute2 6.1 knows no blk config)", () => {
  const blk = reply([["DEV_NAME", "blk0"], ["DEV_ID", 2], [
    "DEV_BLK_CFG_CAPACITY",
    262144n,
  ]]);
  assert.equal(formatDevConfigShow([blk]), "blk0: \n");
  assert.equal(
    formatDevConfigShow([blk], { json: true }),
    '{"config":{"blk0":{}}}\n',
  );
});

function vstats(qidx: number): VdpaReply {
  // The kernel's order: max_vqp (0 without MQ), features, queue index, pairs.
  return reply([
    ["DEV_NAME", "sim0"],
    ["DEV_ID", 1],
    ["DEV_NET_CFG_MAX_VQP", 0],
    ["DEV_NEGOTIATED_FEATURES", (1n << 17n) | (1n << 32n)],
    ["DEV_QUEUE_INDEX", qidx],
    ["DEV_VENDOR_ATTR_NAME", "received_desc"],
    ["DEV_VENDOR_ATTR_VALUE", 5n],
    ["DEV_VENDOR_ATTR_NAME", "completed_desc"],
    ["DEV_VENDOR_ATTR_VALUE", 4n],
  ]);
}

Deno.test("vstats: iproute2 calls qidx 0 control_vq without MQ; the fixed mode does not", () => {
  assert.equal(
    formatDevVstatsShow([vstats(0)]),
    "sim0: queue_type control_vq received_desc 5 completed_desc 4 \n",
  );
  assert.equal(
    formatDevVstatsShow([vstats(0)], { compat: false }),
    "sim0: queue_type rx received_desc 5 completed_desc 4 \n",
  );
  assert.equal(
    formatDevVstatsShow([vstats(2)], { compat: false, json: true }),
    '{"vstats":{"sim0":{"queue_type":"control_vq","received_desc":5,"completed_desc":4}}}\n',
  );
  assert.equal(
    formatDevVstatsShow([vstats(1)], { json: true }),
    '{"vstats":{"sim0":{"queue_type":"tx","received_desc":5,"completed_desc":4}}}\n',
  );
});
