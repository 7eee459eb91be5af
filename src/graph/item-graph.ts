/**
 * The item–item taste graph: from TRAIN interactions only, co-occurrence counts and a similarity
 * per item pair, reduced to each item's top-K neighbours under guardrails (min support, power-user
 * cap, min co-occurrence, min similarity). Computed as a sparse product on typed arrays
 * (see cooccurrence.ts); optionally split across worker threads with identical results.
 */
import * as os from "node:os";
import type { CsrMatrix } from "../data/csr";
import { ConfigError } from "../util/errors";
import { quietLogger, type Logger } from "../util/log";
import { computeRowsParallel, type KernelBlock } from "./parallel";
import { mergeHeapBlocks, useHalfKernel, type HeapBlock, type KernelParams, type RowBlock } from "./cooccurrence";
import {
  distinctPairsFromCsr,
  distinctPairsFromEvents,
  prepareIncidence,
  validateGuardrails,
  type CapStrategy,
  type DistinctPairs,
  type GraphInteractions,
  type GuardrailEffects,
} from "./guardrails";
import { similarityCode, type SimilarityKind } from "./similarity";
import { graphStructure, type GraphStructure } from "./stats";

/** Options of `buildItemGraph`; every field has a default (see `resolveItemGraphOptions`). */
export interface ItemGraphOptions {
  /** default "cosine" */
  similarity?: SimilarityKind;
  /** Deshpande–Karypis popularity damping for "conditional" (default 0: plain P(j | i)) */
  alpha?: number;
  /** sim · c / (c + shrinkage); default 0 (off) */
  shrinkage?: number;
  /** neighbours kept per item (default 50; 0 = all that pass the thresholds) */
  topK?: number;
  /** items with fewer distinct training users get no edges (default 1) */
  minSupport?: number;
  /** pairs seen together by fewer users are dropped (default 1) */
  minCooc?: number;
  /** pairs with a lower (float32) similarity are dropped (default 0) */
  minSimilarity?: number;
  /** max distinct items per user; heavier users are truncated, not dropped (default 1000; 0 = off) */
  powerUserCap?: number;
  /** "recent" keeps the latest N items (ties: lower item id), "sample" a seeded sample (default "recent") */
  capStrategy?: CapStrategy;
  /** seed for the "sample" cap strategy (default 0) */
  seed?: number;
  /**
   * kernel threads including this one; "auto" (default) uses up to 2 when the estimated work is
   * large enough to repay worker start-up
   */
  threads?: number | "auto";
  /** phase timings go to debug */
  log?: Logger;
}

/** Options with every default filled in (recorded with the graph). */
export interface ResolvedItemGraphOptions {
  similarity: SimilarityKind;
  alpha: number;
  shrinkage: number;
  topK: number;
  minSupport: number;
  minCooc: number;
  minSimilarity: number;
  powerUserCap: number;
  capStrategy: CapStrategy;
  seed: number;
}

/** Counts describing what the graph is built from and what each guardrail removed. */
export interface ItemGraphStats extends GraphStructure {
  users: number;
  items: number;
  /** users with at least one (guarded) item */
  activeUsers: number;
  /** items with at least one training user */
  itemsWithUsers: number;
  guardrails: GuardrailEffects & {
    /** directed pairs (i → j, j ≠ i) with co-occurrence ≥ 1 after the data guardrails */
    candidatePairs: number;
    pairsBelowMinCooc: number;
    pairsBelowMinSimilarity: number;
    pairsBeyondTopK: number;
  };
  /** kernel threads actually used */
  threads: number;
}

/**
 * CSR-like neighbour lists: row i spans [indptr[i], indptr[i+1]), best neighbour first (higher
 * similarity, then higher co-occurrence, then lower item id).
 */
export interface ItemGraph {
  nItems: number;
  kind: SimilarityKind;
  options: ResolvedItemGraphOptions;
  indptr: Int32Array;
  neighbours: Int32Array;
  similarity: Float32Array;
  cooc: Int32Array;
  /** distinct users per item after the guardrails (the degree in the similarity formulas) */
  degree: Int32Array;
  /** distinct training users per item before the guardrails */
  popularity: Int32Array;
  stats: ItemGraphStats;
}

/** Fills defaults and validates, naming the offending option. */
export function resolveItemGraphOptions(o: ItemGraphOptions = {}): ResolvedItemGraphOptions {
  const r: ResolvedItemGraphOptions = {
    similarity: o.similarity ?? "cosine",
    alpha: o.alpha ?? 0,
    shrinkage: o.shrinkage ?? 0,
    topK: o.topK ?? 50,
    minSupport: o.minSupport ?? 1,
    minCooc: o.minCooc ?? 1,
    minSimilarity: o.minSimilarity ?? 0,
    powerUserCap: o.powerUserCap ?? 1000,
    capStrategy: o.capStrategy ?? "recent",
    seed: o.seed ?? 0,
  };
  similarityCode(r.similarity);
  if (!Number.isFinite(r.alpha) || r.alpha < 0) throw new ConfigError("alpha", `must be ≥ 0, got ${r.alpha}`);
  if (!Number.isFinite(r.shrinkage) || r.shrinkage < 0) throw new ConfigError("shrinkage", `must be ≥ 0, got ${r.shrinkage}`);
  if (!Number.isInteger(r.topK) || r.topK < 0) throw new ConfigError("topK", `must be an integer ≥ 0 (0 = unbounded), got ${r.topK}`);
  if (!Number.isInteger(r.minCooc) || r.minCooc < 1) throw new ConfigError("minCooc", `must be an integer ≥ 1, got ${r.minCooc}`);
  if (!Number.isFinite(r.minSimilarity)) throw new ConfigError("minSimilarity", `must be a number, got ${r.minSimilarity}`);
  if (!Number.isInteger(r.seed)) throw new ConfigError("seed", `must be an integer, got ${r.seed}`);
  validateGuardrails(r);
  return r;
}

/** Below this many accumulator updates a worker's start-up (~0.3 s under tsx) is not repaid. */
const PARALLEL_MIN_WORK = 3e8;

/**
 * Builds the taste graph from training interaction arrays (user/item ids dense in [0, nUsers) and
 * [0, nItems); `ts` for the recency cap). Deterministic: same input and options → same graph,
 * whatever the thread count.
 */
export function buildItemGraph(train: GraphInteractions, nUsers: number, nItems: number, opts: ItemGraphOptions = {}): ItemGraph {
  return buildFromPairs(() => distinctPairsFromEvents(train, nUsers, nItems), opts);
}

/**
 * The same graph from a user × item CSR (rows sorted and unique, values ignored). `lastTs`
 * aligned with the stored entries enables the recency cap; without it the cap samples (seeded).
 */
export function buildItemGraphFromCsr(userItem: CsrMatrix, opts: ItemGraphOptions = {}, lastTs?: Float64Array | null): ItemGraph {
  return buildFromPairs(() => distinctPairsFromCsr(userItem, lastTs), opts);
}

function buildFromPairs(pairs: () => DistinctPairs, opts: ItemGraphOptions): ItemGraph {
  const o = resolveItemGraphOptions(opts);
  const log = opts.log ?? quietLogger;
  const t0 = Date.now();
  const d = pairs();
  const t1 = Date.now();
  const wantThreads = opts.threads ?? "auto";
  if (wantThreads !== "auto" && (!Number.isInteger(wantThreads) || wantThreads < 1)) {
    throw new ConfigError("threads", `must be 'auto' or an integer ≥ 1, got ${String(wantThreads)}`);
  }
  const maxThreads = wantThreads === "auto" ? Math.min(2, os.availableParallelism()) : wantThreads;
  const inc = prepareIncidence(d, o, maxThreads > 1);
  const t2 = Date.now();
  let threads = maxThreads;
  const half = useHalfKernel(inc.nItems, o.topK);
  if (wantThreads === "auto" && threads > 1) {
    // the kernel makes ~Σ_u d_u² (full) or half that (half kernel) accumulator updates
    let work = 0;
    for (let u = 0; u < inc.nUsers; u++) {
      const du = inc.userPtr[u + 1] - inc.userPtr[u];
      work += du * du;
    }
    if ((half ? work / 2 : work) < PARALLEL_MIN_WORK) threads = 1;
  }
  const params: KernelParams = {
    code: similarityCode(o.similarity),
    alpha: o.alpha,
    shrinkage: o.shrinkage,
    minCooc: o.minCooc,
    minSimilarity: o.minSimilarity,
    topK: o.topK,
  };
  const blocks = computeRowsParallel(inc, params, threads, half, log);
  const t3 = Date.now();
  const graph = half ? assembleHalf(inc.nItems, o.topK, blocks as HeapBlock[]) : assemble(inc.nItems, blocks as RowBlock[]);
  const structure = graphStructure(inc.nItems, graph.indptr, graph.neighbours);
  let activeUsers = 0;
  for (let u = 0; u < inc.nUsers; u++) if (inc.userPtr[u + 1] > inc.userPtr[u]) activeUsers++;
  let itemsWithUsers = 0;
  for (let i = 0; i < inc.nItems; i++) if (inc.popularity[i] > 0) itemsWithUsers++;
  let candidatePairs = 0;
  let belowCooc = 0;
  let belowSim = 0;
  let passed = 0;
  for (const b of blocks as KernelBlock[]) {
    candidatePairs += b.candidates;
    belowCooc += b.belowMinCooc;
    belowSim += b.belowMinSimilarity;
    passed += b.passed;
  }
  const beyondK = passed - graph.neighbours.length;
  log.debug("graph.timings", { pairs_s: (t1 - t0) / 1000, guardrails_s: (t2 - t1) / 1000, kernel_s: (t3 - t2) / 1000, half, stats_s: (Date.now() - t3) / 1000, threads: blocks.length });
  return {
    nItems: inc.nItems,
    kind: o.similarity,
    options: o,
    ...graph,
    degree: inc.degree,
    popularity: inc.popularity,
    stats: {
      users: inc.nUsers,
      items: inc.nItems,
      activeUsers,
      itemsWithUsers,
      ...structure,
      guardrails: {
        ...inc.effects,
        candidatePairs,
        pairsBelowMinCooc: belowCooc,
        pairsBelowMinSimilarity: belowSim,
        pairsBeyondTopK: beyondK,
      },
      threads: blocks.length,
    },
  };
}

type GraphArrays = { indptr: Int32Array; neighbours: Int32Array; similarity: Float32Array; cooc: Int32Array };

/** Merges half-kernel heaps into one CSR. */
function assembleHalf(nItems: number, topK: number, blocks: HeapBlock[]): GraphArrays {
  const m = mergeHeapBlocks(nItems, topK, blocks);
  const indptr = new Int32Array(nItems + 1);
  for (let i = 0; i < nItems; i++) indptr[i + 1] = indptr[i] + m.rowLength[i];
  return { indptr, neighbours: m.neighbours, similarity: m.similarity, cooc: m.cooc };
}

/** Concatenates row blocks (in row order) into one CSR. */
function assemble(nItems: number, blocks: RowBlock[]): GraphArrays {
  if (blocks.length === 1 && blocks[0].from === 0 && blocks[0].to === nItems) {
    const b = blocks[0];
    const indptr = new Int32Array(nItems + 1);
    for (let i = 0; i < nItems; i++) indptr[i + 1] = indptr[i] + b.rowLength[i];
    return { indptr, neighbours: b.neighbours, similarity: b.similarity, cooc: b.cooc };
  }
  let total = 0;
  for (const b of blocks) total += b.neighbours.length;
  const indptr = new Int32Array(nItems + 1);
  const neighbours = new Int32Array(total);
  const similarity = new Float32Array(total);
  const cooc = new Int32Array(total);
  let off = 0;
  for (const b of blocks) {
    for (let i = b.from; i < b.to; i++) indptr[i + 1] = indptr[i] + b.rowLength[i - b.from];
    neighbours.set(b.neighbours, off);
    similarity.set(b.similarity, off);
    cooc.set(b.cooc, off);
    off += b.neighbours.length;
  }
  return { indptr, neighbours, similarity, cooc };
}

/** Row i's neighbours as subarray views (no copy). */
export function neighboursOf(g: ItemGraph, i: number): { items: Int32Array; similarity: Float32Array; cooc: Int32Array } {
  const s = i >= 0 && i < g.nItems ? g.indptr[i] : 0;
  const e = i >= 0 && i < g.nItems ? g.indptr[i + 1] : 0;
  return { items: g.neighbours.subarray(s, e), similarity: g.similarity.subarray(s, e), cooc: g.cooc.subarray(s, e) };
}
