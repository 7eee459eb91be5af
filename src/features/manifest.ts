/** Feature options, the shared build context, and the feature manifest. */
import * as path from "node:path";
import type { Duck } from "../data/duck";
import { parquet } from "../data/duck";
import type { TimeRange } from "../data/schema";
import { writeFileAtomic } from "../util/atomic";
import { stableStringify } from "../util/stable-json";

/** Options of `buildFeatures`. */
export interface FeatureOptions {
  /** train.parquet of a split (canonical columns); nothing else is read except `items` */
  train: string;
  /** optional items dimension with `item_id INTEGER, genres VARCHAR[]` (enables genre features) */
  items?: string;
  /** directory receiving the three feature tables and feature_manifest.json */
  outDir: string;
  /** "now" in unix seconds or ISO; default the max train ts. Must not be earlier than any train event. */
  cutoff?: number | string;
  /** activity windows in days (default [7, 30]) */
  windowsDays?: number[];
  /** half-life in days of the recency decay (default 30) */
  halfLifeDays?: number;
  /** number K of equal windows over the train period for popularity_stability (default 4) */
  stabilityWindows?: number;
}

/** Which table a feature lives in. */
export type FeatureTable = "user" | "item" | "interaction";

/** One feature column as described in the manifest. */
export interface FeatureSpec {
  name: string;
  table: FeatureTable;
  /** DuckDB type of the written column (e.g. BIGINT, DOUBLE, BOOLEAN) */
  dtype: string;
  description: string;
}

/** One written feature table. */
export interface FeatureTableInfo {
  file: string;
  /** key columns (not features) */
  key: string[];
  rows: number;
}

/** What `buildFeatures` returns and writes as feature_manifest.json. */
export interface FeatureManifest {
  version: 1;
  /** train file relative to outDir (relative so manifests of identical runs in different folders match) */
  train: string;
  items: string | null;
  /** "now" of every age/recency feature, unix seconds */
  cutoff: number;
  cutoff_iso: string;
  /** min/max ts actually read (the train file); for `assertReadWithin` */
  time_range: TimeRange;
  params: { windows_days: number[]; half_life_days: number; stability_windows: number; top_user_share: number };
  /** files written, relative to outDir (feature_manifest.json included) */
  files: string[];
  /** rows per table file name */
  rows: Record<string, number>;
  tables: Record<FeatureTable, FeatureTableInfo>;
  features: FeatureSpec[];
}

/** Everything a table builder needs: the train relation and resolved parameters. */
export interface FeatureContext {
  db: Duck;
  /** table holding the train events (user_id, item_id, ts, rating, event_idx) */
  train: string;
  /** table of distinct (item_id, genre) pairs, or null without an items dimension */
  itemGenres: string | null;
  outDir: string;
  now: number;
  /** min train ts */
  t0: number;
  windowsDays: number[];
  halfLifeDays: number;
  stabilityWindows: number;
}

/** A table builder's result: its file, row count and feature descriptions (dtype filled in later). */
export interface BuiltTable {
  table: FeatureTable;
  file: string;
  key: string[];
  rows: number;
  descriptions: Record<string, string>;
}

/** Canonical order inside a user, used for every order-dependent aggregate. */
export const EVENT_ORDER = "ts, item_id, event_idx";
/** SQL: the event carries a usable rating (NaN treated as missing). */
export const RATED = "(rating IS NOT NULL AND NOT isnan(rating))";
/** Seconds per day. */
export const DAY_SECONDS = 86400;

/** Column name suffix for a window: 7 → "7d", 0.5 → "0p5d". */
export function windowName(days: number): string {
  return `${String(days).replace(".", "p")}d`;
}

/** SQL for the recency weight 2^(−age/half_life) of an event at `ts`. */
export function decaySql(ctx: FeatureContext, ts = "ts"): string {
  return `pow(2.0, -(${ctx.now} - ${ts}) / ${dbl(DAY_SECONDS * ctx.halfLifeDays)})`;
}

/** A JS number as a DOUBLE literal (handles fractions and exponents). */
export function dbl(x: number): string {
  return `CAST(${String(x)} AS DOUBLE)`;
}

/** Fills each feature's dtype from the written Parquet file's schema, in column order. */
export async function describeTable(db: Duck, outDir: string, t: BuiltTable): Promise<FeatureSpec[]> {
  const cols = await db.rows<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${parquet(path.join(outDir, t.file))}`);
  const specs: FeatureSpec[] = [];
  for (const c of cols) {
    if (t.key.includes(c.column_name)) continue;
    const description = t.descriptions[c.column_name];
    if (description === undefined) throw new Error(`feature '${c.column_name}' of ${t.table} has no description`);
    specs.push({ name: c.column_name, table: t.table, dtype: c.column_type, description });
  }
  return specs;
}

/** Writes the manifest as stable JSON, atomically. */
export function writeFeatureManifest(outDir: string, manifest: FeatureManifest): string {
  const file = path.join(outDir, "feature_manifest.json");
  writeFileAtomic(file, stableStringify(manifest));
  return file;
}
