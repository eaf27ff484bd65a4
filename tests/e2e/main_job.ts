/**
 * `deno task smoke` (`npm run smoke`), the README's main job: boots the
 * sandbox (Debian's Linux 6.12 in QEMU) and runs a real session in it, then
 * prints it:
 *
 * 1. an mdev session with mtty: `vdevctl mdev types`, `start -p mtty -t
 *    mtty-1`, `list`, `define`, `stop`, `undefine`, checking each step's
 *    effect;
 * 2. `vdevctl mvnet smoke`: the end-to-end virtio-net loopback over VDUSE.
 *
 * Exits non-zero if the guest cannot boot or any step fails. On the host it
 * runs itself inside the guest with `--in-guest`.
 *
 * @module
 */

import {
  E2E_MODULES,
  REPO_ROOT as REPO,
  sandboxRun,
} from "../../lib/sandbox/mod.ts";
import { messageOf, VdevError } from "../../lib/errors.ts";

const VDEVCTL = `${REPO}/vdevctl`;
const enc = new TextEncoder();

function say(text: string): void {
  const b = enc.encode(text);
  let off = 0;
  while (off < b.length) off += Deno.stdout.writeSync(b.subarray(off));
}

/** Runs `vdevctl ARGS`, prints the session line and output, fails on error. */
async function step(args: string[]): Promise<string> {
  say(`$ vdevctl ${args.join(" ")}\n`);
  const out = await new Deno.Command(VDEVCTL, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout);
  const stderr = dec.decode(out.stderr);
  say(stdout);
  if (stderr) say(stderr);
  if (out.code !== 0) {
    throw new Error(`vdevctl ${args.join(" ")} exited with status ${out.code}`);
  }
  return stdout;
}

function expect(ok: boolean, what: string): void {
  if (!ok) throw new Error(`smoke: ${what}`);
  say(`  ok: ${what}\n`);
}

/** The session, run inside the guest. */
async function inGuest(): Promise<void> {
  say(`# kernel ${Deno.osRelease()}\n\n## mdev session with mtty\n`);
  const types = await step(["mdev", "types"]);
  expect(/mtty-1/.test(types), "mtty offers the mtty-1 type");
  const started = await step(["mdev", "start", "-p", "mtty", "-t", "mtty-1"]);
  const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/
    .exec(started)?.[0];
  expect(uuid !== undefined, "start printed the new device's UUID");
  const u = uuid as string;
  expect(
    (await step(["mdev", "list"])).includes(u),
    "list shows the running device",
  );
  await step(["mdev", "define", "-u", u]);
  expect(
    (await step(["mdev", "list", "-d"])).includes(u),
    "list -d shows the definition",
  );
  await step(["mdev", "stop", "-u", u]);
  expect(
    !(await step(["mdev", "list"])).includes(u),
    "the device is no longer running",
  );
  await step(["mdev", "undefine", "-u", u]);
  expect(
    !(await step(["mdev", "list", "-d"])).includes(u),
    "the definition is gone",
  );

  say("\n## mvnet end-to-end smoke test\n");
  // The mvnet engineer's command: starts the user-space virtio-net loopback
  // over VDUSE and pushes frames through the kernel's virtio-net driver. Its
  // failure (non-zero exit) fails the smoke test.
  await step(["mvnet", "smoke"]);
  say("\nsmoke: all steps passed\n");
}

if (import.meta.main) {
  if (Deno.args[0] === "--in-guest") {
    try {
      await inGuest();
    } catch (err) {
      say(`\nsmoke: FAILED: ${messageOf(err)}\n`);
      Deno.exit(1);
    }
  } else {
    try {
      console.error(
        "smoke: booting Linux 6.12 in the QEMU sandbox for an mdev session and the mvnet smoke test",
      );
      const r = await sandboxRun(
        [
          `${REPO}/node_modules/.bin/deno`,
          "run",
          "-A",
          `${REPO}/tests/e2e/main_job.ts`,
          "--in-guest",
        ],
        {
          modules: E2E_MODULES,
          timeoutSec: 900,
          cwd: REPO,
          output: "stream",
          progress: "auto",
        },
      );
      if (r.code !== 0) console.error(`smoke: FAILED (status ${r.code})`);
      Deno.exit(r.code);
    } catch (err) {
      console.error(
        `smoke: FAILED: the sandbox did not run: ${messageOf(err)}`,
      );
      Deno.exit(
        err instanceof VdevError && err.exitCode !== 0 ? err.exitCode : 1,
      );
    }
  }
}
