/**
 * `deno task e2e`: boots ONE sandbox guest (Debian's Linux 6.12) with every
 * module the e2e suite needs and runs `deno test -A tests/e2e/` inside it,
 * streaming the output; exits with deno test's status. The files are
 * type-checked on the host first (`deno check`), which is much faster than
 * in the emulated guest; a type error fails the suite. A guest that cannot
 * boot fails the suite (exit 1 or the sandbox's own status); it never skips.
 *
 * Arguments, if any, replace `tests/e2e/` (e.g. `deno task e2e
 * tests/e2e/mdev_test.ts`).
 *
 * @module
 */

import { E2E_MODULES, peerRoot, sandboxRun } from "../../lib/sandbox/mod.ts";
import { messageOf, VdevError } from "../../lib/errors.ts";

/**
 * Time limit for the suite in the guest, in seconds (`VDEVCTL_E2E_TIMEOUT`
 * overrides it): generous, since every emulated second is slower when other
 * QEMUs share the cores.
 */
export const E2E_TIMEOUT_SEC = Number(
  Deno.env.get("VDEVCTL_E2E_TIMEOUT") ?? 3600,
);

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const DENO = `${REPO}/node_modules/.bin/deno`;

if (import.meta.main) {
  const targets = Deno.args.length > 0 ? Deno.args : ["tests/e2e/"];
  // Type-check on the host (seconds) rather than in the TCG guest (a minute):
  // the guest then runs the already-checked files with --no-check.
  const check = await new Deno.Command(DENO, {
    args: ["check", ...targets],
    cwd: REPO,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (check.code !== 0) {
    console.error("e2e: FAILED: the e2e files do not type-check");
    Deno.exit(1);
  }
  try {
    // The Debian 13 peer root (iproute2 6.15, mdevctl 1.4) is made on the
    // host (debootstrap); the guest finds it at the same cache path.
    await peerRoot({ say: (l) => console.error(`e2e: ${l}`) });
    console.error(
      `e2e: booting the sandbox (modules: ${
        E2E_MODULES.join(",")
      }) and running deno test ${targets.join(" ")}`,
    );
    const r = await sandboxRun(
      ["./node_modules/.bin/deno", "test", "-A", "--no-check", ...targets],
      {
        modules: E2E_MODULES,
        timeoutSec: E2E_TIMEOUT_SEC,
        cwd: REPO,
        output: "stream",
        progress: "auto",
      },
    );
    if (r.code !== 0) {
      console.error(`e2e: deno test exited with status ${r.code} in the guest`);
    }
    Deno.exit(r.code);
  } catch (err) {
    const msg = messageOf(err);
    console.error(`e2e: FAILED: the sandbox did not run the suite: ${msg}`);
    Deno.exit(
      err instanceof VdevError && err.exitCode !== 0 ? err.exitCode : 1,
    );
  }
}
