/**
 * A small line chart as SVG text (no dependencies): series of (x, y)
 * points on linear axes with ticks, a legend and escaped labels. Used by
 * bench/mvnet_bench.ts for packets per second against frame size.
 *
 * @module
 */

/** One line of the chart. */
export interface Series {
  /** Legend label. */
  label: string;
  /** Points, drawn in x order. */
  points: { x: number; y: number }[];
}

/** Options of {@linkcode lineChart}. */
export interface ChartOptions {
  /** Title above the plot. */
  title: string;
  /** X axis label. */
  xLabel: string;
  /** Y axis label. */
  yLabel: string;
  /** Width and height in pixels (default 720 x 440). */
  width?: number;
  /** Height in pixels. */
  height?: number;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

/** Escapes text for SVG content and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** About five round tick values from 0 to at least `max`. */
export function ticks(max: number): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) out.push(v);
  return out;
}

function fmt(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(2)}`;
}

/** The chart as a complete SVG document. */
export function lineChart(series: Series[], options: ChartOptions): string {
  const w = options.width ?? 720;
  const h = options.height ?? 440;
  const m = { left: 70, right: 170, top: 40, bottom: 50 };
  const pts = series.flatMap((s) => s.points).filter((p) =>
    Number.isFinite(p.x) && Number.isFinite(p.y)
  );
  const xMax = Math.max(1, ...pts.map((p) => p.x));
  const xt = ticks(xMax);
  const yt = ticks(Math.max(0, ...pts.map((p) => p.y)));
  const X = (x: number) =>
    m.left + (x / xt[xt.length - 1]) * (w - m.left - m.right);
  const Y = (y: number) =>
    h - m.bottom - (y / yt[yt.length - 1]) * (h - m.top - m.bottom);
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${w / 2}" y="22" text-anchor="middle" font-size="15">${
      escapeXml(options.title)
    }</text>`,
  );
  for (const t of yt) {
    o.push(
      `<line x1="${m.left}" x2="${w - m.right}" y1="${Y(t)}" y2="${
        Y(t)
      }" stroke="#ddd"/>`,
      `<text x="${m.left - 6}" y="${Y(t) + 4}" text-anchor="end">${
        fmt(t)
      }</text>`,
    );
  }
  for (const t of xt) {
    o.push(
      `<line x1="${X(t)}" x2="${X(t)}" y1="${h - m.bottom}" y2="${
        h - m.bottom + 5
      }" stroke="#333"/>`,
      `<text x="${X(t)}" y="${h - m.bottom + 18}" text-anchor="middle">${
        fmt(t)
      }</text>`,
    );
  }
  o.push(
    `<line x1="${m.left}" x2="${w - m.right}" y1="${h - m.bottom}" y2="${
      h - m.bottom
    }" stroke="#333"/>`,
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${
      h - m.bottom
    }" stroke="#333"/>`,
    `<text x="${(m.left + w - m.right) / 2}" y="${
      h - 12
    }" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(16 ${
      (m.top + h - m.bottom) / 2
    }) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const p = s.points.filter((p) => Number.isFinite(p.x + p.y))
      .sort((a, b) => a.x - b.x);
    if (p.length) {
      o.push(
        `<polyline fill="none" stroke="${c}" stroke-width="2" points="${
          p.map((q) => `${X(q.x).toFixed(1)},${Y(q.y).toFixed(1)}`).join(" ")
        }"/>`,
      );
      for (const q of p) {
        o.push(
          `<circle cx="${X(q.x).toFixed(1)}" cy="${
            Y(q.y).toFixed(1)
          }" r="3" fill="${c}"/>`,
        );
      }
    }
    const ly = m.top + 10 + i * 20;
    o.push(
      `<line x1="${w - m.right + 15}" x2="${
        w - m.right + 35
      }" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2"/>`,
      `<text x="${w - m.right + 40}" y="${ly + 4}">${
        escapeXml(s.label)
      }</text>`,
    );
  });
  o.push("</svg>");
  return o.join("\n") + "\n";
}
