/**
 * Feature building from TRAIN only: the train split (and optionally the items dimension, which
 * carries no event times) is the only input, and "now" is the train cutoff. The manifest records
 * the time range read so later stages can `assertReadWithin` it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Duck } from "../data/duck";
import { parquet, quoteIdent } from "../data/duck";
import { ConfigError, LeakageError, NtgError } from "../util/errors";
import { isoOf, parseCutoff } from "../split/options";
import { buildInteractionFeaturesFast, buildItemFeaturesFast, buildUserFeaturesFast, loadTrainArrays } from "./fast";
import { buildInteractionFeatures } from "./interaction-features";
import { buildItemFeatures, TOP_USER_SHARE } from "./item-features";
import { describeTable, writeFeatureManifest, type BuiltTable, type FeatureContext, type FeatureManifest, type FeatureOptions, type FeatureSpec } from "./manifest";
import { buildUserFeatures } from "./user-features";

export * from "./manifest";
export { buildUserFeatures, USER_FEATURES_FILE } from "./user-features";
export { buildItemFeatures, ITEM_FEATURES_FILE, TOP_USER_SHARE } from "./item-features";
export { buildInteractionFeatures, INTERACTION_FEATURES_FILE } from "./interaction-features";

const T = "__ntg_feat_";

function resolveParams(opts: FeatureOptions) {
  const windowsDays = opts.windowsDays ?? [7, 30];
  if (!Array.isArray(windowsDays) || windowsDays.some((w) => typeof w !== "number" || !Number.isFinite(w) || w <= 0)) {
    throw new ConfigError("features.windows_days", `must be a list of positive numbers, got ${JSON.stringify(windowsDays)}`);
  }
  if (new Set(windowsDays).size !== windowsDays.length) throw new ConfigError("features.windows_days", "must not repeat a window");
  const halfLifeDays = opts.halfLifeDays ?? 30;
  if (!(Number.isFinite(halfLifeDays) && halfLifeDays > 0)) throw new ConfigError("features.decay_half_life_days", `must be > 0, got ${halfLifeDays}`);
  const stabilityWindows = opts.stabilityWindows ?? 4;
  if (!Number.isInteger(stabilityWindows) || stabilityWindows < 2) {
    throw new ConfigError("features.stability_windows", `must be an integer ≥ 2, got ${stabilityWindows}`);
  }
  return { windowsDays: [...windowsDays], halfLifeDays, stabilityWindows };
}

/**
 * Builds user_features.parquet, item_features.parquet and interaction_features.parquet in
 * `outDir` from the train split only, writes feature_manifest.json, and returns the manifest.
 * Throws `LeakageError` if an explicit cutoff is earlier than a train event. Byte-deterministic.
 */
export async function buildFeatures(db: Duck, opts: FeatureOptions): Promise<FeatureManifest> {
  const params = resolveParams(opts);
  if (!fs.existsSync(opts.train)) throw new NtgError(`features: train split not found: ${opts.train}`);
  if (opts.items !== undefined && !fs.existsSync(opts.items)) throw new NtgError(`features: items dimension not found: ${opts.items}`);
  const train = `${T}train`;
  const genres = `${T}item_genres`;
  const scratch: string[] = [];
  try {
    await db.run(
      `CREATE OR REPLACE TABLE ${quoteIdent(train)} AS SELECT user_id, item_id, ts, rating, event_idx FROM ${parquet(opts.train)}`,
    );
    const range = await db.one<{ n: bigint; mn: bigint | null; mx: bigint | null }>(`SELECT count(*) AS n, min(ts) AS mn, max(ts) AS mx FROM ${quoteIdent(train)}`);
    if (Number(range.n) === 0 || range.mn === null || range.mx === null) throw new NtgError(`features: ${opts.train} has no events`);
    const t0 = Number(range.mn);
    const tMax = Number(range.mx);
    const now = opts.cutoff === undefined ? tMax : parseCutoff(opts.cutoff, "features.cutoff");
    if (now < tMax) {
      throw new LeakageError(`features: cutoff ${now} (${isoOf(now)}) is earlier than the last train event ${tMax} (${isoOf(tMax)}); features would look past "now"`);
    }
    let itemGenres: string | null = null;
    if (opts.items !== undefined) {
      // Distinct (item, genre) pairs so a duplicated dimension row cannot double-count a genre.
      await db.run(
        `CREATE OR REPLACE TABLE ${quoteIdent(genres)} AS
         SELECT DISTINCT item_id, genre FROM (SELECT item_id, unnest(genres) AS genre FROM ${parquet(opts.items)}) WHERE genre IS NOT NULL`,
      );
      itemGenres = genres;
    }
    fs.mkdirSync(opts.outDir, { recursive: true });
    const ctx: FeatureContext = { db, train, itemGenres, outDir: opts.outDir, now, t0, ...params };
    // One pass over the events in canonical order when the train table allows it (always for
    // splits written by splitInteractions); the SQL builders otherwise. Both give the same bytes.
    const arrays = await loadTrainArrays(ctx);
    let built: BuiltTable[];
    if (arrays) {
      const users = await buildUserFeaturesFast(ctx, arrays, scratch);
      built = [users.built, await buildItemFeaturesFast(ctx, arrays, scratch), await buildInteractionFeaturesFast(ctx, arrays, users.mean, scratch)];
    } else {
      built = [await buildUserFeatures(ctx), await buildItemFeatures(ctx), await buildInteractionFeatures(ctx)];
    }
    const features: FeatureSpec[] = [];
    for (const b of built) features.push(...(await describeTable(db, opts.outDir, b)));
    const tables = Object.fromEntries(built.map((b) => [b.table, { file: b.file, key: b.key, rows: b.rows }])) as FeatureManifest["tables"];
    const manifest: FeatureManifest = {
      version: 1,
      train: path.relative(opts.outDir, opts.train),
      items: opts.items === undefined ? null : path.relative(opts.outDir, opts.items),
      cutoff: now,
      cutoff_iso: isoOf(now),
      time_range: { min: t0, max: tMax },
      params: {
        windows_days: params.windowsDays,
        half_life_days: params.halfLifeDays,
        stability_windows: params.stabilityWindows,
        top_user_share: TOP_USER_SHARE,
      },
      files: [...built.map((b) => b.file), "feature_manifest.json"],
      rows: Object.fromEntries(built.map((b) => [b.file, b.rows])),
      tables,
      features,
    };
    writeFeatureManifest(opts.outDir, manifest);
    return manifest;
  } finally {
    await db.run(`DROP TABLE IF EXISTS ${quoteIdent(train)}; DROP TABLE IF EXISTS ${quoteIdent(genres)}`);
    for (const t of scratch) await db.run(`DROP TABLE IF EXISTS ${quoteIdent(t)}`);
  }
}
