/**
 * Progress display for slow steps (the sandbox's download, extract, build
 * and boot; `mvnet smoke`'s frames): one line on stderr redrawn in place
 * when it is a terminal, trimmed to the terminal's width (a longer line
 * wraps, and `\r` then redraws only its last row, leaving stale rows
 * behind); one plain line per step otherwise; or nothing.
 *
 * @module
 */

/** How progress is shown: "auto" picks "tty" or "plain" from stderr. */
export type ProgressMode = "auto" | "tty" | "plain" | "none";

/** Reports the steps of a long operation. */
export interface Progress {
  /**
   * Starts a step (ends the previous one). A `transient` step (e.g. booting)
   * shows only on a terminal, not as plain lines.
   */
  step(label: string, options?: { transient?: boolean }): void;
  /** Updates the current step: a fraction in [0, 1] and/or a detail text. */
  update(fraction?: number, detail?: string): void;
  /** Ends the current step (clears the line on a terminal). */
  done(): void;
  /**
   * Prints a diagnostic line (shown in every mode, `none` included: quiet
   * hides progress, never problems), below the progress line on a terminal.
   */
  note(line: string): void;
}

/** Where a progress display writes: stderr, or a test's fake terminal. */
export interface ProgressWriter {
  /** Writes `text` as it is. */
  write(text: string): void;
  /** The terminal's width in columns; undefined when it is not a terminal. */
  columns(): number | undefined;
}

/** Options of {@linkcode createProgress}. */
export interface ProgressOptions {
  /** What plain and summary lines start with (default "vdevctl sandbox"). */
  prefix?: string;
  /** Where to write (default: stderr, its width from `Deno.consoleSize`). */
  writer?: ProgressWriter;
  /**
   * On a terminal, leave a summary line (`PREFIX: LABEL (S s)`) when a step
   * ends (default true); false clears the line and leaves nothing.
   */
  summaries?: boolean;
}

const encoder = new TextEncoder();
const FRAMES = ["|", "/", "-", "\\"];
/** Least time between two redraws caused by `update` (the timer also redraws). */
const REDRAW_MS = 100;

/** A bar of `width` cells for `fraction` (clamped to [0, 1]). */
export function progressBar(fraction: number, width = 20): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return `[${"#".repeat(full)}${".".repeat(width - full)}] ${
    Math.floor(f * 100).toString().padStart(3)
  }%`;
}

/** Code point ranges a terminal shows two columns wide (East Asian wide, emoji). */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f],
  [0x231a, 0x231b],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f680, 0x1f6ff],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x3fffd],
];
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\p{Cc}]$/u;

/** The columns a terminal gives code point `ch` (0, 1 or 2). */
export function charColumns(ch: string): number {
  if (ZERO_WIDTH.test(ch)) return 0;
  const cp = ch.codePointAt(0)!;
  return WIDE.some(([lo, hi]) => cp >= lo && cp <= hi) ? 2 : 1;
}

/** The columns `text` takes on a terminal (one line, no escapes). */
export function displayColumns(text: string): number {
  let n = 0;
  for (const ch of text) n += charColumns(ch);
  return n;
}

/** `text` cut to at most `width` columns, never in the middle of a character. */
export function fitColumns(text: string, width: number): string {
  let n = 0;
  let out = "";
  for (const ch of text) {
    const w = charColumns(ch);
    if (n + w > width) break;
    n += w;
    out += ch;
  }
  return out;
}

/**
 * The progress line for a terminal `columns` wide: `HEAD LABEL DETAIL S s`
 * in at most `columns - 1` columns (the last column would leave the cursor
 * in the terminal's pending-wrap state). The label and detail are cut first,
 * so that the bar and the time stay; on a very narrow terminal the whole
 * line is cut.
 */
export function progressLine(
  parts: { head: string; label: string; secs: string },
  columns: number,
): string {
  const width = Math.max(1, columns - 1);
  const tail = ` ${parts.secs} s`;
  const fixed = displayColumns(parts.head) + 1 + displayColumns(tail);
  const whole = `${parts.head} ${parts.label}${tail}`;
  if (displayColumns(whole) <= width) return whole;
  if (width - fixed >= 4) {
    return `${parts.head} ${fitColumns(parts.label, width - fixed)}${tail}`;
  }
  return fitColumns(whole, width);
}

/** The terminal's width: `Deno.consoleSize()`, undefined when there is none. */
function consoleColumns(): number | undefined {
  try {
    return Deno.consoleSize().columns || undefined;
  } catch {
    return undefined;
  }
}

/** stderr as a {@linkcode ProgressWriter}. */
export const stderrWriter: ProgressWriter = {
  write(text: string): void {
    const bytes = encoder.encode(text);
    let off = 0;
    while (off < bytes.length) {
      off += Deno.stderr.writeSync(bytes.subarray(off));
    }
  },
  columns(): number | undefined {
    return Deno.stderr.isTerminal() ? consoleColumns() ?? 80 : undefined;
  },
};

class NoProgress implements Progress {
  constructor(readonly writer: ProgressWriter) {}
  step(): void {}
  update(): void {}
  done(): void {}
  note(line: string): void {
    this.writer.write(`${line}\n`);
  }
}

class PlainProgress implements Progress {
  #started = 0;
  #label = "";
  constructor(readonly writer: ProgressWriter, readonly prefix: string) {}
  step(label: string, options: { transient?: boolean } = {}): void {
    this.done();
    if (options.transient) return;
    this.#label = label;
    this.#started = performance.now();
    this.writer.write(`${this.prefix}: ${label}...\n`);
  }
  update(): void {}
  done(): void {
    if (this.#label === "") return;
    const secs = ((performance.now() - this.#started) / 1000).toFixed(1);
    this.writer.write(`${this.prefix}: ${this.#label}: done in ${secs} s\n`);
    this.#label = "";
  }
  note(line: string): void {
    this.writer.write(`${line}\n`);
  }
}

class TtyProgress implements Progress {
  #label = "";
  #started = 0;
  #fraction: number | undefined;
  #detail = "";
  #frame = 0;
  #drawn = -Infinity;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly writer: ProgressWriter,
    readonly options: { prefix: string; summaries: boolean },
  ) {}

  step(label: string): void {
    this.done();
    this.#label = label;
    this.#started = performance.now();
    this.#fraction = undefined;
    this.#detail = "";
    this.#timer = setInterval(() => this.#draw(), 120);
    Deno.unrefTimer(this.#timer as unknown as number);
    this.#draw();
  }

  update(fraction?: number, detail?: string): void {
    if (fraction !== undefined) this.#fraction = fraction;
    if (detail !== undefined) this.#detail = detail;
    if (performance.now() - this.#drawn >= REDRAW_MS) this.#draw();
  }

  done(): void {
    if (this.#label === "") return;
    clearInterval(this.#timer);
    const secs = ((performance.now() - this.#started) / 1000).toFixed(1);
    const summary = this.options.summaries ? `${this.#summary(secs)}\n` : "";
    this.writer.write(`\r\x1b[2K${summary}`);
    this.#label = "";
  }

  note(line: string): void {
    this.writer.write(`\r\x1b[2K${line}\n`);
    this.#draw();
  }

  /** `PREFIX: LABEL (S s)` in the width, the label cut first. */
  #summary(secs: string): string {
    const width = Math.max(1, (this.writer.columns() ?? 80) - 1);
    const tail = ` (${secs} s)`;
    const head = `${this.options.prefix}: ${this.#label}`;
    const room = width - displayColumns(tail);
    if (displayColumns(head) <= room) return head + tail;
    return room >= 8 ? fitColumns(head, room) + tail : fitColumns(head, width);
  }

  #draw(): void {
    if (this.#label === "") return;
    this.#drawn = performance.now();
    const secs = ((performance.now() - this.#started) / 1000).toFixed(0);
    const head = this.#fraction === undefined
      ? FRAMES[this.#frame++ % FRAMES.length]
      : progressBar(this.#fraction);
    const label = this.#detail ? `${this.#label} ${this.#detail}` : this.#label;
    const line = progressLine(
      { head, label, secs },
      this.writer.columns() ?? 80,
    );
    this.writer.write(`\r\x1b[2K${line}`);
  }
}

/**
 * A progress reporter for `mode` ("auto": a spinner line on a terminal,
 * plain lines otherwise).
 */
export function createProgress(
  mode: ProgressMode = "auto",
  options: ProgressOptions = {},
): Progress {
  const writer = options.writer ?? stderrWriter;
  const prefix = options.prefix ?? "vdevctl sandbox";
  const m = mode === "auto"
    ? (writer.columns() !== undefined ? "tty" : "plain")
    : mode;
  if (m === "tty") {
    return new TtyProgress(writer, {
      prefix,
      summaries: options.summaries ?? true,
    });
  }
  if (m === "plain") return new PlainProgress(writer, prefix);
  return new NoProgress(writer);
}
