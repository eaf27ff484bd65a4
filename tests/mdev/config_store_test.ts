/**
 * The definitions store (lib/mdev/config_store.ts): mdevctl's file format,
 * atomic writes and the order definitions are listed in.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConfigStore, parseDefinition } from "../../lib/mdev/config_store.ts";
import { listDefined } from "../../lib/mdev/list.ts";
import { MdevSysfs } from "../../lib/mdev/sysfs.ts";
import { SysRoot } from "../../lib/root.ts";
import { tempExampleTree as tree } from "./fake_tree.ts";

const U1 = "11111111-2222-4333-8444-555555555555";
const GPU = "0000:00:02.0";

Deno.test("config store: mdevctl's file format, atomic write, listing order", () => {
  const dir = tree();
  try {
    const store = new ConfigStore(new SysRoot(dir));
    store.write({
      parent: "new-parent",
      uuid: U1,
      type: "t",
      autostart: true,
      attrs: [{ name: "a", value: 'v "1"' }],
    });
    assert.equal(
      Deno.readTextFileSync(`${dir}/etc/mdevctl.d/new-parent/${U1}`),
      '{\n  "mdev_type": "t",\n  "start": "auto",\n  "attrs": [\n    {\n      "a": "v \\"1\\""\n    }\n  ]\n}',
    );
    assert.deepEqual(
      [...Deno.readDirSync(`${dir}/etc/mdevctl.d/new-parent`)].map((e) =>
        e.name
      ),
      [U1],
      "no temporary files left",
    );
    const listing = listDefined({
      sysfs: new MdevSysfs(new SysRoot(dir)),
      store,
    });
    assert.deepEqual([...listing.parents.keys()], [GPU, "mtty", "new-parent"]);
    assert.deepEqual(
      parseDefinition('{"mdev_type":"x","start":"weird"}', {
        parent: "p",
        uuid: U1,
      }),
      { parent: "p", uuid: U1, type: "x", autostart: false, attrs: [] },
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
