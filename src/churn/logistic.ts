/**
 * L2-regularised, class-weighted logistic regression fitted by Newton's method (IRLS) with a
 * backtracking line search (Hastie, Tibshirani & Friedman, ESL 2nd ed. §4.4.1; Nocedal & Wright
 * 2006 §3.1). Features are standardised on the training rows, so coefficients are per standard
 * deviation and comparable across features; constant features are dropped with a warning.
 *
 * Objective (β₀ not penalised):  F(β₀, β) = (1/Σw) Σᵢ wᵢ ℓ(yᵢ, β₀ + zᵢ·β) + (λ/2)‖β‖²,
 * ℓ the log loss, zᵢ the standardised row, wᵢ = sample weight × class weight.
 */
import { InputError, NtgError } from "../util/errors";
import { quietLogger, type Logger } from "../util/log";

/** Options of {@link fitLogistic}. */
export interface LogisticOptions {
  /** λ of the L2 penalty on standardised coefficients (default 1e-3) */
  l2?: number;
  /** "none" (default), "balanced" (wₖ = n / (2 nₖ)) or the weight of class 1 (class 0 has weight 1) */
  classWeight?: "none" | "balanced" | number;
  /** per-row weights, multiplied with the class weights */
  sampleWeight?: Float64Array;
  /** Newton iterations before giving up (default 100) */
  maxIterations?: number;
  /** stop when the gradient's ∞-norm is at most this (default 1e-8), or when the Newton decrement falls below double precision */
  tolerance?: number;
  /** column names (default x0, x1, …) */
  names?: string[];
  logger?: Logger;
  /** label used in messages (default "logistic regression") */
  label?: string;
}

/** A fitted model on standardised features. */
export interface LogisticModel {
  kind: "logistic";
  /** names of the kept columns */
  names: string[];
  /** index of each kept column in the input matrix */
  columns: Int32Array;
  /** number of columns of the input matrix */
  inputColumns: number;
  /** training mean and standard deviation (population) of each kept column */
  mean: Float64Array;
  scale: Float64Array;
  intercept: number;
  /** coefficients per standard deviation of each kept column */
  coef: Float64Array;
  /** names of the columns dropped as constant */
  dropped: string[];
  l2: number;
  classWeights: { negative: number; positive: number };
  iterations: number;
  /** penalised objective at the solution */
  objective: number;
  gradientNorm: number;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Solves A x = b for symmetric positive-definite A (row-major m × m) by Cholesky; returns null if not PD. */
export function choleskySolve(A: Float64Array, b: Float64Array, m: number): Float64Array | null {
  const L = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * m + j];
      for (let k = 0; k < j; k++) s -= L[i * m + k] * L[j * m + k];
      if (i === j) {
        if (!(s > 0)) return null;
        L[i * m + i] = Math.sqrt(s);
      } else L[i * m + j] = s / L[j * m + j];
    }
  }
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * m + k] * y[k];
    y[i] = s / L[i * m + i];
  }
  const x = new Float64Array(m);
  for (let i = m - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < m; k++) s -= L[k * m + i] * x[k];
    x[i] = s / L[i * m + i];
  }
  return x;
}

/** Class weights (negative, positive) for a 0/1 label vector. */
export function classWeightsFor(y: Float64Array, mode: "none" | "balanced" | number): { negative: number; positive: number } {
  if (mode === "none") return { negative: 1, positive: 1 };
  if (typeof mode === "number") return { negative: 1, positive: mode };
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i];
  const n = y.length;
  return { negative: n / (2 * (n - pos)), positive: n / (2 * pos) };
}

/**
 * Column means and population standard deviations, and which columns are constant
 * (sd ≤ 1e-12 · max(1, |mean|)): those cannot be standardised and carry no information.
 */
export function columnStats(X: Float64Array, n: number, p: number): { mean: Float64Array; sd: Float64Array; constant: Uint8Array } {
  const mean = new Float64Array(p);
  const sd = new Float64Array(p);
  const constant = new Uint8Array(p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) mean[j] += X[i * p + j];
  for (let j = 0; j < p; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      const dlt = X[i * p + j] - mean[j];
      sd[j] += dlt * dlt;
    }
  }
  for (let j = 0; j < p; j++) {
    sd[j] = Math.sqrt(sd[j] / n);
    if (!(sd[j] > 1e-12 * Math.max(1, Math.abs(mean[j])))) constant[j] = 1;
  }
  return { mean, sd, constant };
}

/** Checks a 0/1 label vector has both classes; returns the positives. */
export function requireBothClasses(y: Float64Array, what: string): number {
  let pos = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v !== 0 && v !== 1) throw new InputError(`${what}: label at row ${i} must be 0 or 1`, { value: String(v) });
    pos += v;
  }
  if (y.length === 0) throw new InputError(`${what}: no training rows`);
  if (pos === 0 || pos === y.length) {
    throw new InputError(`${what}: every training label is ${pos === 0 ? "0 (nobody churned)" : "1 (everybody churned)"} (n=${y.length}); a churn model needs both classes`);
  }
  return pos;
}

/**
 * Fits the model by Newton–Raphson on the penalised weighted log loss. Throws an InputError for
 * single-class labels or non-finite features, and an NtgError naming the model and the iteration
 * when it does not converge (e.g. separable data with λ = 0).
 */
export function fitLogistic(X: Float64Array, n: number, p: number, y: Float64Array, opts: LogisticOptions = {}): LogisticModel {
  const label = opts.label ?? "logistic regression";
  if (X.length !== n * p) throw new InputError(`${label}: X has ${X.length} values, expected ${n} × ${p}`);
  if (y.length !== n) throw new InputError(`${label}: ${n} rows but ${y.length} labels`);
  for (let i = 0; i < X.length; i++) {
    if (!Number.isFinite(X[i])) throw new InputError(`${label}: feature ${opts.names?.[i % p] ?? i % p} at row ${Math.floor(i / p)} is not finite`, { value: String(X[i]) });
  }
  requireBothClasses(y, label);
  const l2 = opts.l2 ?? 1e-3;
  if (!(l2 >= 0)) throw new InputError(`${label}: l2 must be >= 0, got ${l2}`);
  const names = opts.names ?? Array.from({ length: p }, (_, j) => `x${j}`);
  const log = opts.logger ?? quietLogger;
  const maxIter = opts.maxIterations ?? 100;
  const tol = opts.tolerance ?? 1e-8;

  const { mean, sd, constant } = columnStats(X, n, p);
  const keep: number[] = [];
  const dropped: string[] = [];
  for (let j = 0; j < p; j++) {
    if (constant[j]) dropped.push(names[j]);
    else keep.push(j);
  }
  if (dropped.length) log.warn("churn.constant_features_dropped", { model: label, features: dropped });
  const q = keep.length;
  const m = q + 1;
  // standardised design with a leading 1 column, row-major n × m
  const Z = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    Z[i * m] = 1;
    for (let c = 0; c < q; c++) {
      const j = keep[c];
      Z[i * m + 1 + c] = (X[i * p + j] - mean[j]) / sd[j];
    }
  }
  const cw = classWeightsFor(y, opts.classWeight ?? "none");
  const w = new Float64Array(n);
  let W = 0;
  for (let i = 0; i < n; i++) {
    const sw = opts.sampleWeight ? opts.sampleWeight[i] : 1;
    if (!(sw >= 0 && Number.isFinite(sw))) throw new InputError(`${label}: sample weight at row ${i} must be finite and >= 0`, { value: String(sw) });
    w[i] = sw * (y[i] === 1 ? cw.positive : cw.negative);
    W += w[i];
  }
  if (!(W > 0)) throw new InputError(`${label}: the weights sum to 0`);

  const theta = new Float64Array(m);
  // start at the weighted base rate so the first step is small
  let wp = 0;
  for (let i = 0; i < n; i++) wp += w[i] * y[i];
  theta[0] = Math.log(wp / (W - wp));
  const eta = new Float64Array(n);
  const objective = (th: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      let z = 0;
      const o = i * m;
      for (let c = 0; c < m; c++) z += Z[o + c] * th[c];
      s += w[i] * (y[i] === 1 ? softplus(-z) : softplus(z));
    }
    let pen = 0;
    for (let c = 1; c < m; c++) pen += th[c] * th[c];
    return s / W + 0.5 * l2 * pen;
  };
  let F = objective(theta);
  const g = new Float64Array(m);
  const H = new Float64Array(m * m);
  const trial = new Float64Array(m);
  let it = 0;
  let gnorm = Infinity;
  for (;; it++) {
    g.fill(0);
    H.fill(0);
    for (let i = 0; i < n; i++) {
      const o = i * m;
      let z = 0;
      for (let c = 0; c < m; c++) z += Z[o + c] * theta[c];
      eta[i] = z;
      const pr = sigmoid(z);
      const r = (w[i] * (pr - y[i])) / W;
      const h = (w[i] * pr * (1 - pr)) / W;
      for (let a = 0; a < m; a++) {
        const za = Z[o + a];
        g[a] += r * za;
        const hz = h * za;
        // lower triangle only; mirrored below
        for (let b = 0; b <= a; b++) H[a * m + b] += hz * Z[o + b];
      }
    }
    for (let a = 1; a < m; a++) {
      g[a] += l2 * theta[a];
      H[a * m + a] += l2;
    }
    for (let a = 0; a < m; a++) for (let b = 0; b < a; b++) H[b * m + a] = H[a * m + b];
    gnorm = 0;
    for (let a = 0; a < m; a++) gnorm = Math.max(gnorm, Math.abs(g[a]));
    if (gnorm <= tol) break;
    if (it >= maxIter) {
      throw new NtgError(
        `${label} (Newton/IRLS) did not converge after ${it} iterations: gradient norm ${gnorm.toExponential(3)} > tolerance ${tol}` +
          (l2 === 0 ? " (with l2 = 0 separable data has no finite solution; set a positive l2)" : ""),
      );
    }
    const neg = Float64Array.from(g, (v) => -v);
    let step = choleskySolve(H, neg, m);
    if (!step) {
      // singular Hessian (e.g. collinear columns with λ = 0): a tiny ridge keeps the step defined
      for (let a = 0; a < m; a++) H[a * m + a] += 1e-10;
      step = choleskySolve(H, neg, m);
      if (!step) throw new NtgError(`${label}: Hessian not positive definite at iteration ${it}`);
    }
    let gd = 0;
    for (let a = 0; a < m; a++) gd += g[a] * step[a];
    // Newton decrement −g·step / 2 estimates F − F*: below double precision there is nothing left to gain
    if (-gd / 2 <= 1e-15 * Math.max(1, Math.abs(F))) break;
    let t = 1;
    let accepted = false;
    while (t >= 1e-12) {
      for (let a = 0; a < m; a++) trial[a] = theta[a] + t * step[a];
      const Ft = objective(trial);
      if (Ft <= F + 1e-4 * t * gd) {
        theta.set(trial);
        F = Ft;
        accepted = true;
        break;
      }
      t /= 2;
    }
    if (!accepted) {
      // no decrease possible at double precision: the point is optimal to machine accuracy
      if (gnorm <= Math.max(tol, 1e-7)) break;
      throw new NtgError(`${label} (Newton/IRLS): line search failed at iteration ${it} with gradient norm ${gnorm.toExponential(3)}`);
    }
  }
  for (let a = 1; a < m; a++) {
    // a coefficient of 50 per standard deviation means (quasi-)separable data, not an estimate
    if (Math.abs(theta[a]) > 50) {
      throw new NtgError(`${label} (Newton/IRLS) diverges at iteration ${it}: coefficient of ${names[keep[a - 1]]} reached ${theta[a].toFixed(1)} (separable data; set a positive l2)`);
    }
  }
  return {
    kind: "logistic",
    names: keep.map((j) => names[j]),
    columns: Int32Array.from(keep),
    inputColumns: p,
    mean: Float64Array.from(keep, (j) => mean[j]),
    scale: Float64Array.from(keep, (j) => sd[j]),
    intercept: theta[0],
    coef: theta.slice(1),
    dropped,
    l2,
    classWeights: cw,
    iterations: it,
    objective: F,
    gradientNorm: gnorm,
  };
}

/** Log-odds β₀ + z·β for each row of X (n × inputColumns). */
export function logisticDecision(model: LogisticModel, X: Float64Array, n: number): Float64Array {
  const p = model.inputColumns;
  if (X.length !== n * p) throw new InputError(`logistic prediction: X has ${X.length} values, expected ${n} × ${p}`);
  const out = new Float64Array(n);
  const q = model.columns.length;
  for (let i = 0; i < n; i++) {
    let z = model.intercept;
    for (let c = 0; c < q; c++) z += model.coef[c] * ((X[i * p + model.columns[c]] - model.mean[c]) / model.scale[c]);
    out[i] = z;
  }
  return out;
}

/** Churn probabilities for each row of X. */
export function logisticPredict(model: LogisticModel, X: Float64Array, n: number): Float64Array {
  const z = logisticDecision(model, X, n);
  for (let i = 0; i < n; i++) z[i] = sigmoid(z[i]);
  return z;
}

/** Per-row contributions coefficient × standardised value (n × kept columns, row-major); they sum to the log-odds minus the intercept. */
export function logisticContributions(model: LogisticModel, X: Float64Array, n: number): Float64Array {
  const p = model.inputColumns;
  const q = model.columns.length;
  const out = new Float64Array(n * q);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < q; c++) out[i * q + c] = model.coef[c] * ((X[i * p + model.columns[c]] - model.mean[c]) / model.scale[c]);
  }
  return out;
}

/** Coefficients on the original feature scale: β_j / s_j, intercept β₀ − Σ β_j m_j / s_j. */
export function logisticOriginalScale(model: LogisticModel): { intercept: number; coef: Float64Array } {
  const coef = new Float64Array(model.coef.length);
  let b0 = model.intercept;
  for (let c = 0; c < coef.length; c++) {
    coef[c] = model.coef[c] / model.scale[c];
    b0 -= coef[c] * model.mean[c];
  }
  return { intercept: b0, coef };
}
