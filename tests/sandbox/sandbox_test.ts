/**
 * The sandbox on the host: the pure parts (version choice from `apt-cache
 * madison`, Debian version order, QEMU arguments and kernel command line,
 * outcome classification and panic detection, cpio encoding, job scripts)
 * and a few real boots (exit status and byte-exact output, the time limit,
 * writes staying in the guest). Real boots cost seconds of the shared cores:
 * keep them few.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  abiOf,
  compareDebianVersions,
  kernelVersionOf,
  parseMadison,
  pickKernelVersion,
} from "../../lib/sandbox/debian_version.ts";
import {
  classifyOutcome,
  detectPanic,
  EXIT_GUEST,
  EXIT_TIMEOUT,
  kernelCmdline,
  outcomeError,
  panicContext,
  qemuArgs,
} from "../../lib/sandbox/qemu.ts";
import {
  cpioNewc,
  initScript,
  parseShowDepends,
  S_IFCHR,
  S_IFDIR,
  S_IFREG,
} from "../../lib/sandbox/initramfs.ts";
import {
  configScript,
  runScript,
  sandboxRun,
  shQuote,
} from "../../lib/sandbox/run.ts";
import {
  kernelCache,
  kernelPathsOf,
  sourceExtractScript,
} from "../../lib/sandbox/kernel_cache.ts";
import { isStaticElf, missingTools } from "../../lib/sandbox/host_packages.ts";
import {
  buildErrorSummary,
  kbuildText,
  makeArgs,
} from "../../lib/sandbox/module_build.ts";
import { progressBar } from "../../lib/sandbox/progress.ts";
import { logTail } from "../../lib/sandbox/process.ts";
import { VdevError } from "../../lib/errors.ts";

const SRC =
  "http://deb.debian.org/debian-security bookworm-security/main amd64 Packages";
const MAIN =
  "http://deb.debian.org/debian bookworm-backports/main amd64 Packages";

function madisonLines(rows: [string, string, string?][]): string {
  return rows.map(([p, v, s]) => `${p.padStart(40)} | ${v} | ${s ?? SRC}`)
    .join("\n") + "\n";
}

Deno.test("abiOf and kernelVersionOf derive Debian's names", () => {
  assert.equal(abiOf("6.12.117-1~deb12u1"), "6.12.117+deb12");
  assert.equal(abiOf("6.12.115-2~deb12u1"), "6.12.115+deb12");
  assert.equal(abiOf("garbage"), undefined);
  const kv = kernelVersionOf("6.12.117-1~deb12u1");
  assert.deepEqual(kv?.packages, {
    image: "linux-image-6.12.117+deb12-amd64-unsigned",
    headers: "linux-headers-6.12.117+deb12-amd64",
    headersCommon: "linux-headers-6.12.117+deb12-common",
    kbuild: "linux-kbuild-6.12.117+deb12",
    source: "linux-source-6.12",
  });
  assert.equal(kv?.kver, "6.12.117+deb12-amd64");
});

Deno.test("compareDebianVersions orders as dpkg does", () => {
  const sorted = [
    "6.12.9-1~deb12u1",
    "6.12.117-1~deb12u1",
    "6.12.117-1",
    "6.12.115-2~deb12u1",
    "6.12.117-1~deb12u2",
    "1:6.1-1",
    "6.12.117-1~bpo12+1",
  ].sort(compareDebianVersions);
  assert.deepEqual(sorted, [
    "6.12.9-1~deb12u1",
    "6.12.115-2~deb12u1",
    "6.12.117-1~bpo12+1",
    "6.12.117-1~deb12u1",
    "6.12.117-1~deb12u2",
    "6.12.117-1",
    "1:6.1-1",
  ]);
  assert.equal(compareDebianVersions("1.0", "1.0"), 0);
  assert.ok(compareDebianVersions("1.0~rc1", "1.0") < 0);
  assert.ok(compareDebianVersions("1.0a", "1.0") > 0);
});

Deno.test("pickKernelVersion: newest version with all five packages in the suite", () => {
  const text = madisonLines([
    ["linux-source-6.12", "6.12.119-1~deb12u1"],
    ["linux-source-6.12", "6.12.117-1~deb12u1"],
    ["linux-source-6.12", "6.12.115-2~deb12u1"],
    // 6.12.119: the kbuild package has not reached the mirror yet.
    ["linux-image-6.12.119+deb12-amd64-unsigned", "6.12.119-1~deb12u1"],
    ["linux-headers-6.12.119+deb12-amd64", "6.12.119-1~deb12u1"],
    ["linux-headers-6.12.119+deb12-common", "6.12.119-1~deb12u1"],
    // 6.12.117: complete.
    ["linux-image-6.12.117+deb12-amd64-unsigned", "6.12.117-1~deb12u1"],
    ["linux-headers-6.12.117+deb12-amd64", "6.12.117-1~deb12u1"],
    ["linux-headers-6.12.117+deb12-common", "6.12.117-1~deb12u1"],
    ["linux-kbuild-6.12.117+deb12", "6.12.117-1~deb12u1"],
    // 6.12.115: complete but older.
    ["linux-image-6.12.115+deb12-amd64-unsigned", "6.12.115-2~deb12u1"],
    ["linux-headers-6.12.115+deb12-amd64", "6.12.115-2~deb12u1"],
    ["linux-headers-6.12.115+deb12-common", "6.12.115-2~deb12u1"],
    ["linux-kbuild-6.12.115+deb12", "6.12.115-2~deb12u1"],
  ]);
  const m = parseMadison(text, { suite: "bookworm-security" });
  assert.deepEqual(m.get("linux-source-6.12"), [
    "6.12.119-1~deb12u1",
    "6.12.117-1~deb12u1",
    "6.12.115-2~deb12u1",
  ]);
  assert.equal(pickKernelVersion(m)?.version, "6.12.117-1~deb12u1");
  assert.equal(pickKernelVersion(new Map()), undefined);
});

Deno.test("parseMadison keeps only the requested suite", () => {
  const text = madisonLines([
    ["linux-source-6.12", "6.12.120-1~deb12u1", MAIN],
    ["linux-source-6.12", "6.12.117-1~deb12u1"],
  ]);
  assert.deepEqual(
    parseMadison(text, { suite: "bookworm-security" }).get("linux-source-6.12"),
    ["6.12.117-1~deb12u1"],
  );
  assert.equal(
    parseMadison(text).get("linux-source-6.12")?.length,
    2,
  );
  assert.equal(parseMadison("N: Unable to locate package x\n").size, 0);
});

Deno.test("kernel command line and QEMU arguments", () => {
  const cmdline = kernelCmdline();
  for (const w of ["console=ttyS0", "panic=-1", "quiet", "rdinit=/init"]) {
    assert.ok(cmdline.split(" ").includes(w), w);
  }
  const args = qemuArgs({
    vmlinuz: "/c/vmlinuz",
    initramfs: "/c/initramfs.cpio",
    jobDir: "/tmp/job",
    console: "/tmp/job/console.log",
  });
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  assert.equal(after("-m"), "2048");
  assert.equal(after("-smp"), "2");
  assert.equal(after("-accel"), "tcg,thread=multi");
  assert.equal(after("-kernel"), "/c/vmlinuz");
  assert.equal(after("-initrd"), "/c/initramfs.cpio");
  assert.equal(after("-append"), cmdline);
  assert.ok(args.includes("-no-reboot") && args.includes("-nodefaults"));
  const virtfs = args.filter((_, i) => args[i - 1] === "-virtfs");
  assert.deepEqual(virtfs, [
    "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
    "local,path=/tmp/job,mount_tag=job,security_model=none,multidevs=remap",
  ]);
  assert.ok(args.includes("file,id=con0,path=/tmp/job/console.log"));
  const shell = qemuArgs({
    vmlinuz: "v",
    initramfs: "i",
    jobDir: "j",
    console: "stdio",
    memoryMiB: 512,
  });
  assert.equal(shell[shell.indexOf("-m") + 1], "512");
  assert.ok(shell.includes("stdio,id=con0,signal=off"));
});

const PANIC_TAIL = `[    2.101] Run /init as init process
[    2.530] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100
[    2.531] CPU: 0 UID: 0 PID: 1 Comm: init Not tainted 6.12.117+deb12-amd64 #1
[    2.532] Call Trace:
`;

Deno.test("panicContext keeps the oops reason and the task", () => {
  const oops = `[ 16.1] sysrq: Trigger a crash
[ 16.2] Kernel panic - not syncing: sysrq triggered crash
[ 16.3] CPU: 1 UID: 0 PID: 80 Comm: sh Tainted: G  O  E  6.12.117+deb12-amd64 #1
[ 16.4] RAX: ffffffffffffffda RBX: 0000000000000002
`;
  assert.equal(
    panicContext(oops),
    "sysrq: Trigger a crash | CPU: 1 UID: 0 PID: 80 Comm: sh Tainted: G  O  E  6.12.117+deb12-amd64 #1",
  );
});

Deno.test("detectPanic finds the panic line in a console tail", () => {
  assert.equal(
    detectPanic(PANIC_TAIL),
    "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100",
  );
  assert.equal(detectPanic("[ 1.0] reboot: Power down\n"), undefined);
  assert.equal(detectPanic(""), undefined);
});

Deno.test("classifyOutcome tells exit, timeout, panic, modules, init and missing apart", () => {
  const base = { timedOut: false, console: "", qemuCode: 0 };
  assert.deepEqual(classifyOutcome({ ...base, status: "3\n" }), {
    kind: "exit",
    code: 3,
  });
  // A status wins even if the console mentions a panic later on.
  assert.equal(
    classifyOutcome({ ...base, status: "0\n", console: PANIC_TAIL }).kind,
    "exit",
  );
  assert.deepEqual(classifyOutcome({ ...base, timedOut: true }), {
    kind: "timeout",
    phase: "boot",
  });
  assert.deepEqual(
    classifyOutcome({ ...base, timedOut: true, started: true }),
    { kind: "timeout", phase: "command" },
  );
  assert.equal(
    classifyOutcome({ ...base, console: PANIC_TAIL, qemuCode: 0 }).kind,
    "panic",
  );
  assert.deepEqual(
    classifyOutcome({
      ...base,
      modulesFailed: "modprobe: FATAL: Module nope not found\n",
    }),
    {
      kind: "modules-failed",
      message: "modprobe: FATAL: Module nope not found",
    },
  );
  assert.deepEqual(
    classifyOutcome({ ...base, initError: "cannot mount the host root\n" }),
    { kind: "init-error", message: "cannot mount the host root" },
  );
  assert.deepEqual(classifyOutcome({ ...base, qemuCode: 1 }), {
    kind: "missing",
    qemuCode: 1,
  });
  assert.equal(classifyOutcome({ ...base, status: "garbage" }).kind, "missing");
});

Deno.test("outcomeError: one line, distinct messages and exit statuses", () => {
  const ev = { console: PANIC_TAIL, timeoutSec: 5 };
  assert.equal(outcomeError({ kind: "exit", code: 0 }, ev), undefined);
  const t = outcomeError({ kind: "timeout", phase: "command" }, ev);
  assert.ok(t instanceof VdevError);
  assert.match(t.message, /^sandbox: time limit hit: the command .* 5 s/);
  assert.equal(t.exitCode, EXIT_TIMEOUT);
  const b = outcomeError({ kind: "timeout", phase: "boot" }, {
    ...ev,
    bootTimeoutSec: 300,
  });
  assert.match(
    b?.message ?? "",
    /^sandbox: time limit hit: the guest did not reach the command within 300 s/,
  );
  const p = outcomeError({ kind: "panic", line: "Kernel panic - x" }, ev);
  assert.match(
    p?.message ?? "",
    /^sandbox: guest kernel panic: Kernel panic - x; console: /,
  );
  assert.equal(p?.exitCode, EXIT_GUEST);
  const m = outcomeError(
    { kind: "modules-failed", message: "FATAL: nope" },
    ev,
  );
  assert.match(
    m?.message ?? "",
    /cannot load the requested modules.*FATAL: nope/,
  );
  const x = outcomeError({ kind: "missing", qemuCode: 1 }, ev);
  assert.match(x?.message ?? "", /stopped without a result \(QEMU exit 1\)/);
  for (const e of [t, p, m, x]) assert.ok(!e?.message.includes("\n"));
});

Deno.test("cpioNewc writes newc headers, padding and the trailer", () => {
  const data = new TextEncoder().encode("hello");
  const bytes = cpioNewc([
    { name: "dev", mode: S_IFDIR | 0o755 },
    { name: "dev/console", mode: S_IFCHR | 0o600, rdev: [5, 1] },
    { name: "init", mode: S_IFREG | 0o755, data },
  ]);
  const text = new TextDecoder("latin1").decode(bytes);
  assert.equal(bytes.length % 4, 0);
  assert.equal(text.slice(0, 6), "070701");
  // First entry: mode field (chars 14..22) and name size (94..102).
  assert.equal(
    text.slice(14, 22),
    (S_IFDIR | 0o755).toString(16).padStart(8, "0"),
  );
  assert.equal(parseInt(text.slice(94, 102), 16), "dev\0".length);
  assert.equal(text.slice(110, 113), "dev");
  // The device node carries rdev 5:1.
  const cons = text.indexOf("070701", 6);
  assert.equal(parseInt(text.slice(cons + 78, cons + 86), 16), 5);
  assert.equal(parseInt(text.slice(cons + 86, cons + 94), 16), 1);
  assert.ok(text.includes("hello"));
  assert.ok(text.includes("TRAILER!!!\0"));
});

Deno.test("initramfs: module order from --show-depends, init script content", () => {
  const deps = parseShowDepends(
    "insmod /r/netfs.ko.xz \ninsmod /r/9pnet.ko.xz \ninsmod /r/9p.ko.xz \n" +
      "insmod /r/netfs.ko.xz \ninsmod /r/9pnet.ko.xz \ninsmod /r/9pnet_virtio.ko.xz \n" +
      "builtin virtio\n",
  );
  assert.deepEqual(deps, [
    "/r/netfs.ko.xz",
    "/r/9pnet.ko.xz",
    "/r/9p.ko.xz",
    "/r/9pnet_virtio.ko.xz",
  ]);
  const init = initScript(["netfs", "9pnet"]);
  assert.match(init, /^#!\/bin\/busybox sh/);
  assert.match(init, /for m in netfs 9pnet; do/);
  assert.match(
    init,
    /mount -t overlay -o lowerdir=\/host,upperdir=\/rw\/upper/,
  );
  assert.match(init, /mount -t devtmpfs devtmpfs \$N\/dev/);
  assert.match(init, /ulimit -l unlimited/);
});

Deno.test("job scripts: quoting, environment, working directory, modules", () => {
  assert.equal(shQuote("plain-word_1.2/x"), "plain-word_1.2/x");
  assert.equal(shQuote("it's"), `'it'\\''s'`);
  assert.equal(shQuote(""), "''");
  const run = runScript(["printf", "%s\\n", "a b", "it's"], {
    cwd: "/work/my dir",
    env: { FOO: "x y" },
  });
  assert.match(run, /^export HOME=\/root$/m);
  assert.match(
    run,
    /^export PATH=.*\/node_modules\/\.bin:.*\/usr\/sbin:\/usr\/bin:\/sbin:\/bin'?$/m,
  );
  assert.match(run, /^export FOO='x y'$/m);
  assert.match(run, /^cd '\/work\/my dir' \|\|/m);
  assert.match(run, /^exec printf '%s\\n' 'a b' 'it'\\''s'$/m);
  assert.throws(
    () => runScript(["x"], { cwd: "/", env: { "A-B": "1" } }),
    VdevError,
  );
  const kernel = kernelPathsOf(kernelVersionOf("6.12.117-1~deb12u1")!, "/c/k");
  const conf = configScript(kernel, { modules: ["mtty", "vdpa_sim_net"] });
  assert.match(conf, /^VDEVCTL_MODE=run$/m);
  assert.match(conf, /^VDEVCTL_KVER=6\.12\.117\+deb12-amd64$/m);
  assert.match(
    conf,
    /^VDEVCTL_MODDIR=\/c\/k\/root\/lib\/modules\/6\.12\.117\+deb12-amd64$/m,
  );
  assert.match(conf, /^VDEVCTL_MODULES='mtty vdpa_sim_net'$/m);
  assert.throws(
    () => configScript(kernel, { modules: ["x;reboot"] }),
    VdevError,
  );
  const extract = sourceExtractScript("/c/it's.deb", "/c/my src", [
    "samples/vfio-mdev/mtty.c",
  ]);
  assert.match(extract, /--fsys-tarfile '\/c\/it'\\''s\.deb' \|/);
  assert.match(
    extract,
    /tar -x -C '\/c\/my src' --strip-components=1 linux-source-6\.12\/samples\/vfio-mdev\/mtty\.c$/,
  );
});

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

Deno.test("small helpers: static ELF check, progress bar, log tail", () => {
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
  assert.equal(progressBar(0.5, 10), "[#####.....]  50%");
  assert.equal(progressBar(2, 4), "[####] 100%");
  assert.equal(logTail("a\n\nb\nc\n", 2), "b | c");
});

Deno.test("missingTools names what is not installed", () => {
  const tools = [
    { command: "sh", pkg: "dash" },
    { command: "vdevctl-no-such-tool", pkg: "nope" },
    { command: "sh", pkg: "dash", ok: () => false },
  ];
  assert.deepEqual(missingTools(tools).map((t) => t.pkg), ["nope", "dash"]);
});

Deno.test("kernelCache: uapiInclude compiles the 6.12 virtio/vDPA/VDUSE UAPI headers", async () => {
  const k = await kernelCache();
  assert.match(k.kver, /^6\.12\./);
  for (const f of [k.vmlinuz, k.initramfs, `${k.modulesDir}/modules.dep.bin`]) {
    assert.ok(Deno.statSync(f).isFile, f);
  }
  for (const m of k.extraModules) {
    assert.ok(Deno.statSync(`${k.modulesDir}/extra/${m}.ko`).isFile, m);
  }
  const dir = await Deno.makeTempDir({ prefix: "vdevctl-uapi-" });
  try {
    await Deno.writeTextFile(
      `${dir}/t.c`,
      `#include <linux/ioctl.h> /* vduse.h does not include it itself */
#include <linux/vduse.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_net.h>
#include <linux/virtio_blk.h>
#include <linux/vdpa.h>
#include <stdio.h>
int main(void) {
  printf("%zu %zu %lx\\n", sizeof(struct vduse_dev_config),
         sizeof(struct virtio_net_config), (unsigned long)VDUSE_CREATE_DEV);
  return 0;
}
`,
    );
    const cc = await new Deno.Command("gcc", {
      args: [
        "-Wall",
        "-Werror",
        `-I${k.uapiInclude}`,
        "-o",
        `${dir}/t`,
        `${dir}/t.c`,
      ],
      stderr: "piped",
    }).output();
    assert.equal(cc.code, 0, new TextDecoder().decode(cc.stderr));
    const run = await new Deno.Command(`${dir}/t`, { stdout: "piped" })
      .output();
    // 6.12 sizes: vduse_dev_config 336, virtio_net_config 24 (bookworm's 6.1 headers differ).
    assert.equal(new TextDecoder().decode(run.stdout), "336 24 41508102\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Real boots (a few seconds each on an idle machine; more when others boot too).

Deno.test("real boot: exit status and byte-exact stdout/stderr come back", async () => {
  const r = await sandboxRun([
    "sh",
    "-c",
    `printf 'out\\000\\377\\n'; printf 'err\\n' >&2; uname -r; pwd; exit 7`,
  ], { timeoutSec: 300 });
  assert.equal(r.code, 7);
  const expected = new Uint8Array([
    ...new TextEncoder().encode("out"),
    0,
    0xff,
    0x0a,
  ]);
  assert.deepEqual(r.stdoutBytes.slice(0, expected.length), expected);
  const lines = new TextDecoder().decode(r.stdoutBytes.slice(expected.length))
    .split("\n");
  assert.match(lines[0], /^6\.12\.\d+\+deb\d+-amd64$/);
  assert.equal(lines[1], Deno.cwd());
  assert.equal(r.stderr, "err\n");
});

Deno.test("real boot: modules load and writes stay in the guest", async () => {
  const probe = `${Deno.cwd()}/.sandbox-host-probe-${crypto.randomUUID()}`;
  const r = await sandboxRun([
    "sh",
    "-c",
    `echo guest > '${probe}' && cat '${probe}' && test -c /dev/vduse/control && grep -c '^mtty ' /proc/modules`,
  ], { modules: ["vduse", "mtty"], timeoutSec: 300 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "guest\n1\n");
  assert.throws(
    () => Deno.statSync(probe),
    "the guest's write reached the host",
  );
});

Deno.test("real boot: a command that outlives --timeout gives the time-limit error", async () => {
  const started = performance.now();
  await assert.rejects(
    sandboxRun(["sh", "-c", "echo begun; sleep 600"], { timeoutSec: 2 }),
    (err: unknown) =>
      err instanceof VdevError && err.exitCode === EXIT_TIMEOUT &&
      /^sandbox: time limit hit: the command did not finish within 2 s/.test(
        err.message,
      ),
  );
  // Killed well before the command's own 600 s.
  assert.ok(performance.now() - started < 300_000);
});
