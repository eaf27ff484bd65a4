/**
 * `vdevctl vdpa`: iproute2 `vdpa` syntax and output (text, `-j`, `-jp`).
 *
 * @module
 */

import { Command, type CommandUnknownOpts } from "commander";
import {
  bindVdpaDevice,
  closeVdpa,
  formatDevConfigShow,
  formatDevShow,
  formatDevVstatsShow,
  formatEmpty,
  formatMgmtdevShow,
  getoptErrorText,
  iproute2Version,
  openVdpa,
  parseVdpaArgs,
  VDPA_HELP,
  VDPA_USAGE,
  type VdpaBindResult,
  VdpaBus,
  type VdpaCommand,
  vdpaDevAdd,
  vdpaDevConfigShow,
  vdpaDevDel,
  vdpaDevSet,
  vdpaDevShow,
  vdpaDevVstatsShow,
  type VdpaFormatOptions,
  vdpaGetopt,
  type VdpaHelpTopic,
  vdpaMgmtdevShow,
  type VdpaOptions,
  type VdpaReply,
  type VdpaSession,
  VdpaUsageError,
} from "../lib/vdpa/mod.ts";
import { VdevError } from "../lib/errors.ts";
import { programName } from "../lib/personality.ts";
import type { SysRoot } from "../lib/root.ts";
import { out, rootOf } from "./context.ts";

const HELP_AFTER = `
${VDPA_USAGE}
Output is byte-identical to iproute2 6.1's vdpa (and 6.15's: they print
the same; --iproute2 6.15 or VDEVCTL_IPROUTE2_COMPAT=6.15 makes -V say 6.15),
including its quirks:
JSON keys "link " and "link_announce " with a trailing space, qidx 0 shown
as control_vq when MQ is not negotiated, and the empty JSON section printed
on stdout when a command fails. --no-iproute2-compat fixes them ("link",
"link_announce", the control queue found from the real queue-pair count,
nothing on stdout on failure). Options and words are taken as iproute2
takes them (--js, --pre, --Ver, -jp, "d s", "dev conf sh", options after
the words); what iproute2 refuses is refused with its exact words on
stderr and status 1 (a vdevctl one-liner with --no-iproute2-compat, or
where iproute2 says nothing). Kernel errors are one line on stderr with
the kernel's own message, and exit with status 1 (vstats too, unlike
iproute2 6.1). The clean form also shows what the kernel reports and iproute2
ignores: dev show adds min_vq_size and the bus driver with its vhost-vdpa
device, netdev or disk; dev config show adds the provisioned
device_features and a block device's configuration (capacity, blk_size,
seg_max, num_queues, discard and write-zeroes limits, read_only, flush).`;

type Show = (session: VdpaSession) => VdpaReply[];
type Format = (r: readonly VdpaReply[], o: VdpaFormatOptions) => string;

function show(query: Show, format: Format, fmt: VdpaFormatOptions): void {
  const session = openVdpa();
  try {
    out(format(query(session), fmt));
  } catch (err) {
    // iproute2 prints the empty JSON section before failing.
    if (fmt.json && fmt.compat) out(format([], fmt));
    throw err;
  } finally {
    closeVdpa(session);
  }
}

function bindOutput(r: VdpaBindResult, name: string, json: boolean): string {
  const b = r.binding;
  if (json) {
    const o = {
      driver: r.to,
      from: r.from || null,
      changed: r.changed,
      vhost_dev: b.vhostDev ?? null,
      netdevs: b.netdevs,
      disks: b.disks,
    };
    return JSON.stringify({ bind: { [name]: o } }) + "\n";
  }
  const was = r.changed ? ` (was ${r.from || "unbound"})` : " (unchanged)";
  const what = [
    b.vhostDev ? ` vhost_dev ${b.vhostDev}` : "",
    b.netdevs.length ? ` netdev ${b.netdevs.join(",")}` : "",
    b.disks.length ? ` disk ${b.disks.join(",")}` : "",
  ].join("");
  return `${name}: driver ${r.to}${was}${what}\n`;
}

async function run(
  cmd: VdpaCommand,
  fmt: VdpaFormatOptions,
  root: SysRoot,
): Promise<void> {
  switch (cmd.op) {
    case "help":
      out(VDPA_HELP[cmd.topic]);
      return;
    case "dev-bind":
      out(
        bindOutput(
          bindVdpaDevice(new VdpaBus(root), cmd.name, { driver: cmd.driver }),
          cmd.name,
          fmt.json ?? false,
        ),
      );
      return;
    case "dev-set": {
      const session = openVdpa();
      try {
        vdpaDevSet(cmd.name, { session, mac: cmd.mac });
      } finally {
        out(formatEmpty(fmt));
        closeVdpa(session);
      }
      return;
    }
    case "mgmtdev-show":
      return show(
        (session) => vdpaMgmtdevShow(cmd.mgmtdev, { session }),
        formatMgmtdevShow,
        fmt,
      );
    case "dev-show":
      return show(
        (session) => vdpaDevShow(cmd.name, { session }),
        formatDevShow,
        { ...fmt, binding: (name) => new VdpaBus(root).binding(name) },
      );
    case "dev-config-show":
      return show(
        (session) => vdpaDevConfigShow(cmd.name, { session }),
        formatDevConfigShow,
        fmt,
      );
    case "dev-vstats-show":
      return show(
        (session) => vdpaDevVstatsShow(cmd.name, { session, qidx: cmd.qidx }),
        formatDevVstatsShow,
        fmt,
      );
    case "dev-add":
    case "dev-del": {
      const session = openVdpa();
      try {
        if (cmd.op === "dev-add") await vdpaDevAdd(cmd.spec, { session });
        else await vdpaDevDel(cmd.name, { session });
      } finally {
        out(formatEmpty(fmt));
        closeVdpa(session);
      }
    }
  }
}

/** The help topic of each keyword command (`vdevctl help vdpa dev add`). */
const HELP_PATHS: Readonly<Record<string, VdpaHelpTopic>> = {
  "mgmtdev": "mgmtdev",
  "mgmtdev show": "mgmtdev",
  "dev": "dev",
  "dev show": "dev",
  "dev add": "add",
  "dev set": "set",
  "dev del": "dev",
  "dev bind": "bind",
  "dev config": "config",
  "dev config show": "config",
  "dev vstats": "vstats",
  "dev vstats show": "vstats",
};

/**
 * The usage of the keyword command `words` (`["dev", "add"]`), for
 * `vdevctl help vdpa ...`; undefined when there is no such command.
 */
export function keywordHelp(words: readonly string[]): string | undefined {
  const topic = HELP_PATHS[words.join(" ")];
  return topic === undefined ? undefined : VDPA_HELP[topic];
}

/**
 * The options of the words after `vdpa`, taken as iproute2's getopt_long
 * takes them (abbreviations, clusters, anywhere before `--`); what it
 * refuses fails as there (its exact stderr, exit 1), or with
 * `--no-iproute2-compat` as a vdevctl usage error.
 */
function vdpaOptions(raw: readonly string[]): VdpaOptions {
  const g = vdpaGetopt(raw);
  if (g.ok) return g.options;
  if (g.error.own) throw new VdevError(g.error.own, { exitCode: 2 });
  const what = `unknown option '${g.error.arg}': see 'vdevctl vdpa --help'`;
  const end = raw.indexOf("--");
  const clean = (end < 0 ? raw : raw.slice(0, end))
    .includes("--no-iproute2-compat");
  throw clean ? new VdevError(what, { exitCode: 2 }) : new VdevError(what, {
    stderr: getoptErrorText(g.error, programName()),
  });
}

/** Parses `words`; a refusal in compat mode as iproute2 words it. */
function parseWords(words: readonly string[], fmt: VdpaFormatOptions) {
  try {
    return parseVdpaArgs(words, { compat: fmt.compat });
  } catch (err) {
    if (!(err instanceof VdpaUsageError) || !fmt.compat) throw err;
    if (err.iproute2 === undefined) throw err;
    // iproute2 has opened its JSON output by then: the lone newline.
    out(formatEmpty(fmt));
    throw new VdevError(err.message, { stderr: err.iproute2 });
  }
}

/** Builds the `vdpa` command. */
export function command(): CommandUnknownOpts {
  const vdpa = new Command("vdpa")
    .description("vDPA management devices and devices (as iproute2's vdpa)")
    .usage("[-V] [-j|--json] [-p|--pretty] { mgmtdev | dev } COMMAND ...")
    .option(
      "-V, --Version",
      "print the iproute2 version followed and exit (commands/version.ts)",
    )
    .option("-j, --json", "JSON output")
    .option("-p, --pretty", "pretty JSON (with -j)")
    .option(
      "--iproute2 <VERSION>",
      "the iproute2 whose output to follow: 6.1 or 6.15 (default: $VDEVCTL_IPROUTE2_COMPAT or 6.1)",
    )
    .option(
      "--no-iproute2-compat",
      "fix iproute2 6.1's output quirks instead of reproducing them",
    )
    .argument("[ARGS...]", "OBJECT COMMAND [ARGS], iproute2 keyword syntax")
    .addHelpText("after", HELP_AFTER)
    .action(async (raw: string[], _opts, cmd) => {
      const o = vdpaOptions(raw);
      if (o.help) {
        cmd.outputHelp();
        return;
      }
      // Refuses an unknown release; 6.1 and 6.15 print the same output
      // (only -V differs: commands/version.ts).
      iproute2Version(o.iproute2, Deno.env.get("VDEVCTL_IPROUTE2_COMPAT"));
      const fmt = { json: o.json, pretty: o.pretty, compat: o.compat };
      await run(parseWords(o.words, fmt), fmt, rootOf(cmd));
    });
  // The options are declared for help and completion only: every word
  // after `vdpa` reaches the action as it was given, and vdpaOptions takes
  // the options out as iproute2 does (commander's parser knows neither
  // getopt's abbreviations nor its errors).
  vdpa.parseOptions = (args) => ({ operands: [...args], unknown: [] });
  return vdpa;
}
