/**
 * `vdevctl mvnet`: the user-space virtio-net loopback device over VDUSE
 * (`run`), its control socket (`set`, `stats`) and its end-to-end
 * self-test (`smoke`).
 *
 * @module
 */

import { jsonText } from "../lib/json_keys.ts";
import { parseCpuList } from "../lib/cpu_list.ts";
import { Command, type CommandUnknownOpts, Option } from "commander";
import { VdevError } from "../lib/errors.ts";
import { out, rootOf } from "./context.ts";
import {
  controlRequest,
  DEFAULT_NAME,
  formatPlacement,
  formatReport,
  formatSmoke,
  type Mvnet,
  MVNET_QUEUE_SIZE,
  type MvnetReport,
  type MvnetStats,
  PLACEMENT_MODES,
  runSmoke,
  startMvnet,
} from "../lib/mvnet/mod.ts";
import { parseCount, parseSize } from "../lib/cli_values.ts";
import { createProgress } from "../lib/progress.ts";

function formatStats(s: MvnetStats, netdev: string | undefined): string {
  return `mvnet: ${netdev ?? "-"} tx ${s.txPackets} rx ${s.rxPackets} ` +
    `dropped ${s.rxDropped} too-big ${s.rxTooBig} tx-errors ${s.txErrors} ` +
    `irqs ${s.rxIrqs}/${s.txIrqs} wakeups ${s.wakeups} resets ${s.resets}` +
    `${s.broken ? ` BROKEN(${s.broken})` : ""}`;
}

function runCommand(): CommandUnknownOpts {
  return new Command("run")
    .description(
      "create a VDUSE net device, attach it to vDPA and loop every frame it transmits back as received, until SIGINT/SIGTERM",
    )
    .argument("[NAME]", "device name (VDUSE and vdpa)", DEFAULT_NAME)
    .option("--mac <MAC>", "MAC address (default: derived from the name)")
    .option("--mtu <MTU>", "MTU offered to the driver", "1500")
    .option(
      "--queue-size <N>",
      "maximum virtqueue size (power of two)",
      String(MVNET_QUEUE_SIZE),
    )
    .option(
      "--irq-cpus <CPUS>",
      "CPUs the queues' interrupt callbacks (the driver's RX/TX processing) run on, e.g. 1 (default: chosen at every DRIVER_OK: the last CPU of the driver's mask, off the datapath's)",
      (v) => parseCpuList(v, "--irq-cpus"),
    )
    .option(
      "--datapath-cpus <CPUS>",
      "CPUs the datapath thread runs on, e.g. 0 (default: the online CPUs but the interrupts')",
      (v) => parseCpuList(v, "--datapath-cpus"),
    )
    .addOption(
      new Option(
        "--placement <MODE>",
        "auto: choose the interrupt and datapath CPUs (the default; the two flags above override halves of it); kernel: place nothing, keep the kernel's defaults",
      ).choices(PLACEMENT_MODES).default("auto"),
    )
    .option(
      "--bounce-size <SIZE>",
      "VDUSE bounce buffer size, K/M/G suffixes (default: the kernel's 64M)",
    )
    .option("--no-attach", "do not attach to the vdpa bus")
    .option(
      "--stats-interval <SECONDS>",
      "print counters every SECONDS seconds (0: never)",
      "0",
    )
    .option(
      "--reconnect",
      "adopt an existing device whose daemon died and resume its queues",
    )
    .option("--no-worker", "run the datapath on the main thread")
    .action(async (name, opts, cmd) => {
      const interval = parseCount(opts.statsInterval, "--stats-interval", {
        min: 0,
        max: 86400,
      });
      // Listen before anything is created: a signal during start-up then
      // stops the device once it is up instead of killing the process.
      let stop: () => void = () => {};
      const stopped = new Promise<string>((resolve) => {
        const on = (sig: Deno.Signal) => () => resolve(sig);
        const int = on("SIGINT");
        const term = on("SIGTERM");
        Deno.addSignalListener("SIGINT", int);
        Deno.addSignalListener("SIGTERM", term);
        stop = () => {
          Deno.removeSignalListener("SIGINT", int);
          Deno.removeSignalListener("SIGTERM", term);
        };
      });
      let mv: Mvnet;
      try {
        mv = await startMvnet({
          name,
          mac: opts.mac,
          mtu: parseCount(opts.mtu, "--mtu", { min: 68, max: 65535 }),
          queueSize: parseCount(opts.queueSize, "--queue-size", {
            min: 1,
            max: 32768,
          }),
          bounceSize: opts.bounceSize === undefined
            ? undefined
            : parseSize(opts.bounceSize, "--bounce-size"),
          irqCpus: opts.irqCpus,
          datapathCpus: opts.datapathCpus,
          placement: opts.placement,
          attach: opts.attach,
          reconnect: opts.reconnect ?? false,
          worker: opts.worker,
          root: rootOf(cmd),
        });
      } catch (err) {
        stop();
        throw err;
      }
      console.log(
        `mvnet: ${mv.name} ${
          mv.adopted ? "adopted" : "created"
        }, mac ${mv.mac}${
          opts.attach ? `, netdev ${mv.netdev() ?? "(not yet)"}` : ""
        }; SIGINT/SIGTERM to stop`,
      );
      console.log(
        `mvnet: ${mv.name}: ${formatPlacement(mv.placement())}`,
      );
      const timer = interval > 0
        ? setInterval(
          () => console.log(formatStats(mv.stats(), mv.netdev())),
          interval * 1000,
        )
        : undefined;
      const sig = await stopped;
      stop();
      if (timer !== undefined) clearInterval(timer);
      console.log(`mvnet: ${sig}: detaching and destroying ${mv.name}`);
      console.log(formatStats(mv.stats(), mv.netdev()));
      await mv.stop();
    });
}

function smokeCommand(): CommandUnknownOpts {
  return new Command("smoke")
    .description(
      "end-to-end self-test: start mvnet, send frames through its netdev over AF_PACKET, check every one comes back byte-identical",
    )
    .option("--frames <N>", "number of frames", "1000")
    .option(
      "--size <SIZE>",
      "frame size in bytes (60..1514), or mixed",
      "mixed",
    )
    .option("--name <NAME>", "device name", "mvnet-smoke")
    .option("--json", "print the result as JSON")
    .option("--no-worker", "run the datapath on the main thread")
    .option("-q, --quiet", "no progress display (shown on a terminal only)")
    .action(async (opts, cmd) => {
      // Progress only on a terminal: piped or --json output stays clean.
      const progress = createProgress(
        opts.quiet || !Deno.stderr.isTerminal() ? "none" : "tty",
        { prefix: "vdevctl mvnet smoke", summaries: false },
      );
      const size = opts.size === "mixed"
        ? "mixed" as const
        : parseCount(opts.size, "--size", { min: 60, max: 1514 });
      const result = await runSmoke({
        frames: parseCount(opts.frames, "--frames", { min: 1, max: 1e9 }),
        size,
        name: opts.name,
        worker: opts.worker,
        root: rootOf(cmd),
        progress,
      });
      if (opts.json) console.log(jsonText(result));
      else console.log(formatSmoke(result));
      if (!result.ok) {
        throw new VdevError(
          `mvnet smoke failed: ${result.received}/${result.frames} frames came back intact (${result.lost} lost, ${result.corrupted} corrupted)`,
        );
      }
    });
}

function setCommand(): CommandUnknownOpts {
  return new Command("set")
    .description(
      "change a running mvnet device through its daemon's control socket",
    )
    .argument("[NAME]", "device name", DEFAULT_NAME)
    .requiredOption(
      "--link <STATE>",
      "up or down: VIRTIO_NET_S_LINK_UP in the config space; the netdev's carrier follows (only once the driver runs the device)",
      (v) => {
        if (v !== "up" && v !== "down") {
          throw new VdevError(`bad --link ${v}: give up or down`);
        }
        return v;
      },
    )
    .action(async (name, opts, cmd) => {
      const r = await controlRequest(name, { op: "set", link: opts.link }, {
        root: rootOf(cmd),
      }) as unknown as MvnetReport;
      console.log(`mvnet: ${name} link ${r.link}`);
    });
}

function statsCommand(): CommandUnknownOpts {
  return new Command("stats")
    .description(
      "live counters of a running mvnet device (frames and bytes per direction, drops, queue state, placement) from its daemon",
    )
    .argument("[NAME]", "device name", DEFAULT_NAME)
    .option("--json", "print JSON")
    .action(async (name, opts, cmd) => {
      const r = await controlRequest(name, { op: "stats" }, {
        root: rootOf(cmd),
      }) as unknown as MvnetReport;
      if (opts.json) console.log(jsonText(r));
      else out(formatReport(r));
    });
}

/** Builds the `mvnet` command. */
export function command(): CommandUnknownOpts {
  return new Command("mvnet")
    .description("user-space virtio-net loopback device over VDUSE")
    .addCommand(runCommand())
    .addCommand(setCommand())
    .addCommand(statsCommand())
    .addCommand(smokeCommand());
}
