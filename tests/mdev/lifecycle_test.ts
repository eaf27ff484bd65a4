/**
 * The mdev lifecycle (lib/mdev/lifecycle.ts) on fake trees: every bad input
 * of issue 2 through `vdevctl mdev` (one line on stderr, non-zero status,
 * nothing changed on disk), and kernel errno translation and start's
 * rollback against a simulated kernel.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConfigStore } from "../../lib/mdev/config_store.ts";
import { VdevError } from "../../lib/errors.ts";
import {
  startDevice,
  startParentMdevs,
  stopDevice,
} from "../../lib/mdev/actions.ts";
import { createDevice } from "../../lib/mdev/lifecycle.ts";
import type { MdevContext } from "../../lib/mdev/list.ts";
import { parseMdevUuid } from "../../lib/mdev/uuid.ts";
import { SysRoot } from "../../lib/root.ts";
import {
  FakeKernel,
  type FakeTree,
  tempExampleTree as tree,
} from "./fake_tree.ts";
import { run, runVdevctl, snapshot } from "./diff_helpers.ts";
import { asNobodyArgv } from "../command_output.ts";

const U1 = "11111111-2222-4333-8444-555555555555";
const U2 = "22222222-3333-4444-8555-666666666666";
const RUNNING = "b1b8c3b4-1d1e-4c5f-9a0e-6a7b8c9d0e1f"; // mtty-1 on mtty
const GPU = "0000:00:02.0";

/** Runs vdevctl mdev ARGS on a fresh example tree; asserts a one-line failure and no change. */
async function fails(
  args: string[],
  expect: { code: number; stderr: RegExp; mutate?: (t: FakeTree) => void },
): Promise<string> {
  const dir = tree(expect.mutate);
  try {
    const before = snapshot(dir);
    const r = await runVdevctl(dir, args);
    assert.equal(
      r.code,
      expect.code,
      `exit status of ${args.join(" ")}: ${r.stderr}`,
    );
    assert.equal(r.stdout, "", "nothing on stdout");
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 1, `one line on stderr: ${r.stderr}`);
    assert.match(lines[0], /^vdevctl: /);
    assert.match(lines[0], expect.stderr);
    assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
    assert.deepEqual(snapshot(dir), before, "nothing changed on disk");
    return lines[0];
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

// ------------------------------------------------------------ bad input (CLI)

Deno.test("malformed UUID: usage error, exit 2, names the value", async () => {
  await fails(
    ["start", "-u", "1234-not-a-uuid", "-p", "mtty", "-t", "mtty-1"],
    {
      code: 2,
      stderr: /1234-not-a-uuid.*not a UUID/,
    },
  );
  await fails(["stop", "-u", "zz"], { code: 2, stderr: /not a UUID/ });
  await fails(["list", "-u", "{1111}"], { code: 2, stderr: /not a UUID/ });
});

Deno.test("unknown parent: start names it and suggests a near match", async () => {
  await fails(["start", "-u", U1, "-p", "nope", "-t", "mtty-1"], {
    code: 1,
    stderr: /mdev parent nope does not exist: see 'vdevctl mdev parents'/,
  });
  await fails(["start", "-u", U1, "-p", "MTTY", "-t", "mtty-1"], {
    code: 1,
    stderr: /did you mean mtty\?/,
  });
});

Deno.test("unknown type: start names parent and type", async () => {
  await fails(["start", "-u", U1, "-p", "mtty", "-t", "mtty-9"], {
    code: 1,
    stderr:
      /mdev parent mtty has no type mtty-9: see 'vdevctl mdev types -p mtty'/,
  });
});

Deno.test("duplicate UUID: a running UUID is refused before the kernel", async () => {
  await fails(["start", "-u", RUNNING, "-p", GPU, "-t", "i915-GVTg_V5_8"], {
    code: 1,
    stderr: new RegExp(
      `mdev ${RUNNING} is already running \\(type mtty-1 on mtty\\)`,
    ),
  });
});

Deno.test("no available instances: start refuses, names type and parent", async () => {
  await fails(["start", "-u", U1, "-p", GPU, "-t", "i915-GVTg_V5_4"], {
    code: 1,
    stderr: /no available instances of i915-GVTg_V5_4 on 0000:00:02\.0/,
    mutate: (t) => {
      t.parents[0].types[0].available = 0;
    },
  });
});

Deno.test("not root: writes fail with one line naming the file (run as nobody)", async () => {
  const dir = tree();
  try {
    Deno.chmodSync(dir, 0o755);
    const before = snapshot(dir);
    // From a copy nobody can reach: the clone may be in a 0700 directory.
    const asNobody = (args: string[]) =>
      run(asNobodyArgv(["--root", dir, "mdev", ...args]));
    for (
      const args of [
        ["define", "-u", U1, "-p", "mtty", "-t", "mtty-1"],
        ["undefine", "-u", RUNNING],
        ["modify", "-u", RUNNING, "-a"],
      ]
    ) {
      const r = await asNobody(args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /^vdevctl: permission denied on \S+ \(running as uid 65534\): run vdevctl mdev as root\n$/,
      );
    }
    // Reading works for anyone.
    const list = await asNobody(["list"]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(RUNNING));
    assert.deepEqual(snapshot(dir), before);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("missing or invalid --jsonfile: one line naming the file", async () => {
  await fails(["start", "-p", "mtty", "--jsonfile", "/nonexistent/dev.json"], {
    code: 1,
    stderr: /--jsonfile \/nonexistent\/dev\.json: cannot read it \(ENOENT\)/,
  });
  const bad = Deno.makeTempFileSync({ suffix: ".json" });
  try {
    for (
      const [text, why] of [
        ['{"mdev_type": "mtty-1", "sta', /not valid JSON/],
        ['{"mdev_type": "mtty-1"}', /"start" is missing/],
        [
          '{"mdev_type": "mtty-1", "start": "auto", "attrs": {}}',
          /not an array/,
        ],
        ["[]", /not a JSON object/],
      ] as const
    ) {
      Deno.writeTextFileSync(bad, text);
      await fails(["define", "-u", U1, "-p", "mtty", "--jsonfile", bad], {
        code: 1,
        stderr: why,
      });
      await fails(["start", "-p", "mtty", "--jsonfile", bad], {
        code: 1,
        stderr: why,
      });
    }
  } finally {
    Deno.removeSync(bad);
  }
});

Deno.test("../ escapes: refused for define, modify and undefine, nothing written outside", async () => {
  const outside = Deno.makeTempDirSync({ prefix: "mdev-outside-" });
  try {
    for (
      const parent of ["..", `../../../../../../${outside}`, "a/b", "scripts.d"]
    ) {
      await fails(["define", "-u", U1, "-p", parent, "-t", "mtty-1"], {
        code: 1,
        stderr: /would escape \/etc\/mdevctl\.d or is reserved/,
      });
      await fails(["undefine", "-u", U1, "-p", parent], {
        code: 1,
        stderr: /would escape/,
      });
      await fails(["modify", "-u", U1, "-p", parent, "-a"], {
        code: 1,
        stderr: /would escape/,
      });
    }
    assert.deepEqual([...Deno.readDirSync(outside)], []);
  } finally {
    Deno.removeSync(outside, { recursive: true });
  }
});

Deno.test("undefine, modify and stop of unknown devices fail with one line", async () => {
  await fails(["undefine", "-u", U1], {
    code: 1,
    stderr: /mdev \S+ is not defined/,
  });
  await fails(["modify", "-u", U1, "-a"], {
    code: 1,
    stderr: /is not defined: see/,
  });
  await fails(["stop", "-u", U1], {
    code: 1,
    stderr: /is not running: see 'vdevctl mdev list'/,
  });
  await fails(["modify", "-u", RUNNING, "--addattr", "a"], {
    code: 2,
    stderr: /--addattr <ATTR_NAME> requires --value/,
  });
  await fails(["modify", "-u", RUNNING, "--delattr", "-i", "3"], {
    code: 1,
    stderr: /attribute index 3 is out of range/,
  });
  await fails(["modify", "-u", RUNNING, "--live", "-a"], {
    code: 1,
    stderr: /--live/,
  });
  // Refused before the device is looked up.
  await fails(["modify", "-u", U1, "--live", "-a"], {
    code: 1,
    stderr: /--live: 'auto' cannot be changed on a running mdev/,
  });
  await fails(["modify", "-u", U1, "--live", "--jsonfile", "/dev/null"], {
    code: 1,
    stderr: /is not running: --live changes a running device/,
  });
  await fails(["define", "-u", RUNNING], {
    code: 1,
    stderr: /already defined on mtty/,
  });
});

// ---------------------------------------------------- simulated kernel (lib)

function fakeContext(dir: string): MdevContext & { sysfs: FakeKernel } {
  const root = new SysRoot(dir);
  return { sysfs: new FakeKernel(root), store: new ConfigStore(root) };
}

function withTree(
  fn: (
    ctx: MdevContext & { sysfs: FakeKernel },
    dir: string,
  ) => void | Promise<void>,
) {
  return async () => {
    const dir = tree();
    try {
      await fn(fakeContext(dir), dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

const dev = (attrs: { name: string; value: string }[] = []) => ({
  uuid: U1,
  parent: "mtty",
  type: "mtty-1",
  attrs,
});

for (
  const [code, re] of [
    ["EEXIST", /already exists \(the kernel refused a duplicate UUID\)/],
    ["EINVAL", /rejected the UUID or type as invalid \(EINVAL\)/],
    ["ENOSPC", /no available instances left \(ENOSPC\)/],
    ["EUSERS", /no available instances left \(EUSERS\)/],
    ["EACCES", /permission denied on \S+\/create.*run vdevctl mdev as root/],
    ["EPERM", /permission denied on \S+\/create/],
    ["EBUSY", /the parent is busy \(EBUSY\)/],
  ] as const
) {
  Deno.test(
    `kernel ${code} from create becomes one line`,
    withTree((ctx) => {
      ctx.sysfs.failCreate = code;
      assert.throws(
        () => createDevice(ctx, dev()),
        (e) =>
          e instanceof VdevError && re.test(e.message) &&
          !e.message.includes("\n"),
      );
    }),
  );
}

Deno.test(
  "stop: EBUSY from remove says the device is in use; EACCES says root",
  withTree(async (ctx) => {
    ctx.sysfs.failRemove = "EBUSY";
    await assert.rejects(
      () => stopDevice(ctx, RUNNING),
      /mdev b1b8c3b4-\S+ \(type mtty-1 on mtty\) is busy \(EBUSY; in use/,
    );
    ctx.sysfs.failRemove = "EPERM";
    await assert.rejects(
      () => stopDevice(ctx, RUNNING),
      /run vdevctl mdev as root/,
    );
    ctx.sysfs.failRemove = undefined;
    await stopDevice(ctx, RUNNING);
    assert.equal(ctx.sysfs.loadActive(RUNNING), undefined);
  }),
);

Deno.test(
  "start writes attributes in order; a missing attribute removes the device again",
  withTree(async (ctx) => {
    createDevice(ctx, dev([{ name: "x", value: "7" }]));
    assert.equal(Deno.readTextFileSync(`${ctx.sysfs.devicePath(U1)}/x`), "7");
    await stopDevice(ctx, U1);
    assert.throws(
      () =>
        createDevice(
          ctx,
          dev([{ name: "x", value: "1" }, { name: "nope", value: "2" }]),
        ),
      /it has no attribute "nope"; the device was removed again/,
    );
    assert.deepEqual(ctx.sysfs.removed, [U1, U1]);
    assert.equal(ctx.sysfs.loadActive(U1), undefined);
  }),
);

Deno.test(
  "start: an attribute the kernel rejects names it and rolls back; a failed rollback says so",
  withTree((ctx) => {
    ctx.sysfs.rejectAttr = "x";
    assert.throws(
      () => createDevice(ctx, dev([{ name: "x", value: "bad" }])),
      /the kernel rejected writing "bad" to attribute "x" \(EINVAL\); the device was removed again/,
    );
    assert.equal(ctx.sysfs.loadActive(U1), undefined);
    ctx.sysfs.failRemove = "EIO";
    assert.throws(
      () => createDevice(ctx, dev([{ name: "x", value: "bad" }])),
      /removing it again also failed \(EIO\): stop it with 'vdevctl mdev stop -u/,
    );
  }),
);

Deno.test(
  "start by UUID uses the definition; transient start generates a UUID",
  withTree(async (ctx) => {
    const d = "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70"; // defined mtty-2, attr x=1
    assert.deepEqual(await startDevice(ctx, { uuid: d }), {
      uuid: d,
      generated: false,
    });
    assert.equal(ctx.sysfs.loadActive(d)?.type, "mtty-2");
    assert.equal(Deno.readTextFileSync(`${ctx.sysfs.devicePath(d)}/x`), "1");
    const s = await startDevice(ctx, { parent: "mtty", type: "mtty-1" });
    assert.equal(s.generated, true);
    assert.equal(parseMdevUuid(s.uuid), s.uuid);
    await assert.rejects(
      () => startDevice(ctx, { uuid: d, type: "mtty-1" }),
      /defined on mtty with type mtty-2, not mtty-1/,
    );
    await assert.rejects(
      () => startDevice(ctx, { uuid: U2 }),
      /not fully specified/,
    );
    await assert.rejects(
      () => startDevice(ctx, { uuid: U2, type: "t" }),
      /needs a parent/,
    );
  }),
);

Deno.test(
  "start-parent-mdevs starts only the auto definitions of the parent",
  withTree(async (ctx) => {
    const auto = "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70";
    const res = await startParentMdevs(ctx, "mtty");
    assert.deepEqual(res.started, [auto]);
    assert.deepEqual(res.failures, []);
    assert.equal(ctx.sysfs.loadActive(auto)?.parent, "mtty");
    // Again: already running, a failure but not fatal.
    const again = await startParentMdevs(ctx, "mtty");
    assert.match(again.failures[0].message, /is already running/);
  }),
);
