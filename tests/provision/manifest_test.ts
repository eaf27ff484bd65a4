/**
 * The manifest's checks: every bad manifest gets one line naming the JSON
 * path and the fix; values are normalized by the families' own parsers;
 * the host checks refuse unknown parents, management devices, drivers and
 * vDPA devices on undeclared VDUSE devices (or defer them at boot).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  checkManifest,
  type HostFacts,
  mergeManifests,
  parseManifest,
} from "../../lib/provision/mod.ts";
import { VdevError } from "../../lib/errors.ts";
import { macForName } from "../../lib/mvnet/mod.ts";

const U = "11111111-2222-4333-8444-555555555555";

function refused(doc: unknown, re: RegExp): void {
  const text = typeof doc === "string" ? doc : JSON.stringify(doc);
  assert.throws(() => parseManifest(text), (err: unknown) => {
    assert.ok(err instanceof VdevError, String(err));
    assert.match(err.message, re);
    assert.ok(!err.message.includes("\n"), "one line");
    return true;
  });
}

Deno.test("parseManifest: bad manifests name the JSON path and the fix", () => {
  const sim = { name: "sim0", mgmtdev: "vdpasim_net" };
  refused("{", /^manifest: not valid JSON/);
  refused([], /^manifest: not a JSON object/);
  refused(
    { mvnets: [] },
    /^mvnets: unknown key: use mdev, vduse, vdpa, mvnet$/,
  );
  refused({ vdpa: {} }, /^vdpa: not an array/);
  refused(
    { vdpa: [sim, { ...sim, name: "s1", mac: "zz" }] },
    /^vdpa\[1\]\.mac: not a MAC address/,
  );
  refused(
    { vdpa: [{ ...sim, colour: 1 }] },
    /^vdpa\[0\]\.colour: unknown key: use one of name, mgmtdev/,
  );
  refused({ vdpa: [{ name: "x" }] }, /^vdpa\[0\]\.mgmtdev: missing/);
  refused(
    { vdpa: [{ ...sim, driver: "vfio" }] },
    /^vdpa\[0\]\.driver: must be one of virtio_vdpa, vhost_vdpa/,
  );
  refused(
    { vdpa: [{ ...sim, mtu: 1.5 }] },
    /^vdpa\[0\]\.mtu: not a whole number between 68 and 65535/,
  );
  refused(
    { vdpa: [{ name: "v", mgmtdev: "vduse", mac: "52:54:00:00:00:01" }] },
    /^vdpa\[0\]\.mac: a vduse device takes it from its VDUSE device/,
  );
  refused(
    { vdpa: [sim, sim] },
    /^vdpa\[1\]\.name: duplicate of vdpa\[0\] \(sim0\)/,
  );
  refused(
    { vduse: [{ name: "vd0", type: "scsi" }] },
    /^vduse\[0\]\.type: must be one of net, blk/,
  );
  refused(
    { vduse: [{ name: "vd0", type: "net", mac: "01:00:00:00:00:01" }] },
    /^vduse\[0\]\.mac: not a MAC address \(.*multicast/,
  );
  refused(
    { vduse: [{ name: "vd0", type: "net", queue_size: 100 }] },
    /^vduse\[0\]: --queue-size 100 is not a power of two/,
  );
  refused(
    { vduse: [{ name: "a/b", type: "net" }] },
    /^vduse\[0\]: bad VDUSE device name/,
  );
  refused(
    { vduse: [{ name: "b0", type: "blk", mtu: 1500 }] },
    /^vduse\[0\]: --mac and --mtu are for --type net/,
  );
  refused(
    { mdev: [{ uuid: "nope", parent: "mtty", type: "mtty-1" }] },
    /^mdev\[0\]\.uuid: not a UUID/,
  );
  refused(
    { mdev: [{ uuid: U, parent: "../x", type: "mtty-1" }] },
    /^mdev\[0\]\.parent: not a device name/,
  );
  refused(
    { mdev: [{ uuid: U, parent: "mtty", type: "t", state: "on" }] },
    /^mdev\[0\]\.state: must be one of running, defined, absent/,
  );
  refused(
    { mdev: [{ uuid: U, parent: "mtty", type: "t", attrs: [{ a: 1 }] }] },
    /^mdev\[0\]\.attrs\[0\]: must map an attribute file name to a string/,
  );
  refused({
    mdev: [{ uuid: U, parent: "p", type: "t" }, {
      uuid: U.toUpperCase(),
      parent: "q",
      type: "t",
    }],
  }, /^mdev\[1\]\.uuid: duplicate of mdev\[0\]/);
});

Deno.test("parseManifest: bad mvnet entries, duplicates and collisions", () => {
  const mv = { name: "mv0", mac: "52:54:00:00:00:12" };
  refused({ mvnet: {} }, /^mvnet: not an array/);
  refused({ mvnet: [{ mac: mv.mac }] }, /^mvnet\[0\]\.name: missing/);
  refused(
    { mvnet: [{ ...mv, mac: "52:54:00:00:00" }] },
    /^mvnet\[0\]\.mac: not a MAC address/,
  );
  refused(
    { mvnet: [{ ...mv, mac: "ff:ff:ff:ff:ff:ff" }] },
    /^mvnet\[0\]\.mac: not a MAC address \(.*(multicast|broadcast)/,
  );
  refused(
    { mvnet: [{ ...mv, queue_size: 1000 }] },
    /^mvnet\[0\]: --queue-size 1000 is not a power of two/,
  );
  refused(
    { mvnet: [{ ...mv, mtu: 20 }] },
    /^mvnet\[0\]\.mtu: not a whole number between 68 and 65535/,
  );
  refused(
    { mvnet: [{ ...mv, irq_cpus: "1" }] },
    /^mvnet\[0\]\.irq_cpus: unknown key: use one of name, mac, mtu, queue_size$/,
  );
  refused(
    { mvnet: [{ ...mv, name: "a b" }] },
    /^mvnet\[0\]\.name: use letters, digits/,
  );
  refused(
    { mvnet: [{ ...mv, name: "-x" }] },
    /^mvnet\[0\]\.name: use letters, digits/,
  );
  refused(
    { mvnet: [mv, { name: "mv0" }] },
    /^mvnet\[1\]\.name: duplicate of mvnet\[0\] \(mv0\)/,
  );
  refused(
    { vduse: [{ name: "mv0", type: "net" }], mvnet: [{ name: "x" }, mv] },
    /^mvnet\[1\]\.name: mv0 is also vduse\[0\]: an mvnet daemon makes its own VDUSE and vDPA device/,
  );
  refused(
    { vdpa: [{ name: "mv0", mgmtdev: "vdpasim_net" }], mvnet: [mv] },
    /^mvnet\[0\]\.name: mv0 is also vdpa\[0\]/,
  );
  // Across files too.
  const a = parseManifest(JSON.stringify({ mvnet: [mv] }));
  const b = parseManifest(
    JSON.stringify({ vduse: [{ name: "mv0", type: "net" }] }),
  );
  assert.throws(
    () => mergeManifests([a, b]),
    /^VdevError: mvnet\[0\]\.name: mv0 is also vduse\[0\]/,
  );
});

Deno.test("parseManifest: mvnet defaults are mvnet run's", () => {
  const m = parseManifest(JSON.stringify({
    mvnet: [{ name: "mv0", mac: "52-54-00-00-00-1A" }, {
      name: "mv1",
      mtu: 9000,
      queue_size: 256,
    }],
  }));
  assert.deepEqual(m.mvnet, [
    { name: "mv0", mac: "52:54:00:00:00:1a", mtu: 1500, queue_size: 1024 },
    // mvnet run's MAC of an unnamed one: derived from the name.
    { name: "mv1", mac: macForName("mv1"), mtu: 9000, queue_size: 256 },
  ]);
});

Deno.test("parseManifest: values normalized, defaults filled", () => {
  const m = parseManifest(JSON.stringify({
    mdev: [{ uuid: U.toUpperCase(), parent: "mtty", type: "mtty-1" }],
    vduse: [{ name: "vd0", type: "net", mac: "52-54-00-AB-00-10" }],
    vdpa: [{ name: "sim0", mgmtdev: "vdpasim_net", mac: "52:54:0:0:0:1" }],
  }));
  assert.deepEqual(m, {
    mdev: [{
      uuid: U,
      parent: "mtty",
      type: "mtty-1",
      start: "manual",
      attrs: [],
      state: "running",
    }],
    vduse: [{
      name: "vd0",
      type: "net",
      mac: "52:54:00:ab:00:10",
      queue_size: 256,
    }],
    vdpa: [{ name: "sim0", mgmtdev: "vdpasim_net", mac: "52:54:00:00:00:01" }],
  });
  assert.deepEqual(parseManifest("{}"), {});
});

Deno.test("mergeManifests: a device in two files is refused", () => {
  const a = parseManifest('{"vdpa": [{"name": "s", "mgmtdev": "m"}]}');
  assert.equal(
    mergeManifests([a, parseManifest('{"mdev": []}')]).vdpa?.length,
    1,
  );
  assert.throws(() => mergeManifests([a, a]), /vdpa\[1\]\.name: duplicate/);
});

const FACTS: HostFacts = {
  mdevParents: ["mtty"],
  mgmtdevs: ["vdpasim_net", "vduse"],
  vdpaDrivers: ["virtio_vdpa"],
  vduseLoaded: true,
};

Deno.test("checkManifest: refuses what the host cannot do, before any change", () => {
  const check = (doc: unknown, facts = FACTS) =>
    checkManifest(parseManifest(JSON.stringify(doc)), facts);
  assert.throws(
    () => check({ mdev: [{ uuid: U, parent: "gpu0", type: "t" }] }),
    /^VdevError: mdev\[0\]\.parent: no mdev parent gpu0 on this host/,
  );
  assert.equal(
    check({ mdev: [{ uuid: U, parent: "gpu0", type: "t", state: "absent" }] })
      .manifest.mdev?.length,
    1,
  );
  assert.throws(
    () => check({ vdpa: [{ name: "s", mgmtdev: "ifcvf" }] }),
    /^VdevError: vdpa\[0\]\.mgmtdev: unknown management device ifcvf/,
  );
  assert.throws(
    () => check({ vdpa: [{ name: "vd1", mgmtdev: "vduse" }] }),
    /^VdevError: vdpa\[0\]\.name: no VDUSE device vd1 in this manifest: declare it under vduse\[\]/,
  );
  assert.throws(
    () =>
      check({
        vdpa: [{ name: "s", mgmtdev: "vdpasim_net", driver: "vhost_vdpa" }],
      }),
    /^VdevError: vdpa\[0\]\.driver: the vdpa driver vhost_vdpa is not loaded: modprobe vhost_vdpa/,
  );
  assert.throws(
    () =>
      check({ vduse: [{ name: "v", type: "net" }] }, {
        ...FACTS,
        vduseLoaded: false,
      }),
    /^VdevError: vduse: the vduse module is not loaded/,
  );
  const ok = check({
    vduse: [{ name: "v", type: "net" }],
    vdpa: [{ name: "v", mgmtdev: "vduse" }],
  });
  assert.equal(ok.manifest.vdpa?.length, 1);
});

Deno.test("checkManifest: deferMissing drops what is not there yet, with a warning", () => {
  const m = parseManifest(JSON.stringify({
    mdev: [{ uuid: U, parent: "gpu0", type: "t" }],
    vdpa: [{ name: "s", mgmtdev: "ifcvf" }, {
      name: "t",
      mgmtdev: "vdpasim_net",
    }],
  }));
  const r = checkManifest(m, FACTS, { deferMissing: true });
  assert.deepEqual(r.manifest.mdev, []);
  assert.deepEqual(r.manifest.vdpa?.map((d) => d.name), ["t"]);
  assert.equal(r.warnings.length, 2);
  assert.match(r.warnings[0], /deferred until it appears/);
});
