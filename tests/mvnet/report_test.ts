/**
 * lib/mvnet/report.ts over the real control socket and CLI: a daemon's
 * report (placement from `choosePlacement`) as `vdevctl mvnet stats --json`
 * prints it matches schemas/mvnet-stats.schema.json, keys snake_case; what
 * breaks the schema is refused. (tests/e2e/mvnet_test.ts validates the
 * output of a real daemon on the real kernel.)
 *
 * @module
 */

import assert from "node:assert/strict";
import { listenControl } from "../../lib/mvnet/ctl_socket.ts";
import { formatReport, type MvnetReport } from "../../lib/mvnet/report.ts";
import { choosePlacement } from "../../lib/mvnet/placement.ts";
import { SysRoot } from "../../lib/root.ts";
import { runCommand } from "../command_output.ts";
import { schemaValidator } from "../schema/validate.ts";

const VDEVCTL = new URL("../../vdevctl", import.meta.url).pathname;
const { validate } = schemaValidator();

function report(
  netdev: string | null,
  thread: MvnetReport["datapathThread"] = {
    tid: 4242,
    cpuNs: 1_500_000_000,
    waitNs: 250_000_000,
    minorFaults: 7,
  },
): MvnetReport {
  return {
    name: "mv0",
    netdev,
    mac: "02:00:5e:10:00:02",
    link: "up",
    status: 0x0f,
    driverOk: true,
    running: true,
    tx: { frames: 120, bytes: 9000, errors: 0 },
    rx: { frames: 118, bytes: 8850 },
    drops: { noBuffer: 2, tooBig: 0 },
    irqs: { rx: 40, tx: 38 },
    wakeups: 77,
    driverOkCount: 1,
    resets: 0,
    queues: [
      { index: 0, num: 256, ready: true, broken: false },
      { index: 1, num: 256, ready: true, broken: false },
    ],
    placement: choosePlacement({ online: [0, 1], irqMask: [0, 1] }),
    datapathThread: thread,
  };
}

Deno.test("mvnet stats --json through the control socket matches mvnet-stats", async () => {
  // Short: a unix socket path has at most 107 bytes.
  const dir = await Deno.makeTempDir({ prefix: "vctl" });
  let netdev: string | null = "eth0";
  const sock = await listenControl("mv0", {
    root: new SysRoot(dir),
    handler: () => ({ ...report(netdev) }),
  });
  const stats = (...args: string[]) =>
    runCommand([VDEVCTL, "--root", dir, "mvnet", "stats", "mv0", ...args]);
  try {
    for (const nd of ["eth0", null]) {
      netdev = nd;
      const r = await stats("--json");
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(r.stdout);
      validate("mvnet-stats", json);
      assert.equal(json.driver_ok_count, 1);
      assert.deepEqual(json.drops, { no_buffer: 2, too_big: 0 });
      assert.equal(json.netdev, nd);
      assert.deepEqual(json.datapath_thread, {
        tid: 4242,
        cpu_ns: 1_500_000_000,
        wait_ns: 250_000_000,
        minor_faults: 7,
      });
      const text = await stats();
      assert.equal(text.stdout, formatReport(report(nd)));
      assert.match(
        text.stdout,
        /\n {2}datapath thread: tid 4242, ran 1\.500 s, waited for a CPU 0\.250 s, 7 minor faults\n$/,
      );
    }
  } finally {
    await sock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mvnet-stats refuses camelCase keys, a bad link and missing counters", () => {
  const good = JSON.parse(
    JSON.stringify({
      ...report("eth0"),
      driverOk: undefined,
      driver_ok: true,
      driverOkCount: undefined,
      driver_ok_count: 1,
      drops: { no_buffer: 0, too_big: 0 },
      placement: { irq_cpus: [1], datapath_cpus: [0], reason: "auto" },
      datapathThread: undefined,
      datapath_thread: { tid: 9, cpu_ns: 10, wait_ns: 0, minor_faults: 0 },
    }),
  );
  validate("mvnet-stats", good);
  assert.throws(() => validate("mvnet-stats", { ...good, driverOk: true }));
  assert.throws(() => validate("mvnet-stats", { ...good, link: "sideways" }));
  validate("mvnet-stats", { ...good, datapath_thread: null });
  assert.throws(() =>
    validate("mvnet-stats", {
      ...good,
      datapath_thread: { tid: 0, cpu_ns: 0, wait_ns: 0, minor_faults: null },
    })
  );
  assert.throws(() =>
    validate("mvnet-stats", {
      ...good,
      datapath_thread: { tid: 9, cpuNs: 0, wait_ns: 0, minor_faults: null },
    })
  );
  const { wakeups: _, ...missing } = good;
  assert.throws(() => validate("mvnet-stats", missing), /wakeups/);
  assert.throws(() =>
    validate("mvnet-stats", {
      ...good,
      tx: { frames: -1, bytes: 0, errors: 0 },
    })
  );
});

Deno.test("mvnet stats text: a datapath thread not started yet is '-', faults left out when unreadable", () => {
  assert.match(
    formatReport(report("eth0", null)),
    /\n {2}datapath thread: -\n$/,
  );
  assert.match(
    formatReport(
      report("eth0", { tid: 5, cpuNs: 0, waitNs: 1e6, minorFaults: null }),
    ),
    /\n {2}datapath thread: tid 5, ran 0\.000 s, waited for a CPU 0\.001 s\n$/,
  );
});
