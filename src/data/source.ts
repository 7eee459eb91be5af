/**
 * How raw event files are described before ingestion. Every source (MovieLens, a generic CSV or
 * Parquet log, the synthetic world) is reduced to an `EventFileSpec`; ingestion then validates
 * all of them the same way.
 */

/** Canonical event fields a raw file may provide. `user`, `item`, `timestamp` are required. */
export type CanonicalField = "user" | "item" | "timestamp" | "rating" | "weight" | "revenue" | "event_type";

/** Raw column name for each canonical field present in the file. */
export type ColumnMapping = Partial<Record<CanonicalField, string>> & { user: string; item: string; timestamp: string };

/** Timestamp encodings accepted at ingestion. `auto` tells seconds from milliseconds by magnitude. */
export type TimestampUnit = "s" | "ms" | "us" | "iso" | "auto";

/** A delimited text file (CSV, TSV, `::`-separated). */
export interface DelimitedFormat {
  kind: "delimited";
  /** field separator, up to 4 characters (e.g. ",", "\t", "::", "|") */
  delimiter: string;
  /** whether the first line is a header */
  header: boolean;
  /** column names: the expected header, or the names to give a headerless file */
  columns: string[];
  encoding?: "utf-8" | "latin-1";
  /** quote character ('' for none) */
  quote?: string;
}

/** A Parquet file. */
export interface ParquetFormat {
  kind: "parquet";
}

/** One raw event file and how to read it. */
export interface EventFileSpec {
  /** path of the file */
  path: string;
  format: DelimitedFormat | ParquetFormat;
  mapping: ColumnMapping;
  timestampUnit: TimestampUnit;
  /** ids must be integers (MovieLens) or any string */
  idType: "integer" | "string";
  /** inclusive rating range; ratings outside go to quarantine */
  ratingRange?: [number, number];
  /** constant event type for files that carry none (e.g. "rating") */
  defaultEventType?: string;
}

/** Column spec for a dimension table read from a raw file. */
export interface DimensionTables {
  /**
   * SQL producing item attributes keyed by the raw item id:
   * `item_key VARCHAR, title VARCHAR, genres VARCHAR[], release_year INTEGER`.
   */
  itemsSql?: string;
  /**
   * SQL producing user attributes keyed by the raw user id:
   * `user_key VARCHAR` plus any demographic columns (gender, age, occupation, zip, ...).
   */
  usersSql?: string;
  /**
   * SQL producing free-text tags users applied to items:
   * `user_key VARCHAR, item_key VARCHAR, tag VARCHAR, ts BIGINT` (seconds).
   */
  tagsSql?: string;
}

/** Everything ingestion needs to know about a dataset. */
export interface DatasetSource {
  /** short name used in manifests and output folders (e.g. "ml-100k", "synthetic") */
  name: string;
  events: EventFileSpec;
  dimensions: DimensionTables;
  /** optional revenue/payments file: `user_key, ts (seconds), amount, kind` */
  revenueSql?: string;
}
