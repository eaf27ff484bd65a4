/**
 * lib/vdpa/uapi.ts against include/uapi/linux/vdpa.h of Linux 6.12: gcc
 * prints every command and attribute id, and the header's type comments
 * (`/* u64 *\/`) are compared with the table's attribute types.
 *
 * @module
 */

import assert from "node:assert/strict";
import { kernelCache } from "../../lib/sandbox/mod.ts";
import {
  VDPA_ATTR_MAX,
  VDPA_ATTRS,
  VDPA_CMD,
  VDPA_GENL_NAME,
  VDPA_GENL_VERSION,
} from "../../lib/vdpa/uapi.ts";

/** The header says u8; the kernel puts a u16 (le16 config.status). */
const TYPE_EXCEPTIONS: Record<string, string> = { DEV_NET_STATUS: "u16" };

Deno.test("vdpa commands, attribute ids and types match Linux 6.12's vdpa.h (gcc)", async () => {
  const { uapiInclude } = await kernelCache({ progress: "none" });
  const header = Deno.readTextFileSync(`${uapiInclude}/linux/vdpa.h`);
  const dir = Deno.makeTempDirSync({ prefix: "vdevctl-vdpa-uapi-" });
  try {
    const names: [string, number | string][] = [
      ["VDPA_GENL_NAME", VDPA_GENL_NAME],
      ["VDPA_GENL_VERSION", VDPA_GENL_VERSION],
      ["VDPA_ATTR_MAX", VDPA_ATTR_MAX],
      ...Object.entries(VDPA_CMD).map((
        [k, v],
      ): [string, number] => [`VDPA_CMD_${k}`, v]),
      ...Object.entries(VDPA_ATTRS).map(([id, s]): [string, number] => [
        `VDPA_ATTR_${s.name}`,
        Number(id),
      ]),
    ];
    const src = [
      "#include <stdio.h>",
      "#include <linux/vdpa.h>",
      "int main(void) {",
      ...names.map(([n, v]) =>
        typeof v === "string"
          ? `  printf("${n} %s\\n", ${n});`
          : `  printf("${n} %d\\n", (int)(${n}));`
      ),
      "  return 0;",
      "}",
    ].join("\n");
    Deno.writeTextFileSync(`${dir}/vdpa.c`, src);
    const cc = await new Deno.Command("gcc", {
      args: ["-I", uapiInclude, "-o", `${dir}/vdpa`, `${dir}/vdpa.c`],
    }).output();
    assert.equal(cc.code, 0, `gcc: ${new TextDecoder().decode(cc.stderr)}`);
    const run = await new Deno.Command(`${dir}/vdpa`).output();
    assert.deepEqual(
      new TextDecoder().decode(run.stdout).trimEnd().split("\n"),
      names.map(([n, v]) => `${n} ${v}`),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  // Every attribute of the enum is in the table, with the commented type.
  const enumBody = /enum vdpa_attr \{([\s\S]*?)\};/.exec(header)?.[1] ?? "";
  const declared = [
    ...enumBody.matchAll(/VDPA_ATTR_(\w+),\s*\/\*\s*(\w+)\s*\*\//g),
  ];
  assert.ok(declared.length >= 30, `parsed ${declared.length} attributes`);
  const byName = new Map(
    Object.values(VDPA_ATTRS).map((s) => [s.name, s.type]),
  );
  for (const [, name, type] of declared) {
    const want = TYPE_EXCEPTIONS[name] ?? type;
    assert.equal(
      byName.get(name),
      want,
      `VDPA_ATTR_${name} is ${type} in vdpa.h`,
    );
  }
});
