/**
 * lib/mdev/format.ts: `list --dumpjson` of the whole hierarchy, written
 * directly, is byte for byte what JSON.stringify of the value prints.
 *
 * @module
 */

import assert from "node:assert/strict";
import { definitionValue } from "../../lib/mdev/config_store.ts";
import { listJson } from "../../lib/mdev/format.ts";
import type { MdevEntry, MdevListing } from "../../lib/mdev/list.ts";
import { Rng } from "./fake_tree.ts";

/** What listJson printed before: JSON.stringify of the value. */
function stringified(listing: MdevListing): string {
  const parents: Record<string, unknown[]> = {};
  for (const [parent, entries] of listing.parents) {
    parents[parent] = entries.map((e) => ({ [e.uuid]: definitionValue(e) }));
  }
  return JSON.stringify(listing.parents.size === 0 ? [] : [parents], null, 2);
}

const ODD = [
  "",
  'a"b',
  "back\\slash",
  "line\nbreak",
  "tab\t",
  "\u0001",
  "é名",
  "\ud800",
  "😀",
  "__proto__",
  "0",
  "7",
];

function listingOf(rng: Rng, parents: string[]): MdevListing {
  const map = new Map<string, MdevEntry[]>();
  for (const p of parents) {
    const entries: MdevEntry[] = [];
    for (let i = rng.int(0, 4); i > 0; i--) {
      entries.push({
        uuid: rng.uuid(),
        parent: p,
        type: rng.chance(0.3) ? rng.pick(ODD) : `nvidia-${rng.int(30, 40)}`,
        autostart: rng.chance(0.5),
        attrs: Array.from({ length: rng.int(0, 3) }, () => ({
          name: rng.chance(0.3) ? rng.pick(ODD) : "fb",
          value: rng.chance(0.3) ? rng.pick(ODD) : `${rng.int(0, 99)}`,
        })),
        active: false,
        defined: true,
      });
    }
    map.set(p, entries);
  }
  return { parents: map, problems: [], warnings: [] };
}

Deno.test("list --dumpjson of the hierarchy is what JSON.stringify prints", () => {
  const rng = new Rng(5);
  for (let round = 0; round < 300; round++) {
    const parents = Array.from(
      { length: rng.int(0, 4) },
      (_, i) => rng.chance(0.2) ? rng.pick(ODD) + i : `0000:${10 + i}:00.0`,
    );
    const listing = listingOf(rng, [...new Set(parents)]);
    assert.equal(listJson(listing, {}), stringified(listing) + "\n");
    assert.equal(
      listJson(listing, { compat: "1.4" }),
      stringified(listing),
    );
  }
});

Deno.test("list --dumpjson: parent names an object would reorder or drop print as before", () => {
  const rng = new Rng(6);
  for (const names of [["9", "10"], ["__proto__", "0000:10:00.0"], ["0"]]) {
    const listing = listingOf(rng, names);
    for (const e of listing.parents.values()) {
      if (e.length === 0) {
        e.push({
          uuid: rng.uuid(),
          parent: "x",
          type: "t",
          autostart: true,
          attrs: [],
          active: false,
          defined: true,
        });
      }
    }
    assert.equal(listJson(listing, {}), stringified(listing) + "\n");
  }
});
