/**
 * lib/sandbox/modules.ts: the lists derived from the module table keep
 * their order and meaning (build order, what completion offers, what the
 * e2e suite loads), and the table agrees with the cached kernel: the
 * Debian modules are in its modules.dep or modules.builtin, the out-of-tree
 * ones under extra/.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  DEBIAN_MODULES,
  E2E_MODULES,
  LOADABLE_MODULES,
  MODULE_TABLE,
  OUT_OF_TREE_MODULES,
  OUT_OF_TREE_SOURCES,
} from "../../lib/sandbox/modules.ts";
import { kernelCache } from "../../lib/sandbox/kernel_cache.ts";

Deno.test("modules: the build list and its sources, in build order", () => {
  assert.deepEqual(OUT_OF_TREE_MODULES, [
    "vringh",
    "vdpa_sim",
    "vdpa_sim_net",
    "vdpa_sim_blk",
    "mtty",
    "mdpy",
    "mdpy-fb",
    "mbochs",
  ]);
  assert.deepEqual(OUT_OF_TREE_SOURCES, [
    "drivers/vhost/vringh.c",
    "drivers/vdpa/vdpa_sim/vdpa_sim.c",
    "drivers/vdpa/vdpa_sim/vdpa_sim.h",
    "drivers/vdpa/vdpa_sim/vdpa_sim_net.c",
    "drivers/vdpa/vdpa_sim/vdpa_sim_blk.c",
    "samples/vfio-mdev/mtty.c",
    "samples/vfio-mdev/mdpy.c",
    "samples/vfio-mdev/mdpy-defs.h",
    "samples/vfio-mdev/mdpy-fb.c",
    "samples/vfio-mdev/mbochs.c",
  ]);
  assert.deepEqual(DEBIAN_MODULES, [
    "vdpa",
    "vduse",
    "virtio_vdpa",
    "vhost_vdpa",
    "virtio_net",
    "pktgen",
  ]);
});

Deno.test("modules: what completion offers and what the e2e suite loads", () => {
  assert.deepEqual(LOADABLE_MODULES, [
    "mtty",
    "mdpy",
    "mbochs",
    "vdpa",
    "vduse",
    "vdpa_sim",
    "vdpa_sim_net",
    "vdpa_sim_blk",
    "virtio_vdpa",
    "vhost_vdpa",
    "virtio_net",
    "pktgen",
  ]);
  assert.deepEqual(E2E_MODULES, [
    "mtty",
    "mdpy",
    "mbochs",
    "vdpa",
    "vduse",
    "vdpa_sim_net",
    "vdpa_sim_blk",
    "virtio_vdpa",
    "vhost_vdpa",
    "virtio_net",
    "pktgen",
  ]);
  // The suite loads only modules a user could name; names are unique.
  for (const m of E2E_MODULES) assert.ok(LOADABLE_MODULES.includes(m), m);
  const names = MODULE_TABLE.map((m) => m.name);
  assert.equal(new Set(names).size, names.length);
});

Deno.test("modules: the table agrees with the cached kernel", async () => {
  const k = await kernelCache();
  const known = new Set<string>();
  for (const f of ["modules.dep", "modules.builtin"]) {
    const text = await Deno.readTextFile(`${k.modulesDir}/${f}`);
    for (const m of text.matchAll(/^(?:\S*\/)?([^/\s:]+)\.ko(?:\.\w+)?:?/gm)) {
      known.add(m[1].replaceAll("-", "_"));
    }
  }
  for (const m of DEBIAN_MODULES) {
    assert.ok(known.has(m), `${m} not in ${k.kver}`);
  }
  for (const m of OUT_OF_TREE_MODULES) {
    assert.ok(Deno.statSync(`${k.modulesDir}/extra/${m}.ko`).isFile, m);
  }
});
