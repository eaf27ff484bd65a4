/**
 * The sandbox's initramfs: busybox-static, the 9p and overlay modules
 * (decompressed: busybox insmod cannot read .ko.xz), a `/sbin/modprobe` shim
 * that forwards kernel-initiated module loads into the chroot, and `/init`,
 * which mounts the host root read-only under a tmpfs overlay, chroots into it
 * and runs the job found in the writable 9p job directory.
 *
 * @module
 */

import { atomicWriteFileSync } from "../atomic_write.ts";
import { messageOf, VdevError } from "../errors.ts";
import { logTail, runTool } from "./process.ts";
import { BUSYBOX } from "./host_packages.ts";

/** One file, directory, symlink or device node of a cpio archive. */
export interface CpioEntry {
  /** Path inside the archive, without a leading slash. */
  name: string;
  /** Full st_mode (type bits and permissions). */
  mode: number;
  /** File contents or symlink target. */
  data?: Uint8Array;
  /** Device numbers for character/block nodes. */
  rdev?: [number, number];
}

/** st_mode type bits. */
export const S_IFDIR = 0o040000;
/** Regular file. */
export const S_IFREG = 0o100000;
/** Symbolic link. */
export const S_IFLNK = 0o120000;
/** Character device. */
export const S_IFCHR = 0o020000;

const enc = new TextEncoder();

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

/** Encodes `entries` as an uncompressed cpio "newc" archive (what the kernel unpacks). */
export function cpioNewc(entries: CpioEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  const push = (b: Uint8Array) => {
    parts.push(b);
    size += b.length;
    const pad = (4 - (size % 4)) % 4;
    if (pad) {
      parts.push(new Uint8Array(pad));
      size += pad;
    }
  };
  const all = [...entries, { name: "TRAILER!!!", mode: 0 }];
  all.forEach((e, i) => {
    const data = e.data ?? new Uint8Array(0);
    const name = enc.encode(e.name + "\0");
    const fields = [
      i + 1, // ino
      e.mode,
      0, // uid
      0, // gid
      (e.mode & 0o170000) === S_IFDIR ? 2 : 1, // nlink
      0, // mtime
      data.length,
      0, // devmajor
      0, // devminor
      e.rdev?.[0] ?? 0,
      e.rdev?.[1] ?? 0,
      name.length,
      0, // check
    ];
    const header = enc.encode("070701" + fields.map(hex8).join(""));
    const head = new Uint8Array(header.length + name.length);
    head.set(header);
    head.set(name, header.length);
    push(head);
    if (data.length) push(data);
  });
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Paths of the job directory as the guest sees them. */
export const GUEST_JOB = "/job";
/** The job directory inside the chroot. */
export const CHROOT_JOB = "/run/vdevctl/job";

/** 9p mount options of the host root (read-only, cached). */
export const HOSTROOT_OPTS =
  "ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose";
/** 9p mount options of the job directory (uncached, so output streams). */
export const JOB_OPTS = "trans=virtio,version=9p2000.L,msize=512000";

/**
 * The `/init` script. `modules` are the decompressed module basenames (in
 * load order) shipped in `/lib/modules`. Per-run settings come from
 * `/job/config.sh`: VDEVCTL_MODE (run|shell), VDEVCTL_KVER, VDEVCTL_MODDIR
 * (host path of the module tree), VDEVCTL_MODULES (names to modprobe).
 */
export function initScript(modules: string[]): string {
  return `#!/bin/busybox sh
# vdevctl sandbox init (generated).
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
halt_now() { sync; poweroff -f; sleep 5; echo o > /proc/sysrq-trigger; }
fail() {
  echo "vdevctl-init: $*" >&2
  [ -w ${GUEST_JOB}/. ] && echo "$*" > ${GUEST_JOB}/init-error
  halt_now
}
for m in ${modules.join(" ")}; do
  insmod /lib/modules/$m.ko || fail "cannot load $m"
done
mkdir -p /host ${GUEST_JOB} /rw /newroot
mount -t 9p -o ${JOB_OPTS} job ${GUEST_JOB} || fail "cannot mount the job directory"
mount -t 9p -o ${HOSTROOT_OPTS} hostroot /host || fail "cannot mount the host root"
. ${GUEST_JOB}/config.sh
mount -t tmpfs -o mode=0755 rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
  fail "cannot mount the overlay"
N=/newroot
mount -t proc proc $N/proc
mount -t sysfs sysfs $N/sys
mount -t devtmpfs devtmpfs $N/dev
mkdir -p $N/dev/pts $N/dev/shm
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts $N/dev/pts
mount -t tmpfs -o mode=1777 shm $N/dev/shm
# devtmpfs has no /dev/fd or /dev/std*: programs (libvirt's
# --jsonfile=/dev/stdin) expect them.
ln -s /proc/self/fd $N/dev/fd
for i in 0:stdin 1:stdout 2:stderr; do ln -s /proc/self/fd/\${i%%:*} $N/dev/\${i#*:}; done
mount -t tmpfs -o mode=0755 run $N/run
mkdir -p $N${CHROOT_JOB}
mount --bind ${GUEST_JOB} $N${CHROOT_JOB}
mkdir -p $N/lib/modules/$VDEVCTL_KVER
mount --bind /host$VDEVCTL_MODDIR $N/lib/modules/$VDEVCTL_KVER ||
  fail "cannot bind the module tree"
echo /sbin/modprobe > /proc/sys/kernel/modprobe
hostname vdevctl-sandbox
ulimit -l unlimited
if [ -n "$VDEVCTL_MODULES" ]; then
  if ! chroot $N /sbin/modprobe -a $VDEVCTL_MODULES 2> ${GUEST_JOB}/modprobe.err; then
    echo failed > ${GUEST_JOB}/modules-failed
    halt_now
  fi
fi
: > ${GUEST_JOB}/started
if [ "$VDEVCTL_MODE" = shell ]; then
  setsid cttyhack env -i chroot $N /bin/sh ${CHROOT_JOB}/run.sh
  echo $? > ${GUEST_JOB}/status
else
  env -i chroot $N /bin/sh ${CHROOT_JOB}/run.sh \\
    < /dev/null > ${GUEST_JOB}/stdout 2> ${GUEST_JOB}/stderr
  echo $? > ${GUEST_JOB}/status.tmp
  dmesg > ${GUEST_JOB}/dmesg
  mv ${GUEST_JOB}/status.tmp ${GUEST_JOB}/status
fi
halt_now
`;
}

/** The `/sbin/modprobe` shim: kernel module requests run in the chroot. */
export function modprobeShim(): string {
  return `#!/bin/busybox sh
exec /bin/busybox chroot /newroot /sbin/modprobe "$@"
`;
}

/**
 * The initramfs file name: it carries a hash of the generated scripts, so a
 * cache prepared by an older vdevctl gets a fresh initramfs.
 */
export function initramfsName(): string {
  const text = initScript(["@"]) + modprobeShim() +
    INITRAMFS_MODULES.join(",");
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  }
  return `initramfs-${h.toString(16).padStart(8, "0")}.cpio`;
}

/** Modules the initramfs loads itself: 9p transport and file system, overlay. */
export const INITRAMFS_MODULES = ["9p", "9pnet_virtio", "overlay"];

/**
 * The module files (`.ko.xz`, in load order, deduplicated) that `modprobe
 * --show-depends` lists for the initramfs modules.
 */
export function parseShowDepends(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^insmod (\S+)/.exec(line.trim());
    if (m && !out.includes(m[1])) out.push(m[1]);
  }
  return out;
}

/** A module file's bytes, decompressed (busybox insmod cannot read .ko.xz). */
async function moduleBytes(file: string): Promise<Uint8Array> {
  if (!file.endsWith(".xz")) return await Deno.readFile(file);
  const fail = (why: string, fix: string, cause?: unknown) =>
    new VdevError(
      `sandbox: cannot decompress ${file} for the initramfs: ${why}; ${fix}`,
      { cause },
    );
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("xz", {
      args: ["-dc", file],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    throw fail(`cannot run xz (${messageOf(err)})`, "install xz-utils", err);
  }
  if (out.code !== 0 || out.stdout.length === 0) {
    const why = logTail(new TextDecoder().decode(out.stderr), 2);
    throw fail(
      why || `xz exit ${out.code}`,
      "run 'vdevctl sandbox clean' and retry",
    );
  }
  return out.stdout;
}

/** Builds the initramfs for the extracted tree `root` into `outFile`. */
export async function buildInitramfs(
  root: string,
  kver: string,
  outFile: string,
): Promise<void> {
  const { stdout } = await runTool([
    "modprobe",
    "-d",
    root,
    "-S",
    kver,
    "--show-depends",
    "-a",
    ...INITRAMFS_MODULES,
  ], { what: "resolve the initramfs modules" });
  const files = parseShowDepends(stdout);
  const entries: CpioEntry[] = [];
  const dir = (name: string) => entries.push({ name, mode: S_IFDIR | 0o755 });
  for (
    const d of [
      "bin",
      "sbin",
      "dev",
      "proc",
      "sys",
      "tmp",
      "lib",
      "lib/modules",
      "host",
      "job",
      "rw",
      "newroot",
    ]
  ) dir(d);
  entries.push({ name: "dev/console", mode: S_IFCHR | 0o600, rdev: [5, 1] });
  entries.push({
    name: "bin/busybox",
    mode: S_IFREG | 0o755,
    data: await Deno.readFile(BUSYBOX),
  });
  entries.push({
    name: "bin/sh",
    mode: S_IFLNK | 0o777,
    data: enc.encode("busybox"),
  });
  const names: string[] = [];
  for (const f of files) {
    const base = f.slice(f.lastIndexOf("/") + 1).replace(/\.ko(\.xz)?$/, "");
    entries.push({
      name: `lib/modules/${base}.ko`,
      mode: S_IFREG | 0o644,
      data: await moduleBytes(f),
    });
    names.push(base);
  }
  entries.push({
    name: "init",
    mode: S_IFREG | 0o755,
    data: enc.encode(initScript(names)),
  });
  entries.push({
    name: "sbin/modprobe",
    mode: S_IFREG | 0o755,
    data: enc.encode(modprobeShim()),
  });
  // Atomic: concurrent builders write identical archives, and a failed write
  // leaves no partial file behind.
  atomicWriteFileSync(outFile, cpioNewc(entries));
}
