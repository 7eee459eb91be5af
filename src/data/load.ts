import { Duck, parquet } from "./duck";
import type { InteractionArrays, TimeRange } from "./schema";

/**
 * Loads an interactions/split Parquet file into typed arrays (columnar, no row objects) in the
 * canonical order. Ratings are NaN where absent.
 */
export async function loadInteractionArrays(db: Duck, file: string, where = "TRUE"): Promise<InteractionArrays & { timeRange: TimeRange }> {
  const cols = await db.columns(`SELECT user_id, item_id, ts, rating, weight FROM ${parquet(file)} WHERE ${where}`, {
    user_id: "i32",
    item_id: "i32",
    ts: "f64",
    rating: "f64",
    weight: "f64",
  });
  let min = Infinity;
  let max = -Infinity;
  const ts = cols.ts;
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    if (t < min) min = t;
    if (t > max) max = t;
  }
  return {
    userId: cols.user_id,
    itemId: cols.item_id,
    ts,
    rating: cols.rating,
    weight: cols.weight,
    length: cols.length,
    timeRange: cols.length ? { min, max } : { min: null, max: null },
  };
}
