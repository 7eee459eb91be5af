import * as fs from "node:fs";
import * as path from "node:path";
import { buildCsr, type CsrMatrix } from "../data/csr";
import { Duck, parquet } from "../data/duck";
import { loadInteractionArrays } from "../data/load";
import type { InteractionArrays, TimeRange } from "../data/schema";
import { compareModels, type NamedRun } from "../eval/compare";
import { loadProtocol, evaluateModel, type ModelEvaluation } from "../eval/protocol";
import { searchHyperparameters, type ParamSpace } from "../eval/search";
import { writePerUserMetrics } from "../eval/ranking-metrics";
import { buildItemGraph, readItemGraphEdges, writeItemGraph, writeItemGraphSummary, type ItemGraphOptions } from "../graph";
import { embeddingSource, historyFromCsr, historyNeighbourSource, popularitySource, topKSource } from "../rank/candidates";
import { rankForUsers, rankingToTopK } from "../rank/personal";
import type { CandidateSource, SourceList } from "../rank/types";
import { writeTopK } from "../rank/write";
import { buildTasteAxes, loadItemCatalog, tasteAxesSummary, writeTasteAxes } from "../taste/axes";
import type { Recommender, RecommendOptions, TopK } from "../taste/recommender";
import { createModel, loadModel } from "../taste/registry";
import { writeFileAtomic } from "../util/atomic";
import { NtgError } from "../util/errors";
import { stableStringify } from "../util/stable-json";
import type { NtgConfig } from "./config";
import { relativeToRun } from "./manifest";
import type { Stage, StageContext, StageResult } from "./runner";
import { runLayout } from "./stages";

/** Where the taste stages write (inside the run directory). */
export function tasteLayout(runDir: string) {
  const out = path.join(runDir, "outputs");
  return {
    graph: path.join(out, "graph", "item_item.parquet"),
    graphStats: path.join(out, "graph", "graph_stats.json"),
    embeddings: path.join(out, "embeddings"),
    axesSummary: path.join(out, "embeddings", "axes.json"),
    models: path.join(out, "embeddings", "models"),
    topk: path.join(out, "recommendations", "topk.parquet"),
    reports: path.join(out, "reports"),
    rankingMetrics: path.join(out, "reports", "ranking_metrics.json"),
    perUser: path.join(out, "reports", "per_user"),
  };
}

/** Training data as typed arrays plus the id-space sizes from the dimension tables. */
interface TrainData {
  train: InteractionArrays & { timeRange: TimeRange };
  nUsers: number;
  nItems: number;
  csr: CsrMatrix;
  /** last event time per stored CSR entry (recency for histories and the power-user cap) */
  lastTs: Float64Array;
}

async function loadTrain(db: Duck, runDir: string): Promise<TrainData> {
  const L = runLayout(runDir);
  const train = await loadInteractionArrays(db, L.train);
  const nUsers = Number(await db.scalar(`SELECT count(*) FROM ${parquet(L.users)}`));
  const nItems = Number(await db.scalar(`SELECT count(*) FROM ${parquet(L.items)}`));
  const csr = buildCsr(train, nUsers, nItems, "binary");
  // last timestamp per (user, item), aligned with the CSR entries
  const lastTs = new Float64Array(csr.indices.length).fill(-Infinity);
  for (let e = 0; e < train.length; e++) {
    const u = train.userId[e];
    const it = train.itemId[e];
    let lo = csr.indptr[u];
    let hi = csr.indptr[u + 1] - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (csr.indices[mid] < it) lo = mid + 1;
      else hi = mid - 1;
    }
    if (train.ts[e] > lastTs[lo]) lastTs[lo] = train.ts[e];
  }
  return { train, nUsers, nItems, csr, lastTs };
}

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (!e.name.startsWith(".")) out.push(p);
  }
  return out.sort();
}

/** The graph options the build-graph stage derives from the config's `graph:` section. */
export function graphOptions(cfg: NtgConfig): ItemGraphOptions {
  const g = cfg.graph;
  return {
    similarity: g.similarity,
    topK: g.top_k,
    minSupport: g.min_support,
    minCooc: g.min_cooccurrence,
    minSimilarity: g.min_similarity,
    powerUserCap: g.power_user_cap,
    shrinkage: g.shrinkage,
    seed: cfg.seed,
  };
}

function modelConfig(cfg: NtgConfig, kind: string): Record<string, unknown> {
  const own = cfg.embeddings.params[kind] ?? {};
  if (kind === "itemknn") {
    const g = cfg.graph;
    return { similarity: g.similarity, k: g.top_k, minSupport: g.min_support, minCooc: g.min_cooccurrence, minSimilarity: g.min_similarity, powerUserCap: g.power_user_cap, shrinkage: g.shrinkage, ...own };
  }
  // only the stochastic models take a seed (the others reject unknown config keys)
  return ["ials", "bpr", "puresvd"].includes(kind) ? { seed: cfg.seed, ...own } : { ...own };
}

const trainInputs = (ctx: StageContext) => {
  const L = runLayout(ctx.runDir);
  return [L.train, L.users, L.items];
};

const buildGraphStage: Stage = {
  name: "build-graph",
  description: "item–item taste graph from TRAIN (sparse co-occurrence product, guardrails, top-K)",
  dependsOn: ["build-dataset"],
  trainOnly: true,
  configSlice: (ctx) => ({ graph: ctx.loaded.config.graph, seed: ctx.loaded.config.seed }),
  inputs: trainInputs,
  async run(ctx, db): Promise<StageResult> {
    const T = tasteLayout(ctx.runDir);
    const d = await loadTrain(db, ctx.runDir);
    const graph = buildItemGraph(d.train, d.nUsers, d.nItems, { ...graphOptions(ctx.loaded.config), log: ctx.logger });
    const edges = await writeItemGraph(db, graph, T.graph);
    writeItemGraphSummary(graph, T.graphStats);
    const s = graph.stats;
    ctx.logger.info("graph.built", { edges, components: s.components, largest_component: s.largestComponent });
    return { outputs: [T.graph, T.graphStats], rows: { edges, items: d.nItems }, timeRange: d.train.timeRange, details: {} };
  },
};

const buildEmbeddingsStage: Stage = {
  name: "build-embeddings",
  description: "taste axes (genre and item PCA) and embedding models fitted on TRAIN",
  dependsOn: ["build-dataset"],
  trainOnly: true,
  configSlice: (ctx) => ({ embeddings: ctx.loaded.config.embeddings, graph: ctx.loaded.config.graph, seed: ctx.loaded.config.seed }),
  inputs: trainInputs,
  async run(ctx, db): Promise<StageResult> {
    const cfg = ctx.loaded.config;
    const T = tasteLayout(ctx.runDir);
    const L = runLayout(ctx.runDir);
    const d = await loadTrain(db, ctx.runDir);
    const catalog = await loadItemCatalog(db, L.items, d.nItems);
    const rows: Record<string, number> = {};
    if (catalog.genreNames.length >= 2) {
      const axes = buildTasteAxes(d.train, d.nUsers, d.nItems, catalog, { genreAxes: Math.min(cfg.embeddings.genre_axes, catalog.genreNames.length), itemAxes: cfg.embeddings.item_axes, seed: cfg.seed });
      const w = await writeTasteAxes(db, axes, T.embeddings);
      rows.user_axes = w.users;
      rows.item_axes = w.items;
      for (const a of axes.genre.axes) ctx.logger.info("axes.genre", { axis: a.index, label: a.label, explained: Number(a.explainedVarianceRatio.toFixed(3)) });
    } else {
      ctx.logger.warn("axes.skipped", { reason: "the dataset has fewer than two genres" });
    }
    fs.rmSync(T.models, { recursive: true, force: true });
    for (const kind of cfg.embeddings.models) {
      const t0 = Date.now();
      const model = createModel(kind, modelConfig(cfg, kind));
      await model.fit(d.csr, { seed: cfg.seed, lastTs: d.lastTs, itemAttributes: catalog.itemGenres });
      await model.save(path.join(T.models, kind));
      ctx.logger.info("model.fitted", { model: kind, seconds: (Date.now() - t0) / 1000 });
      rows[`model_${kind}`] = 1;
    }
    return { outputs: listFiles(T.embeddings), rows, timeRange: d.train.timeRange, details: { models: cfg.embeddings.models } };
  },
};

/** Candidate sources the config names, built from the fitted artifacts. */
async function buildSources(ctx: StageContext, db: Duck, d: TrainData, history: CsrMatrix, historyOrder: Float64Array | undefined) {
  const cfg = ctx.loaded.config;
  const T = tasteLayout(ctx.runDir);
  const sources: CandidateSource[] = [];
  let axisLabels: string[] | undefined;
  for (const name of cfg.rank.sources) {
    if (name === "graph") {
      const e = await readItemGraphEdges(db, T.graph);
      const indptr = new Int32Array(d.nItems + 1);
      for (let p = 0; p < e.length; p++) indptr[e.item[p] + 1]++;
      for (let i = 0; i < d.nItems; i++) indptr[i + 1] += indptr[i];
      // edges are written ordered by item, rank: each item's neighbours are contiguous, best first
      const neighbours = (item: number, n: number): SourceList => {
        const s = indptr[item];
        const t = Math.min(indptr[item + 1], s + n);
        return { items: e.neighbour.slice(s, t), scores: Float64Array.from(e.similarity.subarray(s, t)) };
      };
      sources.push(historyNeighbourSource("graph", { history: historyFromCsr(history, historyOrder), neighbours, recent: cfg.rank.recent, perItem: 50 }));
    } else if (name === "axes") {
      const summary = JSON.parse(fs.readFileSync(T.axesSummary, "utf8")) as { item?: { axes?: Array<{ label: string }> } };
      axisLabels = summary.item?.axes?.map((a) => a.label);
      const src = await axesSource(db, T.embeddings, d, history);
      if (src) sources.push(src);
    } else if (name === "popularity") {
      const pop = new Float64Array(d.nItems);
      for (let r = 0; r < d.csr.nRows; r++) for (let p = d.csr.indptr[r]; p < d.csr.indptr[r + 1]; p++) pop[d.csr.indices[p]]++;
      sources.push(popularitySource("popularity", pop));
    } else {
      const dir = path.join(T.models, name);
      if (!fs.existsSync(dir)) throw new NtgError(`rank.sources names '${name}', but no fitted model is at ${dir} (add it to embeddings.models)`);
      const model = await loadModel(dir);
      const per = cfg.rank.per_source;
      // one batched call for every user (models are fast in batch, slow one user at a time)
      let batch: ReturnType<typeof topKSource> | null = null;
      const allUsers = Int32Array.from({ length: history.nRows }, (_, i) => i);
      sources.push({
        name,
        kind: "other",
        candidates(user: number, n: number): SourceList {
          if (!batch) batch = topKSource(name, "other", model.recommend(allUsers, per, { exclude: history, history }));
          return batch.candidates(user, n);
        },
        reason: () => `recommended by ${name}`,
      });
    }
  }
  return { sources, axisLabels };
}

/** The item-PCA embedding as a candidate source ("close to your taste axis ..."). */
async function axesSource(db: Duck, dir: string, d: TrainData, history: CsrMatrix): Promise<CandidateSource | null> {
  const itemFile = path.join(dir, "item_axes.parquet");
  const userFile = path.join(dir, "user_axes.parquet");
  if (!fs.existsSync(itemFile)) return null;
  const cols = (await db.rows<{ column_name: string }>(`DESCRIBE SELECT * FROM ${parquet(itemFile)}`)).map((r) => r.column_name).filter((c) => /^item_axis_\d+$/.test(c));
  if (cols.length === 0) return null;
  const k = cols.length;
  const spec = Object.fromEntries(cols.map((c) => [c, "f64" as const]));
  const ic = await db.columns(`SELECT ${cols.join(", ")} FROM ${parquet(itemFile)} ORDER BY item_id`, spec);
  const uc = await db.columns(`SELECT ${cols.join(", ")} FROM ${parquet(userFile)} ORDER BY user_id`, spec);
  const V = new Float32Array(d.nItems * k);
  const U = new Float32Array(history.nRows * k);
  for (let c = 0; c < k; c++) {
    const iv = (ic as unknown as Record<string, Float64Array>)[cols[c]];
    const uv = (uc as unknown as Record<string, Float64Array>)[cols[c]];
    for (let i = 0; i < Math.min(d.nItems, iv.length); i++) V[i * k + c] = Number.isFinite(iv[i]) ? iv[i] : 0;
    for (let u = 0; u < Math.min(history.nRows, uv.length); u++) U[u * k + c] = Number.isFinite(uv[u]) ? uv[u] : 0;
  }
  return embeddingSource("axes", { userVectors: U, itemVectors: V, dim: k });
}

/** The fused ranker as a Recommender, so the evaluation treats it like any model. */
function fusedRanker(ctx: StageContext, sources: CandidateSource[], axisLabels: string[] | undefined, titles: (string | null)[] | undefined, nItems: number): Recommender {
  const cfg = ctx.loaded.config;
  return {
    kind: "ranker",
    config: { fusion: cfg.rank.fusion, sources: cfg.rank.sources, per_source: cfg.rank.per_source },
    async fit() {
      return this;
    },
    recommend(users: Int32Array | readonly number[], k: number, opts: RecommendOptions = {}): TopK {
      const r = rankForUsers(users, { k, sources, fusion: cfg.rank.fusion, perSource: Math.max(cfg.rank.per_source, k), seen: opts.exclude ?? null, titles, axisLabels });
      return rankingToTopK(r, users, k);
    },
    similarItems(items: Int32Array | readonly number[], k: number): TopK {
      const n = items.length;
      return { rows: Int32Array.from(items), k, items: new Int32Array(n * k).fill(-1), scores: new Float32Array(n * k).fill(NaN) };
    },
    async save() {
      throw new NtgError(`the fused ranker is rebuilt from its sources; nothing to save (catalogue of ${nItems} items)`);
    },
  } as Recommender;
}

async function loadTitles(db: Duck, itemsFile: string, nItems: number): Promise<(string | null)[]> {
  const rows = await db.rows<{ item_id: number; title: string | null }>(`SELECT item_id, title FROM ${parquet(itemsFile)} ORDER BY item_id`);
  const titles: (string | null)[] = new Array(nItems).fill(null);
  for (const r of rows) titles[r.item_id] = r.title;
  return titles;
}

const rankStage: Stage = {
  name: "rank",
  description: "personalised top-K per user: candidate sources fused (RRF), seen items filtered, reasons",
  dependsOn: ["build-graph", "build-embeddings"],
  trainOnly: true,
  configSlice: (ctx) => ({ rank: ctx.loaded.config.rank }),
  inputs: (ctx) => [...trainInputs(ctx), tasteLayout(ctx.runDir).graph, ...listFiles(tasteLayout(ctx.runDir).embeddings)],
  async run(ctx, db): Promise<StageResult> {
    const cfg = ctx.loaded.config;
    const L = runLayout(ctx.runDir);
    const T = tasteLayout(ctx.runDir);
    const d = await loadTrain(db, ctx.runDir);
    const { sources, axisLabels } = await buildSources(ctx, db, d, d.csr, d.lastTs);
    const titles = await loadTitles(db, L.items, d.nItems);
    const users = new Int32Array(d.nUsers).map((_, i) => i);
    const progress = ctx.logger.progress("rank", d.nUsers);
    const ranking = rankForUsers(users, { k: cfg.rank.k, sources, fusion: cfg.rank.fusion, perSource: cfg.rank.per_source, seen: d.csr, titles, axisLabels });
    progress.finish();
    const n = await writeTopK(db, ranking, T.topk);
    return { outputs: [T.topk], rows: { recommendations: n, users: d.nUsers }, timeRange: d.train.timeRange, details: { sources: cfg.rank.sources } };
  },
};

const evaluateStage: Stage = {
  name: "evaluate",
  description: "full-catalogue evaluation of every model and the ranker on val and test, paired bootstrap CIs",
  dependsOn: ["rank"],
  // evaluation is the one stage that must read held-out data; models were fitted on train only
  trainOnly: false,
  configSlice: (ctx) => ({ evaluate: ctx.loaded.config.evaluate, rank: ctx.loaded.config.rank, seed: ctx.loaded.config.seed }),
  inputs: (ctx) => {
    const L = runLayout(ctx.runDir);
    const splitFiles = fs.readdirSync(L.splits).filter((f) => f.endsWith(".parquet") || f === "metadata.json").map((f) => path.join(L.splits, f));
    return [...splitFiles.sort(), L.users, L.items, tasteLayout(ctx.runDir).graph, ...listFiles(tasteLayout(ctx.runDir).embeddings)];
  },
  async run(ctx, db): Promise<StageResult> {
    const cfg = ctx.loaded.config;
    const L = runLayout(ctx.runDir);
    const T = tasteLayout(ctx.runDir);
    const nUsers = Number(await db.scalar(`SELECT count(*) FROM ${parquet(L.users)}`));
    const nItems = Number(await db.scalar(`SELECT count(*) FROM ${parquet(L.items)}`));
    const protocol = await loadProtocol(db, { dir: L.splits, nUsers, nItems, relevance: cfg.evaluate.relevance, maskValAtTest: cfg.evaluate.mask_val_at_test ?? undefined });
    const models: Recommender[] = [];
    for (const kind of cfg.embeddings.models) models.push(await loadModel(path.join(T.models, kind)));
    const d = await loadTrain(db, ctx.runDir);
    const titles = await loadTitles(db, L.items, nItems);
    const outputs: string[] = [];
    const report: Record<string, unknown> = {};
    const rows: Record<string, number> = {};
    for (const part of ["val", "test"] as const) {
      if (part === "val" && !protocol.val) continue;
      const runs: NamedRun[] = [];
      const evals: ModelEvaluation[] = [];
      const all: Recommender[] = [...models];
      if (cfg.evaluate.ranker) {
        // the ranker's history source reads the same history the protocol gives the models
        const inputs = part === "val" ? protocol.val! : protocol.test;
        const { sources, axisLabels } = await buildSources(ctx, db, d, inputs.history, inputs.historyIsTrain ? d.lastTs : undefined);
        all.push(fusedRanker(ctx, sources, axisLabels, titles, nItems));
      }
      for (const m of all) {
        const ev = evaluateModel(m, protocol, { part, ks: cfg.evaluate.ks, beyond: true });
        evals.push(ev);
        runs.push({ name: m.kind, metrics: ev.metrics });
        const f = path.join(T.perUser, `${m.kind}_${part}.parquet`);
        await writePerUserMetrics(db, ev.metrics, f);
        outputs.push(f);
        ctx.logger.info("evaluate.model", { part, model: m.kind, users: ev.topk.rows.length, seconds: Number(ev.seconds.toFixed(2)) });
      }
      // CIs and paired tests for the headline metrics; every metric's mean is in the per-user files
      const headline = cfg.evaluate.ks.flatMap((k) => ["ndcg", "recall", "recall_capped", "precision", "map", "mrr"].map((m) => `${m}@${k}`));
      const table = compareModels(runs, { nBoot: cfg.evaluate.n_boot, seed: cfg.seed, metrics: headline });
      report[part] = {
        comparison: table,
        beyond_accuracy: Object.fromEntries(evals.map((e) => [e.model.kind, e.beyond])),
        protocol: evals[0]?.protocol ?? null,
        warnings: [...new Set(evals.flatMap((e) => e.warnings))],
      };
      rows[`${part}_users`] = evals[0]?.topk.rows.length ?? 0;
    }
    writeFileAtomic(T.rankingMetrics, stableStringify({ dataset: ctx.loaded.config.name, strategy: protocol.strategy, ks: cfg.evaluate.ks, n_boot: cfg.evaluate.n_boot, ...report }));
    outputs.push(T.rankingMetrics);
    return { outputs, rows, timeRange: { min: null, max: null }, details: {} };
  },
};

/**
 * Built-in search spaces (override per kind with `tune.spaces`). iALS's λ reaches 100: with
 * confidence 1 + α the val optimum on MovieLens sat at λ = 10–50 (λ grows with α), beyond the
 * former upper bound of 10 (experiments/results/ranking_tuned_*.json).
 */
export const DEFAULT_SEARCH_SPACES: Record<string, ParamSpace> = {
  ease: { lambda: { logUniform: [10, 3000] } },
  ials: { factors: [32, 64, 128], regularization: { logUniform: [0.01, 100] }, alpha: { logUniform: [1, 50] }, iterations: [10, 15] },
  itemknn: { k: [20, 50, 100, 200], similarity: ["cosine", "jaccard"], shrinkage: [0, 10, 50] },
  bpr: { factors: [32, 64], learningRate: { logUniform: [0.005, 0.1] }, regularization: { logUniform: [0.0001, 0.01] } },
  puresvd: { factors: [16, 32, 64, 128] },
  popularity: {},
};

const tuneStage: Stage = {
  name: "tune",
  description: "hyper-parameter search on the validation split (never test); best settings per model",
  dependsOn: ["build-dataset"],
  // tuning must read val; it never reads test, which the runner's auditNoTest checks
  trainOnly: false,
  noTest: true,
  applies: (ctx) => ctx.loaded.config.tune.models.length > 0,
  // the trials start from the models' configured params (`embeddings.params`), so those are part of the slice
  configSlice: (ctx) => ({ tune: ctx.loaded.config.tune, graph: ctx.loaded.config.graph, params: ctx.loaded.config.embeddings.params, seed: ctx.loaded.config.seed }),
  inputs: (ctx) => {
    const L = runLayout(ctx.runDir);
    return fs.readdirSync(L.splits).filter((f) => (f.startsWith("train") || f.startsWith("val")) && f.endsWith(".parquet")).map((f) => path.join(L.splits, f)).concat([L.splitMetadata, L.users, L.items]).sort();
  },
  async run(ctx, db): Promise<StageResult> {
    const cfg = ctx.loaded.config;
    const L = runLayout(ctx.runDir);
    const T = tasteLayout(ctx.runDir);
    const nUsers = Number(await db.scalar(`SELECT count(*) FROM ${parquet(L.users)}`));
    const nItems = Number(await db.scalar(`SELECT count(*) FROM ${parquet(L.items)}`));
    const protocol = await loadProtocol(db, { dir: L.splits, nUsers, nItems, valOnly: true });
    if (!protocol.val) throw new NtgError("tune needs a validation split (split.fractions.val > 0, or leave_out_val)");
    // The same fit context build-embeddings gives the models (recency for ItemKNN's power-user cap,
    // item genres), so a trial fits exactly the model that build-embeddings refits with its params.
    const d = await loadTrain(db, ctx.runDir);
    if (d.csr.indices.length !== protocol.train.indices.length) throw new NtgError(`tune: the training matrix has ${protocol.train.indices.length} entries, the recency array ${d.csr.indices.length}`);
    const catalog = await loadItemCatalog(db, L.items, d.nItems);
    const fitContext = { seed: cfg.seed, lastTs: d.lastTs, itemAttributes: catalog.itemGenres };
    const out: Record<string, unknown> = {};
    for (const kind of cfg.tune.models) {
      const space = { ...(DEFAULT_SEARCH_SPACES[kind] ?? {}), ...((cfg.tune.spaces[kind] ?? {}) as ParamSpace) };
      const base = modelConfig(cfg, kind);
      const res = await searchHyperparameters((params) => createModel(kind, { ...base, ...params }), protocol, {
        space,
        method: cfg.tune.method,
        nTrials: cfg.tune.trials,
        seed: cfg.seed,
        metric: cfg.tune.metric,
        fitContext,
        onTrial: (t) => ctx.logger.info("tune.trial", { model: kind, params: t.params, score: Number(t.score.toFixed(5)) }),
      });
      out[kind] = { best: res.best, trials: res.trials.map((t) => ({ params: t.params, score: t.score, error: t.error ?? null })) };
    }
    const file = path.join(T.reports, "tuning.json");
    writeFileAtomic(file, stableStringify({ part: "val", metric: cfg.tune.metric, method: cfg.tune.method, models: out }));
    return { outputs: [file], rows: { models: cfg.tune.models.length }, timeRange: { min: null, max: null }, details: { split_files_read: protocol.filesRead.map((f) => relativeToRun(ctx.runDir, f)).sort() } };
  },
};

/** Taste, ranking and evaluation stages, in pipeline order (`tune` runs only when asked for). */
export const TASTE_STAGES: Stage[] = [buildGraphStage, buildEmbeddingsStage, rankStage, evaluateStage, tuneStage];

/** Writes the evaluation report (used by scripts that evaluate outside the pipeline). */
export function writeRankingReport(file: string, report: unknown): void {
  writeFileAtomic(file, stableStringify(report));
}
