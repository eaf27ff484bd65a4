import assert from "node:assert/strict";
import { PACKET, PacketSocket, SOCKADDR_LL } from "../../lib/sys/mod.ts";
import { buildFrame, frameSize, percentile } from "../../lib/mvnet/smoke.ts";

Deno.test("struct sockaddr_ll layout and packet constants match the UAPI headers (gcc)", async () => {
  const fields = Object.entries(SOCKADDR_LL.fields);
  const src = [
    "#include <stdio.h>",
    "#include <stddef.h>",
    "#include <sys/socket.h>",
    "#include <linux/if_packet.h>",
    "int main(void) {",
    `  printf("size %zu\\n", sizeof(struct sockaddr_ll));`,
    ...fields.map(([name]) =>
      `  printf("${name} %zu %zu\\n", offsetof(struct sockaddr_ll, ${name}), sizeof(((struct sockaddr_ll *)0)->${name}));`
    ),
    `  printf("AF_PACKET %d\\n", AF_PACKET);`,
    `  printf("SOL_PACKET %d\\n", SOL_PACKET);`,
    `  printf("PACKET_IGNORE_OUTGOING %d\\n", PACKET_IGNORE_OUTGOING);`,
    `  printf("PACKET_QDISC_BYPASS %d\\n", PACKET_QDISC_BYPASS);`,
    "  return 0;",
    "}",
  ].join("\n");
  const dir = Deno.makeTempDirSync({ prefix: "mvnet-ll-" });
  try {
    Deno.writeTextFileSync(`${dir}/t.c`, src);
    const cc = await new Deno.Command("gcc", {
      args: ["-o", `${dir}/t`, `${dir}/t.c`],
    }).output();
    assert.equal(cc.code, 0, new TextDecoder().decode(cc.stderr));
    const out = new TextDecoder().decode(
      (await new Deno.Command(`${dir}/t`).output()).stdout,
    );
    const got = new Map(
      out.trim().split("\n").map((l) => {
        const [k, ...v] = l.split(" ");
        return [k, v.map(Number)];
      }),
    );
    assert.deepEqual(got.get("size"), [SOCKADDR_LL.size]);
    for (const [name, f] of fields) {
      const size = { u8: 1, u16: 2, i32: 4, u32: 4, u64: 8, i64: 8 }[f.type];
      assert.deepEqual(got.get(name), [f.offset, size * f.count], name);
    }
    assert.deepEqual(got.get("AF_PACKET"), [PACKET.AF_PACKET]);
    assert.deepEqual(got.get("SOL_PACKET"), [PACKET.SOL_PACKET]);
    assert.deepEqual(got.get("PACKET_IGNORE_OUTGOING"), [
      PACKET.PACKET_IGNORE_OUTGOING,
    ]);
    assert.deepEqual(got.get("PACKET_QDISC_BYPASS"), [
      PACKET.PACKET_QDISC_BYPASS,
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("PacketSocket sends and receives whole frames on lo", () => {
  const sock = PacketSocket.open("lo", 0x88b5);
  try {
    const f = buildFrame(7, 200, {
      dst: new Uint8Array(6),
      src: new Uint8Array(6),
    });
    assert.equal(sock.send(f), true);
    const buf = new Uint8Array(2048);
    let n = -1;
    for (let i = 0; i < 1000 && n < 0; i++) n = sock.recv(buf);
    assert.equal(n, 200);
    assert.deepEqual(buf.subarray(0, n), f);
    assert.equal(sock.recv(buf), -1, "nothing else (own frames ignored once)");
  } finally {
    sock.close();
  }
});

Deno.test("smoke frames: deterministic, varied sizes, percentiles", () => {
  const sizes = Array.from({ length: 1000 }, (_, i) => frameSize(i, "mixed"));
  assert.equal(Math.min(...sizes), 60);
  assert.equal(Math.max(...sizes), 1514);
  assert.ok(new Set(sizes).size > 500, "varied");
  assert.equal(frameSize(5, 128), 128);
  const mac = { dst: new Uint8Array(6).fill(1), src: new Uint8Array(6) };
  assert.deepEqual(buildFrame(3, 100, mac), buildFrame(3, 100, mac));
  assert.notDeepEqual(buildFrame(3, 100, mac), buildFrame(4, 100, mac));
  const xs = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 0.5), 50);
  assert.equal(percentile(xs, 0.99), 99);
  assert.equal(percentile(new Float64Array(0), 0.5), 0);
});
