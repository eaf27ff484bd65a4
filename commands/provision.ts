/**
 * `vdevctl apply | diff | export | assert`: declarative provisioning of
 * mdev, VDUSE, vDPA devices and mvnet daemons from a manifest. Argument
 * handling and output only; the work is in lib/provision/.
 *
 * @module
 */

import { Command, type CommandUnknownOpts } from "commander";
import { VdevError } from "../lib/errors.ts";
import {
  type Action,
  applyManifest,
  etcManifestPaths,
  exportManifest,
  hostDifferences,
  type Manifest,
  manifestToYaml,
  readManifests,
  runUdevTrigger,
  SystemHost,
  udevTrigger,
} from "../lib/provision/mod.ts";
import { out, rootOf, warn } from "./context.ts";

/** The top-level words this module provides. */
export const PROVISION_COMMANDS = ["apply", "diff", "export", "assert"];

interface Sources {
  etc?: boolean;
}

async function desired(
  cmd: CommandUnknownOpts,
  files: string[],
  opts: Sources,
): Promise<Manifest> {
  if (opts.etc && files.length > 0) {
    throw new VdevError("give manifest files or --etc, not both");
  }
  const paths = opts.etc ? etcManifestPaths(rootOf(cmd)) : files;
  if (paths.length === 0) {
    throw new VdevError(
      opts.etc
        ? "no manifests in /etc/vdevctl (*.json): nothing to apply"
        : "no manifest given: give FILE, - for stdin, or --etc",
    );
  }
  return await readManifests(paths);
}

function actionJson(a: Action) {
  return { op: a.op, kind: a.kind, id: a.id, text: a.text };
}

const FILES_HELP = "manifest files (- for stdin), merged";
const ETC_HELP = "the host's manifests, /etc/vdevctl/*.{json,yaml,yml}";

function applyCommand(): CommandUnknownOpts {
  return new Command("apply")
    .argument("[FILES...]", FILES_HELP)
    .option("--etc", ETC_HELP)
    .description(
      "make the host match a manifest: plan, apply in dependency order, verify, roll back on failure",
    )
    .option("--dry-run", "print the plan, change nothing")
    .option(
      "--prune",
      "remove devices of the manifest's kinds it does not list",
    )
    .option("--no-verify", "do not read the host back after applying")
    .option("--json", 'print {"changed": bool, "actions": [...]}')
    .option(
      "--from-udev",
      "with --etc, for the udev rule: hand the apply to vdevctl-apply.service (systemd) or a background process, and return at once",
    )
    .action(async function (files, opts) {
      if (opts.fromUdev) {
        if (!opts.etc || files.length > 0 || opts.dryRun) {
          throw new VdevError(
            "--from-udev goes with --etc only (the udev rule's call): drop the files and --dry-run",
          );
        }
        out(runUdevTrigger(udevTrigger(rootOf(this))) + "\n");
        return;
      }
      const manifest = await desired(this, files, opts);
      const r = await applyManifest(new SystemHost(rootOf(this)), manifest, {
        dryRun: opts.dryRun,
        prune: opts.prune,
        verify: opts.verify,
        deferMissing: opts.etc,
      });
      warn(r.warnings);
      if (opts.json) {
        out(
          JSON.stringify({
            changed: r.changed,
            actions: r.actions.map(actionJson),
          }) + "\n",
        );
      } else if (!r.changed) {
        out("no changes: the host already matches the manifest\n");
      } else {
        out(r.actions.map((a) => a.text + "\n").join(""));
        if (opts.dryRun) out("(dry run: nothing changed)\n");
      }
    });
}

function diffCommand(): CommandUnknownOpts {
  return new Command("diff")
    .argument("[FILES...]", FILES_HELP)
    .option("--etc", ETC_HELP)
    .description("print the plan, one line per action, in apply's order")
    .option("--prune", "include removals of unlisted devices")
    .option("--json", "print the actions as JSON")
    .action(async function (files, opts) {
      const manifest = await desired(this, files, opts);
      const d = hostDifferences(new SystemHost(rootOf(this)), manifest, opts);
      warn(d.warnings);
      out(
        opts.json
          ? JSON.stringify(d.actions.map(actionJson)) + "\n"
          : d.actions.map((a) => a.text + "\n").join(""),
      );
    });
}

function assertCommand(): CommandUnknownOpts {
  return new Command("assert")
    .argument("[FILES...]", FILES_HELP)
    .option("--etc", ETC_HELP)
    .description(
      "exit 0 when the host matches the manifest, 1 with the differences",
    )
    .option("--prune", "unlisted devices of the manifest's kinds count too")
    .action(async function (files, opts) {
      const manifest = await desired(this, files, opts);
      const d = hostDifferences(new SystemHost(rootOf(this)), manifest, opts);
      warn(d.warnings);
      if (d.actions.length > 0) {
        out(d.actions.map((a) => a.text + "\n").join(""));
        throw new VdevError(
          `the host does not match the manifest: ${d.actions.length} difference(s)`,
        );
      }
    });
}

function exportCommand(): CommandUnknownOpts {
  return new Command("export")
    .description("print the host's devices as a manifest that apply accepts")
    .option("--json", "one line of JSON (default: indented)")
    .option("--yaml", "YAML, as nmstate prints its state")
    .action(async function (opts) {
      if (opts.json && opts.yaml) {
        throw new VdevError("export: --json and --yaml: give one of them");
      }
      const read = new SystemHost(rootOf(this)).read();
      const e = exportManifest(read.state);
      warn([...read.warnings, ...e.warnings]);
      out(
        opts.yaml
          ? await manifestToYaml(e.manifest)
          : JSON.stringify(e.manifest, null, opts.json ? 0 : 2) + "\n",
      );
    });
}

/** Builds the command `name` (apply, diff, export or assert). */
export function command(name = "apply"): CommandUnknownOpts {
  switch (name) {
    case "diff":
      return diffCommand();
    case "export":
      return exportCommand();
    case "assert":
      return assertCommand();
    default:
      return applyCommand();
  }
}
