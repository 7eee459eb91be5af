/**
 * The co-occurrence kernels: rows of C = Xᵀ X (X the binary user × item matrix) by Gustavson's
 * row-by-row sparse product — walk item i's users, then each user's items, counting into a dense
 * Int32 accumulator and remembering which slots were touched — reduced on the fly to each item's
 * thresholded top-K neighbours. Nothing pair-sized is ever materialised.
 *
 * Two variants:
 *  - `computeHalfRows` (bounded top-K, the default): C is symmetric, so row i only walks each
 *    user's items after i (user rows are sorted, and `itemUserPos` says where i sits), finds each
 *    unordered pair once and offers it to both endpoints' persistent heaps. Half the accumulator
 *    updates of the full product; memory O(items × K) per thread.
 *  - `computeRows` (unbounded top-K, or K × items too large for per-item heaps): each row is
 *    computed in full and reduced with one reusable heap. Memory O(items + output).
 * Both give exactly the same graph: the top-K order (similarity, co-occurrence, item id) is
 * total, so neither the discovery order nor the thread split can change the result.
 */
import type { Incidence } from "./guardrails";
import { pairSimilarity } from "./similarity";
import { NeighbourHeap, NeighbourHeaps } from "./topk";

/** Similarity and selection settings the kernel applies per pair. */
export interface KernelParams {
  /** similarityCode(kind) */
  code: number;
  alpha: number;
  shrinkage: number;
  minCooc: number;
  minSimilarity: number;
  /** neighbours kept per item; 0 = all that pass the thresholds */
  topK: number;
}

/** The arrays the kernels read (a subset of `Incidence`, so it can cross to a worker thread). */
export type KernelData = Pick<Incidence, "nItems" | "userPtr" | "userItems" | "itemPtr" | "itemUsers" | "itemUserPos" | "degree">;

/** Counts of directed pairs (i → j, j ≠ i) seen and removed by each threshold. */
export interface PairCounts {
  /** directed pairs with co-occurrence ≥ 1 */
  candidates: number;
  belowMinCooc: number;
  belowMinSimilarity: number;
  /** directed pairs that passed both thresholds (before top-K) */
  passed: number;
}

/** Neighbour lists for rows [from, to) (full-row kernel). */
export interface RowBlock extends PairCounts {
  from: number;
  to: number;
  /** neighbours per row, length to − from */
  rowLength: Int32Array;
  neighbours: Int32Array;
  similarity: Float32Array;
  cooc: Int32Array;
}

/** Per-item heaps filled from the pairs discovered in rows [from, to) (half kernel). */
export interface HeapBlock extends PairCounts {
  from: number;
  to: number;
  size: Int32Array;
  sim: Float32Array;
  cooc: Int32Array;
  id: Int32Array;
}

/** Largest items × K for which per-thread heaps are used (12 bytes per slot: ~400 MB). */
export const MAX_HEAP_SLOTS = 1 << 25;

/** Whether the half (symmetric) kernel applies to these settings. */
export function useHalfKernel(nItems: number, topK: number): boolean {
  return topK > 0 && nItems * Math.min(topK, nItems) <= MAX_HEAP_SLOTS;
}

/**
 * Estimated kernel work of each row: Σ_{u ∈ users(i)} (items of u after i) for the half kernel,
 * Σ_{u ∈ users(i)} d_u for the full one. Used to balance thread ranges.
 */
export function rowCosts(d: KernelData, half: boolean): Float64Array {
  const cost = new Float64Array(d.nItems);
  for (let i = 0; i < d.nItems; i++) {
    let c = 0;
    for (let p = d.itemPtr[i]; p < d.itemPtr[i + 1]; p++) {
      const u = d.itemUsers[p];
      c += half ? d.userPtr[u + 1] - d.itemUserPos[p] - 1 : d.userPtr[u + 1] - d.userPtr[u];
    }
    // every row also pays a small fixed cost (heap drain, loop setup)
    cost[i] = c + 1;
  }
  return cost;
}

function degPowers(degree: Int32Array, params: KernelParams): Float64Array {
  const n = degree.length;
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) out[j] = params.code === 2 ? Math.pow(degree[j], params.alpha) : 1;
  return out;
}

/**
 * Half kernel over rows [from, to): every unordered pair {i, j} with i in the range and j > i is
 * counted once and offered to both items' heaps. The caller merges the heaps of all ranges.
 * `onRow(done)` is called every 256 rows (progress / heartbeat).
 */
export function computeHalfRows(d: KernelData, params: KernelParams, from: number, to: number, onRow?: (done: number) => void): HeapBlock {
  const { nItems, userPtr, userItems, itemPtr, itemUsers, itemUserPos, degree } = d;
  const { code, shrinkage, minCooc, minSimilarity } = params;
  const symmetric = code !== 2;
  const k = Math.min(params.topK, nItems);
  const heaps = new NeighbourHeaps(nItems, k);
  const root = heaps.root;
  const degPow = degPowers(degree, params);
  const acc = new Int32Array(nItems);
  const touched = new Int32Array(nItems);
  let candidates = 0;
  let belowMinCooc = 0;
  let belowMinSimilarity = 0;
  let passed = 0;
  for (let i = from; i < to; i++) {
    const di = degree[i];
    if (di > 0) {
      const ps = itemPtr[i];
      const pe = itemPtr[i + 1];
      // Dense rows (updates ≳ slots after i) skip the touched list and scan the accumulator
      // afterwards: the per-update branch costs more than reading the slots. Sparse rows keep
      // the list. Measured on Zipf-like data: the unrolled branch-free loop is ~1.7× faster.
      let work = 0;
      for (let p = ps; p < pe; p++) work += userPtr[itemUsers[p] + 1] - itemUserPos[p] - 1;
      const scan = 2 * work > nItems - i - 1;
      let nt = 0;
      if (scan) {
        for (let p = ps; p < pe; p++) countRun(acc, userItems, itemUserPos[p] + 1, userPtr[itemUsers[p] + 1]);
      } else {
        for (let p = ps; p < pe; p++) {
          for (let q = itemUserPos[p] + 1, qe = userPtr[itemUsers[p] + 1]; q < qe; q++) {
            const j = userItems[q];
            if (acc[j]++ === 0) touched[nt++] = j;
          }
        }
      }
      const te = scan ? nItems : nt;
      for (let t = scan ? i + 1 : 0; t < te; t++) {
        const j = scan ? t : touched[t];
        const c = acc[j];
        if (c === 0) continue;
        acc[j] = 0;
        candidates += 2;
        if (c < minCooc) {
          belowMinCooc += 2;
          continue;
        }
        const dj = degree[j];
        const sij = pairSimilarity(code, c, di, dj, degPow[j], shrinkage);
        const sji = symmetric ? sij : pairSimilarity(code, c, dj, di, degPow[i], shrinkage);
        // `root` pre-check: most offers lose to a full heap's worst entry, skip the call then
        if (sij >= minSimilarity) {
          passed++;
          if (sij >= root[i]) heaps.offer(i, sij, c, j);
        } else belowMinSimilarity++;
        if (sji >= minSimilarity) {
          passed++;
          if (sji >= root[j]) heaps.offer(j, sji, c, i);
        } else belowMinSimilarity++;
      }
    }
    if (onRow && ((i - from) & 255) === 255) onRow(i - from + 1);
  }
  if (onRow) onRow(to - from);
  return { from, to, size: heaps.size, sim: heaps.sim, cooc: heaps.cooc, id: heaps.id, candidates, belowMinCooc, belowMinSimilarity, passed };
}

/** Merges half-kernel heap blocks (any order) into neighbour lists, best first. */
export function mergeHeapBlocks(nItems: number, topK: number, blocks: HeapBlock[]): { rowLength: Int32Array; neighbours: Int32Array; similarity: Float32Array; cooc: Int32Array } {
  const k = Math.min(topK, nItems);
  const first = new NeighbourHeaps(nItems, k, blocks[0]);
  for (let b = 1; b < blocks.length; b++) first.mergeFrom(new NeighbourHeaps(nItems, k, blocks[b]));
  return first.drainAll();
}

/**
 * Full-row kernel over rows [from, to). The result depends only on the data and params, never on
 * the range split, so threads can divide rows freely and reproduce the single-thread graph.
 */
export function computeRows(d: KernelData, params: KernelParams, from: number, to: number, onRow?: (done: number) => void): RowBlock {
  const { nItems, userPtr, userItems, itemPtr, itemUsers, degree } = d;
  const { code, shrinkage, minCooc, minSimilarity } = params;
  const k = params.topK > 0 ? Math.min(params.topK, nItems) : nItems;
  const degPow = degPowers(degree, params);
  const acc = new Int32Array(nItems);
  const touched = new Int32Array(nItems);
  const heap = new NeighbourHeap(k);
  const rows = to - from;
  const rowLength = new Int32Array(rows);
  // output grows by doubling; a small bounded topK fits the first allocation
  let cap = Math.max(16, Math.min(rows * (params.topK > 0 ? k : 8), 1 << 22));
  let neighbours = new Int32Array(cap);
  let similarity = new Float32Array(cap);
  let cooc = new Int32Array(cap);
  let out = 0;
  let candidates = 0;
  let belowMinCooc = 0;
  let belowMinSimilarity = 0;
  let passed = 0;

  for (let i = from; i < to; i++) {
    const di = degree[i];
    let nt = 0;
    let scan = false;
    if (di > 0) {
      const ps = itemPtr[i];
      const pe = itemPtr[i + 1];
      let work = 0;
      for (let p = ps; p < pe; p++) work += userPtr[itemUsers[p] + 1] - userPtr[itemUsers[p]];
      // as in computeHalfRows: dense rows count branch-free and scan the accumulator
      scan = 2 * work > nItems;
      if (scan) {
        for (let p = ps; p < pe; p++) countRun(acc, userItems, userPtr[itemUsers[p]], userPtr[itemUsers[p] + 1]);
      } else {
        for (let p = ps; p < pe; p++) {
          const u = itemUsers[p];
          for (let q = userPtr[u], qe = userPtr[u + 1]; q < qe; q++) {
            const j = userItems[q];
            if (acc[j]++ === 0) touched[nt++] = j;
          }
        }
      }
    }
    const te = scan ? nItems : nt;
    for (let t = 0; t < te; t++) {
      const j = scan ? t : touched[t];
      const c = acc[j];
      if (c === 0) continue;
      acc[j] = 0;
      if (j === i) continue;
      candidates++;
      if (c < minCooc) {
        belowMinCooc++;
        continue;
      }
      const s = pairSimilarity(code, c, di, degree[j], degPow[j], shrinkage);
      if (s < minSimilarity) {
        belowMinSimilarity++;
        continue;
      }
      passed++;
      heap.offer(s, c, j);
    }
    if (out + heap.size > cap) {
      while (out + heap.size > cap) cap *= 2;
      neighbours = grow(neighbours, cap);
      similarity = grow(similarity, cap);
      cooc = grow(cooc, cap);
    }
    const n = heap.drainInto(neighbours, similarity, cooc, out);
    rowLength[i - from] = n;
    out += n;
    if (onRow && ((i - from) & 255) === 255) onRow(i - from + 1);
  }
  if (onRow) onRow(rows);
  return {
    from,
    to,
    rowLength,
    neighbours: neighbours.slice(0, out),
    similarity: similarity.slice(0, out),
    cooc: cooc.slice(0, out),
    candidates,
    belowMinCooc,
    belowMinSimilarity,
    passed,
  };
}

/** acc[items[q]]++ for q in [q0, q1), unrolled 4× (V8 does not unroll; this loop is the hot spot). */
function countRun(acc: Int32Array, items: Int32Array, q0: number, q1: number): void {
  let q = q0;
  for (; q + 3 < q1; q += 4) {
    acc[items[q]]++;
    acc[items[q + 1]]++;
    acc[items[q + 2]]++;
    acc[items[q + 3]]++;
  }
  for (; q < q1; q++) acc[items[q]]++;
}

function grow<T extends Int32Array | Float32Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a as never);
  return b;
}
