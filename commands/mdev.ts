/**
 * `vdevctl mdev`: mediated devices, a drop-in for mdevctl 1.2 and 1.4 (same
 * flags, same output, same /etc/mdevctl.d files), plus `mdev parents`.
 * Argument parsing and output only; the work is in lib/mdev/. Options are
 * parsed as strictly as mdevctl's clap does them ({@linkcode clapArgs}).
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
  MDEV_MISSING,
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
import { VdevError } from "../lib/errors.ts";
import { failWith, out, rootOf, warn } from "./context.ts";
import {
  calloutsOf,
  compatFrom,
  listAction,
  typesAction,
} from "./mdev_fast.ts";

/** The mdevctl release to imitate for `cmd` (`--compat` or the environment). */
function compatOf(cmd: CommandUnknownOpts) {
  return compatFrom((cmd.optsWithGlobals() as { compat?: string }).compat);
}

/** The name clap prints for an option: `--uuid <UUID>`, `--auto`. */
function clapName(opt: Option): string {
  const value = /[<[][^>\]]*[>\]]/.exec(opt.flags)?.[0];
  return `${opt.long ?? opt.short}${value ? ` ${value}` : ""}`;
}

/**
 * The arguments of `cmd` as mdevctl's clap reads them, for commander: an
 * option that takes a value and is followed by another option (or nothing)
 * is refused ("a value is required", not the next flag as its value);
 * `-u=UUID` is `-u UUID`; an option given twice is refused. Exit status 2,
 * as mdevctl's. Everything after `--` is left alone.
 */
export function clapArgs(
  cmd: CommandUnknownOpts,
  args: readonly string[],
): string[] {
  const out: string[] = [];
  const seen = new Set<Option>();
  const fail = (msg: string) =>
    cmd.error(`error: ${msg}`, { exitCode: 2, code: "vdevctl.usage" });
  const once = (opt: Option) => {
    if (seen.has(opt)) {
      fail(`the argument '${clapName(opt)}' cannot be used multiple times`);
    }
    seen.add(opt);
  };
  const takesValue = (opt: Option) => opt.required || opt.optional;
  const valueAt = (opt: Option, i: number): string => {
    const v = args[i];
    if (v === undefined || (v.length > 1 && v.startsWith("-"))) {
      fail(`a value is required for '${clapName(opt)}' but none was supplied`);
    }
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (a.length < 2 || !a.startsWith("-")) {
      out.push(a);
    } else if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const opt = cmd.options.find((o) =>
        o.long === (eq > 0 ? a.slice(0, eq) : a)
      );
      if (opt === undefined) {
        out.push(a); // unknown: commander says so
        continue;
      }
      once(opt);
      out.push(a);
      if (takesValue(opt) && eq < 0) out.push(valueAt(opt, ++i));
    } else {
      // Short options, possibly clustered (-dv) or with a value (-uX, -u=X).
      for (let j = 1; j < a.length; j++) {
        const opt = cmd.options.find((o) => o.short === `-${a[j]}`);
        if (opt === undefined) {
          out.push(`-${a.slice(j)}`);
          break;
        }
        once(opt);
        out.push(`-${a[j]}`);
        if (takesValue(opt)) {
          const rest = a.slice(j + 1).replace(/^=/, "");
          out.push(rest !== "" ? rest : valueAt(opt, ++i));
          break;
        }
      }
    }
  }
  return out;
}

/** Makes `cmd` parse its options with {@linkcode clapArgs}. */
function strict(cmd: CommandUnknownOpts): CommandUnknownOpts {
  const parse = cmd.parseOptions.bind(cmd);
  cmd.parseOptions = (args) => parse(clapArgs(cmd, args));
  return cmd;
}

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
      await listAction(rootOf(this), { ...opts, compat: compatOf(this) });
    });
}

function typesCommand(): CommandUnknownOpts {
  return new Command("types")
    .description("list the mdev types of the parents")
    .option("-p, --parent <PARENT>", "types of this parent only")
    .option("--dumpjson", "output the types in JSON")
    .option("--json", "the same as --dumpjson")
    .action(function (opts) {
      typesAction(rootOf(this), { ...opts, compat: compatOf(this) });
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
    .option("-t, --type <TYPE>", "mdev type of the device")
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
        callouts: calloutsOf(root, { compat: compatOf(this) }),
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
        callouts: calloutsOf(root, { compat: compatOf(this) }),
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
    .option("-t, --type <TYPE>", "mdev type of the device")
    .addOption(
      new Option("--jsonfile <JSONFILE>", "device description in JSON")
        .conflicts(["type", "auto"]),
    )
    .option("-f, --force", "go ahead even when a callout script fails")
    .action(async function (opts) {
      needUuidOrParent(this, opts);
      const root = rootOf(this);
      const callouts = calloutsOf(root, { compat: compatOf(this) });
      const defined = await defineDevice(openMdev(root), {
        ...opts,
        callouts,
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
      const callouts = calloutsOf(rootOf(this), { compat: compatOf(this) });
      const res = await undefineDevice(openMdev(rootOf(this)), opts.uuid, {
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
    .option("-t, --type <TYPE>", "new mdev type")
    .addOption(
      new Option("--addattr <ATTR_NAME>", "add an attribute").conflicts(
        "delattr",
      ),
    )
    .option("--delattr", "delete an attribute (the last, or --index)")
    .addOption(
      new Option("-i, --index <INDEX>", "position of the attribute")
        .argParser(indexArg),
    )
    .option("--value <ATTR_VALUE>", "value of the --addattr attribute")
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
          "error: --addattr <ATTR_NAME> requires --value <ATTR_VALUE>",
          {
            exitCode: 2,
          },
        );
      }
      const callouts = calloutsOf(rootOf(this), { compat: compatOf(this) });
      await modifyDevice(openMdev(rootOf(this)), opts.uuid, {
        ...opts,
        callouts,
      });
    });
}

function startParentCommand(): CommandUnknownOpts {
  return new Command("start-parent-mdevs")
    .description("start every auto-start device defined for PARENT (udev)")
    .argument("<PARENT>", "parent device")
    .action(async function (parent) {
      const root = rootOf(this);
      const res = await startParentMdevs(openMdev(root), parent, {
        callouts: calloutsOf(root, { compat: compatOf(this) }),
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
      const ctx = openMdev(rootOf(this));
      if (!ctx.sysfs.present()) throw new VdevError(MDEV_MISSING);
      const parents = listParents(ctx, opts.parent);
      out(opts.json ? parentsJson(parents) : parentsText(parents));
    });
}

/** Builds the `mdev` command. */
export function command(): CommandUnknownOpts {
  const mdev = new Command("mdev")
    .description("mediated devices (a drop-in mdevctl)")
    .option(
      "--compat <VERSION>",
      "print mdevctl 1.2's or 1.4's output (default: $VDEVCTL_MDEVCTL_COMPAT or 1.2)",
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
    mdev.addCommand(strict(sub));
  }
  return mdev;
}
