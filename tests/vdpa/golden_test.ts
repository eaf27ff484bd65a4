/**
 * Golden replies recorded on the real 6.12 kernel in the sandbox
 * (vdpa_sim_net device sim0 with mac 52:54:00:00:00:01 and mtu 1400,
 * vdpa_sim_blk device blk0, virtio_vdpa + virtio_net bound), with what
 * iproute2 6.1's `vdpa` printed for them (text, -j, -jp). The host replays
 * the kernel's bytes through the codec and the formatters: same bytes out.
 * tests/e2e/vdpa_test.ts makes the same comparison live.
 *
 * @module
 */

import assert from "node:assert/strict";
import { decodeGenl } from "../../lib/netlink/mod.ts";
import { type VdpaReply, vdpaReply } from "../../lib/vdpa/client.ts";
import {
  formatDevConfigShow,
  formatDevShow,
  formatDevVstatsShow,
  formatMgmtdevShow,
  type VdpaFormatOptions,
} from "../../lib/vdpa/format.ts";
import { VDPA_ATTRS, VDPA_CMD } from "../../lib/vdpa/uapi.ts";

interface Golden {
  /** The vdpa command line. */
  args: string[];
  /** Each reply message's payload (genl header + attributes), hex. */
  replies: string[];
  /** iproute2's stdout for text, -j and -jp. */
  text: string;
  json: string;
  pretty: string;
}
const GOLDEN: Record<string, Golden> = {
  "mgmtdev": {
    "args": [
      "mgmtdev",
      "show",
    ],
    "replies": [
      "01010000100002007664706173696d5f6e6574000c000300020000000000000008000f00030000000c0010002800830803000000",
      "01010000100002007664706173696d5f626c6b000c000300040000000000000008000f00000000000c0010000000000000000000",
      "010100000a00020076647573650000000c000300060000000000000008000f00000000000c0010000000000000000000",
    ],
    "text":
      "vdpasim_net: \n  supported_classes net\n  max_supported_vqs 3\n  dev_features MTU MAC STATUS CTRL_VQ CTRL_MAC_ADDR ANY_LAYOUT VERSION_1 ACCESS_PLATFORM\nvdpasim_blk: \n  supported_classes block\n  max_supported_vqs 0\n  dev_features\nvduse: \n  supported_classes net block\n  max_supported_vqs 0\n  dev_features\n",
    "json":
      '{"mgmtdev":{"vdpasim_net":{"supported_classes":["net"],"max_supported_vqs":3,"dev_features":["MTU","MAC","STATUS","CTRL_VQ","CTRL_MAC_ADDR","ANY_LAYOUT","VERSION_1","ACCESS_PLATFORM"]},"vdpasim_blk":{"supported_classes":["block"],"max_supported_vqs":0,"dev_features":[]},"vduse":{"supported_classes":["net","block"],"max_supported_vqs":0,"dev_features":[]}}}\n',
    "pretty":
      '{\n    "mgmtdev": {\n        "vdpasim_net": {\n            "supported_classes": [ "net" ],\n            "max_supported_vqs": 3,\n            "dev_features": [ "MTU","MAC","STATUS","CTRL_VQ","CTRL_MAC_ADDR","ANY_LAYOUT","VERSION_1","ACCESS_PLATFORM" ]\n        },\n        "vdpasim_blk": {\n            "supported_classes": [ "block" ],\n            "max_supported_vqs": 0,\n            "dev_features": [ ]\n        },\n        "vduse": {\n            "supported_classes": [ "net","block" ],\n            "max_supported_vqs": 0,\n            "dev_features": [ ]\n        }\n    }\n}\n',
  },
  "dev": {
    "args": [
      "dev",
      "show",
    ],
    "replies": [
      "03010000100002007664706173696d5f6e6574000900040073696d300000000008000500010000000800060000000000080007000300000006000800000100000600090001000000",
      "03010000100002007664706173696d5f626c6b0009000400626c6b300000000008000500020000000800060000000000080007000100000006000800000100000600090001000000",
    ],
    "text":
      "sim0: type network mgmtdev vdpasim_net vendor_id 0 max_vqs 3 max_vq_size 256\nblk0: type block mgmtdev vdpasim_blk vendor_id 0 max_vqs 1 max_vq_size 256\n",
    "json":
      '{"dev":{"sim0":{"type":"network","mgmtdev":"vdpasim_net","vendor_id":0,"max_vqs":3,"max_vq_size":256},"blk0":{"type":"block","mgmtdev":"vdpasim_blk","vendor_id":0,"max_vqs":1,"max_vq_size":256}}}\n',
    "pretty":
      '{\n    "dev": {\n        "sim0": {\n            "type": "network",\n            "mgmtdev": "vdpasim_net",\n            "vendor_id": 0,\n            "max_vqs": 3,\n            "max_vq_size": 256\n        },\n        "blk0": {\n            "type": "block",\n            "mgmtdev": "vdpasim_blk",\n            "vendor_id": 0,\n            "max_vqs": 1,\n            "max_vq_size": 256\n        }\n    }\n}\n',
  },
  "config": {
    "args": [
      "dev",
      "config",
      "show",
    ],
    "replies": [
      "060100000900040073696d300000000008000500010000000c000e0028008300030000000c001400280083080300000006000d00780500000a000a00525400000001000006000b0001000000",
      "0601000009000400626c6b300000000008000500020000000c00140046760008030000000c0015000000040000000000080016000010000008001700000200000800180020000000060019000100000005001a000000000005001b000000000006001c000100000008001d000100000008001e00ffffffff08001f0001000000080020000002000008002100ffffffff080022000100000005002300000000000500240001000000",
    ],
    "text":
      "sim0: mac 52:54:00:00:00:01 link up link_announce false mtu 1400 \n  negotiated_features MTU MAC STATUS CTRL_VQ CTRL_MAC_ADDR VERSION_1 ACCESS_PLATFORM\nblk0: \n",
    "json":
      '{"config":{"sim0":{"mac":"52:54:00:00:00:01","link ":"up","link_announce ":false,"mtu":1400,"negotiated_features":["MTU","MAC","STATUS","CTRL_VQ","CTRL_MAC_ADDR","VERSION_1","ACCESS_PLATFORM"]},"blk0":{}}}\n',
    "pretty":
      '{\n    "config": {\n        "sim0": {\n            "mac": "52:54:00:00:00:01",\n            "link ": "up",\n            "link_announce ": false,\n            "mtu": 1400,\n            "negotiated_features": [ "MTU","MAC","STATUS","CTRL_VQ","CTRL_MAC_ADDR","VERSION_1","ACCESS_PLATFORM" ]\n        },\n        "blk0": {}\n    }\n}\n',
  },
  "vstats0": {
    "args": [
      "dev",
      "vstats",
      "show",
      "sim0",
      "qidx",
      "0",
    ],
    "replies": [
      "070100000900040073696d300000000008000500010000000c000e00280083000300000008001100000000000f0012007278207061636b65747300000c00130000000000000000000d0012007278206279746573000000000c00130000000000000000000e0012007278206572726f72730000000c0013000000000000000000100012007278206f76657272756e73000c00130000000000000000000d00120072782064726f7073000000000c0013000000000000000000",
    ],
    "text":
      "sim0: queue_type control_vq rx packets 0 rx bytes 0 rx errors 0 rx overruns 0 rx drops 0 \n",
    "json":
      '{"vstats":{"sim0":{"queue_type":"control_vq","rx packets":0,"rx bytes":0,"rx errors":0,"rx overruns":0,"rx drops":0}}}\n',
    "pretty":
      '{\n    "vstats": {\n        "sim0": {\n            "queue_type": "control_vq",\n            "rx packets": 0,\n            "rx bytes": 0,\n            "rx errors": 0,\n            "rx overruns": 0,\n            "rx drops": 0\n        }\n    }\n}\n',
  },
  "vstats1": {
    "args": [
      "dev",
      "vstats",
      "show",
      "sim0",
      "qidx",
      "1",
    ],
    "replies": [
      "070100000900040073696d300000000008000500010000000c000e00280083000300000008001100010000000f0012007478207061636b65747300000c00130000000000000000000d0012007478206279746573000000000c00130000000000000000000e0012007478206572726f72730000000c00130000000000000000000d00120074782064726f7073000000000c0013000000000000000000",
    ],
    "text":
      "sim0: queue_type tx tx packets 0 tx bytes 0 tx errors 0 tx drops 0 \n",
    "json":
      '{"vstats":{"sim0":{"queue_type":"tx","tx packets":0,"tx bytes":0,"tx errors":0,"tx drops":0}}}\n',
    "pretty":
      '{\n    "vstats": {\n        "sim0": {\n            "queue_type": "tx",\n            "tx packets": 0,\n            "tx bytes": 0,\n            "tx errors": 0,\n            "tx drops": 0\n        }\n    }\n}\n',
  },
  "vstats2": {
    "args": [
      "dev",
      "vstats",
      "show",
      "sim0",
      "qidx",
      "2",
    ],
    "replies": [
      "070100000900040073696d300000000008000500010000000c000e002800830003000000080011000200000011001200637671207265717565737473000000000c001300000000000000000012001200637671207375636365737365730000000c00130000000000000000000f001200637671206572726f727300000c0013000000000000000000",
    ],
    "text":
      "sim0: queue_type rx cvq requests 0 cvq successes 0 cvq errors 0 \n",
    "json":
      '{"vstats":{"sim0":{"queue_type":"rx","cvq requests":0,"cvq successes":0,"cvq errors":0}}}\n',
    "pretty":
      '{\n    "vstats": {\n        "sim0": {\n            "queue_type": "rx",\n            "cvq requests": 0,\n            "cvq successes": 0,\n            "cvq errors": 0\n        }\n    }\n}\n',
  },
};

function replies(g: Golden): VdpaReply[] {
  return g.replies.map((h) => {
    const payload = new Uint8Array(h.match(/../g)!.map((x) => parseInt(x, 16)));
    return vdpaReply(
      decodeGenl({ type: 0, flags: 0, seq: 0, pid: 0, payload }, VDPA_ATTRS)
        .attrs,
    );
  });
}

type Format = (r: readonly VdpaReply[], o: VdpaFormatOptions) => string;

const FORMATS: Record<string, Format> = {
  mgmtdev: formatMgmtdevShow,
  dev: formatDevShow,
  config: formatDevConfigShow,
  vstats0: formatDevVstatsShow,
  vstats1: formatDevVstatsShow,
  vstats2: formatDevVstatsShow,
};

for (const [key, g] of Object.entries(GOLDEN)) {
  Deno.test(`golden: vdpa ${g.args.join(" ")} — text, -j, -jp byte-identical to iproute2`, () => {
    const r = replies(g);
    const format = FORMATS[key];
    assert.equal(format(r, {}), g.text);
    assert.equal(format(r, { json: true }), g.json);
    assert.equal(format(r, { json: true, pretty: true }), g.pretty);
  });
}

Deno.test("golden replies decode: kernel genl commands, 6.12-only attributes kept", () => {
  const [mgmt] = replies(GOLDEN.mgmtdev);
  assert.equal(mgmt.rec.MGMTDEV_DEV_NAME, "vdpasim_net");
  assert.equal(mgmt.rec.DEV_MGMTDEV_MAX_VQS, 3);
  const cfg = replies(GOLDEN.config);
  assert.deepEqual(
    cfg[0].rec.DEV_NET_CFG_MACADDR,
    new Uint8Array([0x52, 0x54, 0, 0, 0, 1]),
  );
  assert.equal(cfg[0].rec.DEV_NET_CFG_MTU, 1400);
  assert.equal(cfg[0].rec.DEV_NET_STATUS, 1);
  // The blk config attributes (ids above iproute2 6.1's maximum) decode with names.
  assert.equal(cfg[1].rec.DEV_BLK_CFG_CAPACITY, 262144n);
  assert.equal(cfg[1].rec.DEV_BLK_CFG_BLK_SIZE, 512);
  assert.equal(cfg[1].rec.DEV_BLK_FLUSH, 1);
  // Without MQ the kernel sends no max_vqp in vstats: iproute2's control_vq quirk.
  const [q0] = replies(GOLDEN.vstats0);
  assert.equal(q0.rec.DEV_NET_CFG_MAX_VQP, undefined);
  assert.equal(
    formatDevVstatsShow([q0], { compat: false }).split(" ")[2],
    "rx",
  );
  const first = GOLDEN.dev.replies[0];
  assert.equal(parseInt(first.slice(0, 2), 16), VDPA_CMD.DEV_NEW);
});
