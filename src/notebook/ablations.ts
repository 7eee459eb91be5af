/**
 * Controlled ablations for 03_ablations: every variant is fitted on TRAIN and scored on VAL with
 * the full-catalogue protocol (test is never read here), with a bootstrap interval of the chosen
 * metric and a paired comparison against a reference variant on the same users. Also the pieces
 * the ranker ablations need: candidate sources rebuilt from train, and the fused ranker (optionally
 * MMR-diversified) as a Recommender so it is evaluated like any model.
 */
import type { CsrMatrix } from "../data/csr";
import { withDuck } from "../data/duck";
import { beyondAccuracy } from "../eval/beyond-accuracy";
import { bootstrapMean, pairedBootstrap } from "../eval/paired";
import { evaluateModel, loadProtocol, type EvalProtocol } from "../eval/protocol";
import { parseMetricKey } from "../eval/ranking-metrics";
import { searchHyperparameters, type Params, type SearchResult } from "../eval/search";
import { buildItemGraph } from "../graph/item-graph";
import { runLayout } from "../pipeline/stages";
import { barChart, groupedBarChart, heatmap, mergeLayout, NTG_COLORS, ntgTheme, type Figure } from "../plot/figure";
import { embeddingSource, historyFromCsr, historyNeighbourSource, popularitySource } from "../rank/candidates";
import { cosineItemSimilarity } from "../rank/mmr";
import { rankForUsers, rankingToTopK } from "../rank/personal";
import type { CandidateSource, ItemSimilarity, SourceList } from "../rank/types";
import { buildTasteAxes } from "../taste/axes";
import type { FitContext, RecommendOptions, Recommender, TopK } from "../taste/recommender";
import { createModel } from "../taste/registry";
import { InputError } from "../util/errors";
import type { PreparedDataset } from "./pipeline";
import { configGraphOptions, lastEventTimes, loadTasteData, type TasteData } from "./taste-views";

/** What every ablation of one run shares: the val protocol, train data and defaults. */
export interface AblationContext {
  protocol: EvalProtocol;
  data: TasteData;
  /** latest event time per stored entry of `protocol.train` */
  lastTs: Float64Array;
  seed: number;
  /** cutoffs reported (default: the config's evaluate.ks) */
  ks: number[];
  /** the `metric@K` variants are compared on (default ndcg at the smallest cutoff) */
  metric: string;
}

/** Loads the split as an evaluation protocol plus the training data; nothing of test is used later. */
export async function prepareAblations(ds: PreparedDataset, opts: { ks?: number[]; metric?: string } = {}): Promise<AblationContext> {
  const data = await loadTasteData(ds);
  const cfg = ds.loaded.config;
  const protocol = await withDuck((db) => loadProtocol(db, { dir: runLayout(ds.runDir).splits, nUsers: data.nUsers, nItems: data.nItems, relevance: cfg.evaluate.relevance }));
  if (!protocol.val) throw new InputError("ablations need a validation part; this split has none");
  const ks = [...(opts.ks ?? cfg.evaluate.ks)].sort((a, b) => a - b);
  const metric = opts.metric ?? `ndcg@${ks[0]}`;
  parseMetricKey(metric);
  return { protocol, data, lastTs: lastEventTimes(protocol.train, data.train), seed: cfg.seed, ks, metric };
}

/** One arm of an ablation. */
export interface AblationVariant {
  /** unique, shown in tables and figures */
  name: string;
  /** the settings that distinguish it (become table columns) */
  params?: Record<string, string | number | boolean | null>;
  make: () => Recommender | Promise<Recommender>;
  /** fit on protocol.train before evaluating (default true; false for rankers built from fitted parts) */
  fit?: boolean;
}

/** Options of {@link runAblation}. */
export interface AblationOptions {
  /** only "val": ablations select settings, and selection never looks at test */
  part?: "val";
  ks: readonly number[];
  /** the `metric@K` compared (interval and paired difference) */
  metric: string;
  /** further `metric@K` means to report (default ndcg and recall at every K) */
  report?: readonly string[];
  /** beyond-accuracy measures at cutoff k (default the largest K); diversity needs item features */
  beyond?: { itemFeatures?: CsrMatrix | null; k?: number } | false;
  fitContext?: FitContext;
  /** variant the others are compared with (default the first) */
  reference?: string;
  /** bootstrap resamples (default 1000) and seed (default 0) */
  nBoot?: number;
  seed?: number;
}

/** One variant's val numbers. */
export interface AblationRow {
  variant: string;
  [column: string]: string | number | boolean | null;
}

/** Result of {@link runAblation}; `seconds` is kept apart so recorded results stay byte-stable. */
export interface AblationResult {
  part: "val";
  metric: string;
  reference: string;
  ks: number[];
  users: number;
  rows: AblationRow[];
  /** variant with the highest mean metric (ties: the earlier) */
  best: string;
  /** fit + evaluation wall time per variant */
  seconds: Record<string, number>;
}

/**
 * Fits (unless told not to) and evaluates every variant on val: means of the reported metrics, a
 * percentile bootstrap interval of `metric`, its paired difference to the reference variant
 * (bootstrap interval and paired t p-value, same users), and beyond-accuracy measures.
 */
export async function runAblation(protocol: EvalProtocol, variants: AblationVariant[], opts: AblationOptions): Promise<AblationResult> {
  if ((opts.part ?? "val") !== "val") throw new InputError("ablations run on val only: test is for the final comparison");
  if (!protocol.val) throw new InputError("ablations need a validation part; this split has none");
  if (variants.length === 0) throw new InputError("runAblation: no variants");
  const names = variants.map((v) => v.name);
  if (new Set(names).size !== names.length) throw new InputError(`runAblation: duplicate variant names (${names.join(", ")})`);
  const ks = [...new Set(opts.ks)].sort((a, b) => a - b);
  const { k: metricK } = parseMetricKey(opts.metric);
  if (!ks.includes(metricK)) {
    ks.push(metricK);
    ks.sort((a, b) => a - b);
  }
  const report = opts.report ?? ks.flatMap((k) => [`ndcg@${k}`, `recall@${k}`]);
  const reference = opts.reference ?? names[0];
  if (!names.includes(reference)) throw new InputError(`runAblation: reference '${reference}' is not a variant`);
  const nBoot = opts.nBoot ?? 1000;
  const seed = opts.seed ?? 0;
  const beyond = opts.beyond === false ? null : (opts.beyond ?? {});

  const perUser = new Map<string, Float64Array>();
  const raw: AblationRow[] = [];
  const seconds: Record<string, number> = {};
  let users = 0;
  for (const v of variants) {
    const t0 = process.hrtime.bigint();
    const model = await v.make();
    if (v.fit !== false) await model.fit(protocol.train, { ...opts.fitContext, seed: opts.fitContext?.seed ?? seed });
    const ev = evaluateModel(model, protocol, { part: "val", ks });
    const values = ev.metrics.perUser.values[opts.metric];
    perUser.set(v.name, values);
    users = values.length;
    const ci = bootstrapMean(values, { nBoot, seed: `${seed}:${opts.metric}:${v.name}` });
    const row: AblationRow = { variant: v.name, ...(v.params ?? {}) };
    row[opts.metric] = ev.metrics.mean[opts.metric];
    row.ci_lower = ci.percentile.lower;
    row.ci_upper = ci.percentile.upper;
    for (const key of report) if (key !== opts.metric) row[key] = ev.metrics.mean[key] ?? null;
    if (beyond) {
      const b = beyondAccuracy(ev.topk, { train: protocol.train, nItems: protocol.nItems, itemFeatures: beyond.itemFeatures ?? null, k: beyond.k ?? ks[ks.length - 1] });
      row.coverage = b.coverage.coverage;
      row.novelty = b.novelty.mean;
      row.popularity_bias = b.popularityBias.mean;
      if (b.diversity) row.diversity = b.diversity.mean;
    }
    raw.push(row);
    seconds[v.name] = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const ref = perUser.get(reference)!;
  // column order for tables: identity, the compared metric with its interval and paired difference, then the rest
  const rows = raw.map((row, i) => {
    const v = variants[i];
    const lead: AblationRow = { variant: row.variant, ...(v.params ?? {}), [opts.metric]: row[opts.metric], ci_lower: row.ci_lower, ci_upper: row.ci_upper };
    if (row.variant === reference) Object.assign(lead, { delta: 0, delta_lower: 0, delta_upper: 0, p: null });
    else {
      const c = pairedBootstrap(ref, perUser.get(row.variant)!, { nBoot, seed: `${seed}:${opts.metric}:${reference}:${row.variant}` });
      Object.assign(lead, { delta: c.difference.estimate, delta_lower: c.difference.percentile.lower, delta_upper: c.difference.percentile.upper, p: c.tTest.pValue });
    }
    return { ...lead, ...row, ...lead };
  });
  let best = rows[0];
  for (const r of rows) if ((r[opts.metric] as number) > (best[opts.metric] as number)) best = r;
  return { part: "val", metric: opts.metric, reference, ks, users, rows, best: best.variant, seconds };
}

/** The recordable part of an ablation (no timings, so re-runs give identical bytes). */
export function ablationRecord(r: AblationResult): Record<string, unknown> {
  return { part: r.part, metric: r.metric, reference: r.reference, ks: r.ks, users: r.users, best: r.best, rows: r.rows };
}

// ---- model configurations as the pipeline builds them --------------------------------------------

/** A model's config as the build-embeddings stage would build it (graph settings for ItemKNN, config seed for stochastic models). */
export function configuredModelConfig(ctx: AblationContext, kind: string): Record<string, unknown> {
  const cfg = ctx.data.config;
  const own = cfg.embeddings.params[kind] ?? {};
  if (kind === "itemknn") {
    const g = configGraphOptions(cfg);
    return { similarity: g.similarity, k: g.topK, minSupport: g.minSupport, minCooc: g.minCooc, minSimilarity: g.minSimilarity, powerUserCap: g.powerUserCap, shrinkage: g.shrinkage, ...own };
  }
  return ["ials", "bpr", "puresvd"].includes(kind) ? { seed: ctx.seed, ...own } : { ...own };
}

/** The fit context the pipeline gives models (seed, recency, genres). */
export function ablationFitContext(ctx: AblationContext): FitContext {
  return { seed: ctx.seed, lastTs: ctx.lastTs, itemAttributes: ctx.data.catalog.itemGenres };
}

/** ItemKNN over a grid of neighbourhood sizes × similarity kinds (other settings from the config). */
export function itemKnnVariants(ctx: AblationContext, grid: { topKs: number[]; similarities: Array<"cosine" | "jaccard" | "conditional"> }): AblationVariant[] {
  const base = configuredModelConfig(ctx, "itemknn");
  return grid.similarities.flatMap((similarity) =>
    grid.topKs.map((k) => ({
      name: `${similarity} k=${k}`,
      params: { similarity, k },
      make: () => createModel("itemknn", { ...base, similarity, k }),
    })),
  );
}

/** iALS grid search over factors × regularisation on val (via `searchHyperparameters`). */
export async function ialsGridSearch(ctx: AblationContext, grid: { factors: number[]; regularization: number[]; iterations?: number }): Promise<SearchResult> {
  const base = configuredModelConfig(ctx, "ials");
  return searchHyperparameters(
    (p: Params) => createModel("ials", { ...base, factors: p.factors as number, regularization: p.regularization as number, ...(grid.iterations ? { iterations: grid.iterations } : {}) }),
    ctx.protocol,
    { space: { factors: grid.factors, regularization: grid.regularization }, method: "grid", metric: ctx.metric, seed: ctx.seed, fitContext: ablationFitContext(ctx) },
  );
}

/** Search trials as table rows, without timings. */
export function searchRows(r: SearchResult): Array<Record<string, unknown>> {
  return r.trials.map((t) => ({ ...t.params, [r.metric]: t.score, best: t.index === r.best.index }));
}

/** The recordable part of a search (no timings). */
export function searchRecord(r: SearchResult): Record<string, unknown> {
  return { method: r.method, metric: r.metric, direction: r.direction, seed: r.seed, best: r.best.params, best_score: r.best.score, trials: searchRows(r) };
}

/** Heatmap of a two-parameter grid search: rows = `rowParam` values, columns = `colParam` values. */
export function searchHeatmap(r: SearchResult, rowParam: string, colParam: string, opts: { title?: string } = {}): Figure {
  const rowsV = [...new Set(r.trials.map((t) => t.params[rowParam]))];
  const colsV = [...new Set(r.trials.map((t) => t.params[colParam]))];
  const z = rowsV.map((rv) => colsV.map((cv) => r.trials.find((t) => t.params[rowParam] === rv && t.params[colParam] === cv)?.score ?? Number.NaN));
  return heatmap(z, colsV.map(String), rowsV.map(String), {
    title: opts.title ?? `${r.metric} on val by ${rowParam} × ${colParam} (best ${rowParam}=${String(r.best.params[rowParam])}, ${colParam}=${String(r.best.params[colParam])})`,
    xTitle: colParam,
    yTitle: rowParam,
    zTitle: r.metric,
    cellText: "%{z:.4f}",
    layout: { yaxis: { autorange: true } },
  });
}

// ---- the fused ranker ----------------------------------------------------------------------------

/** A fitted model as a candidate source (its top list with the user's seen items excluded), cached per user. */
export function modelSource(name: string, model: Pick<Recommender, "recommend">, exclude: CsrMatrix | null, perSource: number): CandidateSource {
  const cache = new Map<number, SourceList>();
  return {
    name,
    kind: "other",
    candidates(user: number, n: number): SourceList {
      let hit = cache.get(user);
      if (!hit || hit.items.length < Math.min(n, perSource)) {
        const tk = model.recommend([user], Math.max(n, perSource), { exclude });
        const items: number[] = [];
        const scores: number[] = [];
        for (let j = 0; j < tk.k; j++) if (tk.items[j] >= 0) (items.push(tk.items[j]), scores.push(tk.scores[j]));
        hit = { items: Int32Array.from(items), scores: Float64Array.from(scores) };
        cache.set(user, hit);
      }
      return n >= hit.items.length ? hit : { items: hit.items.subarray(0, n), scores: hit.scores.subarray(0, n) };
    },
    reason: () => `recommended by ${name}`,
  };
}

/**
 * The candidate sources the config's rank section names, rebuilt from TRAIN the way the rank stage
 * builds them: "graph" (neighbours of the recent history), "axes" (item-PCA taste vectors),
 * "popularity", or a model kind (fitted with its configured settings).
 */
export async function buildRankSources(ctx: AblationContext, names: readonly string[] = ctx.data.config.rank.sources): Promise<CandidateSource[]> {
  const cfg = ctx.data.config;
  const d = ctx.data;
  const train = ctx.protocol.train;
  const out: CandidateSource[] = [];
  for (const name of names) {
    if (name === "graph") {
      const g = buildItemGraph(d.train, d.nUsers, d.nItems, { ...configGraphOptions(cfg), threads: 1 });
      const neighbours = (item: number, n: number): SourceList => {
        const s = g.indptr[item];
        const t = Math.min(g.indptr[item + 1], s + n);
        return { items: g.neighbours.subarray(s, t), scores: Float64Array.from(g.similarity.subarray(s, t)) };
      };
      out.push(historyNeighbourSource("graph", { history: historyFromCsr(train, ctx.lastTs), neighbours, recent: cfg.rank.recent, perItem: 50 }));
    } else if (name === "axes") {
      // the stage skips the axes when the catalogue has fewer than two genres; so do we
      if (d.catalog.genreNames.length < 2) continue;
      const axes = buildTasteAxes(d.train, d.nUsers, d.nItems, d.catalog, { genreAxes: Math.min(cfg.embeddings.genre_axes, d.catalog.genreNames.length), itemAxes: cfg.embeddings.item_axes, seed: cfg.seed });
      const clean = (a: Float32Array) => Float32Array.from(a, (v) => (Number.isFinite(v) ? v : 0));
      if (axes.item.k > 0) out.push(embeddingSource("axes", { userVectors: clean(axes.item.userCoords), itemVectors: clean(axes.item.itemCoords), dim: axes.item.k }));
    } else if (name === "popularity") {
      out.push(popularitySource("popularity", Float64Array.from(d.popularity)));
    } else {
      const model = createModel(name, configuredModelConfig(ctx, name));
      await model.fit(train, ablationFitContext(ctx));
      out.push(modelSource(name, model, train, cfg.rank.per_source));
    }
  }
  return out;
}

/** Settings of {@link fusedRecommender}. */
export interface FusedRankerOptions {
  fusion?: "rrf" | "weighted";
  /** candidates kept per source (at least the list length) */
  perSource?: number;
  weights?: Readonly<Record<string, number>>;
  /** MMR re-ranking of the fused pool (λ = 1: plain fused order) */
  mmr?: { lambda: number; similarity: ItemSimilarity; pool?: number } | null;
}

/** The fused ranker over `sources` as a Recommender (nothing to fit; seen items are the protocol's exclusions). */
export function fusedRecommender(sources: readonly CandidateSource[], opts: FusedRankerOptions = {}): Recommender {
  const perSource = opts.perSource ?? 100;
  const config = { fusion: opts.fusion ?? "rrf", sources: sources.map((s) => s.name), per_source: perSource, mmr_lambda: opts.mmr ? opts.mmr.lambda : null };
  const ranker: Recommender = {
    kind: "ranker",
    config,
    async fit() {
      return ranker;
    },
    recommend(users: Int32Array | readonly number[], k: number, ro: RecommendOptions = {}): TopK {
      const r = rankForUsers(users, { k, sources, fusion: config.fusion, weights: opts.weights, perSource: Math.max(perSource, k), seen: ro.exclude ?? null, mmr: opts.mmr ?? null });
      return rankingToTopK(r, users, k);
    },
    similarItems(items: Int32Array | readonly number[], k: number): TopK {
      const n = items.length;
      return { rows: Int32Array.from(items), k, items: new Int32Array(n * k).fill(-1), scores: new Float32Array(n * k).fill(Number.NaN) };
    },
    async save() {
      throw new InputError("the fused ranker is rebuilt from its sources; there is nothing to save");
    },
  };
  return ranker;
}

/**
 * Fusion ablation: every source fused by RRF and by weighted min-max scores, then RRF with each
 * source left out, then each source alone (its own ranking). Reference = RRF over all sources.
 */
export function fusionVariants(sources: readonly CandidateSource[], opts: { perSource?: number } = {}): AblationVariant[] {
  const all = sources.map((s) => s.name);
  const v = (name: string, fusion: "rrf" | "weighted", use: readonly CandidateSource[], change: string): AblationVariant => ({
    name,
    params: { fusion, sources: use.map((s) => s.name).join("+"), change },
    make: () => fusedRecommender(use, { fusion, perSource: opts.perSource }),
    fit: false,
  });
  const out = [v("rrf · all", "rrf", sources, "reference"), v("weighted · all", "weighted", sources, "fusion")];
  if (sources.length > 1) {
    for (const s of all) out.push(v(`rrf · without ${s}`, "rrf", sources.filter((x) => x.name !== s), `drop ${s}`));
    for (const s of sources) out.push(v(`only ${s.name}`, "rrf", [s], `only ${s.name}`));
  }
  return out;
}

/** MMR λ sweep over the fused ranker (λ = 1 first: the undiversified reference), genre cosine as item similarity by default. */
export function mmrVariants(ctx: AblationContext, sources: readonly CandidateSource[], lambdas: number[], opts: { similarity?: ItemSimilarity; pool?: number; fusion?: "rrf" | "weighted"; perSource?: number } = {}): AblationVariant[] {
  const similarity = opts.similarity ?? cosineItemSimilarity(ctx.data.catalog.itemGenres);
  const ordered = [...new Set(lambdas)].sort((a, b) => b - a);
  return ordered.map((lambda) => ({
    name: `λ=${lambda}`,
    params: { lambda },
    make: () => fusedRecommender(sources, { fusion: opts.fusion ?? ctx.data.config.rank.fusion, perSource: opts.perSource, mmr: lambda >= 1 ? null : { lambda, similarity, pool: opts.pool } }),
    fit: false,
  }));
}

// ---- one call per ablation (what the notebook cells use) ------------------------------------------

/** The setting every ablation shares, for the notebook's header table. */
export function ablationSetup(ctx: AblationContext): Record<string, unknown> {
  const val = ctx.protocol.val!;
  return { part: "val", strategy: ctx.protocol.strategy, metric: ctx.metric, ks: ctx.ks, val_users: val.users.length, val_targets: val.counts.targets, users: ctx.protocol.nUsers, items: ctx.protocol.nItems, train_pairs: ctx.protocol.train.indices.length };
}

/** ItemKNN: neighbourhood size × similarity kind on val (reference: the first cell of the grid). */
export function itemKnnAblation(ctx: AblationContext, grid: { topKs: number[]; similarities?: Array<"cosine" | "jaccard" | "conditional"> }): Promise<AblationResult> {
  const variants = itemKnnVariants(ctx, { topKs: grid.topKs, similarities: grid.similarities ?? ["cosine", "jaccard", "conditional"] });
  return runAblation(ctx.protocol, variants, { ks: ctx.ks, metric: ctx.metric, fitContext: ablationFitContext(ctx), seed: ctx.seed });
}

/** Fusion: RRF vs weighted over all sources, each source left out, each source alone (reference: RRF over all). */
export function fusionAblation(ctx: AblationContext, sources: readonly CandidateSource[]): Promise<AblationResult> {
  return runAblation(ctx.protocol, fusionVariants(sources, { perSource: ctx.data.config.rank.per_source }), { ks: ctx.ks, metric: ctx.metric, seed: ctx.seed });
}

/** MMR λ sweep of the fused ranker: accuracy and genre intra-list diversity at the metric's cutoff (reference: λ = 1). */
export function mmrAblation(ctx: AblationContext, sources: readonly CandidateSource[], lambdas: number[]): Promise<AblationResult> {
  const k = parseMetricKey(ctx.metric).k;
  const variants = mmrVariants(ctx, sources, lambdas, { perSource: ctx.data.config.rank.per_source });
  return runAblation(ctx.protocol, variants, { ks: [k], metric: ctx.metric, seed: ctx.seed, beyond: { itemFeatures: ctx.data.catalog.itemGenres, k } });
}

// ---- figures ---------------------------------------------------------------------------------------

function errorBars(rows: AblationRow[], metric: string) {
  return {
    type: "data",
    symmetric: false,
    array: rows.map((r) => (r.ci_upper as number) - (r[metric] as number)),
    arrayminus: rows.map((r) => (r[metric] as number) - (r.ci_lower as number)),
    color: "#495057",
    thickness: 1.2,
    width: 4,
  };
}

/** Horizontal bars of the ablation metric per variant with 95% bootstrap intervals; the reference in grey. */
export function ablationBarFigure(r: AblationResult, opts: { title?: string } = {}): Figure {
  const fig = barChart(
    r.rows.map((x) => x.variant),
    r.rows.map((x) => x[r.metric] as number),
    { horizontal: true, title: opts.title ?? `${r.metric} on val (95% bootstrap intervals, ${r.users} users)`, xTitle: r.metric },
  );
  const t = fig.data[0];
  t.error_x = errorBars(r.rows, r.metric);
  t.marker = { color: r.rows.map((x) => (x.variant === r.reference ? NTG_COLORS[7] : x.variant === r.best ? NTG_COLORS[1] : NTG_COLORS[0])) };
  t.text = r.rows.map((x) => (x.variant === r.reference ? "reference" : `Δ ${(x.delta as number) >= 0 ? "+" : ""}${(x.delta as number).toFixed(4)}`));
  t.textposition = "inside";
  t.insidetextanchor = "start";
  fig.layout = mergeLayout(fig.layout, { height: Math.max(360, 46 * r.rows.length + 140), margin: { l: 200 } });
  return fig;
}

/** Grouped bars: the metric by one parameter (x) and another (series), with 95% bootstrap intervals. */
export function ablationGroupedFigure(r: AblationResult, x: string, series: string, opts: { title?: string } = {}): Figure {
  const xs = [...new Set(r.rows.map((row) => String(row[x])))];
  const ss = [...new Set(r.rows.map((row) => String(row[series])))];
  const pick = (s: string) => xs.map((xv) => r.rows.find((row) => String(row[x]) === xv && String(row[series]) === s));
  const fig = groupedBarChart(
    xs,
    ss.map((s) => ({ name: s, values: pick(s).map((row) => (row ? (row[r.metric] as number) : Number.NaN)) })),
    { title: opts.title ?? `${r.metric} on val by ${x} and ${series} (95% bootstrap intervals)`, xTitle: x, yTitle: r.metric },
  );
  ss.forEach((s, i) => {
    const rows = pick(s);
    fig.data[i].error_y = {
      type: "data",
      symmetric: false,
      array: rows.map((row) => (row ? (row.ci_upper as number) - (row[r.metric] as number) : 0)),
      arrayminus: rows.map((row) => (row ? (row[r.metric] as number) - (row.ci_lower as number) : 0)),
      color: "#495057",
      thickness: 1.2,
      width: 3,
    };
  });
  return fig;
}

/** Accuracy against intra-list diversity over the MMR λ sweep, each point labelled with its λ. */
export function mmrTradeoffFigure(r: AblationResult, opts: { title?: string; diversity?: string } = {}): Figure {
  const dKey = opts.diversity ?? "diversity";
  const rows = r.rows.filter((x) => typeof x[dKey] === "number");
  return {
    data: [
      {
        type: "scatter",
        mode: "lines+markers+text",
        name: "MMR",
        x: rows.map((x) => x[dKey]),
        y: rows.map((x) => x[r.metric]),
        text: rows.map((x) => x.variant),
        textposition: "top right",
        // the marginal intervals are wide (users differ a lot); drawn light so the trade-off line stays readable
        error_y: { ...errorBars(rows, r.metric), color: "rgba(73,80,87,0.35)" },
        line: { color: NTG_COLORS[0], width: 2 },
        marker: { size: 9, color: rows.map((x) => (x.variant === r.reference ? NTG_COLORS[7] : NTG_COLORS[0])) },
        hovertemplate: "%{text}: diversity %{x:.3f}, " + r.metric + " %{y:.4f}<extra></extra>",
      },
    ],
    layout: mergeLayout(ntgTheme(), {
      title: { text: opts.title ?? `MMR trade-off on val: ${r.metric} vs intra-list genre diversity` },
      xaxis: { title: { text: "intra-list diversity (1 − mean genre cosine)" } },
      yaxis: { title: { text: `${r.metric} (95% bootstrap interval)` } },
      showlegend: false,
    }),
  };
}
