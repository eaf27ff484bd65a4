/**
 * What `vdevctl apply --etc --from-udev` (the RUN program of
 * 90-vdevctl.rules) does instead of applying in place. udev kills a RUN
 * program after its event timeout, and where systemd runs it also kills
 * what the program leaves behind once the event is handled; an apply may
 * start mvnet daemons and wait up to a minute for their netdevs. So the
 * rule only triggers the apply and returns at once:
 *
 * - where systemd runs (`/run/systemd/system`): `systemctl --no-block
 *   reload-or-restart vdevctl-apply.service`, the boot unit, whose
 *   ExecReload applies again (started first if it is not active). Not
 *   `start`: that is a no-op on the active RemainAfterExit unit, and is
 *   absorbed by a start already running at boot, which may have read the
 *   host before the device appeared; a reload is never merged into a
 *   running job (systemd re-runs it after), and waiting reloads merge;
 * - elsewhere (no service manager to hand it to, and udevd kills nothing
 *   it did not start itself): `vdevctl apply --etc` in its own session,
 *   its output appended to `/run/vdevctl/apply.log`. Applies serialize on
 *   the host lock, so several events give several short waits, not races.
 *
 * @module
 */

import { VdevError } from "../errors.ts";
import type { SysRoot } from "../root.ts";
import {
  LAUNCHER,
  spawnDetached,
  systemctl,
  usesSystemd,
} from "./mvnet_service.ts";

/** The boot unit that applies /etc/vdevctl (dist/systemd). */
export const APPLY_UNIT = "vdevctl-apply.service";

/** Where the detached apply's output goes. */
export const UDEV_APPLY_LOG = "/run/vdevctl/apply.log";

/** How the udev rule's apply is handed off. */
export type UdevTrigger =
  | { kind: "systemd"; argv: string[] }
  | { kind: "detach"; argv: string[]; log: string };

/**
 * The hand-off for `root`: the systemctl call where systemd runs, else the
 * detached apply (`options.program`: the launcher, default this install's).
 */
export function udevTrigger(
  root: SysRoot,
  options: { program?: string } = {},
): UdevTrigger {
  if (usesSystemd(root)) {
    return {
      kind: "systemd",
      argv: ["systemctl", "--no-block", "reload-or-restart", APPLY_UNIT],
    };
  }
  const rootArgs = root.isReal ? [] : ["--root", root.dir];
  return {
    kind: "detach",
    argv: [options.program ?? LAUNCHER, ...rootArgs, "apply", "--etc"],
    log: root.path(UDEV_APPLY_LOG),
  };
}

/**
 * Runs the hand-off; returns the line to log. A systemctl that refuses is
 * a {@linkcode VdevError} naming the unit.
 */
export function runUdevTrigger(t: UdevTrigger): string {
  if (t.kind === "systemd") {
    const r = systemctl(t.argv.slice(1));
    if (!r.ok) {
      throw new VdevError(
        `${t.argv.join(" ")} failed: ${
          r.text.replace(/\s*\n\s*/g, "; ")
        } (is ${APPLY_UNIT} installed?)`,
      );
    }
    return `queued ${APPLY_UNIT} (${t.argv.join(" ")})`;
  }
  Deno.mkdirSync(t.log.slice(0, t.log.lastIndexOf("/")), {
    recursive: true,
    mode: 0o755,
  });
  const pid = spawnDetached(t.argv, { log: t.log });
  return `started ${t.argv.join(" ")} (pid ${pid}, output in ${t.log})`;
}
