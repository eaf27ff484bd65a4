/**
 * Test helper: a fake host tree for `vdevctl doctor` (kernel release,
 * /lib/modules index, /sys/module, an mtty mdev parent, /dev/vduse/control,
 * /etc/mdevctl.d, mdevctl and its udev rule) with every piece present, parts
 * of which a test then removes; and a scripted {@linkcode DoctorProbe}.
 *
 * @module
 */

import type {
  DoctorProbe,
  Identity,
  ProbedFamily,
} from "../../lib/doctor/mod.ts";
import { VDPA_CMD } from "../../lib/vdpa/mod.ts";

/** The release the fake tree runs. */
export const RELEASE = "6.12.0-doctor";

/** The modules the fake /sys/module holds (all in its modules.dep). */
export const LOADED = [
  "mdev",
  "vfio",
  "mtty",
  "vdpa",
  "vduse",
  "virtio_vdpa",
  "vhost_vdpa",
  "vdpa_sim",
  "vdpa_sim_net",
  "vdpa_sim_blk",
  "virtio_net",
];

/** Writes `text` to `root/rel`, making the directories. */
export function put(
  root: string,
  rel: string,
  text: string,
  mode = 0o644,
): void {
  const path = `${root}/${rel}`;
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), {
    recursive: true,
    mode: 0o755,
  });
  Deno.writeTextFileSync(path, text);
  Deno.chmodSync(path, mode);
}

/** Makes the directory `root/rel` (and its parents). */
export function mkdir(root: string, rel: string): void {
  Deno.mkdirSync(`${root}/${rel}`, { recursive: true, mode: 0o755 });
}

/**
 * A world-readable fake host with everything doctor wants (under /tmp, so
 * that `nobody` can read it).
 */
export function fakeHost(): string {
  const root = Deno.makeTempDirSync({ dir: "/tmp", prefix: "vdevctl-doctor-" });
  Deno.chmodSync(root, 0o755);
  put(root, "proc/sys/kernel/osrelease", `${RELEASE}\n`);
  const dep = LOADED.map((m) =>
    m === "mtty" || m.startsWith("vdpa_sim")
      ? `extra/${m}.ko:`
      : `kernel/drivers/x/${m}.ko.xz:`
  );
  put(
    root,
    `lib/modules/${RELEASE}/modules.dep`,
    [...dep, "extra/mdpy-fb.ko:", ""].join("\n"),
  );
  put(root, `lib/modules/${RELEASE}/modules.builtin`, "");
  for (const m of LOADED) mkdir(root, `sys/module/${m}`);
  for (const t of ["mtty-1", "mtty-2"]) {
    const dir = `sys/class/mdev_bus/mtty/mdev_supported_types/${t}`;
    put(root, `${dir}/create`, "", 0o200);
    put(root, `${dir}/available_instances`, "24\n", 0o444);
    put(root, `${dir}/device_api`, "vfio-pci\n", 0o444);
  }
  put(root, "dev/vduse/control", "", 0o600);
  mkdir(root, "etc/mdevctl.d");
  put(root, "usr/lib/udev/rules.d/60-mdevctl.rules", "# mdevctl\n");
  put(root, "usr/bin/mdevctl", "#!/bin/sh\necho mdevctl 1.2.0\n", 0o755);
  return root;
}

/** root, with every capability. */
export const ROOT: Identity = {
  uid: 0,
  gid: 0,
  groups: [],
  capEff: (1n << 41n) - 1n,
};

/** nobody, without capabilities. */
export const NOBODY: Identity = {
  uid: 65534,
  gid: 65534,
  groups: [],
  capEff: 0n,
};

/** The vdpa family of Linux 6.12: every command, the writes admin-only. */
export const VDPA_612: ProbedFamily = {
  version: 1,
  ops: [
    { cmd: VDPA_CMD.MGMTDEV_GET, flags: 0x06 },
    { cmd: VDPA_CMD.DEV_NEW, flags: 0x03 },
    { cmd: VDPA_CMD.DEV_DEL, flags: 0x03 },
    { cmd: VDPA_CMD.DEV_GET, flags: 0x06 },
    { cmd: VDPA_CMD.DEV_CONFIG_GET, flags: 0x06 },
    { cmd: VDPA_CMD.DEV_VSTATS_GET, flags: 0x02 },
    { cmd: VDPA_CMD.DEV_ATTR_SET, flags: 0x03 },
  ],
};

/** A scripted probe: what the kernel and process would answer. */
export function scriptedProbe(
  answers: {
    identity?: Identity;
    vdpa?: ProbedFamily | undefined;
    apiVersion?: number;
  } = {},
): DoctorProbe & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    genlFamily(name) {
      asked.push(`genl ${name}`);
      return name === "vdpa" && "vdpa" in answers
        ? answers.vdpa
        : name === "vdpa"
        ? VDPA_612
        : undefined;
    },
    vduseApiVersion(path) {
      asked.push(`vduse ${path}`);
      return answers.apiVersion ?? 0;
    },
    identity() {
      return answers.identity ?? ROOT;
    },
    programVersion(path) {
      asked.push(`version ${path}`);
      return Promise.resolve("mdevctl 1.2.0");
    },
  };
}
