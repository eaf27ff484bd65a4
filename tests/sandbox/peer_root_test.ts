import assert from "node:assert/strict";
import {
  hostMirror,
  PEER_PACKAGES,
  peerDirName,
  peerRoot,
  peerScript,
} from "../../lib/sandbox/peer_root.ts";

Deno.test("peer root: the host's Debian mirror from deb822 and one-line sources", () => {
  const deb822 = [
    "Types: deb",
    "URIs: http://mirror.example/debian-security",
    "Suites: bookworm-security",
    "",
    "Types: deb",
    "URIs: http://mirror.example/debian/",
    "Suites: bookworm bookworm-updates",
  ].join("\n");
  assert.equal(hostMirror([deb822]), "http://mirror.example/debian");
  assert.equal(
    hostMirror([
      "# comment\ndeb [arch=amd64] http://m.example/debian bookworm main\n",
    ]),
    "http://m.example/debian",
  );
  assert.equal(
    hostMirror(["deb http://other.example/apt stable main\n"]),
    undefined,
  );
  assert.equal(hostMirror([]), undefined);
});

Deno.test("peer root: the directory name changes with the suite and the packages", async () => {
  const a = await peerDirName("trixie", ["iproute2", "mdevctl"]);
  assert.match(a, /^trixie-[0-9a-f]{12}$/);
  assert.equal(await peerDirName("trixie", ["iproute2", "mdevctl"]), a);
  assert.notEqual(await peerDirName("trixie", ["iproute2"]), a);
  assert.notEqual(await peerDirName("forky", ["iproute2", "mdevctl"]), a);
});

Deno.test("peer root: the script binds in order, quotes, and chroots", () => {
  const root = { dir: "/c/peer root", suite: "trixie", mdevctl: "", vdpa: "" };
  const s = peerScript(root, ["mdevctl", "list", "--uuid", "a'b"], {
    binds: [["/t/sys", "/sys"]],
  });
  assert.ok(s.startsWith("unshare -m sh -c '"), s);
  assert.ok(s.includes("mount --rbind /t/sys"), s);
  assert.ok(s.includes("chroot"), s);
  const sys = peerScript(root, ["vdpa", "-V"], { system: true });
  assert.ok(sys.indexOf("/proc") < sys.indexOf("/dev"), sys);
});

Deno.test("peer root: Debian 13's mdevctl 1.4 and iproute2 6.15 run from it on a fake tree", async () => {
  const root = await peerRoot({ say: (l) => console.error(l) });
  assert.deepEqual(PEER_PACKAGES, ["iproute2", "mdevctl"]);
  assert.match(root.mdevctl, /^mdevctl 1\.4\./);
  assert.match(root.vdpa, /iproute2-6\.(1[5-9]|[2-9]\d)/);
  const tree = await Deno.makeTempDir({ prefix: "vdevctl-peer-" });
  try {
    await Deno.mkdir(`${tree}/sys/class/mdev_bus`, { recursive: true });
    await Deno.mkdir(`${tree}/sys/bus/mdev/devices`, { recursive: true });
    await Deno.mkdir(`${tree}/etc/mdevctl.d/mtty`, { recursive: true });
    await Deno.writeTextFile(
      `${tree}/etc/mdevctl.d/mtty/b1b8c3b4-1d1e-4c5f-9a0e-6a7b8c9d0e1f`,
      '{"mdev_type":"mtty-1","start":"manual","attrs":[]}\n',
    );
    const script = peerScript(root, ["mdevctl", "list", "--defined"], {
      binds: [[`${tree}/sys`, "/sys"], [
        `${tree}/etc/mdevctl.d`,
        "/etc/mdevctl.d",
      ]],
    });
    const out = await new Deno.Command("sh", { args: ["-c", script] }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(
      text,
      "b1b8c3b4-1d1e-4c5f-9a0e-6a7b8c9d0e1f mtty mtty-1 manual\n",
    );
  } finally {
    await Deno.remove(tree, { recursive: true });
  }
});
