/**
 * `deno task install|uninstall [--prefix DIR] [--destdir DIR]
 * [--personalities] [--force]`, and `deno task man [--check]`, which writes
 * (or checks) the man pages in `man/` from the command tree.
 *
 * @module
 */

import { buildProgram } from "../main.ts";
import { messageOf, VdevError } from "../lib/errors.ts";
import { install, manPages, uninstall } from "../lib/install/mod.ts";

const SOURCE = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

const USAGE =
  `usage: deno task install [--prefix DIR] [--destdir DIR] [--personalities] [--force]
       deno task uninstall [--prefix DIR] [--destdir DIR]
       deno task man [--check]`;

interface Args {
  action: string;
  prefix?: string;
  destdir?: string;
  personalities: boolean;
  force: boolean;
  check: boolean;
}

function parse(argv: string[]): Args {
  const args: Args = {
    action: argv[0] ?? "",
    personalities: false,
    force: false,
    check: false,
  };
  if (!["install", "uninstall", "man"].includes(args.action)) {
    throw new VdevError(USAGE, { exitCode: 2 });
  }
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--(prefix|destdir)(?:=(.*))?$/.exec(a);
    if (m && args.action !== "man") {
      const value = m[2] ?? argv[++i];
      if (value === undefined) {
        throw new VdevError(`--${m[1]} needs a folder`, { exitCode: 2 });
      }
      args[m[1] as "prefix" | "destdir"] = value;
    } else if (a === "--personalities" && args.action === "install") {
      args.personalities = true;
    } else if (a === "--force" && args.action === "install") {
      args.force = true;
    } else if (a === "--check" && args.action === "man") {
      args.check = true;
    } else {
      throw new VdevError(`unknown argument '${a}'\n${USAGE}`, { exitCode: 2 });
    }
  }
  return args;
}

/** vdevctl's version, from package.json. */
function version(): string {
  return JSON.parse(Deno.readTextFileSync(`${SOURCE}/package.json`)).version;
}

/** The man pages of the whole command tree. */
export async function currentManPages(): Promise<ReturnType<typeof manPages>> {
  const program = await buildProgram([]);
  return manPages(program as never, { version: version() });
}

/** Writes man/ (or, with `check`, says which pages differ from the tree). */
async function man(check: boolean): Promise<number> {
  const pages = await currentManPages();
  const stale: string[] = [];
  Deno.mkdirSync(`${SOURCE}/man`, { recursive: true });
  const want = new Set<string>();
  for (const p of pages) {
    const file = `${SOURCE}/man/${p.name}.${p.section}`;
    want.add(`${p.name}.${p.section}`);
    let old = "";
    try {
      old = Deno.readTextFileSync(file);
    } catch {
      // New page.
    }
    if (old === p.text) continue;
    stale.push(file);
    if (!check) Deno.writeTextFileSync(file, p.text);
  }
  for (const e of Deno.readDirSync(`${SOURCE}/man`)) {
    if (want.has(e.name)) continue;
    stale.push(`${SOURCE}/man/${e.name}`);
    if (!check) Deno.removeSync(`${SOURCE}/man/${e.name}`);
  }
  if (check && stale.length > 0) {
    console.error(
      `man pages out of date: ${stale.join(", ")}: run 'deno task man'`,
    );
    return 1;
  }
  return 0;
}

async function run(argv: string[]): Promise<number> {
  const args = parse(argv);
  const log = (line: string) =>
    console.error(`vdevctl ${args.action}: ${line}`);
  if (args.action === "man") return await man(args.check);
  if (args.action === "uninstall") {
    const m = await uninstall({
      prefix: args.prefix,
      destdir: args.destdir,
      log,
    });
    log(`removed vdevctl ${m.version} (${m.entries.length} entries)`);
    return 0;
  }
  const result = await install({
    source: SOURCE,
    prefix: args.prefix,
    destdir: args.destdir,
    personalities: args.personalities,
    force: args.force,
    manPages: await currentManPages(),
    version: version(),
    log,
  });
  log(
    `installed vdevctl ${result.manifest.version}: ${
      args.destdir ?? ""
    }${result.layout.bindir}/vdevctl (${result.manifest.entries.length} entries)`,
  );
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exitCode = await run(Deno.args);
  } catch (err) {
    console.error(
      err instanceof VdevError
        ? `vdevctl: ${err.message}`
        : `vdevctl: internal error: ${messageOf(err)}`,
    );
    Deno.exitCode = err instanceof VdevError ? err.exitCode : 70;
  }
}
