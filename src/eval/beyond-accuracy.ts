/**
 * Beyond-accuracy measures of top-K lists: catalogue coverage, novelty, intra-list diversity and
 * popularity bias. Popularity always comes from the *training* matrix, so nothing here reads the
 * held-out data. Every function looks at the first `k` slots (default: the whole list) and skips
 * empty slots (item −1).
 */
import type { CsrMatrix } from "../data/csr";
import type { TopK } from "../taste/recommender";
import { InputError } from "../util/errors";

function cutoff(topk: TopK, k: number | undefined): number {
  if (k === undefined) return topk.k;
  if (!Number.isInteger(k) || k < 1) throw new InputError(`beyond-accuracy: k must be a positive integer (got ${String(k)})`);
  return Math.min(k, topk.k);
}

/**
 * Item popularity as the number of distinct training users per item (CSR rows store each
 * (user, item) once), the usual basis of novelty (Zhou et al. 2010) and popularity bias
 * (Abdollahpouri et al. 2019). Length `nItems` (default `train.nCols`).
 */
export function itemPopularity(train: CsrMatrix, nItems = train.nCols): Float64Array {
  const pop = new Float64Array(nItems);
  for (let p = 0; p < train.indices.length; p++) {
    const it = train.indices[p];
    if (it < nItems) pop[it] += 1;
  }
  return pop;
}

/** Number of rows of `train` with at least one stored entry (the population p(i) is a share of). */
export function activeUsers(train: CsrMatrix): number {
  let n = 0;
  for (let r = 0; r < train.nRows; r++) if (train.indptr[r + 1] > train.indptr[r]) n++;
  return n;
}

/** Result of {@link catalogueCoverage}. */
export interface CoverageResult {
  /** recommended / catalogue */
  coverage: number;
  /** distinct catalogue items recommended to at least one user */
  recommended: number;
  /** catalogue size (items in [0, nItems), or the eligible ones) */
  catalogue: number;
}

/**
 * Catalogue coverage: the share of catalogue items that appear in at least one user's top-k
 * (Ge, Delgado-Battenfeld & Jannach 2010, "prediction coverage"). `eligible` (1 = counts) narrows the
 * catalogue, e.g. to items present in training.
 */
export function catalogueCoverage(topk: TopK, nItems: number, opts: { k?: number; eligible?: Uint8Array } = {}): CoverageResult {
  const k = cutoff(topk, opts.k);
  const seen = new Uint8Array(nItems);
  for (let r = 0; r < topk.rows.length; r++) {
    const base = r * topk.k;
    for (let i = 0; i < k; i++) {
      const it = topk.items[base + i];
      if (it >= 0 && it < nItems) seen[it] = 1;
    }
  }
  let recommended = 0;
  let catalogue = 0;
  for (let i = 0; i < nItems; i++) {
    if (opts.eligible && !opts.eligible[i]) continue;
    catalogue++;
    recommended += seen[i];
  }
  return { coverage: catalogue > 0 ? recommended / catalogue : Number.NaN, recommended, catalogue };
}

/** Per-user values with their mean over users where the value is defined. */
export interface PerUserMeasure {
  /** mean over users with a finite value */
  mean: number;
  /** one value per TopK row (NaN where undefined, e.g. an empty list) */
  perUser: Float64Array;
  /** rows with a finite value */
  users: number;
}

function summarize(perUser: Float64Array): PerUserMeasure {
  let s = 0;
  let n = 0;
  for (let i = 0; i < perUser.length; i++) {
    if (Number.isFinite(perUser[i])) {
      s += perUser[i];
      n++;
    }
  }
  return { mean: n ? s / n : Number.NaN, perUser, users: n };
}

/**
 * Novelty: mean self-information −log2 p(i) of the listed items, p(i) = popularity(i) / nUsers
 * (Zhou et al. 2010; Vargas & Castells 2011). Items with zero training popularity would be
 * infinitely novel; they are given a count of 1 (Laplace-style floor) and counted in `unseenItems`.
 */
export function novelty(topk: TopK, popularity: Float64Array, nUsers: number, opts: { k?: number } = {}): PerUserMeasure & { unseenItems: number } {
  if (!(nUsers > 0)) throw new InputError(`novelty: nUsers must be > 0 (got ${nUsers})`);
  const k = cutoff(topk, opts.k);
  const log2N = Math.log2(nUsers);
  const per = new Float64Array(topk.rows.length);
  let unseen = 0;
  for (let r = 0; r < topk.rows.length; r++) {
    const base = r * topk.k;
    let s = 0;
    let n = 0;
    for (let i = 0; i < k; i++) {
      const it = topk.items[base + i];
      if (it < 0) continue;
      let c = it < popularity.length ? popularity[it] : 0;
      if (!(c > 0)) {
        c = 1;
        unseen++;
      }
      s += log2N - Math.log2(c);
      n++;
    }
    per[r] = n ? s / n : Number.NaN;
  }
  return { ...summarize(per), unseenItems: unseen };
}

/**
 * Intra-list diversity: mean pairwise distance 1 − cos(i, j) over the listed items' feature rows
 * (Smyth & McClave 2001; Ziegler et al. 2005). `features` is items × features (item vectors, or
 * 0/1 genre sets, for which cosine is |A∩B| / √(|A||B|)). Computed in O(k · nnz) per list from
 * Σ_{i<j} cos = (‖Σ v̂_i‖² − n) / 2 over unit vectors v̂. Items without features are left out of
 * their list (counted); lists with fewer than two featured items get NaN.
 */
export function intraListDiversity(topk: TopK, features: CsrMatrix, opts: { k?: number } = {}): PerUserMeasure & { itemsWithoutFeatures: number } {
  const k = cutoff(topk, opts.k);
  const norms = new Float64Array(features.nRows);
  for (let r = 0; r < features.nRows; r++) {
    let s = 0;
    for (let p = features.indptr[r]; p < features.indptr[r + 1]; p++) s += features.values[p] * features.values[p];
    norms[r] = Math.sqrt(s);
  }
  const acc = new Float64Array(features.nCols);
  const touched = new Int32Array(features.nCols);
  const isTouched = new Uint8Array(features.nCols);
  const per = new Float64Array(topk.rows.length);
  let missing = 0;
  for (let r = 0; r < topk.rows.length; r++) {
    const base = r * topk.k;
    let n = 0;
    let nt = 0;
    for (let i = 0; i < k; i++) {
      const it = topk.items[base + i];
      if (it < 0) continue;
      if (it >= features.nRows || norms[it] === 0) {
        missing++;
        continue;
      }
      n++;
      const inv = 1 / norms[it];
      for (let p = features.indptr[it]; p < features.indptr[it + 1]; p++) {
        const c = features.indices[p];
        if (!isTouched[c]) {
          isTouched[c] = 1;
          touched[nt++] = c;
        }
        acc[c] += features.values[p] * inv;
      }
    }
    let sq = 0;
    for (let t = 0; t < nt; t++) {
      sq += acc[touched[t]] * acc[touched[t]];
      acc[touched[t]] = 0;
      isTouched[touched[t]] = 0;
    }
    if (n < 2) per[r] = Number.NaN;
    else {
      const meanCos = (sq - n) / (n * (n - 1));
      // rounding can push a list of identical items a hair past cos = 1
      per[r] = Math.min(2, Math.max(0, 1 - meanCos));
    }
  }
  return { ...summarize(per), itemsWithoutFeatures: missing };
}

/**
 * Popularity percentile of every item: (#items less popular + ½ · #items equally popular) / nItems
 * (the mid-rank percentile rank), so the scale is comparable across catalogues.
 */
export function popularityPercentiles(popularity: Float64Array): Float64Array {
  const n = popularity.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => popularity[a] - popularity[b] || a - b);
  const pct = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && popularity[order[j + 1]] === popularity[order[i]]) j++;
    const v = (i + 0.5 * (j - i + 1)) / n;
    for (let t = i; t <= j; t++) pct[order[t]] = v;
    i = j + 1;
  }
  return pct;
}

/**
 * Popularity bias: per user, the average popularity percentile of the listed items — the
 * average-recommendation-popularity measure (ARP, Yin et al. 2012; Abdollahpouri et al. 2019) on
 * a percentile scale (0.5 ≈ a popularity-blind list, → 1 = only blockbusters). `arp` is the same on
 * raw training counts.
 */
export function popularityBias(topk: TopK, popularity: Float64Array, opts: { k?: number } = {}): PerUserMeasure & { arp: number } {
  const k = cutoff(topk, opts.k);
  const pct = popularityPercentiles(popularity);
  const per = new Float64Array(topk.rows.length);
  let rawSum = 0;
  let rawUsers = 0;
  for (let r = 0; r < topk.rows.length; r++) {
    const base = r * topk.k;
    let s = 0;
    let raw = 0;
    let n = 0;
    for (let i = 0; i < k; i++) {
      const it = topk.items[base + i];
      if (it < 0) continue;
      const inCat = it < popularity.length;
      s += inCat ? pct[it] : 0;
      raw += inCat ? popularity[it] : 0;
      n++;
    }
    per[r] = n ? s / n : Number.NaN;
    if (n) {
      rawSum += raw / n;
      rawUsers++;
    }
  }
  return { ...summarize(per), arp: rawUsers ? rawSum / rawUsers : Number.NaN };
}

/** All beyond-accuracy measures of one set of lists. */
export interface BeyondAccuracyResult {
  k: number;
  coverage: CoverageResult;
  novelty: PerUserMeasure & { unseenItems: number };
  popularityBias: PerUserMeasure & { arp: number };
  /** null without item features */
  diversity: (PerUserMeasure & { itemsWithoutFeatures: number }) | null;
}

/**
 * Coverage (over items present in `train`), novelty, popularity bias and — given item features —
 * intra-list diversity, at cutoff k (definitions and sources on each function).
 */
export function beyondAccuracy(topk: TopK, opts: { train: CsrMatrix; itemFeatures?: CsrMatrix | null; k?: number; nItems?: number }): BeyondAccuracyResult {
  const k = cutoff(topk, opts.k);
  const nItems = opts.nItems ?? opts.train.nCols;
  const pop = itemPopularity(opts.train, nItems);
  const eligible = new Uint8Array(nItems);
  for (let i = 0; i < nItems; i++) eligible[i] = pop[i] > 0 ? 1 : 0;
  return {
    k,
    coverage: catalogueCoverage(topk, nItems, { k, eligible }),
    novelty: novelty(topk, pop, Math.max(1, activeUsers(opts.train)), { k }),
    popularityBias: popularityBias(topk, pop, { k }),
    diversity: opts.itemFeatures ? intraListDiversity(topk, opts.itemFeatures, { k }) : null,
  };
}
