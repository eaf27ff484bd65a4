/**
 * Line charts of benchmark results as SVG text, drawn by Vega-Lite and Vega
 * (npm `vega-lite`, `vega`, pinned in package.json and deno.json), headless:
 * a Vega `View` with `renderer: "none"` and `toSVG()`, no browser and no
 * canvas. Used by bench/mvnet_bench.ts for packets per second against frame
 * size. Labels reach the SVG only through Vega's own escaping.
 *
 * @module
 */

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** One line of the chart. */
export interface Series {
  /** Legend label. */
  label: string;
  /** Points (drawn in x order). */
  points: { x: number; y: number }[];
}

/** Options of {@linkcode lineChartSvg}. */
export interface ChartOptions {
  /** Title above the plot. */
  title: string;
  /** Second title line (conditions of the run). */
  subtitle?: string;
  /** X axis label. */
  xLabel: string;
  /** Y axis label. */
  yLabel: string;
  /** Plot area width in pixels (default 560). */
  width?: number;
  /** Plot area height in pixels (default 340). */
  height?: number;
}

/**
 * The Vega-Lite spec of the chart: one line with points per series, linear
 * axes from zero on y, the x ticks at the measured values, a legend in
 * series order. Points with a non-finite y are left out.
 */
export function lineChartSpec(
  series: Series[],
  options: ChartOptions,
): TopLevelSpec {
  const values = series.flatMap((s, order) =>
    s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
      .map((p) => ({ series: s.label, order, x: p.x, y: p.y }))
  );
  const xs = [...new Set(values.map((v) => v.x))].sort((a, b) => a - b);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.subtitle === undefined
      ? options.title
      : { text: options.title, subtitle: options.subtitle },
    width: options.width ?? 560,
    height: options.height ?? 340,
    background: "white",
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: options.xLabel,
        axis: { values: xs, labelAngle: 0 },
      },
      y: {
        field: "y",
        type: "quantitative",
        title: options.yLabel,
        scale: { zero: true },
        axis: { format: "~s" },
      },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        sort: series.map((s) => s.label),
        legend: { orient: "bottom", direction: "vertical", labelLimit: 400 },
      },
      order: { field: "x", type: "quantitative" },
    },
  };
}

/** The chart as a complete SVG document. */
export async function lineChartSvg(
  series: Series[],
  options: ChartOptions,
): Promise<string> {
  const spec = compile(lineChartSpec(series, options)).spec;
  const view = new vega.View(vega.parse(spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
