/**
 * `deno task install` into a DESTDIR: the copy is self-contained (it runs
 * from another folder with both checkouts hidden under a tmpfs, in its own
 * mount namespace), puts completions, man pages and the udev rule in their
 * places, keeps off mdevctl's rule and other programs' files, and uninstall
 * removes exactly what the install wrote.
 */

import assert from "node:assert/strict";
import { runCommand } from "../command_output.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const DENO = Deno.execPath();

/** Runs the install tool (a task's command line). */
function tool(args: string[]) {
  return runCommand([DENO, "run", "-A", `${REPO}/tools/install.ts`, ...args], {
    cwd: REPO,
  });
}

/** Every path under `dir` (relative), sorted. */
function tree(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${dir}${rel}`)) {
    const r = `${rel}/${e.name}`;
    out.push(r);
    if (e.isDirectory && !e.isSymlink) out.push(...tree(dir, r));
  }
  return out.sort();
}

/** The folders that hold the checkout (hidden while the copy runs). */
function checkoutDirs(): string[] {
  const dirs = [REPO];
  const real = Deno.realPathSync(`${REPO}/node_modules`);
  if (!real.startsWith(`${REPO}/`)) {
    dirs.push(real.replace(/\/node_modules$/, ""));
  }
  return dirs;
}

/**
 * Runs `argv` with every checkout folder hidden under an empty tmpfs, from
 * `/tmp`, in a private mount namespace (root only, as the suite runs).
 */
function hiddenCheckout(argv: string[], env: Record<string, string> = {}) {
  const mounts = checkoutDirs().map((d) => `mount -t tmpfs none '${d}'`)
    .join(" && ");
  return runCommand([
    "unshare",
    "-m",
    "sh",
    "-c",
    `${mounts} && test ! -e '${REPO}/main.ts' && cd /tmp && exec "$@"`,
    "sh",
    ...argv,
  ], { env });
}

Deno.test("install --destdir: a self-contained copy, used from /tmp with the checkout hidden; uninstall leaves nothing", async () => {
  const dest = await Deno.makeTempDir({ prefix: "vdevctl-destdir-" });
  const sysroot = await Deno.makeTempDir({ prefix: "vdevctl-sysroot-" });
  try {
    await runCommand(["cp", "-a", `${REPO}/examples/sysroot/.`, sysroot]);
    const r = await tool(["install", "--prefix", "/usr", "--destdir", dest]);
    assert.equal(r.code, 0, r.stderr);
    const files = tree(dest);
    for (
      const want of [
        "/usr/bin/vdevctl",
        "/usr/lib/vdevctl/vdevctl",
        "/usr/lib/vdevctl/main.ts",
        "/usr/lib/vdevctl/commands/mdev_fast.bundle.js",
        "/usr/lib/vdevctl/commands/mdev_types_fast.bundle.js",
        "/usr/lib/vdevctl/node_modules/deno/deno",
        "/usr/lib/vdevctl/node_modules/commander/package.json",
        "/usr/lib/vdevctl/install-manifest.json",
        "/usr/share/man/man8/vdevctl.8",
        "/usr/share/man/man8/vdevctl-mdev.8",
        "/usr/share/man/man8/vdevctl-vdpa.8",
        "/usr/share/man/man1/vdevctl-sandbox.1",
        "/usr/share/bash-completion/completions/vdevctl",
        "/usr/share/zsh/vendor-completions/_vdevctl",
        "/usr/share/fish/vendor_completions.d/vdevctl.fish",
        "/usr/lib/udev/rules.d/61-vdevctl-mdev.rules",
      ]
    ) assert.ok(files.includes(want), `${want} installed`);
    // No personalities without --personalities; no test or dev-only files.
    for (const name of ["mdevctl", "lsmdev", "vdpa"]) {
      assert.ok(!files.includes(`/usr/bin/${name}`), `no ${name}`);
    }
    assert.ok(
      !files.some((f) => /\/tests\/|\/node_modules\/ajv\b|\/@types\//.test(f)),
    );
    // Nothing in the copy points into the checkout.
    const bashScript = Deno.readTextFileSync(
      `${dest}/usr/share/bash-completion/completions/vdevctl`,
    );
    assert.ok(
      !bashScript.includes(dest),
      "completion names the target, not DESTDIR",
    );
    assert.match(bashScript, /complete -F \S+ vdevctl/);
    const rule = Deno.readTextFileSync(
      `${dest}/usr/lib/udev/rules.d/61-vdevctl-mdev.rules`,
    );
    assert.match(rule, /\/usr\/bin\/vdevctl mdev start-parent-mdevs %k/);

    const list = ["--root", sysroot, "mdev", "list", "-d", "--dumpjson"];
    const want = await runCommand([`${REPO}/vdevctl`, ...list]);
    assert.equal(want.code, 0, want.stderr);
    const got = await hiddenCheckout([`${dest}/usr/bin/vdevctl`, ...list], {
      DENO_DIR: `${dest}.deno-cache`,
    });
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, want.stdout);
    assert.notEqual(got.stdout.trim(), "", "the example tree has definitions");
    // `mdev list|types` start from the copy's bundle: the same answers as
    // the checkout's sources, also where the bundle hands on to main.ts.
    for (
      const line of [
        ["mdev", "list"],
        ["mdev", "list", "-d", "-v"],
        ["mdev", "types", "--dumpjson"],
        ["mdev", "list", "--bogus"],
        ["mdev", "list", "-u", "not-a-uuid"],
        ["mdev", "types", "--help"],
        ["--root", "/nonexistent-root", "mdev", "list"],
      ]
    ) {
      const args = line[0] === "--root" ? line : ["--root", sysroot, ...line];
      const src = await runCommand([`${REPO}/vdevctl`, ...args]);
      const copy = await hiddenCheckout([`${dest}/usr/bin/vdevctl`, ...args], {
        DENO_DIR: `${dest}.deno-cache`,
      });
      assert.deepEqual(
        { code: copy.code, stdout: copy.stdout, stderr: copy.stderr },
        { code: src.code, stdout: src.stdout, stderr: src.stderr },
        args.join(" "),
      );
    }
    const help = await hiddenCheckout([
      `${dest}/usr/bin/vdevctl`,
      "vdpa",
      "--help",
    ]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: vdevctl vdpa /);

    const u = await tool(["uninstall", "--prefix", "/usr", "--destdir", dest]);
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual(
      tree(dest),
      [],
      "uninstall removes everything the install wrote",
    );
    const again = await tool([
      "uninstall",
      "--prefix",
      "/usr",
      "--destdir",
      dest,
    ]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^vdevctl: no vdevctl install under /);
  } finally {
    for (const d of [dest, sysroot, `${dest}.deno-cache`]) {
      await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  }
});

Deno.test("install: PREFIX/bin/vdevctl and the personalities reach the copy without a readlink fork; a moved copy still finds itself", async () => {
  const dest = await Deno.makeTempDir({ prefix: "vdevctl-destdir-" });
  const prefix = `${dest}-target`;
  try {
    const r = await tool([
      "install",
      "--prefix",
      prefix,
      "--destdir",
      dest,
      "--personalities",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const staged = `${dest}${prefix}`;
    const launcher = Deno.readTextFileSync(`${staged}/lib/vdevctl/vdevctl`);
    assert.ok(
      launcher.includes(`[ "${prefix}/lib/vdevctl/vdevctl" -ef "$self" ]`),
      "the copy's launcher names its folder",
    );
    assert.ok(!launcher.includes("@libdir@"));
    const sysroot = `${REPO}/examples/sysroot`;
    const types = ["--root", sysroot, "mdev", "types"];
    const want = await runCommand([`${REPO}/vdevctl`, ...types]);
    assert.equal(want.code, 0, want.stderr);
    // Without readlink(1) on PATH only a launcher that needs no fork runs
    // (from /: a launcher that cannot resolve itself looks in its cwd).
    const noReadlink = { PATH: "/nonexistent" };
    const staging = await runCommand([`${staged}/bin/vdevctl`, ...types], {
      env: noReadlink,
      cwd: "/",
    });
    assert.notEqual(staging.code, 0, "a DESTDIR copy resolves by readlink");
    // Moved to its target, the install is what a host has.
    Deno.renameSync(staged, prefix);
    const got = await runCommand([`${prefix}/bin/vdevctl`, ...types], {
      env: noReadlink,
      cwd: "/",
    });
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, want.stdout);
    const mdevctl = await runCommand([`${prefix}/bin/mdevctl`, "types"], {
      env: { ...noReadlink, VDEVCTL_ROOT: sysroot },
      cwd: "/",
    });
    assert.equal(mdevctl.code, 0, mdevctl.stderr);
    assert.equal(mdevctl.stdout, want.stdout);
    // A copy moved elsewhere again still works through readlink.
    const other = `${dest}-moved`;
    Deno.renameSync(prefix, other);
    const moved = await runCommand([`${other}/bin/vdevctl`, ...types], {
      cwd: "/",
    });
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal(moved.stdout, want.stdout);
  } finally {
    for (const d of [dest, prefix, `${dest}-moved`]) {
      await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  }
});

Deno.test("install: no mdev rule where mdevctl's is installed; personalities never replace a program without --force, which uninstall puts back", async () => {
  const dest = await Deno.makeTempDir({ prefix: "vdevctl-destdir-" });
  try {
    Deno.mkdirSync(`${dest}/usr/lib/udev/rules.d`, { recursive: true });
    Deno.copyFileSync(
      "/usr/lib/udev/rules.d/60-mdevctl.rules",
      `${dest}/usr/lib/udev/rules.d/60-mdevctl.rules`,
    );
    Deno.mkdirSync(`${dest}/usr/local/bin`, { recursive: true });
    Deno.writeTextFileSync(
      `${dest}/usr/local/bin/mdevctl`,
      "#!/bin/sh\necho the real one\n",
      { mode: 0o755 },
    );
    const before = tree(dest);

    const refused = await tool([
      "install",
      "--destdir",
      dest,
      "--personalities",
    ]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /usr\/local\/bin\/mdevctl exists and is not vdevctl's: install with --force/,
    );
    assert.deepEqual(tree(dest), before, "a refused install is undone");

    const r = await tool([
      "install",
      "--destdir",
      dest,
      "--personalities",
      "--force",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /not installing 61-vdevctl-mdev\.rules: mdevctl's rule/,
    );
    const files = tree(dest);
    assert.ok(
      !files.some((f) => f.endsWith("61-vdevctl-mdev.rules")),
      "never two mdev rules",
    );
    // Only the provisioning rule (it applies /etc/vdevctl manifests, not
    // mdevctl's definitions): no rule that starts mdevctl's mdevs a second time.
    assert.deepEqual(
      files.filter((f) => f.startsWith("/etc/udev/rules.d/")),
      ["/etc/udev/rules.d/90-vdevctl.rules"],
    );
    // The rule and the units run the installed command, not /usr/bin's.
    for (
      const f of [
        "/etc/udev/rules.d/90-vdevctl.rules",
        "/etc/systemd/system/vdevctl-apply.service",
        "/etc/systemd/system/vdevctl-mvnet@.service",
      ]
    ) {
      const text = Deno.readTextFileSync(`${dest}${f}`);
      assert.match(text, /\/usr\/local\/bin\/vdevctl (apply|mvnet)/, f);
      assert.doesNotMatch(text, /\/usr\/bin\/vdevctl/, f);
    }
    for (const name of ["vdevctl", "mdevctl", "lsmdev", "vdpa"]) {
      assert.equal(
        Deno.readLinkSync(`${dest}/usr/local/bin/${name}`),
        "../lib/vdevctl/vdevctl",
      );
    }
    // A second install (an upgrade) replaces its own files without --force.
    const up = await tool(["install", "--destdir", dest, "--personalities"]);
    assert.equal(up.code, 0, up.stderr);

    const lsmdev = await runCommand([
      `${dest}/usr/local/bin/lsmdev`,
      "--root",
      `${REPO}/examples/sysroot`,
      "-d",
    ]);
    assert.equal(lsmdev.code, 0, lsmdev.stderr);
    const list = await runCommand([
      `${REPO}/vdevctl`,
      "--root",
      `${REPO}/examples/sysroot`,
      "mdev",
      "list",
      "-d",
    ]);
    assert.equal(lsmdev.stdout, list.stdout);

    const u = await tool(["uninstall", "--destdir", dest]);
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual(tree(dest), before, "uninstall leaves what was there");
    assert.equal(
      Deno.readTextFileSync(`${dest}/usr/local/bin/mdevctl`),
      "#!/bin/sh\necho the real one\n",
    );
  } finally {
    await Deno.remove(dest, { recursive: true }).catch(() => {});
  }
});

Deno.test("install: bad --prefix and unknown arguments are one-line usage errors", async () => {
  for (
    const [args, re] of [
      [["install", "--prefix", "usr"], /--prefix 'usr': give an absolute path/],
      [
        ["install", "--prefix", "/a/../b"],
        /give an absolute path without '\.\.'/,
      ],
      [["install", "--prefix", "/a b"], /no spaces/],
      [["install", "--bogus"], /unknown argument '--bogus'/],
      [["uninstall", "--force"], /unknown argument '--force'/],
    ] as const
  ) {
    const r = await tool([...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});
