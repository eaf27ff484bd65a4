/**
 * `vdevctl vdpa`: iproute2 `vdpa` syntax and output (text, `-j`, `-jp`).
 *
 * @module
 */

import { Command, type CommandUnknownOpts } from "commander";
import {
  closeVdpa,
  formatDevConfigShow,
  formatDevShow,
  formatDevVstatsShow,
  formatEmpty,
  formatMgmtdevShow,
  openVdpa,
  parseVdpaArgs,
  VDPA_USAGE,
  type VdpaCommand,
  vdpaDevAdd,
  vdpaDevConfigShow,
  vdpaDevDel,
  vdpaDevShow,
  vdpaDevVstatsShow,
  type VdpaFormatOptions,
  vdpaMgmtdevShow,
  type VdpaReply,
  type VdpaSession,
} from "../lib/vdpa/mod.ts";
import { out } from "./context.ts";

const HELP_AFTER = `
${VDPA_USAGE}
Output is byte-identical to iproute2 6.1's vdpa, including its quirks:
JSON keys "link " and "link_announce " with a trailing space, qidx 0 shown
as control_vq when MQ is not negotiated, and the empty JSON section printed
on stdout when a command fails. --no-iproute2-compat fixes them ("link",
"link_announce", the control queue found from the real queue-pair count,
nothing on stdout on failure). Errors are one line on stderr with the
kernel's own message, and exit with status 1 (vstats too, unlike iproute2).`;

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

async function run(cmd: VdpaCommand, fmt: VdpaFormatOptions): Promise<void> {
  switch (cmd.op) {
    case "help":
      out(VDPA_USAGE);
      return;
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
        fmt,
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

/** Builds the `vdpa` command. */
export function command(): CommandUnknownOpts {
  return new Command("vdpa")
    .description("vDPA management devices and devices (as iproute2's vdpa)")
    .usage("[-j|--json] [-p|--pretty] { mgmtdev | dev } COMMAND ...")
    .option("-j, --json", "JSON output")
    .option("-p, --pretty", "pretty JSON (with -j)")
    .option(
      "--no-iproute2-compat",
      "fix iproute2 6.1's output quirks instead of reproducing them",
    )
    .argument("[args...]", "OBJECT COMMAND [ARGS], iproute2 keyword syntax")
    .addHelpText("after", HELP_AFTER)
    .action(async (args, opts) => {
      const cmd = parseVdpaArgs(args);
      await run(cmd, {
        json: opts.json ?? false,
        pretty: opts.pretty ?? false,
        compat: opts.iproute2Compat,
      });
    });
}
