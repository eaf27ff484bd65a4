/**
 * tests/host_packages.sh: the apt-get command lines it runs, and that it
 * waits while another apt-get or dpkg holds apt's lock (against scripted
 * `id`, `apt-get` and `sleep` on an otherwise empty PATH, so every package
 * counts as missing).
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";

const SCRIPT = new URL("./host_packages.sh", import.meta.url).pathname;

/** Runs the script with `aptGet` as apt-get's body; returns status, output and the calls. */
async function runScript(aptGet: string) {
  const dir = await Deno.makeTempDir({ prefix: "vdevctl-hostpkg-" });
  try {
    const stub = async (name: string, body: string) =>
      await Deno.writeTextFile(
        `${dir}/${name}`,
        `#!/bin/bash\necho "${name} $*" >> ${dir}/calls\n${body}\n`,
        { mode: 0o755 },
      );
    await stub("id", "echo 0");
    // Bash builtins only (PATH holds nothing else); a runaway wait loop
    // stops at the tenth pause.
    const count = (what: string) =>
      `n=0; while read -r l; do [[ $l == ${what}* ]] && n=$((n + 1)); done < ${dir}/calls`;
    await stub("sleep", `${count("sleep")}; [ "$n" -lt 10 ]`);
    await stub(
      "apt-get",
      `${
        count("apt-get")
      }\necho "DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> ${dir}/calls\n${aptGet}`,
    );
    const out = await new Deno.Command("/bin/bash", {
      args: [SCRIPT],
      env: { PATH: dir },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    const calls = (await Deno.readTextFile(`${dir}/calls`)).trim().split("\n")
      .filter((l) => !l.startsWith("id "));
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
      calls,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const BUSY =
  `echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 967 (apt-get)" >&2; exit 100`;

Deno.test("host_packages.sh: waits for a busy apt lock, then updates and installs", async () => {
  const r = await runScript(
    `case "$*" in *update*) [ "$n" -ge 3 ] || { ${BUSY}; };; esac; exit 0`,
  );
  assert.equal(r.code, 0, r.stderr);
  // Only bash-completion is found by path, not on PATH.
  let completion = false;
  try {
    completion = Deno.statSync("/usr/share/bash-completion/bash_completion")
      .isFile;
  } catch {
    completion = false;
  }
  const need = ["mdevctl", "iproute2", "gcc", "util-linux", "man-db"]
    .concat(completion ? [] : ["bash-completion"], [
      "zsh",
      "fish",
      "ansible-core",
    ]);
  // libvirtd is found by path too; libvirt goes in without recommends.
  const lean = (existsSync("/usr/sbin/libvirtd") ? [] : ["libvirt-daemon"])
    .concat(["libvirt-clients"]);
  assert.match(r.stdout, /^host packages: installing mdevctl iproute2 gcc /m);
  assert.match(
    r.stdout,
    /^host packages: waiting for another apt-get or dpkg to finish$/m,
  );
  const update = "apt-get -o DPkg::Lock::Timeout=300 update -qq";
  assert.deepEqual(r.calls.filter((c) => !c.startsWith("DEBIAN_FRONTEND")), [
    update,
    "sleep 1",
    update,
    "sleep 2",
    update,
    `apt-get -o DPkg::Lock::Timeout=300 install -y -qq ${need.join(" ")}`,
    `apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends ${
      lean.join(" ")
    }`,
  ]);
  assert.ok(
    r.calls.filter((c) => c.startsWith("DEBIAN_FRONTEND"))
      .every((c) => c === "DEBIAN_FRONTEND=noninteractive"),
  );
});

Deno.test("host_packages.sh: another apt-get error fails at once", async () => {
  const r = await runScript(
    `echo "E: The repository is not signed." >&2; exit 100`,
  );
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^E: The repository is not signed\.$/m);
  assert.deepEqual(r.calls, [
    "apt-get -o DPkg::Lock::Timeout=300 update -qq",
    "DEBIAN_FRONTEND=noninteractive",
  ]);
});
