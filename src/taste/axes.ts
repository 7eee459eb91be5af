/**
 * Interpretable taste axes. Two views of the same training data:
 *  (a) genre axes: PCA of the user × genre preference matrix (share of each user's events per
 *      genre, centred) — small and exact (eigen-decomposition of the genre covariance);
 *  (b) item axes: truncated PCA of the user × item matrix (binary, implicitly column-centred),
 *      by seeded randomised SVD on typed arrays.
 * Each axis is labelled by its most positive and most negative genres (and items, by title when
 * known) and reports its explained-variance ratio. Signs are fixed by convention — the
 * largest-magnitude loading (genre, or item) is positive, ties to the lower index — so runs agree.
 */
import * as path from "node:path";
import type { CsrMatrix } from "../data/csr";
import type { Duck } from "../data/duck";
import { parquet, quoteIdent } from "../data/duck";
import { distinctPairsFromEvents } from "../graph/guardrails";
import { writeFileAtomic } from "../util/atomic";
import { ConfigError } from "../util/errors";
import { stableStringify } from "../util/stable-json";
import { randomizedSvd, symmetricEigen } from "./svd";

/** Item metadata the axes are labelled with: genres (items × genres CSR) and optional titles. */
export interface ItemCatalog {
  genreNames: string[];
  /** nItems × genreNames.length, values ignored */
  itemGenres: CsrMatrix;
  /** title per item id (null where unknown) */
  titles?: (string | null)[] | null;
}

/** Options of `buildTasteAxes`. */
export interface TasteAxesOptions {
  /** genre axes kept (default 5, at most the number of genres) */
  genreAxes?: number;
  /** item axes kept (default 5) */
  itemAxes?: number;
  /**
   * "tagged" (default): share of the user's events whose item carries the genre (multi-genre
   * items count for each genre); "split": each event's unit is split evenly over its genres, so
   * shares sum to 1
   */
  genreShare?: "tagged" | "split";
  /** randomised SVD: extra directions (default 10), subspace iterations (default 6), seed (default 0) */
  oversampling?: number;
  powerIterations?: number;
  seed?: number;
  /** genres / items named per side of an axis (default 3 / 5) */
  labelGenres?: number;
  labelItems?: number;
  /** items need at least this many training users to be named in a label (default 5) */
  minItemUsersForLabels?: number;
}

/** One named end of an axis. */
export interface AxisGenre {
  genre: string;
  loading: number;
}

/** An item named at one end of an axis. */
export interface AxisItem {
  item: number;
  title: string | null;
  loading: number;
}

/** One axis with its labels. */
export interface TasteAxis {
  /** 1-based */
  index: number;
  /** "A / B vs C / D": top positive genres vs top negative genres */
  label: string;
  positive: AxisGenre[];
  negative: AxisGenre[];
  positiveItems: AxisItem[];
  negativeItems: AxisItem[];
  explainedVarianceRatio: number;
  /** eigenvalue (genre axes: variance along the axis) or singular value (item axes) */
  strength: number;
}

/** Genre-preference PCA. */
export interface GenreAxes {
  k: number;
  axes: TasteAxis[];
  genreNames: string[];
  /** mean share per genre over fitted users */
  mean: Float64Array;
  /** genre loadings, nGenres × k row-major (unit-norm columns) */
  loadings: Float64Array;
  /** nUsers × k: centred shares projected on the axes; NaN for users with no genre-tagged event */
  userCoords: Float32Array;
  /** nItems × k: where a user consuming only this item would sit; NaN for items without genres */
  itemCoords: Float32Array;
  usersFitted: number;
  totalVariance: number;
}

/** User × item PCA. */
export interface ItemAxes {
  k: number;
  axes: TasteAxis[];
  /** nUsers × k principal-component scores (U·S); NaN for users without training events */
  userCoords: Float32Array;
  /** nItems × k item loadings (right singular vectors, unit-norm columns) */
  itemCoords: Float32Array;
  /** nGenres × k: mean loading of the genre's items minus the mean loading of all items */
  genreAssociation: Float64Array;
  usersFitted: number;
  totalVariance: number;
}

/** Both views plus the options used. */
export interface TasteAxes {
  nUsers: number;
  nItems: number;
  genre: GenreAxes;
  item: ItemAxes;
  options: Required<TasteAxesOptions>;
}

function resolve(o: TasteAxesOptions): Required<TasteAxesOptions> {
  const r: Required<TasteAxesOptions> = {
    genreAxes: o.genreAxes ?? 5,
    itemAxes: o.itemAxes ?? 5,
    genreShare: o.genreShare ?? "tagged",
    oversampling: o.oversampling ?? 10,
    powerIterations: o.powerIterations ?? 6,
    seed: o.seed ?? 0,
    labelGenres: o.labelGenres ?? 3,
    labelItems: o.labelItems ?? 5,
    minItemUsersForLabels: o.minItemUsersForLabels ?? 5,
  };
  for (const key of ["genreAxes", "itemAxes", "oversampling", "powerIterations", "labelGenres", "labelItems", "minItemUsersForLabels"] as const) {
    if (!Number.isInteger(r[key]) || r[key] < 0) throw new ConfigError(key, `must be an integer ≥ 0, got ${r[key]}`);
  }
  if (r.genreShare !== "tagged" && r.genreShare !== "split") throw new ConfigError("genreShare", `must be 'tagged' or 'split', got '${String(r.genreShare)}'`);
  if (!Number.isInteger(r.seed)) throw new ConfigError("seed", `must be an integer, got ${r.seed}`);
  return r;
}

/**
 * Builds both axis views from TRAIN interactions (dense ids) and the item catalogue.
 * Deterministic for a given seed; the sign convention makes the orientation reproducible too.
 */
export function buildTasteAxes(
  train: { userId: Int32Array; itemId: Int32Array; length: number },
  nUsers: number,
  nItems: number,
  catalog: ItemCatalog,
  opts: TasteAxesOptions = {},
): TasteAxes {
  const o = resolve(opts);
  if (catalog.itemGenres.nRows !== nItems) throw new RangeError(`itemGenres has ${catalog.itemGenres.nRows} rows, expected ${nItems} items`);
  if (catalog.itemGenres.nCols !== catalog.genreNames.length) throw new RangeError(`itemGenres has ${catalog.itemGenres.nCols} columns for ${catalog.genreNames.length} genre names`);
  const pairs = distinctPairsFromEvents({ userId: train.userId, itemId: train.itemId, length: train.length }, nUsers, nItems);
  const popularity = new Int32Array(nItems);
  for (let p = 0; p < pairs.items.length; p++) popularity[pairs.items[p]]++;
  const genre = genreAxes(train, nUsers, nItems, catalog, popularity, o);
  const item = itemAxes(pairs.ptr, pairs.items, nUsers, nItems, catalog, popularity, o);
  return { nUsers, nItems, genre, item, options: o };
}

function genreAxes(
  train: { userId: Int32Array; itemId: Int32Array; length: number },
  nUsers: number,
  nItems: number,
  catalog: ItemCatalog,
  popularity: Int32Array,
  o: Required<TasteAxesOptions>,
): GenreAxes {
  const G = catalog.genreNames.length;
  const ig = catalog.itemGenres;
  const k = Math.min(o.genreAxes, G);
  // per user: genre mass and the number of events (the share denominator)
  const mass = new Float64Array(nUsers * G);
  const events = new Float64Array(nUsers);
  const tagged = new Uint8Array(nUsers);
  for (let e = 0; e < train.length; e++) {
    const u = train.userId[e];
    const i = train.itemId[e];
    events[u] += 1;
    const s = ig.indptr[i];
    const n = ig.indptr[i + 1] - s;
    if (n === 0) continue;
    tagged[u] = 1;
    const w = o.genreShare === "split" ? 1 / n : 1;
    for (let p = s; p < s + n; p++) mass[u * G + ig.indices[p]] += w;
  }
  let fitted = 0;
  const mean = new Float64Array(G);
  for (let u = 0; u < nUsers; u++) {
    if (!tagged[u]) continue;
    fitted++;
    for (let g = 0; g < G; g++) {
      mass[u * G + g] /= events[u];
      mean[g] += mass[u * G + g];
    }
  }
  if (fitted > 0) for (let g = 0; g < G; g++) mean[g] /= fitted;
  const cov = new Float64Array(G * G);
  const d = new Float64Array(G);
  for (let u = 0; u < nUsers; u++) {
    if (!tagged[u]) continue;
    for (let g = 0; g < G; g++) d[g] = mass[u * G + g] - mean[g];
    for (let a = 0; a < G; a++) {
      const x = d[a];
      if (x === 0) continue;
      for (let b = a; b < G; b++) cov[a * G + b] += x * d[b];
    }
  }
  for (let a = 0; a < G; a++) {
    for (let b = a; b < G; b++) {
      cov[a * G + b] /= Math.max(fitted, 1);
      cov[b * G + a] = cov[a * G + b];
    }
  }
  let total = 0;
  for (let g = 0; g < G; g++) total += cov[g * G + g];
  const loadings = new Float64Array(G * k);
  const strength = new Float64Array(k);
  if (G > 0 && k > 0) {
    const { values, vectors } = symmetricEigen(cov, G);
    for (let c = 0; c < k; c++) {
      strength[c] = Math.max(values[c], 0);
      for (let g = 0; g < G; g++) loadings[g * k + c] = vectors[g * G + c];
    }
    fixSigns(loadings, G, k);
  }
  const userCoords = new Float32Array(nUsers * k).fill(NaN);
  for (let u = 0; u < nUsers; u++) {
    if (!tagged[u]) continue;
    for (let c = 0; c < k; c++) {
      let x = 0;
      for (let g = 0; g < G; g++) x += (mass[u * G + g] - mean[g]) * loadings[g * k + c];
      userCoords[u * k + c] = x;
    }
  }
  const itemCoords = new Float32Array(nItems * k).fill(NaN);
  for (let i = 0; i < nItems; i++) {
    const s = ig.indptr[i];
    const n = ig.indptr[i + 1] - s;
    if (n === 0) continue;
    const w = o.genreShare === "split" ? 1 / n : 1;
    for (let c = 0; c < k; c++) {
      let x = 0;
      for (let g = 0; g < G; g++) x -= mean[g] * loadings[g * k + c];
      for (let p = s; p < s + n; p++) x += w * loadings[ig.indices[p] * k + c];
      itemCoords[i * k + c] = x;
    }
  }
  const axes: TasteAxis[] = [];
  for (let c = 0; c < k; c++) {
    axes.push(
      labelAxis(c, k, loadings, catalog.genreNames, itemCoords, popularity, catalog.titles ?? null, o, total > 0 ? strength[c] / total : 0, strength[c]),
    );
  }
  return { k, axes, genreNames: catalog.genreNames.slice(), mean, loadings, userCoords, itemCoords, usersFitted: fitted, totalVariance: total };
}

function itemAxes(
  ptr: Int32Array,
  items: Int32Array,
  nUsers: number,
  nItems: number,
  catalog: ItemCatalog,
  popularity: Int32Array,
  o: Required<TasteAxesOptions>,
): ItemAxes {
  const rowMask = new Uint8Array(nUsers);
  let fitted = 0;
  for (let u = 0; u < nUsers; u++) {
    if (ptr[u + 1] > ptr[u]) {
      rowMask[u] = 1;
      fitted++;
    }
  }
  const colMean = new Float64Array(nItems);
  for (let j = 0; j < nItems; j++) colMean[j] = fitted > 0 ? popularity[j] / fitted : 0;
  // ‖A − 1μᵀ‖² = Σ a² − n Σ μ² for a binary A over the fitted rows
  let total = items.length;
  for (let j = 0; j < nItems; j++) total -= fitted * colMean[j] * colMean[j];
  total = Math.max(total, 0);
  const svd = randomizedSvd({ nRows: nUsers, nCols: nItems, ptr, idx: items, rowMask, colMean }, o.itemAxes, {
    oversampling: o.oversampling,
    powerIterations: o.powerIterations,
    seed: o.seed,
  });
  const k = svd.k;
  const flips = fixSigns(svd.v, nItems, k);
  const userCoords = new Float32Array(nUsers * k).fill(NaN);
  for (let u = 0; u < nUsers; u++) {
    if (!rowMask[u]) continue;
    for (let c = 0; c < k; c++) userCoords[u * k + c] = flips[c] * svd.u[u * k + c] * svd.s[c];
  }
  const itemCoords = new Float32Array(nItems * k);
  for (let j = 0; j < nItems * k; j++) itemCoords[j] = svd.v[j];
  // genre association: how much more positive the genre's items load than items overall
  const G = catalog.genreNames.length;
  const ig = catalog.itemGenres;
  const genreAssociation = new Float64Array(G * k);
  const count = new Float64Array(G);
  const overall = new Float64Array(k);
  for (let j = 0; j < nItems; j++) {
    for (let c = 0; c < k; c++) overall[c] += svd.v[j * k + c] / Math.max(nItems, 1);
    for (let p = ig.indptr[j]; p < ig.indptr[j + 1]; p++) {
      const g = ig.indices[p];
      count[g]++;
      for (let c = 0; c < k; c++) genreAssociation[g * k + c] += svd.v[j * k + c];
    }
  }
  for (let g = 0; g < G; g++) {
    for (let c = 0; c < k; c++) genreAssociation[g * k + c] = count[g] > 0 ? genreAssociation[g * k + c] / count[g] - overall[c] : 0;
  }
  const axes: TasteAxis[] = [];
  for (let c = 0; c < k; c++) {
    const s2 = svd.s[c] * svd.s[c];
    axes.push(labelAxis(c, k, genreAssociation, catalog.genreNames, itemCoords, popularity, catalog.titles ?? null, o, total > 0 ? s2 / total : 0, svd.s[c]));
  }
  return { k, axes, userCoords, itemCoords, genreAssociation, usersFitted: fitted, totalVariance: total };
}

/**
 * Flips each column of a row-major n × k block so its largest-magnitude entry is positive (ties:
 * lower row); returns the ±1 applied per column (callers flip paired vectors the same way).
 */
export function fixSigns(a: Float64Array, n: number, k: number): Float64Array {
  const flips = new Float64Array(k).fill(1);
  for (let c = 0; c < k; c++) {
    let best = 0;
    let bestAbs = -1;
    for (let r = 0; r < n; r++) {
      const x = Math.abs(a[r * k + c]);
      if (x > bestAbs) {
        bestAbs = x;
        best = r;
      }
    }
    if (n > 0 && a[best * k + c] < 0) {
      flips[c] = -1;
      for (let r = 0; r < n; r++) a[r * k + c] = -a[r * k + c];
    }
  }
  return flips;
}

function labelAxis(
  c: number,
  k: number,
  genreScore: Float64Array,
  genreNames: string[],
  itemScore: Float32Array,
  popularity: Int32Array,
  titles: (string | null)[] | null,
  o: Required<TasteAxesOptions>,
  ratio: number,
  strength: number,
): TasteAxis {
  const G = genreNames.length;
  const gIdx: number[] = [];
  for (let g = 0; g < G; g++) gIdx.push(g);
  const byDesc = gIdx.slice().sort((a, b) => genreScore[b * k + c] - genreScore[a * k + c] || a - b);
  const byAsc = gIdx.slice().sort((a, b) => genreScore[a * k + c] - genreScore[b * k + c] || a - b);
  const positive = byDesc
    .filter((g) => genreScore[g * k + c] > 0)
    .slice(0, o.labelGenres)
    .map((g) => ({ genre: genreNames[g], loading: genreScore[g * k + c] }));
  const negative = byAsc
    .filter((g) => genreScore[g * k + c] < 0)
    .slice(0, o.labelGenres)
    .map((g) => ({ genre: genreNames[g], loading: genreScore[g * k + c] }));
  // items: eligible by support; ties (e.g. items with identical genres) go to the more popular, then lower id
  const eligible: number[] = [];
  for (let i = 0; i < popularity.length; i++) if (popularity[i] >= Math.max(o.minItemUsersForLabels, 1) && !Number.isNaN(itemScore[i * k + c])) eligible.push(i);
  const top = (sign: number): AxisItem[] =>
    eligible
      .filter((i) => sign * itemScore[i * k + c] > 0)
      .sort((a, b) => sign * (itemScore[b * k + c] - itemScore[a * k + c]) || popularity[b] - popularity[a] || a - b)
      .slice(0, o.labelItems)
      .map((i) => ({ item: i, title: titles?.[i] ?? null, loading: itemScore[i * k + c] }));
  const name = (xs: AxisGenre[]) => (xs.length ? xs.map((x) => x.genre).join(" / ") : "—");
  return {
    index: c + 1,
    label: `${name(positive)} vs ${name(negative)}`,
    positive,
    negative,
    positiveItems: top(1),
    negativeItems: top(-1),
    explainedVarianceRatio: ratio,
    strength,
  };
}

/** Genres to leave out of the catalogue by default (MovieLens' placeholder). */
export const IGNORED_GENRES = ["(no genres listed)"];

/**
 * Reads items.parquet (item_id, genres VARCHAR[], title) into an `ItemCatalog`: genre names
 * sorted, so genre indices are reproducible; items beyond nItems are ignored.
 */
export async function loadItemCatalog(db: Duck, itemsParquet: string, nItems: number, ignore: string[] = IGNORED_GENRES): Promise<ItemCatalog> {
  const cols = await db.rows<{ column_name: string }>(`DESCRIBE SELECT * FROM ${parquet(itemsParquet)}`);
  const hasTitle = cols.some((c) => c.column_name === "title");
  const rows = await db.rows<{ item_id: number; genres: string[] | null; title: string | null }>(
    `SELECT item_id, genres, ${hasTitle ? "title" : "NULL::VARCHAR AS title"} FROM ${parquet(itemsParquet)} WHERE item_id >= 0 AND item_id < ${nItems} ORDER BY item_id`,
  );
  const skip = new Set(ignore);
  const names = [...new Set(rows.flatMap((r) => r.genres ?? []).filter((g) => !skip.has(g)))].sort();
  const index = new Map(names.map((g, i) => [g, i]));
  const perItem: number[][] = Array.from({ length: nItems }, () => []);
  const titles: (string | null)[] = new Array(nItems).fill(null);
  for (const r of rows) {
    titles[r.item_id] = r.title ?? null;
    const gs = [...new Set((r.genres ?? []).filter((g) => index.has(g)).map((g) => index.get(g) as number))].sort((a, b) => a - b);
    perItem[r.item_id] = gs;
  }
  const indptr = new Int32Array(nItems + 1);
  for (let i = 0; i < nItems; i++) indptr[i + 1] = indptr[i] + perItem[i].length;
  const indices = new Int32Array(indptr[nItems]);
  for (let i = 0; i < nItems; i++) indices.set(perItem[i], indptr[i]);
  return { genreNames: names, itemGenres: { nRows: nItems, nCols: names.length, indptr, indices, values: new Float32Array(indices.length).fill(1) }, titles };
}

/** File names written by `writeTasteAxes`. */
export const TASTE_AXES_FILES = { users: "user_axes.parquet", items: "item_axes.parquet", summary: "axes.json" } as const;

/**
 * Writes user_axes.parquet (user_id, genre_axis_1.., item_axis_1..), item_axes.parquet
 * (item_id, genre_axis_1.., item_axis_1..) — NULL where a coordinate is undefined — and axes.json
 * (labels, explained variance, options), each atomically.
 */
export async function writeTasteAxes(db: Duck, axes: TasteAxes, dir: string): Promise<{ users: number; items: number }> {
  const cols = (prefix: string, k: number) => Array.from({ length: k }, (_, c) => `${prefix}_axis_${c + 1}`);
  const gNames = cols("genre", axes.genre.k);
  const iNames = cols("item", axes.item.k);
  const split = (coords: Float32Array, n: number, k: number, names: string[]) => {
    const out: Record<string, Float32Array> = {};
    names.forEach((name, c) => {
      const a = new Float32Array(n);
      for (let r = 0; r < n; r++) a[r] = coords[r * k + c];
      out[name] = a;
    });
    return out;
  };
  const select = (idName: string) =>
    [quoteIdent(idName), ...[...gNames, ...iNames].map((n) => `CASE WHEN isnan(${quoteIdent(n)}) THEN NULL ELSE ${quoteIdent(n)} END AS ${quoteIdent(n)}`)].join(", ");
  const userIds = Int32Array.from({ length: axes.nUsers }, (_, u) => u);
  await db.loadColumns("__ntg_user_axes", {
    user_id: userIds,
    ...split(axes.genre.userCoords, axes.nUsers, axes.genre.k, gNames),
    ...split(axes.item.userCoords, axes.nUsers, axes.item.k, iNames),
  });
  const itemIds = Int32Array.from({ length: axes.nItems }, (_, i) => i);
  await db.loadColumns("__ntg_item_axes", {
    item_id: itemIds,
    ...split(axes.genre.itemCoords, axes.nItems, axes.genre.k, gNames),
    ...split(axes.item.itemCoords, axes.nItems, axes.item.k, iNames),
  });
  try {
    const users = await db.copyToParquet(`SELECT ${select("user_id")} FROM __ntg_user_axes ORDER BY user_id`, path.join(dir, TASTE_AXES_FILES.users));
    const items = await db.copyToParquet(`SELECT ${select("item_id")} FROM __ntg_item_axes ORDER BY item_id`, path.join(dir, TASTE_AXES_FILES.items));
    writeFileAtomic(path.join(dir, TASTE_AXES_FILES.summary), stableStringify(tasteAxesSummary(axes)));
    return { users, items };
  } finally {
    await db.run("DROP TABLE IF EXISTS __ntg_user_axes");
    await db.run("DROP TABLE IF EXISTS __ntg_item_axes");
  }
}

/** Labels, explained variance and options as plain JSON data (the content of axes.json). */
export function tasteAxesSummary(axes: TasteAxes): Record<string, unknown> {
  return {
    options: axes.options,
    genre: { genres: axes.genre.genreNames, users_fitted: axes.genre.usersFitted, total_variance: axes.genre.totalVariance, axes: axes.genre.axes },
    item: { users_fitted: axes.item.usersFitted, total_variance: axes.item.totalVariance, axes: axes.item.axes },
  };
}
