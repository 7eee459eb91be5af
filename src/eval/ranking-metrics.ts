/**
 * Full-catalogue top-K ranking metrics: every model ranks the whole catalogue (minus the
 * protocol's exclusions) and is scored against the user's complete held-out set — no sampled
 * negatives (Krichene & Rendle 2020 show sampled metrics can reverse model orderings).
 *
 * Definitions, for a user u with relevant set R(u), a ranked list L(u) and cutoff K
 * (positions are 1-based slots of the list; empty slots, item −1, never hit):
 *
 * - `recall`        hits@K / |R(u)|                      — RecBole's Recall@K (Zhao et al. 2021)
 * - `recall_capped` hits@K / min(K, |R(u)|)              — Liang et al. 2018 (VAE-CF) "Recall@R",
 *                                                           also used by Steck 2019 (EASE) through Liang's code
 * - `precision`     hits@K / K                           — slots the model left empty count as misses
 * - `ndcg`          Σ_{i≤K, L_i∈R} 1/log2(i+1) / IDCG, IDCG = Σ_{i≤min(K,|R|)} 1/log2(i+1)
 *                                                         (Järvelin & Kekäläinen 2002; RecBole and Liang et al.)
 * - `ndcg_graded`   gains 2^rel − 1 (Burges et al. 2005), same log2 discount; IDCG from the user's own
 *                   grades sorted descending and truncated at K
 * - `map`           AP@K = Σ_{i≤K, L_i∈R} precision@i / min(K, |R(u)|) — RecBole's MAP@K denominator;
 *                   Liang-style code and some libraries divide by |R(u)| instead (smaller for |R| > K)
 * - `mrr`           1 / rank of the first hit within K, else 0 (Voorhees 1999)
 * - `hit_rate`      1 if any hit within K, else 0 (RecBole "Hit")
 *
 * Ranking order is the list order: the Recommender contract already breaks score ties by lower
 * item id, so equal scores are *not* averaged over (a tie-aware variant would need the scores
 * beyond K, which a top-K list does not have). A relevant item listed twice counts once.
 * Users without relevant items are excluded from every mean and counted.
 */
import type { CsrMatrix } from "../data/csr";
import type { Duck } from "../data/duck";
import { quoteIdent } from "../data/duck";
import type { TopK } from "../taste/recommender";
import { InputError } from "../util/errors";

/** The metric families computed by {@link rankingMetrics}. */
export type RankingMetric = "recall" | "recall_capped" | "precision" | "ndcg" | "ndcg_graded" | "map" | "mrr" | "hit_rate";

/** Every metric, in the order results list them. */
export const RANKING_METRICS: readonly RankingMetric[] = ["recall", "recall_capped", "precision", "ndcg", "ndcg_graded", "map", "mrr", "hit_rate"];

/** Options of {@link rankingMetrics}. */
export interface RankingMetricsOptions {
  /** cutoffs K (positive integers); duplicates are removed and the list sorted */
  ks: readonly number[];
  /** metric families to compute (default: all) */
  metrics?: readonly RankingMetric[];
}

/** Per-user values, aligned with `users`. */
export interface PerUserRankingMetrics {
  /** evaluated users (≥ 1 relevant item), in TopK row order */
  users: Int32Array;
  /** |R(u)| per evaluated user */
  nRelevant: Int32Array;
  /** `metric@K` → one value per evaluated user */
  values: Record<string, Float64Array>;
}

/** Result of {@link rankingMetrics}. */
export interface RankingMetricsResult {
  ks: number[];
  metrics: RankingMetric[];
  /** `metric@K` → mean over evaluated users (NaN when nobody was evaluated) */
  mean: Record<string, number>;
  perUser: PerUserRankingMetrics;
  counts: {
    /** TopK rows given */
    rows: number;
    /** rows with ≥ 1 relevant item: the denominator of every mean */
    evaluated: number;
    /** rows whose user has no relevant item: excluded */
    noRelevant: number;
    /** list slots within max K holding no item (−1 padding or beyond the list length) */
    emptySlots: number;
    /** relevant items listed more than once in a row (counted once) */
    duplicateHits: number;
  };
  /** users excluded for having no relevant items */
  excludedUsers: Int32Array;
  warnings: string[];
}

/** The key results use for a metric at a cutoff, e.g. `ndcg@10`. */
export function metricKey(metric: RankingMetric, k: number): string {
  return `${metric}@${k}`;
}

/** Parses `ndcg@10` into its metric and cutoff; throws on anything else. */
export function parseMetricKey(key: string): { metric: RankingMetric; k: number } {
  const m = /^([a-z_]+)@(\d+)$/.exec(key);
  if (!m || !(RANKING_METRICS as readonly string[]).includes(m[1]) || Number(m[2]) < 1) {
    throw new InputError(`'${key}' is not a ranking metric key (expected one of ${RANKING_METRICS.join(", ")} followed by @K)`);
  }
  return { metric: m[1] as RankingMetric, k: Number(m[2]) };
}

/** Sorted, de-duplicated, validated cutoffs. */
export function normalizeKs(ks: readonly number[]): number[] {
  if (!Array.isArray(ks) || ks.length === 0) throw new InputError("ranking metrics: at least one cutoff K is required");
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new InputError(`ranking metrics: cutoff K must be a positive integer (got ${String(k)})`);
  return [...new Set(ks)].sort((a, b) => a - b);
}

/**
 * Computes every requested metric at every cutoff for each TopK row against `relevant` (row u =
 * user u's held-out items; stored values are graded relevance for `ndcg_graded`, which requires them
 * finite and > 0). One pass per user over max K slots; see the module comment for the definitions
 * (RecBole, Zhao et al. 2021; Liang et al. 2018).
 */
export function rankingMetrics(topk: TopK, relevant: CsrMatrix, opts: RankingMetricsOptions): RankingMetricsResult {
  const ks = normalizeKs(opts.ks);
  const metrics = opts.metrics ? [...new Set(opts.metrics)] : [...RANKING_METRICS];
  for (const m of metrics) if (!RANKING_METRICS.includes(m)) throw new InputError(`ranking metrics: unknown metric '${String(m)}'`);
  const nRows = topk.rows.length;
  const K = topk.k;
  if (topk.items.length !== nRows * K) throw new InputError(`ranking metrics: TopK has ${topk.items.length} items for ${nRows} rows × k=${K}`);
  const maxK = ks[ks.length - 1];
  const L = Math.min(maxK, K);
  const warnings: string[] = [];
  if (maxK > K) warnings.push(`cutoff ${maxK} exceeds the list length ${K}: the missing slots count as misses`);
  const graded = metrics.includes("ndcg_graded");

  // Position discounts and the binary ideal DCG prefix: idcg[j] = Σ_{i<j} 1/log2(i+2).
  const disc = new Float64Array(maxK);
  const idcg = new Float64Array(maxK + 1);
  for (let i = 0; i < maxK; i++) {
    disc[i] = 1 / Math.log2(i + 2);
    idcg[i + 1] = idcg[i] + disc[i];
  }

  // First pass: who is evaluated.
  const nRel = new Int32Array(nRows);
  let evaluated = 0;
  for (let r = 0; r < nRows; r++) {
    const u = topk.rows[r];
    const n = u >= 0 && u < relevant.nRows ? relevant.indptr[u + 1] - relevant.indptr[u] : 0;
    nRel[r] = n;
    if (n > 0) evaluated++;
  }
  const users = new Int32Array(evaluated);
  const nRelevantOut = new Int32Array(evaluated);
  const excluded = new Int32Array(nRows - evaluated);
  const keys: string[] = [];
  const cols: Float64Array[] = [];
  // column index = metricIndex * ks.length + cutoffIndex
  for (const m of metrics) for (const k of ks) {
    keys.push(metricKey(m, k));
    cols.push(new Float64Array(evaluated));
  }
  const mIdx = (m: RankingMetric) => metrics.indexOf(m);
  const iRecall = mIdx("recall"), iCapped = mIdx("recall_capped"), iPrec = mIdx("precision"), iNdcg = mIdx("ndcg");
  const iGraded = mIdx("ndcg_graded"), iMap = mIdx("map"), iMrr = mIdx("mrr"), iHit = mIdx("hit_rate");
  const nK = ks.length;

  // mark[item] = row index while the item is an unhit relevant item of that row; −2 once hit.
  const nCols = relevant.nCols;
  const mark = new Int32Array(nCols).fill(-1);
  const gain = graded ? new Float64Array(nCols) : null;
  const gIdcg = new Float64Array(maxK + 1);
  let gainScratch = new Float64Array(16);
  let emptySlots = 0;
  let duplicateHits = 0;

  let e = 0;
  let x = 0;
  for (let r = 0; r < nRows; r++) {
    const nr = nRel[r];
    const u = topk.rows[r];
    if (nr === 0) {
      excluded[x++] = u;
      continue;
    }
    const s = relevant.indptr[u];
    const end = relevant.indptr[u + 1];
    for (let p = s; p < end; p++) mark[relevant.indices[p]] = r;
    if (gain) {
      if (gainScratch.length < nr) gainScratch = new Float64Array(nr);
      for (let p = s; p < end; p++) {
        const v = relevant.values[p];
        if (!(Number.isFinite(v) && v > 0)) {
          throw new InputError(`ndcg_graded: relevance of user ${u}, item ${relevant.indices[p]} is ${String(v)}; graded relevance must be finite and > 0`);
        }
        const g = Math.pow(2, v) - 1;
        gain[relevant.indices[p]] = g;
        gainScratch[p - s] = g;
      }
      const sorted = gainScratch.subarray(0, nr).sort();
      const lim = Math.min(nr, maxK);
      for (let i = 0; i < lim; i++) gIdcg[i + 1] = gIdcg[i] + sorted[nr - 1 - i] * disc[i];
    }

    let hits = 0;
    let dcg = 0;
    let gdcg = 0;
    let apSum = 0;
    let first = -1;
    let c = 0;
    const base = r * K;
    const record = (k: number): void => {
      const cap = Math.min(k, nr);
      if (iRecall >= 0) cols[iRecall * nK + c][e] = hits / nr;
      if (iCapped >= 0) cols[iCapped * nK + c][e] = hits / cap;
      if (iPrec >= 0) cols[iPrec * nK + c][e] = hits / k;
      if (iNdcg >= 0) cols[iNdcg * nK + c][e] = dcg / idcg[cap];
      if (iGraded >= 0) cols[iGraded * nK + c][e] = gdcg / gIdcg[cap];
      if (iMap >= 0) cols[iMap * nK + c][e] = apSum / cap;
      if (iMrr >= 0) cols[iMrr * nK + c][e] = first >= 0 && first < k ? 1 / (first + 1) : 0;
      if (iHit >= 0) cols[iHit * nK + c][e] = hits > 0 ? 1 : 0;
    };
    for (let i = 0; i < L; i++) {
      const it = topk.items[base + i];
      if (it < 0) emptySlots++;
      else if (it < nCols) {
        const mk = mark[it];
        if (mk === r) {
          mark[it] = -2;
          hits++;
          dcg += disc[i];
          if (gain) gdcg += gain[it] * disc[i];
          apSum += hits / (i + 1);
          if (first < 0) first = i;
        } else if (mk === -2) {
          // marks are reset after every row, so −2 can only be this row's own earlier hit
          duplicateHits++;
        }
      }
      while (c < nK && ks[c] === i + 1) {
        record(ks[c]);
        c++;
      }
    }
    emptySlots += Math.max(0, maxK - L);
    while (c < nK) {
      record(ks[c]);
      c++;
    }
    // Leave no stale marks for later rows: hit items are −2, unhit ones still carry r.
    for (let p = s; p < end; p++) mark[relevant.indices[p]] = -1;
    users[e] = u;
    nRelevantOut[e] = nr;
    e++;
  }

  const values: Record<string, Float64Array> = {};
  const mean: Record<string, number> = {};
  keys.forEach((key, j) => {
    values[key] = cols[j];
    let sum = 0;
    for (let i = 0; i < evaluated; i++) sum += cols[j][i];
    mean[key] = evaluated > 0 ? sum / evaluated : Number.NaN;
  });
  if (evaluated === 0) warnings.push("no row has a relevant item: every mean is NaN");
  if (duplicateHits > 0) warnings.push(`${duplicateHits} relevant item(s) listed more than once in a row; each counted once`);
  return {
    ks,
    metrics,
    mean,
    perUser: { users, nRelevant: nRelevantOut, values },
    counts: { rows: nRows, evaluated, noRelevant: nRows - evaluated, emptySlots, duplicateHits },
    excludedUsers: excluded,
    warnings,
  };
}

let tableCounter = 0;

/**
 * Writes per-user metrics to Parquet: columns `user`, `n_relevant`, then one DOUBLE column per
 * `metric@K` in result order; rows ordered by user, so the bytes are deterministic. Returns rows written.
 */
export async function writePerUserMetrics(db: Duck, result: RankingMetricsResult, target: string): Promise<number> {
  const table = `__ntg_user_metrics_${process.pid}_${++tableCounter}`;
  const cols: Record<string, Int32Array | Float64Array> = { user: result.perUser.users, n_relevant: result.perUser.nRelevant };
  const keys = Object.keys(result.perUser.values);
  for (const k of keys) cols[k] = result.perUser.values[k];
  await db.loadColumns(table, cols);
  try {
    const select = ["user", "n_relevant", ...keys].map(quoteIdent).join(", ");
    return await db.copyToParquet(`SELECT ${select} FROM ${quoteIdent(table)} ORDER BY "user"`, target);
  } finally {
    await db.run(`DROP TABLE IF EXISTS ${quoteIdent(table)}`);
  }
}
