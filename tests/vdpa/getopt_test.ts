/**
 * iproute2 vdpa's options (lib/vdpa/getopt.ts): the parser itself, and a
 * differential run against Debian's real iproute2 6.1 `vdpa` on this host.
 * The host has no vdpa netlink family, so iproute2 answers every spelling
 * it accepts with "Failed to connect to vdpa Netlink" and refuses the
 * others before that (glibc getopt's line, "Unknown option." and its
 * usage): vdevctl, run as `vdpa` (its personality), must accept the same
 * spellings and refuse the others with the same stderr bytes and status;
 * -V's spellings print the same line.
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { getoptErrorText, vdpaGetopt } from "../../lib/vdpa/getopt.ts";
import { runCommand } from "../command_output.ts";
import { ours } from "../e2e/vdpa_cli.ts";

Deno.test("vdpaGetopt: abbreviations, clusters, permutation, --, first error wins", () => {
  const ok = (args: string[]) => {
    const g = vdpaGetopt(args);
    assert.ok(g.ok, args.join(" "));
    return g.ok ? g.options : undefined;
  };
  assert.deepEqual(ok(["--js", "dev", "--pre", "show"]), {
    json: true,
    pretty: true,
    version: false,
    help: false,
    compat: true,
    words: ["dev", "show"],
  });
  assert.equal(ok(["-jp", "d"])?.pretty, true);
  assert.deepEqual(ok(["dev", "--", "-j", "x"])?.words, ["dev", "-j", "x"]);
  assert.equal(ok(["dev", "--", "-j"])?.json, false);
  assert.equal(ok(["-jV"])?.version, true);
  assert.equal(ok(["-Vx"])?.version, true, "-V ends the scan");
  assert.equal(ok(["--Vers"])?.version, true);
  assert.equal(ok(["--he"])?.help, true);
  assert.equal(ok(["-h", "-x"])?.help, true);
  assert.deepEqual(ok(["-", "dev"])?.words, ["-", "dev"]);
  const own = ok([
    "--iproute2",
    "6.15",
    "--no-iproute2-compat",
    "--root",
    "/r",
    "dev",
  ]);
  assert.equal(own?.iproute2, "6.15");
  assert.equal(own?.compat, false);
  assert.deepEqual(own?.words, ["dev"]);
  assert.equal(ok(["--iproute2=6.1"])?.iproute2, "6.1");
  const err = (args: string[]) => {
    const g = vdpaGetopt(args);
    assert.ok(!g.ok, args.join(" "));
    return g.ok ? undefined : g.error;
  };
  assert.equal(err(["--ver"])?.getopt, "unrecognized option '--ver'");
  assert.equal(err(["--bogus=1"])?.getopt, "unrecognized option '--bogus=1'");
  assert.equal(
    err(["--js=1"])?.getopt,
    "option '--json' doesn't allow an argument",
  );
  assert.equal(
    err(["--=x"])?.getopt,
    "option '--=x' is ambiguous; possibilities: '--Version' '--json' '--pretty' '--help'",
  );
  assert.equal(err(["-jx"])?.getopt, "invalid option -- 'x'");
  assert.deepEqual(err(["-s"]), { arg: "-s" });
  assert.equal(err(["-x", "-V"])?.arg, "-x", "an error before -V wins");
  assert.match(err(["--iproute2"])?.own ?? "", /needs a value/);
  assert.equal(
    getoptErrorText({ arg: "-s" }, "vdpa"),
    "Unknown option.\nUsage: vdpa [ OPTIONS ] OBJECT { COMMAND | help }\n" +
      "where  OBJECT := { mgmtdev | dev }\n" +
      "       OPTIONS := { -V[ersion] | -n[o-nice-names] | -j[son] | -p[retty] }\n",
  );
});

const IPROUTE2 = "/usr/sbin/vdpa";
const NO_NETLINK = "Failed to connect to vdpa Netlink\n";

/** iproute2 with argv[0] `vdpa` (glibc's getopt names argv[0]). */
function iproute2(args: readonly string[]) {
  return runCommand([
    "bash",
    "-c",
    `exec -a vdpa ${IPROUTE2} "$@"`,
    "bash",
    ...args,
  ], { env: { LC_ALL: "C" } });
}

const SPELLINGS: string[][] = [
  // accepted: long options by unambiguous prefix, clusters, anywhere
  ["--json", "dev"],
  ["--js", "dev", "show"],
  ["--j", "d", "s"],
  ["--pre", "-j", "mgmtdev"],
  ["--p", "dev"],
  ["-jp", "dev", "config", "show"],
  ["dev", "show", "-j"],
  ["dev", "--", "-j"],
  ["dev", "show", "-"],
  // refused by getopt
  ["--ver"],
  ["--js=1", "dev"],
  ["--json=", "dev"],
  ["--Version=1"],
  ["--bogus", "dev"],
  ["--bogus=1"],
  ["--=x"],
  ["--JSON"],
  ["-x", "dev"],
  ["-jx", "dev"],
  ["-n", "dev"],
  ["-s", "dev"],
  ["dev", "show", "-q"],
  ["-x", "-V"],
  // the version, however spelled
  ["-V"],
  ["-Version"],
  ["-jV"],
  ["-Vj", "dev"],
  ["--V"],
  ["--Ve"],
  ["--Ver"],
  ["--Versio"],
  ["--Version"],
  ["dev", "show", "-V"],
  // help
  ["-h"],
  ["--h"],
  ["--hel"],
  ["dev", "--help"],
];

Deno.test("differential: vdpa's option spellings as iproute2 6.1 takes and refuses them", async () => {
  assert.ok(
    existsSync(IPROUTE2),
    "iproute2's vdpa is not installed: run tests/host_packages.sh",
  );
  for (const args of SPELLINGS) {
    const what = `vdpa ${args.join(" ")}`;
    const peer = await iproute2(args);
    // Run as `vdpa` (the personality), so glibc's "vdpa: ..." is ours too.
    const got = await ours(args, { argv0: "vdpa" });
    const ctx =
      `${what}\n--- iproute2 (${peer.code}):\n${peer.stdout}${peer.stderr}` +
      `--- vdevctl (${got.code}):\n${got.stdout}${got.stderr}`;
    if (peer.stderr === NO_NETLINK) {
      // Accepted: vdevctl goes on to the kernel and finds no vdpa family.
      assert.equal(got.code, 1, ctx);
      assert.match(
        got.stderr,
        /^vdpa: the vdpa generic netlink family is not available/,
        ctx,
      );
    } else if (peer.code === 0 && peer.stdout === "") {
      // Help: iproute2 prints its usage on stderr, vdevctl its own.
      assert.equal(got.code, 0, ctx);
      assert.match(got.stdout, /^Usage: vdpa /, ctx);
    } else {
      assert.deepEqual(
        [got.code, got.stdout, got.stderr],
        [peer.code, peer.stdout, peer.stderr],
        ctx,
      );
    }
  }
});
