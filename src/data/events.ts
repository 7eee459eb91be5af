import * as path from "node:path";
import { sqlString } from "./duck";
import type { ColumnMapping, DatasetSource, EventFileSpec, TimestampUnit } from "./source";

/** Options describing a generic event log (mirrors the config's `dataset.events`). */
export interface GenericEventsOptions {
  path: string;
  format: "auto" | "csv" | "parquet";
  delimiter: string;
  header: boolean;
  encoding: "utf-8" | "latin-1";
  columns: { user: string; item: string; timestamp: string; rating: string | null; weight: string | null; revenue: string | null; event_type: string | null };
  timestampUnit: TimestampUnit;
  idType: "string" | "integer";
  /** optional item attributes: CSV/Parquet with columns item, title, genres ('|'-separated or a list) */
  itemsPath?: string | null;
}

/** Describes a user's own CSV or Parquet event log with a column mapping. */
export function genericEventsSource(opts: GenericEventsOptions): DatasetSource {
  const isParquet = opts.format === "parquet" || (opts.format === "auto" && /\.parquet$/i.test(opts.path));
  const mapping: ColumnMapping = { user: opts.columns.user, item: opts.columns.item, timestamp: opts.columns.timestamp };
  for (const k of ["rating", "weight", "revenue", "event_type"] as const) {
    const c = opts.columns[k];
    if (c) mapping[k] = c;
  }
  const events: EventFileSpec = {
    path: opts.path,
    format: isParquet
      ? { kind: "parquet" }
      : { kind: "delimited", delimiter: opts.delimiter, header: opts.header, columns: Object.values(mapping) as string[], encoding: opts.encoding },
    mapping,
    timestampUnit: opts.timestampUnit,
    idType: opts.idType,
    defaultEventType: "interaction",
  };
  let itemsSql: string | undefined;
  if (opts.itemsPath) {
    const reader = /\.parquet$/i.test(opts.itemsPath)
      ? `read_parquet(${sqlString(opts.itemsPath)})`
      : `read_csv(${sqlString(opts.itemsPath)}, header = true, all_varchar = true)`;
    itemsSql = `SELECT CAST(item AS VARCHAR) AS item_key, CAST(title AS VARCHAR) AS title,
      CASE WHEN typeof(genres) LIKE '%[]' THEN CAST(genres AS VARCHAR[]) ELSE list_filter(string_split(CAST(genres AS VARCHAR), '|'), x -> x <> '') END AS genres,
      TRY_CAST(regexp_extract(CAST(title AS VARCHAR), '\\((\\d{4})\\)\\s*$', 1) AS INTEGER) AS release_year FROM ${reader}`;
  }
  return { name: path.basename(opts.path).replace(/\.[^.]+$/, ""), events, dimensions: { itemsSql } };
}

/** Describes the raw files written by the synthetic world (`writeWorld`): same path as real data. */
export function syntheticSource(worldDir: string): DatasetSource {
  const raw = (f: string) => path.join(worldDir, "raw", f);
  return {
    name: "synthetic",
    events: {
      path: raw("events.parquet"),
      format: { kind: "parquet" },
      mapping: { user: "user", item: "item", timestamp: "timestamp", rating: "rating", weight: "watch_fraction", event_type: "event_type" },
      timestampUnit: "s",
      idType: "integer",
      ratingRange: [0.5, 5],
      defaultEventType: "play",
    },
    dimensions: {
      itemsSql: `SELECT CAST(item AS VARCHAR) AS item_key, title, genres, release_year FROM read_parquet(${sqlString(raw("items.parquet"))})`,
      usersSql: `SELECT CAST("user" AS VARCHAR) AS user_key, signup_ts, plan, monthly_price FROM read_parquet(${sqlString(raw("users.parquet"))})`,
    },
    revenueSql: `SELECT CAST("user" AS VARCHAR) AS user_key, ts, amount, kind FROM read_parquet(${sqlString(raw("payments.parquet"))})`,
  };
}
