/**
 * lib/progress.ts: the bar, display columns (wide and combining characters),
 * the terminal line trimmed to the width (80, 40, 10 columns), and the
 * renderer on a fake terminal and on a real pseudo-terminal (`script` from
 * util-linux, `stty cols 80`): no row it draws is wider than the terminal.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  createProgress,
  displayColumns,
  fitColumns,
  progressBar,
  progressLine,
  type ProgressWriter,
} from "../lib/progress.ts";

Deno.test("progressBar: width, percentage and clamping", () => {
  assert.equal(progressBar(0.5, 10), "[#####.....]  50%");
  assert.equal(progressBar(2, 4), "[####] 100%");
});

Deno.test("displayColumns/fitColumns: wide characters take two columns, combining marks none", () => {
  assert.equal(displayColumns("abc"), 3);
  assert.equal(displayColumns("日本語"), 6);
  assert.equal(displayColumns("e\u0301"), 1);
  assert.equal(displayColumns("é ü"), 3);
  assert.equal(displayColumns("🚀"), 2);
  // Never half a wide character, never a split surrogate pair.
  assert.equal(fitColumns("日本語", 5), "日本");
  assert.equal(fitColumns("a🚀b", 2), "a");
  assert.equal(fitColumns("a🚀b", 3), "a🚀");
  assert.equal(fitColumns("short", 80), "short");
});

/** The rows a terminal shows for what was written (after every `\r`, `\n`). */
function rows(text: string): string[] {
  // deno-lint-ignore no-control-regex
  const plain = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
  return plain.split(/\r\n|\r|\n/);
}

const LONG_LABEL =
  "downloading Linux 6.12.48+deb13-amd64 (linux-image, linux-headers, linux-kbuild, linux-source: 213 MB)";

Deno.test("progressLine: at most width - 1 columns at 80, 40 and 10; bar and time kept", () => {
  const head = progressBar(0.42);
  for (const width of [80, 40, 10]) {
    for (
      const label of [
        LONG_LABEL,
        "Größe 日本語のカーネルを取得中 🚀 ñ".repeat(4),
      ]
    ) {
      const line = progressLine({ head, label, secs: "12" }, width);
      assert.ok(
        displayColumns(line) <= width - 1,
        `${width}: ${displayColumns(line)} columns: ${line}`,
      );
      if (width >= 40) {
        assert.ok(line.startsWith(`${head} `), line);
        assert.ok(line.endsWith(" 12 s"), line);
      }
    }
  }
  // A short line is left whole.
  assert.equal(
    progressLine({ head: "|", label: "booting", secs: "3" }, 80),
    "| booting 3 s",
  );
  // A multi-byte label is cut by columns, not by UTF-16 units or bytes.
  const cut = progressLine(
    { head: "|", label: "日本語".repeat(20), secs: "1" },
    40,
  );
  assert.equal(displayColumns(cut), 38, cut);
  assert.ok(cut.startsWith("| 日本語"), cut);
});

class FakeTerminal implements ProgressWriter {
  out = "";
  constructor(public width: number | undefined) {}
  write(text: string): void {
    this.out += text;
  }
  columns(): number | undefined {
    return this.width;
  }
}

Deno.test("the tty renderer never draws a row wider than the terminal, and follows a resize", () => {
  const term = new FakeTerminal(80);
  const p = createProgress("auto", { writer: term, prefix: "vdevctl test" });
  p.step(LONG_LABEL);
  p.update(0.5, "100/213 MB");
  term.width = 40;
  p.step("日本語".repeat(30));
  p.update(0.9, "ünïcödé ".repeat(10));
  p.note("vdevctl: a diagnostic");
  p.done();
  const drawn = rows(term.out);
  assert.ok(drawn.some((r) => r.startsWith("[##")), term.out);
  assert.ok(drawn.includes("vdevctl: a diagnostic"), "the note is shown whole");
  for (const r of drawn) {
    if (r === "vdevctl: a diagnostic") continue;
    assert.ok(displayColumns(r) < 80, `${displayColumns(r)}: ${r}`);
  }
  // The summary of a long step keeps its time.
  assert.ok(
    drawn.some((r) => /^vdevctl test: downloading.* \(\d+\.\d s\)$/.test(r)),
    term.out,
  );
  // After the resize to 40 columns, rows fit 40.
  const after = term.out.slice(term.out.indexOf("日本語"));
  for (const r of rows(after)) {
    if (r === "vdevctl: a diagnostic") continue;
    assert.ok(displayColumns(r) < 40, `${displayColumns(r)}: ${r}`);
  }
});

Deno.test("no terminal: plain lines only (auto), or nothing but notes (none); no redraws", () => {
  const plain = new FakeTerminal(undefined);
  const p = createProgress("auto", { writer: plain, prefix: "vdevctl test" });
  p.step("step one");
  p.update(0.5, "half");
  p.step("booting", { transient: true });
  p.done();
  assert.ok(
    !plain.out.includes("\r") && !plain.out.includes("\x1b"),
    plain.out,
  );
  assert.match(
    plain.out,
    /^vdevctl test: step one\.\.\.\nvdevctl test: step one: done in \d+\.\d s\n$/,
  );
  const none = new FakeTerminal(undefined);
  const q = createProgress("none", { writer: none });
  q.step("step");
  q.update(1, "x");
  q.note("vdevctl: still said");
  q.done();
  assert.equal(none.out, "vdevctl: still said\n");
});

Deno.test("summaries: false leaves nothing on the terminal when a step ends", () => {
  const term = new FakeTerminal(80);
  const p = createProgress("tty", { writer: term, summaries: false });
  p.step("sending");
  p.done();
  assert.equal(rows(term.out).filter((r) => r !== "").length, 1, term.out);
  assert.ok(term.out.endsWith("\r\x1b[2K"), JSON.stringify(term.out));
});

const PROGRESS = new URL("../lib/progress.ts", import.meta.url).href;

Deno.test("on a real 80-column pseudo-terminal no row is wider than 80 columns", async () => {
  const script = `
    import { createProgress } from ${JSON.stringify(PROGRESS)};
    const p = createProgress("auto", { prefix: "vdevctl test" });
    p.step(${JSON.stringify(LONG_LABEL)} + " 日本語のラベル".repeat(5));
    for (let i = 0; i <= 10; i++) {
      p.update(i / 10, "ünïcödé detail ".repeat(4));
      await new Promise((r) => setTimeout(r, 130));
    }
    p.done();
  `;
  const dir = await Deno.makeTempDir({ prefix: "vdevctl-pty-" });
  try {
    await Deno.writeTextFile(`${dir}/p.ts`, script);
    const shell =
      `stty cols 80 rows 24; exec '${Deno.execPath()}' run -A --no-check '${dir}/p.ts'`;
    const out = await new Deno.Command("script", {
      args: ["-qfec", shell, "/dev/null"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
    const drawn = rows(text).filter((r) => r !== "");
    assert.ok(
      drawn.filter((r) => r.includes("[")).length >= 3,
      `redrawn in place: ${JSON.stringify(text)}`,
    );
    assert.ok(drawn.some((r) => r.startsWith("vdevctl test: downloading")));
    for (const r of drawn) {
      assert.ok(displayColumns(r) <= 80, `${displayColumns(r)}: ${r}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
