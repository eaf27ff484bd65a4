/**
 * Issue 10's reliability items through `vdevctl mdev` on fake trees, with
 * real concurrent processes: concurrent writers serialized, stale temporary
 * files of dead writers cleaned and never listed, mode and owner kept, type
 * and parent names that climb out of sysfs refused, strict option parsing
 * (as mdevctl's clap), bounded reads of JSON files, definitions and sysfs
 * attributes, a missing `--root`, errnos as one named line, no generated
 * UUID in messages, and mdevctl 1.4's output switch.
 *
 * @module
 */

import assert from "node:assert/strict";
import { openMdev } from "../../lib/mdev/list.ts";
import { SysRoot } from "../../lib/root.ts";
import { tempExampleTree } from "./fake_tree.ts";
import { REPO, runVdevctl, snapshot, vdevctlArgv } from "./diff_helpers.ts";
import { readOr, waitFor } from "../provision/poll.ts";

const MTTY_DEF = "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70"; // mtty-2 on mtty, attrs x=1
const NEW = "11111111-2222-4333-8444-555555555555";
const DEFINE_NEW = ["define", "-u", NEW, "-p", "mtty", "-t", "mtty-1"];

async function withTree(
  fn: (dir: string) => Promise<void> | void,
): Promise<void> {
  const dir = tempExampleTree();
  try {
    await fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Runs vdevctl with a deadline: a hang is a failure, never a stuck test. */
async function runBounded(
  argv: string[],
  options: { seconds?: number; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string; killed: boolean }> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, (options.seconds ?? 20) * 1000);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    killed,
  };
}

/** True while process `pid`'s main thread waits in read(2) on a pipe. */
function readingPipe(pid: number): boolean {
  const [nr, fd] = readOr(`/proc/${pid}/syscall`).split(" ");
  if (nr !== "0" || fd === undefined) return false;
  try {
    return Deno.readLinkSync(`/proc/${pid}/fd/${parseInt(fd, 16)}`)
      .startsWith("pipe:");
  } catch {
    return false;
  }
}

function oneLine(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `one line on stderr: ${stderr}`);
  assert.doesNotMatch(lines[0], /internal error/);
  return lines[0];
}

function attrsOf(dir: string, parent: string, uuid: string): string[] {
  const text = Deno.readTextFileSync(`${dir}/etc/mdevctl.d/${parent}/${uuid}`);
  const json = JSON.parse(text) as { attrs: Record<string, string>[] };
  return json.attrs.map((a) => Object.keys(a)[0]);
}

// ------------------------------------------------------ concurrent writers

Deno.test("concurrent modify --addattr from 4 processes: every update is stored or refused", async () => {
  await withTree(async (dir) => {
    const names: string[] = [];
    for (let round = 0; round < 3; round++) {
      const batch = [0, 1, 2, 3].map((i) => `a${round}_${i}`);
      names.push(...batch);
      const results = await Promise.all(batch.map((n) =>
        runVdevctl(dir, [
          "modify",
          "-u",
          MTTY_DEF,
          "--addattr",
          n,
          "--value",
          "1",
        ])
      ));
      for (const [i, r] of results.entries()) {
        if (r.code !== 0) {
          // Refused is allowed, but then it must say so and not be stored.
          oneLine(r.stderr);
          names.splice(names.indexOf(batch[i]), 1);
        }
      }
    }
    const stored = attrsOf(dir, "mtty", MTTY_DEF);
    assert.deepEqual(
      [...stored].sort(),
      ["x", ...names].sort(),
      "an update that exited 0 was lost",
    );
  });
});

Deno.test("two concurrent define of one UUID: one succeeds, the other is refused", async () => {
  for (let round = 0; round < 4; round++) {
    await withTree(async (dir) => {
      const [a, b] = await Promise.all(
        ["mtty-1", "mtty-2"].map((t) =>
          runVdevctl(dir, ["define", "-u", NEW, "-p", "mtty", "-t", t])
        ),
      );
      assert.deepEqual(
        [a.code, b.code].sort(),
        [0, 1],
        `round ${round}: exits ${a.code}/${b.code}: ${a.stderr}${b.stderr}`,
      );
      const winner = a.code === 0 ? "mtty-1" : "mtty-2";
      const text = Deno.readTextFileSync(`${dir}/etc/mdevctl.d/mtty/${NEW}`);
      assert.equal(JSON.parse(text).mdev_type, winner);
    });
  }
});

Deno.test("a callout script that runs vdevctl mdev define and modify during a define and a modify: no deadlock", async () => {
  await withTree(async (dir) => {
    const other = "33333333-4444-4555-8666-777777777777";
    const log = `${dir}/calls.log`;
    const inner = (args: string) =>
      `'${REPO}/vdevctl' --root '${dir}' mdev ${args} >> '${log}' 2>&1 || echo "inner failed: $?" >> '${log}'`;
    // Only for mtty-1 devices (the inner commands are about mtty-2 ones, so
    // their own callouts exit 2): on the pre and post events of each
    // action, the script itself changes the store.
    const script = [
      "#!/bin/sh",
      "cat >/dev/null",
      `type=$2; event=$4; action=$6; uuid=\${10}`,
      `[ "$type" = mtty-1 ] || exit 2`,
      `echo "$event $action $uuid" >> '${log}'`,
      `if [ "$event" = pre ] && [ "$action" = define ]; then ${
        inner(`define -u ${other} -p mtty -t mtty-2`)
      }; fi`,
      `if [ "$event" = post ] && [ "$action" = define ]; then ${
        inner(`modify -u ${other} --addattr y --value 2`)
      }; fi`,
      `if [ "$event" = pre ] && [ "$action" = modify ]; then ${
        inner(`modify -u ${other} --addattr z --value 3`)
      }; fi`,
      "exit 0",
      "",
    ].join("\n");
    const scripts = `${dir}/etc/mdevctl.d/scripts.d/callouts`;
    Deno.mkdirSync(scripts, { recursive: true });
    Deno.writeTextFileSync(`${scripts}/10-nested`, script, { mode: 0o755 });
    Deno.chmodSync(`${scripts}/10-nested`, 0o755);
    const define = await runBounded(vdevctlArgv(dir, DEFINE_NEW), {
      seconds: 120,
    });
    const calls = () => Deno.readTextFileSync(log);
    assert.equal(define.killed, false, `define hung: ${calls()}`);
    assert.equal(define.code, 0, define.stderr);
    const modify = await runBounded(
      vdevctlArgv(dir, ["modify", "-u", NEW, "--addattr", "w", "--value", "4"]),
      { seconds: 120 },
    );
    assert.equal(modify.killed, false, `modify hung: ${calls()}`);
    assert.equal(modify.code, 0, modify.stderr);
    assert.doesNotMatch(calls(), /inner failed/);
    assert.deepEqual(attrsOf(dir, "mtty", NEW), ["w"]);
    assert.deepEqual(attrsOf(dir, "mtty", other), ["y", "z"]);
    assert.deepEqual(
      calls().split("\n").filter((l) => /^(pre|post) /.test(l)),
      [
        `pre define ${NEW}`,
        `post define ${NEW}`,
        `pre modify ${NEW}`,
        `post modify ${NEW}`,
      ],
    );
  });
});

// ---------------------------------------------- temporary files, mode, owner

function deadPid(): number {
  for (let pid = 4_000_000; pid > 1000; pid -= 7919) {
    try {
      Deno.statSync(`/proc/${pid}`);
    } catch {
      return pid;
    }
  }
  throw new Error("no free pid");
}

Deno.test("stale temporary files of dead writers are not listed, not offered, and cleaned", async () => {
  await withTree(async (dir) => {
    const stale = `${dir}/etc/mdevctl.d/mtty/.${NEW}.${deadPid()}.k3j2.tmp`;
    const live = `${dir}/etc/mdevctl.d/mtty/.${NEW}.${Deno.pid}.k3j3.tmp`;
    Deno.writeTextFileSync(stale, '{"mdev_type":"mtty-1"');
    Deno.writeTextFileSync(live, '{"mdev_type":"mtty-1"');
    const list = await runVdevctl(dir, ["list", "-d"]);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stderr, "", "no warning for temporary files");
    // What shell completion offers (lib/completion/values.ts's mdevUuids).
    const offered = openMdev(new SysRoot(dir)).store.entryNames().flatMap((
      [, names],
    ) => names);
    assert.ok(
      offered.length > 0 && offered.every((u) => !u.startsWith(".")),
      `completion offers ${offered}`,
    );
    const r = await runVdevctl(dir, ["modify", "-u", MTTY_DEF, "-a"]);
    assert.equal(r.code, 0, r.stderr);
    assert.throws(() => Deno.statSync(stale), "the dead writer's file stays");
    assert.ok(Deno.statSync(live).isFile, "a live writer's file was removed");
  });
});

Deno.test("modify keeps the definition file's mode and owner", async () => {
  await withTree(async (dir) => {
    const path = `${dir}/etc/mdevctl.d/mtty/${MTTY_DEF}`;
    Deno.chmodSync(path, 0o600);
    const owner = Deno.uid() === 0;
    if (owner) Deno.chownSync(path, 1234, 4321);
    const r = await runVdevctl(dir, ["modify", "-u", MTTY_DEF, "-m"]);
    assert.equal(r.code, 0, r.stderr);
    const st = Deno.statSync(path);
    assert.equal((st.mode ?? 0) & 0o777, 0o600);
    if (owner) assert.deepEqual([st.uid, st.gid], [1234, 4321]);
    assert.equal(JSON.parse(Deno.readTextFileSync(path)).start, "manual");
  });
});

// ----------------------------------------------- names that climb out of sysfs

Deno.test("a type or parent that climbs out of the mdev tree is refused, nothing written", async () => {
  await withTree(async (dir) => {
    // Targets that look like a type directory, outside mdev_supported_types.
    const sys = `${dir}/sys`;
    const outside = Deno.realPathSync(
      `${sys}/class/mdev_bus/mtty/mdev_supported_types/../../..`,
    );
    Deno.writeTextFileSync(`${outside}/available_instances`, "1\n");
    Deno.mkdirSync(`${sys}/mdev_supported_types/mtty-1`, { recursive: true });
    Deno.writeTextFileSync(
      `${sys}/mdev_supported_types/mtty-1/available_instances`,
      "1\n",
    );
    for (
      const args of [
        ["start", "-u", NEW, "-p", "mtty", "-t", "../../.."],
        ["start", "-u", NEW, "-p", "../..", "-t", "mtty-1"],
        ["start", "-u", NEW, "-p", "mtty", "-t", "a/b"],
      ]
    ) {
      const r = await runVdevctl(dir, args);
      assert.notEqual(r.code, 0, `${args.join(" ")} was accepted`);
      oneLine(r.stderr);
    }
    // The same through a definition and start-parent-mdevs (the udev rule).
    Deno.writeTextFileSync(
      `${dir}/etc/mdevctl.d/mtty/${NEW}`,
      JSON.stringify({ mdev_type: "../../..", start: "auto", attrs: [] }),
    );
    await runVdevctl(dir, ["start-parent-mdevs", "mtty"]);
    assert.throws(() => Deno.statSync(`${outside}/create`), "create written");
    assert.throws(
      () => Deno.statSync(`${sys}/mdev_supported_types/mtty-1/create`),
      "create written",
    );
  });
});

// ------------------------------------------------------- option parsing

Deno.test("an option missing its value does not swallow the next flag (exit 2, nothing written)", async () => {
  await withTree(async (dir) => {
    const before = snapshot(dir);
    for (
      const args of [
        ["define", "-u", NEW, "-p", "-a", "-t", "mtty-1"],
        ["modify", "-u", MTTY_DEF, "--addattr", "x", "--value", "-m"],
        ["define", "-u", NEW, "-u", NEW, "-p", "mtty", "-t", "mtty-1"],
        ["define", "-u", NEW, "-p", "mtty", "-p", "mtty", "-t", "mtty-1"],
        ["modify", "-u", MTTY_DEF, "-a", "-a"],
        ["list", "-d", "-d"],
        ["list", "-u", MTTY_DEF, "--uuid", MTTY_DEF],
        ["types", "-p", "mtty", "-p", "mtty"],
      ]
    ) {
      const r = await runVdevctl(dir, args);
      assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code} ${r.stderr}`);
      oneLine(r.stderr);
    }
    assert.deepEqual(snapshot(dir), before);
  });
});

Deno.test("-u=UUID and --value=-x are accepted as mdevctl accepts them", async () => {
  await withTree(async (dir) => {
    const r = await runVdevctl(dir, [
      "define",
      `-u=${NEW}`,
      "-p",
      "mtty",
      "-t=mtty-1",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const m = await runVdevctl(dir, [
      "modify",
      `-u=${NEW}`,
      "--addattr=k",
      "--value=-m",
    ]);
    assert.equal(m.code, 0, m.stderr);
    const l = await runVdevctl(dir, ["list", "-d", "-v", `-u=${NEW}`]);
    assert.equal(
      l.stdout,
      `${NEW} mtty mtty-1 manual\n  Attrs:\n    @{0}: {"k":"-m"}\n\n`,
    );
  });
});

Deno.test("mdev -V / --version prints exactly mdevctl's version line", async () => {
  for (const flag of ["-V", "--version"]) {
    const r = await runBounded([`${REPO}/vdevctl`, "mdev", flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "mdevctl 1.2.0\n");
  }
  const r = await runBounded([`${REPO}/vdevctl`, "mdev", "-V"], {
    env: { VDEVCTL_MDEVCTL_COMPAT: "1.4" },
  });
  assert.equal(r.stdout, "mdevctl 1.4.0\n");
  const c = await runBounded([
    `${REPO}/vdevctl`,
    "mdev",
    "--compat",
    "1.4",
    "-V",
  ]);
  assert.equal(c.stdout, "mdevctl 1.4.0\n");
});

// ------------------------------------------------------------ bounded reads

Deno.test("--jsonfile that is not UTF-8 is refused", async () => {
  await withTree(async (dir) => {
    const f = `${dir}/bad.json`;
    Deno.writeFileSync(
      f,
      new Uint8Array([
        ...new TextEncoder().encode('{"mdev_type":"mtty-1","start":"auto",'),
        ...new TextEncoder().encode('"attrs":[{"k":"'),
        0xff,
        0xfe,
        ...new TextEncoder().encode('"}]}'),
      ]),
    );
    const r = await runVdevctl(dir, [
      "define",
      "-u",
      NEW,
      "-p",
      "mtty",
      "--jsonfile",
      f,
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(oneLine(r.stderr), /UTF-8/);
    assert.throws(() => Deno.statSync(`${dir}/etc/mdevctl.d/mtty/${NEW}`));
  });
});

Deno.test("a FIFO or /dev/zero as --jsonfile, definition or sysfs attribute: refused, no hang", async () => {
  await withTree(async (dir) => {
    const fifo = `${dir}/fifo`;
    const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.equal(mk.code, 0);
    for (const f of [fifo, "/dev/zero"]) {
      const r = await runBounded(
        vdevctlArgv(dir, ["define", "-u", NEW, "-p", "mtty", "--jsonfile", f]),
      );
      assert.equal(r.killed, false, `--jsonfile ${f} hangs`);
      assert.equal(r.code, 1, r.stderr);
      oneLine(r.stderr);
    }
    const big = `${dir}/big.json`;
    Deno.writeTextFileSync(big, " ".repeat(2 << 20) + "{}");
    const r = await runBounded(
      vdevctlArgv(dir, ["define", "-u", NEW, "-p", "mtty", "--jsonfile", big]),
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(oneLine(r.stderr), /too large|larger/);
    // A running device's definition file that is a FIFO (list -v reads it).
    const def =
      `${dir}/etc/mdevctl.d/mtty/b1b8c3b4-1d1e-4c5f-9a0e-6a7b8c9d0e1f`;
    Deno.removeSync(def);
    await new Deno.Command("mkfifo", { args: [def] }).output();
    const l = await runBounded(vdevctlArgv(dir, ["list", "-v"]));
    assert.equal(l.killed, false, "list -v hangs on a FIFO definition");
    // A sysfs attribute that is a FIFO.
    const avail =
      `${dir}/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1/available_instances`;
    Deno.removeSync(avail);
    await new Deno.Command("mkfifo", { args: [avail] }).output();
    const t = await runBounded(vdevctlArgv(dir, ["types"]));
    assert.equal(t.killed, false, "types hangs on a FIFO attribute");
    assert.notEqual(t.code, 0);
    oneLine(t.stderr);
  });
});

// ------------------------------------------------------- roots and errnos

Deno.test("a --root that does not exist is refused, nothing created", async () => {
  await withTree(async (dir) => {
    const missing = `${dir}/no-such-root`;
    for (
      const args of [["list"], ["types"], DEFINE_NEW]
    ) {
      const r = await runVdevctl(missing, args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(oneLine(r.stderr), /no-such-root/);
    }
    assert.throws(() => Deno.statSync(missing), "the root was created");
  });
});

Deno.test("etc/mdevctl.d as a symlink loop: one named line, not an internal error", async () => {
  await withTree(async (dir) => {
    Deno.removeSync(`${dir}/etc/mdevctl.d`, { recursive: true });
    Deno.symlinkSync("mdevctl.d", `${dir}/etc/mdevctl.d`);
    for (
      const args of [
        ["list", "-d"],
        ["modify", "-u", MTTY_DEF, "-a"],
        DEFINE_NEW,
      ]
    ) {
      const r = await runVdevctl(dir, args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(oneLine(r.stderr), /mdevctl\.d/);
    }
  });
});

Deno.test("messages do not name a generated UUID the user never gave", async () => {
  await withTree(async (dir) => {
    for (
      const args of [["start", "-p", "mtty"], ["define", "-p", "mtty"]]
    ) {
      const r = await runVdevctl(dir, args);
      assert.equal(r.code, 1, r.stderr);
      const line = oneLine(r.stderr);
      assert.doesNotMatch(line, /[0-9a-f]{8}-[0-9a-f]{4}-/, line);
      assert.match(line, /-t TYPE/);
    }
  });
});

// ------------------------------------------------------------- 1.4 output

Deno.test("VDEVCTL_MDEVCTL_COMPAT=1.4 (or --compat 1.4): list and types without the extra newline", async () => {
  await withTree(async (dir) => {
    const env = { VDEVCTL_MDEVCTL_COMPAT: "1.4" };
    const l12 = await runBounded(vdevctlArgv(dir, ["list"]));
    const l14 = await runBounded(vdevctlArgv(dir, ["list"]), { env });
    assert.ok(l12.stdout.endsWith("\n\n"));
    assert.equal(l14.stdout, l12.stdout.slice(0, -1));
    const t12 = await runBounded(vdevctlArgv(dir, ["types"]));
    const t14 = await runBounded(
      [`${REPO}/vdevctl`, "--root", dir, "mdev", "--compat", "1.4", "types"],
    );
    assert.equal(t14.code, 0, t14.stderr);
    assert.equal(t14.stdout, t12.stdout.slice(0, -1));
    const bad = await runBounded(vdevctlArgv(dir, ["list"]), {
      env: { VDEVCTL_MDEVCTL_COMPAT: "9" },
    });
    assert.notEqual(bad.code, 0);
    assert.match(oneLine(bad.stderr), /VDEVCTL_MDEVCTL_COMPAT/);
  });
});

Deno.test("--jsonfile=/dev/stdin: a pipe written in pieces is read to its end (a short read ends only a regular file)", async () => {
  await withTree(async (dir) => {
    const child = new Deno.Command(vdevctlArgv(dir, [])[0], {
      args: [
        ...vdevctlArgv(dir, []).slice(1),
        "define",
        "-u",
        NEW,
        "-p",
        "mtty",
        "--jsonfile=/dev/stdin",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const json = JSON.stringify({
      mdev_type: "mtty-1",
      start: "manual",
      attrs: [{ a: "x".repeat(3000) }],
    });
    const writer = child.stdin.getWriter();
    const bytes = new TextEncoder().encode(json);
    // The first piece, then the rest once vdevctl has read it and waits on
    // the pipe for more (its main thread in read(2) on a pipe).
    await writer.write(bytes.subarray(0, 100));
    let exited = false;
    child.status.then(() => exited = true);
    await waitFor(
      () => exited || readingPipe(child.pid),
      "vdevctl waiting in read(2) on its stdin pipe",
    );
    await writer.write(bytes.subarray(100));
    await writer.close();
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.deepEqual(attrsOf(dir, "mtty", NEW), ["a"]);
    const stored = JSON.parse(
      Deno.readTextFileSync(`${dir}/etc/mdevctl.d/mtty/${NEW}`),
    ) as { attrs: Record<string, string>[] };
    assert.equal(stored.attrs[0].a.length, 3000);
  });
});
