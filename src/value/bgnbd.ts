/**
 * BG/NBD ("beta-geometric / negative binomial distribution") model of repeat purchasing in a
 * non-contractual setting: Fader, Hardie & Lee (2005), "Counting your customers the easy way:
 * an alternative to the Pareto/NBD model", Marketing Science 24(2), 275–284.
 *
 * While alive a customer buys at Poisson rate λ ~ gamma(r, α); after each repeat purchase she
 * drops out with probability p ~ beta(a, b).
 */
import { NtgError } from "../util/errors";
import type { Rng } from "../util/rng";
import { fitPositiveParams, type FitDiagnostics, type FitOptions } from "./fit";
import { collapseRfm, type RfmData, validateRfm } from "./rfm";
import { hyp2f1, lgamma, logAddExp } from "./special";

/** BG/NBD parameters: purchase-rate gamma (shape r, rate α) and dropout beta (a, b). */
export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

/** A fitted BG/NBD model. */
export interface BgNbdFit extends FitDiagnostics {
  params: BgNbdParams;
}

function checkParams(p: BgNbdParams): void {
  for (const k of ["r", "alpha", "a", "b"] as const) {
    if (!(p[k] > 0 && Number.isFinite(p[k]))) throw new NtgError(`BG/NBD: parameter ${k} must be finite and > 0, got ${p[k]}`);
  }
}

/**
 * Log-likelihood of one customer (FHL 2005 eq. 6): ln A1 + ln A2 + ln(A3 + δ(x>0)·A4) with
 * A1 = Γ(r+x)α^r/Γ(r), A2 = Γ(a+b)Γ(b+x)/(Γ(b)Γ(a+b+x)), A3 = (α+T)^−(r+x),
 * A4 = a/(b+x−1)·(α+t_x)^−(r+x); the last sum is done by log-sum-exp.
 */
export function bgNbdIndividualLogLikelihood(p: BgNbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, a, b } = p;
  const lnA1 = lgamma(r + x) - lgamma(r) + r * Math.log(alpha);
  const lnA2 = lgamma(a + b) + lgamma(b + x) - lgamma(b) - lgamma(a + b + x);
  const lnA3 = -(r + x) * Math.log(alpha + T);
  const tail = x > 0 ? logAddExp(lnA3, Math.log(a) - Math.log(b + x - 1) - (r + x) * Math.log(alpha + tx)) : lnA3;
  return lnA1 + lnA2 + tail;
}

/** Total BG/NBD log-likelihood Σ_i ln L(r, α, a, b | x_i, t_x,i, T_i) (FHL 2005 eq. 6). */
export function bgNbdLogLikelihood(p: BgNbdParams, data: RfmData): number {
  checkParams(p);
  let s = 0;
  const n = data.frequency.length;
  for (let i = 0; i < n; i++) s += bgNbdIndividualLogLikelihood(p, data.frequency[i], data.recency[i], data.T[i]);
  return s;
}

/**
 * Maximum-likelihood BG/NBD fit (FHL 2005 §4) by bounded optimisation of log-parameters.
 * Throws NtgError on non-convergence or a NaN likelihood, naming the parameters reached.
 */
export function fitBgNbd(data: RfmData, opts: FitOptions = {}): BgNbdFit {
  const n = validateRfm(data, "BG/NBD");
  // Customers with the same (x, t_x, T) contribute identically: collapse them to weighted rows, and
  // compute the gamma-function terms once per distinct x (the same sum as bgNbdIndividualLogLikelihood).
  const rows = collapseRfm(data);
  const xs = [...new Set(rows.x)].sort((u, v) => u - v);
  const xIndex = Int32Array.from(rows.x, (x) => xs.indexOf(x));
  const lead = new Float64Array(xs.length);
  const lnA4c = new Float64Array(xs.length);
  const ll = (th: Float64Array): number => {
    const [r, alpha, a, b] = th;
    const base = -lgamma(r) + r * Math.log(alpha) + lgamma(a + b) - lgamma(b);
    for (let k = 0; k < xs.length; k++) {
      const x = xs[k];
      lead[k] = base + lgamma(r + x) + lgamma(b + x) - lgamma(a + b + x);
      lnA4c[k] = x > 0 ? Math.log(a) - Math.log(b + x - 1) : -Infinity;
    }
    let s = 0;
    for (let i = 0; i < rows.w.length; i++) {
      const k = xIndex[i];
      const rx = r + rows.x[i];
      const lnA3 = -rx * Math.log(alpha + rows.T[i]);
      const tail = rows.x[i] > 0 ? logAddExp(lnA3, lnA4c[k] - rx * Math.log(alpha + rows.tx[i])) : lnA3;
      s += rows.w[i] * (lead[k] + tail);
    }
    return s;
  };
  const meanT = data.T.reduce((a, v) => a + v, 0) / n;
  const { theta, diagnostics } = fitPositiveParams("BG/NBD", ["r", "alpha", "a", "b"], ll, n, [1, Math.max(1, meanT / 4), 1, 1], opts);
  return { params: { r: theta[0], alpha: theta[1], a: theta[2], b: theta[3] }, ...diagnostics };
}

/**
 * P(alive | x, t_x, T) = 1 / (1 + δ(x>0)·a/(b+x−1)·((α+T)/(α+t_x))^(r+x)) (FHL 2005 eq. 13; the
 * δ(x>0) indicator is from Fader-Hardie-Lee's note "Computing P(alive) using the BG/NBD model").
 * Equals 1 for a customer with no repeat purchases.
 */
export function bgNbdProbabilityAlive(p: BgNbdParams, x: number, tx: number, T: number): number {
  checkParams(p);
  if (x === 0) return 1;
  const lr = Math.log(p.a) - Math.log(p.b + x - 1) + (p.r + x) * (Math.log(p.alpha + T) - Math.log(p.alpha + tx));
  return 1 / (1 + Math.exp(lr));
}

/**
 * Expected number of purchases of a new customer in (0, t] (FHL 2005 eq. 9):
 * E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b; a+b−1; t/(α+t))].
 */
export function bgNbdExpectedPurchasesNew(p: BgNbdParams, t: number): number {
  checkParams(p);
  if (!(t >= 0)) throw new NtgError(`BG/NBD: t must be >= 0, got ${t}`);
  if (p.a === 1) throw new NtgError("BG/NBD: expected purchases need a != 1 (the closed form has a − 1 in the denominator)");
  if (t === 0) return 0;
  const z = t / (p.alpha + t);
  const h = hyp2f1(p.r, p.b, p.a + p.b - 1, z);
  return ((p.a + p.b - 1) / (p.a - 1)) * (1 - Math.exp(p.r * Math.log(p.alpha / (p.alpha + t))) * h);
}

/**
 * Expected purchases in (T, T+t] for a customer with history (x, t_x, T) (FHL 2005 eq. 10):
 * E[Y(t)|·] = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
 *            / (1 + δ(x>0)·a/(b+x−1)·((α+T)/(α+t_x))^(r+x)).
 */
export function bgNbdConditionalExpected(p: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  checkParams(p);
  if (!(t >= 0)) throw new NtgError(`BG/NBD: t must be >= 0, got ${t}`);
  if (p.a === 1) throw new NtgError("BG/NBD: expected purchases need a != 1 (the closed form has a − 1 in the denominator)");
  if (t === 0) return 0;
  const { r, alpha, a, b } = p;
  const z = t / (alpha + T + t);
  const h = hyp2f1(r + x, b + x, a + b + x - 1, z);
  const num = ((a + b + x - 1) / (a - 1)) * (1 - Math.exp((r + x) * Math.log((alpha + T) / (alpha + T + t))) * h);
  return num * bgNbdProbabilityAlive(p, x, tx, T);
}

/** {@link bgNbdConditionalExpected} for every customer of `data`. */
export function bgNbdConditionalExpectedAll(p: BgNbdParams, t: number, data: RfmData): Float64Array {
  const n = data.frequency.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = bgNbdConditionalExpected(p, t, data.frequency[i], data.recency[i], data.T[i]);
  return out;
}

/** {@link bgNbdProbabilityAlive} for every customer of `data`. */
export function bgNbdProbabilityAliveAll(p: BgNbdParams, data: RfmData): Float64Array {
  const n = data.frequency.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = bgNbdProbabilityAlive(p, data.frequency[i], data.recency[i], data.T[i]);
  return out;
}

/**
 * Simulates BG/NBD customers observed for T_i time units (the model's data-generating story, FHL 2005 §3):
 * λ ~ gamma(r, rate α), p ~ beta(a, b); exponential inter-purchase times; after each repeat
 * purchase the customer drops out with probability p.
 */
export function simulateBgNbd(p: BgNbdParams, T: Float64Array, rng: Rng): RfmData {
  checkParams(p);
  const n = T.length;
  const frequency = new Float64Array(n);
  const recency = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const lambda = rng.gamma(p.r, 1 / p.alpha);
    const drop = rng.beta(p.a, p.b);
    let t = 0;
    let x = 0;
    let last = 0;
    for (;;) {
      t += lambda > 0 ? rng.exponential(lambda) : Infinity;
      if (t > T[i]) break;
      x++;
      last = t;
      if (rng.bernoulli(drop)) break;
    }
    frequency[i] = x;
    recency[i] = last;
  }
  return { frequency, recency, T: Float64Array.from(T) };
}
