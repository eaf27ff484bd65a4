/**
 * Where manifests come from (lib/provision/source.ts): JSON and YAML files,
 * standard input in either form, `/etc/vdevctl/*.{json,yaml,yml}`, and
 * `export --yaml` read back by `apply` on the example tree.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  etcManifestPaths,
  isYamlPath,
  parseManifest,
  parseYamlManifest,
  readManifest,
} from "../../lib/provision/mod.ts";
import { SysRoot } from "../../lib/root.ts";
import { VdevError } from "../../lib/errors.ts";
import { runCommand } from "../command_output.ts";

const REPO = new URL("../..", import.meta.url).pathname;
const EXAMPLE = `${REPO}examples/sysroot`;
const U = "11111111-2222-4333-8444-555555555555";

const YAML_TEXT = `# the host's devices
mdev:
  - uuid: ${U}
    parent: mtty
    type: mtty-1
    start: auto
    attrs:
      - {x: "1"}
vdpa:
  - name: sim0
    mgmtdev: vdpasim_net
    mac: "52:54:00:00:00:11"
    driver: virtio_vdpa
`;

const JSON_DOC = {
  mdev: [{
    uuid: U,
    parent: "mtty",
    type: "mtty-1",
    start: "auto",
    attrs: [{ x: "1" }],
  }],
  vdpa: [{
    name: "sim0",
    mgmtdev: "vdpasim_net",
    mac: "52:54:00:00:00:11",
    driver: "virtio_vdpa",
  }],
};

function withDir(fn: (dir: string) => Promise<void>) {
  return async () => {
    const dir = Deno.makeTempDirSync();
    try {
      await fn(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

Deno.test("source: a YAML manifest means what the same JSON means", async () => {
  assert.deepEqual(
    await parseYamlManifest(YAML_TEXT, "m.yaml"),
    parseManifest(JSON.stringify(JSON_DOC), "m.json"),
  );
  assert.equal(isYamlPath("a/b.yaml"), true);
  assert.equal(isYamlPath("b.YML"), true);
  assert.equal(isYamlPath("b.json"), false);
});

Deno.test("source: bad YAML is one line naming the file or the JSON path", async () => {
  const refused = async (text: string, re: RegExp) => {
    const err = await parseYamlManifest(text, "m.yaml").then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof VdevError, `refused: ${text}`);
    assert.match(err.message, re);
    assert.doesNotMatch(err.message, /\n/);
  };
  // Duplicate keys are an error, not "the last one wins".
  await refused("mdev: []\nmdev: []\n", /^m\.yaml: not valid YAML \(.*/);
  await refused("mdev: [\n", /^m\.yaml: not valid YAML/);
  await refused("- 1\n- 2\n", /^m\.yaml: not a JSON object/);
  await refused(
    "vdpa:\n  - {name: sim0, mgmtdev: vdpasim_net, colour: red}\n",
    /vdpa\[0\]\.colour/,
  );
  await refused(
    "vdpa:\n  - {name: sim0, mgmtdev: vdpasim_net, mac: 52:54:00:00:00}\n",
    /vdpa\[0\]\.mac/,
  );
  // An alias bomb ("billion laughs") is refused, not expanded.
  const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    bomb.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(", ")}]`);
  }
  await refused(bomb.join("\n") + "\n", /^m\.yaml: not valid YAML/);
});

Deno.test(
  "source: files by name, /etc/vdevctl's YAML too",
  withDir(async (dir) => {
    Deno.mkdirSync(`${dir}/etc/vdevctl`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/etc/vdevctl/a.json`, "{}");
    Deno.writeTextFileSync(`${dir}/etc/vdevctl/b.yaml`, YAML_TEXT);
    Deno.writeTextFileSync(`${dir}/etc/vdevctl/c.yml`, "mdev: []\n");
    Deno.writeTextFileSync(`${dir}/etc/vdevctl/d.txt`, "not a manifest");
    Deno.writeTextFileSync(`${dir}/etc/vdevctl/.e.yaml.tmp`, "x");
    const paths = etcManifestPaths(new SysRoot(dir));
    assert.deepEqual(
      paths.map((p) => p.slice(p.lastIndexOf("/") + 1)),
      ["a.json", "b.yaml", "c.yml"],
    );
    assert.deepEqual(
      await readManifest(`${dir}/etc/vdevctl/b.yaml`),
      parseManifest(JSON.stringify(JSON_DOC)),
    );
    // A .json file is JSON, whatever it holds.
    Deno.writeTextFileSync(`${dir}/x.json`, YAML_TEXT);
    await assert.rejects(
      () => readManifest(`${dir}/x.json`),
      /x\.json: not valid JSON/,
    );
  }),
);

async function vdevctl(
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  if (stdin === undefined) return await runCommand([`${REPO}vdevctl`, ...args]);
  const child = new Deno.Command(`${REPO}vdevctl`, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

Deno.test("source: export --yaml | apply - changes nothing; YAML on stdin", async () => {
  const yaml = await vdevctl(["--root", EXAMPLE, "export", "--yaml"]);
  assert.equal(yaml.code, 0, yaml.stderr);
  assert.doesNotMatch(yaml.stdout, /^\s*\{/);
  const json = await vdevctl(["--root", EXAMPLE, "export", "--json"]);
  assert.deepEqual(
    await parseYamlManifest(yaml.stdout),
    parseManifest(json.stdout),
  );
  const again = await vdevctl(
    ["--root", EXAMPLE, "apply", "-", "--dry-run"],
    yaml.stdout,
  );
  assert.equal(again.code, 0, again.stderr);
  assert.equal(
    again.stdout,
    "no changes: the host already matches the manifest\n",
  );
  // stdin that starts with "{" is JSON, anything else YAML.
  const bad = await vdevctl(
    ["--root", EXAMPLE, "diff", "-"],
    "mdev:\n  - uuid: nope\n",
  );
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /mdev\[0\]\.uuid/);
  const both = await vdevctl(["--root", EXAMPLE, "export", "--json", "--yaml"]);
  assert.notEqual(both.code, 0);
  assert.match(both.stderr, /--json and --yaml: give one of them/);
});
