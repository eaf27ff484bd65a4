/**
 * What `vdevctl doctor` reports, and its two outputs: one line per check
 * (status, family, what, what was found, the fix) with one summary line per
 * family, and the same as JSON (snake_case keys, schemas/doctor.schema.json).
 *
 * @module
 */

import { jsonText } from "../json_keys.ts";

/** The families doctor reports on ("host" holds the kernel line). */
export const DOCTOR_FAMILIES = ["mdev", "vdpa", "vduse", "mvnet"] as const;

/** A family doctor reports on. */
export type DoctorFamily = typeof DOCTOR_FAMILIES[number];

/**
 * How a check came out: `ok`; `missing` (absent or not allowed; `fix` says
 * what to run when a command fixes it); `warn` (works, but not as it
 * should); `skip` (not asked: a kernel call under a `--root` tree).
 */
export type CheckStatus = "ok" | "missing" | "warn" | "skip";

/** One check, one line of output. */
export interface Check {
  /** Key the families' requirements name, e.g. `module:vduse`. */
  id: string;
  /** The family the line is shown under. */
  family: DoctorFamily | "host";
  /** What was checked, e.g. `module vduse`. */
  name: string;
  /** The outcome. */
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** The command (or step) that fixes it, when not ok. */
  fix?: string;
  /** The families that cannot work without it (none: optional). */
  neededBy?: DoctorFamily[];
}

/** Whether one family can work here. */
export interface FamilySummary {
  /** The family. */
  family: DoctorFamily;
  /** True when every check it needs is ok (or skipped). */
  works: boolean;
  /** The checks it needs that are not ok. */
  failed: string[];
  /** What to do, when it cannot work (the family's own message if it applies). */
  hint?: string;
}

/** Everything doctor found. */
export interface DoctorReport {
  /** The kernel release (`uname -r`), or "" when unknown. */
  kernel: string;
  /** Every check, in output order. */
  checks: Check[];
  /** One summary per family. */
  families: FamilySummary[];
  /** True when every family can work. */
  ok: boolean;
}

/** One check as a line: `missing  vduse  module vduse: available, not loaded; fix: modprobe vduse`. */
export function checkLine(check: Check): string {
  const fix = check.fix && check.status !== "ok" ? `; fix: ${check.fix}` : "";
  const optional = check.status === "missing" && check.neededBy?.length === 0
    ? " (optional)"
    : "";
  return `${check.status.padEnd(8)} ${
    check.family.padEnd(6)
  } ${check.name}${optional}: ${check.detail}${fix}`;
}

/** One family's summary line: `vduse: ok`, or `vduse: cannot work: HINT`. */
export function summaryLine(summary: FamilySummary): string {
  return summary.works
    ? `${summary.family}: ok`
    : `${summary.family}: cannot work: ${summary.hint}`;
}

/** The report as text: the checks, a blank line, the family summaries. */
export function reportText(report: DoctorReport): string {
  return [
    ...report.checks.map(checkLine),
    "",
    ...report.families.map(summaryLine),
    "",
  ].join("\n");
}

/** The report as JSON (snake_case keys), with a final newline. */
export function reportJson(report: DoctorReport): string {
  return `${jsonText(report)}\n`;
}
