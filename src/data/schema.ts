/**
 * The canonical tables every stage after ingestion reads. Dense integer ids start at 0;
 * original ids live on in the `user_key`/`item_key` columns of the dimension tables.
 */

/** Column types of `interactions.parquet` and the split files. */
export const INTERACTION_COLUMNS = {
  user_id: "INTEGER",
  item_id: "INTEGER",
  ts: "BIGINT",
  rating: "DOUBLE",
  weight: "DOUBLE",
  revenue: "DOUBLE",
  event_type: "VARCHAR",
  event_idx: "BIGINT",
} as const;

/** The canonical row order: tie-breaks every sort in NTG the same way. */
export const INTERACTION_ORDER = "user_id, ts, item_id, event_idx";

/** Column types of `quarantine.parquet`. */
export const QUARANTINE_COLUMNS = {
  file: "VARCHAR",
  line: "BIGINT",
  column: "VARCHAR",
  value: "VARCHAR",
  reason: "VARCHAR",
  raw: "VARCHAR",
} as const;

/** Interactions held in memory as typed arrays (one array per column). */
export interface InteractionArrays {
  userId: Int32Array;
  itemId: Int32Array;
  /** unix seconds */
  ts: Float64Array;
  /** NaN where the event has no rating */
  rating: Float64Array;
  weight: Float64Array;
  length: number;
}

/** Min/max event time an artifact was built from (unix seconds), recorded for leakage checks. */
export interface TimeRange {
  min: number | null;
  max: number | null;
}
