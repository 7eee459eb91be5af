/**
 * Batch top-k selection shared by every recommender: bounded-heap selection over dense score rows
 * with exclusions, the popularity cold-start fill, and the pooled scoring kernels (factor dot
 * products, item–item weights) that turn a block of users into rows of a `TopK`.
 *
 * Ordering contract (recommender.ts): higher score first, ties by lower item id, compared on the
 * float32 scores that are returned — so a caller re-checking the order on `TopK.scores` sees the
 * same ties the selection saw.
 */
import type { CsrMatrix } from "../data/csr";
import { NtgError } from "../util/errors";
import { gemmNT } from "./linalg/gemm";
import { defineKernel, runKernel, sharedF32, sharedI32, toShared, type Kernel } from "./linalg/pool";
import { AccumEngine } from "./linalg/wasm";
import type { TopK } from "./recommender";

/** A TopK of `rows.length` × k slots, every slot padding (item −1, score NaN). */
export function allocTopK(rows: Int32Array, k: number, shared = false): TopK {
  const n = rows.length * k;
  const items = shared ? sharedI32(n) : new Int32Array(n);
  const scores = shared ? sharedF32(n) : new Float32Array(n);
  items.fill(-1);
  scores.fill(NaN);
  return { rows, k, items, scores };
}

/** Validates k (a non-negative integer) and normalises the requested ids to an Int32Array copy. */
export function normalizeRequest(ids: Int32Array | readonly number[], k: number): Int32Array {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer, got ${k}`);
  const out = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    // non-integers and ids beyond int32 become −1: an unknown user/item, never an error
    out[i] = Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 ? v : -1;
  }
  return out;
}

/** Heap scratch reused across calls on this thread (selection is synchronous). */
let heapS = new Float64Array(128);
let heapI = new Int32Array(128);

/** true when (s1, i1) ranks strictly after (s2, i2): lower score, or equal score and higher id. */
function worse(s1: number, i1: number, s2: number, i2: number): boolean {
  return s1 < s2 || (s1 === s2 && i1 > i2);
}

function siftDown(hs: Float64Array, hi: Int32Array, size: number, pos: number): void {
  const s = hs[pos];
  const id = hi[pos];
  for (;;) {
    let c = 2 * pos + 1;
    if (c >= size) break;
    // the root holds the worst entry: descend towards the worse child
    if (c + 1 < size && worse(hs[c + 1], hi[c + 1], hs[c], hi[c])) c += 1;
    if (!worse(hs[c], hi[c], s, id)) break;
    hs[pos] = hs[c];
    hi[pos] = hi[c];
    pos = c;
  }
  hs[pos] = s;
  hi[pos] = id;
}

/**
 * The k best entries of scores[off .. off+n) (index j ↦ item j), best first, ties by lower item id,
 * written to outItems/outScores at outOff; unfilled slots are set to −1 / NaN. Entries that are
 * NaN or −Infinity are not candidates (that is how exclusions are applied). Bounded min-heap with
 * an early threshold test, so a typical row costs one comparison per item. Returns the count filled.
 */
export function selectTopK(scores: Float32Array | Float64Array, off: number, n: number, k: number, outItems: Int32Array, outScores: Float32Array, outOff: number): number {
  const cap = Math.min(k, n);
  if (heapS.length < cap) {
    heapS = new Float64Array(cap);
    heapI = new Int32Array(cap);
  }
  const hs = heapS;
  const hi = heapI;
  let size = 0;
  let j = 0;
  // fill phase: first `cap` candidates, heapified once
  for (; j < n && size < cap; j++) {
    const s = scores[off + j];
    if (!(s > -Infinity)) continue;
    hs[size] = s;
    hi[size] = j;
    size++;
  }
  for (let p = (size >> 1) - 1; p >= 0; p--) siftDown(hs, hi, size, p);
  if (size === cap && cap > 0) {
    let thr = hs[0];
    for (; j < n; j++) {
      const s = scores[off + j];
      // ids increase, so an equal score never beats the root (which has a lower id)
      if (!(s > thr)) continue;
      hs[0] = s;
      hi[0] = j;
      siftDown(hs, hi, size, 0);
      thr = hs[0];
    }
  }
  // heap-sort: repeatedly move the worst to the end of the output
  const filled = size;
  for (let e = size - 1; e >= 0; e--) {
    outItems[outOff + e] = hi[0];
    outScores[outOff + e] = hs[0];
    size--;
    if (size > 0) {
      hs[0] = hs[size];
      hi[0] = hi[size];
      siftDown(hs, hi, size, 0);
    }
  }
  for (let e = filled; e < k; e++) {
    outItems[outOff + e] = -1;
    outScores[outOff + e] = NaN;
  }
  return filled;
}

/** All indices of `scores` ordered best first (higher score, then lower index); NaN last. */
export function rankOrder(scores: ArrayLike<number>): Int32Array {
  const n = scores.length;
  const f = Float32Array.from(scores);
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => {
    const sa = Number.isNaN(f[a]) ? -Infinity : f[a];
    const sb = Number.isNaN(f[b]) ? -Infinity : f[b];
    return sb - sa || a - b;
  });
  return Int32Array.from(order);
}

/** true when `item` is in CSR row r (rows sorted ascending): binary search. */
export function rowHas(m: CsrMatrix | null | undefined, r: number, item: number): boolean {
  if (!m || r < 0 || r >= m.nRows) return false;
  let lo = m.indptr[r];
  let hi = m.indptr[r + 1] - 1;
  const idx = m.indices;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = idx[mid];
    if (v === item) return true;
    if (v < item) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * Fills output row `outRow` from a precomputed ranking (`order`, scores indexed by item), skipping
 * the items of exclusion row `exRow` — the popularity cold-start path.
 */
export function fillFromOrder(order: Int32Array, scoreOf: ArrayLike<number>, exclude: CsrMatrix | null | undefined, exRow: number, out: TopK, outRow: number): void {
  const k = out.k;
  const base = outRow * k;
  let e = 0;
  for (let p = 0; p < order.length && e < k; p++) {
    const item = order[p];
    if (rowHas(exclude, exRow, item)) continue;
    out.items[base + e] = item;
    out.scores[base + e] = scoreOf[item];
    e++;
  }
  for (; e < k; e++) {
    out.items[base + e] = -1;
    out.scores[base + e] = NaN;
  }
}

/** The parts of a CSR matrix a kernel needs, on SharedArrayBuffers. */
export interface SharedCsr extends CsrMatrix {
  readonly shared: true;
}

const sharedCache = new WeakMap<Int32Array, SharedCsr>();

/** A CSR matrix whose arrays live on SharedArrayBuffers (cached per matrix, no copy if already). */
export function sharedCsr(m: CsrMatrix): SharedCsr {
  if ((m as Partial<SharedCsr>).shared) return m as SharedCsr;
  const hit = sharedCache.get(m.indices);
  if (hit && hit.indptr.length === m.indptr.length) return hit;
  const s: SharedCsr = { nRows: m.nRows, nCols: m.nCols, indptr: toShared(m.indptr), indices: toShared(m.indices), values: toShared(m.values), shared: true };
  sharedCache.set(m.indices, s);
  return s;
}

/** A CSR matrix with no rows, used where a kernel needs an exclusion matrix and there is none. */
const EMPTY_CSR: SharedCsr = { nRows: 0, nCols: 0, indptr: sharedI32(1), indices: sharedI32(0), values: sharedF32(0), shared: true };

/** Arguments shared by the scoring kernels: which output rows, which exclusions, where to write. */
interface ScoreOutArgs {
  k: number;
  nItems: number;
  /** per scored row: its row index in the output */
  outRow: Int32Array;
  /** per scored row: the exclusion-matrix row to skip (−1: none) */
  exRow: Int32Array;
  exIndptr: Int32Array;
  exIndices: Int32Array;
  exRows: number;
  /** optional per-item additive term (item bias; −Infinity bans an item); length 0 = none */
  bias: Float64Array;
  outItems: Int32Array;
  outScores: Float32Array;
  /** scored rows per chunk */
  block: number;
  nScored: number;
}

let rowScratch = new Float32Array(0);
let blockScratch = new Float64Array(0);

/** Rounds a raw score row to float32 (selection compares what is returned), applies bias and exclusions, selects. */
function finishRow(a: ScoreOutArgs, raw: Float64Array, rawOff: number, r: number): void {
  const n = a.nItems;
  if (rowScratch.length < n) rowScratch = new Float32Array(n);
  const s = rowScratch;
  if (a.bias.length === n) for (let j = 0; j < n; j++) s[j] = raw[rawOff + j] + a.bias[j];
  else for (let j = 0; j < n; j++) s[j] = raw[rawOff + j];
  const ex = a.exRow[r];
  if (ex >= 0 && ex < a.exRows) {
    for (let p = a.exIndptr[ex]; p < a.exIndptr[ex + 1]; p++) {
      const j = a.exIndices[p];
      if (j >= 0 && j < n) s[j] = -Infinity;
    }
  }
  selectTopK(s, 0, n, a.k, a.outItems, a.outScores, a.outRow[r] * a.k);
}

/** Factor scoring: rows of U (nScored × d) against every item row of V (nItems × d). */
interface FactorArgs extends ScoreOutArgs {
  U: Float64Array;
  V: Float64Array;
  d: number;
}

const factorKernel = defineKernel<FactorArgs>("topk.factor", (a, c) => {
  const r0 = c * a.block;
  const r1 = Math.min(a.nScored, r0 + a.block);
  const rows = r1 - r0;
  const n = a.nItems;
  if (blockScratch.length < rows * n) blockScratch = new Float64Array(rows * n);
  const C = blockScratch;
  C.fill(0, 0, rows * n);
  gemmNT(C, 0, n, a.U, r0 * a.d, a.d, a.V, 0, a.d, rows, n, a.d);
  for (let r = 0; r < rows; r++) finishRow(a, C, r * n, r0 + r);
});

/** Item–item scoring: each scored row sums weight rows W[i, :] over its history items. */
interface ItemItemArgs extends ScoreOutArgs {
  W: Float32Array;
  hIndptr: Int32Array;
  hIndices: Int32Array;
  hValues: Float32Array;
  /** per scored row: its history row */
  hRow: Int32Array;
  /** treat history values as 1 */
  binary: number;
  /** identifies W for the SIMD engine's per-thread copy */
  wKey: number;
}

const wKeys = new WeakMap<Float32Array, number>();
let nextWKey = 1;

/** Items per column tile (scalar path): a tile of W's rows (n × TILE floats) is what the block's users share in cache. */
const COL_TILE = 1024;

const itemItemKernel = defineKernel<ItemItemArgs>("topk.itemitem", (a, c) => {
  const r0 = c * a.block;
  const r1 = Math.min(a.nScored, r0 + a.block);
  const rows = r1 - r0;
  const n = a.nItems;
  const simd = AccumEngine.forThread();
  if (simd && simd.loadW(a.W, n, a.wKey)) {
    itemItemSimd(a, simd, r0, r1);
    return;
  }
  if (blockScratch.length < rows * n) blockScratch = new Float64Array(rows * n);
  const C = blockScratch;
  C.fill(0, 0, rows * n);
  if (histScratch.length < n) {
    histScratch = new Int32Array(n);
    valScratch = new Float64Array(n);
  }
  // column tiles first, so the W[:, tile] slab is reused by every user of the block from cache
  for (let t0 = 0; t0 < n; t0 += COL_TILE) {
    const t1 = Math.min(n, t0 + COL_TILE);
    for (let r = 0; r < rows; r++) {
      const h = a.hRow[r0 + r];
      // the row's in-catalogue items as W row offsets, with their values
      let m = 0;
      for (let p = a.hIndptr[h]; p < a.hIndptr[h + 1]; p++) {
        const i = a.hIndices[p];
        if (i < 0 || i >= n) continue;
        histScratch[m] = i * n;
        valScratch[m] = a.binary ? 1 : a.hValues[p];
        m++;
      }
      accumulateRows(a.W, histScratch, valScratch, m, a.binary === 1, C, r * n, t0, t1);
    }
  }
  for (let r = 0; r < rows; r++) finishRow(a, C, r * n, r0 + r);
});

/** The item–item block on the SIMD engine: same sums, two columns per instruction. */
function itemItemSimd(a: ItemItemArgs, simd: AccumEngine, r0: number, r1: number): void {
  const rows = r1 - r0;
  const n = a.nItems;
  const start = new Int32Array(rows + 1);
  for (let r = 0; r < rows; r++) {
    const h = a.hRow[r0 + r];
    let m = 0;
    for (let p = a.hIndptr[h]; p < a.hIndptr[h + 1]; p++) if (a.hIndices[p] >= 0 && a.hIndices[p] < n) m++;
    start[r + 1] = start[r] + m;
  }
  simd.prepare(rows, start[rows]);
  for (let r = 0; r < rows; r++) {
    const h = a.hRow[r0 + r];
    let q = start[r];
    for (let p = a.hIndptr[h]; p < a.hIndptr[h + 1]; p++) {
      const i = a.hIndices[p];
      if (i >= 0 && i < n) simd.setEntry(q++, i, a.binary ? 1 : a.hValues[p]);
    }
  }
  // whole rows: measured faster here than column tiles (the SIMD loop is cheap enough that the
  // per-tile call and offset re-reads cost more than the cache reuse saves)
  for (let r = 0; r < rows; r++) simd.accumulate(r, start[r], start[r + 1], 0, simd.nPad, a.binary === 1);
  for (let r = 0; r < rows; r++) {
    const [view, off] = simd.scores(r);
    finishRow(a, view, off, r0 + r);
  }
}

let histScratch = new Int32Array(0);
let valScratch = new Float64Array(0);

/**
 * C[acc + j] += Σ_q v_q · W[off_q + j] for j in [t0, t1). Eight weight rows per pass over the
 * accumulator: one load and store of C per eight products instead of one per product (this loop is
 * the whole cost of item–item scoring); binary histories skip the multiplications.
 */
function accumulateRows(W: Float32Array, off: Int32Array, val: Float64Array, m: number, binary: boolean, C: Float64Array, acc: number, t0: number, t1: number): void {
  let q = 0;
  for (; q + 8 <= m; q += 8) {
    const o1 = off[q], o2 = off[q + 1], o3 = off[q + 2], o4 = off[q + 3];
    const o5 = off[q + 4], o6 = off[q + 5], o7 = off[q + 6], o8 = off[q + 7];
    if (binary) {
      for (let j = t0; j < t1; j++) C[acc + j] += W[o1 + j] + W[o2 + j] + W[o3 + j] + W[o4 + j] + (W[o5 + j] + W[o6 + j] + W[o7 + j] + W[o8 + j]);
    } else {
      const v1 = val[q], v2 = val[q + 1], v3 = val[q + 2], v4 = val[q + 3];
      const v5 = val[q + 4], v6 = val[q + 5], v7 = val[q + 6], v8 = val[q + 7];
      for (let j = t0; j < t1; j++) C[acc + j] += v1 * W[o1 + j] + v2 * W[o2 + j] + v3 * W[o3 + j] + v4 * W[o4 + j] + (v5 * W[o5 + j] + v6 * W[o6 + j] + v7 * W[o7 + j] + v8 * W[o8 + j]);
    }
  }
  for (; q + 2 <= m; q += 2) {
    const o1 = off[q], o2 = off[q + 1];
    const v1 = val[q], v2 = val[q + 1];
    for (let j = t0; j < t1; j++) C[acc + j] += v1 * W[o1 + j] + v2 * W[o2 + j];
  }
  if (q < m) {
    const o1 = off[q];
    const v1 = val[q];
    for (let j = t0; j < t1; j++) C[acc + j] += v1 * W[o1 + j];
  }
}

/** Where scored rows come from and go to, for `scoreFactors` / `scoreItemItem`. */
export interface ScoreTarget {
  out: TopK;
  /** output row index of each scored row */
  outRow: Int32Array;
  /** exclusion-matrix row of each scored row (−1: none) */
  exRow: Int32Array;
  exclude: CsrMatrix | null | undefined;
  /** per-item additive term (bias; −Infinity bans the item) */
  bias?: Float64Array | null;
  /** force serial / parallel (default: parallel when the job is large) */
  parallel?: boolean;
}

function outArgs(t: ScoreTarget, nItems: number, nScored: number, block: number, shared: boolean): ScoreOutArgs {
  const ex = t.exclude ? (shared ? sharedCsr(t.exclude) : t.exclude) : EMPTY_CSR;
  const conv = <T extends Int32Array | Float64Array>(x: T): T => (shared ? toShared(x) : x);
  return {
    k: t.out.k,
    nItems,
    outRow: conv(t.outRow),
    exRow: conv(t.exRow),
    exIndptr: ex.indptr,
    exIndices: ex.indices,
    exRows: ex.nRows,
    bias: conv(t.bias ?? new Float64Array(0)),
    outItems: t.out.items,
    outScores: t.out.scores,
    block,
    nScored,
  };
}

/** Runs a scoring job writing into t.out (moving its arrays to shared memory when parallel). */
function runScoring<A extends ScoreOutArgs>(kernel: Kernel<A>, t: ScoreTarget, make: (shared: boolean) => A, work: number, nScored: number, block: number): void {
  const parallel = t.parallel ?? work > 2e7;
  const chunks = Math.ceil(nScored / block);
  if (!parallel || chunks < 2) {
    runKernel(kernel, make(false), chunks, { parallel: false });
    return;
  }
  const items = toShared(t.out.items);
  const scores = toShared(t.out.scores);
  const a = make(true);
  a.outItems = items;
  a.outScores = scores;
  runKernel(kernel, a, chunks, { parallel: true });
  if (items !== t.out.items) t.out.items.set(items);
  if (scores !== t.out.scores) t.out.scores.set(scores);
}

/**
 * Scores rows of U (nScored × d, row-major) against item factors V (nItems × d): score = u·v
 * (+ bias), then selects each row's top-k into t.out. Blocked through `gemmNT`; parallel over row
 * blocks when large.
 */
export function scoreFactors(U: Float64Array, V: Float64Array, d: number, nItems: number, t: ScoreTarget): void {
  const nScored = t.outRow.length;
  if (nScored === 0) return;
  const block = 48;
  runScoring(
    factorKernel,
    t,
    (shared) => ({ ...outArgs(t, nItems, nScored, block, shared), U: shared ? toShared(U) : U, V: shared ? toShared(V) : V, d }),
    nScored * nItems * Math.max(d, 4),
    nScored,
    block,
  );
}

/**
 * Scores history rows against an item × item weight matrix W (n × n, row-major float32):
 * score[j] = Σ_{i ∈ history} x_i · W[i, j], then selects each row's top-k into t.out.
 */
export function scoreItemItem(W: Float32Array, nItems: number, history: CsrMatrix, hRow: Int32Array, binary: boolean, t: ScoreTarget): void {
  const nScored = t.outRow.length;
  if (nScored === 0) return;
  let nnz = 0;
  for (let r = 0; r < nScored; r++) nnz += history.indptr[hRow[r] + 1] - history.indptr[hRow[r]];
  const block = 32;
  runScoring(
    itemItemKernel,
    t,
    (shared) => {
      const h = shared ? sharedCsr(history) : history;
      let wKey = wKeys.get(W);
      if (wKey === undefined) wKeys.set(W, (wKey = nextWKey++));
      return { ...outArgs(t, nItems, nScored, block, shared), W: shared ? toShared(W) : W, hIndptr: h.indptr, hIndices: h.indices, hValues: h.values, hRow: shared ? toShared(hRow) : hRow, binary: binary ? 1 : 0, wKey };
    },
    (nnz + nScored) * nItems,
    nScored,
    block,
  );
}

/** Stored entries per row. */
export function rowCounts(m: CsrMatrix): Int32Array {
  const c = new Int32Array(m.nRows);
  for (let r = 0; r < m.nRows; r++) c[r] = m.indptr[r + 1] - m.indptr[r];
  return c;
}

/** The cold-start ranking every model falls back to: items by training popularity. */
export interface Fallback {
  /** items best first (higher popularity, then lower id) */
  order: Int32Array;
  /** the popularity score of each item (what fallback rows report) */
  score: Float32Array;
}

/** A fallback ranking from per-item popularity scores. */
export function makeFallback(pop: ArrayLike<number>): Fallback {
  const score = Float32Array.from(pop);
  return { order: rankOrder(score), score };
}

/** How one `recommend` call splits into model-scored rows and cold-start rows. */
export interface RecommendPlan {
  out: TopK;
  /** output row index of each model-scored row */
  outRow: Int32Array;
  /** each scored row's user row in `source` (a history row, or a training user id) */
  srcRow: Int32Array;
  /** each scored row's exclusion row (the user id) */
  exRow: Int32Array;
  /** the opts.history matrix when given (fold-in), else null (use the trained user state) */
  history: CsrMatrix | null;
  exclude: CsrMatrix | null;
}

/**
 * Plans a recommend call: validates k, pre-fills every row whose user cannot be scored (id out of
 * range, or an empty history / training row) with the popularity fallback minus exclusions, and
 * lists the rest for the model. `trainRows[u]` is user u's training interaction count.
 */
export function planRecommend(users: Int32Array | readonly number[], k: number, opts: { exclude?: CsrMatrix | null; history?: CsrMatrix | null } | undefined, trainRows: Int32Array, fallback: Fallback): RecommendPlan {
  const req = normalizeRequest(users, k);
  const out = allocTopK(req, k);
  const history = opts?.history ?? null;
  const exclude = opts?.exclude ?? null;
  const nItems = fallback.score.length;
  const outRow: number[] = [];
  const srcRow: number[] = [];
  for (let r = 0; r < req.length; r++) {
    const u = req[r];
    const known = history ? hasKnownItem(history, u, nItems) : u >= 0 && u < trainRows.length && trainRows[u] > 0;
    if (known) {
      outRow.push(r);
      srcRow.push(u);
    } else if (k > 0) {
      fillFromOrder(fallback.order, fallback.score, exclude, u, out, r);
    }
  }
  const o = Int32Array.from(outRow);
  const s = Int32Array.from(srcRow);
  return { out, outRow: k > 0 ? o : new Int32Array(0), srcRow: k > 0 ? s : new Int32Array(0), exRow: k > 0 ? s.slice() : new Int32Array(0), history, exclude };
}

/** true when history row u holds at least one item of the model's catalogue (id < nItems). */
function hasKnownItem(h: CsrMatrix, u: number, nItems: number): boolean {
  if (u < 0 || u >= h.nRows) return false;
  for (let p = h.indptr[u]; p < h.indptr[u + 1]; p++) if (h.indices[p] >= 0 && h.indices[p] < nItems) return true;
  return false;
}

/** How one `similarItems` call splits into scored rows and unknown items (left as padding). */
export interface SimilarPlan {
  out: TopK;
  outRow: Int32Array;
  item: Int32Array;
  /** row r excludes item[r] itself */
  self: CsrMatrix;
  /** −Infinity for items never seen in training (not candidates), else 0 */
  ban: Float64Array;
}

/**
 * Plans a similarItems call: items out of range or never seen in training are unknown (their rows
 * stay padding); the others are scored, excluding themselves and unseen items.
 */
export function planSimilar(items: Int32Array | readonly number[], k: number, itemRows: ArrayLike<number>): SimilarPlan {
  const req = normalizeRequest(items, k);
  const out = allocTopK(req, k);
  const n = itemRows.length;
  const outRow: number[] = [];
  const item: number[] = [];
  for (let r = 0; r < req.length && k > 0; r++) {
    const i = req[r];
    if (i >= 0 && i < n && itemRows[i] > 0) {
      outRow.push(r);
      item.push(i);
    }
  }
  const m = item.length;
  const indptr = new Int32Array(m + 1);
  for (let r = 0; r < m; r++) indptr[r + 1] = r + 1;
  const ban = new Float64Array(n);
  for (let j = 0; j < n; j++) if (!(itemRows[j] > 0)) ban[j] = -Infinity;
  const self: CsrMatrix = { nRows: m, nCols: n, indptr, indices: Int32Array.from(item), values: new Float32Array(m).fill(1) };
  return { out, outRow: Int32Array.from(outRow), item: Int32Array.from(item), self, ban };
}

/** 0..n−1 as an Int32Array (the exclusion row index of scored row r is r for similarItems). */
export function iota(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** What every model keeps about its training matrix: shape, row/column counts, the fallback. */
export interface TrainSummary {
  nUsers: number;
  nItems: number;
  /** training interactions per user (0: cold-start user) */
  userRows: Int32Array;
  /** training users per item (0: item unseen in training, never a similarItems candidate) */
  itemRows: Int32Array;
  fallback: Fallback;
}

/** Checks a training matrix's shape invariants (cheap) and summarises it. */
export function summarizeTrain(train: CsrMatrix, kind: string): TrainSummary {
  const { nRows, nCols, indptr, indices } = train;
  const bad = (why: string): never => {
    throw new NtgError(`${kind}.fit: invalid training matrix: ${why}`);
  };
  if (!Number.isInteger(nRows) || !Number.isInteger(nCols) || nRows < 0 || nCols < 0) bad(`shape ${nRows} × ${nCols}`);
  if (indptr.length !== nRows + 1 || indptr[0] !== 0 || indptr[nRows] !== indices.length) bad("indptr does not match the stored entries");
  if (train.values.length !== indices.length) bad("values and indices differ in length");
  for (let r = 0; r < nRows; r++) {
    const a = indptr[r];
    const b = indptr[r + 1];
    if (b < a) bad(`indptr decreases at row ${r}`);
    for (let p = a; p < b; p++) {
      const c = indices[p];
      if (c < 0 || c >= nCols) bad(`column ${c} out of range in row ${r}`);
      if (p > a && c <= indices[p - 1]) bad(`row ${r} is not sorted and unique`);
    }
  }
  const itemRows = new Int32Array(nCols);
  for (let p = 0; p < indices.length; p++) itemRows[indices[p]]++;
  return { nUsers: nRows, nItems: nCols, userRows: rowCounts(train), itemRows, fallback: makeFallback(itemRows) };
}

/** Rows `rows` of a row-major matrix with d columns, gathered into a new (shared) matrix. */
export function gatherRows(M: Float64Array, d: number, rows: Int32Array): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(8 * rows.length * d));
  for (let q = 0; q < rows.length; q++) out.set(M.subarray(rows[q] * d, rows[q] * d + d), q * d);
  return out;
}

/** A copy of a row-major n × d matrix with every non-zero row scaled to unit length (shared). */
export function unitRows(M: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(8 * n * d));
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += M[i * d + k] * M[i * d + k];
    if (s > 0) {
      const inv = 1 / Math.sqrt(s);
      for (let k = 0; k < d; k++) out[i * d + k] = M[i * d + k] * inv;
    }
  }
  return out;
}

/**
 * similarItems for factor models: cosine similarity of item factor rows (Vn = unit-length rows).
 * Unknown or never-trained items get empty rows; only trained items are candidates.
 */
export function cosineSimilar(items: Int32Array | readonly number[], k: number, Vn: Float64Array, d: number, itemRows: Int32Array): TopK {
  const plan = planSimilar(items, k, itemRows);
  if (plan.item.length > 0) {
    scoreFactors(gatherRows(Vn, d, plan.item), Vn, d, itemRows.length, { out: plan.out, outRow: plan.outRow, exRow: iota(plan.item.length), exclude: plan.self, bias: plan.ban });
  }
  return plan.out;
}
