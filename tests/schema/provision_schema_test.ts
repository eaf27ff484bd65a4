/**
 * The provisioning schemas against real outputs and against the validator:
 * `export --json` on the example mdev tree and on the fake VDUSE tree with
 * a running mvnet daemon (a pid file and its /proc cmdline) matches
 * provision-manifest; `apply --json` and `diff --json` match provision-apply
 * and provision-diff; and, manifest by manifest, the schema accepts exactly
 * what `parseManifest` accepts (the rules a schema can state: shapes, keys,
 * values; duplicates and name collisions are the validator's alone).
 *
 * @module
 */

import assert from "node:assert/strict";
import { runCommand } from "../command_output.ts";
import { parseManifest } from "../../lib/provision/mod.ts";
import { fakeTree, recordVnet0 } from "../vduse/fake_tree.ts";
import { schemaValidator } from "./validate.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const { validate } = schemaValidator();

async function vdevctl(root: string, args: string[]): Promise<string> {
  const r = await runCommand([`${REPO}/vdevctl`, "--root", root, ...args]);
  assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

function schemaAccepts(doc: unknown): boolean {
  try {
    validate("provision-manifest", doc);
    return true;
  } catch {
    return false;
  }
}

function parserAccepts(doc: unknown): boolean {
  try {
    parseManifest(JSON.stringify(doc));
    return true;
  } catch {
    return false;
  }
}

const U = "11111111-2222-4333-8444-555555555555";
const GOOD = {
  mdev: [{
    uuid: U,
    parent: "mtty",
    type: "mtty-1",
    start: "auto",
    attrs: [{ x: "1" }] as Record<string, string>[],
    state: "running",
  }],
  vduse: [
    { name: "vd0", type: "net", mac: "52:54:00:00:00:10", mtu: 1500 },
    { name: "vb0", type: "blk", queue_size: 128 },
  ],
  vdpa: [
    {
      name: "sim0",
      mgmtdev: "vdpasim_net",
      mac: "52:54:00:00:00:11",
      mtu: 1500,
      max_vqp: 1,
      driver: "virtio_vdpa",
    },
    { name: "vd0", mgmtdev: "vduse", driver: "vhost_vdpa" },
  ],
  mvnet: [{
    name: "mv0",
    mac: "52:54:00:00:00:12",
    mtu: 9000,
    queue_size: 256,
  }],
};

type Doc = typeof GOOD;
type Edit = [string, (d: Doc & Record<string, unknown>) => void];

/** One change each, accepted or refused by the validator. */
const EDITS: Edit[] = [
  ["nothing", () => {}],
  ["empty", (d) => {
    for (const k of Object.keys(d)) delete d[k];
  }],
  ["unknown kind", (d) => d.mvnets = []],
  ["kind not an array", (d) => (d as Record<string, unknown>).vdpa = {}],
  ["unknown mdev key", (d) => Object.assign(d.mdev[0], { colour: 1 })],
  ["mdev no uuid", (d) => delete (d.mdev[0] as Partial<Doc["mdev"][0]>).uuid],
  ["uuid braces", (d) => d.mdev[0].uuid = `{${U}}`],
  ["uuid urn", (d) => d.mdev[0].uuid = `urn:uuid:${U}`],
  ["uuid simple", (d) => d.mdev[0].uuid = U.replaceAll("-", "")],
  ["uuid upper", (d) => d.mdev[0].uuid = U.toUpperCase()],
  ["uuid bad", (d) => d.mdev[0].uuid = "nope"],
  ["parent slash", (d) => d.mdev[0].parent = "../x"],
  ["parent dot", (d) => d.mdev[0].parent = ".."],
  ["type empty", (d) => d.mdev[0].type = ""],
  ["start bad", (d) => d.mdev[0].start = "sometimes"],
  ["state defined", (d) => d.mdev[0].state = "defined"],
  ["state bad", (d) => d.mdev[0].state = "on"],
  ["attr two keys", (d) => d.mdev[0].attrs = [{ a: "1", b: "2" }]],
  ["attr number", (d) => (d.mdev[0].attrs as unknown[]) = [{ a: 1 }]],
  ["attr slash", (d) => d.mdev[0].attrs = [{ "a/b": "1" }]],
  ["attrs not array", (d) => (d.mdev[0] as Record<string, unknown>).attrs = {}],
  ["vduse type missing", (d) => delete (d.vduse[0] as { type?: string }).type],
  ["vduse type scsi", (d) => d.vduse[0].type = "scsi"],
  ["vduse mac dashes", (d) => d.vduse[0].mac = "52-54-00-AB-00-10"],
  ["vduse mac mixed", (d) => d.vduse[0].mac = "52:54-00:ab:00:10"],
  ["vduse mac multicast", (d) => d.vduse[0].mac = "01:00:00:00:00:01"],
  ["vduse mac zero", (d) => d.vduse[0].mac = "00:00:00:00:00:00"],
  ["vduse mac short", (d) => d.vduse[0].mac = "52:54:00:00:00"],
  ["vduse mtu low", (d) => d.vduse[0].mtu = 67],
  ["vduse mtu float", (d) => d.vduse[0].mtu = 1500.5],
  ["vduse queue 100", (d) => d.vduse[1].queue_size = 100],
  ["vduse queue 1", (d) => d.vduse[1].queue_size = 1],
  ["vduse queue 65536", (d) => d.vduse[1].queue_size = 65536],
  ["vduse blk mac", (d) => Object.assign(d.vduse[1], { mac: "52:54:0:0:0:1" })],
  ["vduse blk mtu", (d) => Object.assign(d.vduse[1], { mtu: 1500 })],
  ["vduse name slash", (d) => d.vduse[0].name = "a/b"],
  ["vduse name space", (d) => d.vduse[0].name = "a b"],
  ["vduse name dot", (d) => d.vduse[0].name = "."],
  [
    "vdpa no mgmtdev",
    (d) => delete (d.vdpa[0] as { mgmtdev?: string }).mgmtdev,
  ],
  ["vdpa mac short octets", (d) => d.vdpa[0].mac = "52:54:0:0:0:1"],
  ["vdpa mac multicast", (d) => d.vdpa[0].mac = "01:00:5e:00:00:01"],
  ["vdpa mac dashes", (d) => d.vdpa[0].mac = "52-54-00-00-00-11"],
  ["vdpa max_vqp 0", (d) => d.vdpa[0].max_vqp = 0],
  ["vdpa driver vfio", (d) => d.vdpa[0].driver = "vfio"],
  ["vdpa name space", (d) => d.vdpa[0].name = "s 0"],
  ["vdpa on vduse with mac", (d) => {
    d.vdpa[1] = { ...d.vdpa[1], mac: "52:54:00:00:00:01" } as Doc["vdpa"][1];
  }],
  ["mvnet name only", (d) => d.mvnet[0] = { name: "mv0" } as Doc["mvnet"][0]],
  ["mvnet no name", (d) => delete (d.mvnet[0] as { name?: string }).name],
  ["mvnet name dash first", (d) => d.mvnet[0].name = "-mv"],
  ["mvnet name dotted", (d) => d.mvnet[0].name = "mv.0_a-b"],
  ["mvnet mac multicast", (d) => d.mvnet[0].mac = "03:00:00:00:00:01"],
  ["mvnet queue 1000", (d) => d.mvnet[0].queue_size = 1000],
  ["mvnet irq_cpus", (d) => Object.assign(d.mvnet[0], { irq_cpus: "1" })],
  [
    "mvnet mtu string",
    (d) => (d.mvnet[0] as Record<string, unknown>).mtu = "1500",
  ],
];

Deno.test("provision-manifest: the schema accepts exactly what the validator accepts", () => {
  let refused = 0;
  for (const [what, edit] of EDITS) {
    const doc = structuredClone(GOOD) as Doc & Record<string, unknown>;
    edit(doc);
    const parser = parserAccepts(doc);
    assert.equal(
      schemaAccepts(doc),
      parser,
      `${what}: the validator ${parser ? "accepts" : "refuses"} ${
        JSON.stringify(doc)
      }`,
    );
    if (!parser) refused++;
  }
  // Both kinds of case are there.
  assert.ok(refused >= 30 && refused < EDITS.length - 10, `${refused}`);
});

Deno.test("provision-manifest: export --json on the example tree", async () => {
  const doc = JSON.parse(
    await vdevctl(`${REPO}/examples/sysroot`, ["export", "--json"]),
  );
  validate("provision-manifest", doc);
  assert.ok(doc.mdev.length > 0);
  assert.ok(parserAccepts(doc));
});

Deno.test("provision-manifest, -apply, -diff: export, apply --json and diff --json with an mvnet daemon on the fake VDUSE tree", async () => {
  const root = await fakeTree();
  try {
    recordVnet0(root);
    // vnet0 is served by pid 4242: make that an mvnet daemon of apply's.
    Deno.mkdirSync(`${root.dir}/run/vdevctl/mvnet`, { recursive: true });
    Deno.writeTextFileSync(`${root.dir}/run/vdevctl/mvnet/vnet0.pid`, "4242\n");
    Deno.writeTextFileSync(
      `${root.dir}/proc/4242/cmdline`,
      ["deno", "run", "main.ts", "mvnet", "run", "vnet0", ""].join("\0"),
    );
    const text = await vdevctl(root.dir, ["export", "--json"]);
    const doc = JSON.parse(text);
    validate("provision-manifest", doc);
    assert.deepEqual(doc.mvnet, [
      { name: "vnet0", mac: "52:54:00:00:00:01", mtu: 9000, queue_size: 256 },
    ]);
    assert.ok(!doc.vduse.some((d: { name: string }) => d.name === "vnet0"));
    const file = `${root.dir}/m.json`;
    Deno.writeTextFileSync(file, text);
    const same = JSON.parse(
      await vdevctl(root.dir, ["apply", "--dry-run", "--json", file]),
    );
    validate("provision-apply", same);
    assert.deepEqual(same, { changed: false, actions: [] });
    doc.mvnet[0].mtu = 1500;
    doc.mvnet.push({ name: "mv1" });
    Deno.writeTextFileSync(file, JSON.stringify(doc));
    const plan = JSON.parse(
      await vdevctl(root.dir, ["apply", "--dry-run", "--json", file]),
    );
    validate("provision-apply", plan);
    const diff = JSON.parse(await vdevctl(root.dir, ["diff", "--json", file]));
    validate("provision-diff", diff);
    assert.deepEqual(diff, plan.actions);
    assert.deepEqual(diff.map((a: { text: string }) => a.text), [
      "~ mvnet vnet0: mtu 9000 -> 1500 (restarted)",
      `+ mvnet mv1 (${parseManifest(JSON.stringify(doc)).mvnet![1].mac})`,
    ]);
    // The schemas can fail.
    assert.throws(() =>
      validate("provision-apply", { changed: false, actions: diff })
    );
    assert.throws(() => validate("provision-diff", [{ ...diff[0], op: "!" }]));
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
});
