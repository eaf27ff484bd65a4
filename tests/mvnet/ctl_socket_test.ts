import assert from "node:assert/strict";
import {
  controlRequest,
  decodeRequest,
  listenControl,
  MAX_REQUEST,
  socketPath,
} from "../../lib/mvnet/ctl_socket.ts";
import { VdevError } from "../../lib/errors.ts";
import { SysRoot } from "../../lib/root.ts";

async function tmpRoot(): Promise<SysRoot> {
  // Short: a unix socket path has at most 107 bytes.
  return new SysRoot(await Deno.makeTempDir({ prefix: "vctl" }));
}

/** Sends raw bytes on the socket and returns everything the daemon wrote. */
async function raw(path: string, bytes: Uint8Array): Promise<string> {
  const c = await Deno.connect({ transport: "unix", path });
  try {
    await c.write(bytes);
    let out = "";
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await c.read(buf);
      if (n === null) return out;
      out += new TextDecoder().decode(buf.subarray(0, n));
    }
  } finally {
    c.close();
  }
}

Deno.test("decodeRequest: the two requests, and errors for anything else", () => {
  assert.deepEqual(decodeRequest('{"op":"stats"}'), { op: "stats" });
  assert.deepEqual(decodeRequest('{"link":"down","op":"set"}'), {
    op: "set",
    link: "down",
  });
  for (
    const [line, re] of [
      ["nope", /not JSON/],
      ["[1]", /not a JSON object/],
      ["null", /not a JSON object/],
      ['{"op":"set","link":"sideways"}', /"up" or "down"/],
      ['{"op":"set"}', /expected/],
      ['{"op":"stats","x":1}', /expected/],
      ['{"op":"reboot"}', /expected/],
    ] as const
  ) {
    assert.throws(
      () => decodeRequest(line),
      (e: unknown) => e instanceof VdevError && re.test(e.message),
      line,
    );
  }
});

Deno.test("socketPath: under the root's /run/vdevctl/mvnet, names that cannot escape", () => {
  const root = new SysRoot("/tmp/r");
  assert.equal(
    socketPath("mv0", { root }),
    "/tmp/r/run/vdevctl/mvnet/mv0.sock",
  );
  for (const bad of ["../x", "a/b", "", ".hidden", "$(id)"]) {
    assert.throws(() => socketPath(bad, { root }), VdevError, bad);
  }
});

Deno.test("control socket: requests answered, handler errors returned, modes 0700/0600", async () => {
  const root = await tmpRoot();
  const seen: unknown[] = [];
  const sock = await listenControl("mv0", {
    root,
    handler: (req) => {
      seen.push(req);
      if (req.op === "set" && req.link === "down") {
        throw new VdevError("the link can change only while the driver runs");
      }
      return { link: "up", frames: 7 };
    },
  });
  try {
    assert.equal(Deno.statSync(sock.path).mode! & 0o777, 0o600);
    const dir = sock.path.slice(0, sock.path.lastIndexOf("/"));
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    assert.deepEqual(await controlRequest("mv0", { op: "stats" }, { root }), {
      link: "up",
      frames: 7,
    });
    await assert.rejects(
      controlRequest("mv0", { op: "set", link: "down" }, { root }),
      (e: unknown) =>
        e instanceof VdevError &&
        e.message ===
          "mvnet mv0: the link can change only while the driver runs",
    );
    assert.deepEqual(seen, [{ op: "stats" }, { op: "set", link: "down" }]);
  } finally {
    await sock.close();
  }
  assert.throws(() => Deno.lstatSync(sock.path), Deno.errors.NotFound);
});

Deno.test("control socket: an oversized or bad request gets an error, the daemon keeps serving", async () => {
  const root = await tmpRoot();
  let calls = 0;
  const sock = await listenControl("mv1", {
    root,
    handler: () => ({ calls: ++calls }),
  });
  try {
    // A full buffer without a newline (all of it read: no reset).
    const long = new Uint8Array(MAX_REQUEST).fill(0x20);
    const a = JSON.parse(await raw(sock.path, long));
    assert.equal(a.ok, false);
    assert.match(a.error, /longer than 1024 bytes/);
    const b = JSON.parse(
      await raw(sock.path, new TextEncoder().encode('{"op":"x"}\n')),
    );
    assert.equal(b.ok, false);
    assert.match(b.error, /bad request/);
    assert.equal(calls, 0, "the handler never saw a bad request");
    assert.deepEqual(await controlRequest("mv1", { op: "stats" }, { root }), {
      calls: 1,
    });
  } finally {
    await sock.close();
  }
});

Deno.test("control socket: a dead daemon's stale socket is reported, then cleaned by the next daemon", async () => {
  const root = await tmpRoot();
  const path = socketPath("mv2", { root });
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  // A daemon that died (SIGKILL): its socket file stays, nobody accepts.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `Deno.listen({ transport: "unix", path: ${
        JSON.stringify(path)
      } }); console.log("up"); setInterval(() => {}, 1000);`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const first = await reader.read();
  assert.match(new TextDecoder().decode(first.value), /up/);
  child.kill("SIGKILL");
  await child.status;
  reader.releaseLock();
  await child.stdout.cancel();
  assert.ok(Deno.lstatSync(path).isSocket, "the stale socket is still there");
  await assert.rejects(
    controlRequest("mv2", { op: "stats" }, { root }),
    (e: unknown) => e instanceof VdevError && /is gone \(stale/.test(e.message),
  );
  const sock = await listenControl("mv2", { root, handler: () => ({ n: 1 }) });
  try {
    assert.deepEqual(await controlRequest("mv2", { op: "stats" }, { root }), {
      n: 1,
    });
    // A live one is not taken over.
    await assert.rejects(
      listenControl("mv2", { root, handler: () => ({}) }),
      (e: unknown) =>
        e instanceof VdevError && /another mvnet daemon/.test(e.message),
    );
  } finally {
    await sock.close();
  }
});

Deno.test("control socket: no daemon, or a non-socket in its place", async () => {
  const root = await tmpRoot();
  await assert.rejects(
    controlRequest("mv3", { op: "stats" }, { root }),
    (e: unknown) =>
      e instanceof VdevError &&
      /no mvnet daemon serves mv3 .*vdevctl mvnet run mv3/.test(e.message),
  );
  const path = socketPath("mv3", { root });
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  Deno.writeTextFileSync(path, "not a socket");
  await assert.rejects(
    listenControl("mv3", { root, handler: () => ({}) }),
    (e: unknown) => e instanceof VdevError && /not a socket/.test(e.message),
  );
  assert.equal(Deno.readTextFileSync(path), "not a socket", "left alone");
});

Deno.test("control socket: a client that sends nothing does not block others", async () => {
  const root = await tmpRoot();
  const sock = await listenControl("mv4", { root, handler: () => ({ n: 2 }) });
  const idle = await Deno.connect({ transport: "unix", path: sock.path });
  try {
    assert.deepEqual(await controlRequest("mv4", { op: "stats" }, { root }), {
      n: 2,
    });
  } finally {
    idle.close();
    await sock.close();
  }
});
