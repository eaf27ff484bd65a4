/**
 * vdevctl's own udev rule for persistent mdevs (mdevctl's, calling
 * `vdevctl mdev start-parent-mdevs %k`), and the check that keeps it off a
 * system where mdevctl's rule is installed: two rules would start the same
 * devices twice.
 *
 * @module
 */

/** The rule's file name (after mdevctl's 60-mdevctl.rules). */
export const MDEV_RULE_NAME = "61-vdevctl-mdev.rules";

/** Where udev reads rules from, and where mdevctl's rule may be. */
export const UDEV_RULE_DIRS = [
  "/etc/udev/rules.d",
  "/run/udev/rules.d",
  "/usr/lib/udev/rules.d",
  "/lib/udev/rules.d",
  "/usr/local/lib/udev/rules.d",
] as const;

/**
 * The rule. It also tests at event time that mdevctl's rule is still absent,
 * so installing mdevctl later does not make two rules start the same mdevs.
 */
export function mdevRule(bindir: string): string {
  const guards = UDEV_RULE_DIRS.map((d) => `TEST!="${d}/60-mdevctl.rules"`)
    .join(", ");
  const run =
    `RUN+="/bin/sh -c '{ ${bindir}/vdevctl mdev start-parent-mdevs %k 2>&3 | logger -t vdevctl; } 3>&1 1>&2 | logger -t vdevctl -p 2'"`;
  return [
    "# Installed by vdevctl: start the persistent mdevs of a parent when it",
    "# registers with mdev, as mdevctl's 60-mdevctl.rules does. Inactive while",
    "# mdevctl's own rule is installed (never two rules for the same devices).",
    `ACTION=="change", ENV{MDEV_STATE}=="registered", TEST=="/etc/mdevctl.d/$kernel", ${guards}, ${run}`,
    "",
    "# Kernels that do not send the change uevent: try when the parent is added.",
    `ACTION=="add", TEST=="/etc/mdevctl.d/$kernel", ${guards}, ${run}`,
    "",
  ].join("\n");
}

/**
 * The installed rule files (under `destdir`) other than vdevctl's own that
 * start persistent mdevs (mdevctl's `start-parent-mdevs`).
 */
export function mdevctlRules(destdir: string): string[] {
  const found: string[] = [];
  for (const dir of UDEV_RULE_DIRS) {
    let names: string[];
    try {
      names = [...Deno.readDirSync(`${destdir}${dir}`)]
        .filter((e) => (e.isFile || e.isSymlink) && e.name.endsWith(".rules"))
        .map((e) => e.name);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      if (name === MDEV_RULE_NAME) continue;
      const path = `${destdir}${dir}/${name}`;
      let text: string;
      try {
        const info = Deno.statSync(path);
        // udev rules are small; a FIFO or a device must not hang the check.
        if (!info.isFile || info.size > 1 << 20) continue;
        text = Deno.readTextFileSync(path);
      } catch {
        continue;
      }
      if (name === "60-mdevctl.rules" || /start-parent-mdevs/.test(text)) {
        found.push(`${dir}/${name}`);
      }
    }
  }
  return found;
}
