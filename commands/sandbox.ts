/**
 * `vdevctl sandbox`: a throwaway real-kernel sandbox (Debian's Linux 6.12 in
 * QEMU/TCG). Argument parsing and output only; the work is in
 * lib/sandbox/run.ts.
 *
 * @module
 */

import { jsonText } from "../lib/json_keys.ts";
import {
  Command,
  type CommandUnknownOpts,
  InvalidArgumentError,
} from "commander";
import {
  DEFAULT_BOOT_TIMEOUT_SEC,
  DEFAULT_MEMORY_MIB,
  DEFAULT_TIMEOUT_SEC,
  kernelCache,
  sandboxClean,
  sandboxRun,
  sandboxShell,
  sandboxStatus,
} from "../lib/sandbox/mod.ts";

function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n <= 0) {
      throw new InvalidArgumentError(`${what} must be a positive integer`);
    }
    return n;
  };
}

function moduleList(value: string, prev: string[] = []): string[] {
  const names = value.split(/[,\s]+/).filter((s) => s !== "");
  for (const n of names) {
    if (!/^[A-Za-z0-9_-]+$/.test(n)) {
      throw new InvalidArgumentError(`invalid module name '${n}'`);
    }
  }
  return [...prev, ...names];
}

function envPair(value: string, prev: Record<string, string> = {}) {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError("expected KEY=VALUE");
  return { ...prev, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** Builds the `sandbox` command. */
export function command(): CommandUnknownOpts {
  const sandbox = new Command("sandbox").description(
    "throwaway real-kernel (Linux 6.12) sandbox in QEMU",
  );

  sandbox.command("run")
    .description(
      "run CMD as root in a fresh guest (same working directory); prints its output and exits with its status",
    )
    .argument("<CMD...>", "command and arguments (after --)")
    .option(
      "-m, --modules <MODULES>",
      "modules to load first, comma-separated (e.g. mtty,vdpa_sim_net)",
      moduleList,
    )
    .option(
      "-t, --timeout <SECONDS>",
      `time limit for CMD, counted from its start in the guest (booting has its own limit of ${DEFAULT_BOOT_TIMEOUT_SEC} s)`,
      positiveInt("--timeout"),
      DEFAULT_TIMEOUT_SEC,
    )
    .option(
      "--memory <MIB>",
      "guest memory",
      positiveInt("--memory"),
      DEFAULT_MEMORY_MIB,
    )
    .option("-e, --env <KEY=VALUE>", "set a variable (repeatable)", envPair)
    .option("-C, --cwd <DIR>", "working directory in the guest")
    .option("-q, --quiet", "no progress display")
    .action(async (cmd, opts) => {
      const r = await sandboxRun(cmd, {
        modules: opts.modules,
        timeoutSec: opts.timeout,
        memoryMiB: opts.memory,
        env: opts.env,
        cwd: opts.cwd,
        output: "stream",
        progress: opts.quiet ? "none" : "auto",
      });
      Deno.exit(r.code);
    });

  sandbox.command("shell")
    .description("interactive shell in a fresh guest on the serial console")
    .option(
      "-m, --modules <MODULES>",
      "modules to load first, comma-separated",
      moduleList,
    )
    .option(
      "--memory <MIB>",
      "guest memory",
      positiveInt("--memory"),
      DEFAULT_MEMORY_MIB,
    )
    .option("-q, --quiet", "no progress display")
    .action(async (opts) => {
      const code = await sandboxShell({
        modules: opts.modules,
        memoryMiB: opts.memory,
        progress: opts.quiet ? "none" : "auto",
      });
      Deno.exit(code);
    });

  sandbox.command("prepare")
    .description(
      "download and build the kernel cache now (--update: newest version)",
    )
    .option("--update", "ask apt for a newer kernel even if one is cached")
    .option("-q, --quiet", "no progress display")
    .action(async (opts) => {
      const k = await kernelCache({
        update: opts.update,
        progress: opts.quiet ? "none" : "auto",
      });
      console.log(`Linux ${k.version} (${k.kver}) ready in ${k.dir}`);
    });

  sandbox.command("status")
    .description("show what is cached: kernel versions, sizes, modules built")
    .option("--json", "JSON output")
    .action(async (opts) => {
      const s = await sandboxStatus();
      if (opts.json) {
        console.log(jsonText(s));
        return;
      }
      console.log(`cache: ${s.cacheDir} (${mib(s.totalBytes)})`);
      if (s.kernels.length === 0) {
        console.log("no kernel cached (the next 'sandbox run' prepares one)");
      }
      for (const k of s.kernels) {
        console.log(`kernel: Linux ${k.version} (${k.kver}), ${mib(k.bytes)}`);
        console.log(`  dir: ${k.dir}`);
        console.log(`  modules built: ${k.extraModules.join(" ")}`);
        console.log(`  uapi include: ${k.uapiInclude}`);
      }
    });

  sandbox.command("clean")
    .description("remove everything cached")
    .action(async () => {
      const freed = await sandboxClean();
      console.log(`removed the sandbox cache (${mib(freed)} freed)`);
    });

  return sandbox;
}
