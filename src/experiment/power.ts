import { InputError } from "../util/errors";
import { noncentralTCdf, normalCdf, normalQuantile, studentTQuantile } from "./distributions";
import { type AlphaCorrection, perComparisonAlpha } from "./multiple";
import { bracketUpward, brentRoot } from "./roots";
import { checkAlpha, requireFinite, requireOpenUnit, requirePositive } from "./validate";

/**
 * Power analysis for two-arm (and A/B/n) experiments. Effects are absolute differences
 * (treatment − control) in metric units; `ratio` is n2/n1 (treatment per control user).
 */

/** Design parameters common to every power calculation. */
export interface PowerDesign {
  /** family-wise significance level (default 0.05) */
  alpha?: number;
  /** default "two-sided"; "one-sided" tests in the direction of the effect */
  sides?: "two-sided" | "one-sided";
  /** n2 / n1: treatment users per control user (default 1) */
  ratio?: number;
  /** treatment arms each compared with control, A/B/n (default 1) */
  comparisons?: number;
  /** how alpha is split over the comparisons (default "bonferroni" when comparisons > 1) */
  correction?: AlphaCorrection;
  /**
   * two-sided only: also count rejections in the wrong tail. Defaults: true for z tests
   * (statsmodels NormalIndPower), false for the t test (R power.t.test's default strict = FALSE).
   */
  strict?: boolean;
}

/** Difference-of-means design: common per-user standard deviation and z or exact t. */
export interface MeansDesign extends PowerDesign {
  sd: number;
  /** "z" (normal approximation, default) or "t" (exact two-sample t via the noncentral t) */
  test?: "z" | "t";
}

/** Sample size answer: continuous n (what R reports) and the rounded-up plan with its achieved power. */
export interface SampleSizeResult {
  /** control users (continuous solution) */
  n1: number;
  /** users per treatment arm (continuous) */
  n2: number;
  n1Ceil: number;
  n2Ceil: number;
  /** n1Ceil + comparisons · n2Ceil */
  totalCeil: number;
  /** power at the rounded-up sizes */
  achievedPower: number;
  alphaPerComparison: number;
}

interface Resolved {
  alpha: number;
  twoSided: boolean;
  ratio: number;
  comparisons: number;
  strict: boolean;
}

function resolveDesign(d: PowerDesign, defaultStrict: boolean): Resolved {
  const alphaFamily = d.alpha ?? 0.05;
  checkAlpha(alphaFamily);
  const comparisons = d.comparisons ?? 1;
  const correction = d.correction ?? (comparisons > 1 ? "bonferroni" : "none");
  const alpha = perComparisonAlpha(alphaFamily, comparisons, correction);
  const sides = d.sides ?? "two-sided";
  if (sides !== "two-sided" && sides !== "one-sided") throw new InputError(`sides must be "two-sided" or "one-sided" (got ${String(sides)})`);
  const ratio = d.ratio ?? 1;
  requirePositive(ratio, "allocation ratio n2/n1");
  return { alpha, twoSided: sides === "two-sided", ratio, comparisons, strict: d.strict ?? defaultStrict };
}

/** Power of a z test whose statistic is N(shift, 1) under the alternative (shift = |effect| / SE). */
function zPower(shift: number, alpha: number, twoSided: boolean, strict: boolean): number {
  const crit = normalQuantile(1 - (twoSided ? alpha / 2 : alpha));
  const main = normalCdf(shift - crit);
  return twoSided && strict ? main + normalCdf(-shift - crit) : main;
}

/**
 * Power of a difference-of-means test. z: Φ(|δ|/SE − z₁₋α/₂) (+ the opposite tail when strict), as
 * statsmodels NormalIndPower; t: P(T' > t₁₋α/₂,ν) for noncentral T' with ν = n1 + n2 − 2 and
 * ncp = |δ| / (sd·√(1/n1 + 1/n2)), as R power.t.test.
 */
export function powerMeans(input: MeansDesign & { effect: number; n1: number }): number {
  requireFinite(input.effect, "effect");
  requirePositive(input.sd, "sd");
  requirePositive(input.n1, "n1");
  const test = input.test ?? "z";
  const r = resolveDesign(input, test === "z");
  const n2 = input.n1 * r.ratio;
  const shift = Math.abs(input.effect) / (input.sd * Math.sqrt(1 / input.n1 + 1 / n2));
  if (test === "z") return zPower(shift, r.alpha, r.twoSided, r.strict);
  if (test !== "t") throw new InputError(`test must be "z" or "t" (got ${String(test)})`);
  const df = input.n1 + n2 - 2;
  if (!(df > 0)) throw new InputError(`t test power needs n1 + n2 > 2 (got n1 = ${input.n1}, n2 = ${n2})`);
  const crit = studentTQuantile(1 - (r.twoSided ? r.alpha / 2 : r.alpha), df);
  const upper = 1 - noncentralTCdf(crit, df, shift);
  return r.twoSided && r.strict ? upper + noncentralTCdf(-crit, df, shift) : upper;
}

function checkTargetPower(power: number, alpha: number): void {
  requireOpenUnit(power, "target power");
  if (power <= alpha) throw new InputError(`target power ${power} must exceed the significance level ${alpha}`);
}

function solveSampleSize(
  powerAt: (n1: number) => number,
  powerAtRounded: (n1: number, n2: number) => number,
  target: number,
  minN1: number,
  r: Resolved,
): SampleSizeResult {
  const f = (n1: number): number => powerAt(n1) - target;
  let n1 = minN1;
  if (f(minN1) < 0) {
    const [lo, hi] = bracketUpward(f, minN1, Math.max(minN1 * 2, 16));
    n1 = brentRoot(f, lo, hi, 1e-10);
  }
  const n1Ceil = Math.ceil(n1 - 1e-9);
  const n2Ceil = Math.ceil(n1 * r.ratio - 1e-9);
  // with ratio ≠ 1 both arms round up separately, so the achieved power is recomputed at both
  const achievedPower = powerAtRounded(n1Ceil, n2Ceil);
  return { n1, n2: n1 * r.ratio, n1Ceil, n2Ceil, totalCeil: n1Ceil + r.comparisons * n2Ceil, achievedPower, alphaPerComparison: r.alpha };
}

/**
 * Users per arm for a difference of means to reach the target power (root of `powerMeans` in n1 by
 * Brent's method; reproduces R power.t.test's n for test "t").
 */
export function sampleSizeMeans(input: MeansDesign & { effect: number; power: number }): SampleSizeResult {
  requireFinite(input.effect, "effect");
  if (input.effect === 0) throw new InputError("effect must be non-zero to size an experiment");
  const test = input.test ?? "z";
  const r = resolveDesign(input, test === "z");
  checkTargetPower(input.power, r.alpha);
  const at = (n1: number): number => powerMeans({ ...input, n1 });
  // the t test needs a variance estimate in each arm: search from n1 = 2 as R's power.t.test does
  const minN1 = test === "t" ? Math.max(2, 2 / r.ratio) : 1e-6;
  return solveSampleSize(at, (n1, n2) => powerMeans({ ...input, n1, ratio: n2 / n1 }), input.power, minN1, r);
}

/** Minimum detectable (absolute) effect for a difference of means at n1 control users and the target power. */
export function mdeMeans(input: MeansDesign & { n1: number; power: number }): number {
  requirePositive(input.sd, "sd");
  requirePositive(input.n1, "n1");
  const r = resolveDesign(input, (input.test ?? "z") === "z");
  checkTargetPower(input.power, r.alpha);
  const f = (effect: number): number => powerMeans({ ...input, effect }) - input.power;
  const start = input.sd * 1e-6;
  const [lo, hi] = bracketUpward(f, start, input.sd);
  return brentRoot(f, lo, hi, input.sd * 1e-12);
}

/** Cohen's h effect size for proportions: 2·asin(√p2) − 2·asin(√p1) (Cohen 1988, §6.2). */
export function cohensH(p1: number, p2: number): number {
  for (const [p, name] of [[p1, "p1"], [p2, "p2"]] as const) {
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new InputError(`${name} must be a proportion in [0, 1] (got ${String(p)})`);
  }
  return 2 * Math.asin(Math.sqrt(p2)) - 2 * Math.asin(Math.sqrt(p1));
}

/**
 * Power for a standardized effect with two independent normal samples, same conventions as
 * statsmodels `NormalIndPower().power(effect_size, nobs1, alpha, ratio, alternative)`: nobs2 = ratio·nobs1,
 * two-sided counts both rejection tails; "larger"/"smaller" are one-sided in that direction.
 */
export function powerNormalInd(input: { effectSize: number; nobs1: number; alpha?: number; ratio?: number; alternative?: "two-sided" | "larger" | "smaller" }): number {
  requireFinite(input.effectSize, "effectSize");
  requirePositive(input.nobs1, "nobs1");
  const alpha = input.alpha ?? 0.05;
  checkAlpha(alpha);
  const ratio = input.ratio ?? 1;
  requirePositive(ratio, "ratio");
  const nobs = 1 / (1 / input.nobs1 + 1 / (input.nobs1 * ratio));
  const d = input.effectSize * Math.sqrt(nobs);
  const alt = input.alternative ?? "two-sided";
  if (alt === "two-sided") {
    const crit = normalQuantile(1 - alpha / 2);
    return normalCdf(d - crit) + normalCdf(-d - crit);
  }
  const crit = normalQuantile(1 - alpha);
  if (alt === "larger") return normalCdf(d - crit);
  if (alt === "smaller") return normalCdf(-d - crit);
  throw new InputError(`alternative must be "two-sided", "larger" or "smaller" (got ${String(alt)})`);
}

/** nobs1 reaching the target power for a standardized effect (statsmodels `NormalIndPower().solve_power(nobs1=None)`). */
export function sampleSizeNormalInd(input: { effectSize: number; power: number; alpha?: number; ratio?: number; alternative?: "two-sided" | "larger" | "smaller" }): number {
  requireFinite(input.effectSize, "effectSize");
  if (input.effectSize === 0) throw new InputError("effectSize must be non-zero to size an experiment");
  checkTargetPower(input.power, input.alpha ?? 0.05);
  const f = (nobs1: number): number => powerNormalInd({ ...input, nobs1 }) - input.power;
  const [lo, hi] = bracketUpward(f, 1e-6, 16);
  return brentRoot(f, lo, hi, 1e-10);
}

/** Standardized effect (e.g. Cohen's h or d) detectable at nobs1 with the target power (statsmodels `solve_power(effect_size=None)`). */
export function effectSizeNormalInd(input: { nobs1: number; power: number; alpha?: number; ratio?: number; alternative?: "two-sided" | "larger" }): number {
  requirePositive(input.nobs1, "nobs1");
  checkTargetPower(input.power, input.alpha ?? 0.05);
  const f = (effectSize: number): number => powerNormalInd({ ...input, effectSize }) - input.power;
  const [lo, hi] = bracketUpward(f, 1e-9, 1);
  return brentRoot(f, lo, hi, 1e-14);
}

/** Two-proportion design: variance under H0 pooled (classic Fleiss formula) or unpooled (Wald). */
export interface ProportionsDesign extends PowerDesign {
  /** default "pooled" */
  variance?: "pooled" | "unpooled";
}

function checkRate(p: number, name: string): void {
  if (typeof p !== "number" || !(p > 0 && p < 1)) throw new InputError(`${name} must be a rate strictly between 0 and 1 (got ${String(p)})`);
}

/**
 * Power of the two-proportion z test (Fleiss, Levin & Paik 2003, §4.2, without continuity
 * correction): Φ((|p2 − p1| − z·SE₀) / SE₁), SE₀ from the pooled rate under H0 ("pooled") or
 * SE₀ = SE₁ ("unpooled"); strict two-sided adds the opposite tail.
 */
export function powerProportions(input: ProportionsDesign & { p1: number; p2: number; n1: number }): number {
  checkRate(input.p1, "p1");
  checkRate(input.p2, "p2");
  requirePositive(input.n1, "n1");
  const r = resolveDesign(input, true);
  const n1 = input.n1;
  const n2 = n1 * r.ratio;
  const delta = Math.abs(input.p2 - input.p1);
  const se1 = Math.sqrt((input.p1 * (1 - input.p1)) / n1 + (input.p2 * (1 - input.p2)) / n2);
  const variance = input.variance ?? "pooled";
  let se0 = se1;
  if (variance === "pooled") {
    const pBar = (n1 * input.p1 + n2 * input.p2) / (n1 + n2);
    se0 = Math.sqrt(pBar * (1 - pBar) * (1 / n1 + 1 / n2));
  } else if (variance !== "unpooled") {
    throw new InputError(`variance must be "pooled" or "unpooled" (got ${String(variance)})`);
  }
  const crit = normalQuantile(1 - (r.twoSided ? r.alpha / 2 : r.alpha));
  const main = normalCdf((delta - crit * se0) / se1);
  return r.twoSided && r.strict ? main + normalCdf((-delta - crit * se0) / se1) : main;
}

/** Users per arm for the two-proportion z test to reach the target power (root of `powerProportions`). */
export function sampleSizeProportions(input: ProportionsDesign & { p1: number; p2: number; power: number }): SampleSizeResult {
  checkRate(input.p1, "p1");
  checkRate(input.p2, "p2");
  if (input.p1 === input.p2) throw new InputError("p1 and p2 must differ to size an experiment");
  const r = resolveDesign(input, true);
  checkTargetPower(input.power, r.alpha);
  const at = (n1: number): number => powerProportions({ ...input, n1 });
  return solveSampleSize(at, (n1, n2) => powerProportions({ ...input, n1, ratio: n2 / n1 }), input.power, 1e-6, r);
}

/**
 * Minimum detectable absolute increase p2 − p1 over a baseline rate p1 at n1 control users
 * (root of `powerProportions` in p2 ∈ (p1, 1)). Throws if even p2 → 1 cannot reach the power.
 */
export function mdeProportions(input: ProportionsDesign & { p1: number; n1: number; power: number }): number {
  checkRate(input.p1, "p1");
  requirePositive(input.n1, "n1");
  const r = resolveDesign(input, true);
  checkTargetPower(input.power, r.alpha);
  const hiP2 = 1 - 1e-12;
  const f = (delta: number): number => powerProportions({ ...input, p2: input.p1 + delta }) - input.power;
  const hi = hiP2 - input.p1;
  if (f(hi) < 0) throw new InputError(`no detectable increase over p1 = ${input.p1} reaches power ${input.power} with n1 = ${input.n1}`);
  return brentRoot(f, 1e-12, hi, 1e-14);
}

/**
 * Per-unit delta-method variance of a ratio metric mean(N)/mean(D), so that Var(ratio) ≈ σ²/n
 * (Deng, Knoblich & Lu 2018): σ² = V_N/μ_D² − 2·C·μ_N/μ_D³ + V_D·μ_N²/μ_D⁴. Feed √σ² as `sd`
 * to the means functions to plan a ratio-metric experiment.
 */
export function ratioMetricVariance(input: { meanNumerator: number; meanDenominator: number; varNumerator: number; varDenominator: number; covariance: number }): number {
  requireFinite(input.meanNumerator, "meanNumerator");
  requireFinite(input.meanDenominator, "meanDenominator");
  if (input.meanDenominator === 0) throw new InputError("meanDenominator must be non-zero for a ratio metric");
  requireFinite(input.varNumerator, "varNumerator");
  requireFinite(input.varDenominator, "varDenominator");
  requireFinite(input.covariance, "covariance");
  if (input.varNumerator < 0 || input.varDenominator < 0) throw new InputError("variances must be ≥ 0");
  const { meanNumerator: mN, meanDenominator: mD } = input;
  const v = input.varNumerator / (mD * mD) - (2 * input.covariance * mN) / mD ** 3 + (input.varDenominator * mN * mN) / mD ** 4;
  if (!(v > 0)) throw new InputError(`the ratio metric's delta-method variance is ${v}; check the covariance (|C| ≤ √(V_N·V_D))`);
  return v;
}

/** Power for a ratio metric: `powerMeans` (z) with sd = √(delta-method per-unit variance). */
export function powerRatioMetric(input: PowerDesign & { effect: number; n1: number; deltaVariance: number }): number {
  requirePositive(input.deltaVariance, "deltaVariance");
  return powerMeans({ ...input, sd: Math.sqrt(input.deltaVariance), test: "z" });
}

/** Sample size for a ratio metric (z, delta-method variance). */
export function sampleSizeRatioMetric(input: PowerDesign & { effect: number; power: number; deltaVariance: number }): SampleSizeResult {
  requirePositive(input.deltaVariance, "deltaVariance");
  return sampleSizeMeans({ ...input, sd: Math.sqrt(input.deltaVariance), test: "z" });
}

/** MDE (absolute) for a ratio metric (z, delta-method variance). */
export function mdeRatioMetric(input: PowerDesign & { n1: number; power: number; deltaVariance: number }): number {
  requirePositive(input.deltaVariance, "deltaVariance");
  return mdeMeans({ ...input, sd: Math.sqrt(input.deltaVariance), test: "z" });
}
