/**
 * Fusion of several sources' candidate lists into one ranking, keeping each source's contribution
 * so the reason for an item can name the source that mattered most.
 */
import type { CsrMatrix } from "../data/csr";
import { InputError } from "../util/errors";
import type { SourceList } from "./types";

/** A fused ranking, best first. */
export interface FusedList {
  items: Int32Array;
  scores: Float64Array;
  nSources: number;
  /** row-major items × sources: each source's share of the fused score (0 when the source did not propose the item) */
  contributions: Float64Array;
  /** row-major items × sources: 1 when the source proposed the item */
  present: Uint8Array;
  /** row-major items × sources: the source's evidence for the item (−1 when none or absent) */
  evidence: Int32Array;
}

function checkWeights(n: number, weights: readonly number[] | undefined): number[] {
  const w = weights ? [...weights] : new Array<number>(n).fill(1);
  if (w.length !== n) throw new InputError(`fusion: ${w.length} weights for ${n} sources`);
  for (const x of w) if (!(Number.isFinite(x) && x >= 0)) throw new InputError(`fusion: weights must be finite and >= 0 (got ${x})`);
  return w;
}

/** Accumulates per-source contributions and sorts by the fused score (ties: lower item id). */
function fuse(lists: readonly SourceList[], contribution: (s: number, pos: number) => number): FusedList {
  const S = lists.length;
  const index = new Map<number, number>();
  const items: number[] = [];
  const contrib: number[] = [];
  const pres: number[] = [];
  const ev: number[] = [];
  lists.forEach((l, s) => {
    for (let q = 0; q < l.items.length; q++) {
      const it = l.items[q];
      let j = index.get(it);
      if (j === undefined) {
        j = items.length;
        index.set(it, j);
        items.push(it);
        for (let t = 0; t < S; t++) {
          contrib.push(0);
          pres.push(0);
          ev.push(-1);
        }
      }
      // a source listing an item twice: only its first (best) position counts
      if (pres[j * S + s]) continue;
      pres[j * S + s] = 1;
      contrib[j * S + s] = contribution(s, q);
      ev[j * S + s] = l.evidence ? l.evidence[q] : -1;
    }
  });
  const n = items.length;
  const total = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let t = 0;
    for (let s = 0; s < S; s++) t += contrib[j * S + s];
    total[j] = t;
  }
  const order = Int32Array.from({ length: n }, (_, j) => j).sort((a, b) => total[b] - total[a] || items[a] - items[b]);
  const out: FusedList = {
    items: new Int32Array(n),
    scores: new Float64Array(n),
    nSources: S,
    contributions: new Float64Array(n * S),
    present: new Uint8Array(n * S),
    evidence: new Int32Array(n * S),
  };
  order.forEach((j, r) => {
    out.items[r] = items[j];
    out.scores[r] = total[j];
    for (let s = 0; s < S; s++) {
      out.contributions[r * S + s] = contrib[j * S + s];
      out.present[r * S + s] = pres[j * S + s];
      out.evidence[r * S + s] = ev[j * S + s];
    }
  });
  return out;
}

/**
 * Reciprocal-rank fusion (Cormack, Clarke & Büttcher 2009): score(i) = Σ_s w_s / (k + rank_s(i)),
 * rank 1-based within source s, k = 60 by default. Scale-free, so sources with incomparable
 * scores fuse without calibration.
 */
export function reciprocalRankFusion(lists: readonly SourceList[], opts: { k?: number; weights?: readonly number[] } = {}): FusedList {
  const k = opts.k ?? 60;
  if (!(Number.isFinite(k) && k >= 0)) throw new InputError(`reciprocalRankFusion: k must be >= 0 (got ${k})`);
  const w = checkWeights(lists.length, opts.weights);
  return fuse(lists, (s, pos) => w[s] / (k + pos + 1));
}

/**
 * Weighted sum of min-max-normalised scores (CombSUM on normalised scores, Fox & Shaw 1994; Lee
 * 1997): each source's scores are mapped to [0, 1] over its own list (a constant list maps to 1);
 * an item a source did not propose gets 0 from it — as does the source's lowest-scored item.
 */
export function weightedScoreFusion(lists: readonly SourceList[], opts: { weights?: readonly number[] } = {}): FusedList {
  const w = checkWeights(lists.length, opts.weights);
  const lo = lists.map((l) => l.scores.reduce((a, v) => (Number.isFinite(v) ? Math.min(a, v) : a), Infinity));
  const hi = lists.map((l) => l.scores.reduce((a, v) => (Number.isFinite(v) ? Math.max(a, v) : a), -Infinity));
  return fuse(lists, (s, pos) => {
    const v = lists[s].scores[pos];
    if (!Number.isFinite(v)) return 0;
    const span = hi[s] - lo[s];
    return w[s] * (span > 0 ? (v - lo[s]) / span : 1);
  });
}

/** Removes the user's seen items (row `user` of `seen`) from a list, keeping order; then truncates to `n`. */
export function filterSeen(list: SourceList, seen: CsrMatrix | null | undefined, user: number, n = Infinity): SourceList {
  const hasRow = !!seen && user >= 0 && user < seen.nRows && seen.indptr[user + 1] > seen.indptr[user];
  if (!hasRow && list.items.length <= n) return list;
  const keep: number[] = [];
  for (let q = 0; q < list.items.length && keep.length < n; q++) {
    if (hasRow && rowHas(seen!, user, list.items[q])) continue;
    keep.push(q);
  }
  return {
    items: Int32Array.from(keep, (q) => list.items[q]),
    scores: Float64Array.from(keep, (q) => list.scores[q]),
    evidence: list.evidence ? Int32Array.from(keep, (q) => list.evidence![q]) : undefined,
  };
}

function rowHas(m: CsrMatrix, r: number, c: number): boolean {
  let lo = m.indptr[r];
  let hi = m.indptr[r + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = m.indices[mid];
    if (v === c) return true;
    if (v < c) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
