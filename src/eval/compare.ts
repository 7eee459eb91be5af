/**
 * Comparison table of several models evaluated on the same users: per metric, each model's mean
 * with a bootstrap CI, and for each pair the paired difference with its CI, paired t-test and
 * Wilcoxon p-values and Holm-adjusted p-values. Written as `ranking_metrics.json` with stable JSON.
 */
import { holmBonferroni } from "../experiment/multiple";
import { writeFileAtomic } from "../util/atomic";
import { InputError } from "../util/errors";
import { stableStringify } from "../util/stable-json";
import { bootstrapMean, pairedBootstrap, type Interval } from "./paired";
import type { RankingMetricsResult } from "./ranking-metrics";

/** The conventional file name of the serialized table. */
export const RANKING_METRICS_FILE = "ranking_metrics.json";

/** A named model's per-user metrics (a `ModelEvaluation` spread with a name fits). */
export interface NamedRun {
  name: string;
  metrics: RankingMetricsResult;
}

/** Options of {@link compareModels}. */
export interface CompareOptions {
  /** `metric@K` keys to compare (default: every key of the first run) */
  metrics?: readonly string[];
  nBoot?: number;
  level?: number;
  seed?: number | string;
  /** which p-value is reported as `p` and Holm-adjusted (default "t") */
  test?: "t" | "wilcoxon";
  /** compare every pair (default) or each model against this baseline only */
  baseline?: string;
  /** users must match exactly (default), or the comparison uses the users common to all runs */
  align?: "exact" | "intersection";
  /** Holm family: the pairs of one metric (default) or every (metric, pair) test together */
  family?: "metric" | "all";
}

/** One model's summary on one metric. */
export interface ModelSummary {
  mean: number;
  standardError: number;
  percentile: Interval;
  basic: Interval;
  bca: Interval;
}

/** One pair on one metric: difference = B − A. */
export interface PairRow {
  a: string;
  b: string;
  difference: number;
  standardError: number;
  percentile: Interval;
  basic: Interval;
  bca: Interval;
  p_t: number;
  p_wilcoxon: number;
  /** the p-value selected by `test` */
  p: number;
  /** Holm (1979) step-down adjusted `p` within the family */
  p_holm: number;
}

/** The comparison table. */
export interface ComparisonTable {
  models: string[];
  n_users: number;
  /** users dropped by `align: "intersection"` (per model) */
  users_dropped: Record<string, number>;
  level: number;
  n_boot: number;
  seed: number | string;
  test: "t" | "wilcoxon";
  holm_family: "metric" | "all";
  /** metric key → per-model summaries and pair rows */
  metrics: Record<string, { models: Record<string, ModelSummary>; pairs: PairRow[] }>;
}

/** Each run's row positions for the common user list (ascending user id). */
function align(runs: readonly NamedRun[], mode: "exact" | "intersection"): { users: Int32Array; pos: Int32Array[]; dropped: Record<string, number> } {
  const maps = runs.map((r) => {
    const m = new Map<number, number>();
    r.metrics.perUser.users.forEach((u, i) => m.set(u, i));
    if (m.size !== r.metrics.perUser.users.length) throw new InputError(`compareModels: run '${r.name}' lists a user more than once`);
    return m;
  });
  let common = [...maps[0].keys()];
  for (let j = 1; j < runs.length; j++) {
    const next = common.filter((u) => maps[j].has(u));
    const differs = next.length !== common.length || next.length !== maps[j].size;
    if (differs && mode === "exact") {
      throw new InputError(
        `compareModels: '${runs[j].name}' was evaluated on ${maps[j].size} users, '${runs[0].name}' on ${maps[0].size}, ${next.length} in common; paired comparison needs the same users (or align: "intersection")`,
      );
    }
    common = next;
  }
  if (common.length < 2) throw new InputError(`compareModels: only ${common.length} user(s) in common`);
  common.sort((x, y) => x - y);
  const users = Int32Array.from(common);
  const dropped: Record<string, number> = {};
  const pos = runs.map((r, j) => {
    dropped[r.name] = maps[j].size - users.length;
    return Int32Array.from(users, (u) => maps[j].get(u)!);
  });
  return { users, pos, dropped };
}

function gather(values: Float64Array, pos: Int32Array): Float64Array {
  const out = new Float64Array(pos.length);
  for (let i = 0; i < pos.length; i++) out[i] = values[pos[i]];
  return out;
}

/**
 * Builds the comparison table: bootstrap CIs (percentile, basic, BCa; Efron & Tibshirani 1993) of
 * each model's mean, paired bootstrap CIs of every pair's difference, paired t and Wilcoxon p-values,
 * and Holm (1979) adjusted p-values (reusing `holmBonferroni`). Each (metric, model/pair) gets its own
 * seeded stream, so adding a model does not change the other rows.
 */
export function compareModels(runs: readonly NamedRun[], opts: CompareOptions = {}): ComparisonTable {
  if (runs.length < 1) throw new InputError("compareModels: no runs");
  const names = runs.map((r) => r.name);
  if (new Set(names).size !== names.length) throw new InputError(`compareModels: duplicate model names (${names.join(", ")})`);
  const keys = opts.metrics ? [...opts.metrics] : Object.keys(runs[0].metrics.perUser.values);
  for (const r of runs) for (const k of keys) if (!r.metrics.perUser.values[k]) throw new InputError(`compareModels: run '${r.name}' has no metric '${k}'`);
  if (opts.baseline !== undefined && !names.includes(opts.baseline)) throw new InputError(`compareModels: baseline '${opts.baseline}' is not one of ${names.join(", ")}`);
  const test = opts.test ?? "t";
  const family = opts.family ?? "metric";
  const seed = opts.seed ?? 0;
  const { users, pos, dropped } = align(runs, opts.align ?? "exact");
  const boot = { nBoot: opts.nBoot ?? 2000, level: opts.level ?? 0.95 };

  const pairs: [number, number][] = [];
  if (opts.baseline !== undefined) {
    const bi = names.indexOf(opts.baseline);
    for (let j = 0; j < runs.length; j++) if (j !== bi) pairs.push([bi, j]);
  } else {
    for (let i = 0; i < runs.length; i++) for (let j = i + 1; j < runs.length; j++) pairs.push([i, j]);
  }

  const metrics: ComparisonTable["metrics"] = {};
  for (const key of keys) {
    const cols = runs.map((r, j) => gather(r.metrics.perUser.values[key], pos[j]));
    const models: Record<string, ModelSummary> = {};
    runs.forEach((r, j) => {
      const b = bootstrapMean(cols[j], { ...boot, seed: `${seed}:${key}:${r.name}` });
      models[r.name] = { mean: b.estimate, standardError: b.standardError, percentile: b.percentile, basic: b.basic, bca: b.bca };
    });
    const rows: PairRow[] = pairs.map(([i, j]) => {
      const c = pairedBootstrap(cols[i], cols[j], { ...boot, seed: `${seed}:${key}:${names[i]}:${names[j]}` });
      const p = test === "t" ? c.tTest.pValue : c.wilcoxon.pValue;
      return {
        a: names[i],
        b: names[j],
        difference: c.difference.estimate,
        standardError: c.difference.standardError,
        percentile: c.difference.percentile,
        basic: c.difference.basic,
        bca: c.difference.bca,
        p_t: c.tTest.pValue,
        p_wilcoxon: c.wilcoxon.pValue,
        p,
        p_holm: Number.NaN,
      };
    });
    if (family === "metric" && rows.length) {
      const adj = holmBonferroni(rows.map((r) => r.p));
      rows.forEach((r, i) => (r.p_holm = adj[i]));
    }
    metrics[key] = { models, pairs: rows };
  }
  if (family === "all") {
    const all = keys.flatMap((k) => metrics[k].pairs);
    if (all.length) {
      const adj = holmBonferroni(all.map((r) => r.p));
      all.forEach((r, i) => (r.p_holm = adj[i]));
    }
  }
  return {
    models: names,
    n_users: users.length,
    users_dropped: dropped,
    level: boot.level,
    n_boot: boot.nBoot,
    seed,
    test,
    holm_family: family,
    metrics,
  };
}

/** Writes the table atomically as stable JSON (sorted keys, rounded numbers); returns the text. */
export function writeComparison(table: ComparisonTable, target: string, extra: Record<string, unknown> = {}): string {
  const text = stableStringify({ ...extra, ...table });
  writeFileAtomic(target, text);
  return text;
}
