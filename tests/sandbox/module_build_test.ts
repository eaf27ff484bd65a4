/**
 * lib/sandbox/module_build.ts: the Kbuild file, the make command line and
 * the summary of a failed build.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  buildErrorSummary,
  kbuildText,
  makeArgs,
} from "../../lib/sandbox/module_build.ts";

Deno.test("module build: a failure quotes the compiler's errors", () => {
  const log = `  CC [M]  /b/mtty.o
/b/mtty.c: In function 'broken':
/b/mtty.c:2062:27: error: 'nope' undeclared (first use in this function)
/b/mtty.c:2062:33: error: control reaches end of non-void function [-Werror=return-type]
make[2]: *** [Makefile.build:234: /b/mtty.o] Error 1
`;
  assert.equal(
    buildErrorSummary(log),
    "/b/mtty.c:2062:27: error: 'nope' undeclared (first use in this function) | " +
      "/b/mtty.c:2062:33: error: control reaches end of non-void function [-Werror=return-type]",
  );
  assert.equal(buildErrorSummary("a\nb\n"), "a | b");
});

Deno.test("module build: Kbuild and make command line", () => {
  assert.match(kbuildText(), /^obj-m \+= vringh\.o vdpa_sim\.o .*mbochs\.o$/m);
  assert.deepEqual(makeArgs("/h", "/b", { jobs: 2 }), [
    "make",
    "-j2",
    "-C",
    "/h",
    "M=/b",
    "modules",
  ]);
  assert.ok(
    makeArgs("/h", "/b", { btf: false }).includes(
      "CONFIG_DEBUG_INFO_BTF_MODULES=",
    ),
  );
});
