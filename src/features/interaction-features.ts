/** Per-event features of train interactions, keyed by event_idx. */
import * as path from "node:path";
import { quoteIdent } from "../data/duck";
import { INTERACTION_ORDER } from "../data/schema";
import { decaySql, EVENT_ORDER, RATED, type BuiltTable, type FeatureContext } from "./manifest";

/** File name of the interaction feature table. */
export const INTERACTION_FEATURES_FILE = "interaction_features.parquet";

/** Descriptions of the interaction features. */
export function interactionFeatureDescriptions(ctx: FeatureContext): Record<string, string> {
  return {
    rating_norm: "rating minus the user's mean train rating (NaN when the event is unrated)",
    recency_weight: `2^(−age/${ctx.halfLifeDays} days), age = cutoff − ts`,
    repeat_index: "how many times the user consumed this item before this event (canonical order)",
    is_repeat: "repeat_index > 0",
  };
}

/** Builds `interaction_features.parquet` (one row per train event, canonical order). */
export async function buildInteractionFeatures(ctx: FeatureContext): Promise<BuiltTable> {
  const t = quoteIdent(ctx.train);
  const d = interactionFeatureDescriptions(ctx);
  // The user mean is computed exactly as user_features.rating_mean (same ordered list), so the two agree bit for bit.
  const sql = `
    WITH um AS (
      SELECT user_id, list_avg(list(rating ORDER BY ${EVENT_ORDER}) FILTER (WHERE ${RATED})) AS m FROM ${t} GROUP BY user_id),
    ev AS (
      SELECT t.user_id, t.item_id, t.ts, t.event_idx,
        CASE WHEN ${RATED.replace(/rating/g, "t.rating")} THEN t.rating - um.m ELSE CAST('NaN' AS DOUBLE) END AS rating_norm,
        ${decaySql(ctx, "t.ts")} AS recency_weight,
        row_number() OVER (PARTITION BY t.user_id, t.item_id ORDER BY t.ts, t.event_idx) - 1 AS repeat_index
      FROM ${t} t JOIN um USING (user_id))
    SELECT user_id, item_id, ts, event_idx, rating_norm, recency_weight, repeat_index, repeat_index > 0 AS is_repeat
    FROM ev ORDER BY ${INTERACTION_ORDER}`;
  const rows = await ctx.db.copyToParquet(sql, path.join(ctx.outDir, INTERACTION_FEATURES_FILE));
  return { table: "interaction", file: INTERACTION_FEATURES_FILE, key: ["user_id", "item_id", "ts", "event_idx"], rows, descriptions: d };
}
