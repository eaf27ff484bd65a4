/**
 * The completion scripts (lib/completion/script.ts) through the real shells:
 * bash (with bash-completion), zsh and fish source a generated script, which
 * calls the launcher by absolute path (vdevctl is not on PATH), which reads
 * live values from the example tree or a copy of it. Covers: no code runs
 * from a file name or from the typed line, quoting, path options, comma
 * lists, flags not offered twice, sourcing twice, real UUIDs only, and the
 * time limit on a program stuck in a read.
 */

import assert from "node:assert/strict";
import { type CommandResult, runCommand } from "../command_output.ts";
import { completionScript, type Shell } from "../../lib/completion/script.ts";
import { tempExampleTree } from "../mdev/fake_tree.ts";

const repo = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const deno = Deno.execPath();
const sysroot = `${repo}/examples/sysroot`;
const SHIPPED = { bash: "vdevctl.bash", zsh: "_vdevctl", fish: "vdevctl.fish" };
const SHELLS: Shell[] = ["bash", "zsh", "fish"];
/** No vdevctl on it: the scripts must call the launcher by its path. */
const PATH = "/usr/local/bin:/usr/bin:/bin";

const scratch = Deno.makeTempDirSync({ prefix: "vdevctl-completion-" });

/** A script file for `shell` that calls `program` (default: the launcher). */
function scriptFor(shell: Shell, program = `${repo}/vdevctl`): string {
  const file = `${scratch}/${shell}-${program.replace(/\W/g, "_")}`;
  Deno.writeTextFileSync(file, completionScript(shell, { program }));
  return file;
}

interface Offer {
  values: string[];
  result: CommandResult;
  ms: number;
}

/** Quotes for the harness's own shell code (single quotes). */
const q = (w: string) => `'${w.replaceAll("'", `'\\''`)}'`;

/** What `shell` offers for `line` (the cursor at its end). */
async function offered(
  shell: Shell,
  line: string,
  options: {
    root?: string;
    cwd?: string;
    script?: string;
    twice?: boolean;
    limit?: number;
  } = {},
): Promise<Offer> {
  const script = options.script ?? scriptFor(shell);
  const source = `source ${q(script)}\n`.repeat(options.twice ? 2 : 1);
  const words = line.split(" ");
  let code: string;
  if (shell === "bash") {
    // bash splits words at COMP_WORDBREAKS characters such as ":" and "=".
    const bashWords = words.flatMap((w) =>
      w.split(/([:=])/).filter((p, _i, a) => p !== "" || a.length === 1)
    );
    code = `source /usr/share/bash-completion/bash_completion
${source}COMP_WORDS=(${bashWords.map(q).join(" ")}); COMP_CWORD=${
      bashWords.length - 1
    }
COMP_LINE=${q(line)}; COMP_POINT=\${#COMP_LINE}
__vdevctl_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
  } else if (shell === "zsh") {
    // No terminal: stub the completion system's output functions.
    code = `compdef() { :; }
compadd() { while [[ $1 != -- ]]; do shift; done; shift; print -rl -- "$@"; }
_files() { if [[ $1 == -/ ]]; then print DIRS; else print FILES; fi; }
${source}words=(${words.map(q).join(" ")}); CURRENT=${words.length}
_vdevctl || true`;
  } else {
    code = `${source}complete -C ${q(line)}`;
  }
  const started = performance.now();
  // A hung script ends as exit 124 (a failure), not as a hung test.
  const result = await runCommand(["timeout", "120", shell, "-c", code], {
    cwd: options.cwd ?? scratch,
    env: {
      PATH,
      VDEVCTL_ROOT: options.root ?? sysroot,
      // Generous on a loaded machine (the first run compiles the program).
      VDEVCTL_COMPLETE_TIMEOUT: String(options.limit ?? 60),
    },
  });
  const ms = performance.now() - started;
  const values = result.stdout.split("\n").filter((l) => l).map((l) =>
    l.split("\t")[0]
  );
  return { values, result, ms };
}

async function values(shell: Shell, line: string, root?: string) {
  const r = await offered(shell, line, { root });
  assert.equal(r.result.code, 0, `${shell}: ${r.result.stderr}`);
  assert.equal(r.result.stderr, "", `${shell} ${line}`);
  return r.values;
}

/** Runs `vdevctl completion ARGS` from main.ts. */
function completion(...args: string[]): Promise<CommandResult> {
  return runCommand([
    deno,
    "run",
    "-A",
    `${repo}/main.ts`,
    "completion",
    ...args,
  ]);
}

Deno.test("completions/ holds exactly what `vdevctl completion SHELL --program vdevctl` prints", async () => {
  for (const [shell, file] of Object.entries(SHIPPED)) {
    const r = await completion(shell, "--program", "vdevctl");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      Deno.readTextFileSync(`${repo}/completions/${file}`),
      r.stdout,
      `completions/${file} is stale: regenerate it with ./vdevctl completion ${shell} --program vdevctl`,
    );
  }
});

Deno.test("completion: an unknown shell is a one-line error; the default program is the launcher", async () => {
  const bad = await completion("tcsh");
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /tcsh/);
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  const r = await completion("bash");
  assert.match(r.stdout, new RegExp(`local prog='${repo}/vdevctl'`));
  assert.doesNotMatch(r.stdout, /\beval\b|compgen -W|readonly/);
});

for (const shell of SHELLS) {
  Deno.test(`${shell}: families, then live mdev values, with vdevctl not on PATH`, async () => {
    const families = await values(shell, "vdevctl ");
    for (const f of ["mdev", "vdpa", "vduse", "mvnet", "sandbox"]) {
      assert.ok(families.includes(f), `${f} missing in ${families}`);
    }
    assert.ok(!families.includes("complete"), "internal command offered");
    const parents = await values(shell, "vdevctl mdev start --parent ");
    assert.deepEqual(parents.sort(), ["0000:00:02.0", "mtty"]);
    // bash replaces only the text after the last ":" of the word.
    const pci = await values(shell, "vdevctl mdev start --parent 0000:0");
    assert.deepEqual(pci, [shell === "bash" ? "00:02.0" : "0000:00:02.0"]);
    const eq = await values(shell, "vdevctl mdev start --parent=mt");
    assert.deepEqual(eq, [shell === "bash" ? "mtty" : "--parent=mtty"]);
    const types = await values(shell, "vdevctl mdev start -p mtty --type ");
    assert.deepEqual(types.sort(), ["mtty-1", "mtty-2"]);
    const uuids = await values(shell, "vdevctl mdev stop --uuid ");
    const expected = new Set([
      ...Deno.readDirSync(`${sysroot}/sys/bus/mdev/devices`),
    ].map((e) => e.name));
    for (const p of Deno.readDirSync(`${sysroot}/etc/mdevctl.d`)) {
      if (!p.isDirectory || p.name === "scripts.d") continue;
      for (const d of Deno.readDirSync(`${sysroot}/etc/mdevctl.d/${p.name}`)) {
        expected.add(d.name);
      }
    }
    assert.deepEqual(uuids.sort(), [...expected].sort());
    const cpus = await values(shell, "vdevctl mvnet run --irq-cpus ");
    assert.deepEqual(cpus.sort(), ["0", "1", "2", "3"]);
  });

  Deno.test(`${shell}: a file named $(touch PWNED) and a typed $(...) run nothing`, async () => {
    const root = tempExampleTree();
    const cwd = Deno.makeTempDirSync({ dir: scratch, prefix: "cwd-" });
    try {
      const bomb = "$(touch PWNED)";
      Deno.writeTextFileSync(`${root}/etc/mdevctl.d/mtty/${bomb}`, "{}");
      Deno.writeTextFileSync(`${root}/etc/mdevctl.d/mtty/\`touch PWNED3\``, "");
      Deno.mkdirSync(`${root}/sys/class/mdev_bus/${bomb}`);
      const lines = [
        "vdevctl mdev stop --uuid ",
        "vdevctl mdev start --parent ",
        "vdevctl mdev start --parent $(touch PWNED2) --type ",
        "vdevctl mdev start `touch PWNED4` ",
        "vdevctl mdev start -p mtty -u $(touch${IFS}PWNED5)",
      ];
      const seen: string[][] = [];
      for (const line of lines) {
        const r = await offered(shell, line, { root, cwd });
        assert.equal(r.result.code, 0, `${line}: ${r.result.stderr}`);
        seen.push(r.values);
      }
      assert.deepEqual([...Deno.readDirSync(cwd)].map((e) => e.name), []);
      // Only real UUIDs: no "$(touch PWNED)", no backquotes.
      assert.ok(seen[0].length >= 4, `${seen[0]}`);
      for (const v of seen[0]) assert.match(v, /^[0-9a-f-]{36}$/i);
      // A parent with shell syntax in its name is offered quoted (bash
      // inserts COMPREPLY as is; zsh's compadd and fish quote themselves).
      const shown = shell === "bash" ? "\\$\\(touch\\ PWNED\\)" : bomb;
      assert.ok(seen[1].includes(shown), `${seen[1]}`);
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  });

  Deno.test(`${shell}: paths for --root and --jsonfile, comma lists, given flags not again, sourced twice`, async () => {
    const cwd = Deno.makeTempDirSync({ dir: scratch, prefix: "paths-" });
    Deno.writeTextFileSync(`${cwd}/dev.json`, "{}");
    Deno.mkdirSync(`${cwd}/tree`);
    const run = async (line: string, twice = false) => {
      const r = await offered(shell, line, { cwd, twice });
      assert.equal(r.result.code, 0, r.result.stderr);
      assert.equal(r.result.stderr, "");
      return r.values;
    };
    const files = await run("vdevctl mdev define --jsonfile ");
    const dirs = await run("vdevctl --root ");
    if (shell === "zsh") {
      assert.deepEqual(files, ["FILES"]);
      assert.deepEqual(dirs, ["DIRS"]);
    } else {
      const norm = (v: string[]) => v.map((p) => p.replace(/\/$/, "")).sort();
      assert.deepEqual(norm(files), ["dev.json", "tree"]);
      assert.deepEqual(norm(dirs), ["tree"]);
    }
    const modules = await run("vdevctl sandbox run --modules mtty,");
    assert.ok(modules.includes("mtty,mdpy"), `${modules}`);
    assert.ok(!modules.includes("mtty,mtty"), `${modules}`);
    assert.ok(modules.every((m) => m.startsWith("mtty,")), `${modules}`);
    const flags = await run("vdevctl mdev start -p mtty --", true);
    assert.ok(flags.includes("--type"), `${flags}`);
    assert.ok(!flags.includes("--parent"), `${flags}`);
    const again = await run("vdevctl mdev start -p mtty -t mtty-1 --", true);
    assert.ok(
      !again.includes("--type") && again.includes("--uuid"),
      `${again}`,
    );
  });

  Deno.test(`${shell}: a program that hangs cannot hold the shell`, async () => {
    // A program stuck for good (a read the kernel never answers): the
    // script's time limit gives up and offers nothing.
    const hang = `${scratch}/hang-${shell}`;
    Deno.writeTextFileSync(hang, "#!/bin/sh\nexec sleep 60\n", { mode: 0o755 });
    const r = await offered(shell, "vdevctl mdev start -p mtty -t ", {
      script: scriptFor(shell, hang),
      limit: 1,
    });
    assert.equal(r.result.code, 0, r.result.stderr);
    assert.ok(r.ms < 8000, `${shell} waited ${r.ms} ms`);
    assert.deepEqual(r.values, []);
  });

  Deno.test(`${shell}: a FIFO in sysfs does not stall the answer`, async () => {
    // vdevctl reads sysfs attributes only from regular files, with a size
    // limit: the FIFO's type is still offered, without its description.
    const root = tempExampleTree();
    const fifo =
      `${root}/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1/name`;
    try {
      Deno.removeSync(fifo);
      const mk = await runCommand(["mkfifo", fifo]);
      assert.equal(mk.code, 0, mk.stderr);
      const r = await offered(shell, "vdevctl mdev start -p mtty -t ", {
        root,
      });
      assert.equal(r.result.code, 0, r.result.stderr);
      assert.deepEqual(r.values.sort(), ["mtty-1", "mtty-2"]);
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  });
}

Deno.test("a script for a program that is gone falls back to vdevctl on PATH", async () => {
  const script = scriptFor("bash", `${scratch}/no/such/vdevctl`);
  const bin = Deno.makeTempDirSync({ dir: scratch, prefix: "bin-" });
  Deno.symlinkSync(`${repo}/vdevctl`, `${bin}/vdevctl`);
  const code = `source /usr/share/bash-completion/bash_completion
source ${q(script)}
COMP_WORDS=(vdevctl mdev ''); COMP_CWORD=2; COMP_LINE='vdevctl mdev '; COMP_POINT=13
__vdevctl_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await runCommand(["bash", "-c", code], {
    env: { PATH: `${bin}:${PATH}`, VDEVCTL_ROOT: sysroot },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^start-parent-mdevs$/m);
});

Deno.test({
  name: "cleanup",
  fn: () => Deno.removeSync(scratch, { recursive: true }),
});
