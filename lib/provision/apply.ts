/**
 * Applying a manifest: check it against the host, plan, run the plan's
 * steps in order under a lock (`/run/vdevctl/provision.lock`, flock), read
 * the host back and verify; when a step or the verification fails, undo
 * every step this run made, in reverse, and fail with one line naming the
 * step and the kernel's reason. A killed apply leaves devices the next
 * plan (computed from the host, not from a journal) converges.
 *
 * @module
 */

import { VDPA_BUS_DRIVERS } from "../vdpa/mod.ts";
import { messageOf, VdevError } from "../errors.ts";
import { checkManifest, type Manifest } from "./manifest.ts";
import type { SystemHost } from "./host.ts";
import { type Action, inverse, plan, type Step } from "./plan.ts";

/** Where concurrent applies serialize. */
export const LOCK_PATH = "/run/vdevctl/provision.lock";

/** Options of {@linkcode applyManifest}. */
export interface ApplyOptions {
  /** Plan only. */
  dryRun?: boolean;
  /** Remove devices of the manifest's kinds that it does not list. */
  prune?: boolean;
  /** Read the host back after applying and compare (default true). */
  verify?: boolean;
  /** Defer devices whose parent or management device is missing. */
  deferMissing?: boolean;
}

/** What apply did (or, with `dryRun`, would do). */
export interface ApplyResult {
  /** Something was (would be) changed. */
  changed: boolean;
  /** The plan. */
  actions: Action[];
  /** Devices deferred or left out, one line each. */
  warnings: string[];
}

/** Runs one step against the host. */
export async function runStep(host: SystemHost, s: Step): Promise<void> {
  switch (s.do) {
    case "mdev-define":
      return host.mdevDefine(s.item);
    case "mdev-undefine":
      return host.mdevUndefine(s.previous);
    case "mdev-start":
      return host.mdevStart(s.item);
    case "mdev-stop":
      return host.mdevStop(s.uuid);
    case "vduse-create":
      return host.vduseCreate(s.item);
    case "vduse-destroy":
      return await host.vduseDestroy(s.previous.name);
    case "vdpa-add":
      return await host.vdpaAdd(s.item);
    case "vdpa-del":
      return await host.vdpaDel(s.previous.name);
    case "mvnet-start":
      return await host.mvnetStart(s.item);
    case "mvnet-stop":
      return await host.mvnetStop(s.name);
    case "vdpa-bind": {
      const driver = VDPA_BUS_DRIVERS.find((d) => d === s.driver);
      if (driver === undefined) {
        throw new VdevError(
          `vdpa ${s.name}: cannot bind to ${s.driver}: not a vdpa bus driver vdevctl binds (${
            VDPA_BUS_DRIVERS.join(", ")
          })`,
        );
      }
      return host.vdpaBind(s.name, driver);
    }
  }
}

/** Holds the provisioning lock of `host` until the result is disposed. */
export function lockHost(host: SystemHost): { release(): void } {
  const path = host.root.path(LOCK_PATH);
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  const file = Deno.openSync(path, {
    read: true,
    write: true,
    create: true,
    mode: 0o600,
  });
  file.lockSync(true);
  return {
    release() {
      file.unlockSync();
      file.close();
    },
  };
}

async function rollback(host: SystemHost, undo: Step[]): Promise<string> {
  const failed: string[] = [];
  for (const s of undo.reverse()) {
    try {
      await runStep(host, s);
    } catch (err) {
      failed.push(`${s.do}: ${messageOf(err)}`);
    }
  }
  return failed.length === 0
    ? `undid ${undo.length} step(s); the host is as it was`
    : `undoing also failed (${failed.join("; ")})`;
}

/**
 * Checks, plans and (unless `dryRun`) applies `manifest` on `host`.
 * Throws a {@linkcode VdevError} after rolling back on failure.
 */
export async function applyManifest(
  host: SystemHost,
  manifest: Manifest,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const lock = options.dryRun ? undefined : lockHost(host);
  try {
    const checked = checkManifest(manifest, host.facts(), {
      deferMissing: options.deferMissing,
    });
    const desired = checked.manifest;
    const before = host.read();
    const warnings = [...checked.warnings, ...before.warnings];
    const actions = plan(before.state, desired, { prune: options.prune });
    const result = { changed: actions.length > 0, actions, warnings };
    if (options.dryRun || actions.length === 0) return result;
    const undo: Step[] = [];
    for (const a of actions) {
      for (const s of a.steps) {
        try {
          await runStep(host, s);
        } catch (err) {
          const undone = await rollback(host, undo);
          throw new VdevError(
            `apply failed at '${a.text}' (${s.do}): ${
              messageOf(err)
            }; ${undone}`,
            { cause: err },
          );
        }
        const inv = inverse(s);
        if (inv) undo.push(inv);
      }
    }
    if (options.verify ?? true) {
      const after = host.read();
      const left = plan(after.state, desired, { prune: options.prune });
      if (left.length > 0) {
        const undone = await rollback(host, undo);
        throw new VdevError(
          `apply failed verification: the host still needs '${
            left[0].text
          }' after applying; ${undone}`,
        );
      }
    }
    return result;
  } finally {
    lock?.release();
  }
}

/**
 * The differences between the host and `manifest` (empty when it matches):
 * the plan, without the devices that `checkManifest` refuses.
 */
export function hostDifferences(
  host: SystemHost,
  manifest: Manifest,
  options: { prune?: boolean } = {},
): { actions: Action[]; warnings: string[] } {
  const checked = checkManifest(manifest, host.facts());
  const current = host.read();
  return {
    actions: plan(current.state, checked.manifest, options),
    warnings: [...checked.warnings, ...current.warnings],
  };
}
