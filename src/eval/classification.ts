/**
 * Binary classification metrics on typed arrays: ROC-AUC, average precision, log loss, Brier score,
 * and a seeded percentile-bootstrap confidence interval for any metric. Labels are 0/1 in a
 * Float64Array; inputs are validated with InputErrors that name the offending index.
 */
import { InputError } from "../util/errors";
import { Rng } from "../util/rng";

/** Which kind of second array a metric takes: any finite score, or a probability in [0, 1]. */
export type ScoreKind = "score" | "probability";

/**
 * Validates a label/score pair: equal non-zero lengths, labels exactly 0 or 1, scores finite (and in
 * [0, 1] for probabilities). Returns the number of positives.
 */
export function checkBinaryInputs(yTrue: Float64Array, yScore: Float64Array, metric: string, kind: ScoreKind = "probability"): number {
  const n = yTrue.length;
  if (yScore.length !== n) {
    throw new InputError(`${metric}: y_true has ${n} values but ${kind === "probability" ? "y_prob" : "y_score"} has ${yScore.length}`);
  }
  if (n === 0) throw new InputError(`${metric}: empty input`);
  const col = kind === "probability" ? "y_prob" : "y_score";
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const y = yTrue[i];
    if (y !== 0 && y !== 1) throw new InputError(`${metric}: y_true[${i}] must be 0 or 1`, { column: "y_true", value: String(y) });
    pos += y;
    const s = yScore[i];
    if (Number.isNaN(s)) throw new InputError(`${metric}: ${col}[${i}] is NaN`, { column: col, value: "NaN" });
    if (kind === "probability") {
      if (!(s >= 0 && s <= 1)) throw new InputError(`${metric}: ${col}[${i}] must be a probability in [0, 1]`, { column: col, value: String(s) });
    } else if (!Number.isFinite(s)) throw new InputError(`${metric}: ${col}[${i}] must be finite`, { column: col, value: String(s) });
  }
  return pos;
}

function requireBothClasses(metric: string, n: number, pos: number): void {
  if (pos === 0 || pos === n) {
    throw new InputError(`${metric} is undefined when y_true has a single class (all ${pos === 0 ? 0 : 1}, n=${n})`);
  }
}

/** Indices sorted by score ascending (stable). */
function argsort(a: Float64Array): Uint32Array {
  const idx = new Uint32Array(a.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((i, j) => a[i] - a[j] || i - j);
}

/**
 * ROC-AUC by the Mann–Whitney U statistic with mid-ranks for ties (Hanley & McNeil 1982):
 * AUC = (R₊ − n₊(n₊+1)/2) / (n₊ n₋), R₊ the rank sum of positives; a tied positive–negative pair counts ½.
 * Throws an InputError when y_true has a single class.
 */
export function rocAuc(yTrue: Float64Array, yScore: Float64Array): number {
  const pos = checkBinaryInputs(yTrue, yScore, "ROC-AUC", "score");
  const n = yTrue.length;
  requireBothClasses("ROC-AUC", n, pos);
  const order = argsort(yScore);
  let rankSumPos = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    let p = 0;
    while (j < n && yScore[order[j]] === yScore[order[i]]) {
      p += yTrue[order[j]];
      j++;
    }
    const midRank = (i + 1 + j) / 2; // ranks i+1..j
    rankSumPos += p * midRank;
    i = j;
  }
  const neg = n - pos;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * Average precision, scikit-learn's step definition (`average_precision_score`):
 * AP = Σ_k (R_k − R_{k−1}) P_k over distinct score thresholds in decreasing order (tied scores form
 * one threshold), without interpolation. Throws an InputError when there are no positives.
 */
export function averagePrecision(yTrue: Float64Array, yScore: Float64Array): number {
  const pos = checkBinaryInputs(yTrue, yScore, "average precision", "score");
  if (pos === 0) throw new InputError(`average precision is undefined when y_true has no positives (n=${yTrue.length})`);
  const order = argsort(yScore);
  const n = yTrue.length;
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  let i = n - 1;
  while (i >= 0) {
    let j = i;
    while (j >= 0 && yScore[order[j]] === yScore[order[i]]) {
      if (yTrue[order[j]] === 1) tp++;
      else fp++;
      j--;
    }
    const recall = tp / pos;
    const precision = tp / (tp + fp);
    ap += (recall - prevRecall) * precision;
    prevRecall = recall;
    i = j;
  }
  return ap;
}

/**
 * Mean log loss −(1/n) Σ [y ln p + (1−y) ln(1−p)] with p clipped to [eps, 1−eps] (default eps 1e-15,
 * scikit-learn's historical `log_loss` default).
 */
export function logLoss(yTrue: Float64Array, yProb: Float64Array, eps = 1e-15): number {
  checkBinaryInputs(yTrue, yProb, "log loss", "probability");
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, yProb[i]));
    s -= yTrue[i] === 1 ? Math.log(p) : Math.log1p(-p);
  }
  return s / yTrue.length;
}

/** Brier score (1/n) Σ (p − y)² (Brier 1950; scikit-learn `brier_score_loss`). */
export function brierScore(yTrue: Float64Array, yProb: Float64Array): number {
  checkBinaryInputs(yTrue, yProb, "Brier score", "probability");
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const d = yProb[i] - yTrue[i];
    s += d * d;
  }
  return s / yTrue.length;
}

/** Options for {@link bootstrapCi}. */
export interface BootstrapOptions {
  /** number of bootstrap resamples (default 1000) */
  nBoot?: number;
  /** confidence level (default 0.95) */
  level?: number;
  /** seed for the resampling stream (default 0); ignored when `rng` is given */
  seed?: number | string;
  rng?: Rng;
  /** rows with the same stratum value are resampled within their stratum (e.g. y_true, to keep both classes) */
  strata?: Float64Array | Int32Array;
}

/** A percentile bootstrap interval. */
export interface BootstrapResult {
  /** the metric on the full data */
  estimate: number;
  lower: number;
  upper: number;
  level: number;
  nBoot: number;
  /** resamples where the metric was defined */
  nValid: number;
  /** resamples where the metric threw an InputError (e.g. a single class) and were skipped */
  nFailed: number;
  /** bootstrap standard deviation of the valid replicates */
  standardError: number;
}

/** Quantile by linear interpolation between order statistics (Hyndman & Fan type 7, numpy's default) of a sorted array. */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new InputError("quantile of an empty array");
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Percentile bootstrap confidence interval (Efron & Tibshirani 1993, ch. 13) for any metric of
 * row-aligned columns: rows are resampled with replacement `nBoot` times with a seeded {@link Rng}
 * (optionally within strata), the metric is recomputed, and the (1−level)/2 and (1+level)/2
 * quantiles of the replicates are returned. Replicates where the metric throws an InputError
 * (undefined, e.g. one class only) are skipped and counted; more than half failing is an error.
 */
export function bootstrapCi(
  columns: Float64Array[],
  metric: (...cols: Float64Array[]) => number,
  opts: BootstrapOptions = {},
): BootstrapResult {
  if (columns.length === 0) throw new InputError("bootstrap: no columns");
  const n = columns[0].length;
  for (let c = 1; c < columns.length; c++) {
    if (columns[c].length !== n) throw new InputError(`bootstrap: column ${c} has ${columns[c].length} rows, column 0 has ${n}`);
  }
  if (n === 0) throw new InputError("bootstrap: empty columns");
  const nBoot = opts.nBoot ?? 1000;
  const level = opts.level ?? 0.95;
  if (!(Number.isInteger(nBoot) && nBoot >= 2)) throw new InputError("bootstrap: nBoot must be an integer >= 2", { value: String(nBoot) });
  if (!(level > 0 && level < 1)) throw new InputError("bootstrap: level must be in (0, 1)", { value: String(level) });
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const estimate = metric(...columns);

  // Strata: groups of row indices resampled separately.
  let groups: Uint32Array[];
  if (opts.strata) {
    if (opts.strata.length !== n) throw new InputError(`bootstrap: strata has ${opts.strata.length} rows, expected ${n}`);
    const m = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const k = opts.strata[i];
      let g = m.get(k);
      if (!g) m.set(k, (g = []));
      g.push(i);
    }
    groups = [...m.keys()].sort((a, b) => a - b).map((k) => Uint32Array.from(m.get(k)!));
  } else {
    const all = new Uint32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    groups = [all];
  }

  const samples = columns.map(() => new Float64Array(n));
  const reps: number[] = [];
  let failed = 0;
  for (let b = 0; b < nBoot; b++) {
    let k = 0;
    for (const g of groups) {
      for (let r = 0; r < g.length; r++) {
        const src = g[rng.int(g.length)];
        for (let c = 0; c < columns.length; c++) samples[c][k] = columns[c][src];
        k++;
      }
    }
    try {
      const v = metric(...samples);
      if (Number.isFinite(v)) reps.push(v);
      else failed++;
    } catch (e) {
      if (e instanceof InputError) failed++;
      else throw e;
    }
  }
  if (reps.length < nBoot / 2) {
    throw new InputError(`bootstrap: the metric was undefined in ${failed} of ${nBoot} resamples (consider strata)`);
  }
  const sorted = Float64Array.from(reps).sort();
  const mean = reps.reduce((a, v) => a + v, 0) / reps.length;
  const sd = Math.sqrt(reps.reduce((a, v) => a + (v - mean) * (v - mean), 0) / Math.max(1, reps.length - 1));
  return {
    estimate,
    lower: quantileSorted(sorted, (1 - level) / 2),
    upper: quantileSorted(sorted, (1 + level) / 2),
    level,
    nBoot,
    nValid: reps.length,
    nFailed: failed,
    standardError: sd,
  };
}
