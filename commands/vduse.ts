/**
 * `vdevctl vduse`: VDUSE devices (virtio devices served from user space):
 * create, destroy, list, show, set. Argument parsing and output only; the
 * work is in lib/vduse/spec.ts (checks), lib/vduse/lifecycle.ts (create and
 * destroy), lib/vduse/inspect.ts and lib/vduse/sysfs.ts (sysfs, /proc) and
 * lib/vduse/format.ts.
 *
 * @module
 */

import { parseCpuList } from "../lib/cpu_list.ts";
import { Command, type CommandUnknownOpts } from "commander";
import { VdevError } from "../lib/errors.ts";
import {
  buildSpec,
  createDevice,
  DEFAULT_QUEUE_SIZE,
  destroyDevice,
  inspect,
  listDevices,
  listJson,
  listText,
  MAX_QUEUE_SIZE,
  moduleMissing,
  queueProbe,
  showJson,
  showText,
  vdpaKernelView,
  VduseSysfs,
} from "../lib/vduse/mod.ts";
import { parseCount, parseFeatures, parseSize } from "../lib/cli_values.ts";
import { out, rootOf } from "./context.ts";
import {
  controlRequest,
  type MvnetReport,
  statusLine,
} from "../lib/mvnet/mod.ts";

function createCommand(): CommandUnknownOpts {
  return new Command("create")
    .description(
      "create a VDUSE device (nobody serves it until a datapath such as mvnet opens it)",
    )
    .argument("<NAME>", "device name (also the vdpa device name)")
    .requiredOption("--type <TYPE>", "net or blk")
    .option("--mac <MAC>", "net: MAC address (offers MAC)")
    .option(
      "--mtu <MTU>",
      "net: MTU (offers MTU)",
      (v) => parseCount(v, "--mtu", { min: 68, max: 65535 }),
    )
    .option(
      "--queues <N>",
      "net: queue pairs (1 only: no control queue); blk: request queues",
      (v) => parseCount(v, "--queues", { min: 1, max: 65535 }),
    )
    .option(
      "--queue-size <N>",
      `max size of every virtqueue, a power of two (default: ${DEFAULT_QUEUE_SIZE})`,
      (v) => parseCount(v, "--queue-size", { min: 1, max: MAX_QUEUE_SIZE }),
    )
    .option(
      "--features <HEX>",
      "offered feature word, replacing the defaults (net: VERSION_1 ACCESS_PLATFORM STATUS; blk: VERSION_1 ACCESS_PLATFORM)",
      parseFeatures,
    )
    .option(
      "--capacity <SIZE>",
      "blk: capacity, bytes or with K/M/G/T (default: 1G)",
      (v) => parseSize(v, "--capacity"),
    )
    .action(function (name, opts) {
      const spec = buildSpec(name, {
        type: opts.type,
        mac: opts.mac,
        mtu: opts.mtu,
        queues: opts.queues,
        queueSize: opts.queueSize,
        features: opts.features,
        capacity: opts.capacity,
      });
      createDevice(spec, { root: rootOf(this) });
    });
}

function destroyCommand(): CommandUnknownOpts {
  return new Command("destroy")
    .description("destroy a VDUSE device (detached and not served)")
    .argument("<NAME>", "device name")
    .action(async function (name) {
      await destroyDevice(name, { root: rootOf(this) });
    });
}

function listCommand(): CommandUnknownOpts {
  return new Command("list")
    .description("list VDUSE devices")
    .option("--json", "output JSON")
    .action(function (opts) {
      const root = rootOf(this);
      if (!new VduseSysfs(root).loaded()) throw moduleMissing();
      const devices = listDevices({ root });
      out(opts.json ? listJson(devices) : listText(devices));
    });
}

function showCommand(): CommandUnknownOpts {
  return new Command("show")
    .description(
      "show a VDUSE device: features, config, queues, sysfs attributes, vdpa attachment, daemon",
    )
    .argument("<NAME>", "device name")
    .option("--json", "output JSON")
    .action(async function (name, opts) {
      const root = rootOf(this);
      const info = inspect(name, {
        root,
        probe: root.isReal ? queueProbe({ root }) : undefined,
        kernelView: root.isReal ? vdpaKernelView : undefined,
      });
      if (info.state === "served") {
        // The status an mvnet daemon reports, when one serves the device.
        try {
          const r = await controlRequest(name, { op: "stats" }, { root });
          info.daemonReport = {
            summary: statusLine(r as unknown as MvnetReport),
            report: r,
          };
        } catch {
          // Not an mvnet daemon (or not answering): the holders say enough.
        }
      }
      out(opts.json ? showJson(info) : showText(info));
    });
}

function setCommand(): CommandUnknownOpts {
  return new Command("set")
    .description("set sysfs attributes of a VDUSE device")
    .argument("<NAME>", "device name")
    .option(
      "--bounce-size <SIZE>",
      "bounce buffer size, 1M..1G, before the first attach",
      (v) => parseSize(v, "--bounce-size"),
    )
    .option(
      "--msg-timeout <SECONDS>",
      "seconds each message waits for the daemon (0: forever)",
      (v) => parseCount(v, "--msg-timeout", { min: 0, max: 0xffffffff }),
    )
    .option(
      "--irq-cpus <CPUS>",
      "CPUs the queues' interrupt callbacks run on, e.g. 1 or 0,2-3 (the driver resets this when it probes)",
      (v) => parseCpuList(v, "--irq-cpus"),
    )
    .option(
      "--queue <INDEX>",
      "with --irq-cpus: only this queue",
      (v) => parseCount(v, "--queue", { min: 0, max: 0xffff }),
    )
    .action(function (name, opts) {
      if (
        opts.bounceSize === undefined && opts.msgTimeout === undefined &&
        opts.irqCpus === undefined
      ) {
        throw new VdevError(
          `nothing to set on ${name}: give --bounce-size, --msg-timeout and/or --irq-cpus`,
        );
      }
      if (opts.queue !== undefined && opts.irqCpus === undefined) {
        throw new VdevError(
          `--queue ${opts.queue} for ${name} only applies to --irq-cpus: give --irq-cpus too`,
        );
      }
      new VduseSysfs(rootOf(this)).setAttributes(name, {
        bounceSize: opts.bounceSize,
        msgTimeout: opts.msgTimeout,
        irq: opts.irqCpus === undefined ? undefined : {
          cpus: opts.irqCpus,
          queues: opts.queue === undefined ? undefined : [opts.queue],
        },
      });
    });
}

/** Builds the `vduse` command. */
export function command(): CommandUnknownOpts {
  return new Command("vduse")
    .description("VDUSE devices in /dev/vduse")
    .addCommand(createCommand())
    .addCommand(destroyCommand())
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(setCommand());
}
