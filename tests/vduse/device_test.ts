import assert from "node:assert/strict";
import {
  decodeDevConfig,
  decodeIotlbEntry,
  decodeRequest,
  encodeDevConfig,
  encodeResponse,
} from "../../lib/vduse/device.ts";
import { buildSpec, toDevConfig } from "../../lib/vduse/spec.ts";
import { StructView } from "../../lib/sys/mod.ts";
import {
  VDUSE_DEV_CONFIG,
  VDUSE_DEV_REQUEST,
  VDUSE_DEV_RESPONSE,
  VDUSE_IOTLB_ENTRY,
  VDUSE_REQ,
  VDUSE_REQ_RESULT,
} from "../../lib/vduse/uapi.ts";

Deno.test("CREATE_DEV argument: header fields, NUL-terminated name, config appended", () => {
  const spec = buildSpec("vnet0", { type: "net", mac: "52:54:00:00:00:01" });
  const bytes = encodeDevConfig(toDevConfig(spec));
  assert.equal(bytes.length, 336 + 24);
  const v = new StructView(VDUSE_DEV_CONFIG, bytes);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 5)), "vnet0");
  assert.equal(bytes[5], 0);
  assert.equal(v.get("device_id"), 1);
  assert.equal(v.getBig("features"), spec.features);
  assert.equal(v.get("vq_num"), 2);
  assert.equal(v.get("vq_align"), 4096);
  assert.equal(v.get("config_size"), 24);
  for (let i = 0; i < 13; i++) assert.equal(v.get("reserved", i), 0);
  assert.deepEqual(bytes.subarray(336), spec.config);
  const back = decodeDevConfig(bytes);
  assert.equal(back.name, "vnet0");
  assert.equal(back.features, spec.features);
  assert.deepEqual([...back.config], [...spec.config]);
  assert.throws(
    () => encodeDevConfig({ ...toDevConfig(spec), name: "" }),
    RangeError,
  );
});

Deno.test("requests decode by type; responses encode with zeroed reserved words", () => {
  const req = new Uint8Array(152);
  const v = new StructView(VDUSE_DEV_REQUEST, req);
  v.set("type", VDUSE_REQ.SET_STATUS).set("request_id", 7).set("status", 0x0f);
  assert.deepEqual(decodeRequest(req), {
    kind: "set_status",
    type: 1,
    requestId: 7,
    status: 0x0f,
  });
  v.set("type", VDUSE_REQ.GET_VQ_STATE).set("request_id", 8).set("vq_index", 1);
  assert.deepEqual(decodeRequest(req), {
    kind: "get_vq_state",
    type: 0,
    requestId: 8,
    vqIndex: 1,
  });
  v.set("type", VDUSE_REQ.UPDATE_IOTLB).set("request_id", 9)
    .set("iova_start", 0n).set("iova_last", 0xffffffffffffffffn);
  assert.deepEqual(decodeRequest(req), {
    kind: "update_iotlb",
    type: 2,
    requestId: 9,
    start: 0n,
    last: 0xffffffffffffffffn,
  });
  v.set("type", 99);
  assert.equal(decodeRequest(req).kind, "unknown");

  const dirty = new Uint8Array(152).fill(0xaa);
  const resp = encodeResponse(
    { requestId: 8, result: VDUSE_REQ_RESULT.OK, vqIndex: 1, availIndex: 513 },
    dirty,
  );
  assert.equal(resp, dirty);
  const r = new StructView(VDUSE_DEV_RESPONSE, resp);
  assert.equal(r.get("request_id"), 8);
  assert.equal(r.get("result"), 0);
  assert.equal(r.get("vq_index"), 1);
  assert.equal(r.get("avail_index"), 513);
  for (let i = 0; i < 4; i++) assert.equal(r.get("reserved", i), 0);
  assert.ok(resp.subarray(30).every((b) => b === 0));
  assert.equal(encodeResponse({ requestId: 1, result: 1 }).length, 152);
});

Deno.test("IOTLB entry decoding", () => {
  const b = new Uint8Array(32);
  new StructView(VDUSE_IOTLB_ENTRY, b).set("offset", 0x1000n)
    .set("start", 0x4000_0000n).set("last", 0x4000_0fffn).set("perm", 3);
  assert.deepEqual(decodeIotlbEntry(b), {
    offset: 0x1000n,
    start: 0x4000_0000n,
    last: 0x4000_0fffn,
    perm: 3,
  });
});
