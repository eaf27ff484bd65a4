/**
 * The plan: what turns the host's current devices into a manifest's desired
 * ones, as actions (one diff line each) made of steps, in the order apply
 * runs them: mvnet daemons and vDPA devices are stopped and removed first,
 * then VDUSE devices and mdevs; then VDUSE devices are created, mvnet
 * daemons started, then the vDPA devices (on VDUSE devices), then mdevs. A kind the manifest does not name is left alone; with `prune`, the
 * devices of a named kind that the manifest does not list are removed.
 *
 * Pure: no system access.
 *
 * @module
 */

import type {
  Kind,
  Manifest,
  MdevItem,
  MvnetItem,
  VdpaItem,
  VduseItem,
} from "./manifest.ts";

/** An mdev as the host has it: a definition, a running device, or both. */
export interface MdevCurrent {
  /** Canonical UUID. */
  uuid: string;
  /** mdevctl's definition, if any. */
  def?: Pick<MdevItem, "parent" | "type" | "start" | "attrs">;
  /** The running device, if any. */
  active?: { parent: string; type: string };
}

/**
 * An mvnet daemon the host has: a managed one (pid file or systemd
 * instance), running or not, or another running one (a control socket
 * that answers). Its fields come from its VDUSE device's record; they are
 * undefined when the device is gone.
 */
export interface MvnetCurrent {
  /** Device name. */
  name: string;
  /** MAC address. */
  mac?: string;
  /** MTU. */
  mtu?: number;
  /** Maximum virtqueue size. */
  queue_size?: number;
  /** The daemon runs. */
  running: boolean;
  /** Who runs it: a systemd instance, a supervised process, someone else. */
  service: "systemd" | "process" | "foreign";
  /** Why it does not run ("pid 123 is gone"). */
  why?: string;
}

/**
 * The host's devices. A vDPA field that is undefined is unknown (the kernel
 * reports the config only once features are negotiated) and matches any
 * desired value.
 */
export interface HostState {
  /** mdevs. */
  mdev: MdevCurrent[];
  /** VDUSE devices (those with a record: the kernel keeps no spec). */
  vduse: VduseItem[];
  /** vDPA devices (without the mvnet daemons' own). */
  vdpa: VdpaItem[];
  /** mvnet daemons (their VDUSE and vDPA devices are in neither list). */
  mvnet: MvnetCurrent[];
}

/** One change to the host, with what undoes it derived from it. */
export type Step =
  | { do: "mdev-define"; item: MdevItem; previous?: MdevItem }
  | { do: "mdev-undefine"; previous: MdevItem }
  | { do: "mdev-start"; item: MdevItem }
  | { do: "mdev-stop"; uuid: string; previous: MdevItem }
  | { do: "vduse-create"; item: VduseItem }
  | { do: "vduse-destroy"; previous: VduseItem }
  | { do: "vdpa-add"; item: VdpaItem }
  | { do: "vdpa-del"; previous: VdpaItem }
  | { do: "vdpa-bind"; name: string; driver: string; previous?: string }
  | { do: "mvnet-start"; item: MvnetItem }
  | { do: "mvnet-stop"; name: string; previous?: MvnetItem };

/** One line of the plan. */
export interface Action {
  /** + create, - remove, ~ change. */
  op: "+" | "-" | "~";
  /** Device kind. */
  kind: Kind;
  /** UUID or name. */
  id: string;
  /** The diff line (`+ vdpa sim0 (vdpasim_net)`). */
  text: string;
  /** What apply does, in order. */
  steps: Step[];
}

/** The step that undoes `s` (run after `s` succeeded). */
export function inverse(s: Step): Step | undefined {
  switch (s.do) {
    case "mdev-define":
      return s.previous
        ? { do: "mdev-define", item: s.previous }
        : { do: "mdev-undefine", previous: s.item };
    case "mdev-undefine":
      return { do: "mdev-define", item: s.previous };
    case "mdev-start":
      return { do: "mdev-stop", uuid: s.item.uuid, previous: s.item };
    case "mdev-stop":
      return { do: "mdev-start", item: s.previous };
    case "vduse-create":
      return { do: "vduse-destroy", previous: s.item };
    case "vduse-destroy":
      return { do: "vduse-create", item: s.previous };
    case "vdpa-add":
      return { do: "vdpa-del", previous: s.item };
    case "vdpa-del":
      return { do: "vdpa-add", item: s.previous };
    case "vdpa-bind":
      return s.previous === undefined
        ? undefined
        : { do: "vdpa-bind", name: s.name, driver: s.previous };
    case "mvnet-start":
      return { do: "mvnet-stop", name: s.item.name };
    case "mvnet-stop":
      return s.previous && { do: "mvnet-start", item: s.previous };
  }
}

/** Options of {@linkcode plan}. */
export interface PlanOptions {
  /** Remove devices of the manifest's kinds that it does not list. */
  prune?: boolean;
}

function attrsText(a: readonly Record<string, string>[]): string {
  return JSON.stringify(a);
}

/** The current mdev as a manifest item (for undo), or undefined. */
function mdevAsItem(c: MdevCurrent): MdevItem | undefined {
  const base = c.def ?? (c.active && { ...c.active, start: "manual" as const });
  if (!base) return undefined;
  return {
    uuid: c.uuid,
    parent: base.parent,
    type: base.type,
    start: base.start,
    attrs: c.def?.attrs ?? [],
    state: c.active ? "running" : "defined",
  };
}

function mdevState(c: MdevCurrent | undefined): string {
  if (c === undefined) return "absent";
  if (c.def && c.active) return "running";
  return c.def ? "defined" : "transient";
}

function mdevRemoval(c: MdevCurrent): Action {
  const prev = mdevAsItem(c)!;
  const steps: Step[] = [];
  if (c.active) steps.push({ do: "mdev-stop", uuid: c.uuid, previous: prev });
  if (c.def) {
    steps.push({ do: "mdev-undefine", previous: { ...prev, ...c.def } });
  }
  return { op: "-", kind: "mdev", id: c.uuid, text: `- mdev ${c.uuid}`, steps };
}

function mdevAction(
  d: MdevItem,
  c: MdevCurrent | undefined,
): Action | undefined {
  if (d.state === "absent") {
    return c && (c.def || c.active) ? mdevRemoval(c) : undefined;
  }
  const changes: string[] = [];
  const def = c?.def;
  if (def) {
    for (const k of ["parent", "type", "start"] as const) {
      if (def[k] !== d[k]) changes.push(`${k} ${def[k]} -> ${d[k]}`);
    }
    if (attrsText(def.attrs) !== attrsText(d.attrs)) {
      changes.push(`attrs ${attrsText(def.attrs)} -> ${attrsText(d.attrs)}`);
    }
  }
  const defChanged = !def || changes.length > 0;
  const act = c?.active;
  const restart = act !== undefined && d.state === "running" &&
    (act.parent !== d.parent || act.type !== d.type ||
      (def !== undefined && attrsText(def.attrs) !== attrsText(d.attrs)));
  const stop = act !== undefined && (d.state === "defined" || restart);
  const start = d.state === "running" && (act === undefined || restart);
  const state = mdevState(c);
  if (c && state !== d.state) changes.push(`state ${state} -> ${d.state}`);
  else if (restart) changes.push("restarted");
  if (!defChanged && !stop && !start) return undefined;
  const prev = c && mdevAsItem(c);
  const steps: Step[] = [];
  if (stop) steps.push({ do: "mdev-stop", uuid: d.uuid, previous: prev! });
  if (def && def.parent !== d.parent) {
    steps.push({ do: "mdev-undefine", previous: { ...prev!, ...def } });
  }
  if (defChanged) {
    const same = def && def.parent === d.parent;
    steps.push({
      do: "mdev-define",
      item: d,
      previous: same ? { ...prev!, ...def } : undefined,
    });
  }
  if (start) steps.push({ do: "mdev-start", item: d });
  if (!c) {
    return {
      op: "+",
      kind: "mdev",
      id: d.uuid,
      text: `+ mdev ${d.uuid} (${d.type} on ${d.parent}, ${d.state})`,
      steps,
    };
  }
  return {
    op: "~",
    kind: "mdev",
    id: d.uuid,
    text: `~ mdev ${d.uuid}: ${changes.join(", ")}`,
    steps,
  };
}

const VDUSE_FIELDS = ["type", "mac", "mtu", "queue_size"] as const;
const VDPA_FIELDS = ["mgmtdev", "mac", "mtu", "max_vqp"] as const;

function differences<T extends object>(
  current: T,
  desired: T,
  fields: readonly (keyof T & string)[],
  unknownMatches: boolean,
): string[] {
  const out: string[] = [];
  for (const k of fields) {
    const [c, d] = [current[k], desired[k]];
    if (c === d) continue;
    if (unknownMatches && (c === undefined || d === undefined)) continue;
    out.push(`${k} ${c ?? "unset"} -> ${d ?? "unset"}`);
  }
  return out;
}

function vdpaAdd(d: VdpaItem): Step[] {
  const steps: Step[] = [{ do: "vdpa-add", item: d }];
  if (d.driver) steps.push({ do: "vdpa-bind", name: d.name, driver: d.driver });
  return steps;
}

const MVNET_FIELDS = ["mac", "mtu", "queue_size"] as const;

/** The current daemon as a manifest item (to restart it on undo). */
function mvnetAsItem(c: MvnetCurrent): MvnetItem | undefined {
  const { name, mac, mtu, queue_size } = c;
  if (!c.running || !mac || !mtu || !queue_size) return undefined;
  return { name, mac, mtu, queue_size };
}

function mvnetStop(c: MvnetCurrent): Step {
  return { do: "mvnet-stop", name: c.name, previous: mvnetAsItem(c) };
}

/** The mvnet actions: removals, and starts or restarts. */
function mvnetPlan(
  current: readonly MvnetCurrent[],
  desired: readonly MvnetItem[] | undefined,
  prune: boolean,
): { remove: Action[]; start: Action[] } {
  const remove: Action[] = [];
  const start: Action[] = [];
  if (desired === undefined) return { remove, start };
  for (const c of current) {
    if (!prune || desired.some((d) => d.name === c.name)) continue;
    remove.push({
      op: "-",
      kind: "mvnet",
      id: c.name,
      text: `- mvnet ${c.name}`,
      steps: [mvnetStop(c)],
    });
  }
  for (const d of desired) {
    const c = current.find((x) => x.name === d.name);
    const startStep: Step = { do: "mvnet-start", item: d };
    if (c === undefined) {
      start.push({
        op: "+",
        kind: "mvnet",
        id: d.name,
        text: `+ mvnet ${d.name} (${d.mac})`,
        steps: [startStep],
      });
      continue;
    }
    const diff = c.running
      ? differences(c as Partial<MvnetItem>, d, MVNET_FIELDS, true)
      : [`daemon not running${c.why ? ` (${c.why})` : ""} -> running`];
    if (diff.length === 0) continue;
    start.push({
      op: "~",
      kind: "mvnet",
      id: d.name,
      text: `~ mvnet ${d.name}: ${diff.join(", ")} (restarted)`,
      steps: [mvnetStop(c), startStep],
    });
  }
  return { remove, start };
}

/** The actions that make `current` match `desired`, in apply's order. */
export function plan(
  current: HostState,
  desired: Manifest,
  options: PlanOptions = {},
): Action[] {
  const prune = options.prune ?? false;
  const vdpaRemove: Action[] = [];
  const vduseRemove: Action[] = [];
  const mdevRemove: Action[] = [];
  const vduseCreate: Action[] = [];
  const vdpaCreate: Action[] = [];
  const mdevChange: Action[] = [];
  const replacedVduse = new Set<string>();

  if (desired.vduse) {
    const want = new Map(desired.vduse.map((d) => [d.name, d]));
    for (const c of current.vduse) {
      if (want.has(c.name) || !prune) continue;
      replacedVduse.add(c.name);
      vduseRemove.push({
        op: "-",
        kind: "vduse",
        id: c.name,
        text: `- vduse ${c.name}`,
        steps: [{ do: "vduse-destroy", previous: c }],
      });
    }
    for (const d of desired.vduse) {
      const c = current.vduse.find((x) => x.name === d.name);
      if (!c) {
        vduseCreate.push({
          op: "+",
          kind: "vduse",
          id: d.name,
          text: `+ vduse ${d.name} (${d.type})`,
          steps: [{ do: "vduse-create", item: d }],
        });
        continue;
      }
      const diff = differences(c, d, VDUSE_FIELDS, false);
      if (diff.length === 0) continue;
      replacedVduse.add(d.name);
      vduseCreate.push({
        op: "~",
        kind: "vduse",
        id: d.name,
        text: `~ vduse ${d.name}: ${diff.join(", ")} (re-created)`,
        steps: [{ do: "vduse-destroy", previous: c }, {
          do: "vduse-create",
          item: d,
        }],
      });
    }
  }

  // A vDPA device on a VDUSE device that is re-created goes first and comes
  // back after it.
  const vdpaWant = desired.vdpa &&
    new Map(desired.vdpa.map((d) => [d.name, d]));
  for (const c of current.vdpa) {
    const d = vdpaWant?.get(c.name);
    const onReplaced = c.mgmtdev === "vduse" && replacedVduse.has(c.name);
    if (onReplaced || (vdpaWant && !d && prune)) {
      vdpaRemove.push({
        op: "-",
        kind: "vdpa",
        id: c.name,
        text: `- vdpa ${c.name}`,
        steps: [{ do: "vdpa-del", previous: c }],
      });
    }
  }
  for (const d of desired.vdpa ?? []) {
    const c = current.vdpa.find((x) => x.name === d.name);
    const gone = c === undefined ||
      vdpaRemove.some((a) => a.id === d.name);
    if (gone) {
      vdpaCreate.push({
        op: "+",
        kind: "vdpa",
        id: d.name,
        text: `+ vdpa ${d.name} (${d.mgmtdev})`,
        steps: vdpaAdd(d),
      });
      continue;
    }
    const diff = differences(c, d, VDPA_FIELDS, true);
    if (diff.length > 0) {
      vdpaCreate.push({
        op: "~",
        kind: "vdpa",
        id: d.name,
        text: `~ vdpa ${d.name}: ${diff.join(", ")} (re-created)`,
        steps: [{ do: "vdpa-del", previous: c }, ...vdpaAdd(d)],
      });
    } else if (d.driver !== undefined && c.driver !== d.driver) {
      vdpaCreate.push({
        op: "~",
        kind: "vdpa",
        id: d.name,
        text: `~ vdpa ${d.name}: driver ${c.driver ?? "none"} -> ${d.driver}`,
        steps: [{
          do: "vdpa-bind",
          name: d.name,
          driver: d.driver,
          previous: c.driver,
        }],
      });
    }
  }

  if (desired.mdev) {
    const want = new Map(desired.mdev.map((d) => [d.uuid, d]));
    for (const c of current.mdev) {
      if (!want.has(c.uuid) && prune && (c.def || c.active)) {
        mdevRemove.push(mdevRemoval(c));
      }
    }
    const have = new Map<string, MdevCurrent>();
    for (const c of current.mdev) if (!have.has(c.uuid)) have.set(c.uuid, c);
    for (const d of desired.mdev) {
      const a = mdevAction(d, have.get(d.uuid));
      if (a === undefined) continue;
      (a.op === "-" ? mdevRemove : mdevChange).push(a);
    }
  }
  const mvnet = mvnetPlan(current.mvnet, desired.mvnet, prune);
  return [
    ...mvnet.remove,
    ...vdpaRemove,
    ...vduseRemove,
    ...mdevRemove,
    ...vduseCreate,
    ...mvnet.start,
    ...vdpaCreate,
    ...mdevChange,
  ];
}

/**
 * The host's devices as a manifest (what `export` prints): every kind, the
 * mdevs that have a definition (a running device without one is
 * mdevctl's transient kind, which a manifest cannot hold: reported), the
 * running mvnet daemons (one that died is reported).
 */
export function exportManifest(
  current: HostState,
): { manifest: Required<Manifest>; warnings: string[] } {
  const warnings: string[] = [];
  const mdev: MdevItem[] = [];
  for (const c of current.mdev) {
    if (!c.def) {
      warnings.push(
        `mdev ${c.uuid} is running without a definition: not exported (define it with 'vdevctl mdev define -u ${c.uuid}')`,
      );
      continue;
    }
    mdev.push({
      uuid: c.uuid,
      ...c.def,
      state: c.active ? "running" : "defined",
    });
  }
  const mvnet: MvnetItem[] = [];
  for (const c of current.mvnet) {
    const item = mvnetAsItem(c);
    if (item) mvnet.push(item);
    else {
      warnings.push(
        `mvnet ${c.name}: ${
          c.running
            ? "its VDUSE device has no record"
            : "its daemon is not running"
        }${
          c.why ? ` (${c.why})` : ""
        }: not exported (start it with 'vdevctl apply', or remove it with 'vdevctl apply --prune')`,
      );
    }
  }
  return {
    manifest: { mdev, vduse: current.vduse, vdpa: current.vdpa, mvnet },
    warnings,
  };
}
