import assert from "node:assert/strict";
import {
  VDUSE_DEV_CONFIG,
  VDUSE_DEV_REQUEST,
  VDUSE_DEV_RESPONSE,
  VDUSE_IOCTL,
  VDUSE_IOTLB_ENTRY,
  VDUSE_LAYOUTS,
  VDUSE_VQ_CONFIG,
  VDUSE_VQ_INFO,
} from "../../lib/vduse/uapi.ts";
import {
  featureBit,
  featureNames,
  VIRTIO_F,
  VIRTIO_ID,
  VIRTIO_LAYOUTS,
  VIRTIO_NET_CONFIG,
  VIRTIO_NET_F,
  VIRTIO_NET_HDR_V1,
  vringAreaSizes,
} from "../../lib/virtio/mod.ts";

Deno.test("computed VDUSE ioctl numbers equal those measured on 6.12", () => {
  // The numbers measured on the real kernel (vduse-kernel-facts.md).
  const measured: Record<keyof typeof VDUSE_IOCTL, bigint> = {
    GET_API_VERSION: 0x80088100n,
    SET_API_VERSION: 0x40088101n,
    CREATE_DEV: 0x41508102n,
    DESTROY_DEV: 0x41008103n,
    IOTLB_GET_FD: 0xc0208110n,
    DEV_GET_FEATURES: 0x80088111n,
    DEV_SET_CONFIG: 0x40088112n,
    DEV_INJECT_CONFIG_IRQ: 0x00008113n,
    VQ_SETUP: 0x40208114n,
    VQ_GET_INFO: 0xc0308115n,
    VQ_SETUP_KICKFD: 0x40088116n,
    VQ_INJECT_IRQ: 0x40048117n,
    IOTLB_REG_UMEM: 0x40308118n,
    IOTLB_DEREG_UMEM: 0x40308119n,
    IOTLB_GET_INFO: 0xc030811an,
  };
  for (const [name, value] of Object.entries(measured)) {
    const computed = VDUSE_IOCTL[name as keyof typeof VDUSE_IOCTL];
    assert.equal(
      computed,
      value,
      `VDUSE_${name}: 0x${computed.toString(16)} != 0x${value.toString(16)}`,
    );
  }
  assert.equal(Object.keys(VDUSE_IOCTL).length, Object.keys(measured).length);
});

Deno.test("VDUSE struct sizes and key offsets match the facts", () => {
  assert.equal(VDUSE_DEV_CONFIG.size, 336);
  assert.equal(VDUSE_DEV_CONFIG.fields.features.offset, 264);
  assert.equal(VDUSE_DEV_CONFIG.fields.config_size.offset, 332);
  assert.equal(VDUSE_IOTLB_ENTRY.size, 32);
  assert.equal(VDUSE_IOTLB_ENTRY.fields.perm.offset, 24);
  assert.equal(VDUSE_VQ_CONFIG.size, 32);
  assert.equal(VDUSE_VQ_INFO.size, 48);
  assert.equal(VDUSE_VQ_INFO.fields.avail_index.offset, 32);
  assert.equal(VDUSE_VQ_INFO.fields.avail_index.cName, "split.avail_index");
  assert.equal(VDUSE_VQ_INFO.fields.ready.offset, 40);
  assert.equal(VDUSE_DEV_REQUEST.size, 152);
  assert.equal(VDUSE_DEV_RESPONSE.size, 152);
  assert.equal(VDUSE_DEV_REQUEST.fields.status.offset, 24);
  assert.equal(VIRTIO_NET_CONFIG.size, 24);
  assert.equal(VIRTIO_NET_CONFIG.fields.mtu.offset, 10);
  assert.equal(VIRTIO_NET_HDR_V1.size, 12);
});

Deno.test("every layout names its header and a C struct type", () => {
  for (const l of [...VDUSE_LAYOUTS, ...VIRTIO_LAYOUTS]) {
    assert.match(l.cType, /^struct [a-z0-9_]+$/);
    assert.match(l.header, /^linux\/[a-z0-9_]+\.h$/);
  }
});

Deno.test("feature names decode device and transport bits", () => {
  const f = featureBit(VIRTIO_NET_F.MAC) | featureBit(VIRTIO_NET_F.STATUS) |
    featureBit(VIRTIO_F.VERSION_1) | featureBit(VIRTIO_F.ACCESS_PLATFORM) |
    featureBit(42);
  assert.deepEqual(featureNames(f, VIRTIO_ID.NET), [
    "MAC",
    "STATUS",
    "VERSION_1",
    "ACCESS_PLATFORM",
    "bit42",
  ]);
  // Bit 5 is RO for a block device.
  assert.deepEqual(featureNames(featureBit(5), VIRTIO_ID.BLOCK), ["RO"]);
});

Deno.test("split ring area sizes", () => {
  assert.deepEqual(vringAreaSizes(256), {
    desc: 4096,
    avail: 4 + 512 + 2,
    used: 4 + 2048 + 2,
  });
});
