/** Validation of split options and resolution of their defaults into the recorded `SplitRules`. */
import { ConfigError } from "../util/errors";
import { isTrivialRule, validatePositiveRule } from "./positive";
import { validateKCore } from "./kcore";
import { SPLIT_STRATEGIES, type SplitFractions, type SplitOptions, type SplitRules } from "./types";

/** Default per-part fractions of the fraction-based strategies. */
export const DEFAULT_FRACTIONS: SplitFractions = { train: 0.8, val: 0.1, test: 0.1 };

/** Keys each strategy reads; any other strategy key that is set produces a warning. */
const STRATEGY_KEYS: Record<string, (keyof SplitOptions)[]> = {
  per_user_chronological: ["fractions", "min_user_interactions", "short_users"],
  global_time: ["val_start", "test_start"],
  leave_last_out: ["leave_out_val", "min_user_interactions", "short_users"],
  strong_generalization: ["seed", "n_heldout_users", "heldout_user_fraction", "foldin_fraction", "foldin_order", "min_user_interactions", "short_users"],
  random: ["seed", "fractions", "group_by_user", "min_user_interactions", "short_users"],
};
// seed, short_users and min_user_interactions are commonly set globally, so only the distinctive
// keys of a strategy warn when set for another one.
const QUIET_KEYS: (keyof SplitOptions)[] = ["seed", "short_users", "min_user_interactions"];
const ALL_STRATEGY_KEYS = [...new Set(Object.values(STRATEGY_KEYS).flat())].filter((k) => !QUIET_KEYS.includes(k));

/**
 * Parses a cutoff given as unix seconds (number or numeric string) or an ISO-8601 date/time.
 * A date/time without a zone is read as UTC, so the result never depends on the machine's timezone.
 */
export function parseCutoff(value: number | string, key: string): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new ConfigError(key, `must be a finite unix time in seconds, got ${value}`);
    return Math.floor(value);
  }
  if (typeof value !== "string") throw new ConfigError(key, "must be unix seconds or an ISO date string");
  const s = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) return Math.floor(Number(s));
  // "YYYY-MM-DD[T ]HH:MM[:SS]" without Z/offset would be local time in JS; pin it to UTC.
  const local = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(:\d{2}(\.\d+)?)?)$/.exec(s);
  const zoned = local ? `${local[1]}T${local[2]}Z` : s;
  const ms = Date.parse(zoned);
  if (Number.isNaN(ms)) throw new ConfigError(key, `cannot parse ${JSON.stringify(value)} as unix seconds or an ISO date`);
  return Math.floor(ms / 1000);
}

/** ISO text of a unix-seconds timestamp (UTC). */
export function isoOf(ts: number): string {
  return new Date(ts * 1000).toISOString();
}

function checkFractions(f: SplitFractions): SplitFractions {
  for (const k of ["train", "val", "test"] as const) {
    const v = f[k];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 1) {
      throw new ConfigError(`split.fractions.${k}`, `must be a number in [0, 1], got ${String(v)}`);
    }
  }
  if (f.train <= 0) throw new ConfigError("split.fractions.train", "must be > 0");
  if (Math.abs(f.train + f.val + f.test - 1) > 1e-9) {
    throw new ConfigError("split.fractions", `train + val + test must be 1, got ${f.train + f.val + f.test}`);
  }
  return { train: f.train, val: f.val, test: f.test };
}

function minUsers(opts: SplitOptions, floor: number): number {
  const v = opts.min_user_interactions ?? floor;
  if (!Number.isInteger(v) || v < floor) {
    throw new ConfigError("split.min_user_interactions", `must be an integer ≥ ${floor} for ${opts.strategy} (one event per non-empty part), got ${String(v)}`);
  }
  return v;
}

function seedOf(opts: SplitOptions): number {
  const s = opts.seed ?? 0;
  if (!Number.isInteger(s)) throw new ConfigError("split.seed", `must be an integer, got ${String(s)}`);
  return s;
}

function shortUsers(opts: SplitOptions) {
  const s = opts.short_users ?? "train";
  if (s !== "train" && s !== "drop") throw new ConfigError("split.short_users", `must be "train" or "drop", got ${String(s)}`);
  return s;
}

const PER_USER_ROUNDING =
  "per user with n events (n ≥ min_user_interactions): n_test = max(1, floor(n·test + 1e-9)) if test > 0 else 0; " +
  "n_val = max(1, floor(n·val + 1e-9)) if val > 0 else 0; each then capped so train keeps ≥ 1 event " +
  "(n_test ≤ n − 1 − [val > 0], n_val ≤ n − 1 − n_test); train gets the rest";

/** Validates options and returns the resolved rules plus warnings about options the strategy ignores. */
export function resolveSplitOptions(opts: SplitOptions): { rules: SplitRules; warnings: string[] } {
  if (!SPLIT_STRATEGIES.includes(opts.strategy)) {
    throw new ConfigError("split.strategy", `must be one of ${SPLIT_STRATEGIES.join(", ")}, got ${String(opts.strategy)}`);
  }
  if (!opts.input) throw new ConfigError("split.input", "is required");
  if (!opts.outDir) throw new ConfigError("split.outDir", "is required");
  if (opts.positive) validatePositiveRule(opts.positive);
  if (opts.kcore) validateKCore(opts.kcore);
  const warnings: string[] = [];
  const used = STRATEGY_KEYS[opts.strategy];
  for (const key of ALL_STRATEGY_KEYS) {
    if (opts[key] !== undefined && !used.includes(key)) warnings.push(`option '${key}' is ignored by strategy ${opts.strategy}`);
  }
  const kc = opts.kcore && ((opts.kcore.users ?? 0) > 1 || (opts.kcore.items ?? 0) > 1) ? { users: opts.kcore.users ?? 0, items: opts.kcore.items ?? 0, count: opts.kcore.count ?? "events" } : null;
  const rules: SplitRules = {
    positive: isTrivialRule(opts.positive) ? null : { ...opts.positive },
    kcore: kc,
    seed: null,
    fractions: null,
    min_user_interactions: null,
    short_users: null,
    cutoffs: null,
    leave_out_val: null,
    n_heldout_users: null,
    heldout_user_fraction: null,
    foldin_fraction: null,
    foldin_order: null,
    group_by_user: null,
    rounding: "",
  };
  switch (opts.strategy) {
    case "per_user_chronological": {
      const f = checkFractions(opts.fractions ?? DEFAULT_FRACTIONS);
      rules.fractions = f;
      rules.min_user_interactions = minUsers(opts, 1 + (f.val > 0 ? 1 : 0) + (f.test > 0 ? 1 : 0));
      rules.short_users = shortUsers(opts);
      rules.rounding = `${PER_USER_ROUNDING}; order within a user is the canonical order (ts, item_id, event_idx)`;
      break;
    }
    case "global_time": {
      if (opts.val_start === undefined) throw new ConfigError("split.val_start", "is required for global_time");
      if (opts.test_start === undefined) throw new ConfigError("split.test_start", "is required for global_time");
      const vs = parseCutoff(opts.val_start, "split.val_start");
      const ts = parseCutoff(opts.test_start, "split.test_start");
      if (vs > ts) throw new ConfigError("split.val_start", `must be ≤ test_start (${isoOf(vs)} > ${isoOf(ts)})`);
      if (vs === ts) warnings.push("val_start equals test_start: val is empty");
      rules.cutoffs = { val_start: vs, test_start: ts, val_start_iso: isoOf(vs), test_start_iso: isoOf(ts) };
      rules.rounding = "ts < val_start → train; val_start ≤ ts < test_start → val; ts ≥ test_start → test";
      break;
    }
    case "leave_last_out": {
      const lov = opts.leave_out_val ?? true;
      rules.leave_out_val = lov;
      rules.min_user_interactions = minUsers(opts, lov ? 3 : 2);
      rules.short_users = shortUsers(opts);
      rules.rounding = "per user in canonical order (ts, item_id, event_idx): last event → test, the one before → val (if leave_out_val), the rest → train";
      break;
    }
    case "strong_generalization": {
      rules.seed = seedOf(opts);
      if (opts.n_heldout_users !== undefined && opts.heldout_user_fraction !== undefined) {
        throw new ConfigError("split.n_heldout_users", "give n_heldout_users or heldout_user_fraction, not both");
      }
      if (opts.n_heldout_users !== undefined && (!Number.isInteger(opts.n_heldout_users) || opts.n_heldout_users < 1)) {
        throw new ConfigError("split.n_heldout_users", `must be a positive integer, got ${String(opts.n_heldout_users)}`);
      }
      const frac = opts.heldout_user_fraction ?? (opts.n_heldout_users === undefined ? 0.1 : undefined);
      if (frac !== undefined && !(frac > 0 && frac < 0.5)) {
        throw new ConfigError("split.heldout_user_fraction", `must be in (0, 0.5), got ${String(frac)}`);
      }
      const ff = opts.foldin_fraction ?? 0.8;
      if (!(ff > 0 && ff < 1)) throw new ConfigError("split.foldin_fraction", `must be in (0, 1), got ${String(ff)}`);
      const order = opts.foldin_order ?? "random";
      if (order !== "random" && order !== "chronological") {
        throw new ConfigError("split.foldin_order", `must be "random" or "chronological", got ${String(order)}`);
      }
      rules.n_heldout_users = opts.n_heldout_users ?? null;
      // The fraction is resolved to a count once the eligible users are known (see strategies.ts).
      rules.heldout_user_fraction = frac ?? null;
      rules.foldin_fraction = ff;
      rules.foldin_order = order;
      rules.min_user_interactions = minUsers(opts, 2);
      rules.short_users = shortUsers(opts);
      rules.rounding =
        "held-out users: n_heldout_users each for val and test (or floor(fraction · eligible users), at least 1), taken from a seeded permutation of users with ≥ min_user_interactions events; " +
        "per held-out user with n events: n_holdout = min(n − 1, max(1, floor(n·(1 − foldin_fraction) + 1e-9))), fold-in gets the rest; " +
        (order === "random" ? "the held-out events are the last n_holdout in a seeded random order of the user's events" : "the held-out events are the user's last n_holdout in canonical order");
      break;
    }
    case "random": {
      const f = checkFractions(opts.fractions ?? DEFAULT_FRACTIONS);
      rules.seed = seedOf(opts);
      rules.fractions = f;
      rules.group_by_user = opts.group_by_user ?? false;
      if (rules.group_by_user) {
        rules.min_user_interactions = minUsers(opts, 1 + (f.val > 0 ? 1 : 0) + (f.test > 0 ? 1 : 0));
        rules.short_users = shortUsers(opts);
        rules.rounding = `${PER_USER_ROUNDING}; order within a user is a seeded random order`;
      } else {
        rules.rounding = "over all N events in a seeded random order: n_test = floor(N·test + 1e-9), n_val = floor(N·val + 1e-9), train gets the rest (first in the order)";
      }
      warnings.push("random split: val/test events may precede train events (temporal leakage); use only to reproduce published benchmarks");
      break;
    }
  }
  return { rules, warnings };
}
