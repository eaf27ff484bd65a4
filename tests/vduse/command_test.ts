import assert from "node:assert/strict";

Deno.test("the CLI refuses before touching the kernel (missing module in a fake root)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vdevctl-vduse-" });
  try {
    const run = async (...args: string[]) => {
      const o = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "main.ts", "--root", dir, "vduse", ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: o.code, err: new TextDecoder().decode(o.stderr) };
    };
    const bad = await run(
      "create",
      "x",
      "--type",
      "net",
      "--features",
      "0x100000000",
    );
    assert.equal(bad.code, 1);
    assert.equal(
      bad.err,
      "vdevctl: cannot create VDUSE device x: features must include ACCESS_PLATFORM (bit 33): VDUSE devices are only reachable through their IOTLB\n",
    );
    const missing = await run("create", "x", "--type", "net");
    assert.equal(missing.code, 1);
    assert.match(missing.err, /modprobe vduse/);
    const list = await run("list");
    assert.match(list.err, /modprobe vduse/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
