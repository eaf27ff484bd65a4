/**
 * lib/sandbox/host_packages.ts: the static ELF check (busybox), which host
 * tools are missing, and apt-get waiting for a lock another apt-get or dpkg
 * holds (against a scripted apt-get on PATH).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  aptGetArgs,
  aptLockBusy,
  isStaticElf,
  missingTools,
  runAptGet,
} from "../../lib/sandbox/host_packages.ts";
import { VdevError } from "../../lib/errors.ts";

Deno.test("isStaticElf: a program interpreter makes an ELF dynamic", () => {
  const elf = new Uint8Array(64 + 56 * 2);
  elf.set([0x7f, 0x45, 0x4c, 0x46]);
  const dv = new DataView(elf.buffer);
  dv.setBigUint64(32, 64n, true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, 2, true);
  dv.setUint32(64, 1, true); // PT_LOAD
  dv.setUint32(64 + 56, 1, true);
  assert.equal(isStaticElf(elf), true);
  dv.setUint32(64 + 56, 3, true); // PT_INTERP
  assert.equal(isStaticElf(elf), false);
  assert.equal(isStaticElf(new Uint8Array(10)), false);
});

Deno.test("missingTools names what is not installed", () => {
  const tools = [
    { command: "sh", pkg: "dash" },
    { command: "vdevctl-no-such-tool", pkg: "nope" },
    { command: "sh", pkg: "dash", ok: () => false },
  ];
  assert.deepEqual(missingTools(tools).map((t) => t.pkg), ["nope", "dash"]);
});

Deno.test("aptGetArgs: apt-get waits for dpkg's lock, bounded", () => {
  assert.deepEqual(aptGetArgs(["install", "-y", "qemu-system-x86"]), [
    "apt-get",
    "-o",
    "DPkg::Lock::Timeout=300",
    "install",
    "-y",
    "qemu-system-x86",
  ]);
  assert.deepEqual(aptGetArgs(["update"], { lockTimeoutSec: 5 }), [
    "apt-get",
    "-o",
    "DPkg::Lock::Timeout=5",
    "update",
  ]);
});

Deno.test("aptLockBusy: apt's lock messages, and only those", () => {
  assert.ok(aptLockBusy(
    "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 5475 (apt-get)\n" +
      "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n",
  ));
  assert.ok(aptLockBusy(
    "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 967 (apt-get)\n" +
      "E: Unable to lock directory /var/lib/apt/lists/\n",
  ));
  assert.ok(!aptLockBusy("E: Unable to locate package nope\n"));
});

/** Runs `body` with a scripted apt-get first on PATH; returns its argv log. */
async function withFakeAptGet(
  script: string,
  body: () => Promise<void>,
): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "vdevctl-apt-" });
  const path = Deno.env.get("PATH") ?? "/usr/bin:/bin";
  try {
    await Deno.writeTextFile(
      `${dir}/apt-get`,
      `#!/bin/sh\necho "$DEBIAN_FRONTEND $*" >> "${dir}/calls"\n` +
        `n=$(wc -l < "${dir}/calls")\n${script}\n`,
      { mode: 0o755 },
    );
    Deno.env.set("PATH", `${dir}:${path}`);
    await body();
    return (await Deno.readTextFile(`${dir}/calls`)).trim().split("\n");
  } finally {
    Deno.env.set("PATH", path);
    await Deno.remove(dir, { recursive: true });
  }
}

const BUSY =
  `echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 967 (apt-get)" >&2; ` +
  `echo "E: Unable to lock directory /var/lib/apt/lists/" >&2; exit 100`;

Deno.test("runAptGet: runs again while another apt holds the lock", async () => {
  const said: string[] = [];
  const calls = await withFakeAptGet(
    `[ "$n" -ge 3 ] && { echo updated; exit 0; }; ${BUSY}`,
    async () => {
      const out = await runAptGet(["update", "-qq"], {
        say: (l) => said.push(l),
      });
      assert.equal(out.stdout, "updated\n");
    },
  );
  assert.deepEqual(calls, [
    "noninteractive -o DPkg::Lock::Timeout=300 update -qq",
    "noninteractive -o DPkg::Lock::Timeout=300 update -qq",
    "noninteractive -o DPkg::Lock::Timeout=300 update -qq",
  ]);
  assert.deepEqual(said, ["waiting for another apt-get or dpkg to finish"]);
});

Deno.test("runAptGet: gives up on a held lock after the bound, at once on other errors", async () => {
  const busy = await withFakeAptGet(BUSY, async () => {
    await assert.rejects(
      runAptGet(["update", "-qq"], {
        lockTimeoutSec: 1,
        what: "update the apt package lists",
      }),
      (err: unknown) =>
        err instanceof VdevError && !err.message.includes("\n") &&
        /^sandbox: cannot update the apt package lists: another apt-get or dpkg still holds apt's lock after 1 s \(E: Unable to lock directory \/var\/lib\/apt\/lists\/\): let it finish, then retry$/
          .test(err.message),
    );
  });
  assert.ok(busy.length >= 2, `only ${busy.length} attempt(s)`);
  assert.ok(busy.every((c) => c.includes("DPkg::Lock::Timeout=1 update")));
  const other = await withFakeAptGet(
    `echo "E: Unable to locate package nope" >&2; exit 100`,
    async () => {
      await assert.rejects(
        runAptGet(["install", "-y", "nope"], { what: "install nope" }),
        /^VdevError: sandbox: failed to install nope \(exit 100\): E: Unable to locate package nope$/,
      );
    },
  );
  assert.equal(other.length, 1);
});
