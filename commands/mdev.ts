/**
 * `vdevctl mdev`: mediated devices, a drop-in for mdevctl 1.2 (same flags,
 * same output, same /etc/mdevctl.d files), plus `mdev parents`. Argument
 * parsing and output only; the work is in lib/mdev/.
 *
 * @module
 */

import {
  Command,
  type CommandUnknownOpts,
  InvalidArgumentError,
  Option,
} from "commander";
import {
  defineDevice,
  listParents,
  modifyDevice,
  openMdev,
  parentsJson,
  parentsText,
  parseMdevUuid,
  startDevice,
  startParentMdevs,
  stopDevice,
  undefineDevice,
} from "../lib/mdev/mod.ts";
import { failWith, out, rootOf, warn } from "./context.ts";
import { calloutsOf, listAction, typesAction } from "./mdev_fast.ts";

function uuidArg(value: string): string {
  const uuid = parseMdevUuid(value);
  if (uuid === undefined) {
    throw new InvalidArgumentError(
      "not a UUID: use 8-4-4-4-12 hex digits, e.g. 83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
    );
  }
  return uuid;
}

function indexArg(value: string): number {
  const n = /^\+?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n > 0xffffffff) {
    throw new InvalidArgumentError("not an index: use 0, 1, 2, ...");
  }
  return n;
}

function uuidOption(description: string) {
  return new Option("-u, --uuid <UUID>", description).argParser(uuidArg);
}

function listCommand(): CommandUnknownOpts {
  return new Command("list")
    .description("list running mediated devices, or defined ones with -d")
    .option("-d, --defined", "show defined devices")
    .option("--dumpjson", "output the device list in JSON")
    .option("--json", "the same as --dumpjson")
    .option("-v, --verbose", "print the attributes of the devices")
    .addOption(uuidOption("list devices matching the UUID"))
    .option("-p, --parent <PARENT>", "list devices of this parent only")
    .action(async function (opts) {
      await listAction(rootOf(this), opts);
    });
}

function typesCommand(): CommandUnknownOpts {
  return new Command("types")
    .description("list the mdev types of the parents")
    .option("-p, --parent <PARENT>", "types of this parent only")
    .option("--dumpjson", "output the types in JSON")
    .option("--json", "the same as --dumpjson")
    .action(function (opts) {
      typesAction(rootOf(this), opts);
    });
}

function needUuidOrParent(
  cmd: CommandUnknownOpts,
  opts: { uuid?: string; parent?: string },
): void {
  if (opts.uuid === undefined && opts.parent === undefined) {
    cmd.error("error: give --uuid <UUID> or --parent <PARENT> (or both)", {
      exitCode: 2,
    });
  }
}

function startCommand(): CommandUnknownOpts {
  return new Command("start")
    .description(
      "start a device: a defined one by UUID, or one given by -p and -t (or --jsonfile)",
    )
    .addOption(uuidOption("UUID of the device (printed when generated)"))
    .option("-p, --parent <PARENT>", "parent of the device")
    .option("-t, --type <type>", "mdev type of the device")
    .addOption(
      new Option("--jsonfile <JSONFILE>", "device description in JSON")
        .conflicts("type"),
    )
    .option("-f, --force", "go ahead even when a callout script fails")
    .action(async function (opts) {
      needUuidOrParent(this, opts);
      const root = rootOf(this);
      const started = await startDevice(openMdev(root), {
        ...opts,
        callouts: calloutsOf(root),
      });
      if (started.generated) out(`${started.uuid}\n`);
    });
}

function stopCommand(): CommandUnknownOpts {
  return new Command("stop")
    .description("stop a running device")
    .addOption(uuidOption("UUID of the device").makeOptionMandatory())
    .option("-f, --force", "go ahead even when a callout script fails")
    .action(async function (opts) {
      const root = rootOf(this);
      await stopDevice(openMdev(root), opts.uuid, {
        force: opts.force,
        callouts: calloutsOf(root),
      });
    });
}

function defineCommand(): CommandUnknownOpts {
  return new Command("define")
    .description(
      "define a persistent device (by -p and -t, from a running device, or --jsonfile)",
    )
    .addOption(uuidOption("UUID of the device (printed when generated)"))
    .option("-a, --auto", "start the device automatically with its parent")
    .option("-p, --parent <PARENT>", "parent of the device")
    .option("-t, --type <type>", "mdev type of the device")
    .addOption(
      new Option("--jsonfile <JSONFILE>", "device description in JSON")
        .conflicts(["type", "auto"]),
    )
    .option("-f, --force", "go ahead even when a callout script fails")
    .action(async function (opts) {
      needUuidOrParent(this, opts);
      const root = rootOf(this);
      const defined = await defineDevice(openMdev(root), {
        ...opts,
        callouts: calloutsOf(root),
      });
      if (defined.generated) out(`${defined.uuid}\n`);
    });
}

function undefineCommand(): CommandUnknownOpts {
  return new Command("undefine")
    .description("remove the definition of a device (running devices stay)")
    .addOption(uuidOption("UUID of the device").makeOptionMandatory())
    .option("-p, --parent <PARENT>", "only the definition on this parent")
    .option("-f, --force", "go ahead even when a callout script fails")
    .action(async function (opts) {
      const root = rootOf(this);
      const callouts = calloutsOf(root);
      const res = await undefineDevice(openMdev(root), opts.uuid, {
        parent: opts.parent,
        force: opts.force,
        callouts,
      });
      // mdevctl 1.2 exits 0 when a callout vetoes an undefine; 1.4 fails.
      if (callouts.version === "1.2") warn(res.vetoed);
      else if (res.vetoed.length > 0) {
        failWith([...res.vetoed, "undefine failed"]);
      }
    });
}

function modifyCommand(): CommandUnknownOpts {
  return new Command("modify")
    .description("modify a definition (running devices stay as they are)")
    .addOption(uuidOption("UUID of the device").makeOptionMandatory())
    .option("-p, --parent <PARENT>", "parent, when the UUID is defined twice")
    .option("-t, --type <type>", "new mdev type")
    .addOption(
      new Option("--addattr <attr_name>", "add an attribute").conflicts(
        "delattr",
      ),
    )
    .option("--delattr", "delete an attribute (the last, or --index)")
    .addOption(
      new Option("-i, --index <INDEX>", "position of the attribute")
        .argParser(indexArg),
    )
    .option("--value <attr_value>", "value of the --addattr attribute")
    .option("-a, --auto", "start automatically with the parent")
    .addOption(
      new Option("-m, --manual", "start manually only").conflicts("auto"),
    )
    .addOption(
      new Option("--jsonfile <JSONFILE>", "replace the definition from JSON")
        .conflicts(["type", "addattr", "delattr", "auto", "manual"]),
    )
    .option(
      "-l, --live",
      "modify the running device (through a callout script; needs --jsonfile)",
    )
    .option("-d, --defined", "with --live: modify the definition too")
    .option("-f, --force", "go ahead even when a callout script fails")
    .action(async function (opts) {
      if (opts.addattr !== undefined && opts.value === undefined) {
        this.error(
          "error: --addattr <attr_name> requires --value <attr_value>",
          {
            exitCode: 2,
          },
        );
      }
      const root = rootOf(this);
      await modifyDevice(openMdev(root), opts.uuid, {
        ...opts,
        callouts: calloutsOf(root),
      });
    });
}

function startParentCommand(): CommandUnknownOpts {
  return new Command("start-parent-mdevs")
    .description("start every auto-start device defined for PARENT (udev)")
    .argument("<parent>", "parent device")
    .action(async function (parent) {
      const root = rootOf(this);
      const res = await startParentMdevs(openMdev(root), parent, {
        callouts: calloutsOf(root),
      });
      warn(res.failures.map((f) => f.message));
      failWith(res.problems);
    });
}

function parentsCommand(): CommandUnknownOpts {
  return new Command("parents")
    .description(
      "list mdev parents: driver, device path, instances in use and available per type",
    )
    .option("-p, --parent <PARENT>", "this parent only")
    .option("--json", "output in JSON")
    .action(function (opts) {
      const parents = listParents(openMdev(rootOf(this)), opts.parent);
      out(opts.json ? parentsJson(parents) : parentsText(parents));
    });
}

/** Builds the `mdev` command. */
export function command(): CommandUnknownOpts {
  const mdev = new Command("mdev").description(
    "mediated devices (a drop-in mdevctl)",
  );
  for (
    const sub of [
      listCommand(),
      typesCommand(),
      startCommand(),
      stopCommand(),
      defineCommand(),
      undefineCommand(),
      modifyCommand(),
      startParentCommand(),
      parentsCommand(),
    ]
  ) {
    mdev.addCommand(sub);
  }
  return mdev;
}
