import assert from "node:assert/strict";
import { escapeXml, lineChart, ticks } from "../../bench/svg_plot.ts";

Deno.test("ticks: round steps from 0 covering the maximum", () => {
  assert.deepEqual(ticks(100), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(ticks(1500), [0, 500, 1000, 1500]);
  assert.deepEqual(ticks(73000), [0, 20000, 40000, 60000, 80000]);
  assert.deepEqual(ticks(0), [0, 1]);
  assert.deepEqual(ticks(NaN), [0, 1]);
});

Deno.test("lineChart: one polyline and a legend entry per series, points placed on the axes", () => {
  const svg = lineChart([
    { label: "a <b>", points: [{ x: 1500, y: 50 }, { x: 0, y: 100 }] },
    { label: "c", points: [{ x: 750, y: 0 }] },
  ], { title: "t&t", xLabel: "x", yLabel: "y", width: 400, height: 300 });
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  assert.equal(svg.match(/<polyline/g)?.length, 2);
  assert.equal(svg.match(/<circle/g)?.length, 3);
  assert.ok(svg.includes("a &#60;b&#62;") && svg.includes("t&#38;t"));
  assert.ok(!svg.includes("<b>"));
  // Sorted by x: (0,100) is the top-left corner of the plot area
  // (left margin 70, top margin 40), (1500,50) the right edge at half height.
  const line = /<polyline[^>]*points="([^"]+)"/.exec(svg)![1];
  assert.equal(line, "70.0,40.0 230.0,145.0");
});

Deno.test("escapeXml: every markup character", () => {
  assert.equal(escapeXml(`<&>"'`), "&#60;&#38;&#62;&#34;&#39;");
});
