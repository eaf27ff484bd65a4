/**
 * mdevctl's callout and notifier scripts (`scripts.d`), with the protocol
 * of the mdevctl version being emulated:
 *
 * - 1.2: the first script of the callout folders that does not exit 2 for
 *   the device's type handles `pre`, `post` and `get attributes`; notifiers
 *   get the device's JSON on stdin.
 * - 1.4: first a `get capabilities` handshake (mdevctl's `{"provides":...}`
 *   on stdin, a versioned script answers `{"supports":...}`); a versioned
 *   script handles every event it supports, including 1.3's `live`; without
 *   one, 1.2's search. Notifiers get an empty stdin.
 *
 * Both look in /usr/lib/mdevctl/scripts.d (first) and
 * /etc/mdevctl.d/scripts.d (1.2 looked only in the second; a script
 * installed in the first is never skipped), in sorted order. Unlike
 * mdevctl, a script that hangs is killed after a time limit
 * ({@linkcode CalloutOptions.timeoutMs}) and counts as failed.
 *
 * @module
 */

import { definitionValue, type MdevAttr } from "./config_store.ts";
import { messageOf, VdevError } from "../errors.ts";
import { byteCompare } from "./list.ts";
import { runScript, type ScriptResult } from "./script_run.ts";
import type { SysRoot } from "../root.ts";

/** The mdevctl version whose callout protocol is followed. */
export type CalloutVersion = "1.2" | "1.4";

/** An mdevctl command that runs callouts. */
export type CalloutAction = "define" | "undefine" | "modify" | "start" | "stop";

/** The device a callout is told about. */
export interface CalloutDevice {
  /** Canonical UUID. */
  uuid: string;
  /** Parent name. */
  parent: string;
  /** Type id. */
  type: string;
  /** Starts with its parent. */
  autostart: boolean;
  /** Attributes, in order. */
  attrs: MdevAttr[];
}

/** Options of {@linkcode Callouts}. */
export interface CalloutOptions {
  /** Protocol (default "1.2", Debian 12's mdevctl). */
  version?: CalloutVersion;
  /** Time limit per script run in ms (default 60 s). */
  timeoutMs?: number;
  /** Receives what scripts print on stderr (`NAME: TEXT`) and warnings. */
  report?: (text: string) => void;
}

/** A `pre` callout failed: the action was not done. */
export class CalloutVeto extends VdevError {}

/** What mdevctl 1.4 offers in the capabilities handshake. */
export const PROVIDES = {
  provides: {
    version: 2,
    actions: [
      "start",
      "stop",
      "define",
      "undefine",
      "modify",
      "attributes",
      "capabilities",
    ],
    events: ["pre", "post", "notify", "get", "live"],
  },
};

const V1 = {
  actions: ["start", "stop", "define", "undefine", "modify", "attributes"],
  events: ["pre", "post", "notify", "get"],
};

const ACTION_NAMES: Record<string, string> = {
  start: "Start",
  stop: "Stop",
  define: "Define",
  undefine: "Undefine",
  modify: "Modify",
  attributes: "Attributes",
  capabilities: "Capabilities",
};

/** A script chosen for a device, with what it supports. */
interface Chosen {
  path: string;
  actions: string[];
  events: string[];
}

type State = "none" | "success" | "failure";

/** The device's JSON as mdevctl writes it to a script's stdin. */
export function calloutJson(dev: CalloutDevice): string {
  return JSON.stringify(definitionValue(dev));
}

/** Parses a `{"supports":{version,actions,events}}` answer, or undefined. */
export function parseSupports(
  stdout: string,
): { actions: string[]; events: string[] } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(stdout.replace(/\0+$/, ""));
  } catch {
    return undefined;
  }
  const s = (v as { supports?: unknown } | null)?.supports as
    | Record<string, unknown>
    | null
    | undefined;
  if (typeof s !== "object" || s === null) return undefined;
  const { version, actions, events } = s;
  const strings = (a: unknown) =>
    Array.isArray(a) && a.every((x) => typeof x === "string");
  if (
    typeof version !== "number" || !Number.isInteger(version) ||
    version < 0 || version > 0xffffffff || !strings(actions) ||
    !strings(events)
  ) {
    return undefined;
  }
  return { actions: actions as string[], events: events as string[] };
}

/**
 * Appends the attributes of a `get attributes` answer to `attrs` as mdevctl
 * does (null adds none; entries up to a bad one are kept); throws on the
 * first bad entry.
 */
export function addAttributes(attrs: MdevAttr[], value: unknown): void {
  if (value === null) return;
  if (!Array.isArray(value)) {
    throw new Error("attributes field is not an array");
  }
  for (const a of value) {
    if (typeof a !== "object" || a === null || Array.isArray(a)) {
      throw new Error("invalid JSON format for attribute: not an object");
    }
    const entries = Object.entries(a);
    if (entries.length !== 1) {
      throw new Error("invalid JSON format for attribute: too many fields");
    }
    const [name, v] = entries[0];
    if (typeof v !== "string") {
      throw new Error(
        `invalid JSON format for attribute ${name}: value must be a string`,
      );
    }
    attrs.push({ name, value: v });
  }
}

/** Runs mdevctl's callouts and notifiers of one root. */
export class Callouts {
  /** The protocol followed. */
  readonly version: CalloutVersion;
  readonly #root: SysRoot;
  readonly #timeoutMs: number;
  readonly #report: (text: string) => void;
  readonly #listings = new Map<string, string[]>();
  readonly #versioned = new Map<string, Chosen | undefined>();

  /** Callouts of `root`. */
  constructor(root: SysRoot, options: CalloutOptions = {}) {
    this.#root = root;
    this.version = options.version ?? "1.2";
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#report = options.report ?? (() => {});
  }

  /** The callout folders, in priority order. */
  calloutDirs(): string[] {
    return [
      this.#root.path("/usr/lib/mdevctl/scripts.d/callouts"),
      this.#root.path("/etc/mdevctl.d/scripts.d/callouts"),
    ];
  }

  /** The notifier folders, in order. */
  notifierDirs(): string[] {
    return [
      this.#root.path("/usr/lib/mdevctl/scripts.d/notifiers"),
      this.#root.path("/etc/mdevctl.d/scripts.d/notifiers"),
    ];
  }

  /** The entries of `dir`, sorted (none when it is not a readable folder). */
  scripts(dir: string): string[] {
    let list = this.#listings.get(dir);
    if (list === undefined) {
      list = [];
      try {
        for (const e of Deno.readDirSync(dir)) list.push(`${dir}/${e.name}`);
      } catch {
        // no such folder: no scripts
      }
      list.sort(byteCompare);
      this.#listings.set(dir, list);
    }
    return list;
  }

  /** True when no callout script is installed (nothing to run). */
  noCallouts(): boolean {
    return this.calloutDirs().every((d) => this.scripts(d).length === 0);
  }

  async #run(
    path: string,
    dev: CalloutDevice,
    call: { event: string; action: string; state: State; input?: string },
  ): Promise<ScriptResult | undefined> {
    const args = [
      ...["-t", dev.type, "-e", call.event, "-a", call.action],
      ...["-s", call.state, "-u", dev.uuid, "-p", dev.parent],
    ];
    let res: ScriptResult;
    try {
      res = await runScript(path, args, {
        input: call.input,
        timeoutMs: this.#timeoutMs,
      });
    } catch {
      return undefined; // not executable: skipped, as mdevctl skips it
    }
    return res;
  }

  #printErr(path: string, res: ScriptResult): void {
    if (res.stderr !== "") {
      this.#report(`${path.slice(path.lastIndexOf("/") + 1)}: ${res.stderr}`);
    }
  }

  #failure(path: string, res: ScriptResult): VdevError {
    const why = res.timedOut
      ? `did not finish within ${
        this.#timeoutMs / 1000
      } s and was killed (raise VDEVCTL_CALLOUT_TIMEOUT if it needs longer)`
      : res.overflow
      ? "printed more than 1 MiB"
      : res.code === null
      ? "was killed by a signal"
      : `failed with return code ${res.code}`;
    return new VdevError(`callout script "${path}" ${why}`);
  }

  #reportTimeout(path: string, res: ScriptResult | undefined): void {
    if (res?.timedOut) {
      this.#report(`vdevctl: warning: ${this.#failure(path, res).message}\n`);
    }
  }

  /** 1.4's capabilities handshake: the versioned script for the device. */
  async #findVersioned(dev: CalloutDevice): Promise<Chosen | undefined> {
    if (this.version === "1.2") return undefined;
    const key = `${dev.parent}\0${dev.type}`;
    if (this.#versioned.has(key)) return this.#versioned.get(key);
    let found: Chosen | undefined;
    search: for (const dir of this.calloutDirs()) {
      for (const path of this.scripts(dir)) {
        const res = await this.#run(path, dev, {
          event: "get",
          action: "capabilities",
          state: "none",
          input: JSON.stringify(PROVIDES),
        });
        this.#reportTimeout(path, res);
        if (res === undefined || res.code === null || res.code === 2) continue;
        const sup = parseSupports(new TextDecoder().decode(res.stdout));
        if (sup === undefined) continue;
        this.#printErr(path, res);
        found = { path, ...sup };
        break search;
      }
    }
    this.#versioned.set(key, found);
    return found;
  }

  /**
   * One callout event: the chosen script, or the first script that takes
   * the device's type (which is then chosen). Returns the script's result
   * (undefined when no script took it); throws when it failed.
   */
  async #callout(
    dev: CalloutDevice,
    chosen: { script?: Chosen },
    call: { event: string; action: string; state: State; input?: string },
  ): Promise<ScriptResult | undefined> {
    const s = chosen.script;
    if (s !== undefined) {
      if (this.version === "1.4") {
        if (!s.actions.includes(call.action)) {
          throw new VdevError(
            `callout script "${s.path}" does not support action '${
              ACTION_NAMES[call.action]
            }'`,
          );
        }
        if (!s.events.includes(call.event)) {
          throw new VdevError(
            `callout script "${s.path}" does not support event '${
              call.event[0].toUpperCase() + call.event.slice(1)
            }'`,
          );
        }
      }
      const res = await this.#run(s.path, dev, call);
      if (res === undefined) {
        if (this.version === "1.2") return undefined;
        throw new VdevError(`callout script "${s.path}" cannot be run`);
      }
      this.#printErr(s.path, res);
      if (res.timedOut || res.overflow) throw this.#failure(s.path, res);
      if (res.code === null || res.code === 0) return res;
      throw this.#failure(s.path, res);
    }
    for (const dir of this.calloutDirs()) {
      for (const path of this.scripts(dir)) {
        const res = await this.#run(path, dev, call);
        if (res === undefined || res.code === 2) continue;
        if (res.code === null && !res.timedOut) continue; // signalled
        this.#printErr(path, res);
        if (this.version === "1.2" || res.code === 0) {
          chosen.script = { path, ...V1 };
        }
        if (res.code === 0 && !res.overflow) return res;
        throw this.#failure(path, res);
      }
    }
    return undefined;
  }

  async #notify(
    dev: CalloutDevice,
    action: string,
    state: State,
    input: string,
  ): Promise<void> {
    for (const dir of this.notifierDirs()) {
      for (const path of this.scripts(dir)) {
        const res = await this.#run(path, dev, {
          event: "notify",
          action,
          state,
          input: this.version === "1.2" ? input : undefined,
        });
        this.#reportTimeout(path, res);
      }
    }
  }

  /**
   * Runs `action` (`work`) between its `pre` and `post` callouts, then the
   * notifiers: a failing `pre` callout vetoes it (unless `options.force`),
   * `post` and the notifiers are told whether it succeeded.
   */
  async invoke<T>(
    dev: CalloutDevice,
    action: CalloutAction,
    options: { force?: boolean; work: () => T | Promise<T> },
  ): Promise<T> {
    if (this.noCallouts() && this.#noNotifiers()) return await options.work();
    const chosen: { script?: Chosen } = {
      script: await this.#findVersioned(dev),
    };
    const input = calloutJson(dev);
    try {
      await this.#callout(dev, chosen, {
        event: "pre",
        action,
        state: "none",
        input,
      });
    } catch (err) {
      if (!options.force) {
        await this.#notify(dev, action, "none", input);
        throw new CalloutVeto(
          `${
            messageOf(err)
          }: it vetoed ${action} of mdev ${dev.uuid}; fix what it reports or add -f/--force`,
          { cause: err },
        );
      }
      this.#report(
        `vdevctl: warning: forcing ${action} of mdev ${dev.uuid} despite the callout failure (${
          messageOf(err)
        })\n`,
      );
    }
    let state: State = "success";
    let result: T;
    try {
      result = await options.work();
    } catch (err) {
      state = "failure";
      await this.#post(dev, chosen, { action, state, input });
      await this.#notify(dev, action, state, input);
      throw err;
    }
    await this.#post(dev, chosen, { action, state, input });
    await this.#notify(dev, action, state, input);
    return result;
  }

  async #post(
    dev: CalloutDevice,
    chosen: { script?: Chosen },
    call: { action: string; state: State; input: string },
  ): Promise<void> {
    try {
      await this.#callout(dev, chosen, { event: "post", ...call });
    } catch (err) {
      // A post callout cannot undo the action: mdevctl ignores its failure.
      if (/did not finish/.test(messageOf(err))) {
        this.#report(`vdevctl: warning: ${messageOf(err)}\n`);
      }
    }
  }

  #noNotifiers(): boolean {
    return this.notifierDirs().every((d) => this.scripts(d).length === 0);
  }

  /**
   * The attributes a `get attributes` callout reports for a running device
   * (null when no script reports any); throws when the script fails or
   * prints what is not JSON.
   */
  async getAttributes(dev: CalloutDevice): Promise<unknown> {
    if (this.noCallouts()) return null;
    const chosen = { script: await this.#findVersioned(dev) };
    const res = await this.#callout(dev, chosen, {
      event: "get",
      action: "attributes",
      state: "none",
    });
    if (res === undefined) return null;
    const path = chosen.script?.path ?? "";
    if (res.code !== 0) throw this.#failure(path, res);
    let text = new TextDecoder().decode(res.stdout);
    if (text === "") return null;
    if (text === "[{}]") text = "[]";
    if (this.version === "1.4") text = text.replace(/\0+$/, "");
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new VdevError(
        `callout script "${path}" printed invalid JSON for get attributes (${
          messageOf(err)
        }): it must print an array of {"name":"value"} objects`,
        { cause: err },
      );
    }
  }

  /**
   * 1.3's `live` event: asks the versioned script to change the running
   * device to `dev`, then runs the notifiers; throws "live update not
   * supported" when no script supports it, or the script's failure.
   */
  async modifyLive(dev: CalloutDevice): Promise<void> {
    const script = this.version === "1.2"
      ? await this.#withVersion("1.4", dev)
      : await this.#findVersioned(dev);
    if (
      script === undefined || !script.events.includes("live") ||
      !script.actions.includes("modify")
    ) {
      throw new VdevError(
        `mdev ${dev.uuid}: live update not supported: no callout script with version support found that supports live modify; modify the definition, then stop and start the device`,
      );
    }
    const input = calloutJson(dev);
    try {
      await this.#callout(dev, { script }, {
        event: "live",
        action: "modify",
        state: "none",
        input,
      });
    } finally {
      await this.#notify(dev, "modify", "none", input);
    }
  }

  async #withVersion(
    version: CalloutVersion,
    dev: CalloutDevice,
  ): Promise<Chosen | undefined> {
    const other = new Callouts(this.#root, {
      version,
      timeoutMs: this.#timeoutMs,
      report: this.#report,
    });
    return await other.#findVersioned(dev);
  }
}
