import { InputError } from "../util/errors";
import { normalCdf, normalQuantile, normalSf, studentTCdf, studentTQuantile, studentTSf } from "./distributions";
import type { Alternative, EffectScale, MeanSummary, ProportionStats, RatioStats, SampleStats } from "./types";
import { checkAlpha, checkSummary, requireUsers, summarizeStats } from "./validate";

/** Options shared by the fixed-horizon tests. */
export interface TestOptions {
  /** significance level (default 0.05) */
  alpha?: number;
  /** default "two-sided" */
  alternative?: Alternative;
  /** "absolute" (treatment − control, default) or "relative" (treatment / control − 1) */
  scale?: EffectScale;
}

/** Result of a two-arm test. `estimate` is the difference or the relative lift, per `scale`. */
export interface TestResult {
  test: "welch-t" | "proportions-z" | "ratio-delta-t";
  scale: EffectScale;
  alternative: Alternative;
  alpha: number;
  estimate: number;
  se: number;
  /** (1 − alpha) confidence interval; one-sided alternatives give a half-infinite interval */
  ci: [number, number];
  pValue: number;
  /** t or z statistic */
  statistic: number;
  /** degrees of freedom (Infinity for z tests) */
  df: number;
  control: MeanSummary;
  treatment: MeanSummary;
}

/**
 * Welch–Satterthwaite degrees of freedom for a difference of two means
 * (Welch 1947; the form used by GrowthBook gbstats `TwoSidedTTest.dof`).
 */
export function welchDf(a: MeanSummary, b: MeanSummary): number {
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  return (va + vb) ** 2 / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1));
}

/**
 * Relative lift b/a − 1 and its delta-method standard error from the two means and the variances
 * of those means (GrowthBook gbstats frequentist docs: Var ≈ V_b/μ_a² + μ_b²V_a/μ_a⁴).
 */
export function relativeLift(meanA: number, varMeanA: number, meanB: number, varMeanB: number): { lift: number; se: number } {
  if (meanA === 0) throw new InputError("control mean is 0: the relative lift (treatment / control − 1) is undefined; use scale 'absolute'");
  const lift = meanB / meanA - 1;
  const v = varMeanB / (meanA * meanA) + (meanB * meanB * varMeanA) / meanA ** 4;
  return { lift, se: Math.sqrt(v) };
}

/**
 * p-value and confidence interval of a t (df finite) or z (df = Infinity) statistic
 * for the given alternative.
 */
export function inferenceFromEstimate(
  estimate: number,
  se: number,
  df: number,
  alpha: number,
  alternative: Alternative,
): { statistic: number; pValue: number; ci: [number, number] } {
  const statistic = estimate / se;
  const sf = (x: number): number => (df === Infinity ? normalSf(x) : studentTSf(x, df));
  const cdf = (x: number): number => (df === Infinity ? normalCdf(x) : studentTCdf(x, df));
  const q = (p: number): number => (df === Infinity ? normalQuantile(p) : studentTQuantile(p, df));
  if (alternative === "two-sided") {
    const crit = q(1 - alpha / 2);
    return { statistic, pValue: Math.min(1, 2 * sf(Math.abs(statistic))), ci: [estimate - crit * se, estimate + crit * se] };
  }
  const crit = q(1 - alpha);
  if (alternative === "greater") return { statistic, pValue: sf(statistic), ci: [estimate - crit * se, Infinity] };
  if (alternative === "less") return { statistic, pValue: cdf(statistic), ci: [-Infinity, estimate + crit * se] };
  throw new InputError(`alternative must be "two-sided", "greater" or "less" (got ${String(alternative)})`);
}

function resolve(opts: TestOptions): { alpha: number; alternative: Alternative; scale: EffectScale } {
  const alpha = opts.alpha ?? 0.05;
  checkAlpha(alpha);
  const scale = opts.scale ?? "absolute";
  if (scale !== "absolute" && scale !== "relative") throw new InputError(`scale must be "absolute" or "relative" (got ${String(scale)})`);
  return { alpha, alternative: opts.alternative ?? "two-sided", scale };
}

/**
 * Welch's unequal-variance t-test on two summarized arms, absolute or relative (delta method),
 * with Welch–Satterthwaite df in both cases (GrowthBook gbstats frequentist engine).
 */
export function welchTestFromSummaries(control: MeanSummary, treatment: MeanSummary, opts: TestOptions = {}): TestResult {
  const { alpha, alternative, scale } = resolve(opts);
  checkSummary(control, "control");
  checkSummary(treatment, "treatment");
  const df = welchDf(control, treatment);
  const vA = control.variance / control.n;
  const vB = treatment.variance / treatment.n;
  let estimate: number;
  let se: number;
  if (scale === "absolute") {
    estimate = treatment.mean - control.mean;
    se = Math.sqrt(vA + vB);
  } else {
    const r = relativeLift(control.mean, vA, treatment.mean, vB);
    estimate = r.lift;
    se = r.se;
  }
  return { test: "welch-t", scale, alternative, alpha, estimate, se, df, ...inferenceFromEstimate(estimate, se, df, alpha, alternative), control, treatment };
}

/** Welch's t-test from sufficient statistics (n, Σy, Σy²) per arm (GrowthBook gbstats `TwoSidedTTest`). */
export function welchTest(control: SampleStats, treatment: SampleStats, opts: TestOptions = {}): TestResult {
  return welchTestFromSummaries(summarizeStats(control, "control"), summarizeStats(treatment, "treatment"), opts);
}

/** Options of the two-proportion z-test. */
export interface ProportionTestOptions extends TestOptions {
  /** pooled variance under H0 for the absolute-scale p-value (default true); CIs always use unpooled */
  pooled?: boolean;
}

function proportionSummary(s: ProportionStats, arm: string): MeanSummary {
  if (s === null || typeof s !== "object") throw new InputError(`arm '${arm}': counts are missing`);
  if (s.n === 0) throw new InputError(`arm '${arm}' has zero users`);
  if (!Number.isInteger(s.n) || s.n < 1) throw new InputError(`arm '${arm}': n = ${String(s.n)} must be a positive integer`);
  if (!Number.isInteger(s.successes) || s.successes < 0 || s.successes > s.n) {
    throw new InputError(`arm '${arm}': successes = ${String(s.successes)} must be an integer between 0 and n = ${s.n}`);
  }
  const p = s.successes / s.n;
  return { n: s.n, mean: p, variance: p * (1 - p) };
}

/**
 * Two-proportion z-test (e.g. Agresti, "Categorical Data Analysis" §3.1.3): pooled SE under H0 for the
 * absolute p-value, unpooled (Wald) SE for the interval; relative scale uses the delta method.
 * `variance` in the returned arm summaries is p(1 − p) (per-user Bernoulli variance).
 */
export function proportionTest(control: ProportionStats, treatment: ProportionStats, opts: ProportionTestOptions = {}): TestResult {
  const { alpha, alternative, scale } = resolve(opts);
  const a = proportionSummary(control, "control");
  const b = proportionSummary(treatment, "treatment");
  const vA = a.variance / a.n;
  const vB = b.variance / b.n;
  if (vA + vB === 0) {
    throw new InputError(`both arms have zero variance (conversion rates ${a.mean} and ${b.mean}); the test is undefined`);
  }
  if (scale === "relative") {
    const r = relativeLift(a.mean, vA, b.mean, vB);
    return { test: "proportions-z", scale, alternative, alpha, estimate: r.lift, se: r.se, df: Infinity, ...inferenceFromEstimate(r.lift, r.se, Infinity, alpha, alternative), control: a, treatment: b };
  }
  const estimate = b.mean - a.mean;
  const se = Math.sqrt(vA + vB);
  const interval = inferenceFromEstimate(estimate, se, Infinity, alpha, alternative);
  if (opts.pooled ?? true) {
    const pooled = (control.successes + treatment.successes) / (a.n + b.n);
    const se0 = Math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n));
    const tested = inferenceFromEstimate(estimate, se0, Infinity, alpha, alternative);
    return { test: "proportions-z", scale, alternative, alpha, estimate, se, df: Infinity, statistic: tested.statistic, pValue: tested.pValue, ci: interval.ci, control: a, treatment: b };
  }
  return { test: "proportions-z", scale, alternative, alpha, estimate, se, df: Infinity, ...interval, control: a, treatment: b };
}

/** Per-arm summary of a ratio metric: the ratio of means and the delta-method variance of that ratio. */
export interface RatioSummary {
  n: number;
  meanNumerator: number;
  meanDenominator: number;
  varNumerator: number;
  varDenominator: number;
  covariance: number;
  /** mean(numerator) / mean(denominator) */
  ratio: number;
  /** delta-method Var(ratio estimate) = (1/n)(V_N/μ_D² − 2C μ_N/μ_D³ + V_D μ_N²/μ_D⁴) */
  varRatio: number;
}

/**
 * Ratio-of-means summary with delta-method variance (Deng, Knoblich & Lu 2018, "Applying the Delta
 * Method in Metric Analytics", eq. for the ratio of two sample means).
 */
export function ratioSummary(s: RatioStats, arm: string): RatioSummary {
  if (s === null || typeof s !== "object") throw new InputError(`arm '${arm}': ratio statistics are missing`);
  requireUsers(s.n, arm);
  for (const k of ["sumNumerator", "sumNumeratorSquares", "sumDenominator", "sumDenominatorSquares", "sumNumeratorDenominator"] as const) {
    if (typeof s[k] !== "number" || !Number.isFinite(s[k])) throw new InputError(`arm '${arm}': ${k} is ${String(s[k])}, expected a finite number`);
  }
  const n = s.n;
  const mN = s.sumNumerator / n;
  const mD = s.sumDenominator / n;
  if (mD === 0) throw new InputError(`arm '${arm}': the denominator mean is 0, so the ratio is undefined`);
  const cN = s.sumNumeratorSquares - s.sumNumerator * mN;
  const cD = s.sumDenominatorSquares - s.sumDenominator * mD;
  if (cN < -1e-9 * Math.abs(s.sumNumeratorSquares) || s.sumNumeratorSquares < 0) {
    throw new InputError(`arm '${arm}': numerator sum of squares ${s.sumNumeratorSquares} is inconsistent with its sum ${s.sumNumerator} and n ${n}`);
  }
  if (cD < -1e-9 * Math.abs(s.sumDenominatorSquares) || s.sumDenominatorSquares < 0) {
    throw new InputError(`arm '${arm}': denominator sum of squares ${s.sumDenominatorSquares} is inconsistent with its sum ${s.sumDenominator} and n ${n}`);
  }
  const varNumerator = Math.max(0, cN) / (n - 1);
  const varDenominator = Math.max(0, cD) / (n - 1);
  const covariance = (s.sumNumeratorDenominator - s.sumNumerator * mD) / (n - 1);
  const ratio = mN / mD;
  const unitVar = varNumerator / (mD * mD) - (2 * covariance * mN) / mD ** 3 + (varDenominator * mN * mN) / mD ** 4;
  if (!(unitVar > 0)) throw new InputError(`arm '${arm}' has zero variance in the ratio metric (delta-method variance ${unitVar})`);
  return { n, meanNumerator: mN, meanDenominator: mD, varNumerator, varDenominator, covariance, ratio, varRatio: unitVar / n };
}

/**
 * Ratio-metric test (e.g. revenue per session): difference or relative lift of the per-arm ratios
 * with delta-method variances (Deng et al. 2018), t reference with Welch–Satterthwaite df.
 * The returned arm summaries carry the ratio as `mean` and n·Var(ratio) as `variance`.
 */
export function ratioTest(control: RatioStats, treatment: RatioStats, opts: TestOptions = {}): TestResult & { ratios: { control: RatioSummary; treatment: RatioSummary } } {
  const { alpha, alternative, scale } = resolve(opts);
  const a = ratioSummary(control, "control");
  const b = ratioSummary(treatment, "treatment");
  const sa: MeanSummary = { n: a.n, mean: a.ratio, variance: a.varRatio * a.n };
  const sb: MeanSummary = { n: b.n, mean: b.ratio, variance: b.varRatio * b.n };
  const df = welchDf(sa, sb);
  let estimate: number;
  let se: number;
  if (scale === "absolute") {
    estimate = b.ratio - a.ratio;
    se = Math.sqrt(a.varRatio + b.varRatio);
  } else {
    const r = relativeLift(a.ratio, a.varRatio, b.ratio, b.varRatio);
    estimate = r.lift;
    se = r.se;
  }
  return {
    test: "ratio-delta-t",
    scale,
    alternative,
    alpha,
    estimate,
    se,
    df,
    ...inferenceFromEstimate(estimate, se, df, alpha, alternative),
    control: sa,
    treatment: sb,
    ratios: { control: a, treatment: b },
  };
}
