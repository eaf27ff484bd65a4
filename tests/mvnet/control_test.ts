import assert from "node:assert/strict";
import { VduseServer } from "../../lib/mvnet/control.ts";
import type {
  BackendStart,
  DeviceBackend,
  DeviceChannel,
} from "../../lib/mvnet/backend.ts";
import {
  type DevRequest,
  type DevResponse,
  VDUSE_REQ_RESULT,
  type VqInfo,
} from "../../lib/vduse/mod.ts";
import { ErrnoError } from "../../lib/sys/mod.ts";
import { VdevError } from "../../lib/errors.ts";
import { featureBit, VIRTIO_CONFIG_S, VIRTIO_F } from "../../lib/virtio/mod.ts";

const S = VIRTIO_CONFIG_S;
const FEATURES_OK = S.ACKNOWLEDGE | S.DRIVER | S.FEATURES_OK;
const DRIVER_OK = FEATURES_OK | S.DRIVER_OK;

/** A VDUSE device fd played from a script; `events` logs what happened. */
class ScriptedChannel implements DeviceChannel {
  readonly events: string[];
  readonly responses: DevResponse[] = [];
  readonly kicks: { index: number; eventFd: number }[] = [];
  readonly infos = new Map<number, VqInfo>();
  features_ = featureBit(VIRTIO_F.VERSION_1) | featureBit(VIRTIO_F.EVENT_IDX);
  closed = false;
  #pending: DevRequest[] = [];
  #woken = false;
  #waiter: (() => void) | null = null;
  #replyWaiters: { n: number; resolve: () => void }[] = [];
  #nextId = 1;

  constructor(events: string[]) {
    this.events = events;
  }

  /** Queues a request; returns its request id. */
  send(req: Record<string, unknown> & { kind: DevRequest["kind"] }): number {
    const requestId = this.#nextId++;
    const type = { get_vq_state: 0, set_status: 1, update_iotlb: 2 }[
      req.kind as string
    ] ?? 99;
    this.#pending.push({ type, requestId, ...req } as DevRequest);
    this.wake();
    return requestId;
  }

  /** Resolves once `n` responses have been written in all. */
  replies(n: number): Promise<void> {
    if (this.responses.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#replyWaiters.push({ n, resolve }));
  }

  setQueue(index: number, base: bigint, ready = true): void {
    this.infos.set(index, {
      index,
      num: 256,
      descAddr: base,
      driverAddr: base + 0x1000n,
      deviceAddr: base + 0x2000n,
      availIndex: 0,
      ready,
    });
  }

  wait(): Promise<void> {
    if (this.#woken || this.#pending.length > 0) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#waiter = () => {
        this.#woken = false;
        resolve();
      };
    });
  }

  wake(): void {
    this.#woken = true;
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  readRequest(): DevRequest | null {
    return this.#pending.shift() ?? null;
  }

  writeResponse(response: DevResponse): void {
    this.events.push(`reply ${response.requestId}`);
    this.responses.push({ ...response });
    for (
      const w of this.#replyWaiters.filter((w) => w.n <= this.responses.length)
    ) {
      w.resolve();
    }
    this.#replyWaiters = this.#replyWaiters.filter((w) =>
      w.n > this.responses.length
    );
  }

  vqGetInfo(index: number): VqInfo {
    this.events.push(`get_info ${index}`);
    const info = this.infos.get(index);
    if (info === undefined) {
      throw new ErrnoError("ioctl VDUSE_VQ_GET_INFO", 22 /* EINVAL */);
    }
    return { ...info };
  }

  setupKickfd(index: number, eventFd: number): void {
    this.events.push(`kickfd ${index}`);
    this.kicks.push({ index, eventFd });
  }

  features(): bigint {
    return this.features_;
  }

  /** DEV_SET_CONFIG fails with this errno while set (the kernel's EINVAL). */
  configErrno: number | null = null;
  readonly configWrites: { offset: number; data: number[] }[] = [];

  setConfig(offset: number, data: Uint8Array): void {
    if (this.configErrno !== null) {
      throw new ErrnoError("ioctl VDUSE_DEV_SET_CONFIG", this.configErrno);
    }
    this.events.push(`set_config ${offset}`);
    this.configWrites.push({ offset, data: [...data] });
  }

  injectConfigIrq(): void {
    this.events.push("config_irq");
  }

  close(): void {
    this.closed = true;
  }
}

/** A backend that records its calls in `events`. */
class FakeBackend implements DeviceBackend {
  readonly queues = [0, 1] as const;
  running = false;
  readonly starts: BackendStart[] = [];
  readonly avail = new Map([[0, 7], [1, 42]]);
  readonly events: string[];

  constructor(events: string[]) {
    this.events = events;
  }

  start(run: BackendStart): void {
    if (this.running) throw new Error("already running");
    this.events.push("start");
    this.starts.push(run);
    this.running = true;
  }

  stop(): Promise<void> {
    this.events.push(this.running ? "stop" : "stop (idle)");
    this.running = false;
    return Promise.resolve();
  }

  lastAvail(index: number): number | undefined {
    return this.avail.get(index);
  }
}

function isEventfd(fd: number): boolean {
  try {
    return Deno.readLinkSync(`/proc/self/fd/${fd}`) === "anon_inode:[eventfd]";
  } catch {
    return false;
  }
}

function setup(
  options: { onDriverOk?: () => void } = {},
) {
  const events: string[] = [];
  const logs: string[] = [];
  const statuses: number[] = [];
  const channel = new ScriptedChannel(events);
  const backend = new FakeBackend(events);
  channel.setQueue(0, 0x10000n);
  channel.setQueue(1, 0x20000n);
  const server = new VduseServer({
    channel,
    backend,
    log: (m) => logs.push(m),
    onStatus: (s) => statuses.push(s),
    onDriverOk: options.onDriverOk,
  });
  return { events, logs, statuses, channel, backend, server };
}

Deno.test("DRIVER_OK: queue infos and kick eventfds, reply, then the backend starts", async () => {
  let driverOkSeen = 0;
  const t = setup({ onDriverOk: () => driverOkSeen++ });
  const { channel, backend, server, events } = t;
  server.start();
  try {
    const a = channel.send({ kind: "set_status", status: FEATURES_OK });
    const b = channel.send({ kind: "set_status", status: DRIVER_OK });
    await channel.replies(2);
    assert.deepEqual(channel.responses, [
      {
        requestId: a,
        result: VDUSE_REQ_RESULT.OK,
        vqIndex: undefined,
        availIndex: undefined,
      },
      {
        requestId: b,
        result: VDUSE_REQ_RESULT.OK,
        vqIndex: undefined,
        availIndex: undefined,
      },
    ]);
    // A status without DRIVER_OK stops (an idle backend: nothing to do);
    // DRIVER_OK looks the queues up, sets their kick eventfds, answers, and
    // only then starts the backend.
    assert.deepEqual(events, [
      "stop (idle)",
      `reply ${a}`,
      "get_info 0",
      "get_info 1",
      "kickfd 0",
      "kickfd 1",
      `reply ${b}`,
      "start",
    ]);
    assert.equal(driverOkSeen, 1);
    assert.deepEqual(t.statuses, [FEATURES_OK, DRIVER_OK]);
    assert.equal(server.status, DRIVER_OK);
    assert.equal(server.driverOkCount, 1);
    assert.equal(backend.running, true);
    assert.equal(backend.starts.length, 1);
    const run = backend.starts[0];
    assert.equal(run.eventIdx, true);
    assert.deepEqual(
      run.queues.map((q) => ({ ...q, kickFd: 0 })),
      [
        {
          index: 0,
          num: 256,
          desc: 0x10000n,
          driver: 0x11000n,
          device: 0x12000n,
          kickFd: 0,
        },
        {
          index: 1,
          num: 256,
          desc: 0x20000n,
          driver: 0x21000n,
          device: 0x22000n,
          kickFd: 0,
        },
      ],
    );
    assert.deepEqual(
      run.queues.map((q) => q.kickFd),
      channel.kicks.map((k) => k.eventFd),
    );
    for (const q of run.queues) assert.ok(isEventfd(q.kickFd), `${q.kickFd}`);
    assert.deepEqual(server.queueInfo.map((q) => q.descAddr), [
      0x10000n,
      0x20000n,
    ]);
    // DRIVER_OK again while running changes nothing.
    channel.send({ kind: "set_status", status: DRIVER_OK });
    await channel.replies(3);
    assert.equal(backend.starts.length, 1);
    assert.equal(server.driverOkCount, 1);
  } finally {
    await server.stop();
  }
});

Deno.test("without EVENT_IDX negotiated the backend is told so", async () => {
  const { channel, backend, server } = setup();
  channel.features_ = featureBit(VIRTIO_F.VERSION_1);
  server.start();
  try {
    channel.send({ kind: "set_status", status: DRIVER_OK });
    await channel.replies(1);
    assert.equal(backend.starts[0].eventIdx, false);
  } finally {
    await server.stop();
  }
});

Deno.test("GET_VQ_STATE answers the backend's last available index; an unserved queue fails", async () => {
  const { channel, server } = setup();
  server.start();
  try {
    const a = channel.send({ kind: "get_vq_state", vqIndex: 0 });
    const b = channel.send({ kind: "get_vq_state", vqIndex: 1 });
    const c = channel.send({ kind: "get_vq_state", vqIndex: 2 });
    await channel.replies(3);
    assert.deepEqual(channel.responses, [
      { requestId: a, result: VDUSE_REQ_RESULT.OK, vqIndex: 0, availIndex: 7 },
      { requestId: b, result: VDUSE_REQ_RESULT.OK, vqIndex: 1, availIndex: 42 },
      {
        requestId: c,
        result: VDUSE_REQ_RESULT.FAILED,
        vqIndex: 2,
        availIndex: undefined,
      },
    ]);
  } finally {
    await server.stop();
  }
});

Deno.test("reset: stopped (unmapped) before the reply, kicks closed; the next DRIVER_OK looks the queues up again", async () => {
  const { channel, backend, server, events } = setup();
  server.start();
  try {
    channel.send({ kind: "set_status", status: DRIVER_OK });
    await channel.replies(1);
    const firstKicks = backend.starts[0].queues.map((q) => q.kickFd);
    events.length = 0;
    const r = channel.send({ kind: "set_status", status: 0 });
    await channel.replies(2);
    assert.deepEqual(events, ["stop", `reply ${r}`]);
    assert.equal(backend.running, false);
    assert.equal(server.resetCount, 1);
    assert.equal(server.status, 0);
    assert.deepEqual(server.queueInfo, []);
    for (const fd of firstKicks) assert.ok(!isEventfd(fd), `${fd} closed`);
    // The driver probes again with its rings elsewhere.
    channel.setQueue(0, 0x50000n);
    channel.setQueue(1, 0x60000n);
    events.length = 0;
    channel.send({ kind: "set_status", status: FEATURES_OK });
    const d = channel.send({ kind: "set_status", status: DRIVER_OK });
    await channel.replies(4);
    assert.deepEqual(events.slice(2), [
      "get_info 0",
      "get_info 1",
      "kickfd 0",
      "kickfd 1",
      `reply ${d}`,
      "start",
    ]);
    assert.equal(server.driverOkCount, 2);
    assert.deepEqual(
      backend.starts[1].queues.map((q) => [q.desc, q.driver, q.device]),
      [[0x50000n, 0x51000n, 0x52000n], [0x60000n, 0x61000n, 0x62000n]],
    );
  } finally {
    await server.stop();
  }
});

Deno.test("DRIVER_OK cleared without a reset stops the backend but counts no reset", async () => {
  const { channel, backend, server } = setup();
  server.start();
  try {
    channel.send({ kind: "set_status", status: DRIVER_OK });
    channel.send({ kind: "set_status", status: FEATURES_OK | S.FAILED });
    await channel.replies(2);
    assert.equal(backend.running, false);
    assert.equal(server.resetCount, 0);
    assert.equal(server.status, FEATURES_OK | S.FAILED);
  } finally {
    await server.stop();
  }
});

Deno.test("UPDATE_IOTLB: a running backend is stopped before the reply and restarted after it", async () => {
  const { channel, backend, server, events } = setup();
  server.start();
  try {
    // Not running: answered, nothing started.
    const a = channel.send({ kind: "update_iotlb", start: 0n, last: 0xfffn });
    await channel.replies(1);
    assert.deepEqual(events, [`reply ${a}`]);
    assert.equal(channel.responses[0].result, VDUSE_REQ_RESULT.OK);
    channel.send({ kind: "set_status", status: DRIVER_OK });
    await channel.replies(2);
    events.length = 0;
    const b = channel.send({ kind: "update_iotlb", start: 0n, last: 0xfffn });
    await channel.replies(3);
    assert.deepEqual(events, ["stop", `reply ${b}`, "start"]);
    assert.equal(channel.responses[2].result, VDUSE_REQ_RESULT.OK);
    // The same queues, kick eventfds included, are served again.
    assert.deepEqual(backend.starts[1], backend.starts[0]);
  } finally {
    await server.stop();
  }
});

Deno.test("unknown requests and a failed DRIVER_OK set-up are answered and logged", async () => {
  const { channel, backend, server, logs } = setup();
  channel.infos.delete(1);
  server.start();
  try {
    const a = channel.send({ kind: "unknown", type: 7 });
    const b = channel.send({ kind: "set_status", status: DRIVER_OK });
    await channel.replies(2);
    assert.deepEqual(channel.responses.map((r) => [r.requestId, r.result]), [
      [a, VDUSE_REQ_RESULT.FAILED],
      [b, VDUSE_REQ_RESULT.OK],
    ]);
    assert.equal(backend.starts.length, 0);
    assert.equal(server.driverOkCount, 0);
    assert.equal(logs.length, 2);
    assert.match(logs[0], /unknown VDUSE request type/);
    assert.match(logs[1], /DRIVER_OK set-up failed/);
  } finally {
    await server.stop();
  }
});

Deno.test("adopt serves ready queues at once; queues not ready are left alone", async () => {
  const t = setup();
  assert.equal(t.server.adopt(), true);
  assert.equal(t.backend.running, true);
  assert.equal(t.server.status, DRIVER_OK);
  assert.deepEqual(t.backend.starts[0].queues.map((q) => q.index), [0, 1]);
  await t.server.stop();
  const u = setup();
  u.channel.setQueue(1, 0x20000n, false);
  assert.equal(u.server.adopt(), false);
  assert.equal(u.backend.starts.length, 0);
  assert.equal(u.server.status, 0);
  await u.server.stop();
});

Deno.test("stop ends the loop, stops the backend, closes the kicks and the channel", async () => {
  const { channel, backend, server } = setup();
  server.start();
  channel.send({ kind: "set_status", status: DRIVER_OK });
  await channel.replies(1);
  const kicks = backend.starts[0].queues.map((q) => q.kickFd);
  await server.stop();
  assert.equal(backend.running, false);
  assert.equal(channel.closed, true);
  for (const fd of kicks) assert.ok(!isEventfd(fd), `${fd} closed`);
  // Requests after the stop are not read.
  channel.send({ kind: "get_vq_state", vqIndex: 0 });
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(channel.responses.length, 1);
});

Deno.test("setLink: refused before DRIVER_OK (the kernel's EINVAL), nothing written", async () => {
  const { channel, server, events } = setup();
  server.start();
  try {
    channel.send({ kind: "set_status", status: FEATURES_OK });
    await channel.replies(1);
    assert.throws(
      () => server.setLink(false),
      (e: unknown) =>
        e instanceof VdevError && /DRIVER_OK; status now 0xb/.test(e.message) &&
        /EINVAL/.test(e.message),
    );
    assert.equal(server.linkUp, true);
    assert.deepEqual(channel.configWrites, []);
    assert.ok(!events.includes("config_irq"));
  } finally {
    await server.stop();
  }
});

Deno.test("setLink: status field (offset 6) written, then the config interrupt; kept across a reset", async () => {
  const { channel, server, events } = setup();
  server.start();
  try {
    channel.send({ kind: "set_status", status: DRIVER_OK });
    await channel.replies(1);
    events.length = 0;
    server.setLink(false);
    assert.deepEqual(events, ["set_config 6", "config_irq"]);
    assert.deepEqual(channel.configWrites, [{ offset: 6, data: [0, 0] }]);
    assert.equal(server.linkUp, false);
    server.setLink(true);
    assert.deepEqual(channel.configWrites[1], { offset: 6, data: [1, 0] });
    assert.equal(server.linkUp, true);
    // A reset and a new DRIVER_OK: the kernel keeps the config space, and
    // so does the server's idea of the link.
    server.setLink(false);
    channel.send({ kind: "set_status", status: 0 });
    channel.send({ kind: "set_status", status: DRIVER_OK });
    await channel.replies(3);
    assert.equal(server.linkUp, false);
    // After a reset (no DRIVER_OK) it is refused again.
    channel.send({ kind: "set_status", status: 0 });
    await channel.replies(4);
    assert.throws(() => server.setLink(true), VdevError);
  } finally {
    await server.stop();
  }
});

Deno.test("setLink: a kernel EINVAL (driver gone meanwhile) is the same one-line error", async () => {
  const { channel, server } = setup();
  server.start();
  try {
    channel.send({ kind: "set_status", status: DRIVER_OK });
    await channel.replies(1);
    channel.configErrno = 22;
    assert.throws(
      () => server.setLink(false),
      (e: unknown) => e instanceof VdevError && /EINVAL/.test(e.message),
    );
    assert.equal(server.linkUp, true, "unchanged when the write failed");
    channel.configErrno = 5; // EIO: anything else is reported as it is
    assert.throws(
      () => server.setLink(false),
      (e: unknown) =>
        e instanceof VdevError && /changing the link state/.test(e.message),
    );
  } finally {
    await server.stop();
  }
});
