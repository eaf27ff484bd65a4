/**
 * Test helper: run a command to completion with its output captured as
 * text (stdin closed), for tests that check exit status and output.
 *
 * @module
 */

/** What a finished command printed and returned. */
export interface CommandResult {
  /** Exit status. */
  code: number;
  /** Standard output, decoded. */
  stdout: string;
  /** Standard error, decoded. */
  stderr: string;
}

/** Runs `argv` (program first) with optional `cwd` and `env`. */
export async function runCommand(
  argv: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CommandResult> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** The program's files a launcher copy needs (the rest stays behind). */
const PROGRAM_FILES = ["vdevctl", "main.ts", "deno.json", "package.json"];
const PROGRAM_DIRS = ["commands", "lib"];
const RUNTIME_PACKAGES = ["commander", "@commander-js"];

let reachable: { dir: string; denoDir: string } | undefined;

/** Hard-links `from` to `to` (same file system), else copies it. */
function linkOrCopy(from: string, to: string): void {
  try {
    Deno.linkSync(from, to);
  } catch {
    Deno.copyFileSync(from, to);
  }
}

function copyTree(from: string, to: string): void {
  Deno.mkdirSync(to, { recursive: true, mode: 0o755 });
  for (const e of Deno.readDirSync(from)) {
    const src = `${from}/${e.name}`;
    const real = e.isSymlink ? Deno.realPathSync(src) : src;
    if (Deno.statSync(real).isDirectory) copyTree(real, `${to}/${e.name}`);
    else linkOrCopy(real, `${to}/${e.name}`);
  }
}

/**
 * A copy of the launcher and the program in a world-readable temporary
 * directory, for running vdevctl as another user (`nobody`): the clone may
 * sit in a 0700 directory (`/root`, `mktemp -d`) that such a user cannot
 * enter. Made once per test process, removed when it ends. Returns the
 * copy's launcher and a DENO_DIR that user can write.
 */
export function reachableLauncher(): { launcher: string; denoDir: string } {
  if (reachable === undefined) {
    const dir = Deno.makeTempDirSync({ dir: "/tmp", prefix: "vdevctl-copy-" });
    Deno.chmodSync(dir, 0o755);
    for (const f of PROGRAM_FILES) linkOrCopy(`${REPO}/${f}`, `${dir}/${f}`);
    for (const d of PROGRAM_DIRS) copyTree(`${REPO}/${d}`, `${dir}/${d}`);
    const modules = Deno.realPathSync(`${REPO}/node_modules`);
    for (const p of RUNTIME_PACKAGES) {
      copyTree(`${modules}/${p}`, `${dir}/node_modules/${p}`);
    }
    Deno.mkdirSync(`${dir}/node_modules/.bin`, { recursive: true });
    linkOrCopy(Deno.execPath(), `${dir}/node_modules/.bin/deno`);
    Deno.chmodSync(`${dir}/node_modules/.bin/deno`, 0o755);
    const denoDir = `${dir}/deno-dir`;
    Deno.mkdirSync(denoDir, { mode: 0o777 });
    Deno.chmodSync(denoDir, 0o777);
    reachable = { dir, denoDir };
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already gone
      }
    });
  }
  return {
    launcher: `${reachable.dir}/vdevctl`,
    denoDir: reachable.denoDir,
  };
}

/**
 * The argv that runs `vdevctl ARGS` as `nobody` (uid and gid 65534, no
 * groups) from {@linkcode reachableLauncher}'s copy.
 */
export function asNobodyArgv(args: readonly string[]): string[] {
  const { launcher, denoDir } = reachableLauncher();
  return [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "env",
    `DENO_DIR=${denoDir}`,
    "HOME=/tmp",
    launcher,
    ...args,
  ];
}

/**
 * What `./vdevctl` runs before its entry module: `deno` and these flags, with
 * the checkout's deno.json (keep in step with the launcher script): an
 * installed copy (`repo` holds the bundles) also gets the launcher's larger
 * young generation.
 */
export function launcherDenoArgv(
  deno: string,
  options: { repo?: string } = {},
): string[] {
  const repo = options.repo ?? REPO;
  let installed = false;
  try {
    installed = Deno.statSync(`${repo}/commands/mdev_fast.bundle.js`).isFile;
  } catch {
    // a checkout
  }
  return [
    deno,
    "run",
    "--quiet",
    "--no-prompt",
    "--config",
    `${repo}/deno.json`,
    "--allow-all",
    ...(installed ? [LAUNCHER_YOUNG_FLAG] : []),
  ];
}

/** The V8 flag an installed copy's launcher adds (see `vdevctl`). */
export const LAUNCHER_YOUNG_FLAG = "--v8-flags=--min-semi-space-size=32";
