/**
 * The JSON Schemas in schemas/ against real outputs: the CLI on the example
 * tree and on the fake trees the family tests build (mdev, vduse), the
 * iproute2 goldens recorded on the real kernel (vdpa), the sandbox's real
 * cache, and mvnet's smoke result and stats in the e2e suite
 * (tests/e2e/install_test.ts, tests/e2e/mvnet_test.ts; the stats also over
 * the control socket in tests/mvnet/report_test.ts).
 * `--json` and `--dumpjson` print the same bytes; our own keys are
 * snake_case (`propertyNames` in the schemas); the validator is ajv.
 */

import assert from "node:assert/strict";
import { runCommand } from "../command_output.ts";
import { randomTree, Rng, writeFakeTree } from "../mdev/fake_tree.ts";
import { fakeTree, recordVnet0 } from "../vduse/fake_tree.ts";
import { fakeHost } from "../doctor/fake_host.ts";
import { schemaValidator } from "./validate.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const EXAMPLE = `${REPO}/examples/sysroot`;
const { validate, names } = schemaValidator();

async function vdevctl(root: string, args: string[]): Promise<string> {
  const r = await runCommand([`${REPO}/vdevctl`, "--root", root, ...args]);
  assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

Deno.test("every schema compiles, names its command, and is used by a test", () => {
  assert.ok(names.length >= 12);
  const tests = [
    Deno.readTextFileSync(new URL(import.meta.url)),
    Deno.readTextFileSync(`${REPO}/tests/e2e/install_test.ts`),
    Deno.readTextFileSync(`${REPO}/tests/e2e/mvnet_test.ts`),
    Deno.readTextFileSync(`${REPO}/tests/mvnet/report_test.ts`),
    Deno.readTextFileSync(`${REPO}/tests/schema/provision_schema_test.ts`),
  ].join("\n");
  for (const n of names) {
    assert.ok(tests.includes(`"${n}"`), `schema ${n} is validated by a test`);
  }
});

Deno.test("the validator rejects what breaks the convention", () => {
  assert.throws(
    () => validate("vduse-list", { devices: [{ name: "x" }] }),
    /required/,
  );
  assert.throws(
    () =>
      validate("sandbox-status", {
        cacheDir: "/c",
        kernels: [],
        total_bytes: 0,
      }),
    /propertyNames|cache_dir/,
  );
  assert.throws(() =>
    validate("mdev-list", [{
      p: [{ u: { mdev_type: "t", start: "sometimes" } }],
    }])
  );
});

Deno.test("mdev list/types/parents on the example tree and random fake trees", async () => {
  const roots = [EXAMPLE];
  const tmp = await Deno.makeTempDir({ prefix: "vdevctl-schema-" });
  try {
    for (let seed = 1; seed <= 2; seed++) {
      const dir = `${tmp}/${seed}`;
      writeFakeTree(dir, randomTree(new Rng(seed)));
      roots.push(dir);
    }
    for (const root of roots) {
      for (const args of [["list"], ["list", "-d"], ["list", "-d", "-v"]]) {
        const json = await vdevctl(root, ["mdev", ...args, "--json"]);
        assert.equal(
          json,
          await vdevctl(root, ["mdev", ...args, "--dumpjson"]),
        );
        validate("mdev-list", JSON.parse(json));
      }
      const defined = JSON.parse(
        await vdevctl(root, ["mdev", "list", "-d", "--json"]),
      );
      for (const parent of defined) {
        for (
          const devices of Object.values(parent) as Record<string, unknown>[][]
        ) {
          for (
            const uuid of devices.flatMap((d) => Object.keys(d)).slice(0, 2)
          ) {
            validate(
              "mdev-list",
              JSON.parse(
                await vdevctl(root, [
                  "mdev",
                  "list",
                  "-d",
                  "-u",
                  uuid,
                  "--json",
                ]),
              ),
            );
          }
        }
      }
      const types = await vdevctl(root, ["mdev", "types", "--json"]);
      assert.equal(types, await vdevctl(root, ["mdev", "types", "--dumpjson"]));
      validate("mdev-types", JSON.parse(types));
      validate(
        "mdev-parents",
        JSON.parse(await vdevctl(root, ["mdev", "parents", "--json"])),
      );
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("vduse list/show on the fake VDUSE tree", async () => {
  const root = await fakeTree();
  try {
    recordVnet0(root);
    const list = JSON.parse(
      await vdevctl(root.dir, ["vduse", "list", "--json"]),
    );
    validate("vduse-list", list);
    assert.ok(list.devices.length >= 2);
    for (const d of list.devices) {
      validate(
        "vduse-show",
        JSON.parse(
          await vdevctl(root.dir, ["vduse", "show", d.name, "--json"]),
        ),
      );
    }
  } finally {
    await Deno.remove(root.dir, { recursive: true });
  }
});

/** iproute2's `-j` outputs recorded on the real kernel (tests/vdpa/golden_test.ts). */
function vdpaGoldens(): [string, unknown][] {
  const text = Deno.readTextFileSync(`${REPO}/tests/vdpa/golden_test.ts`);
  const out: [string, unknown][] = [];
  const re = /^ {2}"([a-z0-9]+)": \{[\s\S]*?"json":\s*'((?:[^'\\]|\\.)*)'/gm;
  for (const m of text.matchAll(re)) {
    const json = m[2].replace(/\\n/g, "\n").replace(/\\'/g, "'").replace(
      /\\\\/g,
      "\\",
    );
    out.push([m[1], JSON.parse(json)]);
  }
  return out;
}

Deno.test("vdpa -j outputs recorded from iproute2 on the real kernel", () => {
  const schema: Record<string, string> = {
    mgmtdev: "vdpa-mgmtdev-show",
    dev: "vdpa-dev-show",
    config: "vdpa-dev-config-show",
    vstats: "vdpa-dev-vstats-show",
  };
  const goldens = vdpaGoldens();
  assert.ok(goldens.length >= 6, "goldens found");
  for (const [key, value] of goldens) {
    validate(schema[key.replace(/\d+$/, "")], value);
  }
  // The fixed spelling too.
  validate("vdpa-dev-config-show", {
    config: { sim0: { link: "up", link_announce: false } },
  });
});

Deno.test("sandbox status --json", async () => {
  const r = await runCommand([
    `${REPO}/vdevctl`,
    "sandbox",
    "status",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  validate("sandbox-status", JSON.parse(r.stdout));
  validate("sandbox-status", { cache_dir: "/c", kernels: [], total_bytes: 0 });
});

Deno.test("doctor --json on the fake host, a bare tree and this host", async () => {
  const host = fakeHost();
  const bare = await Deno.makeTempDir({ prefix: "vdevctl-schema-" });
  try {
    for (const root of [host, bare, "/"]) {
      const r = await runCommand([
        `${REPO}/vdevctl`,
        "--root",
        root,
        "doctor",
        "--json",
      ]);
      const report = JSON.parse(r.stdout);
      validate("doctor", report);
      assert.equal(r.code, report.ok ? 0 : 1, r.stderr);
    }
  } finally {
    Deno.removeSync(host, { recursive: true });
    Deno.removeSync(bare, { recursive: true });
  }
});
