/**
 * Contractual retention with the shifted-beta-geometric (sBG) model: Fader & Hardie (2007), "How to
 * project customer retention", J. Interactive Marketing 21(1), 76–90; discounted expected residual
 * lifetime from Fader & Hardie (2010), "Customer-base valuation in a contractual setting: the perils
 * of ignoring heterogeneity", Marketing Science 29(1), 85–93.
 *
 * Each customer churns at the end of every period with a constant probability θ, θ ~ beta(α, β)
 * across customers (some texts write the beta parameters as γ, δ).
 */
import { InputError, NtgError } from "../util/errors";
import type { Rng } from "../util/rng";
import { fitPositiveParams, type FitDiagnostics, type FitOptions } from "./fit";
import { minimize, type OptimizeMethod } from "./optimize";
import { hyp2f1, lbeta } from "./special";

/** sBG parameters: the beta distribution of per-period churn probabilities. */
export interface SbgParams {
  alpha: number;
  beta: number;
}

/** A fitted sBG model. */
export interface SbgFit extends FitDiagnostics {
  params: SbgParams;
}

function checkParams(p: SbgParams): void {
  if (!(p.alpha > 0 && p.beta > 0 && Number.isFinite(p.alpha) && Number.isFinite(p.beta))) {
    throw new NtgError(`sBG: alpha and beta must be finite and > 0, got alpha=${p.alpha}, beta=${p.beta}`);
  }
}

/** ln P(T = t | α, β) = ln B(α+1, β+t−1) − ln B(α, β), t ≥ 1 (FH 2007 eq. 5). */
export function sbgLogChurnProbability(p: SbgParams, t: number): number {
  return lbeta(p.alpha + 1, p.beta + t - 1) - lbeta(p.alpha, p.beta);
}

/** ln S(t | α, β) = ln B(α, β+t) − ln B(α, β), t ≥ 0 (FH 2007 eq. 6). */
export function sbgLogSurvival(p: SbgParams, t: number): number {
  return lbeta(p.alpha, p.beta + t) - lbeta(p.alpha, p.beta);
}

/** P(T = t) for t = 1..periods: the share of a cohort lost in each period (FH 2007 eq. 5, via the recursion eq. 7). */
export function sbgChurnProbabilities(p: SbgParams, periods: number): Float64Array {
  checkParams(p);
  const out = new Float64Array(periods);
  if (periods === 0) return out;
  out[0] = p.alpha / (p.alpha + p.beta);
  for (let t = 2; t <= periods; t++) out[t - 1] = out[t - 2] * ((p.beta + t - 2) / (p.alpha + p.beta + t - 1));
  return out;
}

/** Survivor function S(t) for t = 0..periods, S(t) = Π_{i≤t} r_i (FH 2007 eq. 6). */
export function sbgSurvival(p: SbgParams, periods: number): Float64Array {
  checkParams(p);
  const out = new Float64Array(periods + 1);
  out[0] = 1;
  for (let t = 1; t <= periods; t++) out[t] = out[t - 1] * ((p.beta + t - 1) / (p.alpha + p.beta + t - 1));
  return out;
}

/** Retention rates r_t = S(t)/S(t−1) = (β+t−1)/(α+β+t−1) for t = 1..periods (FH 2007 eq. 8). */
export function sbgRetention(p: SbgParams, periods: number): Float64Array {
  checkParams(p);
  const out = new Float64Array(periods);
  for (let t = 1; t <= periods; t++) out[t - 1] = (p.beta + t - 1) / (p.alpha + p.beta + t - 1);
  return out;
}

function checkSurvivors(survivors: ArrayLike<number>): void {
  if (survivors.length < 2) throw new InputError(`sBG: need survivor counts for at least periods 0 and 1, got ${survivors.length} values`);
  for (let t = 0; t < survivors.length; t++) {
    const v = survivors[t];
    if (!(v >= 0 && Number.isFinite(v))) throw new InputError(`sBG: survivor count for period ${t} must be finite and >= 0`, { value: String(v) });
    if (t > 0 && v > survivors[t - 1]) {
      throw new InputError(`sBG: survivors must not increase (period ${t}: ${v} > ${survivors[t - 1]})`, { value: String(v) });
    }
  }
  if (!(survivors[0] > 0)) throw new InputError("sBG: the cohort must start with more than 0 customers", { value: String(survivors[0]) });
}

/**
 * Cohort log-likelihood from survivor counts n_0 ≥ n_1 ≥ … ≥ n_K (FH 2007 appendix B, eq. B3):
 * LL = Σ_{t=1..K} (n_{t−1} − n_t) ln P(T=t) + n_K ln S(K). Percentages work too (the cohort size factors out).
 */
export function sbgLogLikelihood(p: SbgParams, survivors: ArrayLike<number>): number {
  checkParams(p);
  checkSurvivors(survivors);
  const K = survivors.length - 1;
  let ll = 0;
  for (let t = 1; t <= K; t++) {
    const lost = survivors[t - 1] - survivors[t];
    if (lost > 0) ll += lost * sbgLogChurnProbability(p, t);
  }
  if (survivors[K] > 0) ll += survivors[K] * sbgLogSurvival(p, K);
  return ll;
}

/** Maximum-likelihood sBG fit to one cohort's survivor counts (FH 2007 appendix B). */
export function fitSbg(survivors: ArrayLike<number>, opts: FitOptions = {}): SbgFit {
  checkSurvivors(survivors);
  const ll = (th: Float64Array): number => sbgLogLikelihood({ alpha: th[0], beta: th[1] }, survivors);
  const { theta, diagnostics } = fitPositiveParams("sBG", ["alpha", "beta"], ll, survivors[0], [1, 1], opts);
  return { params: { alpha: theta[0], beta: theta[1] }, ...diagnostics };
}

/**
 * Discounted expected residual lifetime of a customer who has made `renewals` renewals, evaluated just
 * before her next renewal decision (FH 2010 eq. 6 with n − 1 = `renewals`):
 * DERL = (β+n−1)/(α+β+n−1) · ₂F₁(1, β+n; α+β+n; 1/(1+d)) = Σ_{t≥n} S(t)/S(n−1) · (1+d)^−(t−n).
 * `discountRate` d is per period and must be > 0.
 */
export function sbgDerl(p: SbgParams, renewals: number, discountRate: number): number {
  checkParams(p);
  if (!(Number.isInteger(renewals) && renewals >= 0)) throw new NtgError(`sBG DERL: renewals must be a non-negative integer, got ${renewals}`);
  if (!(discountRate > 0)) throw new NtgError(`sBG DERL: the discount rate must be > 0 (the undiscounted lifetime may be infinite), got ${discountRate}`);
  const n = renewals + 1;
  const pre = (p.beta + n - 1) / (p.alpha + p.beta + n - 1);
  return pre * hyp2f1(1, p.beta + n, p.alpha + p.beta + n, 1 / (1 + discountRate), { maxTerms: 2_000_000 });
}

/** Discounted expected lifetime of a just-acquired customer, counting the first payment: DEL = ₂F₁(1, β; α+β; 1/(1+d)) = Σ_{t≥0} S(t)(1+d)^−t (FH 2010 eq. 4). */
export function sbgDel(p: SbgParams, discountRate: number): number {
  checkParams(p);
  if (!(discountRate > 0)) throw new NtgError(`sBG DEL: the discount rate must be > 0, got ${discountRate}`);
  return hyp2f1(1, p.beta, p.alpha + p.beta, 1 / (1 + discountRate), { maxTerms: 2_000_000 });
}

/** Expected residual value of an existing customer: price per period × DERL (FH 2010 §2). */
export function sbgResidualValue(p: SbgParams, renewals: number, discountRate: number, pricePerPeriod: number): number {
  return pricePerPeriod * sbgDerl(p, renewals, discountRate);
}

/** Simulates a cohort's survivor counts n_0..n_periods under sBG (θ ~ beta(α, β), geometric lifetimes). */
export function simulateSbgSurvivors(p: SbgParams, cohortSize: number, periods: number, rng: Rng): Float64Array {
  checkParams(p);
  const alive = new Float64Array(periods + 1);
  for (let i = 0; i < cohortSize; i++) {
    const theta = rng.beta(p.alpha, p.beta);
    alive[0]++;
    for (let t = 1; t <= periods; t++) {
      if (rng.bernoulli(theta)) break;
      alive[t]++;
    }
  }
  return alive;
}

// ---------------------------------------------------------------------------------------------
// Covariate-aware sBG
// ---------------------------------------------------------------------------------------------

/**
 * Individual-level contract data for the covariate sBG: `periods[i]` is the period in which the
 * customer churned (t ≥ 1) when `churned[i]` = 1, else the number of renewals observed so far
 * (right-censored, t ≥ 0). `covariates` are columns (each of length n), fixed over time.
 */
export interface SbgCovariateData {
  periods: Float64Array;
  churned: Uint8Array;
  covariates: Float64Array[];
}

/** Options for {@link fitSbgCovariates}. */
export interface SbgCovariateOptions {
  /** ridge penalty λ·Σ w_j² on the covariate coefficients (not the intercept or precision); default 1e-4 */
  ridge?: number;
  method?: OptimizeMethod;
  maxIterations?: number;
  gtol?: number;
  names?: string[];
}

/** A fitted covariate sBG: logit E[θ | x] = intercept + x·coefficients, α+β = precision. */
export interface SbgCovariateFit extends FitDiagnostics {
  intercept: number;
  coefficients: Float64Array;
  precision: number;
  ridge: number;
  names: string[];
}

/**
 * The beta parameters for a customer with covariates x under a {@link SbgCovariateFit}:
 * μ = logistic(intercept + x·w), α = μφ, β = (1−μ)φ.
 */
export function sbgCovariateParams(fit: Pick<SbgCovariateFit, "intercept" | "coefficients" | "precision">, x: ArrayLike<number>): SbgParams {
  if (x.length !== fit.coefficients.length) throw new NtgError(`sBG covariates: expected ${fit.coefficients.length} covariates, got ${x.length}`);
  let eta = fit.intercept;
  for (let j = 0; j < x.length; j++) eta += fit.coefficients[j] * x[j];
  const mu = 1 / (1 + Math.exp(-eta));
  return { alpha: Math.max(mu * fit.precision, 1e-300), beta: Math.max((1 - mu) * fit.precision, 1e-300) };
}

/**
 * Covariate sBG fitted by penalised maximum likelihood. Design choice: covariates shift the mean of
 * the beta mixing distribution through a logistic link, E[θ|x] = logistic(w₀ + x·w), while the
 * precision φ = α+β is shared — so each customer keeps sBG's within-segment heterogeneity (and its
 * rising aggregate retention) and the model reduces to plain sBG with no covariates. Related to the
 * beta-logistic of Rao & Steckel (1995) cited in FH 2007 §4. Individual likelihood: churned in t →
 * P(T=t|α_i,β_i); still active after t periods → S(t|α_i,β_i).
 */
export function fitSbgCovariates(data: SbgCovariateData, opts: SbgCovariateOptions = {}): SbgCovariateFit {
  const n = data.periods.length;
  if (data.churned.length !== n) throw new InputError(`sBG covariates: periods (${n}) and churned (${data.churned.length}) differ in length`);
  const p = data.covariates.length;
  for (let j = 0; j < p; j++) {
    if (data.covariates[j].length !== n) throw new InputError(`sBG covariates: covariate ${j} has ${data.covariates[j].length} rows, expected ${n}`);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(data.covariates[j][i])) throw new InputError(`sBG covariates, row ${i}: covariate ${opts.names?.[j] ?? j} is not finite`, { value: String(data.covariates[j][i]) });
    }
  }
  let anyChurn = false;
  for (let i = 0; i < n; i++) {
    const t = data.periods[i];
    const c = data.churned[i];
    if (c !== 0 && c !== 1) throw new InputError(`sBG covariates, row ${i}: churned must be 0 or 1`, { value: String(c) });
    if (!(Number.isInteger(t) && t >= (c ? 1 : 0))) {
      throw new InputError(`sBG covariates, row ${i}: periods must be an integer >= ${c ? 1 : 0}`, { value: String(t) });
    }
    if (c) anyChurn = true;
  }
  if (n === 0) throw new InputError("sBG covariates: no customers");
  if (!anyChurn) throw new InputError("sBG covariates: no customer churned, the churn probability is not identified");
  const ridge = opts.ridge ?? 1e-4;
  const names = opts.names ?? data.covariates.map((_, j) => `x${j}`);
  // θ = [w0, w1..wp, log φ]
  const eta = new Float64Array(n);
  const objective = (th: Float64Array): number => {
    const phi = Math.exp(th[p + 1]);
    eta.fill(th[0]);
    for (let j = 0; j < p; j++) {
      const w = th[j + 1];
      const col = data.covariates[j];
      for (let i = 0; i < n; i++) eta[i] += w * col[i];
    }
    let ll = 0;
    for (let i = 0; i < n; i++) {
      const mu = 1 / (1 + Math.exp(-eta[i]));
      const a = Math.max(mu * phi, 1e-300);
      const b = Math.max((1 - mu) * phi, 1e-300);
      const t = data.periods[i];
      ll += data.churned[i] ? lbeta(a + 1, b + t - 1) - lbeta(a, b) : t === 0 ? 0 : lbeta(a, b + t) - lbeta(a, b);
    }
    let pen = 0;
    for (let j = 1; j <= p; j++) pen += th[j] * th[j];
    return -(ll - ridge * pen) / n;
  };
  const x0 = new Float64Array(p + 2);
  x0[p + 1] = Math.log(2);
  const lower = new Float64Array(p + 2).fill(-50);
  const upper = new Float64Array(p + 2).fill(50);
  lower[p + 1] = Math.log(1e-4);
  upper[p + 1] = Math.log(1e6);
  const res = minimize(objective, x0, {
    method: opts.method,
    lower,
    upper,
    maxIterations: opts.maxIterations,
    gtol: opts.gtol ?? 1e-7,
    names: ["intercept", ...names, "log precision"],
  });
  const coefficients = Float64Array.from(res.x.subarray(1, p + 1));
  let pen = 0;
  for (let j = 0; j < p; j++) pen += coefficients[j] * coefficients[j];
  return {
    intercept: res.x[0],
    coefficients,
    precision: Math.exp(res.x[p + 1]),
    ridge,
    names,
    logLikelihood: -res.fx * n + ridge * pen,
    n,
    iterations: res.iterations,
    evaluations: res.evaluations,
    converged: res.converged,
    gradientNorm: res.gradientNorm,
    method: res.method,
  };
}
