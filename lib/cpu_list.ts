/**
 * CPU sets in the kernel's two spellings: the list users write and
 * `/sys/devices/system/cpu/online` reads ("0-3,6"), and the hexadecimal mask
 * that cpumask attributes such as VDUSE's `irq_cb_affinity` take ("4f", in
 * comma-separated 32-bit words for more than 32 CPUs).
 *
 * @module
 */

import { VdevError } from "./errors.ts";
import type { SysRoot } from "./root.ts";

/** Highest CPU number accepted (the kernel's NR_CPUS limit is 8192). */
export const MAX_CPU = 8191;

/**
 * Parses a CPU list ("1", "0,2-3") into sorted, distinct CPU numbers.
 * `what` names the input in the error (an option such as "--irq-cpus").
 */
export function parseCpuList(text: string, what = "CPU list"): number[] {
  const bad = (why: string) =>
    new VdevError(
      `bad ${what} '${text}': ${why}; give CPU numbers such as 1 or 0,2-3`,
    );
  const cpus = new Set<number>();
  const trimmed = text.trim();
  if (trimmed === "") throw bad("it is empty");
  for (const part of trimmed.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw bad(`'${part}' is not a CPU number or range`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw bad(`the range ${part} runs backwards`);
    if (to > MAX_CPU) throw bad(`CPU ${to} is beyond ${MAX_CPU}`);
    for (let c = from; c <= to; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** Formats CPU numbers as a list, ranges collapsed ("0-2,5"). */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/**
 * The hexadecimal mask of `cpus` as the kernel's cpumask_parse() reads it:
 * 32-bit words, most significant first, comma-separated ("1", "1,00000000").
 */
export function cpuMask(cpus: readonly number[]): string {
  if (cpus.length === 0) return "0";
  const words = new Uint32Array((Math.max(...cpus) >> 5) + 1);
  for (const c of cpus) words[c >> 5] |= 1 << (c & 31);
  const out: string[] = [];
  for (let w = words.length - 1; w >= 0; w--) {
    const hex = words[w].toString(16);
    out.push(w === words.length - 1 ? hex : hex.padStart(8, "0"));
  }
  return out.join(",");
}

/** Parses a mask as the kernel prints it ("3", "00000001,00000000"). */
export function parseCpuMask(text: string): number[] {
  const cpus: number[] = [];
  const words = text.trim().split(",").reverse();
  words.forEach((word, w) => {
    const v = parseInt(word, 16);
    if (!/^[0-9a-fA-F]+$/.test(word) || Number.isNaN(v)) {
      throw new VdevError(`bad CPU mask '${text.trim()}' from the kernel`);
    }
    for (let b = 0; b < 32; b++) if ((v >>> b) & 1) cpus.push(w * 32 + b);
  });
  return cpus.sort((a, b) => a - b);
}

/** The CPUs that are online (`/sys/devices/system/cpu/online`). */
export function onlineCpus(root: SysRoot): number[] {
  const path = root.path("/sys/devices/system/cpu/online");
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    throw new VdevError(`cannot read the online CPUs from ${path}: ${err}`, {
      cause: err,
    });
  }
  return parseCpuList(text, path);
}

/**
 * Checks that every CPU of `cpus` is online; the error names `what` (an
 * option such as "--irq-cpus") and the CPUs that are.
 */
export function requireOnline(
  root: SysRoot,
  cpus: readonly number[],
  options: { what: string },
): void {
  const what = options.what;
  const online = new Set(onlineCpus(root));
  const off = cpus.filter((c) => !online.has(c));
  if (off.length > 0) {
    throw new VdevError(
      `bad ${what} ${formatCpuList(cpus)}: CPU ${
        formatCpuList(off)
      } is not online (online: ${formatCpuList([...online])})`,
    );
  }
}
