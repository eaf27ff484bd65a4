/**
 * `vdevctl vdpa` against iproute2 6.1's `vdpa` on the real 6.12 kernel
 * (vdpa, vdpa_sim_net, vdpa_sim_blk, virtio_vdpa, vduse loaded): same stdout
 * byte for byte (text, -j, -jp), same outcome, and for every error one line
 * on stderr carrying the kernel's own message. Run inside the sandbox:
 *
 *   ./vdevctl sandbox run --modules vdpa_sim_net,vdpa_sim_blk,vduse,virtio_vdpa -- \
 *     ./node_modules/.bin/deno test -A tests/e2e/vdpa_test.ts
 *
 * @module
 */

import assert from "node:assert/strict";
import { respond } from "./vduse_responder.ts";
import { existsSync } from "node:fs";
import { vdpaDevAdd, vdpaDevDel, vdpaDevShow } from "../../lib/vdpa/mod.ts";
import { type CommandResult, runCommand } from "../command_output.ts";
import { ours } from "./vdpa_cli.ts";

const VDEVCTL = new URL("../../vdevctl", import.meta.url).pathname;
const IPROUTE2 = "/usr/sbin/vdpa";
const MODES = [[], ["-j"], ["-jp"]] as const;

type Run = CommandResult;

const run = (cmd: string, args: readonly string[]): Promise<Run> =>
  runCommand([cmd, ...args]);

/** The real launcher, as a user runs it. */
const launcher = (args: readonly string[]) => run(VDEVCTL, ["vdpa", ...args]);
const theirs = (args: readonly string[]) => run(IPROUTE2, args);

/** Both tools, every output mode: identical stdout, both succeed. */
async function same(args: readonly string[]): Promise<string[]> {
  const outputs: string[] = [];
  for (const mode of MODES) {
    const full = [...mode, ...args];
    const [a, b] = await Promise.all([ours(full), theirs(full)]);
    assert.equal(b.code, 0, `iproute2 vdpa ${full.join(" ")}: ${b.stderr}`);
    assert.equal(a.code, 0, `vdevctl vdpa ${full.join(" ")}: ${a.stderr}`);
    assert.equal(a.stdout, b.stdout, `stdout of vdpa ${full.join(" ")}`);
    assert.equal(a.stderr, "", `stderr of vdevctl vdpa ${full.join(" ")}`);
    outputs.push(a.stdout);
  }
  return outputs;
}

/**
 * An error in every mode: vdevctl exits 1 with one line naming `object`
 * that quotes the kernel's extack message iproute2 printed ("Error: ...").
 * iproute2 fails too (except `dev vstats show`, which exits 0 on errors);
 * stdout is identical (iproute2 prints the empty JSON section).
 */
async function fails(
  args: readonly string[],
  expect: { object: RegExp; code: string; kernel?: string },
): Promise<string> {
  let line = "";
  for (const mode of MODES) {
    const full = [...mode, ...args];
    const [a, b] = await Promise.all([ours(full), theirs(full)]);
    const vstats = args.includes("vstats");
    if (!vstats) {
      assert.notEqual(b.code, 0, `iproute2 should fail: ${full.join(" ")}`);
    }
    assert.equal(
      a.code,
      1,
      `vdevctl exit status: ${full.join(" ")}: ${a.stderr}`,
    );
    assert.equal(
      a.stdout,
      b.stdout,
      `stdout of failing vdpa ${full.join(" ")}`,
    );
    const lines = a.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `one line: ${a.stderr}`);
    line = lines[0];
    assert.match(line, /^vdevctl: /);
    assert.match(line, expect.object);
    assert.ok(
      line.includes(`[${expect.code}]`),
      `${line} names ${expect.code}`,
    );
    const kernel = /^Error: (?:vdpa: )?(.*?)\.?$/m.exec(b.stderr)?.[1];
    assert.equal(kernel, expect.kernel, `iproute2's extack: ${b.stderr}`);
    if (kernel !== undefined) {
      assert.ok(
        line.includes(`(kernel: ${kernel})`),
        `${line} quotes "${kernel}"`,
      );
    }
  }
  return line;
}

async function vdevctl(args: readonly string[]): Promise<void> {
  const r = await ours(args);
  assert.equal(r.code, 0, `vdevctl vdpa ${args.join(" ")}: ${r.stderr}`);
  assert.equal(r.stdout, "");
}

async function iproute2(args: readonly string[]): Promise<void> {
  const r = await theirs(args);
  assert.equal(r.code, 0, `vdpa ${args.join(" ")}: ${r.stderr}`);
}

/** Devices that were there before this file ran (other suites' leftovers). */
let baseline: string[] | undefined;

/** vDPA devices made by this file (sysfs, minus the baseline). */
function vdpaDevices(): string[] {
  let all: string[] = [];
  try {
    all = [...Deno.readDirSync("/sys/bus/vdpa/devices")].map((e) => e.name)
      .sort();
  } catch {
    // No vdpa bus: no devices.
  }
  baseline ??= all;
  return all.filter((n) => !baseline!.includes(n));
}

Deno.test("the kernel has the vdpa family, the simulators and vduse", async () => {
  // virtio_net must be there for features to be negotiated (config, vstats).
  if (!existsSync("/sys/module/virtio_net")) {
    const r = await new Deno.Command("modprobe", { args: ["virtio_net"] })
      .output();
    assert.equal(
      r.code,
      0,
      `modprobe virtio_net: ${new TextDecoder().decode(r.stderr)}`,
    );
  }
  for (
    const m of [
      "vdpa",
      "vdpa_sim_net",
      "vdpa_sim_blk",
      "vduse",
      "virtio_vdpa",
      "virtio_net",
    ]
  ) {
    assert.ok(existsSync(`/sys/module/${m}`), `module ${m} is loaded`);
  }
  for (const name of ["sim0", "sim1", "blk0", "simj", "dup0", "lib0", "vdx0"]) {
    assert.ok(!existsSync(`/sys/bus/vdpa/devices/${name}`), `no ${name} yet`);
  }
  assert.deepEqual(vdpaDevices(), [], "baseline taken");
});

Deno.test("mgmtdev show: dump and each management device, text/-j/-jp", async () => {
  const [text, json] = await same(["mgmtdev", "show"]);
  assert.match(text, /^vdpasim_net: \n {2}supported_classes net\n/m);
  const parsed = JSON.parse(json);
  assert.deepEqual(Object.keys(parsed.mgmtdev).sort(), [
    "vdpasim_blk",
    "vdpasim_net",
    "vduse",
  ]);
  for (const m of ["vdpasim_net", "vdpasim_blk", "vduse"]) {
    await same(["mgmtdev", "show", m]);
  }
  await same(["mgmtdev", "list"]);
  await same(["m", "s", "vdpasim_net"]);
});

Deno.test("vdpa_sim_net: add (mac, mtu), show, config, vstats, delete, both tools", async () => {
  await vdevctl([
    "dev",
    "add",
    "name",
    "sim0",
    "mgmtdev",
    "vdpasim_net",
    "mac",
    "52:54:00:00:00:01",
    "mtu",
    "1400",
  ]);
  await iproute2(["dev", "add", "name", "sim1", "mgmtdev", "vdpasim_net"]);
  try {
    assert.deepEqual(vdpaDevices(), ["sim0", "sim1"]);
    const [text] = await same(["dev", "show"]);
    assert.match(
      text,
      /^sim0: type network mgmtdev vdpasim_net vendor_id \d+ max_vqs \d+ max_vq_size \d+\n/m,
    );
    await same(["dev"]);
    await same(["dev", "show", "sim0"]);
    await same(["dev", "list", "sim1"]);
    const [cfg, cfgJson] = await same(["dev", "config", "show"]);
    assert.match(
      cfg,
      /^sim0: mac 52:54:00:00:00:01 link up link_announce false mtu 1400 \n {2}negotiated_features /m,
    );
    assert.ok(
      cfgJson.includes('"link ":"up"'),
      "iproute2's key with a trailing space",
    );
    await same(["dev", "config", "show", "sim0"]);
    await same(["dev", "config"]);
    for (const qidx of ["0", "1", "2"]) {
      await same(["dev", "vstats", "show", "sim0", "qidx", qidx]);
    }
    // The compat flag off: keys without the trailing space, qidx 0 is rx.
    const fixed = await ours([
      "-j",
      "--no-iproute2-compat",
      "dev",
      "config",
      "show",
      "sim0",
    ]);
    assert.equal(fixed.code, 0, fixed.stderr);
    const c = JSON.parse(fixed.stdout).config.sim0;
    assert.equal(c.link, "up");
    assert.equal(c.link_announce, false);
    assert.equal(c.mtu, 1400);
    assert.ok(!("link " in c));
    const q0 = await ours([
      "-j",
      "--no-iproute2-compat",
      "dev",
      "vstats",
      "show",
      "sim0",
      "qidx",
      "0",
    ]);
    assert.equal(q0.code, 0, q0.stderr);
    assert.equal(JSON.parse(q0.stdout).vstats.sim0.queue_type, "rx");
    const q0compat = await ours([
      "-j",
      "dev",
      "vstats",
      "show",
      "sim0",
      "qidx",
      "0",
    ]);
    assert.equal(q0compat.code, 0, q0compat.stderr);
    assert.equal(
      JSON.parse(q0compat.stdout).vstats.sim0.queue_type,
      "control_vq",
    );
  } finally {
    await vdevctl(["dev", "del", "sim1"]);
    await iproute2(["dev", "del", "sim0"]);
  }
  assert.deepEqual(vdpaDevices(), []);
});

Deno.test("vdpa_sim_blk: add, show, config show, delete", async () => {
  await vdevctl(["dev", "add", "name", "blk0", "mgmtdev", "vdpasim_blk"]);
  try {
    assert.deepEqual(vdpaDevices(), ["blk0"]);
    const [text] = await same(["dev", "show", "blk0"]);
    assert.match(text, /^blk0: type block mgmtdev vdpasim_blk /);
    await same(["dev", "config", "show", "blk0"]);
    await same(["dev", "config", "show"]);
  } finally {
    await vdevctl(["dev", "del", "blk0"]);
  }
  assert.deepEqual(vdpaDevices(), []);
});

Deno.test("-j dev add / dev del print what iproute2 prints (a newline)", async () => {
  try {
    for (const [tool, other] of [[ours, theirs], [theirs, ours]] as const) {
      const add = await tool([
        "-j",
        "dev",
        "add",
        "name",
        "simj",
        "mgmtdev",
        "vdpasim_net",
      ]);
      assert.equal(add.code, 0, add.stderr);
      const del = await other(["-j", "dev", "del", "simj"]);
      assert.equal(del.code, 0, del.stderr);
      assert.equal(add.stdout, "\n");
      assert.equal(del.stdout, "\n");
    }
    const fixed = await ours([
      "-j",
      "--no-iproute2-compat",
      "dev",
      "add",
      "name",
      "simj",
      "mgmtdev",
      "vdpasim_net",
    ]);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.equal(fixed.stdout, "");
  } finally {
    // Whatever failed above, leave no device for the later baselines.
    if (vdpaDevices().includes("simj")) await vdevctl(["dev", "del", "simj"]);
  }
});

Deno.test("errors: unknown mgmtdev or device, duplicate, unsupported attributes, bad values", async () => {
  await fails(["mgmtdev", "show", "nope"], {
    object: /vdpa management device "nope": no such management device/,
    code: "ENODEV",
    kernel: "Fail to find the specified mgmt device",
  });
  await fails(["dev", "add", "name", "x0", "mgmtdev", "nope"], {
    object: /cannot add vdpa device "x0": no management device "nope"/,
    code: "ENODEV",
    kernel: "Fail to find the specified management device",
  });
  for (
    const args of [["dev", "show", "nope"], ["dev", "config", "show", "nope"], [
      "dev",
      "del",
      "nope",
    ]]
  ) {
    await fails(args, {
      object: /vdpa device "nope".*no such vdpa device/,
      code: "ENODEV",
      kernel: "device not found",
    });
  }
  await fails(["dev", "vstats", "show", "nope", "qidx", "0"], {
    object: /vdpa device "nope" queue 0: no such vdpa device/,
    code: "ENODEV",
    kernel: "device not found",
  });
  const vduse = await fails([
    "dev",
    "add",
    "name",
    "vd0",
    "mgmtdev",
    "vduse",
    "mac",
    "52:54:00:00:00:02",
  ], {
    object:
      /cannot add vdpa device "vd0": management device "vduse" does not support mac/,
    code: "EOPNOTSUPP",
    kernel: "Some provided attributes are not supported: 0x400",
  });
  assert.match(
    vduse,
    /\(kernel: Some provided attributes are not supported: 0x400\)/,
  );
  await fails([
    "dev",
    "add",
    "name",
    "x1",
    "mgmtdev",
    "vdpasim_net",
    "max_vqp",
    "2",
  ], {
    object: /management device "vdpasim_net" does not support max_vqp/,
    code: "EOPNOTSUPP",
    kernel: "Some provided attributes are not supported: 0x1000",
  });
  await fails([
    "dev",
    "add",
    "name",
    "x2",
    "mgmtdev",
    "vdpasim_net",
    "mtu",
    "10",
  ], {
    object:
      /cannot add vdpa device "x2": a value is out of range \(mtu: 68\.\.65535\)/,
    code: "ERANGE",
    kernel: "integer out of range",
  });
  await fails([
    "dev",
    "add",
    "name",
    "x3",
    "mgmtdev",
    "vdpasim_net",
    "max_vqp",
    "0",
  ], {
    object: /cannot add vdpa device "x3": invalid argument/,
    code: "EINVAL",
    kernel: "At least one pair of VQs is required",
  });
  await fails(["dev", "add", "name", "x4", "mgmtdev", "vduse"], {
    object: /cannot add vdpa device "x4": no VDUSE device "x4" ready to attach/,
    code: "EINVAL",
  });
  await vdevctl(["dev", "add", "name", "dup0", "mgmtdev", "vdpasim_net"]);
  try {
    await fails(["dev", "add", "name", "dup0", "mgmtdev", "vdpasim_net"], {
      object:
        /cannot add vdpa device "dup0": a device with that name already exists/,
      code: "EEXIST",
    });
    await fails(["dev", "vstats", "show", "dup0", "qidx", "40000"], {
      object: /vdpa device "dup0" queue 40000/,
      code: "ERANGE",
      kernel: "queue index exceeds max value",
    });
  } finally {
    await vdevctl(["dev", "del", "dup0"]);
  }
  assert.deepEqual(vdpaDevices(), []);
});

Deno.test("lib: vdpaDevAdd/vdpaDevDel (the API mvnet uses) add and delete in-process", async () => {
  const adding = vdpaDevAdd({
    name: "lib0",
    mgmtdev: "vdpasim_net",
    mac: "52:54:00:00:00:09",
  });
  assert.ok(adding instanceof Promise);
  await adding;
  const [dev] = vdpaDevShow("lib0");
  assert.equal(dev.rec.DEV_NAME, "lib0");
  assert.equal(dev.rec.MGMTDEV_DEV_NAME, "vdpasim_net");
  await assert.rejects(
    vdpaDevAdd({ name: "lib0", mgmtdev: "vdpasim_net" }),
    /cannot add vdpa device "lib0": a device with that name already exists \[EEXIST\]/,
  );
  await vdpaDevDel("lib0");
  assert.deepEqual(vdpaDevices(), []);
  await assert.rejects(vdpaDevDel("lib0"), /no such vdpa device/);
});

Deno.test("the ./vdevctl launcher: same output as iproute2, one-line errors", async () => {
  for (
    const args of [["mgmtdev", "show"], [
      "-jp",
      "mgmtdev",
      "show",
      "vdpasim_net",
    ]]
  ) {
    const [a, b] = await Promise.all([launcher(args), theirs(args)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
  }
  const bad = await launcher(["dev", "show", "nope"]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, "");
  assert.equal(
    bad.stderr,
    "vdevctl: vdpa device \"nope\": no such vdpa device (see 'vdevctl vdpa dev show') (kernel: device not found) [ENODEV]\n",
  );
});

Deno.test("VDUSE: dev add/del from the process that serves the device (the event loop stays free)", async () => {
  const created = await run(VDEVCTL, [
    "vduse",
    "create",
    "vdx0",
    "--type",
    "net",
    "--mac",
    "52:54:00:00:00:07",
  ]);
  assert.equal(created.code, 0, `vduse create: ${created.stderr}`);
  // A short message timeout: a blocked event loop fails in seconds, not 30 s.
  Deno.writeTextFileSync("/sys/class/vduse/vdx0/msg_timeout", "5");
  const daemon = respond("vdx0");
  let statuses: number[] = [];
  try {
    // The library call, as mvnet makes it.
    await vdpaDevAdd({ name: "vdx0", mgmtdev: "vduse" });
    assert.deepEqual(vdpaDevices(), ["vdx0"]);
    await same(["dev", "show", "vdx0"]);
    await same(["dev", "config", "show", "vdx0"]);
    await fails(["dev", "vstats", "show", "vdx0", "qidx", "0"], {
      object: /vdpa device "vdx0" queue 0: the device has no vendor statistics/,
      code: "EOPNOTSUPP",
    });
    await vdpaDevDel("vdx0");
    assert.deepEqual(vdpaDevices(), []);
    // The CLI in-process: same event loop, same result.
    await vdevctl(["dev", "add", "name", "vdx0", "mgmtdev", "vduse"]);
    assert.deepEqual(vdpaDevices(), ["vdx0"]);
    await vdevctl(["dev", "del", "vdx0"]);
  } finally {
    if (vdpaDevices().includes("vdx0")) await vdpaDevDel("vdx0");
    statuses = await daemon.stop();
    const destroyed = await run(VDEVCTL, ["vduse", "destroy", "vdx0"]);
    assert.equal(destroyed.code, 0, `vduse destroy: ${destroyed.stderr}`);
  }
  // Attach: reset, ACK, DRIVER, FEATURES_OK, DRIVER_OK; detach: reset, ACK; twice.
  const cycle = [0x00, 0x01, 0x03, 0x0b, 0x0f, 0x00, 0x01];
  assert.deepEqual(statuses, [...cycle, ...cycle]);
});
