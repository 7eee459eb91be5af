/**
 * Probability calibration: reliability curves, expected calibration error with equal-width or
 * equal-mass bins, Platt scaling, isotonic regression (pool-adjacent-violators) and calibration
 * summaries by segment. All on Float64Array inputs with labels 0/1.
 */
import { InputError, NtgError } from "../util/errors";
import { brierScore, checkBinaryInputs, logLoss, quantileSorted } from "./classification";

/** Binning: "uniform" (= "equal-width") edges linspace(0, 1); "quantile" (= "equal-mass") edges at quantiles of y_prob. */
export type BinStrategy = "uniform" | "quantile" | "equal-width" | "equal-mass";

/** Options for {@link reliabilityCurve} and {@link expectedCalibrationError}. */
export interface BinOptions {
  nBins?: number;
  strategy?: BinStrategy;
}

/** Reliability-diagram data for the non-empty bins, in increasing order of predicted probability. */
export interface ReliabilityCurve {
  /** fraction of positives in each bin (sklearn `prob_true`) */
  probTrue: Float64Array;
  /** mean predicted probability in each bin (sklearn `prob_pred`) */
  probPred: Float64Array;
  /** rows in each bin */
  count: Float64Array;
  /** bin index among the nBins (before empty bins were dropped) */
  bin: Int32Array;
  /** the nBins + 1 edges */
  edges: Float64Array;
}

function isQuantile(s: BinStrategy): boolean {
  return s === "quantile" || s === "equal-mass";
}

/**
 * Bin edges: uniform = i·(1/nBins) (numpy `linspace(0, 1, nBins+1)`, last edge exactly 1);
 * quantile = percentiles of y_prob at the same levels (numpy `percentile`, linear interpolation).
 */
export function binEdges(yProb: Float64Array, nBins: number, strategy: BinStrategy): Float64Array {
  if (!(Number.isInteger(nBins) && nBins >= 1)) throw new InputError("calibration: nBins must be a positive integer", { value: String(nBins) });
  const edges = new Float64Array(nBins + 1);
  const step = 1 / nBins;
  if (isQuantile(strategy)) {
    const sorted = Float64Array.from(yProb).sort();
    for (let i = 0; i <= nBins; i++) edges[i] = quantileSorted(sorted, i === nBins ? 1 : i * step);
  } else if (strategy === "uniform" || strategy === "equal-width") {
    for (let i = 0; i < nBins; i++) edges[i] = i * step;
    edges[nBins] = 1;
  } else throw new InputError(`calibration: unknown bin strategy '${strategy as string}'`);
  return edges;
}

/**
 * Bin index of each probability as scikit-learn's `calibration_curve` assigns it:
 * `searchsorted(edges[1:-1], p)` (left side) — bins are (e_{k}, e_{k+1}] except the first, which
 * also holds e₀, and values equal to an inner edge go to the lower bin; 1.0 lands in the last bin.
 */
export function assignBins(yProb: Float64Array, edges: Float64Array): Int32Array {
  const inner = edges.subarray(1, edges.length - 1);
  const out = new Int32Array(yProb.length);
  for (let i = 0; i < yProb.length; i++) {
    const p = yProb[i];
    let lo = 0;
    let hi = inner.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (inner[mid] < p) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}

/**
 * Reliability curve with scikit-learn `calibration_curve` semantics (default 5 uniform bins): per
 * non-empty bin, the fraction of positives and the mean predicted probability; empty bins are dropped.
 */
export function reliabilityCurve(yTrue: Float64Array, yProb: Float64Array, opts: BinOptions = {}): ReliabilityCurve {
  checkBinaryInputs(yTrue, yProb, "reliability curve", "probability");
  const nBins = opts.nBins ?? 5;
  const edges = binEdges(yProb, nBins, opts.strategy ?? "uniform");
  const ids = assignBins(yProb, edges);
  const sumP = new Float64Array(nBins);
  const sumY = new Float64Array(nBins);
  const cnt = new Float64Array(nBins);
  for (let i = 0; i < ids.length; i++) {
    sumP[ids[i]] += yProb[i];
    sumY[ids[i]] += yTrue[i];
    cnt[ids[i]]++;
  }
  const keep: number[] = [];
  for (let b = 0; b < nBins; b++) if (cnt[b] > 0) keep.push(b);
  return {
    probTrue: Float64Array.from(keep, (b) => sumY[b] / cnt[b]),
    probPred: Float64Array.from(keep, (b) => sumP[b] / cnt[b]),
    count: Float64Array.from(keep, (b) => cnt[b]),
    bin: Int32Array.from(keep),
    edges,
  };
}

/**
 * Expected calibration error ECE = Σ_b (n_b / n) · |mean(y)_b − mean(p)_b| over the non-empty bins
 * (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017), default 10 bins. "uniform"/"equal-width" bins
 * split [0, 1] evenly; "quantile"/"equal-mass" bins hold about n/nBins rows each (edges at quantiles,
 * tied probabilities stay in one bin). Binning follows {@link reliabilityCurve}.
 */
export function expectedCalibrationError(yTrue: Float64Array, yProb: Float64Array, opts: BinOptions = {}): number {
  const curve = reliabilityCurve(yTrue, yProb, { nBins: opts.nBins ?? 10, strategy: opts.strategy ?? "uniform" });
  const n = yTrue.length;
  let ece = 0;
  for (let b = 0; b < curve.count.length; b++) ece += (curve.count[b] / n) * Math.abs(curve.probTrue[b] - curve.probPred[b]);
  return ece;
}

// ---------------------------------------------------------------------------------------------
// Platt scaling
// ---------------------------------------------------------------------------------------------

/** A Platt model on the logit scale: calibrated p = logistic(a · logit(p) + b). */
export interface PlattModel {
  a: number;
  b: number;
  iterations: number;
  /** the probability clip used before taking logits */
  eps: number;
}

/** Options for {@link fitPlatt}. */
export interface PlattOptions {
  maxIterations?: number;
  /** probabilities are clipped to [eps, 1−eps] before the logit (default 1e-12) */
  eps?: number;
}

function logit(p: number, eps: number): number {
  const q = Math.min(1 - eps, Math.max(eps, p));
  return Math.log(q) - Math.log1p(-q);
}

/** ln(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/**
 * Platt scaling (Platt 1999) of predicted probabilities: logistic regression of y on f = logit(p),
 * fitted by Newton's method with backtracking on the cross-entropy with Platt's smoothed targets
 * t₊ = (N₊+1)/(N₊+2), t₋ = 1/(N₋+2), following the robust procedure of Lin, Lin & Weng (2007).
 */
export function fitPlatt(yTrue: Float64Array, yProb: Float64Array, opts: PlattOptions = {}): PlattModel {
  const pos = checkBinaryInputs(yTrue, yProb, "Platt scaling", "probability");
  const n = yTrue.length;
  if (pos === 0 || pos === n) throw new InputError(`Platt scaling needs both classes in y_true (all ${pos === 0 ? 0 : 1}, n=${n})`);
  const eps = opts.eps ?? 1e-12;
  const maxIter = opts.maxIterations ?? 100;
  const f = Float64Array.from(yProb, (p) => logit(p, eps));
  const tPos = (pos + 1) / (pos + 2);
  const tNeg = 1 / (n - pos + 2);
  const t = Float64Array.from(yTrue, (y) => (y === 1 ? tPos : tNeg));
  // Objective in terms of z = a f + b: Σ [t·softplus(−z) + (1−t)·softplus(z)].
  const objective = (a: number, b: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const z = a * f[i] + b;
      s += t[i] * softplus(-z) + (1 - t[i]) * softplus(z);
    }
    return s;
  };
  let a = 0;
  let b = Math.log((pos + 1) / (n - pos + 1));
  let F = objective(a, b);
  const sigma = 1e-12;
  let it = 0;
  for (; it < maxIter; it++) {
    let g1 = 0;
    let g2 = 0;
    let h11 = sigma;
    let h22 = sigma;
    let h21 = 0;
    for (let i = 0; i < n; i++) {
      const z = a * f[i] + b;
      const q = 1 / (1 + Math.exp(-z));
      const d1 = q - t[i];
      const d2 = q * (1 - q);
      g1 += f[i] * d1;
      g2 += d1;
      h11 += f[i] * f[i] * d2;
      h22 += d2;
      h21 += f[i] * d2;
    }
    if (Math.abs(g1) < 1e-10 * n && Math.abs(g2) < 1e-10 * n) break;
    const det = h11 * h22 - h21 * h21;
    const da = -(h22 * g1 - h21 * g2) / det;
    const db = -(-h21 * g1 + h11 * g2) / det;
    const gd = g1 * da + g2 * db;
    let step = 1;
    let accepted = false;
    while (step >= 1e-10) {
      const na = a + step * da;
      const nb = b + step * db;
      const nF = objective(na, nb);
      if (nF < F + 1e-4 * step * gd) {
        a = na;
        b = nb;
        F = nF;
        accepted = true;
        break;
      }
      step /= 2;
    }
    if (!accepted) break; // no further decrease possible at double precision
  }
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new NtgError(`Platt scaling diverged (a=${a}, b=${b})`);
  return { a, b, iterations: it, eps };
}

/** Applies a {@link PlattModel}: logistic(a · logit(p) + b). */
export function plattPredict(model: PlattModel, yProb: Float64Array): Float64Array {
  const out = new Float64Array(yProb.length);
  for (let i = 0; i < yProb.length; i++) {
    const p = yProb[i];
    if (Number.isNaN(p)) throw new InputError(`Platt scaling: y_prob[${i}] is NaN`, { column: "y_prob", value: "NaN" });
    out[i] = 1 / (1 + Math.exp(-(model.a * logit(p, model.eps) + model.b)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Isotonic regression
// ---------------------------------------------------------------------------------------------

/**
 * Pool-adjacent-violators (Ayer et al. 1955; Barlow et al. 1972): the non-decreasing sequence
 * minimising Σ w_i (y_i − ŷ_i)², for values already in x order. Weights default to 1.
 */
export function pav(y: Float64Array, w?: Float64Array): Float64Array {
  const n = y.length;
  if (w && w.length !== n) throw new InputError(`PAV: y has ${n} values but weights have ${w.length}`);
  const mean = new Float64Array(n);
  const weight = new Float64Array(n);
  const size = new Int32Array(n);
  let top = -1;
  for (let i = 0; i < n; i++) {
    const wi = w ? w[i] : 1;
    if (!(wi > 0) || !Number.isFinite(y[i])) throw new InputError(`PAV: row ${i} needs a finite value and a positive weight`, { value: `${y[i]} (w=${wi})` });
    top++;
    mean[top] = y[i];
    weight[top] = wi;
    size[top] = 1;
    while (top > 0 && mean[top - 1] > mean[top]) {
      const wt = weight[top - 1] + weight[top];
      mean[top - 1] = (weight[top - 1] * mean[top - 1] + weight[top] * mean[top]) / wt;
      weight[top - 1] = wt;
      size[top - 1] += size[top];
      top--;
    }
  }
  const out = new Float64Array(n);
  let k = 0;
  for (let b = 0; b <= top; b++) for (let j = 0; j < size[b]; j++) out[k++] = mean[b];
  return out;
}

/** A fitted isotonic map: sorted distinct inputs and their fitted non-decreasing values. */
export interface IsotonicModel {
  x: Float64Array;
  y: Float64Array;
}

/**
 * Isotonic regression of y on x (non-decreasing): rows with equal x are first merged into their
 * weighted mean (as scikit-learn's IsotonicRegression does), then PAV is run on the distinct x values.
 */
export function fitIsotonic(x: Float64Array, y: Float64Array, weights?: Float64Array): IsotonicModel {
  const n = x.length;
  if (y.length !== n) throw new InputError(`isotonic regression: x has ${n} values but y has ${y.length}`);
  if (weights && weights.length !== n) throw new InputError(`isotonic regression: x has ${n} values but weights have ${weights.length}`);
  if (n === 0) throw new InputError("isotonic regression: empty input");
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(x[i])) throw new InputError(`isotonic regression: x[${i}] is not finite`, { value: String(x[i]) });
    if (!Number.isFinite(y[i])) throw new InputError(`isotonic regression: y[${i}] is not finite`, { value: String(y[i]) });
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((i, j) => x[i] - x[j] || i - j);
  const ux: number[] = [];
  const uy: number[] = [];
  const uw: number[] = [];
  let i = 0;
  while (i < n) {
    const xv = x[order[i]];
    let sw = 0;
    let swy = 0;
    while (i < n && x[order[i]] === xv) {
      const wi = weights ? weights[order[i]] : 1;
      if (!(wi > 0)) throw new InputError(`isotonic regression: weights[${order[i]}] must be > 0`, { value: String(wi) });
      sw += wi;
      swy += wi * y[order[i]];
      i++;
    }
    ux.push(xv);
    uy.push(swy / sw);
    uw.push(sw);
  }
  return { x: Float64Array.from(ux), y: pav(Float64Array.from(uy), Float64Array.from(uw)) };
}

/**
 * Predicts with an {@link IsotonicModel} by linear interpolation between the fitted points; inputs
 * outside [min x, max x] are clipped to the end values (scikit-learn `out_of_bounds="clip"`).
 */
export function isotonicPredict(model: IsotonicModel, x: Float64Array): Float64Array {
  const xs = model.x;
  const ys = model.y;
  const m = xs.length;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (Number.isNaN(v)) throw new InputError(`isotonic prediction: x[${i}] is NaN`, { value: "NaN" });
    if (v <= xs[0]) out[i] = ys[0];
    else if (v >= xs[m - 1]) out[i] = ys[m - 1];
    else {
      let lo = 0;
      let hi = m - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >>> 1;
        if (xs[mid] <= v) lo = mid;
        else hi = mid;
      }
      const f = (v - xs[lo]) / (xs[hi] - xs[lo]);
      out[i] = ys[lo] + f * (ys[hi] - ys[lo]);
    }
  }
  return out;
}

/** Isotonic calibration of probabilities: the isotonic regression of y_true on y_prob. */
export function fitIsotonicCalibration(yTrue: Float64Array, yProb: Float64Array): IsotonicModel {
  checkBinaryInputs(yTrue, yProb, "isotonic calibration", "probability");
  return fitIsotonic(yProb, yTrue);
}

// ---------------------------------------------------------------------------------------------
// Calibration by segment
// ---------------------------------------------------------------------------------------------

/** Calibration summary for one segment. */
export interface SegmentCalibration {
  segment: string | number;
  n: number;
  positives: number;
  meanPredicted: number;
  observedRate: number;
  /** observed rate − mean predicted (calibration-in-the-large) */
  gap: number;
  brier: number;
  logLoss: number;
  ece: number;
}

/**
 * Calibration metrics per segment (rows grouped by `segments[i]`), sorted by segment key:
 * size, positives, mean predicted vs observed rate, Brier score, log loss and ECE (with `opts` bins).
 */
export function calibrationBySegment(
  yTrue: Float64Array,
  yProb: Float64Array,
  segments: ArrayLike<string | number>,
  opts: BinOptions = {},
): SegmentCalibration[] {
  checkBinaryInputs(yTrue, yProb, "calibration by segment", "probability");
  if (segments.length !== yTrue.length) {
    throw new InputError(`calibration by segment: y_true has ${yTrue.length} values but segments have ${segments.length}`);
  }
  const groups = new Map<string | number, number[]>();
  for (let i = 0; i < segments.length; i++) {
    const k = segments[i];
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(i);
  }
  const keys = [...groups.keys()].sort((a, b) =>
    typeof a === "number" && typeof b === "number" ? a - b : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0,
  );
  return keys.map((k) => {
    const idx = groups.get(k)!;
    const y = Float64Array.from(idx, (i) => yTrue[i]);
    const p = Float64Array.from(idx, (i) => yProb[i]);
    const positives = y.reduce((a, v) => a + v, 0);
    const meanPredicted = p.reduce((a, v) => a + v, 0) / p.length;
    const observedRate = positives / y.length;
    return {
      segment: k,
      n: idx.length,
      positives,
      meanPredicted,
      observedRate,
      gap: observedRate - meanPredicted,
      brier: brierScore(y, p),
      logLoss: logLoss(y, p),
      ece: expectedCalibrationError(y, p, opts),
    };
  });
}
