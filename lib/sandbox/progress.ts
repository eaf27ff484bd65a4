/**
 * Progress display for the sandbox's slow steps (download, extract, build,
 * boot): a spinner or bar on stderr when it is a terminal, one plain line per
 * step otherwise, or nothing.
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
}

const encoder = new TextEncoder();
const FRAMES = ["|", "/", "-", "\\"];

/** A bar of `width` cells for `fraction` (clamped to [0, 1]). */
export function progressBar(fraction: number, width = 20): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return `[${"#".repeat(full)}${".".repeat(width - full)}] ${
    Math.floor(f * 100).toString().padStart(3)
  }%`;
}

class NoProgress implements Progress {
  step(): void {}
  update(): void {}
  done(): void {}
}

class PlainProgress implements Progress {
  #started = 0;
  #label = "";
  step(label: string, options: { transient?: boolean } = {}): void {
    this.done();
    if (options.transient) return;
    this.#label = label;
    this.#started = performance.now();
    Deno.stderr.writeSync(encoder.encode(`vdevctl sandbox: ${label}...\n`));
  }
  update(): void {}
  done(): void {
    if (this.#label === "") return;
    const secs = ((performance.now() - this.#started) / 1000).toFixed(1);
    Deno.stderr.writeSync(
      encoder.encode(`vdevctl sandbox: ${this.#label}: done in ${secs} s\n`),
    );
    this.#label = "";
  }
}

class TtyProgress implements Progress {
  #label = "";
  #started = 0;
  #fraction: number | undefined;
  #detail = "";
  #frame = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

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
    this.#draw();
  }

  done(): void {
    if (this.#label === "") return;
    clearInterval(this.#timer);
    const secs = ((performance.now() - this.#started) / 1000).toFixed(1);
    Deno.stderr.writeSync(
      encoder.encode(`\r\x1b[2Kvdevctl sandbox: ${this.#label} (${secs} s)\n`),
    );
    this.#label = "";
  }

  #draw(): void {
    if (this.#label === "") return;
    const secs = ((performance.now() - this.#started) / 1000).toFixed(0);
    const head = this.#fraction === undefined
      ? FRAMES[this.#frame++ % FRAMES.length]
      : progressBar(this.#fraction);
    const detail = this.#detail ? ` ${this.#detail}` : "";
    Deno.stderr.writeSync(
      encoder.encode(
        `\r\x1b[2K${head} ${this.#label}${detail} ${secs} s`,
      ),
    );
  }
}

/** A progress reporter for `mode` ("auto": a terminal gets a spinner). */
export function createProgress(mode: ProgressMode = "auto"): Progress {
  const m = mode === "auto"
    ? (Deno.stderr.isTerminal() ? "tty" : "plain")
    : mode;
  if (m === "tty") return new TtyProgress();
  if (m === "plain") return new PlainProgress();
  return new NoProgress();
}
