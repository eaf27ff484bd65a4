/**
 * lib/sandbox/progress.ts: the progress bar.
 *
 * @module
 */

import assert from "node:assert/strict";
import { progressBar } from "../../lib/sandbox/progress.ts";

Deno.test("progressBar: width, percentage and clamping", () => {
  assert.equal(progressBar(0.5, 10), "[#####.....]  50%");
  assert.equal(progressBar(2, 4), "[####] 100%");
});
