import assert from "node:assert/strict";
import { featureName } from "../../lib/vdpa/feature_names.ts";
import { VIRTIO_ID } from "../../lib/virtio/mod.ts";

Deno.test("feature names: transport bits for every type, device bits for net only", () => {
  assert.equal(featureName(32, VIRTIO_ID.NET), "VERSION_1");
  assert.equal(featureName(32, VIRTIO_ID.BLOCK), "VERSION_1");
  assert.equal(featureName(29, 0), "RING_EVENT_IDX");
  assert.equal(featureName(5, VIRTIO_ID.NET), "MAC");
  assert.equal(featureName(63, VIRTIO_ID.NET), "SPEED_DUPLEX");
  assert.equal(featureName(5, VIRTIO_ID.BLOCK), undefined);
  // Inside the transport range only the transport table counts.
  assert.equal(featureName(40, VIRTIO_ID.NET), undefined);
  assert.equal(featureName(4, VIRTIO_ID.NET), undefined);
});
