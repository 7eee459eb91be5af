/**
 * Runs the pipeline from a notebook: load a config, apply the notebook's parameters, run the
 * stages up to a target (skipping fresh ones, exactly like `ntg <stage>`), and hand back where
 * the canonical files are.
 */
import * as path from "node:path";
import { loadConfig, type LoadedConfig } from "../pipeline/config";
import { runStages, type StageOutcome } from "../pipeline/runner";
import { runLayout } from "../pipeline/stages";
import { STAGES } from "../pipeline/registry";
import { Logger, type LogLevel } from "../util/log";

/** Pipeline stages a notebook can ask for. */
export type PipelineTarget = "generate" | "validate" | "build-dataset" | "build-features";

/** Options for {@link prepareDataset}. */
export interface PrepareDatasetOptions {
  /** overrides the config's seed (a notebook parameter) */
  seed?: number;
  /** run directory; default the config's (runs/<name>). Relative paths resolve against the working directory. */
  runDir?: string;
  /** last stage to run (default "build-dataset") */
  target?: PipelineTarget;
  /** further `key.path=value` overrides, as with `ntg --set` */
  set?: string[];
  /** rerun stages even when fresh */
  force?: boolean;
  /** log level (default "warn"); lines go to stdout, so a notebook doesn't show routine warnings as errors */
  logLevel?: LogLevel;
  /** working directory the config path is relative to (default: the process's, i.e. the notebook folder in tslab) */
  cwd?: string;
}

/** The canonical files of a prepared dataset, and how the run went. */
export interface PreparedDataset {
  /** dataset name: the config's `name` (names experiments/<name>/) */
  name: string;
  seed: number;
  /** absolute config file */
  configFile: string | null;
  runDir: string;
  loaded: LoadedConfig;
  files: {
    interactions: string;
    users: string;
    items: string;
    revenue: string;
    quarantine: string;
    ingestReport: string;
    train: string;
    val: string;
    test: string;
    splitMetadata: string;
    features: string;
  };
  /** per stage: ran or skipped, seconds */
  stages: Array<Pick<StageOutcome, "stage" | "status" | "seconds" | "rows" | "warnings">>;
}

/** Loads `config`, applies seed/run-dir overrides and runs the pipeline up to `target`. */
export async function prepareDataset(config: string, opts: PrepareDatasetOptions = {}): Promise<PreparedDataset> {
  const cwd = opts.cwd ?? process.cwd();
  const sets = [...(opts.set ?? [])];
  if (opts.seed !== undefined) sets.push(`seed=${opts.seed}`);
  const loaded = loadConfig(config, sets, cwd);
  // Set after loading: a path is not reliably a YAML scalar (e.g. "C:\..." or one with ": ").
  if (opts.runDir) loaded.runDir = path.resolve(cwd, opts.runDir);
  const logger = new Logger({ level: opts.logLevel ?? "warn", sink: (line) => process.stdout.write(`${line}\n`) }).child({ run: loaded.config.name });
  const outcomes = await runStages({ loaded, runDir: loaded.runDir, logger }, STAGES, [opts.target ?? "build-dataset"], { force: opts.force, logger });
  const L = runLayout(loaded.runDir);
  return {
    name: loaded.config.name,
    seed: loaded.config.seed,
    configFile: loaded.file,
    runDir: loaded.runDir,
    loaded,
    files: {
      interactions: L.interactions,
      users: L.users,
      items: L.items,
      revenue: L.revenue,
      quarantine: L.quarantine,
      ingestReport: L.ingestReport,
      train: L.train,
      val: path.join(L.splits, "val.parquet"),
      test: path.join(L.splits, "test.parquet"),
      splitMetadata: L.splitMetadata,
      features: L.features,
    },
    stages: outcomes.map((o) => ({ stage: o.stage, status: o.status, seconds: o.seconds, rows: o.rows, warnings: o.warnings })),
  };
}
