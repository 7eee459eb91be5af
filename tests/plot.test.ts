/** Figure specs, HTML and the result collector: deterministic structure and bytes. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  barChart,
  binCounts,
  groupedBarChart,
  heatmap,
  histogram,
  lineChart,
  logLogScatter,
  lorenzChart,
  mergeLayout,
  NTG_COLORS,
  ntgTheme,
  reliabilityDiagram,
  scatterChart,
  withLayout,
  type Figure,
} from "../src/plot/figure";
import { figureHtml, figureJsonForScript, notebookFigureHtml, plotlyJsSource, plotlyVersion } from "../src/plot/html";
import { loadPlotly, showFigure, staticFigureHtml, staticFigureMarker, titleWithDataset } from "../src/plot/show";
import { activeResults, clearActiveResults, notebookResults, NotebookResults } from "../src/notebook/results";
import { inNotebook, showHtml, tableHtml, tableText } from "../src/notebook/display";
import { stableStringify } from "../src/util/stable-json";
import { temporalDensity } from "../src/data/eda";
import { activityFigure, activityResolution, activitySeries } from "../src/notebook/eda-views";

describe("theme", () => {
  it("applies fonts, colours, margins and {text} titles", () => {
    const f = barChart(["a", "b"], [1, 2], { title: "T", xTitle: "X", yTitle: "Y" });
    expect(f.layout.font).toMatchObject({ size: 13 });
    expect(String((f.layout.font as { family: string }).family)).toMatch(/^Inter, /);
    expect(f.layout.colorway).toEqual(NTG_COLORS);
    expect(f.layout.margin).toEqual({ l: 70, r: 30, t: 64, b: 60, pad: 2 });
    expect(f.layout.title).toMatchObject({ text: "T", x: 0.01, xanchor: "left" });
    expect(f.layout.xaxis).toMatchObject({ title: { text: "X" }, type: "category", gridcolor: "#e9ecef" });
    expect(f.layout.yaxis).toMatchObject({ title: { text: "Y" }, automargin: true });
  });

  it("merges layout overrides deeply without touching the theme", () => {
    const f = lineChart([{ name: "s", x: [1, 2], y: [3, 4] }], { layout: { yaxis: { range: [0, 1] }, height: 300 } });
    expect(f.layout.yaxis).toMatchObject({ range: [0, 1], gridcolor: "#e9ecef" });
    expect(f.layout.height).toBe(300);
    expect((ntgTheme().yaxis as Record<string, unknown>).range).toBeUndefined();
    expect(mergeLayout({ a: { b: 1, c: 2 } }, { a: { c: 3 }, d: [1] })).toEqual({ a: { b: 1, c: 3 }, d: [1] });
    const g = withLayout(f, { title: { text: "new" } });
    expect((g.layout.title as { text: string }).text).toBe("new");
    expect((f.layout.title as { text?: string }).text).toBeUndefined();
  });
});

describe("figure constructors", () => {
  it("bar chart: exact data, typed arrays copied to plain arrays, NaN to null", () => {
    const f = barChart([1, 2, 3], new Float64Array([10, NaN, 30]), { name: "n" });
    expect(f.data).toEqual([{ type: "bar", x: ["1", "2", "3"], y: [10, null, 30], name: "n", marker: { color: NTG_COLORS[0] } }]);
    const h = barChart(["a", "b"], [1, 2], { horizontal: true, logValues: true });
    expect(h.data[0]).toMatchObject({ orientation: "h", y: ["a", "b"], x: [1, 2] });
    expect(h.layout.xaxis).toMatchObject({ type: "log" });
    expect(h.layout.yaxis).toMatchObject({ type: "category", autorange: "reversed" });
    expect(() => barChart(["a"], [1, 2])).toThrow(RangeError);
  });

  it("histogram: pre-binned counts like numpy (last bin closed)", () => {
    expect(binCounts([0, 1, 2, 3, 4], 2)).toEqual({ edges: [0, 2, 4], counts: [2, 3] });
    const f = histogram([0, 1, 2, 3, 4, NaN], { bins: 2 });
    expect(f.data[0]).toMatchObject({ type: "bar", x: [1, 3], y: [2, 3], width: [2, 2] });
    const ints = histogram(new Int32Array([1, 1, 3, 5]), { integer: true, logY: true });
    expect(ints.data[0]).toMatchObject({ x: [1, 2, 3, 4, 5], y: [2, 0, 1, 0, 1], width: 1 });
    expect(ints.layout.yaxis).toMatchObject({ type: "log", dtick: "D2" });
    expect(ints.layout.bargap).toBe(0);
  });

  it("line, grouped bar and scatter charts", () => {
    const l = lineChart([
      { name: "a", x: ["2024-01-01", "2024-01-02"], y: [1, 2] },
      { name: "b", x: [1, 2], y: [3, 4], dash: "dot", markers: true },
    ]);
    expect(l.data.map((t) => [t.name, t.mode, t.x])).toEqual([
      ["a", "lines", ["2024-01-01", "2024-01-02"]],
      ["b", "lines+markers", [1, 2]],
    ]);
    expect(l.data[1].line).toEqual({ width: 2, dash: "dot" });
    expect(l.layout.showlegend).toBe(true);
    const two = lineChart([{ name: "big", x: [1, 2], y: [1000, 2000] }, { name: "small", x: [1, 2], y: [1, 2], secondary: true }], { y2Title: "small" });
    expect(two.data[1].yaxis).toBe("y2");
    expect(two.layout.yaxis2).toMatchObject({ overlaying: "y", side: "right", tickmode: "auto", title: { text: "small" } });
    const g = groupedBarChart(["x", "y"], [{ name: "p", values: [1, 2] }, { name: "q", values: [3, 4] }], { mode: "stack" });
    expect(g.layout.barmode).toBe("stack");
    expect(g.data.map((t) => (t.marker as { color: string }).color)).toEqual([NTG_COLORS[0], NTG_COLORS[1]]);
    const s = scatterChart([1, 2], [3, 4], { logX: true, text: ["p", "q"] });
    expect(s.data[0]).toMatchObject({ mode: "markers", text: ["p", "q"], marker: { size: 7, opacity: 0.75 } });
    expect(s.layout.xaxis).toMatchObject({ type: "log" });
  });

  it("log-log scatter drops non-positive points and draws the fitted line", () => {
    const f = logLogScatter([1, 2, 0, 4], [8, 4, 5, 2], { fit: { slope: -1, intercept: Math.log(8) } });
    expect(f.data[0]).toMatchObject({ x: [1, 2, 4], y: [8, 4, 2], name: "observed" });
    expect(f.data[1]).toMatchObject({ mode: "lines", x: [1, 4], name: "fit: slope = -1.000" });
    const y = f.data[1].y as number[];
    expect(y[0]).toBeCloseTo(8, 12);
    expect(y[1]).toBeCloseTo(2, 12);
    expect(f.layout.xaxis).toMatchObject({ type: "log" });
    expect(f.layout.yaxis).toMatchObject({ type: "log" });
  });

  it("Lorenz chart, heatmap and reliability diagram", () => {
    const l = lorenzChart({ x: [0, 0.5, 1], y: [0, 0.2, 1] }, { gini: 0.3 });
    expect(l.data[0]).toMatchObject({ name: "equality", x: [0, 1], y: [0, 1] });
    expect(l.data[1]).toMatchObject({ name: "Lorenz curve (Gini = 0.300)", fill: "tonexty" });
    const h = heatmap([[1, 2], [3, 4], [5, 6]], ["a", "b"], [1, 2, 3], { zTitle: "z", zFormat: ".0%" });
    expect(h.data[0]).toMatchObject({ type: "heatmap", z: [[1, 2], [3, 4], [5, 6]], x: ["a", "b"], y: ["1", "2", "3"], colorbar: { title: { text: "z" }, tickformat: ".0%" } });
    expect(h.layout.yaxis).toMatchObject({ autorange: "reversed" });
    expect(() => heatmap([[1]], ["a", "b"], ["r"])).toThrow(/row 0 has 1 values/);
    const r = reliabilityDiagram({ probPred: new Float64Array([0.1, 0.5]), probTrue: new Float64Array([0.2, 0.4]), count: new Float64Array([10, 5]) }, { ece: 0.05 });
    expect(r.data.map((t) => t.name)).toEqual(["perfectly calibrated", "model (ECE = 0.050)", "rows per bin"]);
    expect(r.data[2]).toMatchObject({ yaxis: "y2", y: [10, 5] });
    expect(r.layout.yaxis2).toMatchObject({ domain: [0, 0.22] });
    expect(r.layout.xaxis).toMatchObject({ anchor: "y2", range: [0, 1] });
  });

  it("is deterministic: same inputs, same JSON bytes", () => {
    const make = () => logLogScatter(Float64Array.from({ length: 50 }, (_, i) => i + 1), Float64Array.from({ length: 50 }, (_, i) => 100 / (i + 1)), { title: "z" });
    expect(stableStringify(make())).toBe(stableStringify(make()));
  });
});

describe("HTML", () => {
  const fig: Figure = barChart(["a"], [1], { title: 'Evil </script><b>"x"' });

  it("standalone page: stable bytes, escaped title and JSON, local plotly", () => {
    const a = figureHtml(fig, { plotlyJs: { src: "../plotly.js" } });
    expect(figureHtml(fig, { plotlyJs: { src: "../plotly.js" } })).toBe(a);
    expect(a).toContain('<script type="text/javascript" src="../plotly.js"></script>');
    expect(a).toContain("<title>Evil &lt;/script&gt;&lt;b&gt;&quot;x&quot;</title>");
    expect(a).not.toMatch(/https?:\/\//);
    // Only our own three script elements may close.
    expect(a.match(/<\/script>/g)).toHaveLength(2);
    expect(figureJsonForScript(fig)).not.toContain("<");
    expect(JSON.parse(figureJsonForScript(fig))).toEqual(JSON.parse(stableStringify(fig)));
  });

  it("inline page embeds the installed plotly.js", () => {
    const inline = figureHtml(fig);
    expect(inline).toContain(`plotly.js v${plotlyVersion()}`);
    expect(inline.length).toBeGreaterThan(plotlyJsSource().length);
    expect(figureHtml(fig)).toBe(inline);
  });

  it("notebook snippet includes plotly only when asked", () => {
    const without = notebookFigureHtml(fig, { divId: "ntg-fig-1-x", includePlotly: false });
    expect(without.length).toBeLessThan(5000);
    expect(without).toContain('id="ntg-fig-1-x"');
    expect(without).toContain("window.Plotly.newPlot");
    const withPlotly = notebookFigureHtml(fig, { divId: "d", includePlotly: true });
    expect(withPlotly.length).toBeGreaterThan(1_000_000);
  });

  it("static placeholder carries the marker and relative links", () => {
    const s = staticFigureHtml(fig, "01_eda", "x");
    expect(s.startsWith(staticFigureMarker("01_eda", "x"))).toBe(true);
    expect(s).toContain('src="../figures/01_eda/x.png"');
    expect(s).toContain('href="../figures/01_eda/x.html"');
  });

  it("tables render as HTML and text", () => {
    const rows = [{ k: "a", v: 1234.5678 }, { k: "<b>", v: 2 }];
    expect(tableHtml(rows)).toContain("<td style=\"text-align:left\">&lt;b&gt;</td>");
    expect(tableHtml(rows)).toContain(">1235<");
    expect(tableText(rows)).toBe("k    v\n---  ----\na    1235\n<b>  2\n");
  });
});

describe("result collector and showFigure outside tslab", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-results-"));
    clearActiveResults();
  });
  afterEach(() => {
    clearActiveResults();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("does not display and does not throw outside a kernel", () => {
    expect(inNotebook()).toBe(false);
    expect(showHtml("<b>x</b>")).toBe(false);
    expect(loadPlotly()).toBe(false);
    expect(() => showFigure(barChart(["a"], [1]), "no_collector")).not.toThrow();
    expect(() => showFigure(barChart(["a"], [1]), "../escape")).toThrow(/figure name/);
  });

  it("writes stable results JSON and figure files as they arrive", () => {
    const r = notebookResults("01_test", { outDir: dir, dataset: "dev", plotlyJs: "shared" });
    expect(activeResults()).toBe(r);
    r.set("b", { x: 1 / 3, big: 2n ** 70n, n: 10n, bad: NaN }).set("a", new Float64Array([0.1, 0.2]));
    showFigure(barChart(["a"], [1], { title: "t" }), "bars");
    const text = fs.readFileSync(path.join(dir, "results", "01_test.json"), "utf8");
    expect(text).toBe(
      stableStringify({ dataset: "dev", figures: ["bars"], notebook: "01_test", values: { a: [0.1, 0.2], b: { bad: null, big: "1180591620717411303424", n: 10, x: 0.3333333333 } } }),
    );
    expect(text.indexOf('"a"')).toBeLessThan(text.indexOf('"b"'));
    const figDir = path.join(dir, "figures", "01_test");
    const saved = JSON.parse(fs.readFileSync(path.join(figDir, "bars.json"), "utf8"));
    expect(saved.data[0].y).toEqual([1]);
    // the saved figure names the collector's dataset in its title
    expect(saved.layout.title.text).toBe("t — dev");
    const html = fs.readFileSync(path.join(figDir, "bars.html"), "utf8");
    expect(html).toContain(`src="../plotly-${plotlyVersion()}.js"`);
    expect(fs.existsSync(path.join(dir, "figures", `plotly-${plotlyVersion()}.js`))).toBe(true);

    // A new run of the same notebook starts clean and, with the same values, writes the same bytes.
    fs.writeFileSync(path.join(figDir, "stale.png"), "x");
    const again = new NotebookResults("01_test", { outDir: dir, dataset: "dev", plotlyJs: "shared" });
    expect(fs.existsSync(path.join(figDir, "stale.png"))).toBe(false);
    expect(fs.existsSync(path.join(figDir, "bars.json"))).toBe(false);
    again.set("a", new Float64Array([0.1, 0.2])).set("b", { x: 1 / 3, big: 2n ** 70n, n: 10n, bad: NaN });
    again.figure("bars", barChart(["a"], [1], { title: "t" }));
    expect(fs.readFileSync(path.join(dir, "results", "01_test.json"), "utf8")).toBe(text);
  });

  it("names the dataset in figure titles, per figure when asked", () => {
    const fig = barChart(["a"], [1], { title: "Daily activity" });
    expect(titleWithDataset(fig, "ml-100k").layout.title).toMatchObject({ text: "Daily activity — ml-100k", font: { size: 17 } });
    expect(titleWithDataset(fig, null)).toBe(fig);
    expect(titleWithDataset(fig, "")).toBe(fig);
    const named = barChart(["a"], [1], { title: "Fit on CDNOW_sample.txt" });
    expect(titleWithDataset(named, "CDNOW_sample.txt")).toBe(named);
    expect(titleWithDataset(barChart(["a"], [1]), "dev").layout.title).toMatchObject({ text: "dev" });
    // the original figure is not modified
    expect(fig.layout.title).toMatchObject({ text: "Daily activity" });

    const r = notebookResults("01_test", { outDir: dir, dataset: "world", plotlyJs: "shared" });
    showFigure(fig, "default_dataset");
    showFigure(fig, "other_dataset", { dataset: "CDNOW_sample.txt" });
    showFigure(fig, "no_dataset", { dataset: null });
    const title = (name: string) => JSON.parse(fs.readFileSync(path.join(r.figuresDir, `${name}.json`), "utf8")).layout.title.text;
    expect(title("default_dataset")).toBe("Daily activity — world");
    expect(title("other_dataset")).toBe("Daily activity — CDNOW_sample.txt");
    expect(title("no_dataset")).toBe("Daily activity");
  });

  it("honours NTG_NB_OUT and rejects unsafe names", () => {
    const prev = process.env.NTG_NB_OUT;
    process.env.NTG_NB_OUT = dir;
    try {
      const r = notebookResults("02_x");
      expect(r.outDir).toBe(path.resolve(dir));
      expect(fs.existsSync(path.join(dir, "results", "02_x.json"))).toBe(true);
    } finally {
      if (prev === undefined) delete process.env.NTG_NB_OUT;
      else process.env.NTG_NB_OUT = prev;
    }
    expect(() => notebookResults("a/b", { outDir: dir })).toThrow(/notebook name/);
  });
});

describe("activity over time (01_eda)", () => {
  const DAY = 86400;
  const t0 = Date.UTC(2020, 0, 30) / 1000; // 2020-01-30

  it("picks a resolution from the span", () => {
    expect(activityResolution(215)).toBe("day");
    expect(activityResolution(400)).toBe("day");
    expect(activityResolution(800)).toBe("week");
    expect(activityResolution(8000)).toBe("month");
  });

  it("keeps days for short spans and sums weeks and calendar months for long ones", () => {
    // 3 events on day 0 (users 0, 0, 1), 1 on day 1, 2 on day 9 (users 2, 3): spans 10 days, Jan 30 .. Feb 8
    const ts = [t0, t0 + 10, t0 + 20, t0 + DAY, t0 + 9 * DAY, t0 + 9 * DAY + 5];
    const users = [0, 0, 1, 0, 2, 3];
    const t = temporalDensity(ts, users);
    const day = activitySeries(t);
    expect(day.resolution).toBe("day");
    expect(day.events).toEqual(t.perDay);
    const week = activitySeries(t, "week");
    expect(week.dates).toEqual(["2020-01-30", "2020-02-06"]);
    expect(week.events).toEqual([4, 2]);
    expect(week.events).toEqual(t.perWeek);
    // active users: day 0 has 2, day 1 has 1, days 2..6 none → mean 3/7; days 7, 8 none, day 9 has 2 → 2/3
    expect(week.activeUsers![0]).toBeCloseTo(3 / 7, 12);
    expect(week.activeUsers![1]).toBeCloseTo(2 / 3, 12);
    const month = activitySeries(t, "month");
    expect(month.dates).toEqual(["2020-01-01", "2020-02-01"]);
    expect(month.events).toEqual([4, 2]);
    expect(month.activeUsers![0]).toBeCloseTo(3 / 2, 12); // Jan 30, 31
    expect(month.activeUsers![1]).toBeCloseTo(2 / 8, 12); // Feb 1 .. 8
    expect(activitySeries(temporalDensity(ts), "month").activeUsers).toBeNull();
  });

  it("labels the figure for its resolution", () => {
    const ts = Array.from({ length: 3000 }, (_, i) => t0 + i * 3 * DAY); // ~25 years
    const fig = activityFigure(temporalDensity(ts, ts.map((_, i) => i % 7)));
    expect(fig.layout.title).toMatchObject({ text: "Monthly activity" });
    expect(fig.layout.xaxis).toMatchObject({ title: { text: "month (UTC)" } });
    expect(fig.layout.yaxis).toMatchObject({ title: { text: "events per month" } });
    expect(fig.layout.yaxis2).toMatchObject({ title: { text: "mean daily active users" } });
    expect(fig.data).toHaveLength(2);
    expect((fig.data[0].x as string[]).length).toBeLessThan(320);
    const short = activityFigure(temporalDensity(ts.slice(0, 50)));
    expect(short.layout.title).toMatchObject({ text: "Daily activity" });
    expect(short.data).toHaveLength(1);
  });
});
