/**
 * Gamma-Gamma model of spend per transaction: Fader, Hardie & Lee (2005), "RFM and CLV: using
 * iso-value curves for customer base analysis", J. Marketing Research 42(4), 415–430, and Fader &
 * Hardie's note "The Gamma-Gamma Model of Monetary Value" (2013).
 *
 * Each transaction's value z ~ gamma(p, rate ν), with ν ~ gamma(q, rate γ) across customers; the
 * mean of x transactions, z̄, is then gamma(px, rate xν).
 */
import { InputError, NtgError } from "../util/errors";
import type { Rng } from "../util/rng";
import { fitPositiveParams, type FitDiagnostics, type FitOptions } from "./fit";
import { lgamma } from "./special";

/** Gamma-Gamma parameters p, q and γ (called `v` as in the lifetimes library). */
export interface GammaGammaParams {
  p: number;
  q: number;
  v: number;
}

/** A fitted Gamma-Gamma model. */
export interface GammaGammaFit extends FitDiagnostics {
  params: GammaGammaParams;
}

function checkParams(pr: GammaGammaParams): void {
  for (const k of ["p", "q", "v"] as const) {
    if (!(pr[k] > 0 && Number.isFinite(pr[k]))) throw new NtgError(`Gamma-Gamma: parameter ${k} must be finite and > 0, got ${pr[k]}`);
  }
}

/**
 * Log-density of a customer's mean spend z̄ over x transactions (FHL 2005 "RFM and CLV" eq. 3; Fader-Hardie note eq. 4):
 * ln f(z̄|p,q,γ;x) = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln γ + (px−1) ln z̄ + px ln x − (px+q) ln(γ + x z̄).
 */
export function gammaGammaIndividualLogLikelihood(pr: GammaGammaParams, x: number, meanSpend: number): number {
  const { p, q, v } = pr;
  const px = p * x;
  return (
    lgamma(px + q) - lgamma(px) - lgamma(q) + q * Math.log(v) + (px - 1) * Math.log(meanSpend) + px * Math.log(x) - (px + q) * Math.log(v + x * meanSpend)
  );
}

function repeatBuyers(frequency: Float64Array, monetary: Float64Array): { x: Float64Array; m: Float64Array } {
  if (frequency.length !== monetary.length) {
    throw new InputError(`Gamma-Gamma: frequency and monetary differ in length (${frequency.length}, ${monetary.length})`);
  }
  const xs: number[] = [];
  const ms: number[] = [];
  for (let i = 0; i < frequency.length; i++) {
    const x = frequency[i];
    if (!(Number.isInteger(x) && x >= 0)) throw new InputError(`Gamma-Gamma, row ${i}: frequency must be a non-negative integer`, { column: "frequency", value: String(x) });
    if (x === 0) continue;
    const m = monetary[i];
    if (!(m > 0 && Number.isFinite(m))) {
      throw new InputError(`Gamma-Gamma, row ${i}: mean spend of a repeat buyer must be finite and > 0`, { column: "monetary", value: String(m) });
    }
    xs.push(x);
    ms.push(m);
  }
  return { x: Float64Array.from(xs), m: Float64Array.from(ms) };
}

/** Total Gamma-Gamma log-likelihood over the repeat buyers (frequency > 0) of the data. */
export function gammaGammaLogLikelihood(pr: GammaGammaParams, frequency: Float64Array, monetary: Float64Array): number {
  checkParams(pr);
  const { x, m } = repeatBuyers(frequency, monetary);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += gammaGammaIndividualLogLikelihood(pr, x[i], m[i]);
  return s;
}

/**
 * Maximum-likelihood Gamma-Gamma fit on the customers with at least one repeat purchase (FHL 2005
 * "RFM and CLV" §"Spend"), monetary = mean value of the repeat transactions.
 */
export function fitGammaGamma(frequency: Float64Array, monetary: Float64Array, opts: FitOptions = {}): GammaGammaFit {
  const { x, m } = repeatBuyers(frequency, monetary);
  if (x.length < 2) throw new InputError(`Gamma-Gamma: need at least 2 repeat buyers to fit, got ${x.length}`);
  const ll = (th: Float64Array): number => {
    const pr = { p: th[0], q: th[1], v: th[2] };
    let s = 0;
    for (let i = 0; i < x.length; i++) s += gammaGammaIndividualLogLikelihood(pr, x[i], m[i]);
    return s;
  };
  const mean = m.reduce((a, v) => a + v, 0) / m.length;
  const { theta, diagnostics } = fitPositiveParams("Gamma-Gamma", ["p", "q", "v"], ll, x.length, [1, 2, Math.max(1e-3, mean)], opts);
  return { params: { p: theta[0], q: theta[1], v: theta[2] }, ...diagnostics };
}

/**
 * Conditional expected mean spend per transaction (FHL 2005 "RFM and CLV" eq. 5):
 * E(Z | z̄, x) = (γ + x z̄) p / (px + q − 1) — a weighted average of the population mean pγ/(q−1)
 * and the customer's observed mean z̄. For x = 0 it is the population mean. Needs q > 1.
 */
export function gammaGammaConditionalExpectedSpend(pr: GammaGammaParams, x: number, meanSpend: number): number {
  checkParams(pr);
  if (!(pr.q > 1)) throw new NtgError(`Gamma-Gamma: the expected spend is infinite unless q > 1 (q = ${pr.q})`);
  if (x === 0) return (pr.p * pr.v) / (pr.q - 1);
  return ((pr.v + x * meanSpend) * pr.p) / (pr.p * x + pr.q - 1);
}

/** {@link gammaGammaConditionalExpectedSpend} for every customer. */
export function gammaGammaConditionalExpectedSpendAll(pr: GammaGammaParams, frequency: Float64Array, monetary: Float64Array): Float64Array {
  if (frequency.length !== monetary.length) throw new InputError("Gamma-Gamma: frequency and monetary differ in length");
  const out = new Float64Array(frequency.length);
  for (let i = 0; i < out.length; i++) out[i] = gammaGammaConditionalExpectedSpend(pr, frequency[i], monetary[i]);
  return out;
}

/**
 * Simulates mean spend for customers with the given transaction counts (the model's story):
 * ν ~ gamma(q, rate γ), each transaction ~ gamma(p, rate ν); returns the mean (0 where x = 0).
 */
export function simulateGammaGamma(pr: GammaGammaParams, frequency: Float64Array, rng: Rng): Float64Array {
  checkParams(pr);
  const out = new Float64Array(frequency.length);
  for (let i = 0; i < frequency.length; i++) {
    const x = frequency[i];
    if (x <= 0) continue;
    const nu = rng.gamma(pr.q, 1 / pr.v);
    let s = 0;
    for (let k = 0; k < x; k++) s += rng.gamma(pr.p, 1 / nu);
    out[i] = s / x;
  }
  return out;
}
