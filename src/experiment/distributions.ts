/**
 * Distribution functions used by the experimentation core, implemented here rather than taken
 * from jstat because the reference tests need ~1e-12 accuracy in the tails (jstat's normal cdf is
 * a 1e-7 erf approximation) and jstat ships no noncentral t good enough for exact power.
 *
 * Building blocks:
 * - log-gamma: Lanczos (1964) approximation, g = 7, 9 terms (coefficients as tabulated by
 *   P. Godfrey / Numerical Recipes 3rd ed. §6.1), relative error ≈ 1e-15.
 * - regularized incomplete gamma P(a,x), Q(a,x): power series for x < a + 1, otherwise the
 *   Legendre continued fraction evaluated by the modified Lentz method (DLMF 8.7.3, 8.9.2).
 * - regularized incomplete beta I_x(a,b): the continued fraction of DLMF 8.17.22, modified Lentz,
 *   with the symmetry I_x(a,b) = 1 − I_{1−x}(b,a) to stay in its fast-converging region.
 * Everything else (normal, Student t, chi-square, noncentral t) is expressed through these.
 */

const EPS = 1e-16;
const TINY = 1e-300;
const MAX_ITER = 100_000;
const LN_SQRT_2PI = 0.9189385332046727; // ln(√(2π))
const LN_SQRT_PI = 0.5723649429247001; // ln Γ(1/2) = ln √π

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7; see module note). */
export function logGamma(x: number): number {
  if (!(x > 0)) return Number.NaN;
  if (x === 0.5) return LN_SQRT_PI;
  if (x === 1 || x === 2) return 0;
  if (x < 0.5) {
    // reflection keeps the series in its accurate range: Γ(x)Γ(1−x) = π / sin(πx)
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  }
  const z = x - 1;
  let s = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) s += LANCZOS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return LN_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/** Regularized lower incomplete gamma P(a, x) (series / continued fraction, DLMF 8.7.3 and 8.9.2). */
export function regularizedGammaP(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || a <= 0) return Number.NaN;
  if (x <= 0) return 0;
  if (x === Infinity) return 1;
  return x < a + 1 ? gammaSeries(a, x) : 1 - gammaContinuedFraction(a, x);
}

/** Regularized upper incomplete gamma Q(a, x) = 1 − P(a, x), accurate in the far tail. */
export function regularizedGammaQ(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || a <= 0) return Number.NaN;
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - gammaSeries(a, x) : gammaContinuedFraction(a, x);
}

function gammaSeries(a: number, x: number): number {
  // P(a,x) = x^a e^{-x} / Γ(a+1) · Σ x^n / ((a+1)…(a+n))
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < MAX_ITER; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

function gammaContinuedFraction(a: number, x: number): number {
  // Q(a,x) = x^a e^{-x}/Γ(a) · 1/(x+1−a− 1(1−a)/(x+3−a− 2(2−a)/(x+5−a− …))), modified Lentz
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/**
 * Regularized incomplete beta I_x(a, b) (continued fraction DLMF 8.17.22, modified Lentz).
 * `y` is 1 − x when the caller knows it more accurately than `1 - x` (e.g. t-distribution tails).
 */
export function regularizedBeta(x: number, a: number, b: number, y: number = 1 - x): number {
  if (Number.isNaN(x) || Number.isNaN(a) || Number.isNaN(b) || a <= 0 || b <= 0) return Number.NaN;
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  // The fraction converges quickly for x < (a+1)/(a+b+2); otherwise use the mirror image.
  if (x > (a + 1) / (a + b + 2)) return 1 - betaContinuedFraction(y, b, a, x);
  return betaContinuedFraction(x, a, b, y);
}

function betaContinuedFraction(x: number, a: number, b: number, y: number): number {
  const logPrefactor = a * Math.log(x) + b * Math.log(y) - logBeta(a, b);
  let c = 1;
  let d = 0;
  let f = 1;
  for (let j = 1; j < MAX_ITER; j++) {
    const m = j >> 1;
    const coef =
      j % 2 === 1
        ? -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))
        : (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 + coef * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + coef / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(logPrefactor) / (a * f);
}

/** Standard normal density φ(x). */
export function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x - LN_SQRT_2PI);
}

/** Standard normal cdf Φ(x) via Φ(x) = ½·Q(½, x²/2) for x < 0 (relative accuracy ≈ 1e-15 in both tails). */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const h = 0.5 * regularizedGammaQ(0.5, 0.5 * x * x);
  return x < 0 ? h : 1 - h;
}

/** Standard normal survival 1 − Φ(x), computed without cancellation for large x. */
export function normalSf(x: number): number {
  return normalCdf(-x);
}

// Acklam's rational approximation (P. J. Acklam, "An algorithm for computing the inverse normal
// cumulative distribution function", 2003), relative error 1.15e-9, then refined by Halley steps.
const ACK_A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const ACK_B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const ACK_C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const ACK_D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

/** Standard normal quantile Φ⁻¹(p): Acklam (2003) initial value + Halley refinement on Φ, full double precision. */
export function normalQuantile(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return Number.NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p > 0.5) return -normalQuantile(1 - p);
  let x: number;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((ACK_C[0] * q + ACK_C[1]) * q + ACK_C[2]) * q + ACK_C[3]) * q + ACK_C[4]) * q + ACK_C[5]) /
      ((((ACK_D[0] * q + ACK_D[1]) * q + ACK_D[2]) * q + ACK_D[3]) * q + 1);
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((ACK_A[0] * r + ACK_A[1]) * r + ACK_A[2]) * r + ACK_A[3]) * r + ACK_A[4]) * r + ACK_A[5]) * q) /
      (((((ACK_B[0] * r + ACK_B[1]) * r + ACK_B[2]) * r + ACK_B[3]) * r + ACK_B[4]) * r + 1);
  }
  // Halley's method on f(x) = Φ(x) − p; two steps take 1e-9 to machine precision.
  for (let i = 0; i < 3; i++) {
    const e = normalCdf(x) - p;
    const u = e * Math.sqrt(2 * Math.PI) * Math.exp(0.5 * x * x);
    const next = x - u / (1 + 0.5 * x * u);
    if (next === x) break;
    x = next;
  }
  return x;
}

/** Student t density with `df` degrees of freedom. */
export function studentTPdf(t: number, df: number): number {
  if (df === Infinity) return normalPdf(t);
  return Math.exp(logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI) - ((df + 1) / 2) * Math.log1p((t * t) / df));
}

/** Student t cdf via P(|T| > |t|) = I_{ν/(ν+t²)}(ν/2, ½) (Abramowitz & Stegun 26.7.1 / 26.5.27). */
export function studentTCdf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return Number.NaN;
  if (df === Infinity) return normalCdf(t);
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const t2 = t * t;
  const tail = 0.5 * regularizedBeta(df / (df + t2), df / 2, 0.5, t2 / (df + t2));
  return t > 0 ? 1 - tail : tail;
}

/** Student t survival P(T > t), without cancellation in the upper tail. */
export function studentTSf(t: number, df: number): number {
  return studentTCdf(-t, df);
}

/**
 * Student t quantile: closed forms for ν = 1, 2; otherwise a Cornish–Fisher start (A&S 26.7.5)
 * refined by Newton's method on the tail probability, safeguarded by bisection.
 */
export function studentTQuantile(p: number, df: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1 || !(df > 0)) return Number.NaN;
  if (df === Infinity) return normalQuantile(p);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  if (df === 1) return Math.tan(Math.PI * (p - 0.5));
  if (df === 2) return (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
  const sign = p < 0.5 ? -1 : 1;
  const target = p < 0.5 ? p : 1 - p; // upper-tail probability at |t|
  const z = -normalQuantile(target);
  const z3 = z * z * z;
  let t = z + (z3 + z) / (4 * df) + (5 * z3 * z * z + 16 * z3 + 3 * z) / (96 * df * df);
  // bracket [lo, hi] with tail(lo) > target > tail(hi)
  let lo = 0;
  let hi = Math.max(t, 1);
  while (studentTSf(hi, df) > target) {
    lo = hi;
    hi *= 2;
  }
  if (!(t > lo && t < hi)) t = 0.5 * (lo + hi);
  for (let i = 0; i < 200; i++) {
    const f = studentTSf(t, df) - target;
    if (f === 0) break;
    if (f > 0) lo = t;
    else hi = t;
    let next = t + f / studentTPdf(t, df); // d(tail)/dt = −pdf
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (Math.abs(next - t) <= 1e-15 * Math.abs(t)) {
      t = next;
      break;
    }
    t = next;
  }
  return sign * t;
}

/** Chi-square survival P(X > x) = Q(df/2, x/2). */
export function chiSquareSf(x: number, df: number): number {
  if (Number.isNaN(x) || !(df > 0)) return Number.NaN;
  return regularizedGammaQ(df / 2, x / 2);
}

/**
 * Noncentral t cdf P(T ≤ t; ν, δ) from the Poisson-mixture series of Guenther (1978) as used in
 * Lenth's AS 243 (1989):
 *   P = Φ(−δ) + ½ Σ_j [ p_j I_x(j+½, ν/2) + q_j I_x(j+1, ν/2) ],  x = t²/(t²+ν), t ≥ 0,
 *   p_j = e^{−λ} λ^j / j!,  q_j = δ/√2 · e^{−λ} λ^j / Γ(j+3/2),  λ = δ²/2.
 * Summed outward from the Poisson mode in both directions (Benton & Krishnamoorthy 2003), so large
 * δ neither underflows nor needs thousands of terms. t < 0 uses P(T ≤ t; δ) = 1 − P(T ≤ −t; −δ).
 */
export function noncentralTCdf(t: number, df: number, ncp: number): number {
  if (Number.isNaN(t) || Number.isNaN(ncp) || !(df > 0)) return Number.NaN;
  if (ncp === 0) return studentTCdf(t, df);
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  if (t < 0) return 1 - noncentralTCdf(-t, df, -ncp);
  const base = normalCdf(-ncp);
  if (t === 0) return base;
  const t2 = t * t;
  const x = t2 / (t2 + df);
  const y = df / (t2 + df);
  const lambda = 0.5 * ncp * ncp;
  const halfDf = df / 2;
  const logLambda = Math.log(lambda);
  const sqrtHalfDelta = ncp / Math.SQRT2;
  const term = (j: number): number => {
    const logW = -lambda + j * logLambda;
    const pj = Math.exp(logW - logGamma(j + 1));
    const qj = sqrtHalfDelta * Math.exp(logW - logGamma(j + 1.5));
    return pj * regularizedBeta(x, j + 0.5, halfDf, y) + qj * regularizedBeta(x, j + 1, halfDf, y);
  };
  const mode = Math.floor(lambda);
  let sum = term(mode);
  // Poisson weights bound each term's size (I ≤ 1); stop when the remaining weight is negligible.
  for (let j = mode + 1; j < mode + MAX_ITER; j++) {
    const s = term(j);
    sum += s;
    const w = Math.exp(-lambda + j * logLambda - logGamma(j + 1)) * (1 + Math.abs(sqrtHalfDelta));
    if (j > lambda && w < 1e-17) break;
  }
  for (let j = mode - 1; j >= 0; j--) {
    const s = term(j);
    sum += s;
    const w = Math.exp(-lambda + j * logLambda - logGamma(j + 1)) * (1 + Math.abs(sqrtHalfDelta));
    if (w < 1e-17) break;
  }
  const p = base + 0.5 * sum;
  return Math.min(1, Math.max(0, p));
}
