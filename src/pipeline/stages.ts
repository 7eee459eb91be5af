import * as fs from "node:fs";
import * as path from "node:path";
import { genericEventsSource, syntheticSource } from "../data/events";
import { ingestDataset } from "../data/ingest";
import { movieLensSource } from "../data/movielens";
import type { DatasetSource } from "../data/source";
import { generateWorld, validateWorldConfig, writeWorld } from "../data/synthetic";
import { buildFeatures } from "../features";
import { splitInteractions, type SplitOptions } from "../split";
import { writeFileAtomic } from "../util/atomic";
import { NtgError } from "../util/errors";
import { stableStringify } from "../util/stable-json";
import { resolvePath, toUnixSeconds, type NtgConfig } from "./config";
import type { Stage, StageContext, StageResult } from "./runner";

/** The run directory layout (the seed project's, kept so notebooks and users find things). */
export function runLayout(runDir: string) {
  const processed = path.join(runDir, "data", "processed");
  const splits = path.join(processed, "splits");
  return {
    world: path.join(runDir, "data", "world"),
    processed,
    interactions: path.join(processed, "interactions.parquet"),
    users: path.join(processed, "users.parquet"),
    items: path.join(processed, "items.parquet"),
    revenue: path.join(processed, "revenue.parquet"),
    quarantine: path.join(processed, "quarantine.parquet"),
    ingestReport: path.join(processed, "ingest_report.json"),
    splits,
    train: path.join(splits, "train.parquet"),
    splitMetadata: path.join(splits, "metadata.json"),
    features: path.join(runDir, "data", "features"),
    outputs: path.join(runDir, "outputs"),
    figures: path.join(runDir, "reports", "figures"),
  };
}

/** The dataset source the config describes. */
export function datasetSource(ctx: StageContext): DatasetSource {
  const c = ctx.loaded.config.dataset;
  if (c.source === "synthetic") return syntheticSource(runLayout(ctx.runDir).world);
  const p = resolvePath(ctx.loaded, c.path as string);
  if (c.source === "movielens") return movieLensSource(p, c.movielens.variant === "auto" ? undefined : (c.movielens.variant as never));
  const e = c.events;
  return genericEventsSource({
    path: p,
    format: e.format,
    delimiter: e.delimiter,
    header: e.header,
    encoding: e.encoding,
    columns: e.columns,
    timestampUnit: e.timestamp_unit,
    idType: e.id_type,
    itemsPath: e.items_path ? resolvePath(ctx.loaded, e.items_path) : null,
  });
}

function worldConfig(cfg: NtgConfig) {
  return validateWorldConfig({ seed: cfg.seed, ...cfg.dataset.synthetic });
}

/** Raw files a source reads (hashed to decide reruns). */
function sourceFiles(ctx: StageContext): string[] {
  const c = ctx.loaded.config.dataset;
  if (c.source === "synthetic") {
    const raw = path.join(runLayout(ctx.runDir).world, "raw");
    return ["events.parquet", "items.parquet", "users.parquet", "payments.parquet"].map((f) => path.join(raw, f));
  }
  const src = datasetSource(ctx);
  const files = [src.events.path];
  const dir = path.dirname(src.events.path);
  for (const f of ["u.item", "u.user", "movies.dat", "users.dat", "movies.csv", "tags.csv", "tags.dat"]) {
    if (c.source === "movielens" && fs.existsSync(path.join(dir, f))) files.push(path.join(dir, f));
  }
  if (c.source === "events" && c.events.items_path) files.push(resolvePath(ctx.loaded, c.events.items_path));
  return files;
}

const generate: Stage = {
  name: "generate",
  description: "simulate the synthetic streaming world (raw logs + ground truth)",
  dependsOn: [],
  trainOnly: null,
  applies: (ctx) => ctx.loaded.config.dataset.source === "synthetic",
  configSlice: (ctx) => ({ source: ctx.loaded.config.dataset.source, world: ctx.loaded.config.dataset.source === "synthetic" ? worldConfig(ctx.loaded.config) : null }),
  inputs: () => [],
  async run(ctx, db): Promise<StageResult> {
    const cfg = ctx.loaded.config;
    if (cfg.dataset.source !== "synthetic") {
      return { outputs: [], rows: {}, timeRange: { min: null, max: null }, details: { skipped: `dataset.source is ${cfg.dataset.source}` } };
    }
    const world = generateWorld(worldConfig(cfg), { logger: ctx.logger });
    const written = await writeWorld(world, runLayout(ctx.runDir).world, db);
    const files = Object.values(written.files).sort();
    return {
      outputs: files,
      rows: { events: world.events.length, payments: world.payments.length, users: world.users.length, items: world.items.length },
      timeRange: { min: null, max: null },
      details: {},
    };
  },
};

const validate: Stage = {
  name: "validate",
  description: "validate raw events; write canonical Parquet and quarantine bad rows",
  dependsOn: ["generate"],
  trainOnly: null,
  configSlice: (ctx) => ({ dataset: ctx.loaded.config.dataset, validation: ctx.loaded.config.validation }),
  inputs: sourceFiles,
  async run(ctx, db) {
    const cfg = ctx.loaded.config;
    const L = runLayout(ctx.runDir);
    const source = datasetSource(ctx);
    const v = cfg.validation;
    // A fixed "now" keeps reruns deterministic: the synthetic world's end, else the newest raw file's mtime.
    const report = await ingestDataset(
      db,
      source,
      {
        ratingRange: v.rating_range,
        maxBadFraction: v.max_bad_fraction,
        maxFutureSeconds: v.max_future_seconds,
        minTs: toUnixSeconds(v.min_timestamp),
        dropDuplicates: v.drop_duplicates,
        nowTs: referenceNow(sourceFiles(ctx)),
      },
      L.processed,
      ctx.logger,
    );
    const reportForJson = { ...report, file: path.relative(ctx.loaded.baseDir, report.file), files: relativize(ctx.runDir, report.files) };
    writeFileAtomic(L.ingestReport, stableStringify(reportForJson));
    return {
      outputs: [...Object.values(report.files), L.ingestReport],
      rows: { read: report.read, kept: report.kept, quarantined: report.quarantined, users: report.users, items: report.items },
      timeRange: report.timeRange,
      details: { quarantine_by_reason: report.quarantineByReason, timestamp_unit: report.timestampUnit, warnings: report.warnings },
    };
  },
};

const buildDataset: Stage = {
  name: "build-dataset",
  description: "positive rule, k-core, chronological split and leakage check",
  dependsOn: ["validate"],
  trainOnly: null,
  configSlice: (ctx) => ({ split: ctx.loaded.config.split, seed: ctx.loaded.config.seed }),
  inputs: (ctx) => [runLayout(ctx.runDir).interactions],
  async run(ctx, db) {
    const L = runLayout(ctx.runDir);
    const meta = await splitInteractions(db, splitOptions(ctx.loaded.config, L.interactions, L.splits));
    for (const w of meta.warnings) ctx.logger.warn("split.warning", { message: w });
    writeFileAtomic(L.splitMetadata, stableStringify({ ...meta, input: path.relative(ctx.runDir, meta.input) }));
    const outputs = Object.values(meta.parts).map((p) => path.join(L.splits, p.file));
    const rows: Record<string, number> = {};
    for (const [k, p] of Object.entries(meta.parts)) rows[k] = p.rows;
    const train = meta.parts.train;
    return {
      outputs: [...outputs, L.splitMetadata],
      rows,
      // the split reads everything by design; train's own range is what later stages are held to
      timeRange: { min: null, max: null },
      details: { strategy: meta.strategy, leakage_safe: meta.leakage_safe, train_max_ts: train.time_range.max, warnings: meta.warnings },
    };
  },
};

const buildFeaturesStage: Stage = {
  name: "build-features",
  description: "user, item and interaction features from TRAIN only",
  dependsOn: ["build-dataset"],
  trainOnly: true,
  configSlice: (ctx) => ({ features: ctx.loaded.config.features }),
  inputs: (ctx) => [runLayout(ctx.runDir).train, runLayout(ctx.runDir).items],
  async run(ctx, db) {
    const L = runLayout(ctx.runDir);
    const f = ctx.loaded.config.features;
    const manifest = await buildFeatures(db, {
      train: L.train,
      items: L.items,
      outDir: L.features,
      windowsDays: f.windows_days,
      halfLifeDays: f.decay_half_life_days,
      stabilityWindows: f.stability_windows,
    });
    return {
      outputs: manifest.files.map((x: string) => (path.isAbsolute(x) ? x : path.join(L.features, x))),
      rows: manifest.rows,
      timeRange: manifest.time_range,
      details: { cutoff: manifest.cutoff, features: manifest.features.length },
    };
  },
};

/** Data stages, in pipeline order (the taste stages follow in stages-taste.ts). */
export const DATA_STAGES: Stage[] = [generate, validate, buildDataset, buildFeaturesStage];

/** Maps the config's `split:` section onto the splitter's options. */
export function splitOptions(cfg: NtgConfig, input: string, outDir: string): SplitOptions {
  const s = cfg.split;
  const opts: SplitOptions = {
    input,
    outDir,
    strategy: s.strategy,
    seed: cfg.seed,
    positive: s.min_rating !== null ? { min_rating: s.min_rating } : undefined,
    kcore: s.kcore.users || s.kcore.items ? { users: s.kcore.users, items: s.kcore.items } : undefined,
    short_users: s.small_users,
  };
  switch (s.strategy) {
    case "per_user_chronological":
      opts.fractions = s.fractions;
      opts.min_user_interactions = s.min_user_interactions;
      break;
    case "global_time":
      if (s.cutoffs.val_start === null || s.cutoffs.test_start === null) {
        throw new NtgError("split.strategy global_time needs split.cutoffs.val_start and split.cutoffs.test_start (ISO dates or unix seconds)");
      }
      opts.val_start = s.cutoffs.val_start;
      opts.test_start = s.cutoffs.test_start;
      break;
    case "leave_last_out":
      opts.leave_out_val = s.leave_out_val;
      break;
    case "strong_generalization":
      if (s.heldout.users >= 1) opts.n_heldout_users = Math.round(s.heldout.users);
      else opts.heldout_user_fraction = s.heldout.users;
      opts.foldin_fraction = s.heldout.fold_in;
      opts.foldin_order = s.heldout.foldin_order;
      break;
    case "random":
      opts.fractions = s.fractions;
      opts.group_by_user = s.random.group_by_user;
      break;
  }
  return opts;
}

function relativize(runDir: string, files: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(files)) out[k] = path.relative(runDir, v);
  return out;
}

/** "Now" for future-timestamp checks: the newest input file's modification time, so reruns agree. */
function referenceNow(files: string[]): number {
  let t = 0;
  for (const f of files) if (fs.existsSync(f)) t = Math.max(t, fs.statSync(f).mtimeMs);
  return Math.floor((t || Date.now()) / 1000);
}
