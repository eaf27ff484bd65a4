import assert from "node:assert/strict";
import {
  close,
  ErrnoError,
  eventfd,
  ioctl,
  MMAP,
  mmap,
  munmap,
  O,
  open,
  POLL,
  poll,
  pollAsync,
  read,
  setThreadAffinity,
  threadAffinity,
  write,
} from "../../lib/sys/libc.ts";
import { errnoCode } from "../../lib/errors.ts";
import { iow } from "../../lib/sys/ioctl.ts";

Deno.test("open of a missing file throws ENOENT with the path", () => {
  assert.throws(
    () => open("/nonexistent/vdevctl-test", O.RDONLY),
    (e: unknown) => e instanceof ErrnoError && e.code === "ENOENT",
  );
});

Deno.test("ioctl on /dev/null fails with ENOTTY, named in the message", () => {
  const fd = open("/dev/null", O.RDWR);
  try {
    assert.throws(
      () => ioctl(fd, iow(0x81, 1, 8), { arg: new Uint8Array(8), name: "X" }),
      (e: unknown) =>
        errnoCode(e) === "ENOTTY" && e instanceof Error &&
        e.message === "ioctl X: Inappropriate ioctl for device (ENOTTY)",
    );
  } finally {
    close(fd);
  }
});

Deno.test("eventfd wakes poll, sync and async", async () => {
  const fd = eventfd();
  try {
    assert.deepEqual(poll([[fd, POLL.IN]], 0), [0]);
    const waiting = pollAsync([[fd, POLL.IN]], 5000);
    const one = new Uint8Array(8);
    new DataView(one.buffer).setBigUint64(0, 1n, true);
    assert.equal(write(fd, one), 8);
    assert.deepEqual(await waiting, [POLL.IN]);
    const got = new Uint8Array(8);
    assert.equal(read(fd, got), 8);
    assert.equal(new DataView(got.buffer).getBigUint64(0, true), 1n);
    assert.throws(
      () => read(fd, got),
      (e: unknown) => errnoCode(e) === "EAGAIN",
    );
  } finally {
    close(fd);
  }
});

Deno.test("anonymous mmap gives a zero-copy writable view", () => {
  const m = mmap(-1, 8192, { flags: MMAP.MAP_PRIVATE | MMAP.MAP_ANONYMOUS });
  const view = new Uint32Array(m.buffer);
  assert.equal(view[100], 0);
  view[100] = 0xdeadbeef;
  const again = new Uint32Array(
    Deno.UnsafePointerView.getArrayBuffer(m.pointer, 8192),
  );
  assert.equal(again[100], 0xdeadbeef);
  munmap(m);
});

Deno.test("thread affinity applies to the calling thread only", async () => {
  const before = threadAffinity();
  assert.ok(before.length >= 1, `allowed CPUs: ${before}`);
  const pick = before[before.length - 1];
  const libcUrl = new URL("../../lib/sys/libc.ts", import.meta.url).href;
  const code = `import { setThreadAffinity, threadAffinity } from "${libcUrl}";
    setThreadAffinity([${pick}]);
    self.postMessage(threadAffinity());`;
  const url = URL.createObjectURL(
    new Blob([code], { type: "application/javascript" }),
  );
  const worker = new Worker(url, { type: "module" });
  try {
    const inWorker = await new Promise<number[]>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<number[]>) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
    });
    assert.deepEqual(inWorker, [pick]);
    assert.deepEqual(threadAffinity(), before, "the main thread is unchanged");
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
  assert.throws(() => setThreadAffinity([4096]), /CPU 4096 is outside/);
  assert.throws(() => setThreadAffinity([]), /sched_setaffinity: .*EINVAL/);
});
