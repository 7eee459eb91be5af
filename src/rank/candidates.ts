/**
 * Candidate sources: neighbours of the user's recent history (graph or item-item similarity),
 * nearest items in an embedding, popularity, or any precomputed top-K list.
 */
import type { CsrMatrix } from "../data/csr";
import type { TopK } from "../taste/recommender";
import { InputError } from "../util/errors";
import type { CandidateSource, SourceKind, SourceList, UserHistory } from "./types";

const EMPTY: SourceList = { items: new Int32Array(0), scores: new Float64Array(0), evidence: new Int32Array(0) };

/**
 * Indices of the `n` largest finite scores, best first, ties to the lower index (the Recommender
 * tie rule), via a bounded min-heap: O(N log n).
 */
export function selectTop(scores: ArrayLike<number>, n: number, skip?: (i: number) => boolean): Int32Array {
  const N = scores.length;
  const cap = Math.min(n, N);
  if (cap <= 0) return new Int32Array(0);
  const heap = new Int32Array(cap);
  let size = 0;
  // heap root = the worst kept element: lowest score, and among equal scores the highest index
  const worse = (a: number, b: number): boolean => scores[a] < scores[b] || (scores[a] === scores[b] && a > b);
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && worse(heap[l], heap[m])) m = l;
      if (r < size && worse(heap[r], heap[m])) m = r;
      if (m === i) return;
      const t = heap[i];
      heap[i] = heap[m];
      heap[m] = t;
      i = m;
    }
  };
  for (let i = 0; i < N; i++) {
    const s = scores[i];
    if (!Number.isFinite(s) || (skip && skip(i))) continue;
    if (size < cap) {
      let j = size++;
      heap[j] = i;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (!worse(heap[j], heap[p])) break;
        const t = heap[j];
        heap[j] = heap[p];
        heap[p] = t;
        j = p;
      }
    } else if (worse(heap[0], i)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  const out = heap.slice(0, size);
  return out.sort((a, b) => scores[b] - scores[a] || a - b);
}

/**
 * A user's history from a CSR row, oldest first. `order` (aligned with the stored entries, e.g.
 * last-event timestamps) sets the chronology; without it the row's item-id order is used, which
 * carries no recency.
 */
export function historyFromCsr(m: CsrMatrix, order?: ArrayLike<number>): UserHistory {
  if (order && order.length !== m.indices.length) throw new InputError(`historyFromCsr: order has ${order.length} entries, matrix ${m.indices.length}`);
  return (user) => {
    if (user < 0 || user >= m.nRows) return new Int32Array(0);
    const s = m.indptr[user];
    const e = m.indptr[user + 1];
    if (!order) return m.indices.slice(s, e);
    const pos = Int32Array.from({ length: e - s }, (_, i) => s + i).sort((a, b) => order[a] - order[b] || m.indices[a] - m.indices[b]);
    return Int32Array.from(pos, (p) => m.indices[p]);
  };
}

/** Row `row` of a TopK as a source list (empty slots skipped). */
export function topKRow(topk: TopK, row: number, evidence?: Int32Array): SourceList {
  const items: number[] = [];
  const scores: number[] = [];
  const ev: number[] = [];
  for (let i = 0; i < topk.k; i++) {
    const p = row * topk.k + i;
    if (topk.items[p] < 0) continue;
    items.push(topk.items[p]);
    scores.push(topk.scores[p]);
    ev.push(evidence ? evidence[p] : -1);
  }
  return { items: Int32Array.from(items), scores: Float64Array.from(scores), evidence: Int32Array.from(ev) };
}

function rowIndex(rows: Int32Array): Map<number, number> {
  const m = new Map<number, number>();
  rows.forEach((r, i) => {
    if (!m.has(r)) m.set(r, i);
  });
  return m;
}

/** Item → its neighbours from a precomputed similar-items TopK (rows = items). */
export function neighboursFromTopK(topk: TopK): (item: number, n: number) => SourceList {
  const idx = rowIndex(topk.rows);
  return (item, n) => {
    const r = idx.get(item);
    if (r === undefined) return EMPTY;
    const l = topKRow(topk, r);
    return n >= l.items.length ? l : { items: l.items.slice(0, n), scores: l.scores.slice(0, n), evidence: l.evidence!.slice(0, n) };
  };
}

/** A source from precomputed per-user lists (rows = users); `evidence` aligned with `topk.items`. */
export function topKSource(name: string, kind: SourceKind, topk: TopK, evidence?: Int32Array): CandidateSource {
  const idx = rowIndex(topk.rows);
  return {
    name,
    kind,
    candidates(user, n) {
      const r = idx.get(user);
      if (r === undefined) return EMPTY;
      const l = topKRow(topk, r, evidence);
      return n >= l.items.length ? l : { items: l.items.slice(0, n), scores: l.scores.slice(0, n), evidence: l.evidence!.slice(0, n) };
    },
  };
}

/** Options of {@link historyNeighbourSource}. */
export interface HistoryNeighbourOptions {
  history: UserHistory;
  /** item → its most similar items (graph neighbours, item-item similarity), best first */
  neighbours: (item: number, n: number) => SourceList;
  /** most recent history items used (default 10) */
  recent?: number;
  /** neighbours fetched per history item (default 50) */
  perItem?: number;
  /** weight of the j-th most recent item is decay^j (default 1: no decay) */
  decay?: number;
}

/**
 * Item-based candidates (Sarwar et al. 2001; Linden, Smith & York 2003): the score of c is
 * Σ_h w_h · sim(h, c) over the user's recent history items h; the evidence is the h with the
 * largest w_h · sim(h, c) (ties: the more recent), which the "because you watched" reason names.
 */
export function historyNeighbourSource(name: string, opts: HistoryNeighbourOptions): CandidateSource {
  const recent = opts.recent ?? 10;
  const perItem = opts.perItem ?? 50;
  const decay = opts.decay ?? 1;
  return {
    name,
    kind: "history",
    candidates(user, n) {
      const h = opts.history(user);
      const score = new Map<number, number>();
      const best = new Map<number, number>();
      const bestItem = new Map<number, number>();
      const start = Math.max(0, h.length - recent);
      let w = 1;
      for (let j = h.length - 1; j >= start; j--, w *= decay) {
        const nb = opts.neighbours(h[j], perItem);
        for (let q = 0; q < nb.items.length; q++) {
          const c = nb.items[q];
          const v = w * nb.scores[q];
          if (!Number.isFinite(v)) continue;
          score.set(c, (score.get(c) ?? 0) + v);
          // iterating from most recent, strict > keeps the more recent item on ties
          if (!best.has(c) || v > best.get(c)!) {
            best.set(c, v);
            bestItem.set(c, h[j]);
          }
        }
      }
      const cand = [...score.keys()].sort((a, b) => score.get(b)! - score.get(a)! || a - b).slice(0, n);
      return {
        items: Int32Array.from(cand),
        scores: Float64Array.from(cand, (c) => score.get(c)!),
        evidence: Int32Array.from(cand, (c) => bestItem.get(c)!),
      };
    },
  };
}

/** Options of {@link embeddingSource}. */
export interface EmbeddingSourceOptions {
  /** row-major users × dim */
  userVectors: Float32Array | Float64Array;
  /** row-major items × dim */
  itemVectors: Float32Array | Float64Array;
  dim: number;
}

/**
 * Nearest items to the user's taste vector by inner product (the matrix-factorisation score,
 * Koren, Bell & Volinsky 2009). The evidence is the axis d with the largest u_d · v_{i,d}, i.e. the
 * taste dimension that contributed most, which the "close to your taste axis" reason names.
 */
export function embeddingSource(name: string, opts: EmbeddingSourceOptions): CandidateSource {
  const { userVectors: U, itemVectors: V, dim } = opts;
  if (!(Number.isInteger(dim) && dim > 0) || U.length % dim !== 0 || V.length % dim !== 0) throw new InputError("embeddingSource: vector lengths must be multiples of dim");
  const nUsers = U.length / dim;
  const nItems = V.length / dim;
  const scores = new Float64Array(nItems);
  return {
    name,
    kind: "taste_axis",
    candidates(user, n) {
      if (user < 0 || user >= nUsers) return EMPTY;
      const ub = user * dim;
      for (let i = 0; i < nItems; i++) {
        let s = 0;
        const vb = i * dim;
        for (let d = 0; d < dim; d++) s += U[ub + d] * V[vb + d];
        scores[i] = s;
      }
      const top = selectTop(scores, n);
      const ev = new Int32Array(top.length);
      top.forEach((i, q) => {
        let bd = 0;
        let bv = -Infinity;
        for (let d = 0; d < dim; d++) {
          const c = U[ub + d] * V[i * dim + d];
          if (c > bv) {
            bv = c;
            bd = d;
          }
        }
        ev[q] = bd;
      });
      return { items: top, scores: Float64Array.from(top, (i) => scores[i]), evidence: ev };
    },
  };
}

/** The same most-popular list for everyone (popularity = e.g. recent training counts). */
export function popularitySource(name: string, popularity: ArrayLike<number>): CandidateSource {
  const order = selectTop(popularity, popularity.length);
  return {
    name,
    kind: "popularity",
    candidates(_user, n) {
      const items = order.slice(0, n);
      return { items, scores: Float64Array.from(items, (i) => popularity[i]), evidence: new Int32Array(items.length).fill(-1) };
    },
  };
}
