/**
 * Pareto/NBD model of repeat purchasing in a non-contractual setting: Schmittlein, Morrison &
 * Colombo (1987), "Counting your customers: who are they and what will they do next?", Management
 * Science 33(1), 1–24; likelihood as derived in Fader & Hardie (2005), "A note on deriving the
 * Pareto/NBD model and related expressions".
 *
 * While alive a customer buys at Poisson rate λ ~ gamma(r, α); her lifetime is exponential with
 * rate μ ~ gamma(s, β).
 */
import { NtgError } from "../util/errors";
import type { Rng } from "../util/rng";
import { fitPositiveParams, type FitDiagnostics, type FitOptions } from "./fit";
import { collapseRfm, type RfmData, validateRfm } from "./rfm";
import { hyp2f1, lgamma, logAddExp, logSubExp } from "./special";

/** Pareto/NBD parameters: purchase-rate gamma (r, rate α) and dropout-rate gamma (s, rate β). */
export interface ParetoNbdParams {
  r: number;
  alpha: number;
  s: number;
  beta: number;
}

/** A fitted Pareto/NBD model. */
export interface ParetoNbdFit extends FitDiagnostics {
  params: ParetoNbdParams;
}

function checkParams(p: ParetoNbdParams): void {
  for (const k of ["r", "alpha", "s", "beta"] as const) {
    if (!(p[k] > 0 && Number.isFinite(p[k]))) throw new NtgError(`Pareto/NBD: parameter ${k} must be finite and > 0, got ${p[k]}`);
  }
}

/**
 * ln A0 of Fader & Hardie (2005 note, eq. 19–20): for α ≥ β
 * A0 = ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+t_x))/(α+t_x)^(r+s+x) − ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+T))/(α+T)^(r+s+x),
 * and for α < β the same with (α, s+1) replaced by (β, r+x). Computed as a log-difference.
 */
function logA0(p: ParetoNbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, s, beta } = p;
  const c = r + s + x;
  let big: number, b2: number;
  if (alpha >= beta) {
    big = alpha;
    b2 = s + 1;
  } else {
    big = beta;
    b2 = r + x;
  }
  const diff = Math.abs(alpha - beta);
  const F = (y: number): number => Math.log(hyp2f1(c, b2, c + 1, diff / (big + y))) - c * Math.log(big + y);
  const fTx = F(tx);
  const fT = F(T);
  return fT >= fTx ? -Infinity : logSubExp(fTx, fT);
}

/**
 * Log-likelihood of one customer (Fader & Hardie 2005 note, eq. 18):
 * L = Γ(r+x)α^r β^s/Γ(r) · [ 1/((α+T)^(r+x)(β+T)^s) + s/(r+s+x) · A0 ], summed in log space.
 */
export function paretoNbdIndividualLogLikelihood(p: ParetoNbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, s, beta } = p;
  const lead = lgamma(r + x) - lgamma(r) + r * Math.log(alpha) + s * Math.log(beta);
  const t1 = -(r + x) * Math.log(alpha + T) - s * Math.log(beta + T);
  const t2 = Math.log(s / (r + s + x)) + logA0(p, x, tx, T);
  return lead + logAddExp(t1, t2);
}

/** Total Pareto/NBD log-likelihood over customers. */
export function paretoNbdLogLikelihood(p: ParetoNbdParams, data: RfmData): number {
  checkParams(p);
  let sum = 0;
  for (let i = 0; i < data.frequency.length; i++) sum += paretoNbdIndividualLogLikelihood(p, data.frequency[i], data.recency[i], data.T[i]);
  return sum;
}

/** Maximum-likelihood Pareto/NBD fit by bounded optimisation of log-parameters (throws NtgError on non-convergence). */
export function fitParetoNbd(data: RfmData, opts: FitOptions = {}): ParetoNbdFit {
  const n = validateRfm(data, "Pareto/NBD");
  const rows = collapseRfm(data);
  const ll = (th: Float64Array): number => {
    const p = { r: th[0], alpha: th[1], s: th[2], beta: th[3] };
    let sum = 0;
    for (let i = 0; i < rows.w.length; i++) sum += rows.w[i] * paretoNbdIndividualLogLikelihood(p, rows.x[i], rows.tx[i], rows.T[i]);
    return sum;
  };
  const meanT = data.T.reduce((a, v) => a + v, 0) / n;
  const scale = Math.max(1, meanT / 4);
  const { theta, diagnostics } = fitPositiveParams("Pareto/NBD", ["r", "alpha", "s", "beta"], ll, n, [1, scale, 1, scale], opts);
  return { params: { r: theta[0], alpha: theta[1], s: theta[2], beta: theta[3] }, ...diagnostics };
}

/**
 * P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A0) (Fader & Hardie 2005 note, eq. 21;
 * Schmittlein et al. 1987 eq. 11).
 */
export function paretoNbdProbabilityAlive(p: ParetoNbdParams, x: number, tx: number, T: number): number {
  checkParams(p);
  const { r, alpha, s, beta } = p;
  const lr = Math.log(s / (r + s + x)) + (r + x) * Math.log(alpha + T) + s * Math.log(beta + T) + logA0(p, x, tx, T);
  return 1 / (1 + Math.exp(lr));
}

/** (1 − u^(s−1))/(s−1), continuous through s = 1 where it is −ln u. */
function powerTerm(u: number, s: number): number {
  const e = s - 1;
  const lu = Math.log(u);
  return Math.abs(e) < 1e-12 ? -lu : -Math.expm1(e * lu) / e;
}

/** Expected purchases of a new customer in (0, t]: E[X(t)] = rβ/(α(s−1)) · [1 − (β/(β+t))^(s−1)] (Schmittlein et al. 1987 eq. 17; limit −ln at s = 1). */
export function paretoNbdExpectedPurchasesNew(p: ParetoNbdParams, t: number): number {
  checkParams(p);
  if (!(t >= 0)) throw new NtgError(`Pareto/NBD: t must be >= 0, got ${t}`);
  return ((p.r * p.beta) / p.alpha) * powerTerm(p.beta / (p.beta + t), p.s);
}

/**
 * Expected purchases in (T, T+t] given (x, t_x, T) (Schmittlein et al. 1987 eq. 22; Fader & Hardie 2005 note eq. 23):
 * E[Y(t)|·] = (r+x)(β+T)/((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive | x, t_x, T).
 */
export function paretoNbdConditionalExpected(p: ParetoNbdParams, t: number, x: number, tx: number, T: number): number {
  checkParams(p);
  if (!(t >= 0)) throw new NtgError(`Pareto/NBD: t must be >= 0, got ${t}`);
  if (t === 0) return 0;
  const { r, alpha, s, beta } = p;
  return (((r + x) * (beta + T)) / (alpha + T)) * powerTerm((beta + T) / (beta + T + t), s) * paretoNbdProbabilityAlive(p, x, tx, T);
}

/** {@link paretoNbdConditionalExpected} for every customer of `data`. */
export function paretoNbdConditionalExpectedAll(p: ParetoNbdParams, t: number, data: RfmData): Float64Array {
  const out = new Float64Array(data.frequency.length);
  for (let i = 0; i < out.length; i++) out[i] = paretoNbdConditionalExpected(p, t, data.frequency[i], data.recency[i], data.T[i]);
  return out;
}

/** {@link paretoNbdProbabilityAlive} for every customer of `data`. */
export function paretoNbdProbabilityAliveAll(p: ParetoNbdParams, data: RfmData): Float64Array {
  const out = new Float64Array(data.frequency.length);
  for (let i = 0; i < out.length; i++) out[i] = paretoNbdProbabilityAlive(p, data.frequency[i], data.recency[i], data.T[i]);
  return out;
}

/**
 * Simulates Pareto/NBD customers observed for T_i units (Schmittlein et al. 1987 assumptions):
 * λ ~ gamma(r, rate α), μ ~ gamma(s, rate β), lifetime τ ~ exponential(μ), Poisson purchases on (0, min(τ, T)].
 */
export function simulateParetoNbd(p: ParetoNbdParams, T: Float64Array, rng: Rng): RfmData {
  checkParams(p);
  const n = T.length;
  const frequency = new Float64Array(n);
  const recency = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const lambda = rng.gamma(p.r, 1 / p.alpha);
    const mu = rng.gamma(p.s, 1 / p.beta);
    const tau = mu > 0 ? rng.exponential(mu) : Infinity;
    const end = Math.min(tau, T[i]);
    let t = 0;
    let x = 0;
    let last = 0;
    for (;;) {
      t += lambda > 0 ? rng.exponential(lambda) : Infinity;
      if (t > end) break;
      x++;
      last = t;
    }
    frequency[i] = x;
    recency[i] = last;
  }
  return { frequency, recency, T: Float64Array.from(T) };
}
