import assert from "node:assert/strict";
import { VdevError } from "../../lib/errors.ts";
import { parseVdpaArgs } from "../../lib/vdpa/args.ts";

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
