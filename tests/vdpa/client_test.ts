import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { VdevError } from "../../lib/errors.ts";
import {
  openVdpa,
  VDPA_FAMILY_MISSING,
  vdpaDevAdd,
  vdpaDevDel,
  type VdpaSession,
} from "../../lib/vdpa/client.ts";
import {
  type FamilyInfo,
  type GenlSocket,
  NetlinkTransportError,
} from "../../lib/netlink/mod.ts";
import { parseVdpaArgs } from "../../lib/vdpa/args.ts";
import { main } from "../../main.ts";

const hostHasVdpa = existsSync("/sys/module/vdpa");

Deno.test("host without the vdpa module: one clear error naming modprobe vdpa", () => {
  if (hostHasVdpa) {
    // The family exists here, so resolving it must succeed instead.
    const s = openVdpa();
    assert.ok(s.family.id > 0);
    s.socket.close();
    return;
  }
  assert.throws(
    () => openVdpa(),
    (e: unknown) => e instanceof VdevError && e.message === VDPA_FAMILY_MISSING,
  );
  assert.match(VDPA_FAMILY_MISSING, /modprobe vdpa/);
});

Deno.test({
  name: "vdevctl vdpa on a host without vdpa exits 1 with the modprobe message",
  // Reported as ignored (not passed) where the vdpa module is loaded.
  ignore: hostHasVdpa,
  fn: async () => {
    const errors: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => errors.push(a.join(" "));
    try {
      assert.equal(await main(["vdpa", "-j", "dev", "show"]), 1);
    } finally {
      console.error = orig;
    }
    assert.deepEqual(errors, [`vdevctl: ${VDPA_FAMILY_MISSING}`]);
  },
});

Deno.test("iproute2 keyword syntax and abbreviations", () => {
  assert.deepEqual(parseVdpaArgs([]), { op: "help", topic: "vdpa" });
  assert.deepEqual(parseVdpaArgs(["mgmtdev", "show"]), {
    op: "mgmtdev-show",
    mgmtdev: undefined,
  });
  assert.deepEqual(parseVdpaArgs(["m", "s", "vdpasim_net"]), {
    op: "mgmtdev-show",
    mgmtdev: "vdpasim_net",
  });
  assert.deepEqual(parseVdpaArgs(["mgmtdev"]), { op: "mgmtdev-show" });
  assert.deepEqual(parseVdpaArgs(["dev"]), { op: "dev-show" });
  assert.deepEqual(parseVdpaArgs(["d", "list", "sim0"]), {
    op: "dev-show",
    name: "sim0",
  });
  assert.deepEqual(
    parseVdpaArgs([
      "dev",
      "a",
      "n",
      "sim0",
      "m",
      "vdpasim_net",
      "mac",
      "52:54:00:00:00:01",
      "mtu",
      "1500",
      "max",
      "2",
    ]),
    {
      op: "dev-add",
      spec: {
        name: "sim0",
        mgmtdev: "vdpasim_net",
        mac: "52:54:00:00:00:01",
        mtu: 1500,
        maxVqp: 2,
      },
    },
  );
  assert.deepEqual(parseVdpaArgs(["dev", "d", "sim0"]), {
    op: "dev-del",
    name: "sim0",
  });
  assert.deepEqual(parseVdpaArgs(["dev", "config"]), { op: "dev-config-show" });
  assert.deepEqual(parseVdpaArgs(["dev", "c", "s", "sim0"]), {
    op: "dev-config-show",
    name: "sim0",
  });
  assert.deepEqual(
    parseVdpaArgs(["dev", "vstats", "show", "sim0", "qidx", "1"]),
    {
      op: "dev-vstats-show",
      name: "sim0",
      qidx: 1,
    },
  );
});

Deno.test("keyword errors are one-line VdevErrors naming the problem", () => {
  const bad: [string[], RegExp][] = [
    [["bogus"], /object "bogus" not found/],
    [["dev", "frob"], /command "frob" not found/],
    [["dev", "add", "name", "x"], /management device not set/],
    [["dev", "add", "mgmtdev", "m"], /device name not set/],
    [
      ["dev", "add", "name", "x", "mgmtdev", "m", "mtu", "99999"],
      /invalid mtu "99999"/,
    ],
    [
      ["dev", "add", "name", "x", "mgmtdev", "m", "speed", "1"],
      /unknown option "speed"/,
    ],
    [["dev", "add", "name"], /device name expected after "name"/],
    [["dev", "vstats", "show", "sim0"], /queue index is not set/],
    [["dev", "vstats", "show", "sim0", "qidx", "x"], /invalid qidx "x"/],
    [["dev", "del"], /device name is not set/],
    [["dev", "show", "a", "b"], /unknown option "b"/],
  ];
  for (const [args, re] of bad) {
    assert.throws(
      () => parseVdpaArgs(args),
      (e: unknown) =>
        e instanceof VdevError && re.test(e.message) &&
        !e.message.includes("\n"),
      args.join(" "),
    );
  }
});

Deno.test("a netlink request the kernel does not answer in time is a one-line error saying where to look", async () => {
  const socket = {
    requestAsync: () =>
      Promise.reject(
        new NetlinkTransportError(
          "vdpa dev add x: no netlink reply within 5 ms",
        ),
      ),
  } as unknown as GenlSocket;
  const session: VdpaSession = {
    socket,
    family: {
      name: "vdpa",
      id: 99,
      version: 1,
      hdrsize: 0,
      maxattr: 0,
    } as FamilyInfo,
  };
  for (
    const [run, what] of [
      [() => vdpaDevAdd({ name: "x", mgmtdev: "vduse" }, { session }), "add"],
      [() => vdpaDevDel("x", { session }), "delete"],
    ] as const
  ) {
    await assert.rejects(run, (e: unknown) => {
      assert.ok(e instanceof VdevError, `not a VdevError: ${e}`);
      assert.match(
        e.message,
        new RegExp(
          `^cannot ${what} vdpa device "x": vdpa dev add x: no netlink reply within 5 ms; the kernel may still complete it: check with 'vdevctl vdpa dev show'$`,
        ),
      );
      return true;
    });
  }
});
