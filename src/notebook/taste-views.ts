/**
 * Notebook views of the taste stages (02_taste_graph and the ablations): run the pipeline up to a
 * taste stage, load the training data the stages used, read the stored graph and taste axes back,
 * and turn them into table rows and figures. Everything reads TRAIN only.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildCsr, type CsrMatrix } from "../data/csr";
import { parquet, withDuck } from "../data/duck";
import { loadInteractionArrays } from "../data/load";
import type { InteractionArrays } from "../data/schema";
import { buildItemGraph, type ItemGraphOptions } from "../graph/item-graph";
import { readItemGraphEdges } from "../graph/write";
import type { NtgConfig } from "../pipeline/config";
import { graphOptions, tasteLayout } from "../pipeline/stages-taste";
import { groupedBarChart, heatmap, lineChart, mergeLayout, NTG_COLORS, ntgTheme, type Figure, type Trace } from "../plot/figure";
import { loadItemCatalog, type ItemCatalog } from "../taste/axes";
import { InputError } from "../util/errors";
import { Rng } from "../util/rng";
import { prepareDataset, type PipelineTarget, type PrepareDatasetOptions, type PreparedDataset } from "./pipeline";

/** Every pipeline stage a notebook can run up to, the taste stages included. */
export type TasteTarget = PipelineTarget | "build-graph" | "build-embeddings" | "rank" | "evaluate";

/** Options for {@link prepareTasteRun}: those of `prepareDataset`, with the taste stages as targets. */
export interface PrepareTasteRunOptions extends Omit<PrepareDatasetOptions, "target"> {
  /** last stage(s) to run (default both "build-graph" and "build-embeddings": they are siblings, neither implies the other) */
  target?: TasteTarget | TasteTarget[];
}

/** A prepared dataset plus where the taste stages put their outputs. */
export interface PreparedTasteRun extends PreparedDataset {
  taste: ReturnType<typeof tasteLayout>;
}

/** Runs the pipeline up to one or more taste stages (graph, embeddings, rank or evaluate), skipping fresh stages. */
export async function prepareTasteRun(config: string, opts: PrepareTasteRunOptions = {}): Promise<PreparedTasteRun> {
  const targets = opts.target === undefined ? (["build-graph", "build-embeddings"] as TasteTarget[]) : Array.isArray(opts.target) ? opts.target : [opts.target];
  if (targets.length === 0) throw new InputError("prepareTasteRun: no target stage");
  let ds: PreparedDataset | undefined;
  const stages: PreparedDataset["stages"] = [];
  for (const target of targets) {
    // prepareDataset's target type predates the taste stages; the runner itself accepts any stage name
    ds = await prepareDataset(config, { ...opts, target: target as PipelineTarget });
    for (const s of ds.stages) if (!stages.some((x) => x.stage === s.stage)) stages.push(s);
  }
  return { ...ds!, stages, taste: tasteLayout(ds!.runDir) };
}

/** The graph options the build-graph stage derives from the config. */
export function configGraphOptions(cfg: NtgConfig): ItemGraphOptions {
  return graphOptions(cfg);
}

/** Training data as the taste stages see it. */
export interface TasteData {
  train: InteractionArrays;
  nUsers: number;
  nItems: number;
  /** binary user × item matrix of train */
  csr: CsrMatrix;
  /** latest event time per stored CSR entry (the recency the power-user cap and histories use) */
  lastTs: Float64Array;
  catalog: ItemCatalog;
  titles: (string | null)[];
  /** distinct training users per item */
  popularity: Int32Array;
  config: NtgConfig;
}

/** Latest event time of each stored entry of a binary CSR built from `train` (aligned with `csr.indices`). */
export function lastEventTimes(csr: CsrMatrix, train: Pick<InteractionArrays, "userId" | "itemId" | "ts" | "length">): Float64Array {
  const out = new Float64Array(csr.indices.length).fill(-Infinity);
  for (let e = 0; e < train.length; e++) {
    const u = train.userId[e];
    const it = train.itemId[e];
    let lo = csr.indptr[u];
    let hi = csr.indptr[u + 1] - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = csr.indices[mid];
      if (v === it) {
        if (train.ts[e] > out[mid]) out[mid] = train.ts[e];
        break;
      }
      if (v < it) lo = mid + 1;
      else hi = mid - 1;
    }
  }
  return out;
}

/** Loads TRAIN, the id-space sizes and the item catalogue (genres, titles) of a prepared run. */
export async function loadTasteData(ds: PreparedDataset): Promise<TasteData> {
  return withDuck(async (db) => {
    const train = await loadInteractionArrays(db, ds.files.train);
    const nUsers = Number(await db.scalar(`SELECT count(*) FROM ${parquet(ds.files.users)}`));
    const nItems = Number(await db.scalar(`SELECT count(*) FROM ${parquet(ds.files.items)}`));
    const csr = buildCsr(train, nUsers, nItems, "binary");
    const catalog = await loadItemCatalog(db, ds.files.items, nItems);
    const popularity = new Int32Array(nItems);
    for (let p = 0; p < csr.indices.length; p++) popularity[csr.indices[p]]++;
    return {
      train,
      nUsers,
      nItems,
      csr,
      lastTs: lastEventTimes(csr, train),
      catalog,
      titles: catalog.titles ?? new Array<string | null>(nItems).fill(null),
      popularity,
      config: ds.loaded.config,
    };
  });
}

/** An item's title, or "item <id>" when unknown. */
export function itemTitle(titles: ArrayLike<string | null | undefined>, item: number): string {
  return (item >= 0 && item < titles.length ? titles[item] : null) ?? `item ${item}`;
}

// ---- the stored graph ------------------------------------------------------------------------------

/** Neighbour lists in CSR form: row i spans [indptr[i], indptr[i+1]), best neighbour first. */
export interface NeighbourLists {
  nItems: number;
  indptr: Int32Array;
  neighbours: Int32Array;
  similarity: Float32Array;
  cooc: Int32Array;
}

/** The graph the build-graph stage wrote, with its summary (options and statistics). */
export interface StoredGraph extends NeighbourLists {
  summary: { kind: string; n_items: number; options: Record<string, unknown>; stats: Record<string, unknown> };
}

/** Reads item_item.parquet and graph_stats.json of a run back into neighbour lists. */
export async function readStoredGraph(ds: PreparedTasteRun): Promise<StoredGraph> {
  const summary = JSON.parse(fs.readFileSync(ds.taste.graphStats, "utf8")) as StoredGraph["summary"];
  const nItems = summary.n_items;
  const e = await withDuck((db) => readItemGraphEdges(db, ds.taste.graph));
  const indptr = new Int32Array(nItems + 1);
  for (let p = 0; p < e.length; p++) indptr[e.item[p] + 1]++;
  for (let i = 0; i < nItems; i++) indptr[i + 1] += indptr[i];
  // edges come ordered by (item, rank), so each row is already contiguous and best first
  return { nItems, indptr, neighbours: e.neighbour, similarity: e.similarity, cooc: e.cooccurrence, summary };
}

/** Headline numbers of the stored graph: size, connectivity, degrees and the settings it was built with. */
export function graphHeadline(g: StoredGraph): Record<string, number | string> {
  const st = g.summary.stats as {
    items: number;
    itemsWithUsers: number;
    edges: number;
    undirectedEdges: number;
    reciprocalEdges: number;
    components: number;
    largestComponent: number;
    isolatedItems: number;
    outDegree: { mean: number; max: number };
    inDegree: { mean: number; max: number; median: number };
  };
  const o = g.summary.options as { topK?: number; powerUserCap?: number; minSupport?: number; minCooc?: number };
  return {
    similarity: g.summary.kind,
    top_k: o.topK ?? Number.NaN,
    items: st.items,
    items_with_users: st.itemsWithUsers,
    edges: st.edges,
    undirected_edges: st.undirectedEdges,
    reciprocal_share: st.undirectedEdges > 0 ? st.reciprocalEdges / st.undirectedEdges : Number.NaN,
    components: st.components,
    largest_component: st.largestComponent,
    isolated_items: st.isolatedItems,
    mean_neighbours: st.outDegree.mean,
    max_in_degree: st.inDegree.max,
    median_in_degree: st.inDegree.median,
  };
}

/** In- and out-degree distributions as complementary CDFs (degree 0 counted apart: it has no place on log axes). */
export type DegreeDistribution = {
  /** items in the graph */
  items: number;
  /** out-degree (neighbours kept): degree values ≥ 1 and the share of items with at least that many */
  out: { degree: number[]; share: number[] };
  /** in-degree (listed as a neighbour by k items; hubness), same form */
  in: { degree: number[]; share: number[] };
  zeroOut: number;
  zeroIn: number;
  maxOut: number;
  maxIn: number;
  meanIn: number;
};

function ccdf(deg: Int32Array): { degree: number[]; share: number[] } {
  const sorted = Int32Array.from(deg).sort();
  const n = sorted.length;
  const degree: number[] = [];
  const share: number[] = [];
  for (let i = 0; i < n; i++) {
    if (sorted[i] < 1 || (i > 0 && sorted[i] === sorted[i - 1])) continue;
    // sorted ascending: items from position i on have degree ≥ sorted[i]
    degree.push(sorted[i]);
    share.push((n - i) / n);
  }
  return { degree, share };
}

/**
 * Degree distributions of a neighbour graph as complementary CDFs P(degree ≥ k): on log–log axes a
 * CCDF shows the tail without the binning noise of a histogram on a small graph.
 */
export function degreeDistribution(g: NeighbourLists): DegreeDistribution {
  const out = new Int32Array(g.nItems);
  const inn = new Int32Array(g.nItems);
  for (let i = 0; i < g.nItems; i++) {
    out[i] = g.indptr[i + 1] - g.indptr[i];
    for (let p = g.indptr[i]; p < g.indptr[i + 1]; p++) inn[g.neighbours[p]]++;
  }
  return {
    items: g.nItems,
    out: ccdf(out),
    in: ccdf(inn),
    zeroOut: out.filter((d) => d === 0).length,
    zeroIn: inn.filter((d) => d === 0).length,
    maxOut: out.reduce((a, v) => Math.max(a, v), 0),
    maxIn: inn.reduce((a, v) => Math.max(a, v), 0),
    meanIn: g.nItems ? inn.reduce((a, v) => a + v, 0) / g.nItems : 0,
  };
}

/** Log–log CCDF of in- and out-degree. */
export function degreeDistributionFigure(d: DegreeDistribution, opts: { title?: string } = {}): Figure {
  return lineChart(
    [
      { name: "in-degree: listed as a neighbour by ≥ k items", x: d.in.degree, y: d.in.share, markers: true, shape: "hv" },
      { name: "out-degree: keeps ≥ k neighbours", x: d.out.degree, y: d.out.share, markers: true, shape: "hv" },
    ],
    {
      title: opts.title ?? `Taste-graph degree distribution (${d.items} items; ${d.zeroIn} listed by nobody, ${d.zeroOut} without neighbours)`,
      xTitle: "degree k",
      yTitle: "share of items with degree ≥ k",
      logX: true,
      logY: true,
      layout: { legend: { x: 0.02, xanchor: "left", y: 0.02, yanchor: "bottom" } },
    },
  );
}

// ---- guardrail effects -----------------------------------------------------------------------------

/** The guardrails a sweep varies, by their config names. */
export type GuardrailName = "config" | "power_user_cap" | "min_support" | "min_cooccurrence" | "min_similarity";

/** One graph setting of a guardrail sweep. */
export interface GuardrailSetting {
  guardrail: GuardrailName;
  value: number | null;
  /** short label for tables and figure axes, unique within a sweep */
  label: string;
  options: ItemGraphOptions;
}

/** Values tried per guardrail (the others stay at the base setting). */
export interface GuardrailGrid {
  powerUserCap?: number[];
  minSupport?: number[];
  minCooc?: number[];
  minSimilarity?: number[];
}

/** Default sweep: the caps and thresholds worth seeing on a small and on a MovieLens-sized log. */
export const DEFAULT_GUARDRAIL_GRID: Required<GuardrailGrid> = {
  powerUserCap: [0, 100, 50, 20, 10],
  minSupport: [1, 2, 5, 10],
  minCooc: [1, 2, 3, 5],
  minSimilarity: [0, 0.05, 0.1, 0.2],
};

/**
 * One-factor-at-a-time settings around `base`: the base itself, then each guardrail at each grid
 * value with everything else held at base, so every row isolates one guardrail's effect.
 */
export function guardrailSettings(base: ItemGraphOptions, grid: GuardrailGrid = DEFAULT_GUARDRAIL_GRID): GuardrailSetting[] {
  const out: GuardrailSetting[] = [{ guardrail: "config", value: null, label: "config", options: { ...base } }];
  const add = (guardrail: GuardrailName, key: keyof ItemGraphOptions, values: number[] | undefined, label: (v: number) => string) => {
    for (const v of values ?? []) out.push({ guardrail, value: v, label: label(v), options: { ...base, [key]: v } });
  };
  add("power_user_cap", "powerUserCap", grid.powerUserCap, (v) => (v === 0 ? "cap off" : `cap ${v}`));
  add("min_support", "minSupport", grid.minSupport, (v) => `support ≥${v}`);
  add("min_cooccurrence", "minCooc", grid.minCooc, (v) => `co-occ ≥${v}`);
  add("min_similarity", "minSimilarity", grid.minSimilarity, (v) => `sim ≥${v}`);
  return out;
}

/** What one graph setting produced. */
export type GuardrailRow = {
  guardrail: GuardrailName;
  value: number | null;
  label: string;
  edges: number;
  undirected_edges: number;
  components: number;
  largest_component: number;
  isolated_items: number;
  /** share of items with training users that kept at least one neighbour */
  item_coverage: number;
  mean_neighbours: number;
  users_capped: number;
  pairs_dropped_by_cap: number;
  items_below_support: number;
  pairs_below_min_cooc: number;
  pairs_below_min_similarity: number;
};

/** Rebuilds the graph from TRAIN for every setting and reports its size, connectivity and coverage. */
export function guardrailSweep(data: Pick<TasteData, "train" | "nUsers" | "nItems">, settings: GuardrailSetting[]): GuardrailRow[] {
  return settings.map((s) => {
    // one thread: these graphs are small and worker start-up would dominate
    const g = buildItemGraph(data.train, data.nUsers, data.nItems, { ...s.options, threads: 1 });
    const st = g.stats;
    let covered = 0;
    for (let i = 0; i < g.nItems; i++) if (g.popularity[i] > 0 && g.indptr[i + 1] > g.indptr[i]) covered++;
    return {
      guardrail: s.guardrail,
      value: s.value,
      label: s.label,
      edges: st.edges,
      undirected_edges: st.undirectedEdges,
      components: st.components,
      largest_component: st.largestComponent,
      isolated_items: st.isolatedItems,
      item_coverage: st.itemsWithUsers > 0 ? covered / st.itemsWithUsers : Number.NaN,
      mean_neighbours: st.outDegree.mean,
      users_capped: st.guardrails.usersCapped,
      pairs_dropped_by_cap: st.guardrails.pairsDroppedByCap,
      items_below_support: st.guardrails.itemsBelowSupport,
      pairs_below_min_cooc: st.guardrails.pairsBelowMinCooc,
      pairs_below_min_similarity: st.guardrails.pairsBelowMinSimilarity,
    };
  });
}

/** Three stacked panels (edges, components, item coverage) over the sweep's settings, coloured by guardrail. */
export function guardrailFigure(rows: GuardrailRow[], opts: { title?: string } = {}): Figure {
  const groups = [...new Set(rows.map((r) => r.guardrail))];
  const panels: Array<{ key: "edges" | "components" | "item_coverage"; title: string; axis: string; domain: [number, number] }> = [
    { key: "edges", title: "directed edges", axis: "y", domain: [0.7, 1] },
    { key: "components", title: "components", axis: "y2", domain: [0.36, 0.64] },
    { key: "item_coverage", title: "item coverage", axis: "y3", domain: [0, 0.3] },
  ];
  const data: Trace[] = [];
  panels.forEach((panel, pi) => {
    groups.forEach((g, gi) => {
      const rs = rows.filter((r) => r.guardrail === g);
      data.push({
        type: "bar",
        name: g === "config" ? "config setting" : g.replace(/_/g, " "),
        legendgroup: g,
        showlegend: pi === 0,
        x: rs.map((r) => r.label),
        y: rs.map((r) => r[panel.key]),
        yaxis: panel.axis,
        marker: { color: g === "config" ? NTG_COLORS[7] : NTG_COLORS[Math.max(0, gi - 1) % 7] },
        hovertemplate: `%{x}: %{y}<extra>${panel.title}</extra>`,
      });
    });
  });
  const axis = { gridcolor: "#e9ecef", linecolor: "#adb5bd", showline: true, automargin: true, rangemode: "tozero" };
  const layout = mergeLayout(ntgTheme(), {
    title: { text: opts.title ?? "Guardrail effects on the taste graph (one guardrail varied at a time)" },
    height: 720,
    // each label belongs to one trace only: stacking keeps bars centred instead of reserving a slot per trace
    barmode: "stack",
    bargap: 0.25,
    xaxis: { type: "category", anchor: "y3", tickangle: -40 },
    yaxis: { ...axis, domain: panels[0].domain, title: { text: panels[0].title } },
    yaxis2: { ...axis, domain: panels[1].domain, anchor: "x", title: { text: panels[1].title } },
    yaxis3: { ...axis, domain: panels[2].domain, anchor: "x", title: { text: panels[2].title }, tickformat: ".0%", range: [0, 1.05] },
    legend: { orientation: "h", x: 0, xanchor: "left", y: 1.02, yanchor: "bottom" },
    margin: { t: 100 },
  });
  return { data, layout };
}

// ---- neighbourhoods ------------------------------------------------------------------------------

/** A popular item and its best neighbours. */
export type Neighbourhood = {
  item: number;
  title: string;
  /** distinct training users */
  users: number;
  neighbours: Array<{ item: number; title: string; similarity: number; cooccurrence: number }>;
};

/** The `items` most popular items (ties: lower id) with their top `neighbours` graph neighbours. */
export function popularNeighbourhoods(g: NeighbourLists, data: Pick<TasteData, "popularity" | "titles">, opts: { items?: number; neighbours?: number } = {}): Neighbourhood[] {
  const nTop = opts.items ?? 8;
  const nNb = opts.neighbours ?? 5;
  const order = Array.from({ length: g.nItems }, (_, i) => i).sort((a, b) => data.popularity[b] - data.popularity[a] || a - b);
  return order.slice(0, nTop).map((i) => {
    const neighbours = [];
    for (let p = g.indptr[i]; p < Math.min(g.indptr[i + 1], g.indptr[i] + nNb); p++) {
      const j = g.neighbours[p];
      neighbours.push({ item: j, title: itemTitle(data.titles, j), similarity: g.similarity[p], cooccurrence: g.cooc[p] });
    }
    return { item: i, title: itemTitle(data.titles, i), users: data.popularity[i], neighbours };
  });
}

/** One table row per popular item: its title, users and "neighbour (similarity)" list. */
export function neighbourhoodRows(ns: Neighbourhood[]): Array<Record<string, unknown>> {
  return ns.map((n) => ({
    item: n.title,
    users: n.users,
    "top neighbours (cosine, co-occurrence)": n.neighbours.map((x) => `${x.title} (${x.similarity.toFixed(2)}, ${x.cooccurrence})`).join(" · "),
  }));
}

function shorten(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** Heatmap of neighbour similarity by popular item (rows) and neighbour rank (columns), neighbour titles in the cells. */
export function neighbourhoodFigure(ns: Neighbourhood[], opts: { title?: string } = {}): Figure {
  const width = Math.max(1, ...ns.map((n) => n.neighbours.length));
  const cols = Array.from({ length: width }, (_, r) => `#${r + 1}`);
  const z = ns.map((n) => cols.map((_, r) => (r < n.neighbours.length ? n.neighbours[r].similarity : Number.NaN)));
  const fig = heatmap(z, cols, ns.map((n) => `${shorten(n.title, 32)} (${n.users})`), {
    title: opts.title ?? "Neighbourhoods of the most popular items (cell: neighbour, colour: similarity)",
    xTitle: "neighbour rank",
    zTitle: "similarity",
    zMin: 0,
  });
  fig.data[0].text = ns.map((n) => cols.map((_, r) => (r < n.neighbours.length ? shorten(n.neighbours[r].title, 22) : "")));
  fig.data[0].texttemplate = "%{text}<br>%{z:.2f}";
  fig.data[0].textfont = { size: 10 };
  fig.data[0].hovertemplate = "%{y} → %{text}: %{z:.3f}<extra></extra>";
  fig.layout = mergeLayout(fig.layout, { height: Math.max(420, 60 * ns.length + 140), width: 1100, margin: { l: 260 } });
  return fig;
}

// ---- taste axes ----------------------------------------------------------------------------------

/** One axis of axes.json, flattened for tables. */
export type AxisRow = {
  view: "genre" | "item";
  axis: number;
  label: string;
  explained: number;
  cumulative: number;
  /** genres (genre view) or titles (item view) at the positive end */
  positive: string;
  negative: string;
};

/** axes.json of a run as table rows (genre view first), with cumulative explained variance per view. */
export function readAxesSummary(ds: PreparedTasteRun): AxisRow[] {
  if (!fs.existsSync(ds.taste.axesSummary)) return [];
  type Ax = { index: number; label: string; explainedVarianceRatio: number; positive: Array<{ genre: string }>; negative: Array<{ genre: string }>; positiveItems: Array<{ title: string | null; item: number }>; negativeItems: Array<{ title: string | null; item: number }> };
  const s = JSON.parse(fs.readFileSync(ds.taste.axesSummary, "utf8")) as { genre?: { axes?: Ax[] }; item?: { axes?: Ax[] } };
  const rows: AxisRow[] = [];
  for (const view of ["genre", "item"] as const) {
    let cum = 0;
    for (const a of s[view]?.axes ?? []) {
      cum += a.explainedVarianceRatio;
      const items = (xs: Array<{ title: string | null; item: number }>) => xs.slice(0, 3).map((x) => x.title ?? `item ${x.item}`).join(" / ");
      rows.push({
        view,
        axis: a.index,
        label: a.label,
        explained: a.explainedVarianceRatio,
        cumulative: cum,
        positive: view === "genre" ? a.positive.map((g) => g.genre).join(" / ") : items(a.positiveItems),
        negative: view === "genre" ? a.negative.map((g) => g.genre).join(" / ") : items(a.negativeItems),
      });
    }
  }
  return rows;
}

/** "A / B vs C / D" on two short lines ("A / B" and "vs C / D"), for tick labels and axis titles. */
function axisLabelLines(label: string, width: number): string {
  const k = label.indexOf(" vs ");
  if (k < 0) return shorten(label, width);
  return `${shorten(label.slice(0, k), width)}<br>vs ${shorten(label.slice(k + 4), width)}`;
}

/** Explained-variance ratio per axis, genre and item views side by side. */
export function explainedVarianceFigure(rows: AxisRow[], opts: { title?: string } = {}): Figure {
  const n = Math.max(0, ...rows.map((r) => r.axis));
  const cats = Array.from({ length: n }, (_, i) => `axis ${i + 1}`);
  const series = (["genre", "item"] as const)
    .filter((v) => rows.some((r) => r.view === v))
    .map((v) => ({
      name: v === "genre" ? "genre-preference PCA" : "user × item PCA",
      values: cats.map((_, i) => rows.find((r) => r.view === v && r.axis === i + 1)?.explained ?? Number.NaN),
    }));
  const fig = groupedBarChart(cats, series, { title: opts.title ?? "Taste axes: explained variance", yTitle: "explained variance ratio", layout: { yaxis: { tickformat: ".0%" } } });
  // the genre axes' labels under their bars make the chart readable without the table
  const genre = rows.filter((r) => r.view === "genre");
  if (genre.length) {
    fig.layout = mergeLayout(fig.layout, {
      xaxis: { tickvals: cats, tickangle: 0, ticktext: cats.map((c, i) => `${c}<br><sup>${axisLabelLines(genre[i]?.label ?? "", 24)}</sup>`) },
      margin: { b: 120 },
    });
  }
  return fig;
}

/** A user placed on two genre axes. */
export type UserAxisPoint = {
  user: number;
  x: number;
  y: number;
  /** the genre most of the user's training events carry (ties: alphabetical) */
  genre: string;
};

/**
 * A seeded sample of users with their coordinates on genre axes `axes` (1-based, default 1 and 2)
 * from user_axes.parquet, and each user's dominant training genre for colouring.
 */
export async function userAxisSample(ds: PreparedTasteRun, data: Pick<TasteData, "train" | "catalog" | "nUsers">, opts: { sample?: number; seed?: number; axes?: [number, number] } = {}): Promise<UserAxisPoint[]> {
  const file = path.join(ds.taste.embeddings, "user_axes.parquet");
  if (!fs.existsSync(file)) return [];
  const [a, b] = opts.axes ?? [1, 2];
  const cols = await withDuck((db) =>
    db.columns(`SELECT user_id, genre_axis_${a} AS x, genre_axis_${b} AS y FROM ${parquet(file)} WHERE genre_axis_${a} IS NOT NULL AND genre_axis_${b} IS NOT NULL ORDER BY user_id`, { user_id: "i32", x: "f64", y: "f64" }),
  );
  const G = data.catalog.genreNames.length;
  const mass = new Float64Array(data.nUsers * G);
  const ig = data.catalog.itemGenres;
  for (let e = 0; e < data.train.length; e++) {
    const u = data.train.userId[e];
    const it = data.train.itemId[e];
    for (let p = ig.indptr[it]; p < ig.indptr[it + 1]; p++) mass[u * G + ig.indices[p]] += 1;
  }
  const idx = Int32Array.from({ length: cols.length }, (_, i) => i);
  new Rng(`user-axes:${opts.seed ?? 0}`).shuffle(idx);
  const take = Array.from(idx.subarray(0, Math.min(opts.sample ?? 500, idx.length))).sort((p, q) => p - q);
  return take.map((i) => {
    const u = cols.user_id[i];
    let best = 0;
    for (let g = 1; g < G; g++) if (mass[u * G + g] > mass[u * G + best]) best = g;
    return { user: u, x: cols.x[i], y: cols.y[i], genre: data.catalog.genreNames[best] ?? "none" };
  });
}

/** Users per dominant genre in a sample, most common first (ties alphabetical). */
export function dominantGenreCounts(points: UserAxisPoint[]): Array<{ genre: string; users: number }> {
  const counts = new Map<string, number>();
  for (const p of points) counts.set(p.genre, (counts.get(p.genre) ?? 0) + 1);
  return [...counts.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([genre, users]) => ({ genre, users }));
}

/** Scatter of users on two genre axes, one colour per dominant genre (the most common ones; the rest grouped). */
export function userAxesFigure(points: UserAxisPoint[], axes: AxisRow[], opts: { title?: string; groups?: number; axes?: [number, number] } = {}): Figure {
  const [a, b] = opts.axes ?? [1, 2];
  const counts = dominantGenreCounts(points);
  const top = counts.slice(0, opts.groups ?? 7).map((c) => c.genre);
  const groups = [...top, ...(counts.length > top.length ? ["other"] : [])];
  const data: Trace[] = groups.map((g, gi) => {
    const ps = points.filter((p) => (g === "other" ? !top.includes(p.genre) : p.genre === g));
    return {
      type: "scatter",
      mode: "markers",
      name: `${g} (${ps.length})`,
      x: ps.map((p) => p.x),
      y: ps.map((p) => p.y),
      text: ps.map((p) => `user ${p.user}: ${p.genre}`),
      hovertemplate: "%{text}<br>(%{x:.3f}, %{y:.3f})<extra></extra>",
      marker: { size: 7, opacity: 0.75, color: g === "other" ? "#adb5bd" : NTG_COLORS[gi % NTG_COLORS.length] },
    };
  });
  const label = (k: number) => {
    const r = axes.find((x) => x.view === "genre" && x.axis === k);
    return r ? `genre axis ${k} (${(100 * r.explained).toFixed(1)}%)<br><sup>${r.label.replace(" vs ", "  ⟷  ")}</sup>` : `genre axis ${k}`;
  };
  return {
    data,
    layout: mergeLayout(ntgTheme(), {
      title: { text: opts.title ?? `Users on the first two genre axes (sample of ${points.length}, coloured by dominant genre)` },
      xaxis: { title: { text: label(a) }, zeroline: true },
      yaxis: { title: { text: label(b) }, zeroline: true },
      legend: { title: { text: "dominant genre" } },
      height: 620,
    }),
  };
}
