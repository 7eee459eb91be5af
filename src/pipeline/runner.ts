import * as fs from "node:fs";
import * as path from "node:path";
import { Duck } from "../data/duck";
import type { TimeRange } from "../data/schema";
import { cleanStaleTemps } from "../util/atomic";
import { LeakageError, NtgError } from "../util/errors";
import { hashValue } from "../util/hash";
import type { Logger } from "../util/log";
import { VERSION } from "../version";
import type { LoadedConfig } from "./config";
import { hashFiles, readManifest, writeManifest, type StageManifest } from "./manifest";

/** Everything a stage needs: the config, its run directory, a logger. */
export interface StageContext {
  loaded: LoadedConfig;
  runDir: string;
  logger: Logger;
}

/** What a stage reports back after running. */
export interface StageResult {
  outputs: string[];
  rows: Record<string, number>;
  timeRange: TimeRange;
  details: Record<string, unknown>;
}

/** One pipeline stage: a typed function from files to files, with declared dependencies. */
export interface Stage {
  name: string;
  description: string;
  dependsOn: string[];
  /** the part of the config that determines this stage's outputs */
  configSlice(ctx: StageContext): unknown;
  /** files read; their hashes decide whether the stage must rerun */
  inputs(ctx: StageContext): string[];
  /** true for stages after the split: they may read training data only */
  trainOnly: boolean | null;
  /** true for a stage that may read val but never test (tuning); audited by {@link auditNoTest} */
  noTest?: boolean;
  /** false when the stage does not apply to this config (e.g. generate for real data) */
  applies?(ctx: StageContext): boolean;
  run(ctx: StageContext, db: Duck): Promise<StageResult>;
}

/** How one stage went in a pipeline run. */
export interface StageOutcome {
  stage: string;
  status: "ran" | "skipped";
  seconds: number;
  rows: Record<string, number>;
  outputs: string[];
  warnings: string[];
}

export interface RunOptions {
  force?: boolean;
  logger: Logger;
}

/** Stages needed for `targets`, dependencies first, in registry order. */
export function planStages(registry: Stage[], targets: string[]): Stage[] {
  const byName = new Map(registry.map((s) => [s.name, s]));
  const needed = new Set<string>();
  const visit = (n: string): void => {
    const s = byName.get(n);
    if (!s) throw new NtgError(`unknown stage '${n}'`);
    if (needed.has(n)) return;
    needed.add(n);
    s.dependsOn.forEach(visit);
  };
  targets.forEach(visit);
  return registry.filter((s) => needed.has(s.name));
}

/**
 * Runs `targets` and whatever they depend on. A stage whose config slice, input hashes and
 * output hashes match its last manifest is skipped; `force` reruns everything planned. Writes
 * are atomic, and temp files left by an interrupted run are removed first.
 */
export async function runStages(ctx: StageContext, registry: Stage[], targets: string[], opts: RunOptions): Promise<StageOutcome[]> {
  fs.mkdirSync(ctx.runDir, { recursive: true });
  const stale = cleanStaleTemps(ctx.runDir);
  if (stale > 0) opts.logger.warn("run.cleaned_temp_files", { count: stale, reason: "left by an interrupted run" });
  const plan = planStages(registry, targets).filter((s) => !s.applies || s.applies(ctx));
  const outcomes: StageOutcome[] = [];
  for (const stage of plan) {
    const log = opts.logger.child({ stage: stage.name });
    const configHash = hashValue(stage.configSlice(ctx));
    const inputs = stage.inputs(ctx);
    const missing = inputs.filter((f) => !fs.existsSync(f));
    if (missing.length) throw new NtgError(`stage '${stage.name}': input not found: ${missing.join(", ")}`);
    const inputHashes = hashFiles(ctx.runDir, inputs);
    const prev = readManifest(ctx.runDir, stage.name);
    if (!opts.force && prev && isFresh(ctx.runDir, prev, configHash, inputHashes)) {
      log.info("stage.skipped", { reason: "inputs and config unchanged" });
      outcomes.push({ stage: stage.name, status: "skipped", seconds: 0, rows: prev.rows, outputs: Object.keys(prev.outputs), warnings: [] });
      continue;
    }
    log.info("stage.start", { description: stage.description });
    const t0 = process.hrtime.bigint();
    const db = await Duck.open({ threads: ctx.loaded.config.runtime.threads || undefined, memoryLimit: ctx.loaded.config.runtime.memory_limit ?? undefined });
    let result: StageResult;
    let duckdbVersion = "";
    try {
      duckdbVersion = String(await db.scalar("SELECT version()"));
      result = await stage.run({ ...ctx, logger: log }, db);
    } finally {
      db.close();
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const manifest: StageManifest = {
      stage: stage.name,
      ntg_version: VERSION,
      node_version: process.version,
      duckdb_version: duckdbVersion,
      config_hash: configHash,
      inputs: inputHashes,
      outputs: hashFiles(ctx.runDir, result.outputs),
      rows: result.rows,
      time_range_read: result.timeRange,
      train_only: stage.trainOnly,
      timings: { seconds: Math.round(seconds * 1000) / 1000 },
      details: result.details,
    };
    if (stage.trainOnly) auditTrainOnly(ctx.runDir, manifest);
    if (stage.noTest) auditNoTest(manifest);
    writeManifest(ctx.runDir, manifest);
    const warnings = Array.isArray(result.details.warnings) ? (result.details.warnings as string[]) : [];
    log.info("stage.done", { seconds: manifest.timings.seconds, rows: result.rows });
    outcomes.push({ stage: stage.name, status: "ran", seconds, rows: result.rows, outputs: Object.keys(manifest.outputs), warnings });
  }
  return outcomes;
}

function isFresh(runDir: string, prev: StageManifest, configHash: string, inputs: Record<string, string>): boolean {
  if (prev.ntg_version !== VERSION || prev.config_hash !== configHash) return false;
  if (JSON.stringify(prev.inputs) !== JSON.stringify(inputs)) return false;
  for (const [rel, h] of Object.entries(prev.outputs)) {
    const abs = path.isAbsolute(rel) ? rel : path.join(runDir, rel);
    if (!fs.existsSync(abs)) return false;
    if (hashFiles(runDir, [abs])[rel] !== h) return false;
  }
  return true;
}

/**
 * Fails the run when a val-only stage (tuning) read test data: a test split file among its
 * declared inputs or among the split files it reports having opened (`details.split_files_read`).
 */
export function auditNoTest(m: StageManifest): void {
  const read = Array.isArray(m.details.split_files_read) ? (m.details.split_files_read as string[]) : [];
  const bad = [...Object.keys(m.inputs), ...read].filter((f) => /(^|\/)splits\/test[^/]*\.parquet$/.test(f));
  if (bad.length) throw new LeakageError(`stage '${m.stage}' may read val but read test split files: ${[...new Set(bad)].join(", ")}`);
}

/**
 * Fails the run when a stage downstream of the split read validation or test data: either a
 * val/test split file among its inputs, or event times later than the training data's.
 */
export function auditTrainOnly(runDir: string, m: StageManifest): void {
  const bad = Object.keys(m.inputs).filter((f) => /(^|\/)splits\/(val|test)[^/]*\.parquet$/.test(f));
  if (bad.length) throw new LeakageError(`stage '${m.stage}' read held-out split files: ${bad.join(", ")}`);
  const split = readManifest(runDir, "build-dataset");
  const trainMax = split ? (split.details.train_max_ts as number | undefined) : undefined;
  if (trainMax !== undefined && m.time_range_read.max !== null && m.time_range_read.max > trainMax) {
    throw new LeakageError(
      `stage '${m.stage}' read events up to ${new Date(m.time_range_read.max * 1000).toISOString()}, later than the training data (max ${new Date(trainMax * 1000).toISOString()})`,
    );
  }
}
