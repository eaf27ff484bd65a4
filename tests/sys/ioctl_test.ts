import assert from "node:assert/strict";
import { io, ior, iow, iowr } from "../../lib/sys/ioctl.ts";

Deno.test("_IOC encoding matches the VDUSE ioctl numbers measured on 6.12", () => {
  // Values from the kernel's own headers, as measured (vduse-kernel-facts.md).
  assert.equal(ior(0x81, 0x00, 8), 0x80088100n); // VDUSE_GET_API_VERSION
  assert.equal(iow(0x81, 0x01, 8), 0x40088101n); // VDUSE_SET_API_VERSION
  assert.equal(iow(0x81, 0x02, 336), 0x41508102n); // VDUSE_CREATE_DEV
  assert.equal(iowr(0x81, 0x10, 32), 0xc0208110n); // VDUSE_IOTLB_GET_FD
  assert.equal(io(0x81, 0x13), 0x00008113n); // VDUSE_DEV_INJECT_CONFIG_IRQ
  assert.equal(iowr(0x81, 0x1a, 48), 0xc030811an); // VDUSE_IOTLB_GET_INFO
});

Deno.test("_IOC rejects sizes that do not fit in 14 bits", () => {
  assert.throws(() => iow(0x81, 1, 1 << 14), RangeError);
});
