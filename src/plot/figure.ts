/**
 * Plotly figure specs for notebooks and reports: a minimal `Figure` type (plain JSON, so it can
 * be saved, diffed and rendered later), the NTG theme, and constructors for the figure kinds the
 * notebooks use. Constructors copy typed arrays into plain arrays so a figure serializes the same
 * way everywhere (notebook display, saved JSON, static rendering).
 */

/** A Plotly trace: `type` plus any Plotly trace attributes (kept loose on purpose: Plotly's own types are huge). */
export interface Trace {
  type: string;
  [attribute: string]: unknown;
}

/** A Plotly layout: any Plotly layout attributes. */
export interface Layout {
  [attribute: string]: unknown;
}

/** A Plotly figure spec: what `Plotly.newPlot(div, data, layout, config)` takes. */
export interface Figure {
  data: Trace[];
  layout: Layout;
  config?: Record<string, unknown>;
}

/** Numbers accepted by the constructors: plain arrays or typed arrays. */
export type Numbers = ArrayLike<number>;

/** Options shared by every constructor. */
export interface FigureOptions {
  /** figure title */
  title?: string;
  /** x-axis title */
  xTitle?: string;
  /** y-axis title */
  yTitle?: string;
  /** layout attributes merged over the theme (deeply, objects key by key) */
  layout?: Layout;
}

/** NTG categorical palette: colour-blind-friendly hues of similar weight, in the order traces use them. */
export const NTG_COLORS: readonly string[] = [
  "#3b5bdb", // blue
  "#e8590c", // orange
  "#2f9e44", // green
  "#c2255c", // crimson
  "#7048e8", // violet
  "#0c8599", // teal
  "#f08c00", // amber
  "#495057", // grey
];

/** Font stack: Inter when installed, else common sans-serif fonts (Liberation Sans ships with Debian's Chromium). */
export const NTG_FONT = "Inter, 'Helvetica Neue', Helvetica, Arial, 'Liberation Sans', sans-serif";

/** Default static size in pixels (used when a figure's layout sets none). */
export const NTG_FIGURE_SIZE = { width: 900, height: 520 } as const;

/** Sequential colour scale for heatmaps (light to dark blue). */
export const NTG_SEQUENTIAL: Array<[number, string]> = [
  [0, "#f8f9fa"],
  [0.25, "#d0ebff"],
  [0.5, "#74c0fc"],
  [0.75, "#339af0"],
  [1, "#1c3d8f"],
];

const AXIS = {
  gridcolor: "#e9ecef",
  zerolinecolor: "#ced4da",
  linecolor: "#adb5bd",
  showline: true,
  ticks: "outside",
  tickcolor: "#adb5bd",
  automargin: true,
};

/** Log axis labelled at 1, 2, 5 × powers of ten (Plotly's default labels every digit on short ranges). */
const LOG_AXIS = { type: "log", dtick: "D2" };

/** The NTG theme as a Plotly layout: fonts, colours, margins, axis styling. */
export function ntgTheme(): Layout {
  return {
    font: { family: NTG_FONT, size: 13, color: "#212529" },
    title: { font: { size: 17 }, x: 0.01, xanchor: "left", y: 0.97, yanchor: "top" },
    colorway: [...NTG_COLORS],
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    margin: { l: 70, r: 30, t: 64, b: 60, pad: 2 },
    xaxis: { ...AXIS },
    yaxis: { ...AXIS },
    legend: { bgcolor: "rgba(255,255,255,0.8)", bordercolor: "#dee2e6", borderwidth: 1 },
    hoverlabel: { font: { family: NTG_FONT } },
    bargap: 0.08,
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** Deep merge of layouts: objects merge key by key, anything else (arrays included) replaces. */
export function mergeLayout(base: Layout, over: Layout | undefined): Layout {
  if (!over) return base;
  const out: Layout = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const cur = out[k];
    out[k] = isPlainObject(cur) && isPlainObject(v) ? mergeLayout(cur, v) : v;
  }
  return out;
}

/** A copy of `fig` with `layout` merged over its layout. */
export function withLayout(fig: Figure, layout: Layout): Figure {
  return { ...fig, layout: mergeLayout(fig.layout, layout) };
}

/** Themed layout with title and axis titles applied (Plotly ≥ 3 wants `{text}` objects, not strings). */
function themed(opts: FigureOptions, extra: Layout = {}): Layout {
  const base: Layout = {};
  if (opts.title !== undefined) base.title = { text: opts.title };
  if (opts.xTitle !== undefined) base.xaxis = { title: { text: opts.xTitle } };
  if (opts.yTitle !== undefined) base.yaxis = { title: { text: opts.yTitle } };
  return mergeLayout(mergeLayout(mergeLayout(ntgTheme(), base), extra), opts.layout);
}

/** Plain array from any array-like, non-finite values as null (Plotly draws gaps; JSON has no NaN). */
function arr(xs: Numbers): Array<number | null> {
  const out = new Array<number | null>(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = Number.isFinite(xs[i]) ? xs[i] : null;
  return out;
}

function checkSameLength(a: { length: number }, b: { length: number }, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: x has ${a.length} values, y has ${b.length}`);
}

/** Options for {@link histogram}. */
export interface HistogramOptions extends FigureOptions {
  /** number of equal-width bins (default: Freedman–Diaconis-like sqrt rule, capped at 60) */
  bins?: number;
  /** [min, max] of the binned range (default: the data's) */
  range?: [number, number];
  /** integer-valued data: one bin per integer between min and max (bins ignored) */
  integer?: boolean;
  /** log-scaled count axis */
  logY?: boolean;
  /** trace name */
  name?: string;
}

/** Equal-width bin counts of the finite values; last bin closed on the right, like numpy. */
export function binCounts(values: Numbers, bins: number, range?: [number, number]): { edges: number[]; counts: number[] } {
  let lo = Infinity;
  let hi = -Infinity;
  if (range) [lo, hi] = range;
  else {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!Number.isFinite(lo)) return { edges: [], counts: [] };
  if (hi === lo) hi = lo + 1;
  const n = Math.max(1, Math.floor(bins));
  const width = (hi - lo) / n;
  const edges = Array.from({ length: n + 1 }, (_, i) => (i === n ? hi : lo + i * width));
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v) || v < lo || v > hi) continue;
    counts[Math.min(n - 1, Math.floor((v - lo) / width))] += 1;
  }
  return { edges, counts };
}

/**
 * Histogram as pre-binned bars: the figure carries counts, not the raw values, so it stays small
 * for millions of events and identical whatever Plotly's own binning heuristics do.
 */
export function histogram(values: Numbers, opts: HistogramOptions = {}): Figure {
  let x: number[];
  let y: number[];
  let width: number[] | number;
  if (opts.integer) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (opts.range) [lo, hi] = opts.range;
    lo = Math.floor(lo);
    hi = Math.floor(hi);
    const n = Number.isFinite(lo) ? hi - lo + 1 : 0;
    x = Array.from({ length: n }, (_, i) => lo + i);
    y = new Array<number>(n).fill(0);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) continue;
      const k = Math.floor(v) - lo;
      if (k >= 0 && k < n) y[k] += 1;
    }
    width = 1;
  } else {
    let finite = 0;
    for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite++;
    const bins = opts.bins ?? Math.min(60, Math.max(5, Math.ceil(Math.sqrt(finite))));
    const { edges, counts } = binCounts(values, bins, opts.range);
    x = counts.map((_, i) => (edges[i] + edges[i + 1]) / 2);
    y = counts;
    width = counts.map((_, i) => edges[i + 1] - edges[i]);
  }
  const trace: Trace = {
    type: "bar",
    name: opts.name ?? "count",
    x,
    y,
    width,
    marker: { color: NTG_COLORS[0], line: { color: "#ffffff", width: 0.5 } },
    hovertemplate: "%{x}: %{y}<extra></extra>",
  };
  return {
    data: [trace],
    layout: themed({ yTitle: "count", ...opts }, { bargap: 0, showlegend: false, ...(opts.logY ? { yaxis: LOG_AXIS } : {}) }),
  };
}

/** Options for {@link barChart}. */
export interface BarOptions extends FigureOptions {
  /** horizontal bars (categories on the y axis, first category on top) */
  horizontal?: boolean;
  /** log-scaled value axis */
  logValues?: boolean;
  /** trace name */
  name?: string;
  /** text shown on each bar (e.g. formatted shares) */
  text?: string[];
}

/** Bar chart of values per category, in the order given. */
export function barChart(categories: Array<string | number>, values: Numbers, opts: BarOptions = {}): Figure {
  checkSameLength(categories, values, "barChart");
  const cats = categories.map(String);
  const vals = arr(values);
  const trace: Trace = opts.horizontal
    ? { type: "bar", orientation: "h", y: cats, x: vals }
    : { type: "bar", x: cats, y: vals };
  trace.name = opts.name ?? "value";
  trace.marker = { color: NTG_COLORS[0] };
  if (opts.text) {
    trace.text = opts.text;
    trace.textposition = "auto";
  }
  const valueAxis = opts.horizontal ? "xaxis" : "yaxis";
  const catAxis = opts.horizontal ? "yaxis" : "xaxis";
  const extra: Layout = { showlegend: false, [catAxis]: { type: "category", ...(opts.horizontal ? { autorange: "reversed" } : {}) } };
  if (opts.logValues) extra[valueAxis] = { ...(extra[valueAxis] as object), ...LOG_AXIS };
  return { data: [trace], layout: themed(opts, extra) };
}

/** Options for {@link groupedBarChart}. */
export interface GroupedBarOptions extends FigureOptions {
  /** "group" (side by side, default) or "stack" */
  mode?: "group" | "stack";
  logValues?: boolean;
}

/** Bars of several named series over the same categories (side by side or stacked). */
export function groupedBarChart(categories: Array<string | number>, series: Array<{ name: string; values: Numbers }>, opts: GroupedBarOptions = {}): Figure {
  const cats = categories.map(String);
  const data: Trace[] = series.map((s, i) => {
    checkSameLength(categories, s.values, `groupedBarChart series '${s.name}'`);
    return { type: "bar", name: s.name, x: cats, y: arr(s.values), marker: { color: NTG_COLORS[i % NTG_COLORS.length] } };
  });
  const extra: Layout = { barmode: opts.mode ?? "group", showlegend: true, xaxis: { type: "category" }, bargap: 0.2, bargroupgap: 0.05 };
  if (opts.logValues) extra.yaxis = LOG_AXIS;
  return { data, layout: themed(opts, extra) };
}

/** One line of a {@link lineChart}. */
export interface Series {
  name: string;
  x: Numbers | string[];
  y: Numbers;
  /** Plotly dash style: "solid", "dash", "dot", ... */
  dash?: string;
  /** draw markers as well as the line */
  markers?: boolean;
  /** line shape, e.g. "hv" for step lines */
  shape?: string;
  /** plot against a second y axis on the right (series of a different scale) */
  secondary?: boolean;
}

/** Options for {@link lineChart}. */
export interface LineOptions extends FigureOptions {
  logX?: boolean;
  logY?: boolean;
  /** title of the right-hand axis used by `secondary` series */
  y2Title?: string;
}

function xs(x: Numbers | string[]): Array<number | string | null> {
  return Array.isArray(x) && typeof x[0] === "string" ? [...(x as string[])] : arr(x as Numbers);
}

/** Line chart of one or more series. */
export function lineChart(series: Series[], opts: LineOptions = {}): Figure {
  const data: Trace[] = series.map((s) => {
    checkSameLength(s.x, s.y, `lineChart series '${s.name}'`);
    return {
      type: "scatter",
      mode: s.markers ? "lines+markers" : "lines",
      name: s.name,
      x: xs(s.x),
      y: arr(s.y),
      line: { width: 2, ...(s.dash ? { dash: s.dash } : {}), ...(s.shape ? { shape: s.shape } : {}) },
      ...(s.secondary ? { yaxis: "y2" } : {}),
    };
  });
  const extra: Layout = { showlegend: series.length > 1 };
  if (opts.logX) extra.xaxis = LOG_AXIS;
  if (opts.logY) extra.yaxis = LOG_AXIS;
  if (series.some((s) => s.secondary)) {
    // Right-hand axis without its own grid, so the two grids never disagree; the legend moves above the plot, clear of the right axis.
    // tickmode "auto": Plotly would otherwise sync the ticks to the left grid, giving values like 10.4.
    extra.yaxis2 = { ...AXIS, overlaying: "y", side: "right", showgrid: false, rangemode: "tozero", tickmode: "auto", ...(opts.y2Title ? { title: { text: opts.y2Title } } : {}) };
    extra.yaxis = { ...(extra.yaxis as object), rangemode: "tozero" };
    extra.legend = { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom" };
  }
  return { data, layout: themed(opts, extra) };
}

/** Options for {@link scatterChart}. */
export interface ScatterOptions extends FigureOptions {
  /** hover text per point */
  text?: string[];
  /** marker size in px (default 7) */
  size?: number;
  /** marker opacity (default 0.75: overlapping points stay visible) */
  opacity?: number;
  logX?: boolean;
  logY?: boolean;
  /** trace name */
  name?: string;
}

/** Scatter plot of y against x. */
export function scatterChart(x: Numbers, y: Numbers, opts: ScatterOptions = {}): Figure {
  checkSameLength(x, y, "scatterChart");
  const trace: Trace = {
    type: "scatter",
    mode: "markers",
    name: opts.name ?? "points",
    x: arr(x),
    y: arr(y),
    marker: { size: opts.size ?? 7, opacity: opts.opacity ?? 0.75, color: NTG_COLORS[0] },
  };
  if (opts.text) trace.text = opts.text;
  const extra: Layout = { showlegend: false };
  if (opts.logX) extra.xaxis = LOG_AXIS;
  if (opts.logY) extra.yaxis = LOG_AXIS;
  return { data: [trace], layout: themed(opts, extra) };
}

/** A straight line in log–log space: ln y = intercept + slope · ln x (natural logs). */
export interface LogLogFit {
  slope: number;
  intercept: number;
  /** x range the line is drawn over (default: the points' positive range) */
  xMin?: number;
  xMax?: number;
  /** legend label (default "fit: slope = …") */
  label?: string;
}

/** Options for {@link logLogScatter}. */
export interface LogLogOptions extends ScatterOptions {
  fit?: LogLogFit;
}

/**
 * Log–log scatter with an optional fitted power law drawn as a line (e.g. rank–frequency with
 * its Zipf fit). Non-positive points cannot be shown on log axes and are left out.
 */
export function logLogScatter(x: Numbers, y: Numbers, opts: LogLogOptions = {}): Figure {
  checkSameLength(x, y, "logLogScatter");
  const px: number[] = [];
  const py: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (x[i] > 0 && y[i] > 0 && Number.isFinite(x[i]) && Number.isFinite(y[i])) {
      px.push(x[i]);
      py.push(y[i]);
    }
  }
  const fig = scatterChart(px, py, { ...opts, logX: true, logY: true, size: opts.size ?? 6 });
  fig.data[0].name = opts.name ?? "observed";
  if (opts.fit) {
    const f = opts.fit;
    let lo = f.xMin ?? Infinity;
    let hi = f.xMax ?? -Infinity;
    if (f.xMin === undefined) for (const v of px) lo = Math.min(lo, v);
    if (f.xMax === undefined) for (const v of px) hi = Math.max(hi, v);
    if (Number.isFinite(lo) && Number.isFinite(hi) && lo > 0) {
      // Two points suffice for a straight line on log axes.
      const line = [lo, hi].map((v) => Math.exp(f.intercept + f.slope * Math.log(v)));
      fig.data.push({
        type: "scatter",
        mode: "lines",
        name: f.label ?? `fit: slope = ${f.slope.toFixed(3)}`,
        x: [lo, hi],
        y: line,
        line: { color: NTG_COLORS[1], width: 2.5, dash: "dash" },
      });
    }
    fig.layout = mergeLayout(fig.layout, { showlegend: true, legend: { x: 0.98, xanchor: "right", y: 0.98, yanchor: "top" } });
  }
  return fig;
}

/** Options for {@link lorenzChart}. */
export interface LorenzOptions extends FigureOptions {
  /** Gini coefficient shown in the legend */
  gini?: number;
  /** trace name (default "Lorenz curve") */
  name?: string;
}

/**
 * Lorenz curve: cumulative share of the total (y) against cumulative share of units sorted from
 * least to most (x), with the line of equality for reference.
 */
export function lorenzChart(curve: { x: Numbers; y: Numbers }, opts: LorenzOptions = {}): Figure {
  checkSameLength(curve.x, curve.y, "lorenzCurve");
  const name = (opts.name ?? "Lorenz curve") + (opts.gini !== undefined ? ` (Gini = ${opts.gini.toFixed(3)})` : "");
  const data: Trace[] = [
    { type: "scatter", mode: "lines", name: "equality", x: [0, 1], y: [0, 1], line: { color: "#adb5bd", dash: "dash", width: 1.5 } },
    { type: "scatter", mode: "lines", name, x: arr(curve.x), y: arr(curve.y), line: { color: NTG_COLORS[0], width: 2.5 }, fill: "tonexty", fillcolor: "rgba(59,91,219,0.12)" },
  ];
  const unit = { range: [0, 1], tickformat: ".0%" };
  return {
    data,
    layout: themed(
      { xTitle: "cumulative share of units", yTitle: "cumulative share of total", ...opts },
      { xaxis: unit, yaxis: unit, legend: { x: 0.02, xanchor: "left", y: 0.98, yanchor: "top" } },
    ),
  };
}

/** Options for {@link heatmap}. */
export interface HeatmapOptions extends FigureOptions {
  /** colour bar title */
  zTitle?: string;
  /** Plotly colour scale (default the NTG sequential scale) */
  colorscale?: string | Array<[number, string]>;
  /** fix the colour range */
  zMin?: number;
  zMax?: number;
  /** print each cell's value (Plotly texttemplate, e.g. "%{z:.2f}") */
  cellText?: string;
  /** d3 format of the colour bar ticks and hover values (e.g. ".0%") */
  zFormat?: string;
}

/** Heatmap of a row-major matrix `z[row][col]`, rows labelled on y (first row on top), columns on x. */
export function heatmap(z: Numbers[], xLabels: Array<string | number>, yLabels: Array<string | number>, opts: HeatmapOptions = {}): Figure {
  if (z.length !== yLabels.length) throw new RangeError(`heatmap: ${z.length} rows but ${yLabels.length} y labels`);
  z.forEach((row, i) => {
    if (row.length !== xLabels.length) throw new RangeError(`heatmap: row ${i} has ${row.length} values but there are ${xLabels.length} x labels`);
  });
  const trace: Trace = {
    type: "heatmap",
    z: z.map(arr),
    x: xLabels.map(String),
    y: yLabels.map(String),
    colorscale: opts.colorscale ?? NTG_SEQUENTIAL,
    colorbar: { ...(opts.zTitle ? { title: { text: opts.zTitle } } : {}), ...(opts.zFormat ? { tickformat: opts.zFormat } : {}) },
    hoverongaps: false,
    hovertemplate: `%{y} × %{x}: %{z${opts.zFormat ? `:${opts.zFormat}` : ""}}<extra></extra>`,
  };
  if (opts.zMin !== undefined) trace.zmin = opts.zMin;
  if (opts.zMax !== undefined) trace.zmax = opts.zMax;
  if (opts.cellText) trace.texttemplate = opts.cellText;
  return {
    data: [trace],
    layout: themed(opts, { xaxis: { type: "category", showgrid: false }, yaxis: { type: "category", autorange: "reversed", showgrid: false } }),
  };
}

/** Reliability-diagram input; `ReliabilityCurve` from the calibration module fits. */
export interface ReliabilityData {
  /** mean predicted probability per bin */
  probPred: Numbers;
  /** observed fraction of positives per bin */
  probTrue: Numbers;
  /** rows per bin (drawn as bars on a second axis when given) */
  count?: Numbers;
}

/** Options for {@link reliabilityDiagram}. */
export interface ReliabilityOptions extends FigureOptions {
  /** model name for the legend */
  name?: string;
  /** expected calibration error shown in the legend */
  ece?: number;
}

/**
 * Reliability diagram: observed frequency against mean predicted probability per bin, with the
 * diagonal of perfect calibration and, when counts are given, bin sizes as bars underneath.
 */
export function reliabilityDiagram(curve: ReliabilityData, opts: ReliabilityOptions = {}): Figure {
  checkSameLength(curve.probPred, curve.probTrue, "reliabilityDiagram");
  const name = (opts.name ?? "model") + (opts.ece !== undefined ? ` (ECE = ${opts.ece.toFixed(3)})` : "");
  const data: Trace[] = [
    { type: "scatter", mode: "lines", name: "perfectly calibrated", x: [0, 1], y: [0, 1], line: { color: "#adb5bd", dash: "dash", width: 1.5 } },
    { type: "scatter", mode: "lines+markers", name, x: arr(curve.probPred), y: arr(curve.probTrue), line: { color: NTG_COLORS[0], width: 2.5 }, marker: { size: 8 } },
  ];
  const extra: Layout = {
    xaxis: { range: [0, 1], tickformat: ".0%" },
    yaxis: { range: [0, 1], tickformat: ".0%", domain: curve.count ? [0.3, 1] : [0, 1] },
    legend: { x: 0.02, xanchor: "left", y: 0.98, yanchor: "top" },
  };
  if (curve.count) {
    checkSameLength(curve.probPred, curve.count, "reliabilityDiagram counts");
    data.push({ type: "bar", name: "rows per bin", x: arr(curve.probPred), y: arr(curve.count), yaxis: "y2", marker: { color: NTG_COLORS[7], opacity: 0.5 }, width: 0.02 });
    extra.yaxis2 = { ...AXIS, domain: [0, 0.22], anchor: "x", title: { text: "rows" }, rangemode: "tozero" };
    // The shared x axis sits under the count panel, at the bottom of the figure.
    extra.xaxis = { ...(extra.xaxis as object), anchor: "y2" };
  }
  return { data, layout: themed({ xTitle: "mean predicted probability", yTitle: "observed frequency", ...opts }, extra) };
}
