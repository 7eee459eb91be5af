import { InputError } from "../util/errors";
import { bayesFromEstimate } from "./bayes";
import { cupedFromStats, type CupedArmStats } from "./cuped";
import { decide, type Decision, type GuardrailInput } from "./decision";
import { validateExperimentSpec, type ExperimentSpec, type ResolvedExperimentSpec, type ResolvedMetric } from "./design";
import { proportionTest, ratioSummary, ratioTest, welchTestFromSummaries, type TestResult } from "./frequentist";
import { benjaminiHochberg, holmBonferroni } from "./multiple";
import { sequentialFromEstimate } from "./sequential";
import { srmTest, type SrmResult } from "./srm";
import type { MeanSummary, RatioStats } from "./types";
import { summarizeStats } from "./validate";

/**
 * Full analysis of an experiment from a per-user table: per-arm summaries, SRM, every treatment arm
 * against control on every metric (fixed-horizon, CUPED when a covariate is given, always-valid
 * sequential, Bayesian), a multiple-testing correction across all of those comparisons, and the
 * ROI-gated decision per treatment arm. Pure: same table and design in, same result out.
 */

/** One row per user: arm label and numeric metric/covariate columns (NaN = missing). */
export interface PerUserTable {
  /** arm name per user */
  arm: ArrayLike<string | null>;
  /** user ids, when known: duplicates are rejected (the CLI checks them in SQL instead) */
  user?: ArrayLike<string | number> | null;
  columns: Record<string, ArrayLike<number>>;
  /** where the table came from, for error messages */
  source?: string;
}

/** Per-arm descriptive statistics of one metric. */
export interface ArmMetricSummary {
  n: number;
  /** mean (rate for proportions, Σnum/Σden for ratios) */
  mean: number;
  /** per-user sd (for ratios: √(n·delta-method variance of the ratio)) */
  sd: number;
  /** ratio metrics: mean numerator and denominator per user */
  numeratorMean?: number;
  denominatorMean?: number;
  /** covariate mean, when the metric has one */
  covariateMean?: number;
}

/** Per-arm counts and metric summaries. */
export interface ArmSummary {
  arm: string;
  users: number;
  share: number;
  expectedShare: number;
  metrics: Record<string, ArmMetricSummary>;
}

/** An estimate with interval and (raw and multiplicity-adjusted) p-value. */
export interface EffectSummary {
  estimate: number;
  se: number;
  ci: [number, number];
  pValue: number;
  /** p-value after the design's correction across all (arm, metric) comparisons */
  pAdjusted: number;
  /** pAdjusted < alpha */
  significant: boolean;
}

/** A treatment arm against control on one metric. */
export interface MetricComparison {
  metric: string;
  type: ResolvedMetric["type"];
  arm: string;
  control: string;
  controlMean: number;
  treatmentMean: number;
  test: TestResult["test"];
  /** fixed-horizon absolute effect (CUPED-adjusted when `cuped` is set) */
  absolute: EffectSummary;
  /** relative lift treatment/control − 1 (delta method); null when the control mean is 0 */
  relative: { estimate: number; se: number; ci: [number, number]; pValue: number } | null;
  cuped: {
    covariate: string;
    theta: number;
    /** 1 − Var(adjusted estimate)/Var(unadjusted estimate) */
    varianceReduction: number;
    unadjusted: { estimate: number; se: number; ci: [number, number]; pValue: number };
  } | null;
  /** always-valid (confidence sequence) result, when the design enables sequential monitoring */
  sequential: (EffectSummary & { relativeCi: [number, number] | null; halfWidth: number; rho: number; targetN: number }) | null;
  bayes: {
    posteriorMean: number;
    posteriorSd: number;
    credibleInterval: [number, number];
    chanceToBeatControl: number;
    expectedLoss: { chooseTreatment: number; chooseControl: number };
  };
}

/** The decision for one treatment arm plus the ROI inputs behind it. */
export interface ArmDecision extends Decision {
  arm: string;
  basis: "fixed-horizon" | "sequential";
  expectedIncrementalRevenue: number;
  cost: number;
  population: number;
}

/** Everything the analysis produced; plain data, so it serializes as is. */
export interface ExperimentAnalysis {
  name: string;
  spec: ResolvedExperimentSpec;
  source: string | null;
  users: number;
  arms: ArmSummary[];
  srm: SrmResult;
  comparisons: MetricComparison[];
  decisions: ArmDecision[];
  overall: { decision: "ship" | "roll back" | "keep running"; arm: string | null; summary: string };
  warnings: string[];
  /** readable multi-line summary */
  text: string;
}

/** Per-arm raw sums of one metric. */
interface Sums {
  n: number;
  y: number;
  y2: number;
  // ratio denominators / CUPED covariates
  x: number;
  x2: number;
  xy: number;
}

function emptySums(): Sums {
  return { n: 0, y: 0, y2: 0, x: 0, x2: 0, xy: 0 };
}

function fmt(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return x > 0 ? "∞" : x < 0 ? "−∞" : "NaN";
  if (x !== 0 && (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-4)) return x.toExponential(2);
  return Number(x.toPrecision(digits)).toString();
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** Prefixes a statistics-core error with the metric and arm pair it came from. */
function withContext<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${context}: ${e.reason}`);
    throw e;
  }
}

/** Checks arm labels, user ids and column lengths; returns arm index per row. */
function armIndex(spec: ResolvedExperimentSpec, table: PerUserTable): Int32Array {
  const n = table.arm.length;
  const src = table.source ? `${table.source}: ` : "";
  if (n === 0) throw new InputError(`${src}the per-user table is empty: no users to analyse`);
  const index = new Map(spec.arms.map((a, i) => [a.name, i]));
  const codes = new Int32Array(n);
  const unknown = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const a = table.arm[i];
    const k = a === null || a === undefined ? undefined : index.get(String(a));
    if (k === undefined) {
      const label = a === null || a === undefined || a === "" ? "(missing)" : `'${String(a)}'`;
      unknown.set(label, (unknown.get(label) ?? 0) + 1);
      codes[i] = -1;
    } else codes[i] = k;
  }
  if (unknown.size > 0) {
    const total = [...unknown.values()].reduce((s, c) => s + c, 0);
    const list = [...unknown.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5).map(([l, c]) => `${l} (${c} users)`);
    throw new InputError(`${src}${total} of ${n} users have an arm label that is not in the design: ${list.join(", ")}; design arms: ${spec.arms.map((a) => a.name).join(", ")}`);
  }
  if (table.user) {
    if (table.user.length !== n) throw new InputError(`${src}${n} arm labels but ${table.user.length} user ids`);
    const first = new Map<string, number>();
    const dups: string[] = [];
    let dupCount = 0;
    for (let i = 0; i < n; i++) {
      const id = String(table.user[i]);
      const j = first.get(id);
      if (j === undefined) first.set(id, i);
      else {
        dupCount += 1;
        if (dups.length < 5) dups.push(`'${id}' (arms '${spec.arms[codes[j]].name}' and '${spec.arms[codes[i]].name}')`);
      }
    }
    if (dupCount > 0) {
      throw new InputError(`${src}duplicate assignments: ${dupCount} extra rows for users already in the table, e.g. ${dups.join(", ")}; each user must appear exactly once`);
    }
  }
  for (const [name, col] of Object.entries(table.columns)) {
    if (col.length !== n) throw new InputError(`${src}column '${name}' has ${col.length} values but the table has ${n} users`);
  }
  return codes;
}

function column(table: PerUserTable, name: string, metric: string, role: string): ArrayLike<number> {
  const col = table.columns[name];
  if (!col) {
    throw new InputError(`${table.source ? `${table.source}: ` : ""}metric '${metric}': ${role} column '${name}' is not in the table (columns: ${Object.keys(table.columns).join(", ") || "none"})`);
  }
  return col;
}

/** Rejects missing (NULL/NaN) or non-finite values, counting them per arm. */
function checkComplete(spec: ResolvedExperimentSpec, codes: Int32Array, col: ArrayLike<number>, metric: string, role: string, colName: string, source?: string): void {
  const perArm = new Array<number>(spec.arms.length).fill(0);
  let bad = 0;
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      perArm[codes[i]] += 1;
      bad += 1;
    }
  }
  if (bad > 0) {
    const where = spec.arms.map((a, k) => `'${a.name}': ${perArm[k]}`).join(", ");
    throw new InputError(
      `${source ? `${source}: ` : ""}metric '${metric}': ${role} column '${colName}' is missing (NULL/NaN) for ${bad} of ${col.length} users (${where}); fill the missing values (e.g. 0 when absence means none) or drop those users`,
    );
  }
}

function accumulate(spec: ResolvedExperimentSpec, codes: Int32Array, y: ArrayLike<number>, x: ArrayLike<number> | null): Sums[] {
  const s = spec.arms.map(emptySums);
  for (let i = 0; i < codes.length; i++) {
    const a = s[codes[i]];
    const yi = y[i];
    a.n += 1;
    a.y += yi;
    a.y2 += yi * yi;
    if (x) {
      const xi = x[i];
      a.x += xi;
      a.x2 += xi * xi;
      a.xy += xi * yi;
    }
  }
  return s;
}

function ratioStatsOf(s: Sums): RatioStats {
  return { n: s.n, sumNumerator: s.y, sumNumeratorSquares: s.y2, sumDenominator: s.x, sumDenominatorSquares: s.x2, sumNumeratorDenominator: s.xy };
}

function cupedStatsOf(s: Sums): CupedArmStats {
  return { n: s.n, sumY: s.y, sumY2: s.y2, sumX: s.x, sumX2: s.x2, sumXY: s.xy };
}

interface MetricData {
  metric: ResolvedMetric;
  sums: Sums[];
  summaries: ArmMetricSummary[];
  /** per-arm summaries used by the tests (means/proportions) */
  meanSummaries: MeanSummary[] | null;
}

function metricData(spec: ResolvedExperimentSpec, table: PerUserTable, codes: Int32Array, m: ResolvedMetric): MetricData {
  const src = table.source;
  if (m.type === "ratio") {
    const num = column(table, m.numerator as string, m.name, "numerator");
    const den = column(table, m.denominator as string, m.name, "denominator");
    checkComplete(spec, codes, num, m.name, "numerator", m.numerator as string, src);
    checkComplete(spec, codes, den, m.name, "denominator", m.denominator as string, src);
    const sums = accumulate(spec, codes, num, den);
    const summaries = sums.map((s, k) => {
      const r = withContext(`metric '${m.name}'`, () => ratioSummary(ratioStatsOf(s), spec.arms[k].name));
      return { n: s.n, mean: r.ratio, sd: Math.sqrt(r.varRatio * r.n), numeratorMean: r.meanNumerator, denominatorMean: r.meanDenominator };
    });
    return { metric: m, sums, summaries, meanSummaries: null };
  }
  const y = column(table, m.column as string, m.name, "value");
  checkComplete(spec, codes, y, m.name, "value", m.column as string, src);
  let x: ArrayLike<number> | null = null;
  if (m.covariate) {
    x = column(table, m.covariate, m.name, "covariate");
    checkComplete(spec, codes, x, m.name, "covariate", m.covariate, src);
  }
  if (m.type === "proportion") {
    let bad = 0;
    let example = 0;
    for (let i = 0; i < y.length; i++) {
      if (y[i] !== 0 && y[i] !== 1) {
        if (bad === 0) example = y[i];
        bad += 1;
      }
    }
    if (bad > 0) throw new InputError(`${src ? `${src}: ` : ""}proportion metric '${m.name}': ${bad} users have a value other than 0 or 1 (e.g. ${example}) in column '${m.column}'`);
  }
  const sums = accumulate(spec, codes, y, x);
  const meanSummaries: MeanSummary[] = sums.map((s, k) => {
    const arm = spec.arms[k].name;
    if (m.type === "proportion") {
      const p = s.y / s.n;
      return { n: s.n, mean: p, variance: p * (1 - p) };
    }
    return withContext(`metric '${m.name}'`, () => summarizeStats({ n: s.n, sum: s.y, sumSquares: s.y2 }, arm));
  });
  const summaries = meanSummaries.map((ms, k) => {
    const out: ArmMetricSummary = { n: ms.n, mean: ms.mean, sd: Math.sqrt(ms.variance) };
    if (x) out.covariateMean = sums[k].x / sums[k].n;
    return out;
  });
  return { metric: m, sums, summaries, meanSummaries };
}

interface RawComparison {
  c: Omit<MetricComparison, "absolute" | "sequential"> & { absolute: Omit<EffectSummary, "pAdjusted" | "significant"> };
  relativeSe: number | null;
  n: number;
}

function compare(spec: ResolvedExperimentSpec, d: MetricData, ci: number, ti: number): RawComparison {
  const m = d.metric;
  const control = spec.arms[ci].name;
  const arm = spec.arms[ti].name;
  const ctx = `metric '${m.name}', arm '${arm}' vs control '${control}'`;
  const alpha = spec.alpha;
  let abs: TestResult;
  let rel: TestResult | null = null;
  let cuped: MetricComparison["cuped"] = null;
  const controlMean = d.summaries[ci].mean;
  const treatmentMean = d.summaries[ti].mean;
  if (m.type === "ratio") {
    abs = withContext(ctx, () => ratioTest(ratioStatsOf(d.sums[ci]), ratioStatsOf(d.sums[ti]), { alpha }));
    if (controlMean !== 0) rel = withContext(ctx, () => ratioTest(ratioStatsOf(d.sums[ci]), ratioStatsOf(d.sums[ti]), { alpha, scale: "relative" }));
  } else if (m.covariate) {
    const r = withContext(`${ctx} (CUPED with covariate '${m.covariate}')`, () => cupedFromStats(cupedStatsOf(d.sums[ci]), cupedStatsOf(d.sums[ti]), { alpha }));
    abs = r.adjusted;
    if (controlMean !== 0) rel = welchTestFromSummaries(r.adjusted.control, r.adjusted.treatment, { alpha, scale: "relative" });
    const u = r.unadjusted;
    cuped = { covariate: m.covariate, theta: r.theta, varianceReduction: r.varianceReduction, unadjusted: { estimate: u.estimate, se: u.se, ci: u.ci, pValue: u.pValue } };
  } else if (m.type === "proportion") {
    const cs = { n: d.sums[ci].n, successes: d.sums[ci].y };
    const ts = { n: d.sums[ti].n, successes: d.sums[ti].y };
    abs = withContext(ctx, () => proportionTest(cs, ts, { alpha }));
    if (controlMean !== 0) rel = withContext(ctx, () => proportionTest(cs, ts, { alpha, scale: "relative" }));
  } else {
    const ms = d.meanSummaries as MeanSummary[];
    abs = withContext(ctx, () => welchTestFromSummaries(ms[ci], ms[ti], { alpha }));
    if (controlMean !== 0) rel = withContext(ctx, () => welchTestFromSummaries(ms[ci], ms[ti], { alpha, scale: "relative" }));
  }
  const b = bayesFromEstimate({ estimate: abs.estimate, se: abs.se }, { credibleLevel: spec.credibleLevel, scale: "absolute" });
  return {
    c: {
      metric: m.name,
      type: m.type,
      arm,
      control,
      controlMean,
      treatmentMean,
      test: abs.test,
      absolute: { estimate: abs.estimate, se: abs.se, ci: abs.ci, pValue: abs.pValue },
      relative: rel ? { estimate: rel.estimate, se: rel.se, ci: rel.ci, pValue: rel.pValue } : null,
      cuped,
      bayes: {
        posteriorMean: b.posteriorMean,
        posteriorSd: b.posteriorSd,
        credibleInterval: b.credibleInterval,
        chanceToBeatControl: b.chanceToBeatControl,
        expectedLoss: b.expectedLoss,
      },
    },
    relativeSe: rel ? rel.se : null,
    n: d.sums[ci].n + d.sums[ti].n,
  };
}

function adjust(p: number[], method: ResolvedExperimentSpec["correction"]): number[] {
  if (method === "holm") return holmBonferroni(p);
  if (method === "bh") return benjaminiHochberg(p);
  return [...p];
}

/**
 * Analyses an experiment from a per-user table. Throws `InputError` naming the arm, metric and
 * user counts for: an empty table, unknown arm labels, an arm with zero users, duplicate user
 * rows, missing (NULL/NaN) metric or covariate values, non-0/1 proportion values, zero variance.
 * A sample ratio mismatch does not throw: it is reported and forces "roll back".
 */
export function analyseExperiment(specIn: ExperimentSpec | ResolvedExperimentSpec, table: PerUserTable): ExperimentAnalysis {
  const spec = validateExperimentSpec(specIn);
  const codes = armIndex(spec, table);
  const counts = spec.arms.map(() => 0);
  for (let i = 0; i < codes.length; i++) counts[codes[i]] += 1;
  const countText = spec.arms.map((a, k) => `${a.name}=${counts[k]}`).join(", ");
  spec.arms.forEach((a, k) => {
    if (counts[k] === 0) throw new InputError(`${table.source ? `${table.source}: ` : ""}arm '${a.name}' has zero users (observed: ${countText}); check the arm column and the assignment`);
    if (counts[k] === 1) throw new InputError(`${table.source ? `${table.source}: ` : ""}arm '${a.name}' has a single user (observed: ${countText}); at least 2 are needed to estimate a variance`);
  });
  const users = codes.length;
  const weights = spec.arms.map((a) => a.weight);
  const srm = srmTest(counts, weights, { threshold: spec.srmThreshold });
  const warnings: string[] = [];
  if (srm.mismatch) warnings.push(`sample ratio mismatch (p = ${srm.pValue.toExponential(2)}): ${srm.message}; no metric can be trusted until the assignment is fixed`);

  const data = spec.metrics.map((m) => metricData(spec, table, codes, m));
  const ci = spec.arms.findIndex((a) => a.name === spec.control);
  const treatments = spec.arms.map((_, k) => k).filter((k) => k !== ci);

  const raw: RawComparison[] = [];
  for (const ti of treatments) for (const d of data) raw.push(compare(spec, d, ci, ti));

  // One family: every treatment arm on every metric (A/B/n × metrics).
  const pAdj = adjust(raw.map((r) => r.c.absolute.pValue), spec.correction);
  let seqAdj: number[] = [];
  const seqRaw = spec.sequential.enabled
    ? raw.map((r) => {
        const targetN = spec.sequential.targetN ?? r.n;
        const s = withContext(`metric '${r.c.metric}', arm '${r.c.arm}' (sequential)`, () =>
          sequentialFromEstimate(r.c.absolute.estimate, r.c.absolute.se, r.n, { alpha: spec.alpha, targetN }),
        );
        const rel = r.c.relative && r.relativeSe ? sequentialFromEstimate(r.c.relative.estimate, r.relativeSe, r.n, { alpha: spec.alpha, targetN }) : null;
        return { s, rel, targetN };
      })
    : [];
  if (spec.sequential.enabled) seqAdj = adjust(seqRaw.map((x) => x.s.pValue), spec.correction);

  const comparisons: MetricComparison[] = raw.map((r, i) => {
    const absolute: EffectSummary = { ...r.c.absolute, pAdjusted: pAdj[i], significant: pAdj[i] < spec.alpha };
    let sequential: MetricComparison["sequential"] = null;
    if (spec.sequential.enabled) {
      const { s, rel, targetN } = seqRaw[i];
      sequential = {
        estimate: s.estimate,
        se: s.se,
        ci: s.ci,
        pValue: s.pValue,
        pAdjusted: seqAdj[i],
        significant: seqAdj[i] < spec.alpha,
        relativeCi: rel ? rel.ci : null,
        halfWidth: s.halfWidth,
        rho: s.rho,
        targetN,
      };
    }
    return { ...r.c, absolute, sequential };
  });

  const population = spec.roi.population ?? users;
  const cost = spec.roi.fixedCost + spec.roi.costPerUser * population;
  const decisions: ArmDecision[] = treatments.map((ti) => {
    const arm = spec.arms[ti].name;
    const find = (metric: string): MetricComparison => comparisons.find((c) => c.arm === arm && c.metric === metric) as MetricComparison;
    const basis = spec.sequential.enabled ? "sequential" : "fixed-horizon";
    const pick = (c: MetricComparison, scale: "absolute" | "relative"): { estimate: number; ci: [number, number]; pValue: number } => {
      if (scale === "absolute") {
        const e = c.sequential ?? c.absolute;
        return { estimate: e.estimate, ci: e.ci, pValue: e.pAdjusted };
      }
      if (!c.relative) throw new InputError(`metric '${c.metric}': the control mean is 0, so a relative guardrail tolerance cannot be checked; use scale "absolute"`);
      const relCi = c.sequential ? c.sequential.relativeCi : c.relative.ci;
      if (!relCi) throw new InputError(`metric '${c.metric}': no relative interval available`);
      return { estimate: c.relative.estimate, ci: relCi, pValue: c.sequential ? c.sequential.pAdjusted : c.absolute.pAdjusted };
    };
    const p = pick(find(spec.primary.metric), "absolute");
    const effectForRoi =
      spec.roi.basis === "estimate" ? p.estimate * spec.roi.valuePerUnit : Math.min(p.ci[0] * spec.roi.valuePerUnit, p.ci[1] * spec.roi.valuePerUnit);
    const expectedIncrementalRevenue = effectForRoi * population;
    const guardrails: GuardrailInput[] = spec.guardrails.map((g) => ({
      name: g.scale === "relative" ? `${g.metric} (relative)` : g.metric,
      direction: g.direction,
      tolerance: g.tolerance,
      result: pick(find(g.metric), g.scale),
    }));
    const d = decide({
      primary: { ...p, name: spec.primary.metric, alpha: spec.alpha },
      primaryGoal: spec.primary.goal,
      alpha: spec.alpha,
      guardrails,
      srm: { pValue: srm.pValue, mismatch: srm.mismatch },
      expectedIncrementalRevenue,
      cost,
    });
    return { arm, basis, expectedIncrementalRevenue, cost, population, ...d };
  });

  const overall = overallDecision(decisions);
  const arms: ArmSummary[] = spec.arms.map((a, k) => ({
    arm: a.name,
    users: counts[k],
    share: counts[k] / users,
    expectedShare: a.weight,
    metrics: Object.fromEntries(data.map((d) => [d.metric.name, d.summaries[k]])),
  }));
  for (const c of comparisons) {
    if (c.cuped && c.cuped.varianceReduction < 0) warnings.push(`metric '${c.metric}', arm '${c.arm}': CUPED increased the variance (${pct(c.cuped.varianceReduction)}); the covariate '${c.cuped.covariate}' is not predictive`);
  }
  const analysis: ExperimentAnalysis = { name: spec.name, spec, source: table.source ?? null, users, arms, srm, comparisons, decisions, overall, warnings, text: "" };
  analysis.text = analysisText(analysis);
  return analysis;
}

/** A/B/n: ship the shippable arm with the largest expected net revenue; else keep running if any arm may still win; else roll back. */
function overallDecision(decisions: ArmDecision[]): ExperimentAnalysis["overall"] {
  const ship = decisions.filter((d) => d.decision === "ship").sort((a, b) => b.expectedIncrementalRevenue - b.cost - (a.expectedIncrementalRevenue - a.cost) || (a.arm < b.arm ? -1 : 1));
  if (ship.length > 0) {
    const best = ship[0];
    return { decision: "ship", arm: best.arm, summary: `ship '${best.arm}': ${best.summary.replace(/^ship: /, "")}` };
  }
  const running = decisions.filter((d) => d.decision === "keep running");
  if (running.length > 0) return { decision: "keep running", arm: null, summary: `keep running: ${running.map((d) => `'${d.arm}' (${d.summary.replace(/^keep running: /, "")})`).join("; ")}` };
  return { decision: "roll back", arm: null, summary: `roll back: ${decisions.map((d) => `'${d.arm}' (${d.summary.replace(/^roll back: /, "")})`).join("; ")}` };
}

/** Readable multi-line summary of an analysis (also the body of the Markdown report's summary). */
export function analysisText(a: ExperimentAnalysis): string {
  const s = a.spec;
  const lines: string[] = [];
  lines.push(`Experiment '${a.name}' (key '${s.key}'${s.salt ? `, salt '${s.salt}'` : ""}, ${s.scheme}): ${a.arms.length} arms, ${a.users} users, control '${s.control}'`);
  lines.push(`Arms: ${a.arms.map((x) => `${x.arm} ${x.users} (${pct(x.share)} vs planned ${pct(x.expectedShare)})`).join(", ")}`);
  lines.push(`SRM: ${a.srm.mismatch ? "FAILED" : "passed"} (chi² = ${fmt(a.srm.chiSquare)}, p = ${fmt(a.srm.pValue)}, threshold ${s.srmThreshold})`);
  lines.push(
    `Tests: alpha ${s.alpha}, ${s.correction === "none" ? "no multiplicity correction" : `${s.correction === "holm" ? "Holm" : "Benjamini–Hochberg"} across ${a.comparisons.length} (arm, metric) comparisons`}, ${s.sequential.enabled ? "sequential (always-valid) inference drives the decision" : "fixed-horizon inference drives the decision"}`,
  );
  lines.push("");
  for (const c of a.comparisons) {
    const e = c.absolute;
    const rel = c.relative ? `, lift ${pct(c.relative.estimate)} [${pct(c.relative.ci[0])}, ${pct(c.relative.ci[1])}]` : "";
    const cup = c.cuped ? `, CUPED variance reduction ${pct(c.cuped.varianceReduction)}` : "";
    const seq = c.sequential ? `; sequential CI [${fmt(c.sequential.ci[0])}, ${fmt(c.sequential.ci[1])}], p_adj ${fmt(c.sequential.pAdjusted)}` : "";
    lines.push(
      `${c.metric} — ${c.arm} vs ${c.control}: ${fmt(c.treatmentMean)} vs ${fmt(c.controlMean)}, effect ${fmt(e.estimate)} [${fmt(e.ci[0])}, ${fmt(e.ci[1])}]${rel}, p ${fmt(e.pValue)}, p_adj ${fmt(e.pAdjusted)}${e.significant ? " *" : ""}${cup}; P(better) ${pct(c.bayes.chanceToBeatControl)}${seq}`,
    );
  }
  lines.push("");
  for (const d of a.decisions) {
    lines.push(`Decision for '${d.arm}' (${d.basis}): ${d.decision.toUpperCase()} — ${d.summary}`);
    for (const r of d.reasons) lines.push(`  - ${r}`);
  }
  lines.push("");
  lines.push(`Overall: ${a.overall.decision.toUpperCase()} — ${a.overall.summary}`);
  for (const w of a.warnings) lines.push(`Warning: ${w}`);
  return lines.join("\n");
}

