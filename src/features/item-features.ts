/**
 * Per-item features from train events.
 *
 * popularity_stability: split [first train ts, cutoff] into K equal windows (an event at the cutoff
 * falls in the last one) and take the coefficient of variation (population std / mean) of the item's
 * per-window event counts, empty windows included. 0 = perfectly even over the train period; large =
 * bursty or new. Computed from exact integer sums: sqrt(K·Σc² − (Σc)²) / Σc. NULL when the train
 * period has zero length.
 *
 * exposure_concentration: share of the item's events that come from its top 10% of users
 * (ceil(n_users / 10) users, ranked by event count, ties by user_id). 1 = one user (or a handful)
 * drives the item; ≈ 0.1 = spread evenly over many users.
 */
import * as path from "node:path";
import { quoteIdent } from "../data/duck";
import { dbl, DAY_SECONDS, EVENT_ORDER, RATED, windowName, type BuiltTable, type FeatureContext } from "./manifest";

/** File name of the item feature table. */
export const ITEM_FEATURES_FILE = "item_features.parquet";

/** Share of top users in exposure_concentration (as ceil(n_users · share) computed in integers). */
export const TOP_USER_SHARE = 0.1;

/** Descriptions of the item features (the recent-share windows depend on the context). */
export function itemFeatureDescriptions(ctx: FeatureContext): Record<string, string> {
  const d: Record<string, string> = {
    popularity: "number of train events",
    n_users: "number of distinct users",
    rating_count: "number of events carrying a rating",
    rating_mean: "mean rating (NULL when unrated)",
    rating_std: "population standard deviation of ratings (NULL when unrated)",
    popularity_stability: `coefficient of variation of the item's event counts over ${ctx.stabilityWindows} equal windows spanning [first train ts, cutoff] (0 = even; NULL for a zero-length period)`,
    exposure_concentration: "share of the item's events from its top 10% users (ceil(n_users/10) users by event count, ties by user_id)",
    first_seen_days: "days from the item's first train event to the cutoff",
    last_seen_days: "days from the item's last train event to the cutoff",
  };
  for (const w of ctx.windowsDays) d[`recent_share_${windowName(w)}`] = `share of the item's events with ts in (cutoff − ${w} days, cutoff]`;
  return d;
}

/** Builds `item_features.parquet` (one row per item seen in train, ordered by item_id). */
export async function buildItemFeatures(ctx: FeatureContext): Promise<BuiltTable> {
  const t = quoteIdent(ctx.train);
  const now = ctx.now;
  const K = ctx.stabilityWindows;
  const span = now - ctx.t0;
  const d = itemFeatureDescriptions(ctx);
  const recent = ctx.windowsDays.map(
    (w) => `CAST(count(*) FILTER (WHERE ts > ${now} - ${dbl(w * DAY_SECONDS)}) AS DOUBLE) / count(*) AS recent_share_${windowName(w)}`,
  );
  const stability =
    span > 0
      ? `sqrt(CAST(${K} * st.s2 - st.tot * st.tot AS DOUBLE)) / st.tot`
      : "CAST(NULL AS DOUBLE)";
  const sql = `
    WITH base AS (
      SELECT item_id,
        count(*) AS popularity,
        count(DISTINCT user_id) AS n_users,
        ${recent.join(",\n        ")}${recent.length ? "," : ""}
        count(*) FILTER (WHERE ${RATED}) AS rating_count,
        list(rating ORDER BY user_id, ${EVENT_ORDER}) FILTER (WHERE ${RATED}) AS r,
        (${now} - min(ts)) / 86400.0 AS first_seen_days,
        (${now} - max(ts)) / 86400.0 AS last_seen_days
      FROM ${t} GROUP BY item_id),
    win AS (
      SELECT item_id, LEAST(${K - 1}, (ts - ${ctx.t0}) * ${K} // ${Math.max(span, 1)}) AS w, count(*) AS c
      FROM ${t} GROUP BY ALL),
    st AS (SELECT item_id, sum(c) AS tot, sum(c * c) AS s2 FROM win GROUP BY item_id),
    uc AS (
      SELECT item_id, user_id, count(*) AS c,
        row_number() OVER (PARTITION BY item_id ORDER BY count(*) DESC, user_id) AS rk,
        count(*) OVER (PARTITION BY item_id) AS nu
      FROM ${t} GROUP BY item_id, user_id),
    conc AS (SELECT item_id, sum(c) FILTER (WHERE rk <= (nu + 9) // 10) AS top FROM uc GROUP BY item_id)
    SELECT base.item_id, popularity, n_users,
      ${ctx.windowsDays.map((w) => `recent_share_${windowName(w)}`).join(", ")}${ctx.windowsDays.length ? "," : ""}
      rating_count, list_avg(r) AS rating_mean, list_stddev_pop(r) AS rating_std,
      ${stability} AS popularity_stability,
      CAST(conc.top AS DOUBLE) / popularity AS exposure_concentration,
      first_seen_days, last_seen_days
    FROM base JOIN st USING (item_id) JOIN conc USING (item_id)
    ORDER BY base.item_id`;
  const rows = await ctx.db.copyToParquet(sql, path.join(ctx.outDir, ITEM_FEATURES_FILE));
  return { table: "item", file: ITEM_FEATURES_FILE, key: ["item_id"], rows, descriptions: d };
}
