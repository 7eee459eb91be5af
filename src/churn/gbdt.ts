/**
 * A small gradient-boosted decision-tree classifier for the log loss: second-order boosting with
 * histogram split finding (Friedman 2001 "Greedy function approximation"; Chen & Guestrin 2016
 * "XGBoost" for the gain G²/(H+λ) and leaf value −G/(H+λ); Ke et al. 2017 "LightGBM" for
 * quantile histograms and the parent − sibling histogram subtraction). Trees are grown
 * depth-wise to `maxDepth`, with seeded row/column subsampling per tree (Friedman 2002).
 * Per-row explanations follow Saabas' path attribution: each split's change in node value is
 * credited to its feature.
 */
import { InputError } from "../util/errors";
import { Rng } from "../util/rng";
import { columnStats, requireBothClasses } from "./logistic";
import { quietLogger, type Logger } from "../util/log";

/** Options of {@link fitGbdt}. */
export interface GbdtOptions {
  trees?: number;
  learningRate?: number;
  maxDepth?: number;
  /** histogram bins per feature, ≤ 255 (default 32) */
  maxBins?: number;
  /** minimum hessian sum per child (default 5) */
  minChildWeight?: number;
  /** L2 penalty on leaf values (default 1) */
  l2?: number;
  /** row subsample per tree (default 0.8) */
  subsample?: number;
  /** column subsample per tree (default 1) */
  colsample?: number;
  seed?: number;
  sampleWeight?: Float64Array;
  names?: string[];
  logger?: Logger;
}

/** One regression tree in flat arrays; node 0 is the root, leaves have feature −1. */
export interface GbdtTree {
  feature: Int32Array;
  /** go left when x ≤ threshold */
  threshold: Float64Array;
  /** same split as a bin index (training-time traversal) */
  binThreshold: Int32Array;
  left: Int32Array;
  right: Int32Array;
  /** the node's value −G/(H+λ)·learning rate (the output at leaves; used for path attributions inside) */
  value: Float64Array;
}

/** A fitted model. */
export interface GbdtModel {
  kind: "gbdt";
  names: string[];
  /** index of each used column in the input matrix */
  columns: Int32Array;
  inputColumns: number;
  dropped: string[];
  baseScore: number;
  trees: GbdtTree[];
  /** total split gain per kept column */
  gain: Float64Array;
  learningRate: number;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/**
 * Split points of one feature: the distinct values when there are at most maxBins of them, else
 * distinct quantiles. bin(x) = number of split points < x, so "bin ≤ b" ⇔ "x ≤ cuts[b]".
 */
function cutPoints(values: Float64Array, maxBins: number): Float64Array {
  const sorted = Float64Array.from(values).sort();
  const distinct: number[] = [];
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]);
  if (distinct.length <= maxBins) return Float64Array.from(distinct.slice(0, -1));
  const cuts: number[] = [];
  for (let b = 1; b < maxBins; b++) {
    const v = sorted[Math.min(sorted.length - 1, Math.floor((b * sorted.length) / maxBins))];
    if (cuts.length === 0 || v > cuts[cuts.length - 1]) cuts.push(v);
  }
  // the largest value must fall in the last bin, not on a cut
  while (cuts.length && cuts[cuts.length - 1] >= sorted[sorted.length - 1]) cuts.pop();
  return Float64Array.from(cuts);
}

function binOf(cuts: Float64Array, x: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cuts[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Split {
  gain: number;
  col: number;
  bin: number;
  gl: number;
  hl: number;
}

/**
 * Fits the booster on X (n × p, row-major) and 0/1 labels. Constant columns are dropped (with a
 * warning); single-class labels are an InputError.
 */
export function fitGbdt(X: Float64Array, n: number, p: number, y: Float64Array, opts: GbdtOptions = {}): GbdtModel {
  if (X.length !== n * p) throw new InputError(`GBDT: X has ${X.length} values, expected ${n} × ${p}`);
  if (y.length !== n) throw new InputError(`GBDT: ${n} rows but ${y.length} labels`);
  for (let i = 0; i < X.length; i++) if (Number.isNaN(X[i])) throw new InputError(`GBDT: feature ${opts.names?.[i % p] ?? i % p} at row ${Math.floor(i / p)} is NaN`);
  requireBothClasses(y, "GBDT");
  const trees = opts.trees ?? 150;
  const lr = opts.learningRate ?? 0.05;
  const maxDepth = opts.maxDepth ?? 3;
  const maxBins = Math.min(255, opts.maxBins ?? 32);
  const minChild = opts.minChildWeight ?? 5;
  const lambda = opts.l2 ?? 1;
  const subsample = opts.subsample ?? 0.8;
  const colsample = opts.colsample ?? 1;
  const names = opts.names ?? Array.from({ length: p }, (_, j) => `x${j}`);
  const log = opts.logger ?? quietLogger;
  const rng = new Rng(opts.seed ?? 0).fork("gbdt");

  const { constant } = columnStats(X, n, p);
  const keep: number[] = [];
  const dropped: string[] = [];
  for (let j = 0; j < p; j++) {
    if (constant[j]) dropped.push(names[j]);
    else keep.push(j);
  }
  if (dropped.length) log.warn("churn.constant_features_dropped", { model: "GBDT", features: dropped });
  const q = keep.length;
  // column-major bins
  const cuts: Float64Array[] = [];
  const bins = new Uint8Array(q * n);
  const col = new Float64Array(n);
  for (let c = 0; c < q; c++) {
    for (let i = 0; i < n; i++) col[i] = X[i * p + keep[c]];
    const ct = cutPoints(col, maxBins);
    cuts.push(ct);
    for (let i = 0; i < n; i++) bins[c * n + i] = binOf(ct, col[i]);
  }
  const B = maxBins;
  const w = opts.sampleWeight ?? new Float64Array(n).fill(1);
  let sw = 0;
  let swy = 0;
  for (let i = 0; i < n; i++) {
    sw += w[i];
    swy += w[i] * y[i];
  }
  const base = Math.log(swy / (sw - swy));
  const F = new Float64Array(n).fill(base);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const rows = new Int32Array(n);
  const gain = new Float64Array(q);
  const out: GbdtTree[] = [];
  const colsPerTree = Math.max(1, Math.round(colsample * q));
  const colOrder = Int32Array.from({ length: q }, (_, c) => c);

  for (let t = 0; t < trees; t++) {
    for (let i = 0; i < n; i++) {
      const pr = sigmoid(F[i]);
      grad[i] = w[i] * (pr - y[i]);
      hess[i] = w[i] * pr * (1 - pr);
    }
    const trng = rng.fork(t);
    let m = 0;
    for (let i = 0; i < n; i++) if (subsample >= 1 || trng.uniform() < subsample) rows[m++] = i;
    let cols: Int32Array;
    if (colsPerTree < q) {
      trng.shuffle(colOrder);
      cols = Int32Array.from(colOrder.subarray(0, colsPerTree)).sort();
    } else cols = colOrder;

    const feature: number[] = [];
    const threshold: number[] = [];
    const binThr: number[] = [];
    const left: number[] = [];
    const right: number[] = [];
    const value: number[] = [];
    const histOf = (lo: number, hi: number): Float64Array => {
      // [g, h] per (column slot, bin)
      const h = new Float64Array(cols.length * B * 2);
      for (let s = 0; s < cols.length; s++) {
        const cb = cols[s] * n;
        const ob = s * B * 2;
        for (let r = lo; r < hi; r++) {
          const i = rows[r];
          const k = ob + bins[cb + i] * 2;
          h[k] += grad[i];
          h[k + 1] += hess[i];
        }
      }
      return h;
    };
    const grow = (lo: number, hi: number, depth: number, hist: Float64Array, G: number, H: number): number => {
      const id = feature.length;
      feature.push(-1);
      threshold.push(0);
      binThr.push(0);
      left.push(-1);
      right.push(-1);
      value.push((-G / (H + lambda)) * lr);
      if (depth >= maxDepth || H < 2 * minChild) return id;
      const parentScore = (G * G) / (H + lambda);
      let best: Split | null = null;
      for (let s = 0; s < cols.length; s++) {
        const ob = s * B * 2;
        let gl = 0;
        let hl = 0;
        const nb = cuts[cols[s]].length;
        for (let b = 0; b < nb; b++) {
          gl += hist[ob + b * 2];
          hl += hist[ob + b * 2 + 1];
          const hr = H - hl;
          if (hl < minChild) continue;
          if (hr < minChild) break;
          const gr = G - gl;
          const g = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
          if (g > 1e-12 && (!best || g > best.gain)) best = { gain: g, col: cols[s], bin: b, gl, hl };
        }
      }
      if (!best) return id;
      // partition rows[lo, hi) in place: bin ≤ best.bin to the left
      const cb = best.col * n;
      let a = lo;
      let z = hi - 1;
      while (a <= z) {
        if (bins[cb + rows[a]] <= best.bin) a++;
        else {
          const tmp = rows[a];
          rows[a] = rows[z];
          rows[z] = tmp;
          z--;
        }
      }
      const mid = a;
      if (mid === lo || mid === hi) return id;
      gain[best.col] += best.gain;
      feature[id] = best.col;
      threshold[id] = cuts[best.col][best.bin];
      binThr[id] = best.bin;
      // histogram of the smaller child directly, the larger by subtraction
      const leftSmaller = mid - lo <= hi - mid;
      const small = leftSmaller ? histOf(lo, mid) : histOf(mid, hi);
      const large = new Float64Array(hist.length);
      for (let k = 0; k < hist.length; k++) large[k] = hist[k] - small[k];
      const gr = G - best.gl;
      const hr = H - best.hl;
      const l = grow(lo, mid, depth + 1, leftSmaller ? small : large, best.gl, best.hl);
      const r = grow(mid, hi, depth + 1, leftSmaller ? large : small, gr, hr);
      left[id] = l;
      right[id] = r;
      return id;
    };
    let G0 = 0;
    let H0 = 0;
    for (let r = 0; r < m; r++) {
      G0 += grad[rows[r]];
      H0 += hess[rows[r]];
    }
    grow(0, m, 0, histOf(0, m), G0, H0);
    const tree: GbdtTree = {
      feature: Int32Array.from(feature),
      threshold: Float64Array.from(threshold),
      binThreshold: Int32Array.from(binThr),
      left: Int32Array.from(left),
      right: Int32Array.from(right),
      value: Float64Array.from(value),
    };
    out.push(tree);
    // update every row's score (subsampled-out rows too) by bin traversal
    for (let i = 0; i < n; i++) {
      let node = 0;
      while (tree.feature[node] >= 0) node = bins[tree.feature[node] * n + i] <= tree.binThreshold[node] ? tree.left[node] : tree.right[node];
      F[i] += tree.value[node];
    }
  }
  return {
    kind: "gbdt",
    names: keep.map((j) => names[j]),
    columns: Int32Array.from(keep),
    inputColumns: p,
    dropped,
    baseScore: base,
    trees: out,
    gain,
    learningRate: lr,
  };
}

/** Log-odds for each row of X (n × inputColumns). */
export function gbdtDecision(model: GbdtModel, X: Float64Array, n: number): Float64Array {
  const p = model.inputColumns;
  if (X.length !== n * p) throw new InputError(`GBDT prediction: X has ${X.length} values, expected ${n} × ${p}`);
  const out = new Float64Array(n).fill(model.baseScore);
  const cols = model.columns;
  for (const tree of model.trees) {
    for (let i = 0; i < n; i++) {
      let node = 0;
      while (tree.feature[node] >= 0) node = X[i * p + cols[tree.feature[node]]] <= tree.threshold[node] ? tree.left[node] : tree.right[node];
      out[i] += tree.value[node];
    }
  }
  return out;
}

/** Churn probabilities for each row of X. */
export function gbdtPredict(model: GbdtModel, X: Float64Array, n: number): Float64Array {
  const z = gbdtDecision(model, X, n);
  for (let i = 0; i < n; i++) z[i] = sigmoid(z[i]);
  return z;
}

/**
 * Saabas path attributions (n × kept columns, row-major): for every tree, the change in node value
 * at each split on the row's path is credited to the split's feature. Per row they sum to the
 * log-odds minus (base score + Σ root values).
 */
export function gbdtContributions(model: GbdtModel, X: Float64Array, n: number): Float64Array {
  const p = model.inputColumns;
  const q = model.columns.length;
  const out = new Float64Array(n * q);
  const cols = model.columns;
  for (const tree of model.trees) {
    for (let i = 0; i < n; i++) {
      let node = 0;
      while (tree.feature[node] >= 0) {
        const f = tree.feature[node];
        const next = X[i * p + cols[f]] <= tree.threshold[node] ? tree.left[node] : tree.right[node];
        out[i * q + f] += tree.value[next] - tree.value[node];
        node = next;
      }
    }
  }
  return out;
}
