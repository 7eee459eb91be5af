/**
 * Walker/Vose alias tables: O(1) weighted sampling after O(n) setup. Slates draw thousands of
 * millions of candidates at benchmark scale, so per-draw cost must not depend on catalogue size.
 */

/**
 * A weighted distribution over `ids`, sampled in O(1) from one uniform number. Column i is stored
 * interleaved as [keep probability, id, alias id] so a draw touches one cache line.
 */
export interface AliasTable {
  /** number of columns */
  n: number;
  /** 3n entries: keep probability, id kept, id of the alias */
  cols: Float64Array;
}

/** Builds an alias table over `ids` with non-negative `weights` (same length; not all zero). */
export function buildAlias(ids: Int32Array, weights: ArrayLike<number>): AliasTable {
  const n = ids.length;
  if (n === 0) throw new Error("buildAlias: empty distribution");
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i];
  if (!(total > 0)) throw new Error("buildAlias: weights sum to zero");
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  const scaled = new Float64Array(n);
  const small = new Int32Array(n);
  const large = new Int32Array(n);
  let ns = 0;
  let nl = 0;
  for (let i = 0; i < n; i++) {
    scaled[i] = (weights[i] * n) / total;
    if (scaled[i] < 1) small[ns++] = i;
    else large[nl++] = i;
  }
  while (ns > 0 && nl > 0) {
    const s = small[--ns];
    const l = large[--nl];
    prob[s] = scaled[s];
    alias[s] = l;
    scaled[l] = scaled[l] + scaled[s] - 1;
    if (scaled[l] < 1) small[ns++] = l;
    else large[nl++] = l;
  }
  // Leftovers are 1 up to rounding error.
  while (nl > 0) {
    const l = large[--nl];
    prob[l] = 1;
    alias[l] = l;
  }
  while (ns > 0) {
    const s = small[--ns];
    prob[s] = 1;
    alias[s] = s;
  }
  const cols = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    cols[3 * i] = prob[i];
    cols[3 * i + 1] = ids[i];
    cols[3 * i + 2] = ids[alias[i]];
  }
  return { n, cols };
}

/** Draws one id given a uniform number u in [0, 1). */
export function sampleAlias(t: AliasTable, u: number): number {
  const x = u * t.n;
  const i = x | 0;
  const o = 3 * i;
  return x - i < t.cols[o] ? t.cols[o + 1] : t.cols[o + 2];
}

/** Index of the first element of sorted `a` that is > x (a.length when none). */
export function upperBound(a: Float64Array, x: number, lo = 0, hi = a.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
