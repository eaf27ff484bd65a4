/**
 * lib/sandbox/initramfs.ts: the newc cpio encoder, the module order from
 * `modprobe --show-depends` and the guest's /init script.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  cpioNewc,
  initScript,
  parseShowDepends,
  S_IFCHR,
  S_IFDIR,
  S_IFREG,
} from "../../lib/sandbox/initramfs.ts";

Deno.test("cpioNewc writes newc headers, padding and the trailer", () => {
  const data = new TextEncoder().encode("hello");
  const bytes = cpioNewc([
    { name: "dev", mode: S_IFDIR | 0o755 },
    { name: "dev/console", mode: S_IFCHR | 0o600, rdev: [5, 1] },
    { name: "init", mode: S_IFREG | 0o755, data },
  ]);
  const text = new TextDecoder("latin1").decode(bytes);
  assert.equal(bytes.length % 4, 0);
  assert.equal(text.slice(0, 6), "070701");
  // First entry: mode field (chars 14..22) and name size (94..102).
  assert.equal(
    text.slice(14, 22),
    (S_IFDIR | 0o755).toString(16).padStart(8, "0"),
  );
  assert.equal(parseInt(text.slice(94, 102), 16), "dev\0".length);
  assert.equal(text.slice(110, 113), "dev");
  // The device node carries rdev 5:1.
  const cons = text.indexOf("070701", 6);
  assert.equal(parseInt(text.slice(cons + 78, cons + 86), 16), 5);
  assert.equal(parseInt(text.slice(cons + 86, cons + 94), 16), 1);
  assert.ok(text.includes("hello"));
  assert.ok(text.includes("TRAILER!!!\0"));
});

Deno.test("initramfs: module order from --show-depends, init script content", () => {
  const deps = parseShowDepends(
    "insmod /r/netfs.ko.xz \ninsmod /r/9pnet.ko.xz \ninsmod /r/9p.ko.xz \n" +
      "insmod /r/netfs.ko.xz \ninsmod /r/9pnet.ko.xz \ninsmod /r/9pnet_virtio.ko.xz \n" +
      "builtin virtio\n",
  );
  assert.deepEqual(deps, [
    "/r/netfs.ko.xz",
    "/r/9pnet.ko.xz",
    "/r/9p.ko.xz",
    "/r/9pnet_virtio.ko.xz",
  ]);
  const init = initScript(["netfs", "9pnet"]);
  assert.match(init, /^#!\/bin\/busybox sh/);
  assert.match(init, /for m in netfs 9pnet; do/);
  assert.match(
    init,
    /mount -t overlay -o lowerdir=\/host,upperdir=\/rw\/upper/,
  );
  assert.match(init, /mount -t devtmpfs devtmpfs \$N\/dev/);
  assert.match(init, /ulimit -l unlimited/);
  assert.match(init, /^ln -s \/proc\/self\/fd \$N\/dev\/fd$/m);
  assert.match(
    init,
    /ln -s \/proc\/self\/fd\/\$\{i%%:\*\} \$N\/dev\/\$\{i#\*:\}/,
  );
});
