import assert from "node:assert/strict";
import { resolveRoot, SysRoot } from "../lib/root.ts";

Deno.test("SysRoot resolves system paths under the root", () => {
  assert.equal(
    new SysRoot("/").path("/sys/class/mdev_bus"),
    "/sys/class/mdev_bus",
  );
  assert.equal(
    new SysRoot("/tmp/x/").path("/etc/mdevctl.d"),
    "/tmp/x/etc/mdevctl.d",
  );
  assert.equal(new SysRoot("/tmp/./x/../y").dir, "/tmp/y");
  assert.equal(new SysRoot("rel").dir, `${Deno.cwd()}/rel`);
  assert.throws(() => new SysRoot("/").path("sys"), /must be absolute/);
});

Deno.test("resolveRoot: option, then VDEVCTL_ROOT, then /", () => {
  const saved = Deno.env.get("VDEVCTL_ROOT");
  try {
    Deno.env.set("VDEVCTL_ROOT", "/tmp/env-root");
    assert.equal(resolveRoot("/tmp/opt").dir, "/tmp/opt");
    assert.equal(resolveRoot().dir, "/tmp/env-root");
    Deno.env.delete("VDEVCTL_ROOT");
    assert.equal(resolveRoot().dir, "/");
    assert.equal(resolveRoot().isReal, true);
  } finally {
    if (saved === undefined) Deno.env.delete("VDEVCTL_ROOT");
    else Deno.env.set("VDEVCTL_ROOT", saved);
  }
});
