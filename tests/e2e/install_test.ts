/**
 * `deno task install` onto the sandbox guest's `/` (the host root under a
 * tmpfs overlay: nothing reaches the host), then the installed command used
 * from /tmp on the real kernel: mdev types with mtty, `man vdevctl-mdev`,
 * the mdevctl personality first on PATH, vdpa and mvnet JSON against the
 * schemas; no second mdev rule beside mdevctl's; uninstall removes it all.
 * Refuses to run outside the sandbox.
 *
 *   ./vdevctl sandbox run --modules mtty,vdpa_sim_net,vduse,virtio_vdpa -- \
 *     ./node_modules/.bin/deno test -A tests/e2e/install_test.ts
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { runCommand } from "../command_output.ts";
import { schemaValidator } from "../schema/validate.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const DENO = `${REPO}/node_modules/.bin/deno`;
const BIN = "/usr/local/bin";
const { validate } = schemaValidator();

function inSandbox(): void {
  assert.equal(
    Deno.env.get("VDEVCTL_SANDBOX"),
    "1",
    "installs onto /: run it in the sandbox (deno task e2e tests/e2e/install_test.ts)",
  );
}

function task(args: string[]) {
  return runCommand([DENO, "run", "-A", `${REPO}/tools/install.ts`, ...args], {
    cwd: REPO,
  });
}

/** Runs an installed command from /tmp with the system PATH (no checkout). */
function installed(argv: string[]) {
  return runCommand(argv, {
    cwd: "/tmp",
    env: {
      PATH: `${BIN}:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOME: "/root",
      MANPAGER: "cat",
      PAGER: "cat",
      MANWIDTH: "80",
      LC_ALL: "C.UTF-8",
    },
  });
}

Deno.test("install onto /: the installed vdevctl from /tmp, man page, personalities, schemas; uninstall", async () => {
  inSandbox();
  // The guest's / is the host's: mdevctl's own rule is installed there.
  assert.ok(
    existsSync("/usr/lib/udev/rules.d/60-mdevctl.rules") ||
      existsSync("/lib/udev/rules.d/60-mdevctl.rules"),
  );
  const refused = await task([
    "install",
    "--prefix",
    "/usr",
    "--personalities",
  ]);
  assert.equal(refused.code, 1, "the real /usr/bin/mdevctl is not replaced");
  assert.match(
    refused.stderr,
    /\/usr\/bin\/(mdevctl|lsmdev|vdpa) exists and is not vdevctl's/,
  );
  assert.ok(!existsSync("/usr/bin/vdevctl"), "the refused install was undone");

  const r = await task(["install", "--personalities"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /not installing 61-vdevctl-mdev\.rules: mdevctl's rule/,
  );
  assert.ok(!existsSync("/etc/udev/rules.d/61-vdevctl-mdev.rules"));
  try {
    const which = await installed(["sh", "-c", "command -v vdevctl"]);
    assert.equal(which.stdout.trim(), `${BIN}/vdevctl`);
    const types = await installed(["vdevctl", "mdev", "types", "--json"]);
    assert.equal(types.code, 0, types.stderr);
    const parsed = JSON.parse(types.stdout);
    validate("mdev-types", parsed);
    assert.ok(
      JSON.stringify(parsed).includes("mtty-1"),
      "mtty's types on the real kernel",
    );
    const peer = await installed(["/usr/bin/mdevctl", "types", "--dumpjson"]);
    const mine = await installed(["mdevctl", "types", "--dumpjson"]);
    assert.equal(mine.code, 0, mine.stderr);
    assert.equal(
      mine.stdout,
      peer.stdout,
      "the mdevctl personality prints what mdevctl prints",
    );

    const man = await installed(["man", "vdevctl-mdev"]);
    assert.equal(man.code, 0, man.stderr);
    assert.match(man.stdout, /vdevctl mdev start-parent-mdevs/);

    const add = await installed([
      "vdevctl",
      "vdpa",
      "dev",
      "add",
      "name",
      "inst0",
      "mgmtdev",
      "vdpasim_net",
    ]);
    assert.equal(add.code, 0, add.stderr);
    try {
      for (
        const [args, schema] of [
          [["mgmtdev", "show"], "vdpa-mgmtdev-show"],
          [["dev", "show"], "vdpa-dev-show"],
          [["dev", "config", "show"], "vdpa-dev-config-show"],
          [
            ["dev", "vstats", "show", "inst0", "qidx", "0"],
            "vdpa-dev-vstats-show",
          ],
        ] as const
      ) {
        for (const cmd of [["vdevctl", "vdpa", "-j"], ["vdpa", "-j"]]) {
          const out = await installed([...cmd, ...args]);
          assert.equal(
            out.code,
            0,
            `${cmd.join(" ")} ${args.join(" ")}: ${out.stderr}`,
          );
          validate(schema, JSON.parse(out.stdout));
        }
      }
    } finally {
      await installed(["vdevctl", "vdpa", "dev", "del", "inst0"]);
    }
    const smoke = await installed([
      "vdevctl",
      "mvnet",
      "smoke",
      "--frames",
      "50",
      "--json",
    ]);
    assert.equal(smoke.code, 0, smoke.stderr);
    validate("mvnet-smoke", JSON.parse(smoke.stdout));
  } finally {
    const u = await task(["uninstall"]);
    assert.equal(u.code, 0, u.stderr);
  }
  for (const name of ["vdevctl", "mdevctl", "lsmdev", "vdpa"]) {
    assert.ok(!existsSync(`${BIN}/${name}`), `${name} removed`);
  }
  assert.ok(!existsSync("/usr/local/lib/vdevctl"));
  assert.ok(!existsSync("/usr/local/share/man/man8/vdevctl-mdev.8"));
});
