import assert from "node:assert/strict";
import {
  BLK_DEFAULT_FEATURES,
  buildSpec,
  NET_DEFAULT_FEATURES,
  validateName,
} from "../../lib/vduse/spec.ts";
import { StructView } from "../../lib/sys/mod.ts";
import { formatMac } from "../../lib/mac.ts";
import { parseSize } from "../../lib/cli_values.ts";
import {
  decodeConfig,
  featureBit,
  VIRTIO_BLK_CONFIG,
  VIRTIO_BLK_F,
  VIRTIO_F,
  VIRTIO_NET_CONFIG,
  VIRTIO_NET_F,
} from "../../lib/virtio/mod.ts";
import { refuses } from "../refuses.ts";

const bit = featureBit;

Deno.test("net spec: defaults, MAC and MTU set their features and config", () => {
  const spec = buildSpec("vnet0", {
    type: "net",
    mac: "52:54:00:12:34:56",
    mtu: 1500,
  });
  assert.equal(spec.deviceId, 1);
  assert.equal(
    spec.features,
    NET_DEFAULT_FEATURES | bit(VIRTIO_NET_F.MAC) | bit(VIRTIO_NET_F.MTU),
  );
  assert.deepEqual(spec.queueSizes, [256, 256]);
  const v = new StructView(VIRTIO_NET_CONFIG, spec.config);
  assert.equal(spec.config.length, 24);
  assert.equal(formatMac(v.slice("mac")), "52:54:00:12:34:56");
  assert.equal(v.get("status"), 1); // LINK_UP
  assert.equal(v.get("max_virtqueue_pairs"), 1);
  assert.equal(v.get("mtu"), 1500);
  assert.deepEqual(decodeConfig(1, spec.config, spec.features), {
    mac: "52:54:00:12:34:56",
    link: "up",
    max_virtqueue_pairs: 1,
    mtu: 1500,
  });
});

Deno.test("blk spec: capacity in sectors, MQ with several queues", () => {
  const spec = buildSpec("vblk0", {
    type: "blk",
    capacity: parseSize("64M"),
    queues: 4,
    queueSize: 128,
  });
  assert.equal(spec.deviceId, 2);
  assert.equal(spec.features, BLK_DEFAULT_FEATURES | bit(VIRTIO_BLK_F.MQ));
  assert.deepEqual(spec.queueSizes, [128, 128, 128, 128]);
  const v = new StructView(VIRTIO_BLK_CONFIG, spec.config);
  assert.equal(v.getBig("capacity"), 131072n);
  assert.equal(v.get("num_queues"), 4);
  assert.deepEqual(decodeConfig(2, spec.config, spec.features), {
    capacity_sectors: 131072,
    capacity: "64 MiB",
    num_queues: 4,
  });
  const one = buildSpec("vblk1", { type: "blk" });
  assert.equal(one.features, BLK_DEFAULT_FEATURES);
  assert.equal(
    new StructView(VIRTIO_BLK_CONFIG, one.config).getBig("capacity"),
    (1n << 30n) / 512n,
  );
});

Deno.test("refusals before the kernel, each with its reason", () => {
  const vp = bit(VIRTIO_F.VERSION_1) | bit(VIRTIO_F.ACCESS_PLATFORM);
  refuses(
    () =>
      buildSpec("n", { type: "net", features: bit(VIRTIO_F.ACCESS_PLATFORM) }),
    /must offer VERSION_1 \(bit 32\)/,
  );
  refuses(
    () => buildSpec("n", { type: "net", features: bit(VIRTIO_F.VERSION_1) }),
    /ACCESS_PLATFORM \(bit 33\)/,
  );
  refuses(
    () => buildSpec("b", { type: "blk", features: bit(VIRTIO_F.VERSION_1) }),
    /ACCESS_PLATFORM/,
  );
  refuses(
    () =>
      buildSpec("n", { type: "net", features: vp | bit(VIRTIO_NET_F.CTRL_VQ) }),
    /CTRL_VQ \(bit 17\).*no control virtqueue/,
  );
  refuses(
    () => buildSpec("n", { type: "net", features: vp | bit(VIRTIO_NET_F.MQ) }),
    /MQ \(bit 22\) needs the control virtqueue/,
  );
  refuses(
    () =>
      buildSpec("n", { type: "net", features: vp | bit(VIRTIO_NET_F.CTRL_RX) }),
    /CTRL_RX \(bit 18\) needs the control virtqueue/,
  );
  refuses(
    () =>
      buildSpec("b", {
        type: "blk",
        features: vp | bit(VIRTIO_BLK_F.CONFIG_WCE),
      }),
    /CONFIG_WCE.*read-only/,
  );
  refuses(
    () => buildSpec("n", { type: "net", features: vp | bit(VIRTIO_NET_F.MAC) }),
    /MAC \(bit 5\): give the address with --mac/,
  );
  refuses(() => buildSpec("n", { type: "net", queues: 2 }), /one queue pair/);
  for (const q of [0, 3, 100, 65536]) {
    refuses(
      () => buildSpec("n", { type: "net", queueSize: q }),
      /not a power of two/,
    );
  }
  refuses(() => buildSpec("n", { type: "net", mtu: 67 }), /--mtu 67/);
  refuses(() => buildSpec("n", { type: "scsi" }), /unknown --type "scsi"/);
  refuses(
    () => buildSpec("n", { type: "net", capacity: 512n }),
    /--capacity is for --type blk/,
  );
  refuses(
    () => buildSpec("b", { type: "blk", mac: "52:54:00:00:00:01" }),
    /for --type net/,
  );
  refuses(
    () => buildSpec("b", { type: "blk", capacity: 1000n }),
    /multiple of 512/,
  );
  refuses(() => buildSpec("b", { type: "blk", queues: 1000 }), /at most 256/);
});

Deno.test("device names the kernel and sysfs can take", () => {
  assert.equal(validateName("vnet0"), "vnet0");
  refuses(() => validateName(""), /cannot be empty/);
  refuses(() => validateName("a/b"), /no '\/'/);
  refuses(() => validateName("control"), /\/dev\/vduse\/control/);
  refuses(() => validateName("x".repeat(256)), /at most 255/);
});
