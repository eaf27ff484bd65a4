/**
 * In-guest checks of the sandbox itself: the kernel is Debian's 6.12, the
 * requested modules are loaded, /dev/vduse/control exists, and the root is a
 * tmpfs overlay over the read-only host root (so writes never reach the
 * host). Run by `deno task e2e`, or alone:
 *
 *   ./vdevctl sandbox run --modules vduse,mtty -- \
 *     ./node_modules/.bin/deno test -A tests/e2e/sandbox_test.ts
 *
 * @module
 */

import assert from "node:assert/strict";
import { OUT_OF_TREE_MODULES } from "../../lib/sandbox/mod.ts";

/** The sandbox sets VDEVCTL_SANDBOX=1; anywhere else these tests fail. */
function requireSandbox(): void {
  assert.equal(
    Deno.env.get("VDEVCTL_SANDBOX"),
    "1",
    "not inside the vdevctl sandbox: run via 'deno task e2e'",
  );
}

function mountinfo(pid: string): string[][] {
  return Deno.readTextFileSync(`/proc/${pid}/mountinfo`).trim().split("\n")
    .map((l) => l.split(" "));
}

Deno.test("sandbox: the kernel is Debian's Linux 6.12", () => {
  requireSandbox();
  const release = Deno.osRelease();
  assert.match(release, /^6\.12\.\d+\+deb\d+-amd64$/);
  const version = Deno.readTextFileSync("/proc/version");
  assert.match(version, /Debian 6\.12\./);
});

Deno.test("sandbox: the requested modules are loaded", () => {
  requireSandbox();
  const wanted = (Deno.env.get("VDEVCTL_SANDBOX_MODULES") ?? "").split(",")
    .filter((m) => m !== "");
  assert.ok(wanted.length > 0, "VDEVCTL_SANDBOX_MODULES names no module");
  const loaded = new Set(
    Deno.readTextFileSync("/proc/modules").trim().split("\n").map((l) =>
      l.split(" ")[0]
    ),
  );
  for (const m of wanted) {
    const name = m.replaceAll("-", "_");
    // Built-in modules have /sys/module/NAME but no /proc/modules line.
    let builtin = false;
    try {
      builtin = Deno.statSync(`/sys/module/${name}`).isDirectory;
    } catch {
      builtin = false;
    }
    assert.ok(loaded.has(name) || builtin, `module ${m} is not loaded`);
  }
});

Deno.test("sandbox: out-of-tree modules come from extra/ and taint the kernel", () => {
  requireSandbox();
  const wanted = (Deno.env.get("VDEVCTL_SANDBOX_MODULES") ?? "").split(",");
  const extra = OUT_OF_TREE_MODULES.filter((m) => wanted.includes(m));
  assert.ok(extra.length > 0, "no out-of-tree module requested");
  for (const m of extra) {
    const name = m.replaceAll("-", "_");
    const taint = Deno.readTextFileSync(`/sys/module/${name}/taint`).trim();
    assert.match(taint, /O/, `${m} is not marked out-of-tree`);
  }
  assert.ok(
    Deno.statSync(`/lib/modules/${Deno.osRelease()}/extra/mtty.ko`).isFile,
  );
});

Deno.test("sandbox: /dev/vduse/control exists (devtmpfs)", () => {
  requireSandbox();
  const st = Deno.statSync("/dev/vduse/control");
  assert.ok(st.isCharDevice, "/dev/vduse/control is not a character device");
});

Deno.test("sandbox: the root is a writable overlay over the read-only host root", () => {
  requireSandbox();
  const root = mountinfo("self").find((f) => f[4] === "/");
  assert.ok(root, "no mount at /");
  const dash = root.indexOf("-");
  assert.equal(root[dash + 1], "overlay");
  assert.match(root[dash + 3], /lowerdir=\/host/);
  // PID 1 (the initramfs init, outside the chroot) sees the lower and upper mounts.
  const all = mountinfo("1");
  const host = all.find((f) => f[4] === "/host");
  assert.ok(host, "no /host mount");
  assert.equal(host[host.indexOf("-") + 1], "9p");
  assert.match(host[5], /(^|,)ro(,|$)/, "the host root is not read-only");
  const rw = all.find((f) => f[4] === "/rw");
  assert.ok(rw, "no /rw mount");
  assert.equal(rw[rw.indexOf("-") + 1], "tmpfs");
  // Writing into the shared working directory works (in the overlay only).
  const probe = `${Deno.cwd()}/.sandbox-e2e-probe-${crypto.randomUUID()}`;
  Deno.writeTextFileSync(probe, "guest");
  assert.equal(Deno.readTextFileSync(probe), "guest");
  Deno.removeSync(probe);
});

Deno.test("sandbox: memlock is unlimited, /dev/pts is mounted, /tmp is the host's", () => {
  requireSandbox();
  const limits = Deno.readTextFileSync("/proc/self/limits");
  assert.match(limits, /^Max locked memory\s+unlimited\s+unlimited/m);
  const mounts = mountinfo("self");
  const fsAt = (p: string) => {
    const m = mounts.find((f) => f[4] === p);
    return m ? m[m.indexOf("-") + 1] : undefined;
  };
  assert.equal(fsAt("/dev"), "devtmpfs");
  assert.equal(fsAt("/dev/pts"), "devpts");
  // /tmp is part of the overlay: a checkout under the host's /tmp (CI clones
  // there) is visible in the guest, and writes to it stay in the guest.
  assert.equal(fsAt("/tmp"), undefined, "/tmp must not hide the host's /tmp");
  assert.equal(fsAt("/proc"), "proc");
  assert.equal(fsAt("/sys"), "sysfs");
  assert.equal(Deno.uid(), 0);
  assert.equal(Deno.env.get("HOME"), "/root");
});
