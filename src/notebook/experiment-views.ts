/**
 * Notebook views of significance and experiments:
 *  - 05_bootstrap_significance: the evaluate stage's comparison, recomputed from the per-user
 *    Parquet files, as interval rows, a forest plot and pairwise matrices;
 *  - 06_experiments: power and MDE curves, A/A and peeking summaries, the A/B/n decision loop in a
 *    small synthetic world with its known truth, and the committed simulation results.
 * Statistics come from src/eval and src/experiment; this module only arranges and draws them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildCsr } from "../data/csr";
import { parquet, quoteIdent, withDuck } from "../data/duck";
import { generateWorld, loggingPolicy, oraclePolicy, replayPolicy, validateWorldConfig, type ReplayResult, type World } from "../data/synthetic";
import type { ComparisonTable, NamedRun } from "../eval/compare";
import type { RankingMetric, RankingMetricsResult } from "../eval/ranking-metrics";
import type { ExperimentAnalysis } from "../experiment/analyse";
import type { ExperimentConfig } from "../experiment/config";
import { loadConfig, type LoadedConfig } from "../pipeline/config";
import type { ExperimentSpec } from "../experiment/design";
import { mdeMeans, mdeProportions, powerMeans, powerProportions } from "../experiment/power";
import { genreAffinityPolicy, recommenderPolicy, replayColumns, runWorldLoop, type AaResult, type PeekingResult, type PowerSimResult, type WorldArmPolicy, type WorldLoopResult } from "../experiment/simulate";
import { groupedBarChart, heatmap, lineChart, mergeLayout, NTG_COLORS, ntgTheme, type Figure, type Layout, type Trace } from "../plot/figure";
import { createModel } from "../taste/registry";
import { InputError } from "../util/errors";
import { NTG_REPO_ROOT } from "./results";
import type { PreparedTasteRun } from "./taste-views";

// ---- interval panels (forest plots) ----------------------------------------------------------------

/** One row of an interval panel: a point estimate with its interval. */
export type IntervalRow = {
  label: string;
  estimate: number;
  lower: number;
  upper: number;
};

/** One panel of {@link intervalPanelsFigure}. */
export interface IntervalPanel {
  title: string;
  rows: IntervalRow[];
  /** vertical reference line (e.g. 0 for effects) */
  reference?: number;
  /** extra markers per label, e.g. the true effect */
  markers?: { name: string; values: Record<string, number> };
  /** d3 tick format of the x axis (e.g. ".1%") */
  tickformat?: string;
}

/**
 * A grid of forest-plot panels sharing the row labels: each label in its own colour (consistent
 * across panels, one legend entry), estimate as a dot, interval as a horizontal bar.
 */
export function intervalPanelsFigure(panels: IntervalPanel[], opts: { title?: string; columns?: number; xTitle?: string; height?: number; colorOrder?: readonly string[] } = {}): Figure {
  const labels = [...new Set(panels.flatMap((p) => p.rows.map((r) => r.label)))];
  // colours follow `colorOrder` when given, so a label keeps its colour across related figures
  const colorOf = (label: string, i: number) => NTG_COLORS[(opts.colorOrder ? Math.max(0, opts.colorOrder.indexOf(label)) : i) % NTG_COLORS.length];
  const C = Math.max(1, Math.min(opts.columns ?? 3, panels.length));
  const R = Math.max(1, Math.ceil(panels.length / C));
  const gapX = 0.05;
  const gapY = R > 1 ? 0.16 : 0;
  const data: Trace[] = [];
  const layout: Layout = {};
  const annotations: Array<Record<string, unknown>> = [];
  const shapes: Array<Record<string, unknown>> = [];
  const markerSeen = new Set<string>();
  panels.forEach((p, i) => {
    const c = i % C;
    const r = Math.floor(i / C);
    const s = i === 0 ? "" : String(i + 1);
    const x0 = c / C + (c > 0 ? gapX / 2 : 0);
    const x1 = (c + 1) / C - (c < C - 1 ? gapX / 2 : 0);
    const y1 = 1 - r / R - (r > 0 ? gapY / 2 : 0);
    const y0 = 1 - (r + 1) / R + (r < R - 1 ? gapY / 2 : 0);
    layout[`xaxis${s}`] = { domain: [x0, x1], anchor: `y${s}`, gridcolor: "#e9ecef", zeroline: false, showline: true, linecolor: "#adb5bd", automargin: true, ...(p.tickformat ? { tickformat: p.tickformat } : {}), ...(opts.xTitle && r === R - 1 ? { title: { text: opts.xTitle } } : {}) };
    layout[`yaxis${s}`] = { domain: [y0, y1], anchor: `x${s}`, type: "category", categoryorder: "array", categoryarray: [...labels].reverse(), showticklabels: c === 0, showgrid: false, showline: true, linecolor: "#adb5bd", automargin: true };
    annotations.push({ text: `<b>${p.title}</b>`, x: (x0 + x1) / 2, y: y1, xref: "paper", yref: "paper", xanchor: "center", yanchor: "bottom", showarrow: false, font: { size: 13 } });
    if (p.reference !== undefined) shapes.push({ type: "line", xref: `x${s}`, yref: `y${s} domain`, x0: p.reference, x1: p.reference, y0: 0, y1: 1, line: { color: "#868e96", dash: "dash", width: 1 } });
    labels.forEach((label, li) => {
      const row = p.rows.find((x) => x.label === label);
      if (!row) return;
      data.push({
        type: "scatter",
        mode: "markers",
        name: label,
        legendgroup: label,
        showlegend: i === 0,
        x: [row.estimate],
        y: [label],
        xaxis: `x${s}`,
        yaxis: `y${s}`,
        marker: { size: 9, color: colorOf(label, li) },
        error_x: { type: "data", symmetric: false, array: [row.upper - row.estimate], arrayminus: [row.estimate - row.lower], color: colorOf(label, li), thickness: 2, width: 5 },
        hovertemplate: `${label}: %{x:.4g} [${row.lower.toPrecision(4)}, ${row.upper.toPrecision(4)}]<extra>${p.title}</extra>`,
      });
    });
    if (p.markers) {
      const ls = labels.filter((l) => p.markers!.values[l] !== undefined);
      data.push({
        type: "scatter",
        mode: "markers",
        name: p.markers.name,
        legendgroup: `__${p.markers.name}`,
        showlegend: !markerSeen.has(p.markers.name),
        x: ls.map((l) => p.markers!.values[l]),
        y: ls,
        xaxis: `x${s}`,
        yaxis: `y${s}`,
        marker: { symbol: "diamond-open", size: 13, color: "#212529", line: { width: 2 } },
        hovertemplate: `${p.markers.name}: %{x:.4g}<extra>%{y}</extra>`,
      });
      markerSeen.add(p.markers.name);
    }
  });
  const height = opts.height ?? Math.max(360, R * (60 + 34 * labels.length) + 130);
  return {
    data,
    layout: mergeLayout(mergeLayout(ntgTheme(), layout), {
      title: { text: opts.title ?? "" },
      annotations,
      shapes,
      height,
      legend: { orientation: "h", x: 0, xanchor: "left", y: -0.08 - 40 / height, yanchor: "top" },
      margin: { t: 90, b: 90 },
    }),
  };
}

// ---- 05: the evaluation report and per-user metrics -------------------------------------------------

/** One part (val or test) of ranking_metrics.json. */
export interface RankingReportPart {
  comparison: ComparisonTable;
  beyond_accuracy: Record<string, unknown>;
  protocol: unknown;
  warnings: string[];
}

/** ranking_metrics.json as the evaluate stage writes it. */
export interface RankingReport {
  dataset: string;
  strategy: string;
  ks: number[];
  n_boot: number;
  val?: RankingReportPart;
  test?: RankingReportPart;
}

/** Reads the evaluate stage's report of a run. */
export function readRankingReport(ds: PreparedTasteRun): RankingReport {
  if (!fs.existsSync(ds.taste.rankingMetrics)) throw new InputError(`no ranking report at ${ds.taste.rankingMetrics}: run the pipeline up to "evaluate"`);
  return JSON.parse(fs.readFileSync(ds.taste.rankingMetrics, "utf8")) as RankingReport;
}

/** The metric families the evaluate stage reports intervals for. */
export const HEADLINE_FAMILIES: readonly RankingMetric[] = ["ndcg", "recall", "recall_capped", "precision", "map", "mrr"];

/** `metric@k` keys of the headline metrics: each family at cutoff k (default the smallest cutoff). */
export function headlineMetrics(ks: readonly number[], opts: { k?: number; families?: readonly RankingMetric[] } = {}): string[] {
  const k = opts.k ?? Math.min(...ks);
  return (opts.families ?? HEADLINE_FAMILIES).map((f) => `${f}@${k}`);
}

/**
 * Per-user metrics of every model the report compares on `part`, read back from
 * outputs/reports/per_user/<model>_<part>.parquet, as runs `compareModels` accepts.
 */
export async function readPerUserRuns(ds: PreparedTasteRun, part: "val" | "test", models?: readonly string[]): Promise<NamedRun[]> {
  const report = readRankingReport(ds);
  const names = models ?? report[part]?.comparison.models;
  if (!names || names.length === 0) throw new InputError(`the ranking report has no '${part}' comparison`);
  return withDuck(async (db) => {
    const runs: NamedRun[] = [];
    for (const name of names) {
      const file = path.join(ds.taste.perUser, `${name}_${part}.parquet`);
      if (!fs.existsSync(file)) throw new InputError(`per-user metrics of '${name}' on ${part} not found: ${file}`);
      const keys = (await db.rows<{ column_name: string }>(`DESCRIBE SELECT * FROM ${parquet(file)}`)).map((r) => r.column_name).filter((c) => c.includes("@"));
      const spec: Record<string, "i32" | "f64"> = { user: "i32", n_relevant: "i32" };
      for (const k of keys) spec[k] = "f64";
      const cols = (await db.columns(`SELECT ${Object.keys(spec).map(quoteIdent).join(", ")} FROM ${parquet(file)} ORDER BY "user"`, spec)) as unknown as Record<string, Int32Array | Float64Array> & { length: number };
      const values: Record<string, Float64Array> = {};
      const mean: Record<string, number> = {};
      for (const k of keys) {
        const v = cols[k] as Float64Array;
        values[k] = v;
        mean[k] = v.length ? v.reduce((a, x) => a + x, 0) / v.length : Number.NaN;
      }
      const metrics: RankingMetricsResult = {
        ks: [...new Set(keys.map((k) => Number(k.split("@")[1])))].sort((a, b) => a - b),
        metrics: [...new Set(keys.map((k) => k.split("@")[0] as RankingMetric))],
        mean,
        perUser: { users: cols.user as Int32Array, nRelevant: cols.n_relevant as Int32Array, values },
        counts: { rows: cols.length, evaluated: cols.length, noRelevant: 0, emptySlots: 0, duplicateHits: 0 },
        excludedUsers: new Int32Array(0),
        warnings: [],
      };
      runs.push({ name, metrics });
    }
    return runs;
  });
}

/**
 * How far a recomputed comparison is from the stored one, over the metrics both hold. The stored
 * JSON keeps 10 significant digits, so `reproduced` allows differences up to 1e-8.
 */
export function comparisonAgreement(recomputed: ComparisonTable, stored: ComparisonTable): { metrics: number; maxMeanDifference: number; maxIntervalDifference: number; maxPDifference: number; reproduced: boolean } {
  let maxMean = 0;
  let maxCi = 0;
  let maxP = 0;
  let n = 0;
  for (const [key, m] of Object.entries(recomputed.metrics)) {
    const s = stored.metrics[key];
    if (!s) continue;
    n++;
    for (const [model, x] of Object.entries(m.models)) {
      const y = s.models[model];
      if (!y) continue;
      maxMean = Math.max(maxMean, Math.abs(x.mean - y.mean));
      for (const kind of ["percentile", "basic", "bca"] as const) maxCi = Math.max(maxCi, Math.abs(x[kind].lower - y[kind].lower), Math.abs(x[kind].upper - y[kind].upper));
    }
    for (const p of m.pairs) {
      const q = s.pairs.find((z) => z.a === p.a && z.b === p.b);
      if (q) maxP = Math.max(maxP, Math.abs(p.p_holm - q.p_holm));
    }
  }
  return { metrics: n, maxMeanDifference: maxMean, maxIntervalDifference: maxCi, maxPDifference: maxP, reproduced: n > 0 && Math.max(maxMean, maxCi, maxP) < 1e-8 };
}

/** Which bootstrap interval to show. */
export type IntervalKind = "percentile" | "basic" | "bca";

/** Every model's mean and interval on every metric of a comparison table. */
export function modelIntervalRows(t: ComparisonTable, opts: { interval?: IntervalKind } = {}): Array<{ metric: string; model: string; mean: number; lower: number; upper: number; standard_error: number }> {
  const kind = opts.interval ?? "bca";
  return Object.entries(t.metrics).flatMap(([metric, m]) =>
    t.models.map((model) => ({ metric, model, mean: m.models[model].mean, lower: m.models[model][kind].lower, upper: m.models[model][kind].upper, standard_error: m.models[model].standardError })),
  );
}

/** Forest plot: one panel per metric, every model's mean with its bootstrap interval. */
export function forestPlot(t: ComparisonTable, opts: { interval?: IntervalKind; title?: string; columns?: number } = {}): Figure {
  const kind = opts.interval ?? "bca";
  const panels: IntervalPanel[] = Object.entries(t.metrics).map(([metric, m]) => ({
    title: metric,
    rows: t.models.map((model) => ({ label: model, estimate: m.models[model].mean, lower: m.models[model][kind].lower, upper: m.models[model][kind].upper })),
  }));
  return intervalPanelsFigure(panels, {
    title: opts.title ?? `Model means with ${Math.round(100 * t.level)}% ${kind} bootstrap intervals (${t.n_users} users, ${t.n_boot} resamples)`,
    columns: opts.columns ?? 3,
  });
}

/** The model with the highest mean on `metric` (ties: the earlier model). */
export function bestModel(t: ComparisonTable, metric: string): string {
  const m = t.metrics[metric];
  if (!m) throw new InputError(`the comparison has no metric '${metric}'`);
  let best = t.models[0];
  for (const x of t.models) if (m.models[x].mean > m.models[best].mean) best = x;
  return best;
}

/**
 * Paired differences against one model: one panel per metric, each other model's mean difference
 * (model − baseline) with its paired bootstrap interval; intervals clear of 0 are real differences.
 */
export function differenceForest(t: ComparisonTable, opts: { baseline?: string; interval?: IntervalKind; title?: string; columns?: number } = {}): Figure {
  const kind = opts.interval ?? "bca";
  const metrics = Object.keys(t.metrics);
  const baseline = opts.baseline ?? bestModel(t, metrics[0]);
  const panels: IntervalPanel[] = metrics.map((metric) => ({
    title: metric,
    reference: 0,
    rows: t.metrics[metric].pairs
      .filter((p) => p.a === baseline || p.b === baseline)
      .map((p) => {
        // pair rows hold b − a; flip so every row reads model − baseline
        const sign = p.b === baseline ? -1 : 1;
        const lo = sign * p[kind].lower;
        const hi = sign * p[kind].upper;
        return { label: p.a === baseline ? p.b : p.a, estimate: sign * p.difference, lower: Math.min(lo, hi), upper: Math.max(lo, hi) };
      }),
  }));
  return intervalPanelsFigure(panels, {
    title: opts.title ?? `Paired differences to '${baseline}' (model − ${baseline}) with ${Math.round(100 * t.level)}% ${kind} intervals`,
    columns: opts.columns ?? 3,
    colorOrder: t.models,
  });
}

/** Pairwise matrices of one metric: difference row − column, Holm-adjusted p-values (symmetric), significance. */
export interface PairwiseMatrices {
  metric: string;
  models: string[];
  /** difference[i][j] = mean(models[i]) − mean(models[j]); null on the diagonal */
  difference: Array<Array<number | null>>;
  /** Holm-adjusted p of the pair (symmetric); null on the diagonal */
  pHolm: Array<Array<number | null>>;
  /** row model significantly better than column model at `alpha` */
  better: boolean[][];
  alpha: number;
}

/** The pairwise difference and Holm p-value matrices of `metric` from a comparison table. */
export function pairwiseMatrices(t: ComparisonTable, metric: string, opts: { alpha?: number } = {}): PairwiseMatrices {
  const m = t.metrics[metric];
  if (!m) throw new InputError(`the comparison has no metric '${metric}' (have: ${Object.keys(t.metrics).join(", ")})`);
  const alpha = opts.alpha ?? 0.05;
  const n = t.models.length;
  const idx = new Map(t.models.map((x, i) => [x, i]));
  const difference = Array.from({ length: n }, () => new Array<number | null>(n).fill(null));
  const pHolm = Array.from({ length: n }, () => new Array<number | null>(n).fill(null));
  const better = Array.from({ length: n }, () => new Array<boolean>(n).fill(false));
  for (const p of m.pairs) {
    const a = idx.get(p.a)!;
    const b = idx.get(p.b)!;
    // pair rows hold b − a
    difference[b][a] = p.difference;
    difference[a][b] = -p.difference;
    pHolm[a][b] = pHolm[b][a] = p.p_holm;
    if (p.p_holm < alpha) {
      if (p.difference > 0) better[b][a] = true;
      else if (p.difference < 0) better[a][b] = true;
    }
  }
  return { metric, models: [...t.models], difference, pHolm, better, alpha };
}

/** Heatmap of Holm-adjusted p-values (dark = small), significant cells marked. */
export function pValueHeatmap(m: PairwiseMatrices, opts: { title?: string } = {}): Figure {
  const fig = heatmap(
    m.pHolm.map((r) => r.map((v) => (v === null ? Number.NaN : v))),
    m.models,
    m.models,
    {
      title: opts.title ?? `${m.metric}: Holm-adjusted paired p-values (✱ p < ${m.alpha})`,
      xTitle: "model",
      yTitle: "model",
      zTitle: "p (Holm)",
      zMin: 0,
      zMax: 1,
      colorscale: [
        [0, "#1c3d8f"],
        [0.05, "#339af0"],
        [0.2, "#a5d8ff"],
        [1, "#f8f9fa"],
      ],
    },
  );
  fig.data[0].text = m.pHolm.map((r) => r.map((v) => (v === null ? "" : `${v < 0.001 ? v.toExponential(1) : v.toFixed(3)}${v < m.alpha ? " ✱" : ""}`)));
  fig.data[0].texttemplate = "%{text}";
  fig.layout = mergeLayout(fig.layout, { width: 760, height: 620 });
  return fig;
}

/** Heatmap of mean differences row − column on a diverging scale, significant cells marked. */
export function differenceHeatmap(m: PairwiseMatrices, opts: { title?: string } = {}): Figure {
  let max = 0;
  for (const r of m.difference) for (const v of r) if (v !== null && Math.abs(v) > max) max = Math.abs(v);
  const fig = heatmap(
    m.difference.map((r) => r.map((v) => (v === null ? Number.NaN : v))),
    m.models,
    m.models,
    {
      title: opts.title ?? `${m.metric}: row − column (✱ Holm-significant at ${m.alpha})`,
      xTitle: "column model",
      yTitle: "row model",
      zTitle: "difference",
      zMin: -max || -1,
      zMax: max || 1,
      colorscale: [
        [0, "#c2255c"],
        [0.5, "#f8f9fa"],
        [1, "#2f9e44"],
      ],
    },
  );
  fig.data[0].text = m.difference.map((r, i) => r.map((v, j) => (v === null ? "" : `${v >= 0 ? "+" : ""}${v.toFixed(4)}${m.better[i][j] || m.better[j][i] ? " ✱" : ""}`)));
  fig.data[0].texttemplate = "%{text}";
  fig.layout = mergeLayout(fig.layout, { width: 760, height: 620 });
  return fig;
}

/** The pairs of one metric as table rows: b − a with its interval, raw and Holm p-values. */
export function pairRows(t: ComparisonTable, metric: string, opts: { interval?: IntervalKind; alpha?: number } = {}): Array<Record<string, unknown>> {
  const kind = opts.interval ?? "bca";
  const alpha = opts.alpha ?? 0.05;
  return (t.metrics[metric]?.pairs ?? []).map((p) => ({
    comparison: `${p.b} − ${p.a}`,
    difference: p.difference,
    lower: p[kind].lower,
    upper: p[kind].upper,
    p_t: p.p_t,
    p_wilcoxon: p.p_wilcoxon,
    p_holm: p.p_holm,
    significant: p.p_holm < alpha,
  }));
}

/** Per metric: the best model by mean, and which models it beats significantly (Holm). */
export function significanceSummary(t: ComparisonTable, opts: { alpha?: number } = {}): Array<{ metric: string; best: string; best_mean: number; beats: string; ties: string; significant_pairs: number; pairs: number }> {
  const alpha = opts.alpha ?? 0.05;
  return Object.keys(t.metrics).map((metric) => {
    const m = pairwiseMatrices(t, metric, { alpha });
    const means = t.models.map((x) => t.metrics[metric].models[x].mean);
    let b = 0;
    for (let i = 1; i < means.length; i++) if (means[i] > means[b]) b = i;
    const beats = m.models.filter((_, j) => m.better[b][j]);
    const ties = m.models.filter((_, j) => j !== b && !m.better[b][j]);
    const pairs = t.metrics[metric].pairs;
    return { metric, best: m.models[b], best_mean: means[b], beats: beats.join(", "), ties: ties.join(", "), significant_pairs: pairs.filter((p) => p.p_holm < alpha).length, pairs: pairs.length };
  });
}

// ---- 06: power and MDE -----------------------------------------------------------------------------

/** A metric's planning baseline. */
export type BaselineMetric = {
  name: string;
  type: "mean" | "proportion";
  mean: number;
  sd: number;
};

/** Log-spaced integer sample sizes from `min` to `max` (inclusive), `perDecade` points per factor 10. */
export function sampleSizeGrid(min: number, max: number, perDecade = 12): number[] {
  if (!(min >= 2 && max > min)) throw new InputError(`sampleSizeGrid: need 2 ≤ min < max (got ${min}, ${max})`);
  const out = new Set<number>();
  const steps = Math.ceil(Math.log10(max / min) * perDecade);
  for (let i = 0; i <= steps; i++) out.add(Math.round(min * 10 ** (i / perDecade)));
  out.add(max);
  return [...out].filter((n) => n <= max).sort((a, b) => a - b);
}

/** Power at each users-per-arm size for relative lifts of a metric (z test for means; pooled two-proportion z test). */
export function powerCurves(b: BaselineMetric, opts: { lifts: number[]; ns: number[]; alpha?: number; comparisons?: number }): { metric: string; ns: number[]; series: Array<{ lift: number; power: number[] }> } {
  const alpha = opts.alpha ?? 0.05;
  const series = opts.lifts.map((lift) => ({
    lift,
    power: opts.ns.map((n) =>
      b.type === "proportion"
        ? powerProportions({ p1: b.mean, p2: Math.min(1 - 1e-9, b.mean * (1 + lift)), n1: n, alpha, comparisons: opts.comparisons })
        : powerMeans({ effect: b.mean * lift, sd: b.sd, n1: n, alpha, comparisons: opts.comparisons }),
    ),
  }));
  return { metric: b.name, ns: opts.ns, series };
}

/** Power curves against users per arm (log axis), one line per relative lift, with the 80% line and an optional planned size. */
export function powerCurveFigure(pc: ReturnType<typeof powerCurves>, opts: { title?: string; plannedN?: number } = {}): Figure {
  const fig = lineChart(
    pc.series.map((s) => ({ name: `lift ${(100 * s.lift).toFixed(1)}%`, x: pc.ns, y: s.power })),
    { title: opts.title ?? `Power for '${pc.metric}' by users per arm`, xTitle: "users per arm", yTitle: "power", logX: true, layout: { yaxis: { range: [0, 1.02], tickformat: ".0%" } } },
  );
  const shapes: Array<Record<string, unknown>> = [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 0.8, y1: 0.8, line: { color: "#868e96", dash: "dot", width: 1 } }];
  // on a log axis a shape takes data coordinates but an annotation takes log10 ones
  if (opts.plannedN) shapes.push({ type: "line", yref: "paper", x0: opts.plannedN, x1: opts.plannedN, y0: 0, y1: 1, line: { color: "#495057", dash: "dash", width: 1 } });
  fig.layout = mergeLayout(fig.layout, { shapes, ...(opts.plannedN ? { annotations: [{ x: Math.log10(opts.plannedN), y: 1, yref: "paper", text: `planned ${opts.plannedN}/arm`, showarrow: false, xanchor: "left", yanchor: "top", font: { size: 11 } }] } : {}) });
  return fig;
}

/** Relative minimum detectable effect of each metric at each users-per-arm size and the target power. */
export function mdeCurves(metrics: BaselineMetric[], opts: { ns: number[]; power?: number; alpha?: number; comparisons?: number }): { ns: number[]; power: number; series: Array<{ metric: string; type: string; relativeMde: number[] }> } {
  const power = opts.power ?? 0.8;
  const alpha = opts.alpha ?? 0.05;
  return {
    ns: opts.ns,
    power,
    series: metrics.map((b) => ({
      metric: b.name,
      type: b.type,
      relativeMde: opts.ns.map((n) => {
        if (b.type === "proportion") {
          try {
            return mdeProportions({ p1: b.mean, n1: n, power, alpha, comparisons: opts.comparisons }) / b.mean;
          } catch {
            // too few users: no increase below 100% reaches the power
            return Number.NaN;
          }
        }
        return mdeMeans({ sd: b.sd, n1: n, power, alpha, comparisons: opts.comparisons }) / b.mean;
      }),
    })),
  };
}

/** Relative MDE against users per arm on log–log axes, one line per metric. */
export function mdeFigure(m: ReturnType<typeof mdeCurves>, opts: { title?: string } = {}): Figure {
  return lineChart(
    m.series.map((s) => ({ name: `${s.metric} (${s.type})`, x: m.ns, y: s.relativeMde })),
    { title: opts.title ?? `Minimum detectable relative effect at ${Math.round(100 * m.power)}% power`, xTitle: "users per arm", yTitle: "relative MDE", logX: true, logY: true, layout: { yaxis: { tickformat: ".1%" } } },
  );
}

// ---- 06: the synthetic world ---------------------------------------------------------------------

/** What 06 needs from a config: the experiment section, the name, seed and where reports go. */
export interface PreparedExperiment {
  name: string;
  seed: number;
  loaded: LoadedConfig;
  experiment: ExperimentConfig;
  /** <runDir>/outputs/reports, or experiment.report_dir */
  reportDir: string;
}

/** Loads a config for the experiment notebook (seed and run directory as notebook parameters); runs no pipeline stage. */
export function prepareExperiment(config: string, opts: { seed?: number; runDir?: string; cwd?: string } = {}): PreparedExperiment {
  const cwd = opts.cwd ?? process.cwd();
  const loaded = loadConfig(config, opts.seed !== undefined ? [`seed=${opts.seed}`] : [], cwd);
  if (opts.runDir) loaded.runDir = path.resolve(cwd, opts.runDir);
  const exp = loaded.config.experiment;
  const reportDir = exp.report_dir ? path.resolve(loaded.baseDir, exp.report_dir) : path.join(loaded.runDir, "outputs", "reports");
  return { name: loaded.config.name, seed: loaded.config.seed, loaded, experiment: exp, reportDir };
}

/** Size overrides for the experiment's synthetic world. */
export interface ExperimentWorldOptions {
  users?: number;
  items?: number;
  days?: number;
  seed?: number;
}

/** The experiment section's synthetic world (experiment.simulate.world), with size overrides for a fast notebook run. */
export function experimentWorld(cfg: ExperimentConfig, opts: ExperimentWorldOptions = {}): World {
  const over: Record<string, number> = {};
  for (const k of ["users", "items", "days", "seed"] as const) if (opts[k] !== undefined) over[k] = opts[k] as number;
  return generateWorld(validateWorldConfig({ seed: cfg.simulate.seed, ...cfg.simulate.world, ...over }));
}

/** The logging policy replayed past the world's end: per-user outcomes and each metric's baseline. */
export interface BaselineReplay {
  replay: ReplayResult;
  /** plays, active_days, retained (0/1), revenue per replayed user */
  columns: Record<string, Float64Array>;
  userIds: string[];
  days: number;
  seed: number;
  baselines: BaselineMetric[];
}

/** Replays the logging policy for `days` and summarises the outcome columns (retention as a proportion). */
export function baselineReplay(world: World, opts: { days: number; seed: number }): BaselineReplay {
  const replay = replayPolicy(world, loggingPolicy(world), { days: opts.days, seed: opts.seed });
  const columns: Record<string, Float64Array> = { ...replayColumns(replay) };
  const baselines = Object.keys(columns).map((name) => {
    const v = columns[name];
    const n = v.length;
    let s = 0;
    let q = 0;
    for (let i = 0; i < n; i++) (s += v[i]), (q += v[i] * v[i]);
    const mean = s / n;
    const type: BaselineMetric["type"] = name === "retained" ? "proportion" : "mean";
    return { name, type, mean, sd: type === "proportion" ? Math.sqrt(mean * (1 - mean)) : Math.sqrt(Math.max(0, q - s * mean) / (n - 1)) };
  });
  return { replay, columns, userIds: Array.from(replay.outcomes.user, (u) => `u${u}`), days: opts.days, seed: opts.seed, baselines };
}

/** A metric's baseline from a replay, by name. */
export function baselineOf(b: BaselineReplay, name: string): BaselineMetric {
  const m = b.baselines.find((x) => x.name === name);
  if (!m) throw new InputError(`no baseline for '${name}' (have: ${b.baselines.map((x) => x.name).join(", ")})`);
  return m;
}

/** Relative MDE of every metric at chosen users-per-arm sizes (evaluated exactly, not read off the grid). */
export function mdeRows(metrics: BaselineMetric[], at: number[], opts: { power?: number; alpha?: number } = {}): Array<Record<string, unknown>> {
  const m = mdeCurves(metrics, { ns: at, power: opts.power, alpha: opts.alpha });
  return m.series.map((s) => ({ metric: s.metric, type: s.type, ...Object.fromEntries(at.map((n, i) => [`n=${n}`, s.relativeMde[i]])) }));
}

// ---- 06: A/A, peeking and power simulations ------------------------------------------------------

/** A/A false-positive rates per metric as table rows (does the Wilson interval cover alpha?). */
export function aaRows(aa: AaResult): Array<Record<string, unknown>> {
  return Object.entries(aa.metrics).map(([metric, m]) => ({ metric, runs: m.runs, rejections: m.rejections, rate: m.rate, ci_lower: m.ci95[0], ci_upper: m.ci95[1], covers_alpha: m.ci95[0] <= aa.alpha && aa.alpha <= m.ci95[1] }));
}

/** Share of A/A p-values per decile, per metric: flat at 10% when the test is calibrated. */
export function pValueDecileFigure(aa: AaResult, opts: { title?: string } = {}): Figure {
  const cats = Array.from({ length: 10 }, (_, i) => `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}`);
  const series = Object.entries(aa.metrics).map(([metric, m]) => {
    const tot = m.pValueDeciles.reduce((a, b) => a + b, 0) || 1;
    return { name: metric, values: m.pValueDeciles.map((c) => c / tot) };
  });
  const fig = groupedBarChart(cats, series, { title: opts.title ?? `A/A p-values by decile (${aa.runs} re-bucketings of ${aa.users} users)`, xTitle: "p-value", yTitle: "share of runs", layout: { yaxis: { tickformat: ".0%" } } });
  fig.layout = mergeLayout(fig.layout, { shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 0.1, y1: 0.1, line: { color: "#495057", dash: "dash", width: 1 } }] });
  return fig;
}

/** Peeking results (this run and optionally committed ones) as table rows. */
export function peekingRows(runs: Record<string, Pick<PeekingResult, "runs" | "users" | "looks" | "fixedHorizon" | "naivePeeking" | "sequentialPeeking"> | null | undefined>): Array<Record<string, unknown>> {
  const present = Object.entries(runs).filter((e): e is [string, NonNullable<(typeof e)[1]>] => !!e[1]);
  return present.map(([source, p]) => ({
    source,
    runs: p.runs,
    users: p.users,
    looks: p.looks,
    fixed_horizon: p.fixedHorizon.rate,
    naive_peeking: p.naivePeeking.rate,
    naive_ci: `[${p.naivePeeking.ci95[0].toFixed(3)}, ${p.naivePeeking.ci95[1].toFixed(3)}]`,
    sequential: p.sequentialPeeking.rate,
    sequential_ci: `[${p.sequentialPeeking.ci95[0].toFixed(3)}, ${p.sequentialPeeking.ci95[1].toFixed(3)}]`,
  }));
}

/** Cumulative false-positive rate by look: naive Welch test vs the always-valid p-value, with alpha; committed curves dashed. */
export function peekingFigure(p: PeekingResult, opts: { title?: string; committed?: Pick<PeekingResult, "naiveByLook" | "sequentialByLook" | "runs" | "users"> | null } = {}): Figure {
  const looks = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  const series = [
    { name: `naive test at every look (${p.runs} runs)`, x: looks(p.naiveByLook.length), y: p.naiveByLook, markers: true },
    { name: "always-valid (confidence sequence)", x: looks(p.sequentialByLook.length), y: p.sequentialByLook, markers: true },
  ];
  const c = opts.committed;
  if (c) {
    series.push({ name: `committed: naive (${c.runs} runs, ${c.users} users)`, x: looks(c.naiveByLook.length), y: c.naiveByLook, markers: false });
    series.push({ name: "committed: always-valid", x: looks(c.sequentialByLook.length), y: c.sequentialByLook, markers: false });
  }
  const fig = lineChart(
    series.map((s, i) => ({ ...s, dash: i >= 2 ? "dash" : undefined })),
    { title: opts.title ?? `A/A with a look after every day: share of runs with a false positive so far (alpha ${p.alpha})`, xTitle: "look (day)", yTitle: "false-positive rate so far", layout: { yaxis: { tickformat: ".0%", rangemode: "tozero" } } },
  );
  fig.data.forEach((t, i) => (t.line = { ...(t.line as object), color: NTG_COLORS[i % 2] }));
  fig.layout = mergeLayout(fig.layout, { shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: p.alpha, y1: p.alpha, line: { color: "#495057", dash: "dot", width: 1 } }] });
  return fig;
}

/** Simulated vs analytic power per injected effect as table rows. */
export function powerSimRows(ps: PowerSimResult, metric: string): Array<Record<string, unknown>> {
  return ps.points.map((p) => ({ metric, target_power: p.targetPower, effect: p.effect, relative_effect: p.relativeEffect, analytic: p.analytic, simulated: p.simulated.rate, ci_lower: p.simulated.ci95[0], ci_upper: p.simulated.ci95[1], difference: p.difference }));
}

/** Simulated power (with Wilson intervals) against analytic power, per named simulation, with the diagonal. */
export function powerSimFigure(sims: Record<string, Pick<PowerSimResult, "points" | "runs" | "users"> | null | undefined>, opts: { title?: string } = {}): Figure {
  const data: Trace[] = [{ type: "scatter", mode: "lines", name: "simulated = analytic", x: [0, 1], y: [0, 1], line: { color: "#adb5bd", dash: "dash", width: 1.5 } }];
  const present = Object.entries(sims).filter((e): e is [string, NonNullable<(typeof e)[1]>] => !!e[1]);
  present.forEach(([name, s], i) => {
    data.push({
      type: "scatter",
      mode: "markers",
      name: `${name} (${s.runs} runs, ${s.users} users)`,
      x: s.points.map((p) => p.analytic),
      y: s.points.map((p) => p.simulated.rate),
      error_y: { type: "data", symmetric: false, array: s.points.map((p) => p.simulated.ci95[1] - p.simulated.rate), arrayminus: s.points.map((p) => p.simulated.rate - p.simulated.ci95[0]), color: NTG_COLORS[i % NTG_COLORS.length] },
      marker: { size: 9, color: NTG_COLORS[i % NTG_COLORS.length], symbol: i % 2 ? "square" : "circle" },
    });
  });
  const unit = { range: [0, 1.02], tickformat: ".0%" };
  return {
    data,
    layout: mergeLayout(ntgTheme(), {
      title: { text: opts.title ?? "Power: simulated rejection rate vs analytic power (effects injected into the treatment arm)" },
      xaxis: { ...unit, title: { text: "analytic power" } },
      yaxis: { ...unit, title: { text: "simulated power (95% Wilson interval)" } },
      legend: { x: 0.02, xanchor: "left", y: 0.98, yanchor: "top" },
    }),
  };
}

// ---- 06: the A/B/n decision loop -----------------------------------------------------------------

/** An arm of the world loop and the policy it runs: "logging", "genre", "oracle" or "model:<kind>". */
export interface WorldArm {
  arm: string;
  policy: string;
}

/** The config's experiment design (metrics, primary, guardrails, alpha, correction, ROI) with equal-weight arms. */
export function abnSpec(cfg: ExperimentConfig, arms: readonly WorldArm[], opts: { name?: string; salt?: string | null } = {}): ExperimentSpec {
  if (arms.length < 2) throw new InputError("an A/B/n experiment needs at least two arms");
  return {
    name: opts.name ?? `${cfg.name}_abn`,
    key: cfg.key,
    salt: opts.salt ?? cfg.salt,
    scheme: cfg.hash,
    arms: arms.map((a) => ({ name: a.arm, weight: 1 / arms.length })),
    control: arms[0].arm,
    metrics: cfg.metrics.map((m) => ({ name: m.name, type: m.type, column: m.column, numerator: m.numerator, denominator: m.denominator, covariate: m.covariate })),
    primary: { ...cfg.primary },
    guardrails: cfg.guardrails.map((g) => ({ ...g })),
    alpha: cfg.alpha,
    correction: cfg.correction,
    srmThreshold: cfg.srm_threshold,
    credibleLevel: cfg.credible_level,
    roi: { valuePerUnit: cfg.roi.value_per_unit, costPerUser: cfg.roi.cost_per_user, fixedCost: cfg.roi.fixed_cost, population: cfg.roi.population, basis: cfg.roi.basis },
  };
}

/**
 * Policies for the arms: the built-in ones by name, or "model:<kind>" — a taste-registry model
 * fitted on every play the world logged (seen titles excluded), i.e. what a team would ship.
 */
export async function worldPolicies(world: World, arms: readonly WorldArm[], opts: { seed?: number } = {}): Promise<Record<string, WorldArmPolicy>> {
  const out: Record<string, WorldArmPolicy> = {};
  for (const a of arms) {
    if (a.policy === "logging") out[a.arm] = { policy: loggingPolicy(world), description: "logging policy (production recommender)" };
    else if (a.policy === "genre") out[a.arm] = { policy: genreAffinityPolicy(world), description: "genre affinity from observed plays" };
    else if (a.policy === "oracle") out[a.arm] = { policy: oraclePolicy(world), description: "oracle: true tastes (upper bound)" };
    else if (a.policy.startsWith("model:")) {
      const kind = a.policy.slice("model:".length);
      const ev = world.events;
      const plays = buildCsr(
        { userId: ev.user, itemId: ev.item, rating: Float64Array.from(ev.rating), weight: new Float64Array(ev.length).fill(1), length: ev.length },
        world.users.length,
        world.items.length,
        "binary",
      );
      const model = createModel(kind, {});
      await model.fit(plays, { seed: opts.seed ?? 0 });
      out[a.arm] = { policy: recommenderPolicy(world, model, plays), description: `'${kind}' (default config) fitted on the logged plays` };
    } else throw new InputError(`unknown world policy '${a.policy}' (use logging, genre, oracle or model:<kind>)`);
  }
  return out;
}

/** Runs the A/B/n decision loop: the config's design over `arms`, each arm's policy replayed for `days` (common random numbers). */
export async function runWorldExperiment(world: World, cfg: ExperimentConfig, opts: { arms: readonly WorldArm[]; days: number; seed: number; preDays?: number; name?: string }): Promise<WorldLoopResult> {
  const policies = await worldPolicies(world, opts.arms, { seed: opts.seed });
  return runWorldLoop({ world, spec: abnSpec(cfg, opts.arms, { name: opts.name }), policies, days: opts.days, seed: opts.seed, preDays: opts.preDays ?? cfg.simulate.pre_days });
}

/** Per arm: users, share vs expected share, and each metric's mean. */
export function armRows(a: ExperimentAnalysis): Array<Record<string, unknown>> {
  return a.arms.map((x) => ({ arm: x.arm, users: x.users, share: x.share, expected_share: x.expectedShare, ...Object.fromEntries(Object.entries(x.metrics).map(([m, s]) => [m, s.mean])) }));
}

/** Every treatment-vs-control comparison as a table row (CUPED-adjusted when configured). */
export function comparisonRows(a: ExperimentAnalysis): Array<Record<string, unknown>> {
  return a.comparisons.map((c) => ({
    metric: c.metric,
    arm: c.arm,
    control: c.controlMean,
    treatment: c.treatmentMean,
    effect: c.absolute.estimate,
    ci_lower: c.absolute.ci[0],
    ci_upper: c.absolute.ci[1],
    lift: c.relative?.estimate ?? null,
    p_adjusted: c.absolute.pAdjusted,
    significant: c.absolute.significant,
    cuped_variance_reduction: c.cuped?.varianceReduction ?? null,
    chance_to_beat_control: c.bayes.chanceToBeatControl,
  }));
}

/** Relative lifts with intervals: one panel per metric, one row per treatment arm. */
export function effectsFigure(a: ExperimentAnalysis, opts: { title?: string } = {}): Figure {
  const metrics = [...new Set(a.comparisons.map((c) => c.metric))];
  const panels: IntervalPanel[] = metrics.map((metric) => ({
    title: metric,
    reference: 0,
    tickformat: ".0%",
    rows: a.comparisons
      .filter((c) => c.metric === metric && c.relative)
      .map((c) => ({ label: c.arm, estimate: c.relative!.estimate, lower: c.relative!.ci[0], upper: c.relative!.ci[1] })),
  }));
  return intervalPanelsFigure(panels, { title: opts.title ?? `A/B/n: relative lift over '${a.spec.control}' with 95% intervals (${a.users} users)`, columns: Math.min(4, panels.length) });
}

/** Engine estimate beside the true effect, per (arm, metric). */
export function truthRows(loop: WorldLoopResult): Array<Record<string, unknown>> {
  return loop.truth.map((t) => ({ arm: t.arm, metric: t.metric, estimate: t.estimate, ci_lower: t.ci[0], ci_upper: t.ci[1], true_effect: t.trueEffect, true_lift: t.trueRelativeEffect, enrolled_sample_effect: t.sampleEffect, significant: t.significant, covered: t.covered }));
}

/** The engine's decision per arm beside the decision the truth implies. */
export function decisionRows(loop: WorldLoopResult): Array<Record<string, unknown>> {
  return loop.decisions.map((d) => ({ arm: d.arm, engine: d.engine, truth: d.truth, agrees: d.agrees, true_incremental_revenue: d.trueIncrementalRevenue, cost: d.cost, summary: d.engineSummary }));
}

/** Absolute effect estimates with intervals and the true effects (diamonds), one panel per metric. */
export function truthFigure(loop: WorldLoopResult, opts: { title?: string } = {}): Figure {
  const metrics = [...new Set(loop.truth.map((t) => t.metric))];
  const panels: IntervalPanel[] = metrics.map((metric) => {
    const ts = loop.truth.filter((t) => t.metric === metric);
    return {
      title: metric,
      reference: 0,
      rows: ts.map((t) => ({ label: t.arm, estimate: t.estimate, lower: t.ci[0], upper: t.ci[1] })),
      markers: { name: "true effect (all users, counterfactual replays)", values: Object.fromEntries(ts.map((t) => [t.arm, t.trueEffect])) },
    };
  });
  const covered = loop.truth.filter((t) => t.covered).length;
  return intervalPanelsFigure(panels, {
    title: opts.title ?? `Engine estimates vs truth in the synthetic world (${covered}/${loop.truth.length} intervals cover the true effect)`,
    columns: Math.min(4, panels.length),
  });
}

/** The recordable summary of a world loop (no per-user table). */
export function worldLoopRecord(loop: WorldLoopResult): Record<string, unknown> {
  return {
    settings: loop.settings,
    srm: { p: loop.analysis.srm.pValue, mismatch: loop.analysis.srm.mismatch },
    overall: loop.analysis.overall,
    replays: loop.replays,
    truth: loop.truth,
    decisions: loop.decisions.map((d) => ({ arm: d.arm, engine: d.engine, truth: d.truth, agrees: d.agrees, trueIncrementalRevenue: d.trueIncrementalRevenue, cost: d.cost })),
    coverage: { covered: loop.truth.filter((t) => t.covered).length, rows: loop.truth.length },
    agreement: { agree: loop.decisions.filter((d) => d.agrees).length, decisions: loop.decisions.length },
  };
}

/** The notebook's headline numbers (flat, for the experiments index). */
export function experimentHeadline(parts: {
  world: { summary: { users: number; items: number } };
  days?: number;
  aa: AaResult;
  peek: Pick<PeekingResult, "fixedHorizon" | "naivePeeking" | "sequentialPeeking" | "looks">;
  powerSim: Pick<PowerSimResult, "maxAbsDifference" | "runs">;
  loop: WorldLoopResult;
}): Record<string, unknown> {
  const { world, aa, peek, powerSim, loop } = parts;
  const out: Record<string, unknown> = { world_users: world.summary.users, world_items: world.summary.items };
  if (parts.days !== undefined) out.world_days = parts.days;
  out.aa_runs = aa.runs;
  for (const [metric, m] of Object.entries(aa.metrics)) out[`aa_false_positive_${metric}`] = m.rate;
  out.peeking_looks = peek.looks;
  out.peeking_fixed_horizon = peek.fixedHorizon.rate;
  out.peeking_naive = peek.naivePeeking.rate;
  out.peeking_sequential = peek.sequentialPeeking.rate;
  out.power_sim_runs = powerSim.runs;
  out.power_sim_max_abs_difference = powerSim.maxAbsDifference;
  out.abn_srm_p = loop.analysis.srm.pValue;
  out.abn_decision = `${loop.analysis.overall.decision} '${loop.analysis.overall.arm}'`;
  out.truth_intervals_covering = `${loop.truth.filter((t) => t.covered).length}/${loop.truth.length}`;
  out.decisions_agreeing_with_truth = `${loop.decisions.filter((d) => d.agrees).length}/${loop.decisions.length}`;
  return out;
}

// ---- 06: committed simulation results ----------------------------------------------------------------

/** A rejection rate as the committed files store it. */
export interface CommittedRate {
  rate: number;
  rejections: number;
  runs: number;
  ci95: [number, number];
}

/** The parts of experiment_aa.json the notebook shows. */
export interface CommittedAa {
  fixedHorizon?: { users: number; runs: number; alpha: number; metrics: Record<string, CommittedRate & { pValueDeciles: number[] }> };
  peeking?: { plays?: PeekingResult; revenue?: PeekingResult };
  worldAA?: { runs: number; users: number; metrics: Record<string, CommittedRate> };
}

/** The parts of experiment_power.json the notebook shows. */
export interface CommittedPower {
  maxAbsDifference: number;
  within3pp: boolean;
  plays?: PowerSimResult;
  revenue?: PowerSimResult;
}

/** The parts of experiment_world_loop.json the notebook shows. */
export interface CommittedWorldLoop {
  world?: { users: number; items: number; days: number };
  replayDays?: number;
  arms?: Record<string, string>;
  runs?: unknown[];
  coverage?: { covered: number; rows: number };
  decisionAgreement?: { agree: number; decisions: number };
}

/** The full-size simulation results committed under experiments/results (any may be missing). */
export interface CommittedExperimentResults {
  dir: string;
  aa: CommittedAa | null;
  power: CommittedPower | null;
  worldLoop: CommittedWorldLoop | null;
}

/** Reads experiment_aa.json, experiment_power.json and experiment_world_loop.json (written by scripts/experiment-simulations.ts). */
export function readCommittedExperimentResults(dir: string = path.join(NTG_REPO_ROOT, "experiments", "results")): CommittedExperimentResults {
  const read = <T>(f: string): T | null => {
    const p = path.join(dir, f);
    return fs.existsSync(p) ? (JSON.parse(fs.readFileSync(p, "utf8")) as T) : null;
  };
  return { dir, aa: read<CommittedAa>("experiment_aa.json"), power: read<CommittedPower>("experiment_power.json"), worldLoop: read<CommittedWorldLoop>("experiment_world_loop.json") };
}

/** The committed headline checks as rows: A/A rates, peeking, world A/A, power agreement, world-loop coverage and decisions. */
export function committedSummaryRows(c: CommittedExperimentResults): Array<{ check: string; value: string | number; detail: string }> {
  const rows: Array<{ check: string; value: string | number; detail: string }> = [];
  const fmtRate = (r: { rate: number; ci95: [number, number] }) => `${r.rate.toFixed(4)} [${r.ci95[0].toFixed(4)}, ${r.ci95[1].toFixed(4)}]`;
  if (c.aa) {
    const fh = c.aa.fixedHorizon;
    for (const [m, r] of Object.entries(fh?.metrics ?? {})) {
      rows.push({ check: `A/A false-positive rate: ${m}`, value: r.rate, detail: `${fmtRate(r)}, ${r.runs} runs, ${fh?.users} users` });
    }
    for (const panel of ["plays", "revenue"] as const) {
      const p = c.aa.peeking?.[panel];
      if (!p) continue;
      rows.push({ check: `peeking (${panel}): naive`, value: p.naivePeeking.rate, detail: `${fmtRate(p.naivePeeking)}, ${p.looks} looks, ${p.runs} runs` });
      rows.push({ check: `peeking (${panel}): always-valid`, value: p.sequentialPeeking.rate, detail: fmtRate(p.sequentialPeeking) });
    }
    for (const [m, r] of Object.entries(c.aa.worldAA?.metrics ?? {})) {
      rows.push({ check: `world A/A (fresh replays): ${m}`, value: r.rate, detail: `${fmtRate(r)}, ${r.runs} runs` });
    }
  }
  if (c.power) rows.push({ check: "power: max |simulated − analytic|", value: c.power.maxAbsDifference, detail: `within 3 points: ${String(c.power.within3pp)}` });
  if (c.worldLoop) {
    rows.push({ check: "world loop: intervals covering the truth", value: `${c.worldLoop.coverage?.covered}/${c.worldLoop.coverage?.rows}`, detail: `${c.worldLoop.runs?.length ?? 0} replications, ${c.worldLoop.world?.users} users, ${c.worldLoop.replayDays} days` });
    rows.push({ check: "world loop: engine decision = truth", value: `${c.worldLoop.decisionAgreement?.agree}/${c.worldLoop.decisionAgreement?.decisions}`, detail: Object.keys(c.worldLoop.arms ?? {}).join(", ") });
  }
  return rows;
}
