/**
 * `vdevctl doctor` on fake host trees with a scripted kernel probe:
 * everything present, mdev missing, vduse available but not loaded, no
 * permission (scripted, and for real as `nobody` through the CLI), a kernel
 * without the vdpa family or without `dev set`, the mdevctl and udev-rule
 * cases, and trees whose files are FIFOs. The real probe runs in
 * tests/e2e/doctor_test.ts and tests/doctor/host_test.ts.
 */

import assert from "node:assert/strict";
import {
  type Check,
  diagnose,
  type DoctorReport,
  parseStatus,
  reportText,
} from "../../lib/doctor/mod.ts";
import { ModuleIndex } from "../../lib/doctor/modules.ts";
import { MDEV_MISSING } from "../../lib/mdev/mod.ts";
import { SysRoot } from "../../lib/root.ts";
import { VDPA_CMD, VDPA_FAMILY_MISSING } from "../../lib/vdpa/mod.ts";
import { moduleMissing } from "../../lib/vduse/mod.ts";
import { asNobodyArgv, runCommand } from "../command_output.ts";
import {
  fakeHost,
  mkdir,
  NOBODY,
  put,
  RELEASE,
  scriptedProbe,
  VDPA_612,
} from "./fake_host.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

async function withHost(
  fn: (dir: string) => Promise<void> | void,
): Promise<void> {
  const dir = fakeHost();
  try {
    await fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

function check(report: DoctorReport, id: string): Check {
  const c = report.checks.find((c) => c.id === id);
  assert.ok(c, `no check ${id}: ${report.checks.map((c) => c.id)}`);
  return c;
}

function works(report: DoctorReport): Record<string, boolean> {
  return Object.fromEntries(report.families.map((f) => [f.family, f.works]));
}

const hintOf = (report: DoctorReport, family: string) =>
  report.families.find((f) => f.family === family)?.hint;

Deno.test("everything present: every check ok, every family works, the kernel asked", async () => {
  await withHost(async (dir) => {
    const probe = scriptedProbe();
    const report = await diagnose(new SysRoot(dir), {
      probe,
      askKernel: true,
      path: "/usr/bin",
    });
    assert.equal(report.kernel, RELEASE);
    const bad = report.checks.filter((c) => c.status !== "ok");
    assert.deepEqual(bad, []);
    assert.ok(report.ok);
    assert.deepEqual(works(report), {
      mdev: true,
      vdpa: true,
      vduse: true,
      mvnet: true,
    });
    assert.equal(check(report, "mdev:parents").detail, "mtty");
    assert.match(
      check(report, "vdpa:netlink").detail,
      /^version 1; commands: mgmtdev show, dev add, dev del, dev show, dev config show, dev vstats show, dev set$/,
    );
    assert.equal(check(report, "vduse:api").detail, "0 (vdevctl speaks 0)");
    assert.equal(
      check(report, "mdev:mdevctl").detail,
      "/usr/bin/mdevctl: mdevctl 1.2.0",
    );
    assert.deepEqual(probe.asked, [
      `version ${dir}/usr/bin/mdevctl`,
      "genl vdpa",
      `vduse ${dir}/dev/vduse/control`,
    ]);
    const text = reportText(report);
    const lines = text.trimEnd().split("\n");
    assert.equal(lines.length, report.checks.length + 1 + 4);
    for (const l of lines.slice(0, report.checks.length)) {
      assert.match(l, /^ok {7}(host {2}|mdev {2}|vdpa {2}|vduse |mvnet ) \S/);
    }
    assert.deepEqual(lines.slice(-4), [
      "mdev: ok",
      "vdpa: ok",
      "vduse: ok",
      "mvnet: ok",
    ]);
  });
});

Deno.test("a --root tree: the kernel is not asked and no program is run", async () => {
  await withHost(async (dir) => {
    const probe = scriptedProbe();
    const report = await diagnose(new SysRoot(dir), {
      probe,
      path: "/usr/bin",
    });
    assert.deepEqual(probe.asked, []);
    assert.equal(check(report, "vdpa:netlink").status, "skip");
    assert.equal(check(report, "vduse:api").status, "skip");
    assert.equal(check(report, "mdev:mdevctl").detail, "/usr/bin/mdevctl");
    // Skipped checks do not fail a family.
    assert.ok(report.ok);
  });
});

Deno.test("mdev missing: modprobe lines and the mdev family's own message", async () => {
  await withHost(async (dir) => {
    for (const m of ["mdev", "mtty"]) {
      Deno.removeSync(`${dir}/sys/module/${m}`);
    }
    Deno.removeSync(`${dir}/sys/class/mdev_bus`, { recursive: true });
    const report = await diagnose(new SysRoot(dir), {
      probe: scriptedProbe(),
      askKernel: true,
    });
    const mdev = check(report, "module:mdev");
    assert.equal(mdev.status, "missing");
    assert.equal(mdev.detail, "available, not loaded");
    assert.equal(mdev.fix, "modprobe mdev");
    assert.equal(check(report, "mdev:parents").fix, "modprobe mtty");
    assert.equal(check(report, "mdev:create").status, "skip");
    assert.deepEqual(works(report), {
      mdev: false,
      vdpa: true,
      vduse: true,
      mvnet: true,
    });
    assert.equal(hintOf(report, "mdev"), MDEV_MISSING);
    assert.ok(!report.ok);
    assert.match(
      reportText(report),
      /^missing {2}mdev {3}module mdev: available, not loaded; fix: modprobe mdev$/m,
    );
    assert.match(
      reportText(report),
      new RegExp(
        `^mdev: cannot work: ${MDEV_MISSING.replace(/[()]/g, "\\$&")}$`,
        "m",
      ),
    );
  });
});

Deno.test("vduse available but not loaded: modprobe vduse, the vduse family's own message", async () => {
  await withHost(async (dir) => {
    Deno.removeSync(`${dir}/sys/module/vduse`);
    Deno.removeSync(`${dir}/dev/vduse`, { recursive: true });
    const probe = scriptedProbe();
    const report = await diagnose(new SysRoot(dir), { probe, askKernel: true });
    assert.match(
      reportText(report),
      /^missing {2}vduse {2}module vduse: available, not loaded; fix: modprobe vduse$/m,
    );
    assert.match(
      reportText(report),
      /^missing {2}vduse {2}\/dev\/vduse\/control: no such device; fix: modprobe vduse$/m,
    );
    assert.deepEqual(works(report), {
      mdev: true,
      vdpa: true,
      vduse: false,
      mvnet: false,
    });
    assert.equal(hintOf(report, "vduse"), moduleMissing().message);
    assert.equal(hintOf(report, "mvnet"), moduleMissing().message);
    // No control device: no ioctl.
    assert.ok(!probe.asked.some((a) => a.startsWith("vduse")));
  });
});

Deno.test("a kernel without vduse: the family summary says what to get, not modprobe", async () => {
  await withHost(async (dir) => {
    Deno.removeSync(`${dir}/sys/module/vduse`);
    Deno.removeSync(`${dir}/dev/vduse`, { recursive: true });
    const depPath = `${dir}/lib/modules/${RELEASE}/modules.dep`;
    const dep = Deno.readTextFileSync(depPath).split("\n")
      .filter((l) => !/vduse/.test(l));
    Deno.writeTextFileSync(depPath, dep.join("\n"));
    const report = await diagnose(new SysRoot(dir), { probe: scriptedProbe() });
    const want =
      `module vduse: not built for Linux ${RELEASE}; fix: a kernel that has it (Debian: linux-image-6.12)`;
    assert.equal(hintOf(report, "vduse"), want);
    assert.equal(hintOf(report, "mvnet"), want);
    assert.doesNotMatch(reportText(report), /^vduse: cannot work: .*modprobe/m);
  });
});

Deno.test("a module the kernel was not built with: what to get instead of modprobe", async () => {
  await withHost(async (dir) => {
    Deno.removeSync(`${dir}/sys/module/virtio_net`);
    Deno.removeSync(`${dir}/sys/module/vdpa_sim_net`);
    const depPath = `${dir}/lib/modules/${RELEASE}/modules.dep`;
    const dep = Deno.readTextFileSync(depPath).split("\n")
      .filter((l) => !/virtio_net|vdpa_sim_net/.test(l));
    Deno.writeTextFileSync(depPath, dep.join("\n"));
    const report = await diagnose(new SysRoot(dir), { probe: scriptedProbe() });
    const net = check(report, "module:virtio_net");
    assert.equal(net.detail, `not built for Linux ${RELEASE}`);
    assert.match(net.fix ?? "", /^a kernel that has it/);
    assert.match(
      check(report, "module:vdpa_sim_net").fix ?? "",
      /linux-source/,
    );
    // Which families need a check, in the JSON and as "(optional)" in the text.
    assert.deepEqual(check(report, "module:vdpa_sim_net").neededBy, []);
    assert.deepEqual(check(report, "module:virtio_net").neededBy, ["mvnet"]);
    assert.deepEqual(check(report, "module:vduse").neededBy, [
      "vduse",
      "mvnet",
    ]);
    const text = reportText(report);
    assert.match(
      text,
      /^missing {2}vdpa {3}module vdpa_sim_net \(optional\): not built for /m,
    );
    assert.match(
      text,
      /^missing {2}mvnet {2}module virtio_net: not built for /m,
    );
    // mvnet needs virtio_net; vdpa does not need the simulator.
    assert.deepEqual(works(report), {
      mdev: true,
      vdpa: true,
      vduse: true,
      mvnet: false,
    });
    assert.equal(
      hintOf(report, "mvnet"),
      "a kernel that has it (Debian: linux-image-6.12)",
    );
  });
});

Deno.test("no permission (nobody, no capabilities): each lacking permission named, run as root", async () => {
  await withHost(async (dir) => {
    const report = await diagnose(new SysRoot(dir), {
      probe: scriptedProbe({ identity: NOBODY }),
      askKernel: true,
    });
    const create = check(report, "mdev:create");
    assert.equal(create.status, "missing");
    assert.equal(
      create.detail,
      "cannot write 2 of 2 create files (/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1/create)",
    );
    assert.equal(create.fix, "run as root");
    assert.equal(check(report, "mdev:definitions").status, "missing");
    const admin = check(report, "vdpa:admin");
    assert.equal(admin.detail, "not held: dev add, dev del, dev set need it");
    assert.equal(check(report, "vduse:permission").detail, "denied");
    // Not asked what it could not open.
    assert.equal(
      report.checks.filter((c) => c.id === "vduse:api").length,
      0,
    );
    assert.deepEqual(works(report), {
      mdev: false,
      vdpa: false,
      vduse: false,
      mvnet: false,
    });
    for (const f of report.families) assert.equal(f.hint, "run as root");
  });
});

Deno.test("the owner's and the group's bits count for a user who is not root", async () => {
  await withHost(async (dir) => {
    const create = `${dir}/sys/class/mdev_bus/mtty/mdev_supported_types`;
    Deno.chownSync(`${create}/mtty-1/create`, 1000, 0);
    Deno.chownSync(`${create}/mtty-2/create`, 0, 2000);
    Deno.chmodSync(`${create}/mtty-2/create`, 0o020);
    const probe = (groups: number[]) =>
      scriptedProbe({ identity: { uid: 1000, gid: 1000, groups, capEff: 0n } });
    let report = await diagnose(new SysRoot(dir), { probe: probe([]) });
    assert.match(
      check(report, "mdev:create").detail,
      /^cannot write 1 of 2 .*mtty-2\/create\)$/,
    );
    report = await diagnose(new SysRoot(dir), { probe: probe([2000]) });
    assert.equal(check(report, "mdev:create").status, "ok");
  });
});

Deno.test("not root for real: vdevctl doctor as nobody on a fake tree exits 1 naming the permissions", async () => {
  await withHost(async (dir) => {
    const r = await runCommand(asNobodyArgv(["--root", dir, "doctor"]));
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stdout,
      /^missing {2}mdev {3}permission to create mdevs: cannot write 2 of 2 create files .*; fix: run as root$/m,
    );
    assert.match(
      r.stdout,
      /^missing {2}vdpa {3}CAP_NET_ADMIN: not held: .*; fix: run as root$/m,
    );
    assert.match(
      r.stdout,
      /^missing {2}vduse {2}permission to open \/dev\/vduse\/control: denied; fix: run as root$/m,
    );
    assert.equal(
      r.stderr,
      "vdevctl: mdev, vdpa, vduse, mvnet cannot work on this host (see the lines above)\n",
    );
  });
});

Deno.test("a kernel without the vdpa family, or without dev set", async () => {
  await withHost(async (dir) => {
    let report = await diagnose(new SysRoot(dir), {
      probe: scriptedProbe({ vdpa: undefined }),
      askKernel: true,
    });
    assert.equal(check(report, "vdpa:netlink").fix, "modprobe vdpa");
    assert.equal(hintOf(report, "vdpa"), VDPA_FAMILY_MISSING);
    assert.equal(works(report).vdpa, false);
    report = await diagnose(new SysRoot(dir), {
      probe: scriptedProbe({
        vdpa: {
          version: 1,
          ops: VDPA_612.ops.filter((o) => o.cmd !== VDPA_CMD.DEV_ATTR_SET),
        },
      }),
      askKernel: true,
    });
    const cmds = check(report, "vdpa:commands");
    assert.equal(cmds.status, "warn");
    assert.equal(cmds.detail, "this kernel lacks dev set");
    assert.equal(works(report).vdpa, true);
    // The admin commands are what the kernel marks GENL_ADMIN_PERM.
    report = await diagnose(new SysRoot(dir), {
      probe: scriptedProbe({ identity: NOBODY }),
      askKernel: true,
    });
    assert.equal(
      check(report, "vdpa:admin").detail,
      "not held: dev add, dev del, dev set need it",
    );
  });
});

Deno.test("mdevctl on PATH, vdevctl's personality, and whose udev rule starts mdevs", async () => {
  await withHost(async (dir) => {
    const root = new SysRoot(dir);
    const probe = scriptedProbe();
    let report = await diagnose(root, { probe, path: "/nowhere:/usr/bin" });
    assert.equal(
      check(report, "mdev:udev").detail,
      "/usr/lib/udev/rules.d/60-mdevctl.rules (mdevctl's)",
    );
    // vdevctl's personality: a link to the launcher.
    put(dir, "opt/vdevctl/vdevctl", "#!/bin/sh\n", 0o755);
    Deno.removeSync(`${dir}/usr/bin/mdevctl`);
    Deno.symlinkSync(`${dir}/opt/vdevctl/vdevctl`, `${dir}/usr/bin/mdevctl`);
    report = await diagnose(root, { probe, path: "/usr/bin" });
    assert.match(
      check(report, "mdev:mdevctl").detail,
      /^\/usr\/bin\/mdevctl is vdevctl .*'s personality$/,
    );
    report = await diagnose(root, { probe, path: "/usr/local/bin" });
    assert.match(check(report, "mdev:mdevctl").detail, /^not installed/);
    // Two rules that start the same mdevs.
    put(
      dir,
      "etc/udev/rules.d/70-mine.rules",
      'RUN+="mdevctl start-parent-mdevs %k"\n',
    );
    report = await diagnose(root, { probe });
    const two = check(report, "mdev:udev");
    assert.equal(two.status, "warn");
    assert.match(two.detail, /^2 rules start the same mdevs: /);
    // vdevctl's own rule alone; then none.
    Deno.removeSync(`${dir}/etc/udev/rules.d/70-mine.rules`);
    Deno.removeSync(`${dir}/usr/lib/udev/rules.d/60-mdevctl.rules`);
    put(dir, "usr/lib/udev/rules.d/61-vdevctl-mdev.rules", "# vdevctl\n");
    report = await diagnose(root, { probe });
    assert.equal(
      check(report, "mdev:udev").detail,
      "/usr/lib/udev/rules.d/61-vdevctl-mdev.rules (vdevctl's)",
    );
    Deno.removeSync(`${dir}/usr/lib/udev/rules.d/61-vdevctl-mdev.rules`);
    report = await diagnose(root, { probe });
    assert.equal(check(report, "mdev:udev").status, "warn");
    // A warning does not stop mdev from working.
    assert.equal(works(report).mdev, true);
  });
});

Deno.test("FIFOs where files are expected cannot stall doctor", async () => {
  await withHost(async (dir) => {
    for (
      const rel of [
        "proc/sys/kernel/osrelease",
        `lib/modules/${RELEASE}/modules.dep`,
        "dev/vduse/control",
        "usr/lib/udev/rules.d/60-mdevctl.rules",
      ]
    ) {
      Deno.removeSync(`${dir}/${rel}`);
      const r = await runCommand(["mkfifo", `${dir}/${rel}`]);
      assert.equal(r.code, 0, r.stderr);
    }
    const report = await diagnose(new SysRoot(dir), { probe: scriptedProbe() });
    assert.equal(report.kernel, "");
    assert.equal(check(report, "vduse:control").status, "missing");
  });
});

Deno.test("/proc/self/status parsing and the module index", () => {
  const id = parseStatus(
    "Name:\tx\nUid:\t1000\t1001\t1001\t1001\nGid:\t5\t6\t6\t6\nGroups:\t27 100 \nCapEff:\t0000000000001000\n",
  );
  assert.deepEqual(id, {
    uid: 1001,
    gid: 6,
    groups: [27, 100],
    capEff: 0x1000n,
  });
  const dir = fakeHost();
  try {
    put(
      dir,
      `lib/modules/${RELEASE}/modules.builtin`,
      "kernel/drivers/vfio/vfio-core.ko\n",
    );
    mkdir(dir, "sys/module/loaded_only");
    const index = new ModuleIndex(new SysRoot(dir), RELEASE);
    assert.equal(index.state("mdpy-fb"), "available");
    assert.equal(index.state("mdpy_fb"), "available");
    assert.equal(index.state("vfio_core"), "builtin");
    assert.equal(index.state("vduse"), "loaded");
    assert.equal(index.state("loaded_only"), "loaded");
    assert.equal(index.state("nope"), "missing");
    assert.equal(new ModuleIndex(new SysRoot(dir), "../x").hasIndex, false);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("mdev on a host without mdev: list/types as mdevctl (hint on a terminal only), parents and start name doctor's line", async () => {
  const empty = Deno.makeTempDirSync({ prefix: "vdevctl-nomdev-" });
  try {
    const vdevctl = (args: string[]) =>
      runCommand([`${REPO}/vdevctl`, "--root", empty, "mdev", ...args]);
    for (const args of [["list"], ["types"], ["list", "-d"]]) {
      const r = await vdevctl(args);
      assert.equal(r.code, 0);
      assert.equal(r.stderr, "", args.join(" "));
    }
    assert.equal((await vdevctl(["list"])).stdout, "\n");
    const parents = await vdevctl(["parents"]);
    assert.equal(parents.code, 1);
    assert.equal(parents.stderr, `vdevctl: ${MDEV_MISSING}\n`);
    const start = await vdevctl([
      "start",
      "-u",
      "11111111-2222-3333-4444-555555555555",
      "-p",
      "mtty",
      "-t",
      "mtty-1",
    ]);
    assert.equal(start.code, 1);
    assert.equal(
      start.stderr,
      `vdevctl: mdev parent mtty does not exist: ${MDEV_MISSING}\n`,
    );
    // On a terminal (script(1) gives it one) the same line, on stderr.
    const tty = await runCommand([
      "script",
      "-qec",
      `${REPO}/vdevctl --root ${empty} mdev list >/dev/null`,
      "/dev/null",
    ]);
    assert.equal(tty.code, 0);
    assert.equal(tty.stdout.replaceAll("\r", ""), `vdevctl: ${MDEV_MISSING}\n`);
  } finally {
    Deno.removeSync(empty, { recursive: true });
  }
});
