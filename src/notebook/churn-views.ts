/**
 * Notebook views of churn, lifetime value and revenue at risk (04_churn_ltv): run the pipeline up
 * to `score-users`, read back what the stage wrote (metrics, radar, plan), recompute the labels at
 * the protocol's cutoffs, fit BG/NBD and Gamma-Gamma on a CDNOW-format transaction file (or a
 * seeded synthetic one), and turn all of it into table rows and figures.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { validateChurnConfig, type ChurnConfig } from "../churn/config";
import { loadChurnData, type ChurnData } from "../churn/data";
import { labelsAt, populationAt } from "../churn/labels";
import { iso, planProtocol, type ChurnProtocol } from "../churn/model";
import { TIERS } from "../churn/risk";
import { churnOutputs } from "../churn/score-users";
import { parquet, withDuck } from "../data/duck";
import { barChart, groupedBarChart, heatmap, lineChart, mergeLayout, NTG_COLORS, reliabilityDiagram, type Figure } from "../plot/figure";
import { writeFileAtomic } from "../util/atomic";
import { NtgError } from "../util/errors";
import { Rng } from "../util/rng";
import { bgNbdConditionalExpected, bgNbdExpectedPurchasesNew, bgNbdProbabilityAlive, fitBgNbd, type BgNbdFit, type BgNbdParams } from "../value/bgnbd";
import { fitGammaGamma, type GammaGammaFit, type GammaGammaParams } from "../value/gamma-gamma";
import { formatDay, parseDay, readCdnowTransactions, rfmSummary, type RfmSummary } from "../value/rfm";
import { prepareDataset, type PipelineTarget, type PrepareDatasetOptions, type PreparedDataset } from "./pipeline";

// ---------------------------------------------------------------------------------------------
// The score-users run

/** Test-cutoff scores of one variant (raw, platt, isotonic, calibrated) as churn_metrics.json stores them. */
export interface ChurnScoreMetrics {
  roc_auc: number;
  pr_auc: number;
  log_loss: number;
  brier: number;
  ece_equal_width: number;
  ece_equal_mass: number;
  mean_predicted: number;
}

/** One reliability curve as churn_metrics.json stores it. */
export interface ChurnCurveJson {
  prob_pred: number[];
  prob_true: number[];
  count: number[];
  edges: number[];
}

/** One model's test report in churn_metrics.json (the fields the notebook reads). */
export interface ChurnModelReport {
  name: string;
  calibration: string;
  calibration_cutoff_roc_auc: number;
  raw: ChurnScoreMetrics;
  platt: ChurnScoreMetrics;
  isotonic: ChurnScoreMetrics;
  calibrated: ChurnScoreMetrics;
  reliability: Record<"raw" | "calibrated", Record<"equal_width" | "equal_mass", ChurnCurveJson>>;
  coefficients_standardised?: Record<string, number>;
  gain_share?: Record<string, number>;
}

/** The test section of churn_metrics.json. */
export interface ChurnTestReport {
  cutoff: string;
  at_risk: number;
  churned: number;
  base_rate: number | null;
  selected_model?: string;
  models: Record<string, ChurnModelReport> | null;
  selected_confidence_intervals?: Record<string, { estimate: number; lower: number; upper: number; level: number }> | null;
}

/** One row of user_risk.parquet (the columns the radar reads). */
export interface UserRiskRow {
  rank: number;
  user_id: number;
  tier: string;
  plan: string;
  tenure_band: string;
  activity_band: string;
  p_churn: number;
  revenue_at_risk: number | null;
  expected_ltv: number | null;
}

/** One row of intervention_plan.parquet. */
export interface InterventionPlanRow {
  priority: number;
  user_id: number;
  action: string;
  group: string;
  cost: number;
  expected_saved: number;
  saved_lower: number | null;
  saved_upper: number | null;
  net_value: number;
  roi: number;
  p_churn: number;
  revenue_at_risk: number;
}

/** A prepared churn run: the dataset, the stage's outputs read back, and the data as the protocol sees it. */
export interface ChurnRunView {
  ds: PreparedDataset;
  cfg: ChurnConfig;
  /** churn data after `as_of` (what the stage's protocol reads) */
  data: ChurnData;
  protocol: ChurnProtocol;
  /** outputs/reports/churn_metrics.json */
  metrics: { label: Record<string, unknown>; protocol: Record<string, unknown>; features: string[]; test: ChurnTestReport; warnings: string[] };
  /** outputs/reports/revenue_risk_summary.json */
  summary: Record<string, unknown>;
  userRisk: UserRiskRow[];
  plan: InterventionPlanRow[];
  files: ReturnType<typeof churnOutputs>;
}

/**
 * Runs the pipeline up to `score-users` (fresh stages are skipped), reads the stage's reports and
 * tables back, and loads the churn data again so labels can be shown per cutoff.
 */
export async function prepareChurnRun(config: string, opts: Omit<PrepareDatasetOptions, "target"> = {}): Promise<ChurnRunView> {
  // prepareDataset's target type predates the churn stage; the stage runner accepts any stage name.
  const ds = await prepareDataset(config, { ...opts, target: "score-users" as PipelineTarget });
  const cfg = validateChurnConfig(ds.loaded.config.churn);
  const files = churnOutputs(path.join(ds.runDir, "outputs"));
  const readJson = (f: string) => JSON.parse(fs.readFileSync(f, "utf8")) as Record<string, unknown>;
  const metrics = readJson(files.churnMetrics) as unknown as ChurnRunView["metrics"];
  const summary = readJson(files.revenueRiskSummary);
  const { data0, userRisk, plan } = await withDuck(async (db) => {
    const data0 = await loadChurnData(db, { interactions: ds.files.interactions, users: ds.files.users, revenue: fs.existsSync(ds.files.revenue) ? ds.files.revenue : null });
    const userRisk = await db.rows<UserRiskRow>(
      `SELECT rank, user_id, tier, plan, tenure_band, activity_band, p_churn, revenue_at_risk, expected_ltv FROM ${parquet(files.userRisk)} ORDER BY rank`,
    );
    const plan = await db.rows<InterventionPlanRow>(`SELECT * FROM ${parquet(files.interventionPlan)} ORDER BY priority, user_id`);
    return { data0, userRisk, plan };
  });
  // The same protocol the stage planned (a pure function of the data and config).
  const { data, protocol } = planProtocol(data0, cfg);
  return { ds, cfg, data, protocol, metrics, summary, userRisk, plan, files };
}

/** Labels at one cutoff of the protocol. */
// A type alias, not an interface: rows must be assignable to showTable's Record<string, unknown>.
export type ChurnLabelRow = {
  cutoff: string;
  /** what the protocol uses the cutoff for */
  role: string;
  /** subscribers (contractual) or recently active users (activity) at the cutoff */
  population: number;
  /** population members whose label window is observed (null at the scoring cutoff: its window lies in the future) */
  at_risk: number | null;
  churned: number | null;
  churn_rate: number | null;
  /** the label reads events up to here */
  labels_until: string | null;
};

/** Population, at-risk and churned counts at every cutoff of the run's protocol, in time order. */
export function churnLabelRows(run: ChurnRunView): ChurnLabelRow[] {
  const p = run.protocol;
  const roles = new Map<number, string[]>();
  const add = (t: number, role: string) => {
    const r = roles.get(t) ?? [];
    if (!r.includes(role)) r.push(role);
    roles.set(t, r);
  };
  const twoFits = p.scoreAt === "now";
  for (const t of p.evaluation.train) add(t, twoFits ? "train (evaluation fit)" : "train");
  add(p.evaluation.calibration, twoFits ? "calibration (evaluation fit)" : "calibration");
  add(p.testCutoff, "test");
  if (twoFits) {
    for (const t of p.scoring.train) add(t, "train (scoring fit)");
    add(p.scoring.calibration, "calibration (scoring fit)");
  }
  add(p.scoreCutoff, "scored");
  return [...roles.keys()]
    .sort((a, b) => a - b)
    .map((t) => {
      const role = (roles.get(t) as string[]).join(" + ");
      // The scoring cutoff of score_at "now" is the data's end: its label window has not happened yet.
      if (t + p.horizon > run.data.dataEnd) {
        let pop = 0;
        for (const v of populationAt(run.data, t, p.spec)) pop += v;
        return { cutoff: iso(t), role, population: pop, at_risk: null, churned: null, churn_rate: null, labels_until: null };
      }
      const l = labelsAt(run.data, t, p.spec);
      return {
        cutoff: iso(t),
        role,
        population: l.nPopulation,
        at_risk: l.nAtRisk,
        churned: l.nChurned,
        churn_rate: l.nAtRisk ? l.nChurned / l.nAtRisk : null,
        labels_until: iso(l.observedUntil),
      };
    });
}

/** The label definition of the run in words (Markdown). */
export function churnLabelDefinition(run: ChurnRunView): string {
  const s = run.protocol.spec;
  const lines =
    s.kind === "contractual"
      ? [
          `**Contractual churn label** (monthly subscriptions, window W = ${s.windowDays} days, grace ${s.graceDays} days).`,
          `At a cutoff t0 a user is a *subscriber* when the next due date of their last payment (one calendar month later) is after t0;`,
          `a subscriber is *at risk* when a renewal falls due in (t0, t0 + ${s.windowDays}d], and has *churned* when such a renewal is not paid`,
          `within ${s.graceDays} days of its due date. The label reads (t0, t0 + ${s.windowDays + s.graceDays}d]; features read only ≤ t0.`,
        ]
      : [
          `**Activity churn label** (window W = ${s.windowDays} days, look-back ${s.lookbackDays} days).`,
          `At a cutoff t0 a user is *at risk* when they had an event in (t0 − ${s.lookbackDays}d, t0], and has *churned* when they have no event`,
          `in (t0, t0 + ${s.windowDays}d]. The label reads (t0, t0 + ${s.windowDays}d]; features read only ≤ t0.`,
        ];
  const p = run.protocol;
  lines.push(
    "",
    `Protocol: training cutoffs ${p.evaluation.train.map((t) => iso(t).slice(0, 10)).join(", ")}, calibration ${iso(p.evaluation.calibration).slice(0, 10)}, ` +
      `test ${iso(p.testCutoff).slice(0, 10)}; users scored at ${iso(p.scoreCutoff).slice(0, 10)} (score_at: ${p.scoreAt}).`,
  );
  return lines.join("\n");
}

/** Stacked bars of renewed vs churned at-risk users per labelled cutoff. */
export function churnLabelFigure(rows: ChurnLabelRow[], kind: string): Figure {
  const lab = rows.filter((r) => r.at_risk !== null);
  const cats = lab.map((r) => r.cutoff.slice(0, 10));
  const fig = groupedBarChart(
    cats,
    [
      { name: kind === "contractual" ? "renewed" : "stayed active", values: lab.map((r) => (r.at_risk as number) - (r.churned as number)) },
      { name: "churned", values: lab.map((r) => r.churned as number) },
    ],
    { mode: "stack", title: `At-risk users per cutoff (${kind} label)`, xTitle: "cutoff t0", yTitle: "users at risk" },
  );
  // Churn rates as bar labels: the rate is the point, the stack shows the volume behind it.
  fig.data[1].text = lab.map((r) => (r.churn_rate === null ? "" : `${(100 * r.churn_rate).toFixed(1)}%`));
  fig.data[1].textposition = "outside";
  return fig;
}

function testModels(run: ChurnRunView): Record<string, ChurnModelReport> {
  const m = run.metrics.test.models;
  if (!m) throw new NtgError(`churn metrics: the test cutoff ${run.metrics.test.cutoff} has a single class (${run.metrics.test.churned} churned of ${run.metrics.test.at_risk}); no model metrics to show`);
  return m;
}

/** The model the evaluation fit selected (its calibrated scores are what the metrics describe). */
export function churnSelectedModel(run: ChurnRunView): ChurnModelReport {
  const models = testModels(run);
  const name = run.metrics.test.selected_model ?? Object.keys(models)[0];
  return models[name];
}

/** LR vs GBDT on the test cutoff (calibrated scores), one row per model. */
export function churnModelRows(run: ChurnRunView): Array<Record<string, unknown>> {
  const sel = run.metrics.test.selected_model;
  return Object.values(testModels(run)).map((m) => ({
    model: m.name,
    selected: m.name === sel ? "yes" : "",
    calibration: m.calibration,
    calibration_cutoff_auc: m.calibration_cutoff_roc_auc,
    roc_auc: m.calibrated.roc_auc,
    pr_auc: m.calibrated.pr_auc,
    log_loss: m.calibrated.log_loss,
    brier: m.calibrated.brier,
    ece_equal_width: m.calibrated.ece_equal_width,
    ece_equal_mass: m.calibrated.ece_equal_mass,
    mean_predicted: m.calibrated.mean_predicted,
  }));
}

/** Horizontal bars of the logistic model's standardised coefficients, largest |β| on top, coloured by sign. */
export function churnCoefficientFigure(run: ChurnRunView, opts: { top?: number } = {}): Figure {
  const lr = testModels(run).logistic;
  if (!lr?.coefficients_standardised) throw new NtgError("churn metrics: no logistic model in the test report");
  const entries = Object.entries(lr.coefficients_standardised)
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]) || (a[0] < b[0] ? -1 : 1))
    .slice(0, opts.top ?? 30);
  const fig = barChart(
    entries.map((e) => e[0]),
    entries.map((e) => e[1]),
    {
      horizontal: true,
      title: "Logistic regression: coefficients on standardised features (evaluation fit)",
      xTitle: "log-odds of churn per standard deviation",
      layout: { height: Math.max(420, 90 + 20 * entries.length), margin: { l: 190 } },
    },
  );
  fig.data[0].marker = { color: entries.map((e) => (e[1] > 0 ? NTG_COLORS[1] : NTG_COLORS[0])) };
  fig.data[0].hovertemplate = "%{y}: %{x:.3f}<extra></extra>";
  return fig;
}

/** ECE (equal-width and equal-mass bins), log loss and Brier score of every model before and after calibration. */
export function churnCalibrationRows(run: ChurnRunView): Array<Record<string, unknown>> {
  const rows: Array<Record<string, unknown>> = [];
  for (const m of Object.values(testModels(run))) {
    for (const v of ["raw", "platt", "isotonic", "calibrated"] as const) {
      const s = m[v];
      rows.push({
        model: m.name,
        scores: v === "calibrated" ? `calibrated (${m.calibration}, chosen)` : v,
        ece_equal_width: s.ece_equal_width,
        ece_equal_mass: s.ece_equal_mass,
        log_loss: s.log_loss,
        brier: s.brier,
        mean_predicted: s.mean_predicted,
      });
    }
  }
  return rows;
}

/**
 * Reliability diagram of one model's test scores before and after calibration, for equal-width or
 * equal-mass bins. Axes are zoomed to the populated range: churn probabilities sit far below 1.
 */
export function churnReliabilityFigure(run: ChurnRunView, strategy: "equal-width" | "equal-mass", model?: string): Figure {
  const m = model ? testModels(run)[model] : churnSelectedModel(run);
  if (!m) throw new NtgError(`churn metrics: no model '${model}' in the test report`);
  const key = strategy === "equal-width" ? "equal_width" : "equal_mass";
  const raw = m.reliability.raw[key];
  const cal = m.reliability.calibrated[key];
  const eceKey = strategy === "equal-width" ? "ece_equal_width" : "ece_equal_mass";
  const fig = reliabilityDiagram(
    { probPred: cal.prob_pred, probTrue: cal.prob_true },
    {
      name: `${m.name}, calibrated (${m.calibration})`,
      ece: m.calibrated[eceKey],
      title: `Reliability on the test cutoff, ${strategy} bins (${m.name})`,
    },
  );
  fig.data[1].text = cal.count.map((c) => `${c} users`);
  fig.data.push({
    type: "scatter",
    mode: "lines+markers",
    name: `${m.name}, raw (ECE = ${m.raw[eceKey].toFixed(3)})`,
    x: raw.prob_pred,
    y: raw.prob_true,
    text: raw.count.map((c) => `${c} users`),
    line: { color: NTG_COLORS[1], width: 2, dash: "dot" },
    marker: { size: 7, symbol: "square" },
  });
  let hi = 0;
  for (const c of [raw, cal]) for (const v of [...c.prob_pred, ...c.prob_true]) if (Number.isFinite(v)) hi = Math.max(hi, v);
  const top = Math.min(1, Math.max(0.05, hi * 1.1));
  fig.layout = mergeLayout(fig.layout, { xaxis: { range: [0, top] }, yaxis: { range: [0, top] } });
  return fig;
}

/** Revenue-at-risk totals by tier (with the draw-based intervals the stage computed). */
export function revenueRiskTierRows(run: ChurnRunView): Array<Record<string, unknown>> {
  const radar = run.summary.radar as { by_tier: Array<Record<string, unknown>>; total: Record<string, unknown> };
  const pick = (r: Record<string, unknown>) => ({
    tier: r.segment,
    users: r.users,
    mean_p_churn: r.mean_p_churn,
    expected_churners: r.expected_churners,
    revenue_at_risk: r.revenue_at_risk,
    rar_lower: r.revenue_at_risk_lower,
    rar_upper: r.revenue_at_risk_upper,
    expected_ltv: r.expected_ltv,
    legacy_ltv: r.legacy_ltv,
  });
  return [...radar.by_tier.map(pick), pick(radar.total)];
}

/** Segment columns of user_risk.parquet the radar can split tiers by. */
export type RiskSegment = "plan" | "tenure_band" | "activity_band";

/**
 * Stacked bars: risk tiers (most urgent first) × a segment, summing revenue at risk, or expected
 * churners when the run has no revenue data to value users with.
 */
export function revenueRiskFigure(run: ChurnRunView, segment: RiskSegment = "plan"): Figure {
  const valued = run.userRisk.some((r) => r.revenue_at_risk !== null && Number.isFinite(r.revenue_at_risk));
  const segs = [...new Set(run.userRisk.map((r) => r[segment]))].sort(bandSort);
  const tiers = TIERS.filter((t) => run.userRisk.some((r) => r.tier === t));
  const series = segs.map((s) => ({
    name: s,
    values: tiers.map((t) => {
      let v = 0;
      for (const r of run.userRisk) if (r.tier === t && r[segment] === s) v += valued ? (r.revenue_at_risk ?? 0) : r.p_churn;
      return v;
    }),
  }));
  const what = valued ? "revenue at risk" : "expected churners";
  const label = segment.replace("_", " ");
  return groupedBarChart(tiers, series, {
    mode: "stack",
    title: `Revenue-at-risk radar: ${what} by tier and ${label}`,
    xTitle: "risk tier (p_churn thresholds)",
    yTitle: valued ? "revenue at risk over the value horizon" : "expected churners",
    layout: { legend: { title: { text: label } } },
  });
}

/** Sorts band labels numerically ("<90d" < "90-365d" < ">=730d"), anything else alphabetically. */
function bandSort(a: string, b: string): number {
  const key = (s: string) => {
    const m = /^(<|>=)?(\d+(?:\.\d+)?)/.exec(s);
    if (!m) return NaN;
    return Number(m[2]) + (m[1] === "<" ? -0.5 : m[1] === ">=" ? 0.5 : 0);
  };
  const ka = key(a);
  const kb = key(b);
  if (Number.isFinite(ka) && Number.isFinite(kb) && ka !== kb) return ka - kb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The first `top` rows of the intervention plan in selection order. */
export function interventionRows(run: ChurnRunView, top = 15): Array<Record<string, unknown>> {
  return run.plan.slice(0, top).map((r) => ({
    priority: r.priority,
    user_id: r.user_id,
    action: r.action,
    group: r.group,
    p_churn: r.p_churn,
    revenue_at_risk: r.revenue_at_risk,
    cost: r.cost,
    expected_saved: r.expected_saved,
    saved_interval: r.saved_lower === null || r.saved_upper === null ? "" : `${r.saved_lower.toFixed(2)} – ${r.saved_upper.toFixed(2)}`,
    net_value: r.net_value,
    roi: r.roi,
  }));
}

/** The plan's summary: budget, users, spend, expected net value and its interval, per-action gates. */
export function interventionSummary(run: ChurnRunView): Record<string, unknown> {
  const i = run.summary.interventions as Record<string, unknown>;
  if (!i || i.enabled !== true) return { enabled: false, reason: (i?.reason as string) ?? "interventions disabled in the config" };
  const ci = i.expected_net_value_interval as { lower: number; upper: number; level: number } | undefined;
  return {
    budget: i.budget,
    min_roi: i.min_roi,
    planned_users: i.planned_users,
    treatment_users: i.treatment_users,
    holdout_users: i.holdout_users,
    spent_on_treatment: i.spent_on_treatment,
    expected_saved_revenue: i.expected_saved_revenue,
    expected_net_value: i.expected_net_value,
    expected_net_value_lower: ci?.lower ?? null,
    expected_net_value_upper: ci?.upper ?? null,
    expected_roi: i.expected_roi,
  };
}

// ---------------------------------------------------------------------------------------------
// BG/NBD and Gamma-Gamma on CDNOW-format transactions

/**
 * Published CDNOW-sample fits: BG/NBD from Fader, Hardie & Lee (2005, "Counting your customers the
 * easy way", weeks, 2,357 customers, calibration to 1997-09-30) and Gamma-Gamma (p, q, γ) on the
 * 946 repeat buyers as reproduced by the lifetimes library's tests.
 */
export const CDNOW_PUBLISHED: { bgnbd: BgNbdParams & { log_likelihood: number }; gammaGamma: GammaGammaParams } = {
  bgnbd: { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, log_likelihood: -9582.4 },
  gammaGamma: { p: 6.25, q: 3.74, v: 15.44 },
};

/** The CDNOW study period: cohort of first purchases in Q1 1997, calibration to 1997-09-30, hold-out to 1998-06-30. */
export const CDNOW_PERIOD = { cohortStart: "1997-01-01", cohortEnd: "1997-03-31", calibrationEnd: "1997-09-30", holdoutEnd: "1998-06-30" } as const;

/** Options for {@link syntheticCdnowText}. */
export interface SyntheticCdnowOptions {
  seed?: number;
  /** customers in the cohort (default 2,357 like the CDNOW sample) */
  customers?: number;
  /** generating BG/NBD parameters, weeks (default the published CDNOW fit) */
  bgnbd?: BgNbdParams;
  /** generating Gamma-Gamma parameters (default the published CDNOW fit) */
  gammaGamma?: GammaGammaParams;
}

/**
 * A CDNOW-format transaction file drawn from the BG/NBD and Gamma-Gamma stories: first purchases
 * uniform over Q1 1997; purchase rate λ ~ gamma(r, α) per week and dropout p ~ beta(a, b) per
 * customer; exponential gaps; after each repeat purchase the customer leaves with probability p;
 * each purchase's value ~ gamma(p, ν) with ν ~ gamma(q, γ) per customer; observed to 1998-06-30.
 * Same seed, same bytes.
 */
export function syntheticCdnowText(opts: SyntheticCdnowOptions = {}): string {
  const bg = opts.bgnbd ?? CDNOW_PUBLISHED.bgnbd;
  const gg = opts.gammaGamma ?? CDNOW_PUBLISHED.gammaGamma;
  const n = opts.customers ?? 2357;
  const rng = new Rng(`cdnow-synthetic-${opts.seed ?? 42}`);
  const start = parseDay(CDNOW_PERIOD.cohortStart);
  const cohortDays = parseDay(CDNOW_PERIOD.cohortEnd) - start + 1;
  const end = parseDay(CDNOW_PERIOD.holdoutEnd);
  const lines: string[] = [];
  const line = (id: number, day: number, amount: number) => {
    // Value as dollars and cents; never 0.00, which the Gamma-Gamma model cannot hold.
    const v = Math.max(0.01, Math.round(amount * 100) / 100);
    const cds = Math.max(1, Math.round(v / 15));
    lines.push(` ${String(id).padStart(5, "0")} ${String(id).padStart(4, "0")} ${formatDay(day).replace(/-/g, "")} ${String(cds).padStart(2)} ${v.toFixed(2).padStart(7)}`);
  };
  for (let i = 1; i <= n; i++) {
    const c = rng.fork(i);
    const first = start + c.int(cohortDays);
    const lambda = c.gamma(bg.r, 1 / bg.alpha);
    const drop = c.beta(bg.a, bg.b);
    const nu = c.gamma(gg.q, 1 / gg.v);
    const spend = () => c.gamma(gg.p, 1 / nu);
    line(i, first, spend());
    let t = 0;
    for (;;) {
      if (!(lambda > 0)) break;
      t += c.exponential(lambda);
      const day = first + Math.floor(t * 7);
      if (day > end) break;
      line(i, day, spend());
      if (c.bernoulli(drop)) break;
    }
  }
  return `${lines.join("\n")}\n`;
}

/** A CDNOW-format transaction file and where it came from. */
export interface CdnowSample {
  file: string;
  source: "synthetic" | "file";
  /** for results: the file's base name, or the synthetic recipe (no absolute paths, so results stay comparable) */
  description: string;
  /** generating parameters of a synthetic sample (null for a real file) */
  truth: { bgnbd: BgNbdParams; gammaGamma: GammaGammaParams } | null;
}

/**
 * The notebook's `cdnow` parameter as a sample: a path (relative to the working directory) to a
 * CDNOW-format file, or "" for a synthetic sample written to the temp directory.
 */
export function cdnowSample(file: string, opts: SyntheticCdnowOptions = {}): CdnowSample {
  if (file) {
    if (!fs.existsSync(file)) throw new NtgError(`cdnow: no such file ${path.resolve(file)}`);
    return { file, source: "file", description: path.basename(file), truth: null };
  }
  const seed = opts.seed ?? 42;
  const n = opts.customers ?? 2357;
  const out = path.join(os.tmpdir(), "ntg-cdnow-synthetic", `cdnow_synthetic_seed${seed}_n${n}.txt`);
  // Same content for the same seed, so concurrent runs may share the file; atomic writes keep it whole.
  writeFileAtomic(out, syntheticCdnowText(opts));
  return {
    file: out,
    source: "synthetic",
    description: `synthetic CDNOW-format sample (${n} customers, seed ${seed}, BG/NBD + Gamma-Gamma at the published CDNOW parameters)`,
    truth: { bgnbd: { ...(opts.bgnbd ?? stripLl(CDNOW_PUBLISHED.bgnbd)) }, gammaGamma: { ...(opts.gammaGamma ?? CDNOW_PUBLISHED.gammaGamma) } },
  };
}

/**
 * Short name of a CDNOW sample for figure titles and results: the file's base name, or
 * "synthetic CDNOW-format sample (seed N)".
 */
export function cdnowDatasetLabel(sample: CdnowSample): string {
  if (sample.source === "file") return sample.description;
  const seed = /seed (\d+)/.exec(sample.description)?.[1];
  return seed === undefined ? "synthetic CDNOW-format sample" : `synthetic CDNOW-format sample (seed ${seed})`;
}

function stripLl(p: BgNbdParams & { log_likelihood: number }): BgNbdParams {
  return { r: p.r, alpha: p.alpha, a: p.a, b: p.b };
}

/** BG/NBD and Gamma-Gamma fitted on a CDNOW-format sample, with what the figures need. */
export interface CdnowFit {
  sample: CdnowSample;
  transactions: number;
  calibrationEnd: string;
  holdoutEnd: string;
  rfm: RfmSummary;
  bgnbd: BgNbdFit;
  gammaGamma: GammaGammaFit;
  /** P(alive) at the calibration end, per customer */
  pAlive: Float64Array;
  /** weekly cumulative repeat purchases of the cohort: observed and BG/NBD-expected */
  tracking: { week: number[]; actual: number[]; expected: number[]; calibrationWeek: number };
  /** hold-out purchases by calibration frequency: observed mean and BG/NBD conditional expectation */
  conditional: { frequency: string[]; customers: number[]; actual: number[]; expected: number[]; holdoutWeeks: number };
  /** observed mean repeat spend and the model's population mean p·γ/(q − 1) */
  spend: { observedMean: number; modelMean: number | null };
}

/**
 * Reads a CDNOW-format file, summarises it per customer (weeks; calibration to 1997-09-30, hold-out
 * to 1998-06-30 by default), and fits BG/NBD and Gamma-Gamma by maximum likelihood.
 */
export function fitCdnow(sample: CdnowSample, opts: { calibrationEnd?: string; holdoutEnd?: string } = {}): CdnowFit {
  const tx = readCdnowTransactions(sample.file);
  const calibrationEnd = opts.calibrationEnd ?? CDNOW_PERIOD.calibrationEnd;
  const holdoutEnd = opts.holdoutEnd ?? CDNOW_PERIOD.holdoutEnd;
  const rfm = rfmSummary(tx, { calibrationEnd, holdoutEnd, timeUnitDays: 7 });
  const bgnbd = fitBgNbd(rfm);
  const gammaGamma = fitGammaGamma(rfm.frequency, rfm.monetary);
  const params = bgnbd.params;
  const pAlive = Float64Array.from(rfm.frequency, (x, i) => bgNbdProbabilityAlive(params, x, rfm.recency[i], rfm.T[i]));

  // Tracking: repeat occasions (distinct purchase days after the first) of the cohort, by week.
  const calDay = parseDay(calibrationEnd);
  const holdDay = parseDay(holdoutEnd);
  const start = rfm.firstDay.reduce((a, v) => Math.min(a, v), Infinity);
  const weeks = Math.ceil((holdDay - start + 1) / 7);
  const inCohort = new Map<number, number>();
  rfm.customer.forEach((c, i) => inCohort.set(c, rfm.firstDay[i]));
  const perWeek = new Float64Array(weeks);
  const seen = new Set<string>();
  for (let k = 0; k < tx.customer.length; k++) {
    const c = tx.customer[k];
    const d = tx.day[k];
    const first = inCohort.get(c);
    if (first === undefined || d <= first || d > holdDay) continue;
    const key = `${c}:${d}`;
    if (seen.has(key)) continue;
    seen.add(key);
    perWeek[Math.floor((d - start) / 7)] += 1;
  }
  // Customers sharing a first-purchase day share E[X(t)]: one evaluation per (day, week).
  const byFirst = new Map<number, number>();
  for (const f of rfm.firstDay) byFirst.set(f, (byFirst.get(f) ?? 0) + 1);
  const week: number[] = [];
  const actual: number[] = [];
  const expected: number[] = [];
  let cum = 0;
  for (let w = 1; w <= weeks; w++) {
    cum += perWeek[w - 1];
    const t = start + 7 * w;
    let e = 0;
    for (const [f, count] of byFirst) if (t > f) e += count * bgNbdExpectedPurchasesNew(params, (t - f) / 7);
    week.push(w);
    actual.push(cum);
    expected.push(e);
  }

  // Conditional expectations over the hold-out, grouped by calibration frequency (7+ pooled).
  const holdoutWeeks = rfm.holdoutLength as number;
  const groups = 8;
  const cnt = new Array<number>(groups).fill(0);
  const act = new Array<number>(groups).fill(0);
  const exp = new Array<number>(groups).fill(0);
  const hold = rfm.holdoutFrequency as Float64Array;
  for (let i = 0; i < rfm.length; i++) {
    const g = Math.min(groups - 1, rfm.frequency[i]);
    cnt[g]++;
    act[g] += hold[i];
    exp[g] += bgNbdConditionalExpected(params, holdoutWeeks, rfm.frequency[i], rfm.recency[i], rfm.T[i]);
  }
  const keep = cnt.map((c, g) => (c > 0 ? g : -1)).filter((g) => g >= 0);

  let spendSum = 0;
  let buyers = 0;
  for (let i = 0; i < rfm.length; i++) {
    if (rfm.frequency[i] > 0) {
      spendSum += rfm.monetary[i];
      buyers++;
    }
  }
  const gp = gammaGamma.params;
  return {
    sample,
    transactions: tx.customer.length,
    calibrationEnd: formatDay(calDay),
    holdoutEnd: formatDay(holdDay),
    rfm,
    bgnbd,
    gammaGamma,
    pAlive,
    tracking: { week, actual, expected, calibrationWeek: (calDay - start + 1) / 7 },
    conditional: {
      frequency: keep.map((g) => (g === groups - 1 ? `${g}+` : String(g))),
      customers: keep.map((g) => cnt[g]),
      actual: keep.map((g) => act[g] / cnt[g]),
      expected: keep.map((g) => exp[g] / cnt[g]),
      holdoutWeeks,
    },
    spend: { observedMean: buyers ? spendSum / buyers : 0, modelMean: gp.q > 1 ? (gp.p * gp.v) / (gp.q - 1) : null },
  };
}

/** Estimates next to the reference values: the generating ones for a synthetic sample, the published ones for a file. */
export function cdnowParameterRows(fit: CdnowFit): Array<Record<string, unknown>> {
  const truth = fit.sample.truth;
  const refBg: Record<string, number> = truth ? { ...truth.bgnbd } : { ...CDNOW_PUBLISHED.bgnbd };
  const refGg: Record<string, number> = truth ? { ...truth.gammaGamma } : { ...CDNOW_PUBLISHED.gammaGamma };
  const reference = truth ? "true (simulated)" : "published (CDNOW sample)";
  const row = (model: string, name: string, est: number, ref: number | undefined) => ({
    model,
    parameter: name,
    estimate: est,
    reference: ref ?? null,
    reference_kind: reference,
    relative_error: ref === undefined ? null : (est - ref) / Math.abs(ref),
  });
  const bg = fit.bgnbd.params;
  const gg = fit.gammaGamma.params;
  const rows = [
    row("BG/NBD", "r", bg.r, refBg.r),
    row("BG/NBD", "α", bg.alpha, refBg.alpha),
    row("BG/NBD", "a", bg.a, refBg.a),
    row("BG/NBD", "b", bg.b, refBg.b),
    row("Gamma-Gamma", "p", gg.p, refGg.p),
    row("Gamma-Gamma", "q", gg.q, refGg.q),
    row("Gamma-Gamma", "γ", gg.v, refGg.v),
  ];
  // Only the real sample has a published log-likelihood to compare with.
  if (!truth) rows.push(row("BG/NBD", "log-likelihood", fit.bgnbd.logLikelihood, CDNOW_PUBLISHED.bgnbd.log_likelihood));
  return rows;
}

/** Fit diagnostics of both models: observations, log-likelihood, convergence. */
export function cdnowFitRows(fit: CdnowFit): Array<Record<string, unknown>> {
  return (
    [
      ["BG/NBD", fit.bgnbd, "customers"],
      ["Gamma-Gamma", fit.gammaGamma, "repeat buyers"],
    ] as const
  ).map(([model, f, unit]) => ({
    model,
    observations: `${f.n} ${unit}`,
    log_likelihood: f.logLikelihood,
    converged: f.converged ? "yes" : "no",
    method: f.method,
    iterations: f.iterations,
    gradient_norm: f.gradientNorm,
  }));
}

/** Cumulative repeat purchases of the cohort by week: observed vs BG/NBD, with the calibration end marked. */
export function cdnowTrackingFigure(fit: CdnowFit): Figure {
  const t = fit.tracking;
  const fig = lineChart(
    [
      { name: "observed", x: t.week, y: t.actual },
      { name: "BG/NBD expected", x: t.week, y: t.expected, dash: "dash" },
    ],
    { title: `Cumulative repeat purchases: observed vs BG/NBD (${cdnowDatasetLabel(fit.sample)})`, xTitle: "week since the cohort start", yTitle: "cumulative repeat purchases" },
  );
  fig.layout = mergeLayout(fig.layout, {
    shapes: [{ type: "line", x0: t.calibrationWeek, x1: t.calibrationWeek, yref: "paper", y0: 0, y1: 1, line: { color: "#868e96", dash: "dot", width: 1.5 } }],
    annotations: [{ x: t.calibrationWeek, yref: "paper", y: 1, text: "end of calibration", showarrow: false, xanchor: "right", yanchor: "top", font: { size: 12, color: "#495057" } }],
    legend: { x: 0.02, xanchor: "left", y: 0.98, yanchor: "top" },
  });
  return fig;
}

/** Mean hold-out purchases by calibration frequency: observed vs BG/NBD conditional expectation. */
export function cdnowConditionalFigure(fit: CdnowFit): Figure {
  const c = fit.conditional;
  const fig = lineChart(
    [
      { name: "observed", x: c.frequency, y: c.actual, markers: true },
      { name: "BG/NBD conditional expectation", x: c.frequency, y: c.expected, markers: true, dash: "dash" },
    ],
    {
      title: `Hold-out purchases (${c.holdoutWeeks} weeks) by calibration-period repeat purchases`,
      xTitle: "repeat purchases in the calibration period",
      yTitle: "mean purchases in the hold-out",
    },
  );
  fig.layout = mergeLayout(fig.layout, { xaxis: { type: "category" }, legend: { x: 0.02, xanchor: "left", y: 0.98, yanchor: "top" } });
  fig.data.forEach((tr) => (tr.text = c.customers.map((n) => `${n} customers`)));
  return fig;
}

/**
 * P(alive) at the calibration end over repeat purchases × recency, for a customer who made the
 * first purchase at the cohort start (the largest T): the further the last purchase lies back,
 * the likelier the customer has left, and the more so the more often they used to buy.
 */
export function cdnowPAliveFigure(fit: CdnowFit, opts: { maxFrequency?: number } = {}): Figure {
  const T = fit.rfm.T.reduce((a, v) => Math.max(a, v), 0);
  const maxX = opts.maxFrequency ?? 20;
  const recency = Array.from({ length: Math.floor(T) + 1 }, (_, k) => k);
  const xs = Array.from({ length: maxX }, (_, k) => maxX - k);
  const z = xs.map((x) => recency.map((tx) => bgNbdProbabilityAlive(fit.bgnbd.params, x, tx, T)));
  return heatmap(z, recency, xs, {
    title: `BG/NBD P(alive) at the end of calibration (T = ${T.toFixed(1)} weeks)`,
    xTitle: "recency: week of the last purchase since the first",
    yTitle: "repeat purchases",
    zTitle: "P(alive)",
    zMin: 0,
    zMax: 1,
    zFormat: ".0%",
  });
}

/** Headline numbers of the CDNOW fits for the results file. */
export function cdnowHeadline(fit: CdnowFit): Record<string, unknown> {
  let alive = 0;
  let below = 0;
  for (const v of fit.pAlive) {
    alive += v;
    if (v < 0.5) below++;
  }
  const n = fit.rfm.length;
  const last = fit.tracking.actual.length - 1;
  return {
    source: fit.sample.source,
    description: fit.sample.description,
    customers: n,
    transactions: fit.transactions,
    repeat_buyers: fit.gammaGamma.n,
    calibration_end: fit.calibrationEnd,
    holdout_end: fit.holdoutEnd,
    bgnbd: { ...fit.bgnbd.params, log_likelihood: fit.bgnbd.logLikelihood, converged: fit.bgnbd.converged, iterations: fit.bgnbd.iterations },
    gamma_gamma: { ...fit.gammaGamma.params, log_likelihood: fit.gammaGamma.logLikelihood, converged: fit.gammaGamma.converged, iterations: fit.gammaGamma.iterations },
    mean_p_alive: n ? alive / n : null,
    share_p_alive_below_half: n ? below / n : null,
    repeat_purchases_observed: fit.tracking.actual[last],
    repeat_purchases_expected: fit.tracking.expected[last],
    mean_repeat_spend_observed: fit.spend.observedMean,
    mean_spend_model: fit.spend.modelMean,
  };
}

// ---------------------------------------------------------------------------------------------
// Headline

/** The notebook's headline numbers (flat, for the experiments index). */
export function churnHeadline(run: ChurnRunView, fit: CdnowFit): Record<string, unknown> {
  const test = run.metrics.test;
  const sel = test.models ? churnSelectedModel(run) : null;
  const total = (run.summary.radar as { total: Record<string, number | null> } | undefined)?.total;
  const plan = interventionSummary(run);
  const value = run.summary.value as { method?: string } | undefined;
  return {
    label: run.protocol.labelKind,
    window_days: run.protocol.spec.windowDays,
    test_at_risk: test.at_risk,
    test_churn_rate: test.base_rate,
    model: sel?.name ?? null,
    calibration: sel?.calibration ?? null,
    test_roc_auc: sel?.calibrated.roc_auc ?? null,
    ece_equal_width_raw: sel?.raw.ece_equal_width ?? null,
    ece_equal_width_calibrated: sel?.calibrated.ece_equal_width ?? null,
    ece_equal_mass_raw: sel?.raw.ece_equal_mass ?? null,
    ece_equal_mass_calibrated: sel?.calibrated.ece_equal_mass ?? null,
    value_model: value?.method ?? null,
    scored_users: run.userRisk.length,
    revenue_at_risk: total?.revenue_at_risk ?? null,
    revenue_at_risk_lower: total?.revenue_at_risk_lower ?? null,
    revenue_at_risk_upper: total?.revenue_at_risk_upper ?? null,
    planned_interventions: (plan.planned_users as number | undefined) ?? 0,
    expected_net_value: (plan.expected_net_value as number | undefined) ?? null,
    churn_dataset: run.ds.name,
    cdnow_source: fit.sample.source,
    cdnow_data: cdnowDatasetLabel(fit.sample),
    bgnbd_r: fit.bgnbd.params.r,
    bgnbd_alpha: fit.bgnbd.params.alpha,
    bgnbd_a: fit.bgnbd.params.a,
    bgnbd_b: fit.bgnbd.params.b,
    bgnbd_log_likelihood: fit.bgnbd.logLikelihood,
    gg_p: fit.gammaGamma.params.p,
    gg_q: fit.gammaGamma.params.q,
    gg_gamma: fit.gammaGamma.params.v,
  };
}
