/**
 * mdevctl's commands that change something (start, stop, define, undefine,
 * modify, modify --live, start-parent-mdevs), each between its callouts
 * (lib/mdev/callouts.ts) as mdevctl runs them, and the `get attributes`
 * callout for `list`. The checks and the work itself are in lifecycle.ts.
 * Callout scripts run outside the definition store's lock, which is held
 * only for the read-modify-write of a definition: a script may itself run
 * `mdevctl define` or `vdevctl mdev` without waiting for its caller.
 *
 * @module
 */

import { checkDefinitionPlace, type MdevDefinition } from "./config_store.ts";
import { messageOf, VdevError } from "../errors.ts";
import {
  addAttributes,
  type CalloutAction,
  type CalloutDevice,
  type Callouts,
  CalloutVeto,
} from "./callouts.ts";
import {
  createDevice,
  definedDevice,
  type DefineRequest,
  type ModifyRequest,
  planDefinition,
  planModify,
  readJsonFile,
  resolveStart,
  type Started,
  type StartRequest,
} from "./lifecycle.ts";
import {
  byteCompare,
  loadActive,
  type MdevContext,
  type MdevListing,
} from "./list.ts";
import { removeError } from "./errors.ts";

/** How a command runs its callouts. */
export interface CalloutRequest {
  /** The callouts (none run without). */
  callouts?: Callouts;
  /** `-f/--force`: go ahead when a `pre` callout fails. */
  force?: boolean;
}

async function guarded<T>(
  req: CalloutRequest,
  dev: CalloutDevice,
  action: CalloutAction,
  work: () => T | Promise<T>,
): Promise<T> {
  if (req.callouts === undefined) return await work();
  return await req.callouts.invoke(dev, action, { force: req.force, work });
}

async function calloutAttributes(
  callouts: Callouts,
  dev: CalloutDevice,
): Promise<void> {
  const value = await callouts.getAttributes(dev);
  try {
    addAttributes(dev.attrs, value);
  } catch (err) {
    throw new VdevError(
      `the get attributes callout for mdev ${dev.uuid}: ${
        messageOf(err)
      }: it must print an array of {"name":"value"} objects`,
    );
  }
}

/** `start`: resolves the device (definition, arguments or file) and creates it. */
export async function startDevice(
  ctx: MdevContext,
  req: StartRequest & CalloutRequest,
): Promise<Started> {
  const dev = resolveStart(ctx, req);
  await guarded(req, dev, "start", () => createDevice(ctx, dev));
  return { uuid: dev.uuid, generated: dev.generated };
}

/** `stop`: removes a running device. */
export async function stopDevice(
  ctx: MdevContext,
  uuid: string,
  options: CalloutRequest = {},
): Promise<void> {
  const act = loadActive(ctx, uuid);
  if (act === undefined) {
    throw new VdevError(
      `mdev ${uuid} is not running: see 'vdevctl mdev list'`,
    );
  }
  const dev = { ...act, uuid, autostart: false, attrs: [] };
  await guarded(options, dev, "stop", () => {
    try {
      ctx.sysfs.remove(uuid);
    } catch (err) {
      throw removeError(err, {
        object: `mdev ${uuid} (type ${act.type} on ${act.parent})`,
        path: `${ctx.sysfs.devicePath(uuid)}/remove`,
        action: "remove",
      });
    }
  });
}

/** `define`: writes a definition (from arguments, a running device, or a file). */
export async function defineDevice(
  ctx: MdevContext,
  req: DefineRequest & CalloutRequest,
): Promise<Started> {
  const plan = planDefinition(ctx, req);
  const { callouts } = req;
  // A definition made from a running device gets the attributes a callout
  // reports: 1.2 asks before the pre callout, 1.4 as part of the action.
  if (plan.active && callouts?.version === "1.2") {
    await calloutAttributes(callouts, plan.def);
  }
  await guarded(req, plan.def, "define", async () => {
    if (plan.active && callouts?.version === "1.4") {
      await calloutAttributes(callouts, plan.def);
    }
    // Checked again under the lock: another define may have come first.
    ctx.store.locked(() => {
      const { parent, uuid } = plan.def;
      if (ctx.store.exists(parent, uuid)) {
        throw new VdevError(
          `mdev ${uuid} is already defined on ${parent}: use 'vdevctl mdev modify' or undefine it first`,
        );
      }
      ctx.store.write(plan.def);
    });
  });
  return { uuid: plan.uuid, generated: plan.generated };
}

/**
 * `undefine`: removes the definitions of `uuid` (on every parent, or on
 * one), each between its callouts. A vetoed one stays and is reported in
 * `vetoed` (mdevctl 1.2 exits 0 then; 1.4 fails).
 */
export async function undefineDevice(
  ctx: MdevContext,
  uuid: string,
  options: { parent?: string } & CalloutRequest = {},
): Promise<{ removed: MdevDefinition[]; vetoed: string[] }> {
  if (options.parent !== undefined) {
    checkDefinitionPlace(options.parent, uuid);
  }
  const scan = ctx.store.scan({ uuid, parent: options.parent });
  const defs = new Map(scan.definitions.map((d) => [d.parent, d]));
  // A malformed file of this UUID is still a definition to remove.
  const parents = new Set([...defs.keys(), ...scan.badParents]);
  if (parents.size === 0) {
    throw new VdevError(
      `mdev ${uuid} is not defined${
        options.parent ? ` on ${options.parent}` : ""
      }: see 'vdevctl mdev list -d'`,
    );
  }
  const removed: MdevDefinition[] = [];
  const vetoed: string[] = [];
  for (const p of [...parents].sort(byteCompare)) {
    const def = defs.get(p);
    if (def === undefined) {
      ctx.store.remove(p, uuid);
      continue;
    }
    try {
      await guarded(options, def, "undefine", () =>
        ctx.store.locked(() => {
          if (!ctx.store.exists(p, uuid)) {
            throw new VdevError(
              `mdev ${uuid} is not defined on ${p} (it was just undefined): see 'vdevctl mdev list -d'`,
            );
          }
          ctx.store.remove(p, uuid);
        }));
      removed.push(def);
    } catch (err) {
      if (!(err instanceof CalloutVeto)) throw err;
      vetoed.push(`undefine of ${uuid} on parent ${p} failed: ${err.message}`);
    }
  }
  return { removed, vetoed };
}

/** `modify`: changes a definition, or with `live` the running device. */
export async function modifyDevice(
  ctx: MdevContext,
  uuid: string,
  req: ModifyRequest & CalloutRequest,
): Promise<MdevDefinition> {
  if (req.live) return await modifyLive(ctx, uuid, req);
  const dev = planModify(ctx, uuid, req);
  return await guarded(req, dev, "modify", () =>
    ctx.store.locked(() => {
      // The change is made again to the definition as it is now, under the
      // lock, so that a concurrent modify is never lost; a --jsonfile
      // (read once: it may be stdin) replaces it whole.
      if (req.jsonfile !== undefined) {
        definedDevice(ctx, uuid, { parent: dev.parent });
      }
      const now = req.jsonfile === undefined ? planModify(ctx, uuid, req) : dev;
      ctx.store.write(now);
      return now;
    }));
}

/**
 * `modify --live --jsonfile F [--defined]` (mdevctl 1.3): the running
 * device is changed by the `live` callout of a versioned script; with
 * `defined`, the definition is then written (between `modify` callouts).
 */
async function modifyLive(
  ctx: MdevContext,
  uuid: string,
  req: ModifyRequest & CalloutRequest,
): Promise<MdevDefinition> {
  const what = req.type !== undefined
    ? "'type'"
    : req.auto
    ? "'auto'"
    : req.manual
    ? "'manual'"
    : req.addattr !== undefined || req.delattr
    ? "the attribute list (give it in --jsonfile)"
    : undefined;
  if (what !== undefined) {
    throw new VdevError(
      `--live: ${what} cannot be changed on a running mdev: put the new device in --jsonfile FILE`,
    );
  }
  const act = loadActive(ctx, uuid);
  if (
    act === undefined || (req.parent !== undefined && act.parent !== req.parent)
  ) {
    throw new VdevError(
      `mdev ${
        req.parent ? `${req.parent}/` : ""
      }${uuid} is not running: --live changes a running device; see 'vdevctl mdev list'`,
    );
  }
  if (req.callouts?.version === "1.4") {
    // 1.4 looks the device up as `list` does, asking for its attributes.
    await req.callouts.getAttributes({
      ...act,
      uuid,
      autostart: false,
      attrs: [],
    }).catch(() => null);
  }
  if (req.jsonfile === undefined) {
    throw new VdevError(
      "--live needs --jsonfile FILE with the device's new description",
    );
  }
  const dev = readJsonFile(req.jsonfile, { parent: act.parent, uuid });
  if (dev.type !== act.type) {
    throw new VdevError(
      `--live: mdev ${uuid} runs as type ${act.type}; the type cannot be changed on a running mdev (${req.jsonfile} has ${dev.type})`,
    );
  }
  if (req.defined) {
    const def = definedDevice(ctx, uuid, { parent: act.parent });
    if (def.type !== dev.type) {
      throw new VdevError(
        `--live --defined: mdev ${uuid} is defined with type ${def.type} but runs as ${act.type}: fix the definition first`,
      );
    }
  }
  if (req.callouts === undefined) {
    throw new VdevError(
      `mdev ${uuid}: live update not supported: no callout scripts are run here`,
    );
  }
  await req.callouts.modifyLive(dev);
  if (req.defined) {
    await guarded(req, dev, "modify", () =>
      ctx.store.locked(() => {
        definedDevice(ctx, uuid, { parent: act.parent });
        ctx.store.write(dev);
      }));
  }
  return dev;
}

/** One failure of `start-parent-mdevs`. */
export interface StartFailure {
  /** The device. */
  uuid: string;
  /** Why it did not start. */
  message: string;
}

/**
 * `start-parent-mdevs PARENT`: starts every `auto` definition of the parent
 * (what mdevctl's udev rule runs); failures are collected, not fatal.
 */
export async function startParentMdevs(
  ctx: MdevContext,
  parent: string,
  options: { callouts?: Callouts } = {},
): Promise<
  { started: string[]; failures: StartFailure[]; problems: string[] }
> {
  const scan = ctx.store.scan({ parent });
  const started: string[] = [];
  const failures: StartFailure[] = [];
  const defs = scan.definitions.filter((d) => d.autostart)
    .sort((a, b) => byteCompare(a.uuid, b.uuid));
  for (const def of defs) {
    try {
      await guarded(options, def, "start", () => createDevice(ctx, def));
      started.push(def.uuid);
    } catch (err) {
      failures.push({ uuid: def.uuid, message: messageOf(err) });
    }
  }
  return { started, failures, problems: scan.problems };
}

/**
 * `list`'s `get attributes` callouts: running devices show the attributes
 * a callout reports (1.2: only devices without a definition; 1.4: every
 * running device, instead of the definition's). A failing callout is a
 * warning; the device is listed without (further) attributes.
 */
export async function addListedAttributes(
  listing: MdevListing,
  callouts: Callouts,
): Promise<void> {
  if (callouts.noCallouts()) {
    if (callouts.version === "1.4") {
      for (const entries of listing.parents.values()) {
        for (const e of entries) if (e.active) e.attrs = [];
      }
    }
    return;
  }
  for (const entries of listing.parents.values()) {
    for (const e of entries) {
      if (!e.active || (callouts.version === "1.2" && e.defined)) continue;
      const dev = { ...e, attrs: [] as CalloutDevice["attrs"] };
      try {
        await calloutAttributes(callouts, dev);
      } catch (err) {
        listing.warnings.push(messageOf(err));
      }
      e.attrs = dev.attrs;
    }
  }
}
