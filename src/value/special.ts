/**
 * Special functions the lifetime-value models need, written for this project: log-gamma, log-beta,
 * digamma, log-sum-exp helpers and the Gaussian hypergeometric function 2F1 by its power series.
 */
import { NtgError } from "../util/errors";

// Lanczos approximation, g = 7, n = 9 (coefficients as tabulated by Godfrey; Numerical Recipes 3rd ed. §6.1
// describes the method). Relative error below 1e-15 for x > 0.
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7; reflection Γ(x)Γ(1−x) = π / sin(πx) below 0.5). */
export function lgamma(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) {
    if (Number.isInteger(x)) return Infinity;
    // Reflection; only |Γ| is represented (callers in this module use positive arguments).
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  }
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lgamma(1 - x);
  const z = x - 1;
  let s = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) s += LANCZOS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return HALF_LOG_2PI + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). */
export function lbeta(a: number, b: number): number {
  return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/** ψ(x) = d/dx ln Γ(x) for x > 0: recurrence ψ(x) = ψ(x+1) − 1/x up to x ≥ 6, then the asymptotic series (Abramowitz & Stegun 6.3.18). */
export function digamma(x: number): number {
  if (!(x > 0)) throw new NtgError(`digamma: argument must be > 0, got ${x}`);
  let acc = 0;
  while (x < 6) {
    acc -= 1 / x;
    x += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  return (
    acc + Math.log(x) - 0.5 * inv - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132)))))
  );
}

/** ln(e^a + e^b) without overflow; −∞ operands are allowed. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/** ln(e^a − e^b) for a ≥ b (−∞ when equal): a + ln(1 − e^(b−a)) computed with expm1/log1p (Mächler 2012). */
export function logSubExp(a: number, b: number): number {
  if (b > a) throw new NtgError(`logSubExp: need a >= b, got a=${a}, b=${b}`);
  if (b === -Infinity) return a;
  const d = b - a; // ≤ 0
  if (d === 0) return -Infinity;
  return a + (d > -Math.LN2 ? Math.log(-Math.expm1(d)) : Math.log1p(-Math.exp(d)));
}

/** Options for {@link hyp2f1}. */
export interface Hyp2f1Options {
  /** relative tolerance on the truncated tail (default 1e-14) */
  tol?: number;
  /** maximum number of series terms before giving up (default 200,000) */
  maxTerms?: number;
}

/**
 * Gaussian hypergeometric function ₂F₁(a, b; c; z) = Σ_k (a)_k (b)_k / ((c)_k k!) z^k for |z| < 1
 * (Abramowitz & Stegun 15.1.1). The series is summed until a geometric bound on the remaining tail,
 * |term|·q/(1−q) with q the larger of the current term ratio and |z|, falls below `tol`·|sum|;
 * throws an {@link NtgError} for |z| ≥ 1, c a non-positive integer, or no convergence within `maxTerms`.
 */
export function hyp2f1(a: number, b: number, c: number, z: number, opts: Hyp2f1Options = {}): number {
  const tol = opts.tol ?? 1e-14;
  const maxTerms = opts.maxTerms ?? 200_000;
  if (![a, b, c, z].every(Number.isFinite)) throw new NtgError(`hyp2f1: non-finite argument (a=${a}, b=${b}, c=${c}, z=${z})`);
  if (!(Math.abs(z) < 1)) throw new NtgError(`hyp2f1: series needs |z| < 1, got z=${z}`);
  if (c <= 0 && Number.isInteger(c)) throw new NtgError(`hyp2f1: c must not be a non-positive integer, got ${c}`);
  if (z === 0) return 1;
  let term = 1;
  let sum = 1;
  for (let k = 0; k < maxTerms; k++) {
    const ratio = ((a + k) * (b + k)) / ((c + k) * (k + 1));
    term *= ratio * z;
    sum += term;
    if (term === 0) return sum; // a or b a non-positive integer: polynomial
    if (!Number.isFinite(sum)) throw new NtgError(`hyp2f1: series overflowed at term ${k + 1} (a=${a}, b=${b}, c=${c}, z=${z})`);
    // Once the ratio has settled (k past the parameters' scale) bound the tail geometrically.
    if (k + 1 > Math.abs(a) + Math.abs(b) + Math.abs(c)) {
      const nextRatio = Math.abs((((a + k + 1) * (b + k + 1)) / ((c + k + 1) * (k + 2))) * z);
      const q = Math.max(nextRatio, Math.abs(z));
      if (q < 1 && (Math.abs(term) * q) / (1 - q) <= tol * Math.abs(sum)) return sum;
    }
  }
  throw new NtgError(`hyp2f1: series did not converge in ${maxTerms} terms (a=${a}, b=${b}, c=${c}, z=${z})`);
}
