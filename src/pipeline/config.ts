import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { ConfigError } from "../util/errors";
import { checkAgainstSpec, type FieldSpec } from "./schema-check";
import { defaultExperimentConfig, EXPERIMENT_CONFIG_SPEC, type ExperimentConfig } from "../experiment/config";
import { CHURN_CONFIG_SPEC, defaultChurnConfig, type ChurnConfig } from "../churn/config";

/** Where the events come from. */
export type DatasetSourceKind = "synthetic" | "movielens" | "events";
/** Split strategies (see src/split). */
export type SplitStrategyName = "per_user_chronological" | "global_time" | "leave_last_out" | "strong_generalization" | "random";

/** The whole NTG configuration, as validated from YAML. */
export interface NtgConfig {
  /** run name; the run directory defaults to runs/<name> */
  name: string;
  seed: number;
  /** run directory (relative to the config's project root); null → runs/<name> */
  run_dir: string | null;
  dataset: {
    source: DatasetSourceKind;
    /** MovieLens folder, or the events file (CSV/Parquet) */
    path: string | null;
    movielens: { variant: string };
    events: {
      format: "auto" | "csv" | "parquet";
      delimiter: string;
      header: boolean;
      encoding: "utf-8" | "latin-1";
      columns: { user: string; item: string; timestamp: string; rating: string | null; weight: string | null; revenue: string | null; event_type: string | null };
      timestamp_unit: "auto" | "s" | "ms" | "us" | "iso";
      id_type: "string" | "integer";
      /** optional item attributes file (CSV/Parquet with item, title, genres) */
      items_path: string | null;
    };
    /** synthetic world parameters, validated by the simulator (src/data/synthetic) */
    synthetic: Record<string, unknown>;
  };
  validation: {
    /** inclusive [min, max]; null = the dataset's own (MovieLens) or no check */
    rating_range: [number, number] | null;
    /** fraction of bad rows above which ingestion fails instead of quarantining */
    max_bad_fraction: number;
    /** events later than now + this many seconds are quarantined as future-dated */
    max_future_seconds: number;
    /** earliest plausible timestamp (ISO or unix seconds) */
    min_timestamp: string | number;
    /** quarantine exact duplicates of (user, item, timestamp) */
    drop_duplicates: boolean;
  };
  split: {
    strategy: SplitStrategyName;
    /** e.g. 4 keeps ratings ≥ 4 as positives; null keeps every event */
    min_rating: number | null;
    kcore: { users: number; items: number };
    min_user_interactions: number;
    /** what to do with users below min_user_interactions */
    small_users: "train" | "drop";
    fractions: { train: number; val: number; test: number };
    cutoffs: { val_start: string | number | null; test_start: string | number | null };
    /** leave_last_out: also hold out the second-to-last positive as val */
    leave_out_val: boolean;
    /** strong_generalization: held-out users per part (count if ≥ 1, else a fraction of users) */
    heldout: { users: number; fold_in: number; foldin_order: "random" | "chronological" };
    random: { group_by_user: boolean };
  };
  features: { windows_days: number[]; decay_half_life_days: number; stability_windows: number };
  /** item–item taste graph (TRAIN only) */
  graph: {
    similarity: "cosine" | "jaccard" | "conditional";
    top_k: number;
    min_support: number;
    min_cooccurrence: number;
    min_similarity: number;
    /** a heavy user's history is truncated to their most recent N distinct items */
    power_user_cap: number;
    shrinkage: number;
  };
  /** taste axes and embedding models */
  embeddings: {
    genre_axes: number;
    item_axes: number;
    /** models fitted and saved (registry kinds) */
    models: string[];
    /** per-kind model config, e.g. { ials: { factors: 64 } } */
    params: Record<string, Record<string, unknown>>;
  };
  /** personalised ranking: candidate sources fused into top-K with reasons */
  rank: {
    k: number;
    fusion: "rrf" | "weighted";
    /** candidate sources: "graph", "axes", "popularity" and/or a fitted model kind */
    sources: string[];
    per_source: number;
    /** history items the graph source looks back over */
    recent: number;
    /** MMR diversity trade-off (1 = pure relevance); null = off */
    mmr_lambda: number | null;
  };
  /** offline evaluation: full-catalogue ranking on val and test */
  evaluate: {
    ks: number[];
    relevance: "binary" | "rating";
    n_boot: number;
    /** evaluate the fused ranker too */
    ranker: boolean;
    /** exclude each user's val items from the test ranking; null = the strategy's default (true for leave_last_out only). RecBole's protocol masks them. */
    mask_val_at_test: boolean | null;
  };
  /** hyper-parameter search on val (`ntg tune`) */
  tune: {
    models: string[];
    method: "grid" | "random";
    trials: number;
    metric: string;
    /** per-kind search space overriding the built-in one: { ease: { lambda: [100, 500] } } */
    spaces: Record<string, Record<string, unknown>>;
  };
  /** churn labels, models, lifetime value, revenue at risk and interventions (`ntg score-users`) */
  churn: ChurnConfig;
  /** experiment design, analysis and simulation (`ntg experiment`) */
  experiment: ExperimentConfig;
  runtime: { threads: number; memory_limit: string | null };
}

const num = (o: Partial<Extract<FieldSpec, { kind: "number" }>> = {}): FieldSpec => ({ kind: "number", ...o });
const str = (o: Partial<Extract<FieldSpec, { kind: "string" }>> = {}): FieldSpec => ({ kind: "string", ...o });
const bool: FieldSpec = { kind: "boolean" };
const obj = (fields: Record<string, FieldSpec>): FieldSpec => ({ kind: "object", fields });

/** The schema every config is checked against (unknown keys are errors). */
export const CONFIG_SPEC: FieldSpec = obj({
  extends: str(),
  name: str(),
  seed: num({ integer: true, min: 0 }),
  run_dir: str({ nullable: true }),
  dataset: obj({
    source: str({ oneOf: ["synthetic", "movielens", "events"] }),
    path: str({ nullable: true }),
    movielens: obj({ variant: str({ oneOf: ["auto", "ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m", "ml-latest", "ml-latest-small"] }) }),
    events: obj({
      format: str({ oneOf: ["auto", "csv", "parquet"] }),
      delimiter: str(),
      header: bool,
      encoding: str({ oneOf: ["utf-8", "latin-1"] }),
      columns: obj({
        user: str(),
        item: str(),
        timestamp: str(),
        rating: str({ nullable: true }),
        weight: str({ nullable: true }),
        revenue: str({ nullable: true }),
        event_type: str({ nullable: true }),
      }),
      timestamp_unit: str({ oneOf: ["auto", "s", "ms", "us", "iso"] }),
      id_type: str({ oneOf: ["string", "integer"] }),
      items_path: str({ nullable: true }),
    }),
    synthetic: { kind: "any" },
  }),
  validation: obj({
    rating_range: { kind: "array", of: num(), length: 2, nullable: true },
    max_bad_fraction: num({ min: 0, max: 1 }),
    max_future_seconds: num({ min: 0 }),
    min_timestamp: { kind: "time" },
    drop_duplicates: bool,
  }),
  split: obj({
    strategy: str({ oneOf: ["per_user_chronological", "global_time", "leave_last_out", "strong_generalization", "random"] }),
    min_rating: num({ nullable: true }),
    kcore: obj({ users: num({ integer: true, min: 0 }), items: num({ integer: true, min: 0 }) }),
    min_user_interactions: num({ integer: true, min: 1 }),
    small_users: str({ oneOf: ["train", "drop"] }),
    fractions: obj({ train: num({ min: 0, max: 1 }), val: num({ min: 0, max: 1 }), test: num({ min: 0, max: 1 }) }),
    cutoffs: obj({ val_start: { kind: "time", nullable: true }, test_start: { kind: "time", nullable: true } }),
    leave_out_val: bool,
    heldout: obj({
      users: num({ min: 0 }),
      fold_in: num({ min: 0, max: 1 }),
      foldin_order: str({ oneOf: ["random", "chronological"] }),
    }),
    random: obj({ group_by_user: bool }),
  }),
  features: obj({
    windows_days: { kind: "array", of: num({ min: 1 }) },
    decay_half_life_days: num({ min: 0.001 }),
    stability_windows: num({ integer: true, min: 2 }),
  }),
  graph: obj({
    similarity: str({ oneOf: ["cosine", "jaccard", "conditional"] }),
    top_k: num({ integer: true, min: 1 }),
    min_support: num({ integer: true, min: 1 }),
    min_cooccurrence: num({ integer: true, min: 1 }),
    min_similarity: num({ min: 0 }),
    power_user_cap: num({ integer: true, min: 2 }),
    shrinkage: num({ min: 0 }),
  }),
  embeddings: obj({
    genre_axes: num({ integer: true, min: 1 }),
    item_axes: num({ integer: true, min: 1 }),
    models: { kind: "array", of: str({ oneOf: ["popularity", "itemknn", "ials", "bpr", "ease", "puresvd"] }) },
    params: { kind: "any" },
  }),
  rank: obj({
    k: num({ integer: true, min: 1 }),
    fusion: str({ oneOf: ["rrf", "weighted"] }),
    sources: { kind: "array", of: str() },
    per_source: num({ integer: true, min: 1 }),
    recent: num({ integer: true, min: 1 }),
    mmr_lambda: num({ nullable: true, min: 0, max: 1 }),
  }),
  evaluate: obj({
    ks: { kind: "array", of: num({ integer: true, min: 1 }) },
    relevance: str({ oneOf: ["binary", "rating"] }),
    n_boot: num({ integer: true, min: 100 }),
    ranker: bool,
    mask_val_at_test: { kind: "boolean", nullable: true },
  }),
  tune: obj({
    models: { kind: "array", of: str({ oneOf: ["popularity", "itemknn", "ials", "bpr", "ease", "puresvd"] }) },
    method: str({ oneOf: ["grid", "random"] }),
    trials: num({ integer: true, min: 1 }),
    metric: str(),
    spaces: { kind: "any" },
  }),
  churn: CHURN_CONFIG_SPEC,
  experiment: EXPERIMENT_CONFIG_SPEC,
  runtime: obj({ threads: num({ integer: true, min: 0 }), memory_limit: str({ nullable: true }) }),
});

/** Built-in defaults; a config file only states what differs. */
export function defaultConfig(): NtgConfig {
  return {
    name: "default",
    seed: 42,
    run_dir: null,
    dataset: {
      source: "synthetic",
      path: null,
      movielens: { variant: "auto" },
      events: {
        format: "auto",
        delimiter: ",",
        header: true,
        encoding: "utf-8",
        columns: { user: "user_id", item: "item_id", timestamp: "timestamp", rating: null, weight: null, revenue: null, event_type: null },
        timestamp_unit: "auto",
        id_type: "string",
        items_path: null,
      },
      synthetic: {},
    },
    validation: {
      rating_range: null,
      max_bad_fraction: 0.05,
      max_future_seconds: 86_400,
      min_timestamp: "1990-01-01",
      drop_duplicates: true,
    },
    split: {
      strategy: "per_user_chronological",
      min_rating: null,
      kcore: { users: 0, items: 0 },
      min_user_interactions: 3,
      small_users: "train",
      fractions: { train: 0.8, val: 0.1, test: 0.1 },
      cutoffs: { val_start: null, test_start: null },
      leave_out_val: true,
      heldout: { users: 0.1, fold_in: 0.8, foldin_order: "random" },
      random: { group_by_user: false },
    },
    features: { windows_days: [7, 30], decay_half_life_days: 30, stability_windows: 4 },
    graph: { similarity: "cosine", top_k: 50, min_support: 2, min_cooccurrence: 2, min_similarity: 0, power_user_cap: 500, shrinkage: 0 },
    embeddings: { genre_axes: 5, item_axes: 5, models: ["popularity", "itemknn", "ials", "ease"], params: {} },
    rank: { k: 20, fusion: "rrf", sources: ["graph", "ials", "axes", "popularity"], per_source: 100, recent: 10, mmr_lambda: null },
    evaluate: { ks: [10, 20, 50], relevance: "binary", n_boot: 1000, ranker: true, mask_val_at_test: null },
    tune: { models: ["itemknn", "ials", "ease"], method: "random", trials: 8, metric: "ndcg@10", spaces: {} },
    churn: defaultChurnConfig(),
    experiment: defaultExperimentConfig(),
    runtime: { threads: 0, memory_limit: null },
  };
}

/** A loaded config plus where it came from. */
export interface LoadedConfig {
  config: NtgConfig;
  /** the config file (null when built from defaults) */
  file: string | null;
  /** the folder paths in the config are relative to (the project root: the config's parent's parent when it sits in configs/) */
  baseDir: string;
  /** absolute run directory */
  runDir: string;
}

/** Loads a YAML config (following `extends:`), applies `--set` overrides and validates it. */
export function loadConfig(file: string | null, overrides: string[] = [], cwd = process.cwd()): LoadedConfig {
  let merged: Record<string, unknown> = {};
  let abs: string | null = null;
  if (file) {
    abs = path.resolve(cwd, file);
    merged = readWithExtends(abs, new Set());
  }
  for (const o of overrides) applySet(merged, o);
  const base = defaultConfig() as unknown as Record<string, unknown>;
  checkAgainstSpec(merged, CONFIG_SPEC, "", abs ?? undefined);
  delete merged.extends;
  const config = deepMerge(base, merged) as unknown as NtgConfig;
  if (!merged.name && abs) config.name = path.basename(abs).replace(/\.ya?ml$/, "");
  crossCheck(config, abs ?? undefined);
  const baseDir = abs ? projectRootFor(abs) : cwd;
  const runDir = path.resolve(baseDir, config.run_dir ?? path.join("runs", config.name));
  return { config, file: abs, baseDir, runDir };
}

/** Parses `key.path=value` (value as YAML) into the config object. */
export function applySet(target: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new ConfigError(assignment, "--set expects key.path=value");
  const keyPath = assignment.slice(0, eq).trim();
  const raw = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = YAML.parse(raw);
  } catch {
    value = raw;
  }
  if (value === undefined) value = null;
  const keys = keyPath.split(".");
  let cur: Record<string, unknown> = target;
  for (const k of keys.slice(0, -1)) {
    if (typeof cur[k] !== "object" || cur[k] === null || Array.isArray(cur[k])) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]] = value;
}

function readWithExtends(file: string, seen: Set<string>): Record<string, unknown> {
  if (seen.has(file)) throw new ConfigError("extends", `circular extends through ${file}`);
  seen.add(file);
  if (!fs.existsSync(file)) throw new ConfigError("(file)", `config file not found: ${file}`);
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new ConfigError("(file)", `invalid YAML: ${(e as Error).message}`, file);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new ConfigError("(root)", "a config must be a YAML mapping", file);
  const own = doc as Record<string, unknown>;
  checkAgainstSpec(own, CONFIG_SPEC, "", file);
  if (typeof own.extends === "string") {
    const parent = readWithExtends(path.resolve(path.dirname(file), own.extends), seen);
    const rest = { ...own };
    delete rest.extends;
    return deepMerge(parent, rest);
  }
  return own;
}

/** Deep merge: mappings merge key by key, everything else (lists included) replaces. */
export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const av = out[k];
    if (v && typeof v === "object" && !Array.isArray(v) && av && typeof av === "object" && !Array.isArray(av)) {
      out[k] = deepMerge(av as Record<string, unknown>, v as Record<string, unknown>);
    } else {
      out[k] = v;
    }
  }
  return out;
}

function crossCheck(c: NtgConfig, file?: string): void {
  if (c.dataset.source !== "synthetic" && !c.dataset.path) {
    throw new ConfigError("dataset.path", `required when dataset.source is '${c.dataset.source}'`, file);
  }
  const f = c.split.fractions;
  if (Math.abs(f.train + f.val + f.test - 1) > 1e-9) {
    throw new ConfigError("split.fractions", `train + val + test must be 1, got ${f.train + f.val + f.test}`, file);
  }
  if (c.split.strategy === "global_time" && (c.split.cutoffs.val_start === null || c.split.cutoffs.test_start === null)) {
    // resolved later from the data (quantiles) when left null; nothing to check here
  }
  if (c.validation.rating_range && c.validation.rating_range[0] > c.validation.rating_range[1]) {
    throw new ConfigError("validation.rating_range", "min must be <= max", file);
  }
}

/** A config in <root>/configs/x.yaml has <root> as its base; elsewhere, its own folder. */
function projectRootFor(file: string): string {
  const dir = path.dirname(file);
  return path.basename(dir) === "configs" ? path.dirname(dir) : dir;
}

/** Resolves a path from the config against its base folder. */
export function resolvePath(loaded: LoadedConfig, p: string): string {
  return path.resolve(loaded.baseDir, p);
}

/** Unix seconds from an ISO string or a number of seconds. */
export function toUnixSeconds(v: string | number): number {
  return typeof v === "number" ? v : Math.floor(Date.parse(v) / 1000);
}
