/**
 * mvnet on the real 6.12 kernel (vduse, vdpa, virtio_vdpa, virtio_net):
 * the smoke command, traffic across resets (virtio_net unbind/rebind, link
 * down/up), SIGTERM cleanup, and recovery from a SIGKILLed daemon (adopted
 * with --reconnect, or cleaned up by the next plain run). Run inside the
 * sandbox:
 *
 *   ./vdevctl sandbox run --modules vduse,vdpa,virtio_vdpa,virtio_net -- \
 *     ./node_modules/.bin/deno test -A tests/e2e/mvnet_test.ts
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import {
  bringUp,
  exchange,
  type SmokeResult,
  startMvnet,
  waitNetdev,
} from "../../lib/mvnet/mod.ts";
import { resolveRoot } from "../../lib/root.ts";
import { formatCpuList, onlineCpus } from "../../lib/cpu_list.ts";
import { VduseSysfs } from "../../lib/vduse/mod.ts";
import { VdpaBus } from "../../lib/vdpa/mod.ts";
import { displayColumns } from "../../lib/progress.ts";
import { schemaValidator } from "../schema/validate.ts";

const VDEVCTL = new URL("../../vdevctl", import.meta.url).pathname;
const root = resolveRoot();
const bus = new VdpaBus(root);
const sysfs = new VduseSysfs(root);
const dec = new TextDecoder();
const { validate } = schemaValidator();

function assertAllBack(r: SmokeResult, what: string): void {
  assert.equal(
    r.received,
    r.frames,
    `${what}: ${r.received}/${r.frames} back, ${r.lost} lost, ${r.corrupted} corrupted`,
  );
  assert.equal(r.corrupted, 0, what);
  assert.ok(r.ok, what);
}

function gone(name: string): boolean {
  return !existsSync(`/dev/vduse/${name}`) &&
    !existsSync(`/sys/class/vduse/${name}`) && !bus.exists(name);
}

async function until<T>(
  what: string,
  fn: () => T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A `vdevctl mvnet run` daemon with its output collected. */
class Daemon {
  readonly child: Deno.ChildProcess;
  out = "";
  readonly done: Promise<Deno.CommandStatus>;

  constructor(args: string[]) {
    this.child = new Deno.Command(VDEVCTL, {
      args: ["mvnet", "run", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s) this.out += dec.decode(chunk);
    };
    const streams = Promise.all([
      collect(this.child.stdout),
      collect(this.child.stderr),
    ]);
    this.done = streams.then(() => this.child.status);
  }

  waitFor(re: RegExp, timeoutMs = 60_000): Promise<true> {
    return until(
      `daemon output ${re} (got: ${this.out})`,
      () => re.test(this.out) ? true : undefined,
      timeoutMs,
    );
  }
}

/** Traffic through the netdev of a device served by another process. */
async function traffic(name: string, frames = 100): Promise<SmokeResult> {
  const netdev = await until(`netdev of ${name}`, () => bus.netdev(name));
  await bringUp(netdev, { root });
  return await exchange({ name, mac: "" }, netdev, { frames, root });
}

Deno.test("mvnet smoke: every frame comes back byte-identical (--json)", async () => {
  const out = await new Deno.Command(VDEVCTL, {
    args: ["mvnet", "smoke", "--frames", "500", "--json"],
    stdin: "null",
  }).output();
  const stdout = dec.decode(out.stdout);
  const stderr = dec.decode(out.stderr);
  assert.equal(out.code, 0, `${stdout}\n${stderr}`);
  // Not a terminal: no progress, nothing but the JSON.
  assert.ok(
    !(stdout + stderr).includes("\r") && !stderr.includes("\x1b"),
    JSON.stringify(stderr),
  );
  // --json keys are snake_case (lib/json_keys.ts).
  const r = JSON.parse(stdout) as SmokeResult & {
    latency_us: { p50: number };
    stats: { rx_dropped: number } | null;
  };
  assertAllBack(r, "smoke");
  assert.equal(r.frames, 500);
  assert.ok(r.sizes.min === 60 && r.sizes.max === 1514, "varied sizes");
  assert.ok(r.pps > 0 && r.latency_us.p50 > 0);
  assert.ok(r.stats !== null && r.stats.rx_dropped === 0);
  assert.ok(gone("mvnet-smoke"), "smoke tore its device down");
});

/** `vdevctl ARGS` on a pseudo-terminal `cols` wide (`script` from util-linux). */
async function onTerminal(args: string[], cols: number) {
  const quoted = args.map((a) => `'${a}'`).join(" ");
  const out = await new Deno.Command("script", {
    args: [
      "-qfec",
      `stty cols ${cols} rows 24; exec ${VDEVCTL} ${quoted}`,
      "/dev/null",
    ],
    stdin: "null",
  }).output();
  return { code: out.code, text: dec.decode(out.stdout) };
}

/**
 * The rows a progress display drew in place: what follows each erase-line
 * up to the next carriage return (lines ended by a newline are notes and
 * results, not redraws).
 */
function drawnRows(text: string): string[] {
  return text.split("\x1b[2K").slice(1)
    .filter((chunk) => !chunk.includes("\n"))
    .map((chunk) => chunk.replace(/\r$/, ""))
    .filter((row) => row !== "");
}

Deno.test("mvnet smoke on an 80-column terminal: frames sent/back redrawn in place, no row wider; -q shows none", async () => {
  const r = await onTerminal(["mvnet", "smoke", "--frames", "5000"], 80);
  assert.equal(r.code, 0, r.text);
  const rows = drawnRows(r.text);
  assert.ok(
    rows.some((row) => /\[[#.]+\] +\d+% .*sent \d+\/5000, back \d+/.test(row)),
    `a progress row with the counts: ${JSON.stringify(r.text.slice(0, 2000))}`,
  );
  for (const row of rows) {
    assert.ok(displayColumns(row) < 80, `${displayColumns(row)}: ${row}`);
  }
  // The line is cleared before the result: the report starts a clean row.
  assert.ok(
    r.text.includes("\x1b[2Kmvnet smoke: mvnet-smoke ("),
    JSON.stringify(r.text.slice(-1000)),
  );
  assert.match(r.text, /: 5000\/5000 frames back byte-identical/);
  assert.match(r.text, /\nPASS\r?\n/);

  const q = await onTerminal(["mvnet", "smoke", "--frames", "200", "-q"], 80);
  assert.equal(q.code, 0, q.text);
  assert.ok(!q.text.includes("\x1b[2K"), JSON.stringify(q.text));
  assert.match(q.text, /200\/200 frames back byte-identical/);
  assert.ok(gone("mvnet-smoke"), "smoke tore its device down");
});

Deno.test("mvnet survives link down/up and virtio_net unbind/rebind", async () => {
  const name = "e2e-reset";
  // Interrupts pinned to the last CPU: the driver resets the mask to all
  // CPUs whenever it probes, so this also checks it is re-applied.
  const cpus = onlineCpus(root);
  assert.ok(cpus.length >= 2, `the sandbox has 2 CPUs (online: ${cpus})`);
  const last = cpus[cpus.length - 1];
  const others = cpus.filter((c) => c !== last);
  const mv = await startMvnet({
    name,
    root,
    irqCpus: [last],
    datapathCpus: others,
  });
  try {
    let netdev = await waitNetdev(mv);
    await bringUp(netdev, { root });
    assert.deepEqual(sysfs.irqAffinity(name), [[last], [last]]);
    // The datapath Worker thread runs where it was asked to.
    const workers = [...Deno.readDirSync("/proc/self/task")]
      .map((t) => `/proc/self/task/${t.name}`)
      .filter((t) => Deno.readTextFileSync(`${t}/comm`).startsWith("worker"));
    const allowed = workers.map((t) =>
      /Cpus_allowed_list:\s*(\S+)/.exec(
        Deno.readTextFileSync(`${t}/status`),
      )?.[1]
    );
    assert.ok(
      allowed.includes(formatCpuList(others)),
      `a worker thread on the other CPUs (${allowed})`,
    );
    assertAllBack(await exchange(mv, netdev, { frames: 200, root }), "first");
    const resets0 = mv.stats().resets;
    const driverOk0 = mv.stats().driverOk;

    // Link down/up: virtio_net closes and reopens (no device reset).
    const ip = async (...args: string[]) => {
      const o = await new Deno.Command("ip", { args }).output();
      assert.equal(o.code, 0, dec.decode(o.stderr));
    };
    await ip("link", "set", "dev", netdev, "down");
    await ip("link", "set", "dev", netdev, "up");
    await bringUp(netdev, { root });
    assertAllBack(await exchange(mv, netdev, { frames: 200, root }), "link up");

    // Unbind/rebind virtio_net: reset, then DRIVER_OK with new ring IOVAs.
    const dev = `/sys/bus/vdpa/devices/${name}`;
    const virtio = [...Deno.readDirSync(dev)].map((e) => e.name)
      .find((n) => n.startsWith("virtio"));
    assert.ok(virtio, "virtio device under the vdpa device");
    const drv = "/sys/bus/virtio/drivers/virtio_net";
    // Asynchronous writes: the kernel waits for this process's replies.
    await Deno.writeTextFile(`${drv}/unbind`, virtio);
    assert.equal(bus.netdev(name), undefined, "netdev gone after unbind");
    await Deno.writeTextFile(`${drv}/bind`, virtio);
    netdev = await waitNetdev(mv);
    await bringUp(netdev, { root });
    assert.deepEqual(sysfs.irqAffinity(name), [[last], [last]], "re-applied");
    assertAllBack(await exchange(mv, netdev, { frames: 200, root }), "rebind");
    const s = mv.stats();
    assert.ok(s.resets > resets0, `a reset was served (${s.resets})`);
    assert.ok(s.driverOk > driverOk0, "DRIVER_OK served again");
    assert.equal(s.broken, 0);
  } finally {
    await mv.stop();
  }
  assert.ok(gone(name), "stop destroyed the device");
});

Deno.test("mvnet run: SIGTERM detaches and destroys the device", async () => {
  const name = "e2e-term";
  const d = new Daemon([name, "--irq-cpus", "1", "--datapath-cpus", "0"]);
  await d.waitFor(/created/);
  await d.waitFor(/interrupts on CPU 1, datapath on CPU 0 \(both as given\)/);
  assertAllBack(await traffic(name), "before SIGTERM");
  assert.deepEqual(sysfs.irqAffinity(name), [[1], [1]]);
  // `vduse show` describes the served device from mvnet's record.
  const show = await new Deno.Command(VDEVCTL, {
    args: ["vduse", "show", name, "--json"],
    stdin: "null",
  }).output();
  assert.equal(show.code, 0, dec.decode(show.stderr));
  const info = JSON.stringify(JSON.parse(dec.decode(show.stdout)));
  assert.match(info, /VERSION_1/, info);
  assert.match(info, /ACCESS_PLATFORM/, info);
  assert.match(info, new RegExp(`"pid":${d.child.pid}\\b`), info);
  d.child.kill("SIGTERM");
  const status = await d.done;
  assert.equal(status.code, 0, d.out);
  assert.match(d.out, /SIGTERM/);
  assert.ok(gone(name), `no /dev/vduse/${name} left`);
  assert.ok(
    !existsSync(`/run/vdevctl/vduse/${name}.json`),
    "mvnet removed its record",
  );
});

Deno.test("mvnet run: SIGINT stops it cleanly too", async () => {
  const name = "e2e-int";
  const d = new Daemon([name, "--stats-interval", "1"]);
  await d.waitFor(/created/);
  // No flags: the chosen placement is printed.
  await d.waitFor(
    /e2e-int: interrupts on CPU \d+, datapath on CPU [\d,-]+ \(auto: /,
  );
  d.child.kill("SIGINT");
  assert.equal((await d.done).code, 0, d.out);
  assert.ok(gone(name));
});

Deno.test("mvnet run --placement kernel: no CPU is chosen, the driver's masks stay; with a CPU flag it is refused", async () => {
  const name = "e2e-kplace";
  const d = new Daemon([name, "--placement", "kernel"]);
  await d.waitFor(/created/);
  await d.waitFor(
    /e2e-kplace: interrupts on CPU any, datapath on CPU any \(--placement kernel/,
  );
  assertAllBack(await traffic(name), "kernel placement");
  // virtio_net's probe spreads the queue callbacks itself; mvnet wrote
  // nothing: no mask is the single CPU the automatic placement picks.
  const cpus = onlineCpus(root);
  const masks = sysfs.irqAffinity(name);
  assert.equal(masks.length, 2);
  if (cpus.length > 1) {
    assert.ok(
      masks.some((m) => (m?.length ?? 0) > 1),
      `a mask left wider than one CPU: ${JSON.stringify(masks)}`,
    );
  }
  d.child.kill("SIGTERM");
  assert.equal((await d.done).code, 0, d.out);
  assert.ok(gone(name));
  const bad = await new Deno.Command(VDEVCTL, {
    args: [
      "mvnet",
      "run",
      "e2e-kbad",
      "--placement",
      "kernel",
      "--irq-cpus",
      "0",
    ],
    stdin: "null",
  }).output();
  assert.notEqual(bad.code, 0);
  assert.match(dec.decode(bad.stderr), /--placement kernel leaves the CPUs/);
  assert.ok(gone("e2e-kbad"));
});

Deno.test("a SIGKILLed daemon's device is adopted by --reconnect", async () => {
  const name = "e2e-kill";
  const d = new Daemon([name]);
  await d.waitFor(/created/);
  assertAllBack(await traffic(name), "before SIGKILL");
  d.child.kill("SIGKILL");
  await d.done;
  assert.ok(existsSync(`/sys/class/vduse/${name}`), "the device outlives it");
  assert.ok(bus.exists(name), "still attached");
  const netdev = bus.netdev(name);
  assert.ok(netdev, "its netdev is still there");

  const r = new Daemon([name, "--reconnect"]);
  await r.waitFor(/adopted/);
  // Same netdev, no reset: the queues resume from their used index.
  assert.equal(bus.netdev(name), netdev);
  assertAllBack(await traffic(name, 300), "after --reconnect");
  r.child.kill("SIGTERM");
  assert.equal((await r.done).code, 0, r.out);
  assert.ok(gone(name));
});

Deno.test("a SIGKILLed daemon's device is cleaned up by the next plain run", async () => {
  const name = "e2e-stale";
  const d = new Daemon([name]);
  await d.waitFor(/created/);
  d.child.kill("SIGKILL");
  await d.done;
  assert.ok(existsSync(`/sys/class/vduse/${name}`));
  const n = new Daemon([name]);
  await n.waitFor(/created/);
  assert.match(n.out, /cleaned up stale device/);
  assertAllBack(await traffic(name), "fresh device");
  n.child.kill("SIGTERM");
  assert.equal((await n.done).code, 0, n.out);
  assert.ok(gone(name));
});

Deno.test("a second daemon for a served device is refused", async () => {
  const name = "e2e-busy";
  const d = new Daemon([name]);
  await d.waitFor(/created/);
  const o = await new Deno.Command(VDEVCTL, {
    args: ["mvnet", "run", name, "--reconnect"],
    stdin: "null",
  }).output();
  assert.notEqual(o.code, 0);
  assert.match(dec.decode(o.stderr), /served by another process/);
  d.child.kill("SIGTERM");
  assert.equal((await d.done).code, 0, d.out);
  assert.ok(gone(name));
});

/** Runs `vdevctl ARGS` to completion. */
async function vdevctl(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const o = await new Deno.Command(VDEVCTL, { args, stdin: "null" }).output();
  return {
    code: o.code,
    stdout: dec.decode(o.stdout),
    stderr: dec.decode(o.stderr),
  };
}

Deno.test("mvnet set --link: the guest's carrier follows; stats and vduse show report it", async () => {
  const name = "e2e-link";
  const mv = await startMvnet({ name, root });
  try {
    const netdev = await waitNetdev(mv);
    await bringUp(netdev, { root });
    const carrier = () =>
      Deno.readTextFileSync(`/sys/class/net/${netdev}/carrier`).trim();
    const ipLink = async () =>
      dec.decode(
        (await new Deno.Command("ip", { args: ["link", "show", netdev] })
          .output()).stdout,
      );
    await until("carrier 1 at start", () => carrier() === "1" || undefined);
    // No placement flags: interrupts on the last CPU of the driver's mask,
    // the datapath thread on the others, applied at DRIVER_OK.
    const cpus = onlineCpus(root);
    const last = cpus[cpus.length - 1];
    assert.deepEqual(mv.placement().irqCpus, [last]);
    assert.deepEqual(mv.placement().datapathCpus, cpus.slice(0, -1));
    assert.match(mv.placement().reason, /^auto/);
    assert.deepEqual(sysfs.irqAffinity(name), [[last], [last]]);
    const allowed = [...Deno.readDirSync("/proc/self/task")]
      .map((t) => `/proc/self/task/${t.name}`)
      .filter((t) => Deno.readTextFileSync(`${t}/comm`).startsWith("worker"))
      .map((t) =>
        /Cpus_allowed_list:\s*(\S+)/.exec(
          Deno.readTextFileSync(`${t}/status`),
        )?.[1]
      );
    assert.ok(
      allowed.includes(formatCpuList(cpus.slice(0, -1))),
      `a worker thread on the other CPUs (${allowed})`,
    );
    const down = await vdevctl(["mvnet", "set", name, "--link", "down"]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(down.stdout, `mvnet: ${name} link down\n`);
    await until("carrier 0", () => carrier() === "0" || undefined);
    assert.match(await ipLink(), /NO-CARRIER/);
    const show = await vdevctl(["vduse", "show", name]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(
      show.stdout,
      /daemon status: mvnet: link down, driver running/,
    );
    const showJson = JSON.parse(
      (await vdevctl(["vduse", "show", name, "--json"])).stdout,
    );
    assert.equal(showJson.daemon_status.link, "down");
    const up = await vdevctl(["mvnet", "set", name, "--link", "up"]);
    assert.equal(up.code, 0, up.stderr);
    await until("carrier 1 again", () => carrier() === "1" || undefined);
    assert.doesNotMatch(await ipLink(), /NO-CARRIER/);
    assertAllBack(
      await exchange(mv, netdev, { frames: 100, root }),
      "after link up",
    );
    const st = await vdevctl(["mvnet", "stats", name, "--json"]);
    assert.equal(st.code, 0, st.stderr);
    const r = JSON.parse(st.stdout);
    validate("mvnet-stats", r);
    assert.equal(r.link, "up");
    assert.equal(r.netdev, netdev);
    assert.equal(r.driver_ok, true);
    assert.deepEqual(r.placement.irq_cpus, [last]);
    assert.ok(r.tx.frames >= 100 && r.rx.frames >= 100, st.stdout);
    assert.ok(r.tx.bytes >= 100 * 60 && r.rx.bytes >= 100 * 60, st.stdout);
    assert.deepEqual(r.drops, { no_buffer: 0, too_big: 0 });
    // The thread that moved those frames: the kernel counted its CPU time.
    assert.ok(r.datapath_thread !== null, st.stdout);
    assert.ok(r.datapath_thread.tid > 1, st.stdout);
    assert.ok(r.datapath_thread.cpu_ns > 0, st.stdout);
    assert.deepEqual(
      r.queues.map((
        q: { index: number; ready: boolean },
      ) => [q.index, q.ready]),
      [[0, true], [1, true]],
    );
    const text = await vdevctl(["mvnet", "stats", name]);
    assert.match(
      text.stdout,
      new RegExp(`^${name}: netdev ${netdev} .* link up\n`),
    );
    assert.match(text.stdout, /\n {2}rx: \d+ frames \d+ bytes\n/);
    assert.match(
      text.stdout,
      /\n {2}datapath thread: tid \d+, ran \d+\.\d{3} s, waited for a CPU \d+\.\d{3} s/,
    );
  } finally {
    await mv.stop();
  }
  const gone = await vdevctl(["mvnet", "stats", name]);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /no mvnet daemon serves e2e-link/);
});

Deno.test("mvnet set --link before DRIVER_OK: refused with the reason (EINVAL)", async () => {
  const name = "e2e-nolink";
  const mv = await startMvnet({ name, root, attach: false });
  try {
    const r = await vdevctl(["mvnet", "set", name, "--link", "down"]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stderr,
      /only while the driver runs the device \(DRIVER_OK.*EINVAL/,
    );
    assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
  } finally {
    await mv.stop();
  }
});
