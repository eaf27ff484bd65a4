import assert from "node:assert/strict";
import { SysRoot } from "../../lib/root.ts";
import { vdpaArgCandidates } from "../../lib/vdpa/completion.ts";

function fakeRoot(): SysRoot {
  const dir = Deno.makeTempDirSync();
  for (const d of ["sim1", "sim0"]) {
    Deno.mkdirSync(`${dir}/sys/bus/vdpa/devices/${d}`, { recursive: true });
  }
  return new SysRoot(dir);
}

const values = (root: SysRoot, line: string) =>
  vdpaArgCandidates(root, line.split(" ")).map(([v]) => v);

Deno.test("vdpa completion follows iproute2's keyword syntax", () => {
  const root = fakeRoot();
  try {
    assert.deepEqual(values(root, "vdpa "), ["mgmtdev", "dev", "help"]);
    assert.deepEqual(values(root, "vdpa -j m "), ["show", "list", "help"]);
    assert.deepEqual(values(root, "vdpa dev show "), ["sim0", "sim1"]);
    assert.deepEqual(values(root, "vdpa d del s"), ["sim0", "sim1"]);
    assert.deepEqual(values(root, "vdpa dev config "), ["show"]);
    assert.deepEqual(values(root, "vdpa dev vstats show "), ["sim0", "sim1"]);
    assert.deepEqual(values(root, "vdpa dev vstats show sim0 "), ["qidx"]);
    assert.deepEqual(values(root, "vdpa dev add name x "), [
      "mgmtdev",
      "device_features",
      "mac",
      "mtu",
      "max_vqp",
    ]);
    assert.deepEqual(values(root, "vdpa dev bind "), ["sim0", "sim1"]);
    assert.deepEqual(values(root, "vdpa dev bind sim0 "), ["driver"]);
    assert.deepEqual(values(root, "vdpa dev bind sim0 driver "), [
      "virtio_vdpa",
      "vhost_vdpa",
    ]);
    assert.deepEqual(values(root, "vdpa dev set name "), ["sim0", "sim1"]);
    assert.deepEqual(values(root, "vdpa dev set name sim0 "), ["mac"]);
    assert.deepEqual(values(root, "vdpa dev add name x mtu "), []);
    // Management devices come from the kernel: none under a fake root.
    assert.deepEqual(values(root, "vdpa dev add name x mgmtdev "), []);
    assert.deepEqual(values(root, "vdpa mgmtdev show "), []);
  } finally {
    Deno.removeSync(root.dir, { recursive: true });
  }
});
