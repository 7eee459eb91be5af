/**
 * Per-user features from train events. Floating-point sums go through ordered lists (or exact
 * integer sums) so results do not depend on how DuckDB's threads combine partial aggregates.
 */
import * as path from "node:path";
import { quoteIdent } from "../data/duck";
import { dbl, DAY_SECONDS, decaySql, EVENT_ORDER, RATED, windowName, type BuiltTable, type FeatureContext } from "./manifest";

/** File name of the user feature table. */
export const USER_FEATURES_FILE = "user_features.parquet";

/** Descriptions of the user features (windows and genre features depend on the context). */
export function userFeatureDescriptions(ctx: FeatureContext): Record<string, string> {
  const d: Record<string, string> = {
    n_events: "number of train events",
    n_distinct_items: "number of distinct items",
    n_ratings: "number of events carrying a rating",
    rating_mean: "mean rating (NULL when the user rated nothing)",
    rating_std: "population standard deviation of ratings (NULL when unrated)",
    active_days: "number of distinct UTC calendar days with at least one event",
    tenure_days: "days from the first event to the cutoff",
    days_since_last: "days from the last event to the cutoff",
    gap_mean_days: "mean gap between consecutive events in canonical order, days (NULL with < 2 events)",
    gap_median_days: "median gap between consecutive events, days (midpoint of the two middle gaps when even; NULL with < 2 events)",
    gap_std_days: "population standard deviation of the gaps, days (NULL with < 2 events)",
    recency_decayed_activity: `sum over events of 2^(−age/${ctx.halfLifeDays} days), age = cutoff − ts`,
  };
  for (const w of ctx.windowsDays) d[`events_last_${windowName(w)}`] = `events with ts in (cutoff − ${w} days, cutoff]`;
  if (ctx.itemGenres !== null) {
    d.n_distinct_genres = "number of distinct genres over the user's events' items (0 when none is tagged)";
    d.genre_entropy =
      "Shannon entropy (bits) of the user's genre counts, where each event counts once for every genre of its item; NULL when no event's item has a genre";
  }
  return d;
}

/**
 * SQL (a WITH-list continuation starting with a comma) defining `ue(user_id, n_distinct_genres,
 * genre_entropy)` from the train table and the item genres.
 */
export function userGenreCte(ctx: FeatureContext): string {
  const t = quoteIdent(ctx.train);
  return `, ug AS (SELECT t.user_id, g.genre, count(*) AS c FROM ${t} t JOIN ${quoteIdent(ctx.itemGenres!)} g USING (item_id) GROUP BY t.user_id, g.genre),
       ue AS (SELECT user_id, count(*) AS n_distinct_genres,
                     0.0 - list_sum(list(p * log2(p) ORDER BY genre)) AS genre_entropy
              FROM (SELECT user_id, genre, c / sum(c) OVER (PARTITION BY user_id) AS p FROM ug) GROUP BY user_id)`;
}

/** Builds `user_features.parquet` (one row per train user, ordered by user_id). */
export async function buildUserFeatures(ctx: FeatureContext): Promise<BuiltTable> {
  const t = quoteIdent(ctx.train);
  const now = ctx.now;
  const d = userFeatureDescriptions(ctx);
  const windows = ctx.windowsDays.map((w) => `count(*) FILTER (WHERE ts > ${now} - ${dbl(w * DAY_SECONDS)}) AS events_last_${windowName(w)}`);
  const withGenres = ctx.itemGenres !== null;
  const genreCte = withGenres ? userGenreCte(ctx) : "";
  const genreCols = withGenres ? ", COALESCE(ue.n_distinct_genres, 0) AS n_distinct_genres, ue.genre_entropy" : "";
  const genreJoin = withGenres ? "LEFT JOIN ue USING (user_id)" : "";
  const sql = `
    WITH base AS (
      SELECT user_id,
        count(*) AS n_events,
        count(DISTINCT item_id) AS n_distinct_items,
        count(*) FILTER (WHERE ${RATED}) AS n_ratings,
        list(rating ORDER BY ${EVENT_ORDER}) FILTER (WHERE ${RATED}) AS r,
        count(DISTINCT floor(ts / 86400.0)) AS active_days,
        (${now} - min(ts)) / 86400.0 AS tenure_days,
        (${now} - max(ts)) / 86400.0 AS days_since_last,
        ${windows.join(",\n        ")}${windows.length ? "," : ""}
        list(${decaySql(ctx)} ORDER BY ${EVENT_ORDER}) AS decay
      FROM ${t} GROUP BY user_id),
    gaps AS (
      SELECT user_id, ts - lag(ts) OVER (PARTITION BY user_id ORDER BY ${EVENT_ORDER}) AS gap FROM ${t}),
    -- Gaps are integer seconds: exact integer sums make mean and variance independent of summation order.
    gs AS (
      SELECT user_id, count(*) AS ng, sum(gap) AS s1, sum(CAST(gap AS HUGEINT) * gap) AS s2, median(gap) AS med
      FROM gaps WHERE gap IS NOT NULL GROUP BY user_id)
    ${genreCte}
    SELECT base.user_id, n_events, n_distinct_items, n_ratings,
      list_avg(r) AS rating_mean,
      list_stddev_pop(r) AS rating_std,
      active_days, tenure_days, days_since_last,
      CAST(gs.s1 AS DOUBLE) / gs.ng / 86400.0 AS gap_mean_days,
      CAST(gs.med AS DOUBLE) / 86400.0 AS gap_median_days,
      sqrt(CAST(gs.ng * gs.s2 - gs.s1 * gs.s1 AS DOUBLE) / (CAST(gs.ng AS DOUBLE) * gs.ng)) / 86400.0 AS gap_std_days,
      ${ctx.windowsDays.map((w) => `events_last_${windowName(w)}`).join(", ")}${ctx.windowsDays.length ? "," : ""}
      list_sum(decay) AS recency_decayed_activity
      ${genreCols}
    FROM base LEFT JOIN gs USING (user_id) ${genreJoin}
    ORDER BY base.user_id`;
  const rows = await ctx.db.copyToParquet(sql, path.join(ctx.outDir, USER_FEATURES_FILE));
  return { table: "user", file: USER_FEATURES_FILE, key: ["user_id"], rows, descriptions: d };
}
