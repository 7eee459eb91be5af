/**
 * Maximal Marginal Relevance re-ranking (Carbonell & Goldstein 1998): greedily pick
 * argmax_i λ·rel(i) − (1 − λ)·max_{j ∈ selected} sim(i, j).
 */
import type { CsrMatrix } from "../data/csr";
import { InputError } from "../util/errors";
import type { ItemSimilarity } from "./types";

/**
 * Re-ranks a candidate pool (given best first) and returns the positions (into `items`) of the k
 * picks, in pick order. Relevance is min-max normalised over the pool first, so λ trades off two
 * quantities on the same [0, 1] scale whatever the fusion method (a constant pool maps to 1).
 * λ = 1 returns the pool's own order; ties go to the earlier pool position.
 */
export function mmrRerank(items: Int32Array, relevance: ArrayLike<number>, k: number, opts: { lambda: number; similarity: ItemSimilarity }): Int32Array {
  const { lambda, similarity } = opts;
  if (!(lambda >= 0 && lambda <= 1)) throw new InputError(`mmr: lambda must be in [0, 1] (got ${lambda})`);
  if (relevance.length !== items.length) throw new InputError(`mmr: ${relevance.length} relevance values for ${items.length} items`);
  const n = items.length;
  const m = Math.min(k, n);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, relevance[i]);
    hi = Math.max(hi, relevance[i]);
  }
  const rel = new Float64Array(n);
  for (let i = 0; i < n; i++) rel[i] = hi > lo ? (relevance[i] - lo) / (hi - lo) : 1;
  const maxSim = new Float64Array(n);
  const taken = new Uint8Array(n);
  const out = new Int32Array(m);
  for (let t = 0; t < m; t++) {
    let best = -1;
    let bestV = -Infinity;
    for (let i = 0; i < n; i++) {
      if (taken[i]) continue;
      // first pick has no selected set: pure relevance, as in the original formulation
      const v = t === 0 ? rel[i] : lambda * rel[i] - (1 - lambda) * maxSim[i];
      if (v > bestV) {
        bestV = v;
        best = i;
      }
    }
    out[t] = best;
    taken[best] = 1;
    if (lambda < 1) {
      for (let i = 0; i < n; i++) {
        if (taken[i]) continue;
        const s = similarity(items[i], items[best]);
        if (s > maxSim[i]) maxSim[i] = s;
      }
    }
  }
  return out;
}

/** Cosine similarity of two items' rows of an item × feature matrix (genre sets or vectors); 0 for a featureless item. */
export function cosineItemSimilarity(features: CsrMatrix): ItemSimilarity {
  const norms = new Float64Array(features.nRows);
  for (let r = 0; r < features.nRows; r++) {
    let s = 0;
    for (let p = features.indptr[r]; p < features.indptr[r + 1]; p++) s += features.values[p] * features.values[p];
    norms[r] = Math.sqrt(s);
  }
  return (a, b) => {
    if (a < 0 || b < 0 || a >= features.nRows || b >= features.nRows || norms[a] === 0 || norms[b] === 0) return 0;
    let p = features.indptr[a];
    let q = features.indptr[b];
    const pe = features.indptr[a + 1];
    const qe = features.indptr[b + 1];
    let dot = 0;
    while (p < pe && q < qe) {
      const x = features.indices[p];
      const y = features.indices[q];
      if (x === y) dot += features.values[p++] * features.values[q++];
      else if (x < y) p++;
      else q++;
    }
    return dot / (norms[a] * norms[b]);
  };
}
