/**
 * `deno task bench`: runs every `bench/*_bench.ts` (or those named on the
 * command line, e.g. `deno task bench mdev`) as its own process, one after
 * the other, so that each measures a quiet machine. Each bench prints its own
 * timings and ratios against the peer it measures in the same run.
 *
 * @module
 */

const dir = new URL(".", import.meta.url).pathname;
const wanted = Deno.args;
const files = [...Deno.readDirSync(dir)]
  .map((e) => e.name)
  .filter((n) => n.endsWith("_bench.ts"))
  .filter((n) =>
    wanted.length === 0 || wanted.includes(n.replace(/_bench\.ts$/, ""))
  )
  .sort();
if (files.length === 0) {
  console.error(`vdevctl bench: no benchmark named ${wanted.join(", ")}`);
  Deno.exit(2);
}
let failed = 0;
for (const file of files) {
  console.log(`\n=== bench ${file}`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${dir}${file}`],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    console.log(`=== bench ${file}: FAILED (exit ${code})`);
    failed++;
  }
}
Deno.exit(failed > 0 ? 1 : 0);
