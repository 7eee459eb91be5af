/**
 * Feature tables computed in one sequential pass over the train events in canonical order, held as
 * typed arrays. Produces byte-identical tables to the SQL builders: every floating-point value is
 * computed with the same operations in the same order as DuckDB does for the SQL definitions
 * (naive sums and AVG over the ordered lists, Welford updates for the population standard
 * deviation, exact integer sums cast to DOUBLE the way DuckDB casts HUGEINT), and transcendental
 * values (the recency decay) are computed by DuckDB itself. Used when the train table is in strict
 * canonical order with the canonical column types; otherwise the SQL builders run.
 */
import * as path from "node:path";
import type { Duck } from "../data/duck";
import { quoteIdent } from "../data/duck";
import { INTERACTION_ORDER } from "../data/schema";
import { denseIds, readColumns, SAFE } from "../split/columns";
import { INTERACTION_FEATURES_FILE, interactionFeatureDescriptions } from "./interaction-features";
import { ITEM_FEATURES_FILE, itemFeatureDescriptions } from "./item-features";
import { DAY_SECONDS, decaySql, RATED, windowName, type BuiltTable, type FeatureContext } from "./manifest";
import { USER_FEATURES_FILE, userFeatureDescriptions, userGenreCte } from "./user-features";

/** Train events in canonical order. */
export interface TrainArrays {
  n: number;
  user: Int32Array;
  item: Int32Array;
  ts: Float64Array;
  idx: Float64Array;
  /** NaN when unrated (NULL or NaN rating) */
  rating: Float64Array;
  /** recency decay of each event, computed by DuckDB */
  decay: Float64Array;
  /** start of each user's run of events; runs[nUsers] = n */
  runs: Int32Array;
  /** item ids as ranks 0..nItems-1 in item_id order */
  itemDense: Int32Array;
  nItems: number;
}

/** Expected types of the train table's columns for the fast path. */
const TYPES: Record<string, string> = { user_id: "INTEGER", item_id: "INTEGER", ts: "BIGINT", rating: "DOUBLE", event_idx: "BIGINT" };

/**
 * Loads the train events for the fast builders; null when they need the SQL builders (columns of
 * other types, rows not in strict canonical order, a fractional cutoff, or values beyond ±2^53).
 */
export async function loadTrainArrays(ctx: FeatureContext): Promise<TrainArrays | null> {
  const { db } = ctx;
  const t = quoteIdent(ctx.train);
  if (!Number.isInteger(ctx.now) || Math.abs(ctx.now) >= SAFE) return null;
  const types = await db.rows<{ column_name: string; column_type: string }>(`DESCRIBE ${t}`);
  for (const [col, type] of Object.entries(TYPES)) {
    if (types.find((c) => c.column_name === col)?.column_type !== type) return null;
  }
  const rows = Number(await db.scalar(`SELECT count(*) FROM ${t}`));
  const cols = await readColumns(
    db,
    `SELECT user_id, item_id, CAST(ts AS DOUBLE), CAST(event_idx AS DOUBLE),
       CASE WHEN ${RATED} THEN rating ELSE CAST('NaN' AS DOUBLE) END, ${decaySql(ctx)} FROM ${t}`,
    { user: "i32", item: "i32", ts: "f64", idx: "f64", rating: "f64", decay: "f64" },
    rows,
  );
  if (!cols) return null;
  const { user, item, ts, idx } = cols;
  const n = cols.length;
  const starts: number[] = [];
  for (let i = 0; i < n; i++) {
    const tv = ts[i];
    const x = idx[i];
    if (!(tv > -SAFE && tv < SAFE && Math.floor(tv) === tv && x > -SAFE && x < SAFE && Math.floor(x) === x)) return null;
    if (i === 0) {
      starts.push(0);
      continue;
    }
    const du = user[i] - user[i - 1];
    if (du > 0) {
      starts.push(i);
      continue;
    }
    if (du < 0) return null;
    const dt = tv - ts[i - 1];
    if (dt > 0) continue;
    if (dt < 0) return null;
    const di = item[i] - item[i - 1];
    if (di > 0) continue;
    if (di < 0 || !(x > idx[i - 1])) return null;
  }
  starts.push(n);
  const { dense, count } = denseIds(item);
  return { n, user, item, ts, idx, rating: cols.rating, decay: cols.decay, runs: Int32Array.from(starts), itemDense: dense, nItems: count };
}

const TWO53 = 2 ** 53;

/** DuckDB's HUGEINT → DOUBLE cast: double(lower) + double(upper) · 2^64, lower as an unsigned 64-bit value. */
function hugeintToDouble(v: bigint): number {
  const upper = v >> 64n;
  const lower = v & 0xffffffffffffffffn;
  if (upper === -1n) return -Number(0xffffffffffffffffn - lower) - 1;
  return Number(lower) + Number(upper) * 18446744073709551616;
}

/** Exact `a · b − c · c` for non-negative integers as DuckDB computes it in HUGEINT, cast to DOUBLE. */
function exactDiffToDouble(a: number, b: number | bigint, c: number): number {
  if (typeof b === "number" && a * b < TWO53 && c * c < TWO53) return a * b - c * c;
  return hugeintToDouble(BigInt(a) * BigInt(b) - BigInt(c) * BigInt(c));
}

/** Loads JS columns into a scratch table. */
async function loadTable(db: Duck, table: string, cols: Record<string, Int32Array | Float64Array>): Promise<void> {
  await db.loadColumns(table, cols);
}

/** Builds `user_features.parquet`; also returns each user's mean rating (NaN when unrated) for the interaction table. */
export async function buildUserFeaturesFast(ctx: FeatureContext, a: TrainArrays, scratch: string[]): Promise<{ built: BuiltTable; mean: Float64Array }> {
  const { db, now } = ctx;
  const d = userFeatureDescriptions(ctx);
  const nUsers = a.runs.length - 1;
  const { ts, rating, decay, itemDense, runs } = a;
  const F = (k: number) => new Float64Array(nUsers).fill(k);
  const userId = new Int32Array(nUsers);
  const nEvents = F(0);
  const nDistinct = F(0);
  const nRatings = F(0);
  const mean = F(NaN);
  const std = F(NaN);
  const activeDays = F(0);
  const tenure = F(0);
  const sinceLast = F(0);
  const gapMean = F(NaN);
  const gapMedian = F(NaN);
  const gapStd = F(NaN);
  const decaySum = F(0);
  const windows = ctx.windowsDays.map((w) => ({ name: `events_last_${windowName(w)}`, from: now - w * DAY_SECONDS, counts: F(0) }));
  const stamp = new Int32Array(a.nItems).fill(-1);
  let maxRun = 0;
  for (let u = 0; u < nUsers; u++) maxRun = Math.max(maxRun, runs[u + 1] - runs[u]);
  const gaps = new Float64Array(Math.max(maxRun - 1, 0));
  for (let u = 0; u < nUsers; u++) {
    const s = runs[u];
    const e = runs[u + 1];
    const n = e - s;
    userId[u] = a.user[s];
    nEvents[u] = n;
    let distinct = 0;
    let rated = 0;
    let sum = 0;
    // Welford state exactly as DuckDB's STDDevBaseOperation
    let wMean = 0;
    let wD2 = 0;
    let days = 0;
    let lastDay = NaN;
    let dsum = 0;
    for (let i = s; i < e; i++) {
      const it = itemDense[i];
      if (stamp[it] !== u) {
        stamp[it] = u;
        distinct++;
      }
      const r = rating[i];
      if (r === r) {
        rated++;
        sum += r;
        const md = (r - wMean) / rated;
        const nm = wMean + md;
        wD2 = wD2 + (r - nm) * (r - wMean);
        wMean = nm;
      }
      const day = Math.floor(ts[i] / 86400);
      if (day !== lastDay) {
        days++;
        lastDay = day;
      }
      dsum += decay[i];
    }
    nDistinct[u] = distinct;
    nRatings[u] = rated;
    if (rated > 0) {
      mean[u] = sum / rated;
      std[u] = rated > 1 ? Math.sqrt(wD2 / rated) : 0;
    }
    activeDays[u] = days;
    tenure[u] = (now - ts[s]) / 86400;
    sinceLast[u] = (now - ts[e - 1]) / 86400;
    decaySum[u] = dsum;
    for (const w of windows) {
      let c = 0;
      for (let i = e - 1; i >= s && ts[i] > w.from; i--) c++; // ts ascends within the user
      w.counts[u] = c;
    }
    if (n > 1) {
      const ng = n - 1;
      const s1 = ts[e - 1] - ts[s]; // the gaps' exact integer sum
      // exact sum of squared gaps: in a double while it stays below 2^53, else in a BigInt
      let s2 = 0;
      let s2big: bigint | null = null;
      for (let i = s + 1; i < e; i++) {
        const g = ts[i] - ts[i - 1];
        gaps[i - s - 1] = g;
        const sq = g * g;
        if (sq < TWO53 && s2 + sq < TWO53) s2 += sq;
        else {
          s2big = (s2big ?? 0n) + BigInt(s2) + BigInt(g) * BigInt(g);
          s2 = 0;
        }
      }
      gapMean[u] = s1 / ng / 86400;
      const sorted = gaps.subarray(0, ng).sort();
      // DuckDB's quantile_cont: RN = (n − 1)·0.5, interpolate between floor and ceil
      const rn = (ng - 1) * 0.5;
      const lo = sorted[Math.floor(rn)];
      const hi = sorted[Math.ceil(rn)];
      gapMedian[u] = (Math.floor(rn) === Math.ceil(rn) ? lo : lo + (hi - lo) * (rn - Math.floor(rn))) / 86400;
      const num = exactDiffToDouble(ng, s2big === null ? s2 : s2big + BigInt(s2), s1);
      gapStd[u] = Math.sqrt(num / (ng * ng)) / 86400;
    }
  }
  const table = `${TABLE_PREFIX}users`;
  scratch.push(table);
  const cols: Record<string, Int32Array | Float64Array> = {
    user_id: userId,
    n_events: nEvents,
    n_distinct_items: nDistinct,
    n_ratings: nRatings,
    rating_mean: mean,
    rating_std: std,
    active_days: activeDays,
    tenure_days: tenure,
    days_since_last: sinceLast,
    gap_mean_days: gapMean,
    gap_median_days: gapMedian,
    gap_std_days: gapStd,
    recency_decayed_activity: decaySum,
  };
  for (const w of windows) cols[w.name] = w.counts;
  await loadTable(db, table, cols);
  const withGenres = ctx.itemGenres !== null;
  const big = (c: string) => `CAST(u.${c} AS BIGINT) AS ${c}`;
  const ifRated = (c: string) => `CASE WHEN u.n_ratings > 0 THEN u.${c} END AS ${c}`;
  const ifGaps = (c: string) => `CASE WHEN u.n_events > 1 THEN u.${c} END AS ${c}`;
  const sql = `
    WITH users AS (SELECT * FROM ${quoteIdent(table)}) ${withGenres ? userGenreCte(ctx) : ""}
    SELECT u.user_id, ${big("n_events")}, ${big("n_distinct_items")}, ${big("n_ratings")},
      ${ifRated("rating_mean")}, ${ifRated("rating_std")},
      ${big("active_days")}, u.tenure_days, u.days_since_last,
      ${ifGaps("gap_mean_days")}, ${ifGaps("gap_median_days")}, ${ifGaps("gap_std_days")},
      ${windows.map((w) => `${big(w.name)}, `).join("")}u.recency_decayed_activity
      ${withGenres ? ", COALESCE(ue.n_distinct_genres, 0) AS n_distinct_genres, ue.genre_entropy" : ""}
    FROM users u ${withGenres ? "LEFT JOIN ue USING (user_id)" : ""}
    ORDER BY u.user_id`;
  const rows = await db.copyToParquet(sql, path.join(ctx.outDir, USER_FEATURES_FILE));
  return { built: { table: "user", file: USER_FEATURES_FILE, key: ["user_id"], rows, descriptions: d }, mean };
}

/** Builds `item_features.parquet`. */
export async function buildItemFeaturesFast(ctx: FeatureContext, a: TrainArrays, scratch: string[]): Promise<BuiltTable> {
  const { db, now } = ctx;
  const d = itemFeatureDescriptions(ctx);
  const K = ctx.stabilityWindows;
  const span = now - ctx.t0;
  const sp = Math.max(span, 1);
  const m = a.nItems;
  const { ts, rating, itemDense, runs } = a;
  const nUsers = runs.length - 1;
  const F = (k: number) => new Float64Array(m).fill(k);
  const itemId = new Int32Array(m);
  const pop = F(0);
  const users = F(0);
  const rated = F(0);
  const sum = F(0);
  const wMean = F(0);
  const wD2 = F(0);
  const minTs = F(Infinity);
  const maxTs = F(-Infinity);
  const winCounts = new Float64Array(m * K);
  const recent = ctx.windowsDays.map((w) => ({ name: `recent_share_${windowName(w)}`, from: now - w * DAY_SECONDS, counts: F(0) }));
  const lastUser = new Int32Array(m).fill(-1);
  for (let u = 0; u < nUsers; u++) {
    for (let i = runs[u]; i < runs[u + 1]; i++) {
      const k = itemDense[i];
      itemId[k] = a.item[i];
      pop[k]++;
      if (lastUser[k] !== u) {
        lastUser[k] = u;
        users[k]++;
      }
      const t = ts[i];
      for (const w of recent) if (t > w.from) w.counts[k]++;
      const r = rating[i];
      if (r === r) {
        const c = ++rated[k];
        sum[k] += r;
        const md = (r - wMean[k]) / c;
        const nm = wMean[k] + md;
        wD2[k] = wD2[k] + (r - nm) * (r - wMean[k]);
        wMean[k] = nm;
      }
      if (t < minTs[k]) minTs[k] = t;
      if (t > maxTs[k]) maxTs[k] = t;
      // window LEAST(K − 1, (ts − t0)·K // span), exact integer division
      const x = (t - ctx.t0) * K;
      let q = Math.floor(x / sp);
      if (q * sp > x) q--;
      else if ((q + 1) * sp <= x) q++;
      winCounts[k * K + Math.min(K - 1, q)]++;
    }
  }
  // exposure concentration: per item, the sum of its ceil(n_users / 10) largest per-user counts
  const offsets = new Int32Array(m + 1);
  for (let k = 0; k < m; k++) offsets[k + 1] = offsets[k] + users[k];
  const fill = offsets.slice(0, m);
  const pairCounts = new Int32Array(offsets[m]);
  const cnt = new Int32Array(m);
  const maxCount = new Int32Array(m);
  const touched = new Int32Array(m);
  for (let u = 0; u < nUsers; u++) {
    let nt = 0;
    for (let i = runs[u]; i < runs[u + 1]; i++) {
      const k = itemDense[i];
      if (cnt[k]++ === 0) touched[nt++] = k;
    }
    for (let j = 0; j < nt; j++) {
      const k = touched[j];
      pairCounts[fill[k]++] = cnt[k];
      if (cnt[k] > maxCount[k]) maxCount[k] = cnt[k];
      cnt[k] = 0;
    }
  }
  const exposure = F(0);
  const mean = F(NaN);
  const std = F(NaN);
  const stability = F(NaN);
  const firstSeen = F(0);
  const lastSeen = F(0);
  for (let k = 0; k < m; k++) {
    const top = Math.floor((users[k] + 9) / 10);
    let s = 0;
    if (maxCount[k] === 1) s = top;
    else {
      const c = pairCounts.subarray(offsets[k], offsets[k + 1]).sort();
      for (let j = c.length - 1; j >= c.length - top; j--) s += c[j];
    }
    exposure[k] = s / pop[k];
    if (rated[k] > 0) {
      mean[k] = sum[k] / rated[k];
      std[k] = rated[k] > 1 ? Math.sqrt(wD2[k] / rated[k]) : 0;
    }
    if (span > 0) {
      let s2 = 0;
      for (let w = 0; w < K; w++) s2 += winCounts[k * K + w] * winCounts[k * K + w];
      stability[k] = Math.sqrt(exactDiffToDouble(K, s2, pop[k])) / pop[k];
    }
    firstSeen[k] = (now - minTs[k]) / 86400;
    lastSeen[k] = (now - maxTs[k]) / 86400;
    for (const w of recent) w.counts[k] = w.counts[k] / pop[k];
  }
  const table = `${TABLE_PREFIX}items`;
  scratch.push(table);
  const cols: Record<string, Int32Array | Float64Array> = {
    item_id: itemId,
    popularity: pop,
    n_users: users,
    rating_count: rated,
    rating_mean: mean,
    rating_std: std,
    popularity_stability: stability,
    exposure_concentration: exposure,
    first_seen_days: firstSeen,
    last_seen_days: lastSeen,
  };
  for (const w of recent) cols[w.name] = w.counts;
  await loadTable(db, table, cols);
  const ifRated = (c: string) => `CASE WHEN i.rating_count > 0 THEN i.${c} END AS ${c}`;
  const sql = `
    SELECT i.item_id, CAST(i.popularity AS BIGINT) AS popularity, CAST(i.n_users AS BIGINT) AS n_users,
      ${recent.map((w) => `i.${w.name}, `).join("")}CAST(i.rating_count AS BIGINT) AS rating_count,
      ${ifRated("rating_mean")}, ${ifRated("rating_std")},
      ${span > 0 ? "i.popularity_stability" : "CAST(NULL AS DOUBLE)"} AS popularity_stability,
      i.exposure_concentration, i.first_seen_days, i.last_seen_days
    FROM ${quoteIdent(table)} i
    ORDER BY i.item_id`;
  const rows = await db.copyToParquet(sql, path.join(ctx.outDir, ITEM_FEATURES_FILE));
  return { table: "item", file: ITEM_FEATURES_FILE, key: ["item_id"], rows, descriptions: d };
}

/** Builds `interaction_features.parquet` from the user means of `buildUserFeaturesFast`. */
export async function buildInteractionFeaturesFast(ctx: FeatureContext, a: TrainArrays, userMean: Float64Array, scratch: string[]): Promise<BuiltTable> {
  const { db } = ctx;
  const d = interactionFeatureDescriptions(ctx);
  const nUsers = a.runs.length - 1;
  const um = `${TABLE_PREFIX}user_mean`;
  scratch.push(um);
  const userId = new Int32Array(nUsers);
  for (let u = 0; u < nUsers; u++) userId[u] = a.user[a.runs[u]];
  await loadTable(db, um, { user_id: userId, m: userMean });
  // repeat_index: earlier events of the same (user, item) in canonical order; only non-zero ones are shipped
  const cnt = new Int32Array(a.nItems);
  const touched = new Int32Array(a.nItems);
  const rep: number[] = [];
  for (let u = 0; u < nUsers; u++) {
    let nt = 0;
    for (let i = a.runs[u]; i < a.runs[u + 1]; i++) {
      const k = a.itemDense[i];
      const c = cnt[k]++;
      if (c === 0) touched[nt++] = k;
      else rep.push(i, c);
    }
    for (let j = 0; j < nt; j++) cnt[touched[j]] = 0;
  }
  let repeatSql = "CAST(0 AS BIGINT)";
  let repeatJoin = "";
  if (rep.length) {
    const nr = rep.length / 2;
    const cols = { user_id: new Int32Array(nr), item_id: new Int32Array(nr), ts: new Float64Array(nr), event_idx: new Float64Array(nr), ri: new Float64Array(nr) };
    for (let j = 0; j < nr; j++) {
      const i = rep[2 * j];
      cols.user_id[j] = a.user[i];
      cols.item_id[j] = a.item[i];
      cols.ts[j] = a.ts[i];
      cols.event_idx[j] = a.idx[i];
      cols.ri[j] = rep[2 * j + 1];
    }
    const reps = `${TABLE_PREFIX}repeats`;
    scratch.push(reps);
    await loadTable(db, reps, cols);
    await db.run(
      `CREATE OR REPLACE TABLE ${quoteIdent(reps)} AS SELECT user_id, item_id, CAST(ts AS BIGINT) AS ts, CAST(event_idx AS BIGINT) AS event_idx, CAST(ri AS BIGINT) AS ri FROM ${quoteIdent(reps)}`,
    );
    repeatSql = "COALESCE(r.ri, CAST(0 AS BIGINT))";
    repeatJoin = `LEFT JOIN ${quoteIdent(reps)} r ON r.user_id = t.user_id AND r.ts = t.ts AND r.item_id = t.item_id AND r.event_idx = t.event_idx`;
  }
  const sql = `
    SELECT t.user_id, t.item_id, t.ts, t.event_idx,
      CASE WHEN ${RATED.replace(/rating/g, "t.rating")} THEN t.rating - um.m ELSE CAST('NaN' AS DOUBLE) END AS rating_norm,
      ${decaySql(ctx, "t.ts")} AS recency_weight,
      ${repeatSql} AS repeat_index, ${repeatSql} > 0 AS is_repeat
    FROM ${quoteIdent(ctx.train)} t JOIN ${quoteIdent(um)} um ON um.user_id = t.user_id ${repeatJoin}
    ORDER BY ${INTERACTION_ORDER.split(", ")
      .map((c) => `t.${c}`)
      .join(", ")}`;
  const rows = await db.copyToParquet(sql, path.join(ctx.outDir, INTERACTION_FEATURES_FILE));
  return { table: "interaction", file: INTERACTION_FEATURES_FILE, key: ["user_id", "item_id", "ts", "event_idx"], rows, descriptions: d };
}

/** Prefix of the fast builders' scratch tables. */
const TABLE_PREFIX = "__ntg_feat_fast_";
