import assert from "node:assert/strict";
import { VdevError } from "../../lib/errors.ts";
import {
  parseVdpaArgs,
  VDPA_HELP,
  VdpaUsageError,
} from "../../lib/vdpa/args.ts";
import { iproute2Version } from "../../lib/vdpa/iproute2_version.ts";

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
        features: undefined,
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
      () => parseVdpaArgs(args, { compat: false }),
      (e: unknown) =>
        e instanceof VdevError && re.test(e.message) &&
        !e.message.includes("\n"),
      args.join(" "),
    );
  }
});

Deno.test("iproute2 6.15's additions: device_features (options may follow it) and dev set", () => {
  const add = parseVdpaArgs([
    "dev",
    "add",
    "name",
    "s0",
    "mgmtdev",
    "vdpasim_net",
    "device_features",
    "0x300010020",
    "mac",
    "52:54:00:00:00:01",
  ]);
  assert.equal(add.op, "dev-add");
  if (add.op === "dev-add") {
    assert.equal(add.spec.features, 0x300010020n);
    assert.equal(add.spec.mac, "52:54:00:00:00:01");
  }
  // strtoull base 16: "0x" optional, '+' allowed, 64 bits at most.
  for (const [text, v] of [["ffff", 0xffffn], ["+0X10", 0x10n]] as const) {
    const c = parseVdpaArgs([
      "dev",
      "add",
      "n",
      "a",
      "m",
      "b",
      "device_features",
      text,
    ]);
    assert.equal(c.op === "dev-add" && c.spec.features, v);
  }
  const addWith = (hex: string) => () =>
    parseVdpaArgs(["dev", "add", "n", "a", "m", "b", "device_features", hex]);
  assert.throws(addWith("0x1ffffffffffffffff"), /invalid device_features/);
  assert.throws(addWith("xyz"), /invalid device_features "xyz"/);
  // "device_features" is an exact word in iproute2 (strcmp).
  assert.throws(
    () => parseVdpaArgs(["dev", "add", "n", "a", "m", "b", "device", "1"]),
    /unknown option "device"/,
  );
  assert.deepEqual(
    parseVdpaArgs(["dev", "set", "n", "s0", "mac", "52:54:00:00:00:02"]),
    { op: "dev-set", name: "s0", mac: "52:54:00:00:00:02" },
  );
  assert.throws(
    () => parseVdpaArgs(["dev", "set", "mac", "x"]),
    /device name not set/,
  );
  assert.throws(
    () => parseVdpaArgs(["dev", "se", "n", "x"]),
    /command "se" not found/,
  );
  assert.throws(
    () => parseVdpaArgs(["dev", "set", "n", "x", "mtu", "1"]),
    /unknown option "mtu" for vdpa dev set/,
  );
  // strtoul accepts a leading '+'.
  const mtu = parseVdpaArgs(["dev", "add", "n", "a", "m", "b", "mtu", "+1400"]);
  assert.equal(mtu.op === "dev-add" && mtu.spec.mtu, 1400);
});

Deno.test("help forms: each topic, including dev add/set/bind help", () => {
  const topics: [string[], string][] = [
    [["help"], "vdpa"],
    [["dev", "help"], "dev"],
    [["dev", "h"], "dev"],
    [["mgmtdev", "help"], "mgmtdev"],
    [["dev", "add", "help"], "add"],
    [["dev", "a", "help"], "add"],
    [["dev", "set", "help"], "set"],
    [["dev", "bind", "help"], "bind"],
    [["dev", "bind"], "bind"],
    [["dev", "config", "help"], "config"],
    [["dev", "vstats", "help"], "vstats"],
  ];
  for (const [args, topic] of topics) {
    assert.deepEqual(
      parseVdpaArgs(args),
      { op: "help", topic },
      args.join(" "),
    );
  }
  assert.match(VDPA_HELP.add, /device_features DEVICE_FEATURES/);
  assert.match(VDPA_HELP.set, /dev set name NAME \[ mac MACADDR \]/);
  assert.match(VDPA_HELP.bind, /virtio_vdpa \| vhost_vdpa/);
  assert.match(VDPA_HELP.vdpa, /-V\[ersion\]/);
  for (const t of Object.values(VDPA_HELP)) assert.ok(t.endsWith("\n"));
});

Deno.test("dev bind NAME driver DRIVER", () => {
  assert.deepEqual(
    parseVdpaArgs(["dev", "bind", "s0", "driver", "vhost_vdpa"]),
    {
      op: "dev-bind",
      name: "s0",
      driver: "vhost_vdpa",
    },
  );
  assert.deepEqual(parseVdpaArgs(["d", "bind", "s0", "d", "virtio_vdpa"]), {
    op: "dev-bind",
    name: "s0",
    driver: "virtio_vdpa",
  });
  assert.throws(
    () => parseVdpaArgs(["dev", "bind", "s0", "driver", "vfio"]),
    /unknown vdpa bus driver "vfio": use virtio_vdpa or vhost_vdpa/,
  );
  assert.throws(() => parseVdpaArgs(["dev", "bind", "s0"]), /driver not set/);
  assert.throws(
    () => parseVdpaArgs(["dev", "bind", "s0", "driver", "vhost_vdpa", "x"]),
    /unknown option "x"/,
  );
});

Deno.test("the iproute2 version followed: option, then VDEVCTL_IPROUTE2_COMPAT, then 6.1", () => {
  assert.equal(iproute2Version(undefined, undefined), "6.1");
  assert.equal(iproute2Version(undefined, ""), "6.1");
  assert.equal(iproute2Version(undefined, "6.15"), "6.15");
  assert.equal(iproute2Version(undefined, "6.15.0"), "6.15");
  assert.equal(iproute2Version("6.1", "6.15"), "6.1");
  assert.throws(
    () => iproute2Version(undefined, "7"),
    /VDEVCTL_IPROUTE2_COMPAT: unknown iproute2 version "7"/,
  );
  assert.throws(
    () => iproute2Version("5.10", undefined),
    /--iproute2: unknown/,
  );
});

Deno.test("what iproute2 refuses carries iproute2's exact stderr (both versions print the same)", () => {
  const add = ["dev", "add", "name", "x", "mgmtdev", "m"];
  const cases: [string[], string | undefined][] = [
    [["bogus"], 'Object "bogus" not found\n'],
    [[""], 'Object "" not found\n'],
    [["dev", "frob"], 'Command "frob" not found\n'],
    // set and vstats are exact words in iproute2; "s" is show.
    [["dev", "se"], 'Command "se" not found\n'],
    [["dev", "vs", "show", "x"], 'Command "vs" not found\n'],
    [["dev", "vstats", "sh", "x"], 'Command "sh" not found\n'],
    [["dev", "config", "frob"], 'Command "frob" not found\n'],
    [["mgmtdev", "frob"], 'Command "frob" not found\n'],
    [["dev", "show", "a", "b", "c"], 'Unknown option "b"\n'],
    [["mgmtdev", "show", "a", "b", "c"], 'Unknown option "b"\n'],
    [["dev", "config", "show", "a", "b", "c"], 'Unknown option "b"\n'],
    [["dev", "del", "a", "b", "c"], 'Unknown option "b"\n'],
    [[...add, "speed", "1"], 'Unknown option "speed"\n'],
    // mac, mtu and device_features are exact words; "ma" is max_vqp.
    [[...add, "mt", "1"], 'Unknown option "mt"\n'],
    [[...add, "device", "1"], 'Unknown option "device"\n'],
    [["dev", "set", "name", "x", "mtu", "1"], 'Unknown option "mtu"\n'],
    [["dev", "set", "name", "x", "max_vqp", "1"], 'Unknown option "max_vqp"\n'],
    // A lone last word is never read: the value is not missing, the key is.
    [["dev", "add", "name"], "management device handle not set.\n"],
    [
      ["dev", "add", "name", "x", "mgmtdev"],
      "management device handle not set.\n",
    ],
    [["dev", "add", "name", "x"], "management device handle not set.\n"],
    [["dev", "add", "mgmtdev", "m"], "device name is not set.\n"],
    [["dev", "add"], "management device handle not set.\n"],
    [["dev", "set", "mac", "00:11:22:33:44:55"], "device name is not set.\n"],
    [["dev", "del"], "String parameter expected\n"],
    [
      ["mgmtdev", "show", "a/b/c"],
      'Wrong vdpa mgmtdev identification string format\nExpected "mgmtdev_bus_name/mgmtdev_name"\nExpected "mgmtdev_name"\n',
    ],
    [["dev", "vstats"], "Usage: vdpa dev vstats show DEV [qidx QUEUE_INDEX]\n"],
    [
      ["dev", "vstats", "show"],
      "Usage: vdpa dev vstats show DEV [qidx QUEUE_INDEX]\n",
    ],
    [
      ["dev", "vstats", "show", "x", "qidx"],
      "Usage: vdpa dev vstats show DEV [qidx QUEUE_INDEX]\n",
    ],
    [["dev", "vstats", "show", "x", "q", "1"], 'Unknown option "q"\n'],
    // iproute2's get_u16 and get_u64 fail without a word.
    [[...add, "mtu", "abc"], undefined],
    [[...add, "mtu", "65536"], undefined],
    [[...add, "mtu", "-1"], undefined],
    [[...add, "device_features", "xyz"], undefined],
  ];
  for (const [args, iproute2] of cases) {
    assert.throws(
      () => parseVdpaArgs(args),
      (e: unknown) =>
        e instanceof VdpaUsageError && e.iproute2 === iproute2 &&
        e.exitCode === 1 && !e.message.includes("\n"),
      args.join(" "),
    );
  }
});

Deno.test("numbers as strtoul and strtoull take them", () => {
  const add = ["dev", "add", "name", "x", "mgmtdev", "m"];
  const spec = (more: string[]) => {
    const c = parseVdpaArgs([...add, ...more]);
    assert.equal(c.op, "dev-add");
    return c.op === "dev-add" ? c.spec : undefined;
  };
  assert.equal(spec(["mtu", " 1500"])?.mtu, 1500);
  assert.equal(spec(["mtu", "-0"])?.mtu, 0);
  assert.equal(spec(["max_vqp", "+2"])?.maxVqp, 2);
  assert.equal(spec(["device_features", " 0x10"])?.features, 16n);
  assert.equal(
    spec(["device_features", "-1"])?.features,
    0xffffffffffffffffn,
  );
  assert.equal(
    spec(["device_features", "-0x2"])?.features,
    0xfffffffffffffffen,
  );
});

Deno.test("a lone last word: iproute2 ignores it (compat), the clean form refuses it", () => {
  const add = ["dev", "add", "name", "x", "mgmtdev", "m"];
  const spec = { name: "x", mgmtdev: "m" };
  for (const last of ["mtu", "mac", "max_vqp", "device_features", "bogus"]) {
    const c = parseVdpaArgs([...add, last]);
    assert.equal(c.op, "dev-add", last);
    assert.deepEqual(
      c.op === "dev-add" &&
        Object.fromEntries(
          Object.entries(c.spec).filter(([, v]) => v !== undefined),
        ),
      spec,
    );
    assert.throws(
      () => parseVdpaArgs([...add, last], { compat: false }),
      last === "bogus" ? /unknown option "bogus"/ : /expected after/,
    );
  }
  assert.deepEqual(parseVdpaArgs(["dev", "show", "a", "b"]), {
    op: "dev-show",
    name: "a",
  });
  assert.deepEqual(parseVdpaArgs(["dev", "del", "a", "b"]), {
    op: "dev-del",
    name: "a",
  });
  assert.throws(
    () => parseVdpaArgs(["dev", "show", "a", "b"], { compat: false }),
    /unknown option "b"/,
  );
});
