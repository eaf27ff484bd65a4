/**
 * `vdevctl vdpa` against iproute2 6.15 (Debian 13, from the cached peer
 * root that `deno task e2e` prepares on the host) and 6.1 (Debian 12's
 * /usr/sbin/vdpa) on the real 6.12 kernel: byte-identical text, -j and -jp
 * for every show command on vdpa_sim_net and vdpa_sim_blk, with the default
 * and with VDEVCTL_IPROUTE2_COMPAT=6.15; 6.15's new commands (dev add ...
 * device_features, dev set) checked across the tools; what the clean form
 * adds (block config, provisioned features, binding) against sysfs; and
 * dev bind between virtio_vdpa and vhost_vdpa; iproute2's abbreviations and,
 * for what it refuses, its exact words (the option errors, which need no
 * kernel, are in tests/vdpa/getopt_test.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { type PeerRoot, peerRoot, peerScript } from "../../lib/sandbox/mod.ts";
import { type CommandResult, runCommand } from "../command_output.ts";
import { ours } from "./vdpa_cli.ts";

const MODES = [[], ["-j"], ["-jp"]] as const;
const BUS = "/sys/bus/vdpa";

let peer: PeerRoot | undefined;

async function v615(args: readonly string[]): Promise<CommandResult> {
  peer ??= await peerRoot();
  return runCommand([
    "sh",
    "-c",
    peerScript(peer, ["vdpa", ...args], { system: true }),
  ]);
}
const v61 = (args: readonly string[]) =>
  runCommand(["/usr/sbin/vdpa", ...args]);

/** Ours under VDEVCTL_IPROUTE2_COMPAT=`compat` (unset when undefined). */
async function oursAs(
  compat: string | undefined,
  args: readonly string[],
): Promise<CommandResult> {
  if (compat === undefined) Deno.env.delete("VDEVCTL_IPROUTE2_COMPAT");
  else Deno.env.set("VDEVCTL_IPROUTE2_COMPAT", compat);
  try {
    return await ours(args);
  } finally {
    Deno.env.delete("VDEVCTL_IPROUTE2_COMPAT");
  }
}

/** 6.1, 6.15 and vdevctl (default and 6.15 compat): one stdout, all succeed. */
async function sameAll(args: readonly string[]): Promise<string[]> {
  const outs: string[] = [];
  for (const mode of MODES) {
    const full = [...mode, ...args];
    const a = await v61(full);
    const b = await v615(full);
    const c = await oursAs(undefined, full);
    const d = await oursAs("6.15", full);
    const what = `vdpa ${full.join(" ")}`;
    for (
      const [who, r] of [["6.1", a], ["6.15", b], ["vdevctl", c], [
        "vdevctl 6.15",
        d,
      ]] as const
    ) {
      assert.equal(r.code, 0, `${who} ${what}: ${r.stderr}`);
    }
    assert.equal(b.stdout, a.stdout, `6.15 and 6.1 differ: ${what}`);
    assert.equal(c.stdout, a.stdout, `vdevctl and 6.1: ${what}`);
    assert.equal(d.stdout, b.stdout, `vdevctl (6.15) and 6.15: ${what}`);
    outs.push(c.stdout);
  }
  return outs;
}

async function ok(r: Promise<CommandResult>, what: string): Promise<string> {
  const x = await r;
  assert.equal(x.code, 0, `${what}: ${x.stderr}`);
  return x.stdout;
}

const driverOf = (name: string): string | undefined => {
  try {
    return Deno.readLinkSync(`${BUS}/devices/${name}/driver`).split("/").pop();
  } catch {
    return undefined;
  }
};

async function until(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + 120_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function del(name: string): Promise<void> {
  if (existsSync(`${BUS}/devices/${name}`)) {
    await ok(ours(["dev", "del", name]), `dev del ${name}`);
  }
}

Deno.test("the peers: iproute2 6.15 from the peer root, 6.1 from Debian 12; -V as each", async () => {
  for (
    const m of ["vdpa_sim_net", "vdpa_sim_blk", "virtio_vdpa", "vhost_vdpa"]
  ) {
    assert.ok(existsSync(`/sys/module/${m}`), `module ${m} is loaded`);
  }
  const new15 = await ok(v615(["-V"]), "6.15 -V");
  assert.equal(new15, "vdpa utility, iproute2-6.15.0\n");
  const old = await ok(v61(["-V"]), "6.1 -V");
  assert.equal(old, "vdpa utility, iproute2-6.1.0\n");
  assert.equal(await ok(oursAs(undefined, ["-V"]), "-V"), old);
  assert.equal(await ok(oursAs("6.15", ["-V"]), "-V (6.15)"), new15);
  assert.equal(
    await ok(ours(["--iproute2", "6.15", "--Version"]), "-V"),
    new15,
  );
  const bad = await oursAs("5.4", ["-V"]);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /VDEVCTL_IPROUTE2_COMPAT: unknown iproute2 version "5\.4"/,
  );
});

Deno.test("6.1 = 6.15 = vdevctl: every show on vdpa_sim_net and vdpa_sim_blk", async () => {
  await ok(
    ours([
      "dev",
      "add",
      "name",
      "pn0",
      "mgmtdev",
      "vdpasim_net",
      "mac",
      "52:54:00:00:01:01",
    ]),
    "add pn0",
  );
  await ok(
    v615(["dev", "add", "name", "pb0", "mgmtdev", "vdpasim_blk"]),
    "add pb0",
  );
  try {
    await sameAll(["mgmtdev", "show"]);
    await sameAll(["mgmtdev", "show", "vdpasim_blk"]);
    await sameAll(["dev", "show"]);
    await sameAll(["dev", "show", "pb0"]);
    await sameAll(["dev", "config", "show"]);
    await sameAll(["dev", "config", "show", "pn0"]);
    await sameAll(["dev", "config", "show", "pb0"]);
    for (const q of ["0", "1"]) {
      await sameAll(["dev", "vstats", "show", "pn0", "qidx", q]);
    }
  } finally {
    await del("pn0");
    await del("pb0");
  }
});

Deno.test("dev add ... device_features HEX (options after it) and dev set mac, across vdevctl and 6.15", async () => {
  // VERSION_1 | MAC | STATUS | ACCESS_PLATFORM: a subset of vdpasim_net's.
  const features = (1n << 32n) | (1n << 5n) | (1n << 16n) | (1n << 33n);
  const hex = `0x${features.toString(16)}`;
  const add = [
    "mgmtdev",
    "vdpasim_net",
    "device_features",
    hex,
    "mac",
    "52:54:00:00:01:02",
  ];
  await ok(ours(["dev", "add", "name", "pf0", ...add]), "vdevctl add pf0");
  await ok(v615(["dev", "add", "name", "pf1", ...add]), "6.15 add pf1");
  try {
    const clean = async (name: string) =>
      JSON.parse(
        await ok(
          ours(["-j", "--no-iproute2-compat", "dev", "config", "show", name]),
          name,
        ),
      )
        .config[name];
    const [a, b] = [await clean("pf0"), await clean("pf1")];
    assert.deepEqual(a.device_features, [
      "MAC",
      "STATUS",
      "VERSION_1",
      "ACCESS_PLATFORM",
    ]);
    assert.deepEqual(b.device_features, a.device_features);
    assert.equal(a.mac, "52:54:00:00:01:02");
    // Both tools see the same configuration of each device.
    for (const n of ["pf0", "pf1"]) await sameAll(["dev", "config", "show", n]);
    // dev set: each tool sets, the other sees.
    await ok(
      ours(["dev", "set", "name", "pf0", "mac", "52:54:00:00:01:aa"]),
      "vdevctl set",
    );
    const seen = JSON.parse(
      await ok(v615(["-j", "dev", "config", "show", "pf0"]), "6.15 show"),
    );
    assert.equal(seen.config.pf0.mac, "52:54:00:00:01:aa");
    await ok(
      v615(["dev", "set", "name", "pf0", "mac", "52:54:00:00:01:bb"]),
      "6.15 set",
    );
    const back = JSON.parse(
      await ok(ours(["-j", "dev", "config", "show", "pf0"]), "show"),
    );
    assert.equal(back.config.pf0.mac, "52:54:00:00:01:bb");
    // Errors: a feature the management device lacks; set on a device that is not there.
    const bad = await ours([
      "dev",
      "add",
      "name",
      "pf2",
      "mgmtdev",
      "vdpasim_net",
      "device_features",
      "0x8000000000000000",
    ]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^vdevctl: cannot add vdpa device "pf2": .*\[E[A-Z]+\]\n$/,
    );
    const theirBad = await v615([
      "dev",
      "add",
      "name",
      "pf2",
      "mgmtdev",
      "vdpasim_net",
      "device_features",
      "0x8000000000000000",
    ]);
    assert.notEqual(theirBad.code, 0);
    const kernel = /^Error: (?:vdpa: )?(.*?)\.?$/m.exec(theirBad.stderr)?.[1];
    if (kernel) {
      assert.ok(bad.stderr.includes(`(kernel: ${kernel})`), bad.stderr);
    }
    const noDev = await ours([
      "dev",
      "set",
      "name",
      "nope",
      "mac",
      "52:54:00:00:01:cc",
    ]);
    assert.equal(noDev.code, 1);
    assert.match(noDev.stderr, /vdpa device "nope".*\[ENODEV\]/);
  } finally {
    await del("pf0");
    await del("pf1");
  }
});

Deno.test("the clean form: block config and the bus binding, against sysfs", async () => {
  // virtio_vdpa makes the virtio device; virtio_blk makes the disk of it.
  if (!existsSync("/sys/module/virtio_blk")) {
    await ok(runCommand(["modprobe", "virtio_blk"]), "modprobe virtio_blk");
  }
  await ok(
    ours(["dev", "add", "name", "pb1", "mgmtdev", "vdpasim_blk"]),
    "add pb1",
  );
  try {
    const b = await ok(
      ours(["dev", "bind", "pb1", "driver", "virtio_vdpa"]),
      "bind",
    );
    assert.match(b, /^pb1: driver virtio_vdpa/);
    await until("pb1's disk", () => diskOf("pb1") !== undefined);
    const disk = diskOf("pb1")!;
    const cfg = JSON.parse(
      await ok(
        ours(["-j", "--no-iproute2-compat", "dev", "config", "show", "pb1"]),
        "config",
      ),
    ).config.pb1;
    const sectors = Number(
      Deno.readTextFileSync(`/sys/block/${disk}/size`).trim(),
    );
    assert.equal(
      cfg.capacity,
      sectors,
      "capacity in 512-byte sectors = the disk's size",
    );
    const lbs = Number(
      Deno.readTextFileSync(`/sys/block/${disk}/queue/logical_block_size`)
        .trim(),
    );
    assert.equal(cfg.blk_size, lbs);
    assert.equal(typeof cfg.seg_max, "number");
    assert.ok(
      Array.isArray(cfg.negotiated_features) &&
        cfg.negotiated_features.includes("VERSION_1"),
    );
    assert.ok(Array.isArray(cfg.device_features));
    const ro = Deno.readTextFileSync(`/sys/block/${disk}/ro`).trim() === "1";
    if (cfg.read_only !== undefined) assert.equal(cfg.read_only, ro);
    // The compat form is still iproute2's (handle only).
    assert.equal(
      await ok(ours(["dev", "config", "show", "pb1"]), "compat"),
      "pb1: \n",
    );
    const dev = JSON.parse(
      await ok(
        ours(["-j", "--no-iproute2-compat", "dev", "show", "pb1"]),
        "dev show",
      ),
    ).dev.pb1;
    assert.equal(dev.driver, "virtio_vdpa");
    assert.equal(dev.disk, disk);
  } finally {
    await del("pb1");
  }
});

/** The first entry under `virtioN/SUB` of vdpa device `name` (a disk, a netdev). */
function virtioChild(name: string, sub: "block" | "net"): string | undefined {
  const dir = `${BUS}/devices/${name}`;
  for (const e of Deno.readDirSync(dir)) {
    if (!/^virtio\d+$/.test(e.name)) continue;
    try {
      const d = [...Deno.readDirSync(`${dir}/${e.name}/${sub}`)][0];
      if (d) return d.name;
    } catch {
      // not there yet
    }
  }
  return undefined;
}

const diskOf = (name: string) => virtioChild(name, "block");
const netdevOf = (name: string) => virtioChild(name, "net");

Deno.test("dev bind: vdpa_sim_net between vhost_vdpa and virtio_vdpa", async () => {
  await ok(
    ours(["dev", "add", "name", "pv0", "mgmtdev", "vdpasim_net"]),
    "add pv0",
  );
  try {
    const toVhost = await ok(
      ours(["dev", "bind", "pv0", "driver", "vhost_vdpa"]),
      "to vhost",
    );
    assert.equal(driverOf("pv0"), "vhost_vdpa");
    const m = /vhost_dev (\/dev\/vhost-vdpa-\d+)/.exec(toVhost);
    assert.ok(m, toVhost);
    await until(m[1], () => existsSync(m[1]));
    assert.equal(netdevOf("pv0"), undefined, "no netdev on vhost_vdpa");
    const shown = JSON.parse(
      await ok(
        ours(["-j", "--no-iproute2-compat", "dev", "show", "pv0"]),
        "show",
      ),
    ).dev.pv0;
    assert.equal(shown.driver, "vhost_vdpa");
    assert.equal(shown.vhost_dev, m[1]);
    const again = await ok(
      ours(["dev", "bind", "pv0", "driver", "vhost_vdpa"]),
      "again",
    );
    assert.match(again, /\(unchanged\)/);
    const j = JSON.parse(
      await ok(
        ours(["-j", "dev", "bind", "pv0", "driver", "virtio_vdpa"]),
        "to virtio",
      ),
    );
    assert.equal(j.bind.pv0.from, "vhost_vdpa");
    assert.equal(driverOf("pv0"), "virtio_vdpa");
    await until("pv0's netdev", () => netdevOf("pv0") !== undefined);
    assert.ok(!existsSync(m[1]), `${m[1]} is gone`);
    // Negotiated again on virtio_vdpa: iproute2 sees the config.
    await sameAll(["dev", "config", "show", "pv0"]);
  } finally {
    await del("pv0");
  }
});

/**
 * 6.1 (unless `new615`: a command 6.1 lacks), 6.15 and vdevctl: the same
 * exit status, stdout and stderr bytes.
 */
async function sameBytes(args: readonly string[], new615 = false) {
  const what = `vdpa ${args.join(" ")}`;
  const all = (r: CommandResult) => [r.code, r.stdout, r.stderr];
  const b = all(await v615(args));
  if (!new615) assert.deepEqual(all(await v61(args)), b, `6.1: ${what}`);
  assert.deepEqual(all(await ours(args)), b, `vdevctl and iproute2: ${what}`);
}

Deno.test("iproute2's other spellings: abbreviated words and options give the same output; what it refuses, the same words", async () => {
  await ok(
    ours(["dev", "add", "name", "pa0", "mgmtdev", "vdpasim_net"]),
    "add pa0",
  );
  try {
    // Object and command words by prefix (matches()), options by getopt.
    for (
      const args of [
        ["m", "s"],
        ["mgmtdev", "l"],
        ["d", "s", "pa0"],
        ["dev", "li"],
        ["d", "conf", "sh", "pa0"],
        ["d", "c"],
        ["dev", "show", "pa0", "-j"],
        ["--js", "--pre", "d", "s"],
        ["--j", "dev", "config", "show", "pa0"],
      ]
    ) {
      const [a, b, c] = [await v61(args), await v615(args), await ours(args)];
      const what = `vdpa ${args.join(" ")}`;
      assert.equal(a.code, 0, `6.1 ${what}: ${a.stderr}`);
      assert.equal(b.stdout, a.stdout, `6.15: ${what}`);
      assert.equal(c.stdout, a.stdout, `vdevctl: ${what}`);
      assert.equal(c.code, 0, `vdevctl ${what}: ${c.stderr}`);
    }
    const add = ["dev", "add", "name", "pa1", "mgmtdev", "vdpasim_net"];
    for (
      const args of [
        ["frob"],
        ["dev", "frob"],
        ["-j", "dev", "frob"],
        ["dev", "se", "name", "pa0"],
        ["dev", "vs", "show", "pa0"],
        ["dev", "vstats"],
        ["dev", "vstats", "show", "pa0", "qidx"],
        ["dev", "vstats", "sh", "pa0", "qidx", "0"],
        ["dev", "config", "frob"],
        ["mgmtdev", "frob"],
        // iproute2 reads KEY VALUE pairs while two words are left: a lone
        // last word is ignored, two are refused.
        ["dev", "show", "pa0", "extra"],
        ["dev", "show", "pa0", "a", "b"],
        ["mgmtdev", "show", "vdpasim_net", "extra"],
        ["mgmtdev", "show", "vdpasim_net", "a", "b"],
        ["dev", "config", "show", "pa0", "extra"],
        ["mgmtdev", "show", "a/b/c"],
        ["dev", "add", "name", "pa1"],
        ["dev", "add", "mgmtdev", "vdpasim_net"],
        ["dev", "add", "name"],
        ["dev", "add", "name", "pa1", "mgmtdev"],
        [...add, "mt", "1500"],
        [...add, "speed", "1"],
        ["-j", ...add, "speed", "1"],
        ["dev", "del"],
      ]
    ) await sameBytes(args);
    for (
      const args of [
        ["dev", "set", "name", "pa0", "mtu", "1500"],
        ["dev", "set", "mac", "52:54:00:00:01:09"],
        ["-j", "dev", "set", "name", "pa0", "max_vqp", "2"],
      ]
    ) await sameBytes(args, true);
    // Neither vdpa tool made pa1.
    assert.ok(!existsSync(`${BUS}/devices/pa1`));
  } finally {
    await del("pa0");
    await del("pa1");
  }
});
