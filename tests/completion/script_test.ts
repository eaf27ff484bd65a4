/**
 * The completion scripts (lib/completion/script.ts) through the real shells:
 * bash (with bash-completion), zsh and fish source the scripts shipped in
 * `completions/`, which call the launcher, which reads live values from the
 * example tree.
 */

import assert from "node:assert/strict";
import { type CommandResult, runCommand } from "../command_output.ts";

const repo = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const deno = Deno.execPath();
const sysroot = `${repo}/examples/sysroot`;
const SCRIPTS = { bash: "vdevctl.bash", zsh: "_vdevctl", fish: "vdevctl.fish" };

/** A PATH with `vdevctl` (the launcher) first. */
function pathWithLauncher(): string {
  const bin = Deno.makeTempDirSync({ prefix: "vdevctl-completion-" });
  Deno.symlinkSync(`${repo}/vdevctl`, `${bin}/vdevctl`);
  return `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`;
}

const PATH = pathWithLauncher();

function run(
  cmd: string[],
  env: Record<string, string> = {},
): Promise<CommandResult> {
  return runCommand(cmd, {
    cwd: repo,
    env: { PATH, VDEVCTL_ROOT: sysroot, ...env },
  });
}

/** Candidates a shell offers for `line` (the cursor at its end). */
async function offered(shell: "bash" | "zsh" | "fish", line: string) {
  const script = `completions/${SCRIPTS[shell]}`;
  const words = line.split(" ");
  const quoted = words.map((w) => `'${w}'`).join(" ");
  let code: string;
  if (shell === "bash") {
    // bash splits words at COMP_WORDBREAKS characters such as ":".
    const bashWords = words.flatMap((w) =>
      w.split(/(:)/).filter((p, _i, a) => p !== "" || a.length === 1)
    );
    const bashQuoted = bashWords.map((w) => `'${w}'`).join(" ");
    code = `source /usr/share/bash-completion/bash_completion
source ${script}
COMP_WORDS=(${bashQuoted}); COMP_CWORD=${bashWords.length - 1}
COMP_LINE='${line}'; COMP_POINT=\${#COMP_LINE}
__vdevctl_complete 2>/dev/null; printf '%s\\n' "\${COMPREPLY[@]}"`;
  } else if (shell === "zsh") {
    // No terminal: stub the completion system's output functions.
    code = `compdef() { :; }
_describe() { print -rl -- "\${completions[@]}" }
compadd() { :; }
source ${script}
words=(${quoted}); CURRENT=${words.length}
_vdevctl`;
  } else {
    code = `source ${script}; complete -C '${line}'`;
  }
  const r = await run([shell, "-c", code]);
  assert.equal(r.code, 0, `${shell}: ${r.stderr}`);
  // zsh's _describe takes "value:description" with ":" in values escaped.
  const value = (l: string) =>
    shell === "zsh"
      ? l.split(/(?<!\\):/)[0].replaceAll("\\:", ":")
      : l.split("\t")[0];
  return r.stdout.split("\n").filter((l) => l).map(value);
}

Deno.test("completions/ holds exactly what `vdevctl completion SHELL` prints", async () => {
  for (const [shell, file] of Object.entries(SCRIPTS)) {
    const r = await run([deno, "run", "-A", "main.ts", "completion", shell]);
    assert.equal(r.code, 0, r.stderr);
    const shipped = Deno.readTextFileSync(`${repo}/completions/${file}`);
    assert.equal(
      shipped,
      r.stdout,
      `completions/${file} is stale: regenerate it with ./vdevctl completion ${shell}`,
    );
  }
});

Deno.test("completion rejects an unknown shell with a one-line error", async () => {
  const r = await run([deno, "run", "-A", "main.ts", "completion", "tcsh"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /tcsh/);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
});

for (const shell of ["bash", "zsh", "fish"] as const) {
  Deno.test(`${shell}: command families, then live mdev values`, async () => {
    const families = await offered(shell, "vdevctl ");
    for (const f of ["mdev", "vdpa", "vduse", "mvnet", "sandbox"]) {
      assert.ok(families.includes(f), `${f} missing in ${families}`);
    }
    assert.ok(!families.includes("complete"), "internal command offered");
    const parents = await offered(shell, "vdevctl mdev start --parent ");
    assert.deepEqual(parents.sort(), ["0000:00:02.0", "mtty"]);
    // A PCI parent completes whole; bash replaces only the text after the
    // last ":" on the command line, so it is offered the rest.
    const pci = await offered(shell, "vdevctl mdev start --parent 0000:0");
    assert.deepEqual(pci, [shell === "bash" ? "00:02.0" : "0000:00:02.0"]);
    const types = await offered(shell, "vdevctl mdev start -p mtty --type ");
    assert.deepEqual(types.sort(), ["mtty-1", "mtty-2"]);
    const uuids = await offered(shell, "vdevctl mdev stop --uuid ");
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
    const cpus = await offered(shell, "vdevctl mvnet run --irq-cpus ");
    assert.deepEqual(cpus.sort(), ["0", "1", "2", "3"]);
  });
}
