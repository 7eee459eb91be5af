/**
 * Item-based k-nearest-neighbour recommender on the taste graph. Two neighbourhoods:
 * - "history" (Deshpande & Karypis 2004): score(u, j) = Σ_{i ∈ history(u), j ∈ topk(i)} w(i → j),
 *   each history item votes for its own k nearest items;
 * - "target" (Sarwar et al. 2001, RecBole's and LensKit's ItemKNN): score(u, j) =
 *   Σ_{i ∈ history(u), i ∈ topk(j)} w(j → i), a candidate is scored from its own k nearest items.
 * Implicit feedback: history values are ignored, only membership counts.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { CsrMatrix } from "../../data/csr";
import { buildItemGraphFromCsr, resolveItemGraphOptions, type ItemGraph, type ItemGraphStats } from "../../graph/item-graph";
import type { CapStrategy } from "../../graph/guardrails";
import type { SimilarityKind } from "../../graph/similarity";
import { ScoreHeap } from "../../graph/topk";
import { tempPathFor, writeFileAtomic } from "../../util/atomic";
import { ConfigError, NtgError } from "../../util/errors";
import { stableStringify } from "../../util/stable-json";
import { VERSION } from "../../version";
import type { FitContext, RecommendOptions, Recommender, TopK } from "../recommender";

/**
 * How each item's neighbour weights are scaled before summing: "none" (raw similarity), "l1"
 * (each row sums to 1, so a popular item's many strong neighbours do not dominate), "max" (each
 * row's best neighbour weighs 1).
 */
export type ItemKnnNormalization = "none" | "l1" | "max";

/** Whose top-k list decides a (history item, candidate) pair: the history item's or the candidate's. */
export type ItemKnnNeighbourhood = "history" | "target";

/** ItemKnn configuration (every field has a default). */
export interface ItemKnnConfig {
  /** default "history" (see the module comment) */
  neighbourhood: ItemKnnNeighbourhood;
  /** default "cosine" */
  similarity: SimilarityKind;
  /** neighbours kept per item (default 50) */
  k: number;
  /** Deshpande–Karypis alpha for "conditional" (default 0) */
  alpha: number;
  /** similarity shrinkage sim · c / (c + shrinkage) (default 0) */
  shrinkage: number;
  /** min distinct training users per item (default 1) */
  minSupport: number;
  /** min co-occurrence per pair (default 1) */
  minCooc: number;
  /** min similarity per pair (default 0) */
  minSimilarity: number;
  /** max distinct items per user when building the graph (default 1000; 0 = off) */
  powerUserCap: number;
  /** default "recent" (needs FitContext.lastTs; otherwise falls back to a seeded sample) */
  capStrategy: CapStrategy;
  /** default "none" */
  normalization: ItemKnnNormalization;
  /** seed for sampling (default: FitContext.seed, else 0) */
  seed: number | null;
  /** graph-building threads (default "auto") */
  threads: number | "auto";
}

/** model.json: the header file of a saved model directory (what the registry dispatches on). */
const MODEL_FILE = "model.json";

const DEFAULTS: ItemKnnConfig = {
  neighbourhood: "history",
  similarity: "cosine",
  k: 50,
  alpha: 0,
  shrinkage: 0,
  minSupport: 1,
  minCooc: 1,
  minSimilarity: 0,
  powerUserCap: 1000,
  capStrategy: "recent",
  normalization: "none",
  seed: null,
  threads: "auto",
};

/** Array name → file in a saved model directory (raw little-endian .i32 / .f32). */
const FILES = {
  indptr: "graph_indptr.i32",
  neighbours: "graph_neighbours.i32",
  weights: "graph_weights.f32",
  popularity: "popularity.i32",
  historyIndptr: "history_indptr.i32",
  historyIndices: "history_indices.i32",
} as const;
type ArrayName = keyof typeof FILES;

/**
 * model.json: the header layout shared by every NTG taste model (format, versions, kind, config,
 * scalar state, array manifest), so generic readers can inspect an ItemKnn directory.
 */
interface ItemKnnHeader {
  format: "ntg-taste-model";
  formatVersion: 1;
  ntgVersion: string;
  kind: "itemknn";
  config: ItemKnnConfig;
  state: { nUsers: number; nItems: number; edges: number; historyNnz: number; graphStats: ItemGraphStats | null };
  arrays: Record<ArrayName, { dtype: "i32" | "f32"; length: number; file: string }>;
}

/** graph option names as they appear in ItemKnnConfig (for error messages) */
const GRAPH_KEY: Record<string, keyof ItemKnnConfig> = { topK: "k" };

/** ItemKNN recommender: fit builds the taste graph from the training matrix. */
export class ItemKnn implements Recommender<ItemKnnConfig> {
  readonly kind = "itemknn";
  readonly config: Readonly<ItemKnnConfig>;
  private nUsers = 0;
  private nItems = 0;
  private indptr: Int32Array = new Int32Array(1);
  private neighbours: Int32Array = new Int32Array(0);
  private weights: Float32Array = new Float32Array(0);
  private popularity: Int32Array = new Int32Array(0);
  /** items by popularity desc, id asc: the cold-start ranking */
  private popOrder: Int32Array = new Int32Array(0);
  /** the rows scoring walks: the graph itself ("history") or its transpose ("target") */
  private scoreIndptr: Int32Array = new Int32Array(1);
  private scoreNeighbours: Int32Array = new Int32Array(0);
  private scoreWeights: Float32Array = new Float32Array(0);
  private history: CsrMatrix | null = null;
  private stats: ItemGraphStats | null = null;
  private fitted = false;

  constructor(config: Partial<ItemKnnConfig> = {}) {
    // unknown keys are typos: reject them rather than silently use a default
    for (const key of Object.keys(config)) {
      if (!(key in DEFAULTS)) throw new ConfigError(`itemknn.${key}`, `unknown option (known: ${Object.keys(DEFAULTS).join(", ")})`);
    }
    const c: ItemKnnConfig = { ...DEFAULTS, ...config };
    if (!["history", "target"].includes(c.neighbourhood)) throw new ConfigError("itemknn.neighbourhood", `must be history or target, got '${String(c.neighbourhood)}'`);
    if (!["none", "l1", "max"].includes(c.normalization)) throw new ConfigError("itemknn.normalization", `must be none, l1 or max, got '${String(c.normalization)}'`);
    if (!Number.isInteger(c.k) || c.k < 1) throw new ConfigError("itemknn.k", `must be an integer ≥ 1, got ${c.k}`);
    if (c.seed !== null && !Number.isInteger(c.seed)) throw new ConfigError("itemknn.seed", `must be an integer or null, got ${c.seed}`);
    if (c.threads !== "auto" && (!Number.isInteger(c.threads) || c.threads < 1)) throw new ConfigError("itemknn.threads", `must be 'auto' or an integer ≥ 1, got ${String(c.threads)}`);
    // validate the graph options now rather than at fit time, under this model's key names
    try {
      resolveItemGraphOptions(this.graphOptions(c, 0));
    } catch (e) {
      if (e instanceof ConfigError) {
        const key = GRAPH_KEY[e.path] ?? e.path;
        throw new ConfigError(`itemknn.${key}`, e.message.replace(/^config key '[^']*': /, ""));
      }
      throw e;
    }
    this.config = Object.freeze(c);
  }

  private graphOptions(c: ItemKnnConfig, seed: number) {
    return {
      similarity: c.similarity,
      topK: c.k,
      alpha: c.alpha,
      shrinkage: c.shrinkage,
      minSupport: c.minSupport,
      minCooc: c.minCooc,
      minSimilarity: c.minSimilarity,
      powerUserCap: c.powerUserCap,
      capStrategy: c.capStrategy,
      seed,
      threads: c.threads,
    };
  }

  /** Graph statistics of the last fit (guardrail effects, degrees, components). */
  get graphStats(): ItemGraphStats | null {
    return this.stats;
  }

  /** Builds the taste graph from `train` (user × item; values ignored). `ctx.lastTs` enables the recency cap. */
  async fit(train: CsrMatrix, ctx: FitContext = {}): Promise<this> {
    const seed = this.config.seed ?? ctx.seed ?? 0;
    const graph = buildItemGraphFromCsr(train, this.graphOptions(this.config, seed), ctx.lastTs ?? null);
    this.adopt(graph, train);
    return this;
  }

  /** Uses an already built graph (its options are the caller's business) with `train` as default history. */
  fitFromGraph(graph: ItemGraph, train: CsrMatrix): this {
    if (graph.nItems !== train.nCols) throw new RangeError(`graph has ${graph.nItems} items, the matrix ${train.nCols} columns`);
    this.adopt(graph, train);
    return this;
  }

  private adopt(graph: ItemGraph, train: CsrMatrix): void {
    this.nUsers = train.nRows;
    this.nItems = graph.nItems;
    this.indptr = graph.indptr;
    this.neighbours = graph.neighbours;
    this.weights = normalizeRows(graph.indptr, graph.similarity, this.config.normalization);
    this.popularity = graph.popularity;
    this.history = train;
    this.stats = graph.stats;
    this.popOrder = popularityOrder(this.popularity);
    this.prepareScoring();
    this.fitted = true;
  }

  private prepareScoring(): void {
    if (this.config.neighbourhood === "history") {
      this.scoreIndptr = this.indptr;
      this.scoreNeighbours = this.neighbours;
      this.scoreWeights = this.weights;
      return;
    }
    const t = transposeRows(this.indptr, this.neighbours, this.weights, this.nItems);
    this.scoreIndptr = t.indptr;
    this.scoreNeighbours = t.neighbours;
    this.scoreWeights = t.weights;
  }

  private assertFitted(): void {
    if (!this.fitted) throw new NtgError("ItemKnn: call fit() (or load()) before recommending");
  }

  /**
   * Top-k per user, best first, ties by lower item id. Users with no usable history (out of
   * range, empty row, or no unexcluded neighbour of any history item) get the training-popularity ranking,
   * scored by popularity. Users with fewer than k scored candidates are padded with unscored
   * (score 0) items in ascending id order, then −1/NaN once the catalogue is exhausted.
   */
  recommend(users: Int32Array | readonly number[], k: number, opts: RecommendOptions = {}): TopK {
    this.assertFitted();
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be an integer ≥ 0, got ${k}`);
    const rows = Int32Array.from(users as ArrayLike<number>);
    const n = rows.length;
    const items = new Int32Array(n * k).fill(-1);
    const scores = new Float32Array(n * k).fill(NaN);
    const hist = opts.history ?? this.history;
    const excl = opts.exclude ?? null;
    const nItems = this.nItems;
    const acc = new Float64Array(nItems);
    const touched = new Int32Array(nItems);
    const banned = new Uint8Array(nItems);
    const seen = new Uint8Array(nItems);
    const heap = new ScoreHeap(k);
    const indptr = this.scoreIndptr;
    const neighbours = this.scoreNeighbours;
    const weights = this.scoreWeights;
    for (let r = 0; r < n; r++) {
      const u = rows[r];
      const out = r * k;
      if (excl && u >= 0 && u < excl.nRows) {
        for (let p = excl.indptr[u]; p < excl.indptr[u + 1]; p++) {
          const j = excl.indices[p];
          if (j >= 0 && j < nItems) banned[j] = 1;
        }
      }
      let nt = 0;
      if (hist && u >= 0 && u < hist.nRows) {
        for (let p = hist.indptr[u]; p < hist.indptr[u + 1]; p++) {
          const i = hist.indices[p];
          if (i < 0 || i >= nItems) continue;
          for (let q = indptr[i]; q < indptr[i + 1]; q++) {
            const j = neighbours[q];
            if (!seen[j]) {
              seen[j] = 1;
              touched[nt++] = j;
            }
            acc[j] += weights[q];
          }
        }
      }
      if (nt === 0) {
        this.fillPopular(items, scores, out, k, banned);
      } else {
        let offered = 0;
        for (let t = 0; t < nt; t++) {
          const j = touched[t];
          if (banned[j]) continue;
          // compare the stored float32 score so the output order matches the reported scores
          heap.offer(Math.fround(acc[j]), j);
          offered++;
        }
        const got = heap.drainInto(items, scores, out);
        if (offered === 0) this.fillPopular(items, scores, out, k, banned);
        else if (got < k) {
          let m = got;
          for (let j = 0; j < nItems && m < k; j++) {
            if (!seen[j] && !banned[j]) {
              items[out + m] = j;
              scores[out + m] = 0;
              m++;
            }
          }
        }
        for (let t = 0; t < nt; t++) {
          acc[touched[t]] = 0;
          seen[touched[t]] = 0;
        }
      }
      if (excl && u >= 0 && u < excl.nRows) {
        for (let p = excl.indptr[u]; p < excl.indptr[u + 1]; p++) {
          const j = excl.indices[p];
          if (j >= 0 && j < nItems) banned[j] = 0;
        }
      }
    }
    return { rows, k, items, scores };
  }

  private fillPopular(items: Int32Array, scores: Float32Array, out: number, k: number, banned: Uint8Array): void {
    let m = 0;
    for (let t = 0; t < this.popOrder.length && m < k; t++) {
      const j = this.popOrder[t];
      if (banned[j]) continue;
      items[out + m] = j;
      scores[out + m] = this.popularity[j];
      m++;
    }
  }

  /** The k most similar items from each item's neighbour list (normalised weights); unknown items → empty row. */
  similarItems(items: Int32Array | readonly number[], k: number): TopK {
    this.assertFitted();
    const rows = Int32Array.from(items as ArrayLike<number>);
    const outItems = new Int32Array(rows.length * k).fill(-1);
    const outScores = new Float32Array(rows.length * k).fill(NaN);
    for (let r = 0; r < rows.length; r++) {
      const i = rows[r];
      if (i < 0 || i >= this.nItems) continue;
      const s = this.indptr[i];
      const m = Math.min(k, this.indptr[i + 1] - s);
      outItems.set(this.neighbours.subarray(s, s + m), r * k);
      outScores.set(this.weights.subarray(s, s + m), r * k);
    }
    return { rows, k, items: outItems, scores: outScores };
  }

  /**
   * Writes model.json (shared taste-model header: kind, config, shapes, graph stats, array
   * manifest) and raw little-endian .i32/.f32 arrays into a sibling temp directory, then swaps it
   * in: readers see the old model or the new one, never a mix.
   */
  async save(dir: string): Promise<void> {
    this.assertFitted();
    assertLittleEndian();
    const h = this.history as CsrMatrix;
    const arrays: Record<ArrayName, Int32Array | Float32Array> = {
      indptr: this.indptr,
      neighbours: this.neighbours,
      weights: this.weights,
      popularity: this.popularity,
      historyIndptr: h.indptr,
      historyIndices: h.indices,
    };
    const target = path.resolve(dir);
    if (fs.existsSync(target) && fs.readdirSync(target).length > 0 && !fs.existsSync(path.join(target, MODEL_FILE))) {
      throw new NtgError(`${target}: exists and is not a model directory; refusing to overwrite it`);
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmp = tempPathFor(target);
    fs.mkdirSync(tmp);
    try {
      const manifest = {} as ItemKnnHeader["arrays"];
      for (const name of Object.keys(FILES) as ArrayName[]) {
        const a = arrays[name];
        writeFileAtomic(path.join(tmp, FILES[name]), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
        manifest[name] = { dtype: a instanceof Float32Array ? "f32" : "i32", length: a.length, file: FILES[name] };
      }
      const header: ItemKnnHeader = {
        format: "ntg-taste-model",
        formatVersion: 1,
        ntgVersion: VERSION,
        kind: "itemknn",
        config: this.config,
        state: { nUsers: this.nUsers, nItems: this.nItems, edges: this.neighbours.length, historyNnz: h.indices.length, graphStats: this.stats },
        arrays: manifest,
      };
      // full precision, so the config reloads exactly
      writeFileAtomic(path.join(tmp, MODEL_FILE), stableStringify(header, { digits: 17 }));
      if (fs.existsSync(target)) {
        const old = tempPathFor(target);
        fs.renameSync(target, old);
        fs.renameSync(tmp, target);
        fs.rmSync(old, { recursive: true, force: true });
      } else {
        fs.renameSync(tmp, target);
      }
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  /** Restores a model written by `save`; recommendations are identical to the saved model's. */
  static async load(dir: string): Promise<ItemKnn> {
    assertLittleEndian();
    const file = path.join(dir, MODEL_FILE);
    if (!fs.existsSync(file)) throw new NtgError(`${dir}: no ${MODEL_FILE}; not a saved model directory`);
    let header: ItemKnnHeader;
    try {
      header = JSON.parse(fs.readFileSync(file, "utf8")) as ItemKnnHeader;
    } catch (e) {
      throw new NtgError(`${file}: unreadable model header (${(e as Error).message})`);
    }
    if (header.format !== "ntg-taste-model" || header.formatVersion !== 1) throw new NtgError(`${file}: unsupported model format ${String(header.format)} v${String(header.formatVersion)}`);
    if (header.kind !== "itemknn") throw new NtgError(`${dir}: holds a '${String(header.kind)}' model, not 'itemknn'`);
    const s = header.state;
    const expected: Record<ArrayName, number> = {
      indptr: s.nItems + 1,
      neighbours: s.edges,
      weights: s.edges,
      popularity: s.nItems,
      historyIndptr: s.nUsers + 1,
      historyIndices: s.historyNnz,
    };
    const read = (name: ArrayName): Int32Array | Float32Array => {
      const spec = header.arrays?.[name];
      if (!spec) throw new NtgError(`${file}: array '${name}' missing from the manifest`);
      if (spec.length !== expected[name]) throw new NtgError(`${file}: array '${name}' has ${spec.length} entries, expected ${expected[name]}`);
      return readArray(path.join(dir, spec.file), spec.length, name === "weights" ? "f32" : "i32");
    };
    const m = new ItemKnn(header.config);
    m.nUsers = s.nUsers;
    m.nItems = s.nItems;
    m.indptr = read("indptr") as Int32Array;
    m.neighbours = read("neighbours") as Int32Array;
    m.weights = read("weights") as Float32Array;
    m.popularity = read("popularity") as Int32Array;
    const hIndptr = read("historyIndptr") as Int32Array;
    const hIndices = read("historyIndices") as Int32Array;
    m.history = { nRows: s.nUsers, nCols: s.nItems, indptr: hIndptr, indices: hIndices, values: new Float32Array(hIndices.length).fill(1) };
    m.popOrder = popularityOrder(m.popularity);
    m.stats = s.graphStats ?? null;
    m.prepareScoring();
    m.fitted = true;
    return m;
  }
}

/** The transpose of a row-list graph: row i lists every j whose row holds i, with weight w(j → i), j ascending. */
function transposeRows(indptr: Int32Array, cols: Int32Array, w: Float32Array, n: number): { indptr: Int32Array; neighbours: Int32Array; weights: Float32Array } {
  const tIndptr = new Int32Array(n + 1);
  for (let p = 0; p < cols.length; p++) tIndptr[cols[p] + 1]++;
  for (let i = 0; i < n; i++) tIndptr[i + 1] += tIndptr[i];
  const fill = tIndptr.slice(0, n);
  const tCols = new Int32Array(cols.length);
  const tW = new Float32Array(cols.length);
  for (let j = 0; j < n; j++) {
    for (let p = indptr[j]; p < indptr[j + 1]; p++) {
      const q = fill[cols[p]]++;
      tCols[q] = j;
      tW[q] = w[p];
    }
  }
  return { indptr: tIndptr, neighbours: tCols, weights: tW };
}

/** Items by popularity descending, ties by lower id. */
function popularityOrder(pop: Int32Array): Int32Array {
  const order = new Int32Array(pop.length);
  for (let i = 0; i < pop.length; i++) order[i] = i;
  return order.sort((a, b) => pop[b] - pop[a] || a - b);
}

/** A scaled copy of the neighbour weights (or the original for "none"). */
function normalizeRows(indptr: Int32Array, sim: Float32Array, how: ItemKnnNormalization): Float32Array {
  if (how === "none") return sim;
  const out = new Float32Array(sim.length);
  for (let i = 0; i + 1 < indptr.length; i++) {
    let d = 0;
    for (let p = indptr[i]; p < indptr[i + 1]; p++) d = how === "l1" ? d + sim[p] : Math.max(d, sim[p]);
    for (let p = indptr[i]; p < indptr[i + 1]; p++) out[p] = d > 0 ? sim[p] / d : 0;
  }
  return out;
}

function assertLittleEndian(): void {
  if (os.endianness() !== "LE") throw new NtgError("ItemKnn model files are little-endian; this platform is big-endian");
}

function readArray(file: string, n: number, kind: "i32" | "f32"): Int32Array | Float32Array {
  if (!fs.existsSync(file)) throw new NtgError(`${file}: missing model array`);
  const buf = fs.readFileSync(file);
  if (buf.byteLength !== 4 * n) throw new NtgError(`${file}: ${buf.byteLength} bytes, expected ${4 * n}`);
  const copy = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return kind === "i32" ? new Int32Array(copy) : new Float32Array(copy);
}
