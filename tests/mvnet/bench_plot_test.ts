import assert from "node:assert/strict";
import { lineChartSpec, lineChartSvg } from "../../bench/plot.ts";

const series = [
  { label: "a <b>", points: [{ x: 1500, y: 50 }, { x: 60, y: 100 }] },
  { label: "c&d", points: [{ x: 60, y: 10 }, { x: 1500, y: NaN }] },
];
const options = { title: "t", subtitle: "s", xLabel: "size", yLabel: "pps" };

Deno.test("lineChartSpec: one row per finite point, x ticks at the measured sizes, series in order", () => {
  const spec = lineChartSpec(series, options) as unknown as {
    data: { values: { series: string; x: number; y: number }[] };
    encoding: {
      x: { axis: { values: number[] } };
      color: { sort: string[] };
    };
  };
  assert.deepEqual(spec.data.values.map((v) => [v.series, v.x, v.y]), [
    ["a <b>", 1500, 50],
    ["a <b>", 60, 100],
    ["c&d", 60, 10],
  ]);
  assert.deepEqual(spec.encoding.x.axis.values, [60, 1500]);
  assert.deepEqual(spec.encoding.color.sort, ["a <b>", "c&d"]);
});

Deno.test("lineChartSvg: an SVG with a line per series, escaped legend labels, points where the data says", async () => {
  const svg = await lineChartSvg(series, options);
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.endsWith("</svg>"));
  const lines = svg.match(/aria-roledescription="line mark" d="[^"]+"/g);
  assert.equal(lines?.length, 2);
  assert.equal(svg.match(/aria-roledescription="point"/g)?.length, 3);
  assert.ok(!svg.includes("<b>"), "labels are escaped");
  assert.ok(
    svg.includes(">a &lt;b&gt;</text>") && svg.includes(">c&amp;d</text>"),
  );
  // y from zero: 100 at the top of the 340-pixel plot, 50 half-way down,
  // x from 60 (left) to 1500 (right, 560 pixels wide plus nice rounding).
  const first =
    /series: a &lt;b&gt;[^"]*" role="graphics-symbol" aria-roledescription="line mark" d="M([\d.]+),([\d.]+)L([\d.]+),([\d.]+)"/
      .exec(svg);
  assert.ok(first, "the first series is one two-point line");
  const [x0, y0, x1, y1] = first.slice(1).map(Number);
  assert.equal(y0, 0);
  assert.equal(y1, 170);
  assert.ok(x0 < x1 && x1 <= 560, `${x0} < ${x1} <= 560`);
});
