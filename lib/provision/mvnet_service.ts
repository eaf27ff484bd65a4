/**
 * mvnet daemons as managed services, for `mvnet[]` manifest entries. Where
 * systemd runs (`/run/systemd/system` exists, sd_booted's test) a daemon is
 * an instance of the template unit `vdevctl-mvnet@.service`, whose options
 * come from `/run/vdevctl/mvnet/NAME.env`; elsewhere it is a supervised
 * background process: `vdevctl mvnet run NAME ...` in its own session, its
 * output appended to `/run/vdevctl/mvnet/NAME.log`, its pid in
 * `NAME.pid`. A pid file whose process is gone, or is no longer that
 * daemon (`/proc/PID/cmdline`), is a daemon that died; stopping it removes
 * the pid file and the VDUSE device it left. Every path is under the
 * {@linkcode SysRoot}.
 *
 * @module
 */

import { atomicWriteFileSync } from "../atomic_write.ts";
import { errnoCode, messageOf, VdevError } from "../errors.ts";
import type { SysRoot } from "../root.ts";
import { listDir, pathExists } from "../sysfs_read.ts";
import { cleanupStale, CONTROL_DIR } from "../mvnet/mod.ts";
import { decodeConfig } from "../virtio/mod.ts";
import { VdpaBus } from "../vdpa/mod.ts";
import { holders, VduseRecords, VduseSysfs } from "../vduse/mod.ts";
import type { MvnetItem } from "./manifest.ts";
import type { MvnetCurrent } from "./plan.ts";

/** Pid files, logs and unit environment files (the control sockets' directory). */
export const MVNET_DIR = CONTROL_DIR;

/** How long apply waits for a started daemon's netdev. */
export const NETDEV_TIMEOUT_MS = 60_000;

/** How long a stop waits for the daemon and its VDUSE device to go. */
export const STOP_TIMEOUT_MS = 30_000;

/** The systemd instance of mvnet daemon `name`. */
export function unitName(name: string): string {
  return `vdevctl-mvnet@${name}.service`;
}

/** The `vdevctl mvnet run NAME` options that give the daemon `item`. */
export function mvnetRunArgs(item: MvnetItem): string[] {
  return [
    "--mac",
    item.mac,
    "--mtu",
    String(item.mtu),
    "--queue-size",
    String(item.queue_size),
  ];
}

/**
 * The environment file of `item`'s instance: `MVNET_ARGS`, which the
 * unit's `ExecStart=... mvnet run %i $MVNET_ARGS` splits into words.
 */
export function unitEnvironment(item: MvnetItem): string {
  return `MVNET_ARGS=${mvnetRunArgs(item).join(" ")}\n`;
}

/** The argv of the supervised daemon of `item` (`program`: the launcher). */
export function processArgv(
  item: MvnetItem,
  options: { program: string; root: SysRoot },
): string[] {
  const root = options.root.isReal ? [] : ["--root", options.root.dir];
  return [
    options.program,
    ...root,
    "mvnet",
    "run",
    item.name,
    ...mvnetRunArgs(item),
  ];
}

/**
 * Starts `argv` in its own session (no terminal's SIGHUP), with no stdin
 * and its output appended to `options.log`, so that it outlives this
 * process; returns its pid.
 */
export function spawnDetached(
  argv: readonly string[],
  options: { log: string; onEnd?: (how: string) => void },
): number {
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", 'exec "$@" >>"$0" 2>&1 </dev/null', options.log, ...argv],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  child.unref();
  // While this process lives, how the program ended (for error messages).
  child.status.then((st) => {
    options.onEnd?.(
      st.signal ? `killed by ${st.signal}` : `exit status ${st.code}`,
    );
  }, () => {});
  return child.pid;
}

/** True where systemd is the service manager (sd_booted's test). */
export function usesSystemd(root: SysRoot): boolean {
  return pathExists(root.path("/run/systemd/system"));
}

/** This checkout's launcher, what the supervised daemon runs. */
export const LAUNCHER = new URL("../../vdevctl", import.meta.url).pathname;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns a value, or fails after `ms` with `what`. */
async function waitUntil<T>(
  fn: () => T | undefined,
  options: { ms: number; what: () => string },
): Promise<T> {
  const until = Date.now() + options.ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new VdevError(options.what());
    await sleep(100);
  }
}

/** Runs `systemctl ARGS`: success, and its message (stderr, else stdout). */
export function systemctl(args: string[]): { ok: boolean; text: string } {
  try {
    const r = new Deno.Command("systemctl", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    const d = new TextDecoder();
    return {
      ok: r.success,
      text: (d.decode(r.stderr) || d.decode(r.stdout)).trim(),
    };
  } catch (err) {
    return { ok: false, text: `cannot run systemctl: ${messageOf(err)}` };
  }
}

/** The mvnet daemons of one root: read, start, stop. */
export class MvnetServices {
  /** The system root. */
  readonly root: SysRoot;
  /** `/run/vdevctl/mvnet` under the root. */
  readonly dir: string;
  /** What the supervised daemon runs (default: {@linkcode LAUNCHER}). */
  readonly program: string;
  readonly #log: (message: string) => void;
  readonly #cleanup: (name: string) => Promise<void>;
  readonly #netdevMs: number;
  /** How each daemon this process started ended (for the start error). */
  readonly #ended = new Map<string, string>();

  /**
   * Opens the services under `root`. `options.cleanup` replaces what
   * removes the VDUSE device a dead daemon left (mvnet's `cleanupStale`),
   * `options.netdevTimeoutMs` {@linkcode NETDEV_TIMEOUT_MS}.
   */
  constructor(
    root: SysRoot,
    options: {
      program?: string;
      log?: (message: string) => void;
      cleanup?: (name: string) => Promise<void>;
      netdevTimeoutMs?: number;
    } = {},
  ) {
    this.root = root;
    this.dir = root.path(MVNET_DIR);
    this.program = options.program ?? LAUNCHER;
    this.#log = options.log ?? ((m) => console.error(m));
    this.#cleanup = options.cleanup ??
      ((name) => cleanupStale(name, root, this.#log));
    this.#netdevMs = options.netdevTimeoutMs ?? NETDEV_TIMEOUT_MS;
  }

  #file(name: string, ext: "pid" | "env" | "log" | "sock"): string {
    return `${this.dir}/${name}.${ext}`;
  }

  #names(ext: string): string[] {
    return listDir(this.dir).filter((n) => n.endsWith(`.${ext}`))
      .map((n) => n.slice(0, -ext.length - 1)).sort();
  }

  /** The pid in `name`'s pid file, if any. */
  pid(name: string): number | undefined {
    try {
      const n = Number(Deno.readTextFileSync(this.#file(name, "pid")).trim());
      return Number.isInteger(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  }

  /** True when `pid` is the daemon of `name` (not a reused pid, not a zombie). */
  isDaemon(pid: number, name: string): boolean {
    let argv: string[];
    try {
      argv = Deno.readTextFileSync(this.root.path(`/proc/${pid}/cmdline`))
        .split("\0");
    } catch {
      return false;
    }
    return argv.some((a, i) =>
      a === "mvnet" && argv[i + 1] === "run" && argv[i + 2] === name
    );
  }

  /** The daemons: managed ones (running or not), and others that run. */
  read(): MvnetCurrent[] {
    const out = new Map<string, MvnetCurrent>();
    for (const name of this.#names("pid")) {
      const pid = this.pid(name);
      const running = pid !== undefined && this.isDaemon(pid, name);
      out.set(name, {
        name,
        running,
        service: "process",
        why: running ? undefined : `pid ${pid ?? "?"} is gone`,
      });
    }
    for (const name of this.#names("env")) {
      if (out.has(name)) continue;
      const r = systemctl(["is-active", unitName(name)]);
      out.set(name, {
        name,
        running: r.ok,
        service: "systemd",
        why: r.ok ? undefined : `${unitName(name)} is ${r.text || "inactive"}`,
      });
    }
    const sysfs = new VduseSysfs(this.root);
    for (const name of this.#names("sock")) {
      if (out.has(name) || !sysfs.exists(name)) continue;
      if (holders(name, { root: this.root }).length === 0) continue;
      out.set(name, { name, running: true, service: "foreign" });
    }
    const records = new VduseRecords(this.root);
    for (const c of out.values()) {
      const r = sysfs.exists(c.name) ? records.read(c.name) : undefined;
      if (!r) continue;
      const cfg = decodeConfig(r.deviceId, r.config, r.features);
      if (typeof cfg.mac === "string") c.mac = cfg.mac;
      if (typeof cfg.mtu === "number") c.mtu = cfg.mtu;
      c.queue_size = r.queueSizes[0];
    }
    return [...out.values()];
  }

  /** True while the supervised process of `name` runs. */
  #processRuns(name: string): boolean {
    const pid = this.pid(name);
    return pid !== undefined && this.isDaemon(pid, name);
  }

  /**
   * Starts the daemon of `item` (systemd instance or supervised process)
   * and waits until its netdev exists; a daemon that does not get there in
   * time is stopped again.
   */
  async start(item: MvnetItem): Promise<void> {
    Deno.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const systemd = usesSystemd(this.root);
    if (systemd) this.#startUnit(item);
    else this.#spawn(item);
    const where = systemd
      ? `journalctl -u ${unitName(item.name)}`
      : this.#file(item.name, "log");
    try {
      await waitUntil(() => {
        const netdev = new VdpaBus(this.root).netdev(item.name);
        if (netdev !== undefined) return netdev;
        // The spawned child's exit is what tells: its command line is no
        // proof while it starts (each exec of sh, the launcher and deno
        // shows an empty or foreign one for a moment).
        const ended = systemd ? undefined : this.#ended.get(item.name);
        if (ended !== undefined) {
          throw new VdevError(
            `mvnet ${item.name}: the daemon exited before its netdev appeared (${ended}): ${
              this.#lastLine(item.name)
            } (see ${where})`,
          );
        }
        return undefined;
      }, {
        ms: this.#netdevMs,
        what: () =>
          `mvnet ${item.name}: no netdev after ${
            this.#netdevMs / 1000
          } s (is virtio_net loaded? see ${where})`,
      });
    } catch (err) {
      try {
        await this.stop(item.name);
      } catch (e) {
        this.#log(`mvnet ${item.name}: stopping it failed: ${messageOf(e)}`);
      }
      throw err;
    }
  }

  #lastLine(name: string): string {
    try {
      const lines = Deno.readTextFileSync(this.#file(name, "log")).trim()
        .split("\n");
      return lines[lines.length - 1] || "no output";
    } catch {
      return "no output";
    }
  }

  #startUnit(item: MvnetItem): void {
    atomicWriteFileSync(this.#file(item.name, "env"), unitEnvironment(item), {
      mode: 0o600,
    });
    const unit = unitName(item.name);
    systemctl(["reset-failed", unit]);
    const r = systemctl(["start", unit]);
    if (!r.ok) {
      Deno.removeSync(this.#file(item.name, "env"));
      throw new VdevError(
        `mvnet ${item.name}: systemctl start ${unit} failed: ${r.text}`,
      );
    }
  }

  #spawn(item: MvnetItem): void {
    const argv = processArgv(item, { program: this.program, root: this.root });
    const pidFile = this.#file(item.name, "pid");
    if (this.#processRuns(item.name)) {
      throw new VdevError(
        `mvnet ${item.name}: its daemon already runs (pid ${
          this.pid(item.name)
        }): stop it first`,
      );
    }
    this.#ended.delete(item.name);
    const pid = spawnDetached(argv, {
      log: this.#file(item.name, "log"),
      onEnd: (how) => this.#ended.set(item.name, how),
    });
    atomicWriteFileSync(pidFile, `${pid}\n`, { mode: 0o644 });
  }

  /**
   * Stops the daemon of `name` and waits until it and its VDUSE device are
   * gone (a device a dead daemon left is cleaned up); removes its pid or
   * environment file.
   */
  async stop(name: string): Promise<void> {
    const c = this.read().find((x) => x.name === name);
    const pidFile = this.#file(name, "pid");
    if (c?.service === "systemd") {
      const r = systemctl(["stop", unitName(name)]);
      if (!r.ok) {
        throw new VdevError(
          `mvnet ${name}: systemctl stop ${unitName(name)} failed: ${r.text}`,
        );
      }
    } else if (c?.running) {
      const pid = c.service === "process"
        ? this.pid(name)!
        : holders(name, { root: this.root })[0]?.pid;
      if (pid !== undefined) await this.#kill(pid, name);
    }
    const sysfs = new VduseSysfs(this.root);
    if (sysfs.exists(name) && holders(name, { root: this.root }).length === 0) {
      await this.#cleanup(name);
    }
    await waitUntil(() => sysfs.exists(name) ? undefined : true, {
      ms: STOP_TIMEOUT_MS,
      what: () => `mvnet ${name}: its VDUSE device is still there after stop`,
    });
    for (const f of [pidFile, this.#file(name, "env")]) {
      try {
        Deno.removeSync(f);
      } catch (err) {
        if (errnoCode(err) !== "ENOENT") throw err;
      }
    }
  }

  async #kill(pid: number, name: string): Promise<void> {
    const gone = () => this.isDaemon(pid, name) ? undefined : true;
    try {
      Deno.kill(pid, "SIGTERM");
      await waitUntil(gone, {
        ms: STOP_TIMEOUT_MS,
        what: () => `mvnet ${name}: pid ${pid} ignored SIGTERM`,
      });
    } catch (err) {
      if (errnoCode(err) === "ESRCH") return;
      this.#log(`${messageOf(err)}: sending SIGKILL`);
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
      await waitUntil(gone, {
        ms: STOP_TIMEOUT_MS,
        what: () => `mvnet ${name}: pid ${pid} survives SIGKILL`,
      });
    }
  }
}
