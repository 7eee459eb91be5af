/**
 * Option and metadata types for train/val/test splitting. Keys are snake_case because they map
 * one-to-one onto the `split:` section of a config file and onto `split_metadata.json`.
 */
import type { TimeRange } from "../data/schema";

/** How interactions are divided into train / val / test. */
export type SplitStrategy = "per_user_chronological" | "global_time" | "leave_last_out" | "strong_generalization" | "random";

/** All strategies, for validation and CLI help. */
export const SPLIT_STRATEGIES: readonly SplitStrategy[] = [
  "per_user_chronological",
  "global_time",
  "leave_last_out",
  "strong_generalization",
  "random",
];

/**
 * Which events count as positive feedback. Applied (as a filter) before k-core and splitting.
 * With no field set, every event is kept.
 */
export interface PositiveRule {
  /** keep rated events with rating ≥ this; unrated events are kept unless `require_rating` */
  min_rating?: number;
  /** drop events without a rating */
  require_rating?: boolean;
  /** keep only these event types (e.g. ["purchase", "rating"]) */
  event_types?: string[];
}

/** Iterated k-core filter: drop users with < `users` and items with < `items` events until nothing changes. */
export interface KCoreOptions {
  /** minimum events per user (0 or absent: no user constraint) */
  users?: number;
  /** minimum events per item (0 or absent: no item constraint) */
  items?: number;
  /** count every event ("events", default) or distinct counterparts ("distinct") */
  count?: "events" | "distinct";
}

/** Fractions of each user's (or all) interactions per part; must sum to 1. */
export interface SplitFractions {
  train: number;
  val: number;
  test: number;
}

/** What happens to users with fewer than `min_user_interactions` events. */
export type ShortUserAction = "train" | "drop";

/** Options of `splitInteractions`. Only the keys of the chosen strategy are read; others produce a warning. */
export interface SplitOptions {
  /** canonical interactions.parquet */
  input: string;
  /** directory receiving train/val/test Parquet files */
  outDir: string;
  strategy: SplitStrategy;
  /** positive-feedback filter, applied first */
  positive?: PositiveRule;
  /** k-core filter, applied after the positive rule */
  kcore?: KCoreOptions;
  /** seed for strong_generalization and random (default 0) */
  seed?: number;
  /** per_user_chronological and random (default 0.8 / 0.1 / 0.1) */
  fractions?: SplitFractions;
  /**
   * per-user strategies: users with fewer events are not split but handled by `short_users`.
   * Defaults: per_user_chronological 1 + number of non-empty holdout parts, leave_last_out 3 (2 without val),
   * strong_generalization 2, random with group_by_user 1 + number of non-empty holdout parts.
   */
  min_user_interactions?: number;
  /** users below `min_user_interactions`: kept whole in train (default) or dropped (counted either way) */
  short_users?: ShortUserAction;
  /** global_time: start of val, unix seconds or ISO date/time (UTC when no zone is given) */
  val_start?: number | string;
  /** global_time: start of test, unix seconds or ISO date/time (UTC when no zone is given) */
  test_start?: number | string;
  /** leave_last_out: also hold out the second-to-last event as val (default true) */
  leave_out_val?: boolean;
  /** strong_generalization: number of held-out users for val and again for test */
  n_heldout_users?: number;
  /** strong_generalization: fraction of eligible users held out for val and again for test (alternative to n_heldout_users) */
  heldout_user_fraction?: number;
  /** strong_generalization: share of a held-out user's events given as fold-in (default 0.8) */
  foldin_fraction?: number;
  /** strong_generalization: pick fold-in events at random (default, as Liang et al. 2018) or the earliest ones */
  foldin_order?: "random" | "chronological";
  /** random: shuffle within each user (true) or globally (false, default) */
  group_by_user?: boolean;
}

/** Size and time span of one written part. */
export interface PartStats {
  /** file name inside outDir */
  file: string;
  rows: number;
  users: number;
  items: number;
  time_range: TimeRange;
}

/** Row/user/item counts after each filtering step. */
export interface FilterStats {
  input_rows: number;
  input_users: number;
  input_items: number;
  /** rows removed by the positive rule */
  positive_removed_rows: number;
  kcore: KCoreStats | null;
  /** rows removed because their user was below min_user_interactions with short_users = "drop" */
  short_user_removed_rows: number;
  /** what is finally split (the union of the parts) */
  split_rows: number;
  split_users: number;
  split_items: number;
}

/** What the iterated k-core filter removed. */
export interface KCoreStats {
  /** filter passes run, including the final pass that removed nothing */
  iterations: number;
  rows_removed: number;
  users_removed: number;
  items_removed: number;
}

/** Users below the min-interaction threshold: counted, never silent. */
export interface ShortUserStats {
  threshold: number;
  action: ShortUserAction;
  users: number;
  rows: number;
}

/** The rules a split was made with, as resolved (defaults filled in). */
export interface SplitRules {
  positive: PositiveRule | null;
  kcore: KCoreOptions | null;
  seed: number | null;
  fractions: SplitFractions | null;
  min_user_interactions: number | null;
  short_users: ShortUserAction | null;
  /** global_time cutoffs in unix seconds and ISO form */
  cutoffs: { val_start: number; test_start: number; val_start_iso: string; test_start_iso: string } | null;
  leave_out_val: boolean | null;
  /** strong_generalization: held-out users per part, as finally used */
  n_heldout_users: number | null;
  /** strong_generalization: the fraction n_heldout_users was derived from, when given as a fraction */
  heldout_user_fraction: number | null;
  foldin_fraction: number | null;
  foldin_order: "random" | "chronological" | null;
  group_by_user: boolean | null;
  /** human-readable rounding rule of the strategy */
  rounding: string;
}

/** Users/items of an evaluation part that never occur in train (cold start), per part. */
export interface ColdStartStats {
  val_users_not_in_train: number;
  test_users_not_in_train: number;
  val_items_not_in_train: number;
  test_items_not_in_train: number;
}

/** Result of the leakage checks. Failing checks throw, so every listed check passed. */
export interface LeakageReport {
  strategy: SplitStrategy;
  /** false only for `random`, whose val/test may precede train events */
  leakage_safe: boolean;
  /** names of the checks that ran and passed */
  checks: string[];
  notes: string[];
}

/** What `splitInteractions` returns; the caller writes it as JSON. */
export interface SplitMetadata {
  strategy: SplitStrategy;
  leakage_safe: boolean;
  input: string;
  rules: SplitRules;
  filtering: FilterStats;
  short_users: ShortUserStats | null;
  /** keyed by part name: train, val, test (+ val_foldin, val_holdout, test_foldin, test_holdout) */
  parts: Record<string, PartStats>;
  cold_start: ColdStartStats;
  leakage: LeakageReport;
  warnings: string[];
}
