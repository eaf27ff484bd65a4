import assert from "node:assert/strict";
import {
  cpuMask,
  formatCpuList,
  onlineCpus,
  parseCpuList,
  parseCpuMask,
  requireOnline,
} from "../lib/cpu_list.ts";
import { SysRoot } from "../lib/root.ts";

Deno.test("CPU lists parse to sorted distinct numbers", () => {
  assert.deepEqual(parseCpuList("1"), [1]);
  assert.deepEqual(parseCpuList("3,0-2,2"), [0, 1, 2, 3]);
  assert.deepEqual(parseCpuList(" 0-1,8\n"), [0, 1, 8]);
  assert.equal(formatCpuList([5, 0, 1, 2, 7, 8]), "0-2,5,7-8");
  assert.equal(formatCpuList([4]), "4");
});

Deno.test("bad CPU lists are refused with the input named", () => {
  const cases: [string, RegExp][] = [
    ["", /bad --irq-cpus '': it is empty/],
    ["x", /'x' is not a CPU number or range/],
    ["1,,2", /'' is not a CPU number/],
    ["3-1", /the range 3-1 runs backwards/],
    ["-1", /'-1' is not a CPU number/],
    ["9000", /CPU 9000 is beyond 8191/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseCpuList(text, "--irq-cpus"), re, text);
    assert.throws(() => parseCpuList(text, "--irq-cpus"), /such as 1 or 0,2-3/);
  }
});

Deno.test("masks are 32-bit words as cpumask_parse reads them", () => {
  assert.equal(cpuMask([0]), "1");
  assert.equal(cpuMask([1]), "2");
  assert.equal(cpuMask([0, 1, 2, 3, 6]), "4f");
  assert.equal(cpuMask([31]), "80000000");
  assert.equal(cpuMask([32]), "1,00000000");
  assert.equal(cpuMask([0, 64]), "1,00000000,00000001");
  assert.deepEqual(parseCpuMask("00000001,00000000\n"), [32]);
  assert.deepEqual(parseCpuMask("3"), [0, 1]);
  assert.throws(() => parseCpuMask("zz"), /bad CPU mask 'zz'/);
});

Deno.test("masks and lists round-trip for random CPU sets", () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 2000; i++) {
    const set = new Set<number>();
    const count = 1 + rand(12);
    for (let j = 0; j < count; j++) set.add(rand(i % 2 ? 40 : 130));
    const cpus = [...set].sort((a, b) => a - b);
    assert.deepEqual(parseCpuMask(cpuMask(cpus)), cpus);
    assert.deepEqual(parseCpuList(formatCpuList(cpus)), cpus);
  }
});

Deno.test("online CPUs come from sysfs; offline ones are named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vdevctl-cpu-" });
  try {
    const root = new SysRoot(dir);
    assert.throws(() => onlineCpus(root), /cannot read the online CPUs/);
    await Deno.mkdir(`${dir}/sys/devices/system/cpu`, { recursive: true });
    await Deno.writeTextFile(`${dir}/sys/devices/system/cpu/online`, "0-1\n");
    assert.deepEqual(onlineCpus(root), [0, 1]);
    requireOnline(root, [1], { what: "--irq-cpus" });
    assert.throws(
      () => requireOnline(root, [1, 2, 3], { what: "--irq-cpus" }),
      /^VdevError: bad --irq-cpus 1-3: CPU 2-3 is not online \(online: 0-1\)$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
