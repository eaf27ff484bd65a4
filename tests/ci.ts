/**
 * The whole test run (`deno task ci`, `npm test`, `.ci/run`): formatting,
 * lint, type check, unit and differential tests, then the e2e suite in the
 * real-kernel sandbox. Streams every step's output, stops at nothing (every
 * step runs), and ends with one line `N passed, N failed` summed over all
 * test runs; exits non-zero if any step failed.
 *
 * @module
 */

interface Step {
  name: string;
  cmd: string[];
}

const deno = Deno.execPath();
const steps: Step[] = [
  { name: "host packages", cmd: ["bash", "tests/host_packages.sh"] },
  { name: "fmt", cmd: [deno, "fmt", "--check"] },
  { name: "lint", cmd: [deno, "lint"] },
  { name: "check", cmd: [deno, "task", "-q", "check"] },
  { name: "unit and differential tests", cmd: [deno, "task", "-q", "test"] },
  {
    name: "not-root tests from a clone in a 0700 directory",
    cmd: ["bash", "tests/private_clone.sh"],
  },
  { name: "e2e suite in the sandbox", cmd: [deno, "task", "-q", "e2e"] },
];

const tally = { passed: 0, failed: 0 };
const failedSteps: string[] = [];
const decoder = new TextDecoder();

/** Adds the counts of Deno's closing lines ("ok | 3 passed | 0 failed"). */
function count(text: string): void {
  // deno-lint-ignore no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  for (
    const m of plain.matchAll(
      /^(?:ok|FAILED) \| (\d+) passed.*?\| (\d+) failed/gm,
    )
  ) {
    tally.passed += Number(m[1]);
    tally.failed += Number(m[2]);
  }
}

for (const step of steps) {
  console.log(`\n=== ${step.name}: ${step.cmd.join(" ")}`);
  const started = performance.now();
  const child = new Deno.Command(step.cmd[0], {
    args: step.cmd.slice(1),
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  let tail = "";
  for await (const chunk of child.stdout) {
    await Deno.stdout.write(chunk);
    tail += decoder.decode(chunk, { stream: true });
    const cut = tail.lastIndexOf("\n");
    if (cut >= 0) {
      count(tail.slice(0, cut + 1));
      tail = tail.slice(cut + 1);
    }
  }
  count(tail);
  const { code } = await child.status;
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `=== ${step.name}: ${
      code === 0 ? "ok" : `FAILED (exit ${code})`
    } in ${secs} s`,
  );
  if (code !== 0) failedSteps.push(step.name);
}

if (failedSteps.length > 0) {
  console.log(`\nfailed steps: ${failedSteps.join(", ")}`);
  if (tally.failed === 0) tally.failed = failedSteps.length;
}
console.log(`\n${tally.passed} passed, ${tally.failed} failed`);
Deno.exit(failedSteps.length > 0 ? 1 : 0);
