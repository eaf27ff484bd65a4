/**
 * `vdevctl doctor`'s checks: what this host can do for each family and what
 * to do about what it cannot. Files are read under one {@linkcode SysRoot};
 * the kernel calls (netlink, ioctl) and the process identity come from a
 * {@linkcode DoctorProbe}, and are skipped under a root that is not the
 * running system (a fake tree has no kernel of its own).
 *
 * @module
 */

import { messageOf } from "../errors.ts";
import { ConfigStore, MDEV_MISSING, MdevSysfs } from "../mdev/mod.ts";
import type { SysRoot } from "../root.ts";
import {
  moduleMissing,
  VDUSE_API_VERSION,
  VDUSE_CONTROL_PATH,
} from "../vduse/mod.ts";
import { VDPA_FAMILY_MISSING } from "../vdpa/mod.ts";
import { ModuleIndex, readSmallFile } from "./modules.ts";
import { isDir } from "../sysfs_read.ts";
import { mdevctlCheck, udevCheck } from "./mdevctl.ts";
import { moduleCheck } from "./module_check.ts";
import {
  type Check,
  DOCTOR_FAMILIES,
  type DoctorFamily,
  type DoctorReport,
  type FamilySummary,
} from "./report.ts";
import { type Access, accessOf, writable } from "./access.ts";
import { type DoctorProbe, systemProbe } from "./probe.ts";
import { vdpaChecks } from "./vdpa.ts";

/** Options of {@linkcode diagnose}. */
export interface DiagnoseOptions {
  /** The kernel and process probe (default: the real one). */
  probe?: DoctorProbe;
  /** The PATH mdevctl is looked up on (default: $PATH). */
  path?: string;
  /**
   * Ask the probe about the kernel (netlink, ioctl) and run programs
   * (default: only when `root` is the running system; tests of fake trees
   * with a scripted probe set it).
   */
  askKernel?: boolean;
}

/** The mdev parent drivers doctor suggests: the samples, then Intel GVT-g. */
const MDEV_PARENT_DRIVERS = ["mtty", "mdpy", "mbochs", "kvmgt"];

/** The kernel release: `/proc/sys/kernel/osrelease` under the root. */
function kernelRelease(root: SysRoot): string {
  const text = readSmallFile(root.path("/proc/sys/kernel/osrelease"))?.trim();
  if (text) return text;
  return root.isReal ? Deno.osRelease() : "";
}

function mdevChecks(
  root: SysRoot,
  index: ModuleIndex,
  access: Access,
): Check[] {
  const sysfs = new MdevSysfs(root);
  const present = sysfs.present();
  // Older kernels' vfio_mdev is gone in 6.12 (no such module: the parent
  // drivers register their devices with vfio themselves), so it is not asked.
  const checks = [
    moduleCheck(index, "mdev", { family: "mdev", present }),
    moduleCheck(index, "vfio", { family: "mdev" }),
  ];
  const parents = present ? sysfs.parentNames() : [];
  if (parents.length > 0) {
    checks.push({
      id: "mdev:parents",
      family: "mdev",
      name: "mdev parents",
      status: "ok",
      detail: parents.join(", "),
    });
  } else {
    const driver = MDEV_PARENT_DRIVERS.find((d) =>
      index.state(d) === "available"
    );
    checks.push({
      id: "mdev:parents",
      family: "mdev",
      name: "mdev parents",
      status: "missing",
      detail: "none registered",
      fix: driver
        ? `modprobe ${driver}`
        : "load a parent driver (a vGPU driver, or the vfio-mdev samples mtty/mdpy/mbochs)",
    });
  }
  const creates = parents.flatMap((p) =>
    sysfs.typeNames(p).map((t) => `${sysfs.typesDir(p)}/${t}/create`)
  ).sort();
  const denied = creates.filter((c) => !writable(c, access));
  checks.push({
    id: "mdev:create",
    family: "mdev",
    name: "permission to create mdevs",
    status: creates.length === 0
      ? "skip"
      : denied.length === 0
      ? "ok"
      : "missing",
    detail: creates.length === 0
      ? "no mdev types"
      : denied.length === 0
      ? `${creates.length} create files writable`
      : `cannot write ${denied.length} of ${creates.length} create files (${
        denied[0].slice(root.dir === "/" ? 0 : root.dir.length)
      })`,
    ...(denied.length > 0 ? { fix: "run as root" } : {}),
  });
  const store = new ConfigStore(root);
  let dir = store.base;
  while (!isDir(dir) && dir.length > root.path("/").length) {
    dir = dir.slice(0, dir.lastIndexOf("/")) || "/";
  }
  const canDefine = writable(dir, access);
  checks.push({
    id: "mdev:definitions",
    family: "mdev",
    name: "permission to define mdevs (/etc/mdevctl.d)",
    status: canDefine ? "ok" : "missing",
    detail: canDefine ? "writable" : "not writable",
    ...(canDefine ? {} : { fix: "run as root" }),
  });
  return checks;
}

function vduseChecks(
  root: SysRoot,
  index: ModuleIndex,
  options: { probe: DoctorProbe; access: Access; askKernel: boolean },
): Check[] {
  const control = root.path(VDUSE_CONTROL_PATH);
  let exists = false;
  try {
    const info = Deno.statSync(control);
    exists = info.isCharDevice === true || info.isFile;
  } catch {
    // missing
  }
  const checks = [
    moduleCheck(index, "vduse", { family: "vduse", present: exists }),
  ];
  const line = { family: "vduse" as const };
  checks.push({
    ...line,
    id: "vduse:control",
    name: VDUSE_CONTROL_PATH,
    status: exists ? "ok" : "missing",
    detail: exists ? "present" : "no such device",
    // The module's own fix: modprobe, or a kernel that has it.
    ...(exists ? {} : { fix: checks[0].fix ?? "modprobe vduse" }),
  });
  if (!exists) return checks;
  const canOpen = writable(control, options.access);
  checks.push({
    ...line,
    id: "vduse:permission",
    name: `permission to open ${VDUSE_CONTROL_PATH}`,
    status: canOpen ? "ok" : "missing",
    detail: canOpen ? "read-write" : "denied",
    ...(canOpen ? {} : { fix: "run as root" }),
  });
  if (!options.askKernel) {
    checks.push({
      ...line,
      id: "vduse:api",
      name: `${VDUSE_CONTROL_PATH} API version`,
      status: "skip",
      detail: "not asked: --root is not the running system",
    });
  } else if (canOpen) {
    try {
      const v = options.probe.vduseApiVersion(control);
      checks.push({
        ...line,
        id: "vduse:api",
        name: `${VDUSE_CONTROL_PATH} API version`,
        status: "ok",
        detail: `${v} (vdevctl speaks ${VDUSE_API_VERSION})`,
      });
    } catch (err) {
      checks.push({
        ...line,
        id: "vduse:api",
        name: `${VDUSE_CONTROL_PATH} API version`,
        status: "missing",
        detail: `VDUSE_GET_API_VERSION failed: ${messageOf(err)}`,
        fix: "modprobe -r vduse && modprobe vduse",
      });
    }
  }
  return checks;
}

/** What each family needs: check ids, the family's own message when its core is missing. */
const NEEDS: Record<
  DoctorFamily,
  { needs: string[]; core: string[]; hint: string }
> = {
  mdev: {
    needs: ["module:mdev", "mdev:parents", "mdev:create"],
    core: ["module:mdev"],
    hint: MDEV_MISSING,
  },
  vdpa: {
    needs: ["module:vdpa", "vdpa:netlink", "vdpa:admin"],
    core: ["module:vdpa", "vdpa:netlink"],
    hint: VDPA_FAMILY_MISSING,
  },
  vduse: {
    needs: ["module:vduse", "vduse:control", "vduse:permission", "vduse:api"],
    core: ["module:vduse", "vduse:control"],
    hint: moduleMissing().message,
  },
  mvnet: {
    needs: [
      "module:vduse",
      "vduse:control",
      "vduse:permission",
      "module:vdpa",
      "vdpa:netlink",
      "module:virtio_vdpa",
      "module:virtio_net",
      "vdpa:admin",
    ],
    core: ["module:vduse", "vduse:control"],
    hint: moduleMissing().message,
  },
};

/** Fills in each check's `neededBy` from {@linkcode NEEDS}. */
function markNeeds(checks: Check[]): void {
  for (const c of checks) {
    c.neededBy = DOCTOR_FAMILIES.filter((f) => NEEDS[f].needs.includes(c.id));
  }
}

function summarize(family: DoctorFamily, checks: Check[]): FamilySummary {
  const { needs, core, hint } = NEEDS[family];
  const bad = (c: Check) => c.status === "missing";
  const failed = checks.filter((c) => needs.includes(c.id) && bad(c));
  if (failed.length === 0) return { family, works: true, failed: [] };
  const coreMissing = failed.some((c) => core.includes(c.id));
  const fixes = [...new Set(failed.map((c) => c.fix ?? c.name))];
  // The family's own message says "modprobe": not for a module this kernel
  // lacks, whose line says what to get instead.
  const absent = failed.find((c) =>
    core.includes(c.id) && c.id.startsWith("module:") &&
    c.fix !== undefined && !c.fix.startsWith("modprobe")
  );
  return {
    family,
    works: false,
    failed: failed.map((c) => c.name),
    hint: absent
      ? `${absent.name}: ${absent.detail}; fix: ${absent.fix}`
      : coreMissing
      ? hint
      : fixes.join("; "),
  };
}

/** Runs every check on the host under `root`. */
export async function diagnose(
  root: SysRoot,
  options: DiagnoseOptions = {},
): Promise<DoctorReport> {
  const probe = options.probe ?? systemProbe();
  const kernel = kernelRelease(root);
  const index = new ModuleIndex(root, kernel);
  const access = accessOf(probe);
  const askKernel = options.askKernel ?? root.isReal;
  const checks: Check[] = [{
    id: "host:kernel",
    family: "host",
    name: "kernel",
    status: kernel === "" ? "warn" : "ok",
    detail: kernel === ""
      ? "release unknown (no /proc/sys/kernel/osrelease)"
      : `Linux ${kernel}`,
  }];
  checks.push(...mdevChecks(root, index, access));
  checks.push(
    await mdevctlCheck(root, { probe, path: options.path, askKernel }),
  );
  checks.push(udevCheck(root));
  checks.push(...vdpaChecks(index, { probe, access, askKernel }));
  checks.push(...vduseChecks(root, index, { probe, access, askKernel }));
  checks.push(moduleCheck(index, "virtio_net", { family: "mvnet" }));
  markNeeds(checks);
  const families = DOCTOR_FAMILIES.map((f) => summarize(f, checks));
  return { kernel, checks, families, ok: families.every((f) => f.works) };
}
