import type { FieldSpec } from "../pipeline/schema-check";
import { checkAgainstSpec } from "../pipeline/schema-check";
import { ConfigError } from "../util/errors";
import type { GuardrailDirection } from "./decision";
import { validateExperimentSpec, type CorrectionMethod, type ExperimentSpec, type MetricType, type ResolvedExperimentSpec } from "./design";
import type { HashScheme } from "./hashing";
import type { PolicyName } from "./simulate";
import type { EffectScale } from "./types";

/**
 * The `experiment:` config section (snake_case like the rest of the YAML config): the design, where
 * the per-user table is read from, planning inputs, where reports go, and the synthetic-world
 * simulation. `validateExperimentConfig` checks types and ranges with the shared schema checker,
 * fills defaults (also inside list entries, which a YAML merge replaces wholesale) and then runs
 * the design validator so cross-field mistakes (weights, unknown metrics) name their key too.
 */

/** A metric as configured. */
export interface ExperimentMetricConfig {
  name: string;
  type: MetricType;
  /** value column (mean/proportion); null → the metric name */
  column: string | null;
  /** ratio metrics */
  numerator: string | null;
  denominator: string | null;
  /** pre-period covariate column → CUPED */
  covariate: string | null;
  /** planning baseline; null → estimated from design.baseline_path or input.path */
  baseline_mean: number | null;
  baseline_sd: number | null;
}

/** The typed `experiment:` section. */
export interface ExperimentConfig {
  name: string;
  key: string | null;
  salt: string | null;
  hash: HashScheme;
  coverage: number;
  arms: Array<{ name: string; weight: number }>;
  /** null → the first arm */
  control: string | null;
  layer: { id: string; start: number; end: number } | null;
  holdout: { key: string; fraction: number } | null;
  metrics: ExperimentMetricConfig[];
  primary: { metric: string; goal: "increase" | "decrease" };
  guardrails: Array<{ metric: string; direction: GuardrailDirection; tolerance: number; scale: EffectScale }>;
  alpha: number;
  correction: CorrectionMethod;
  sequential: { enabled: boolean; target_n: number | null };
  srm_threshold: number;
  credible_level: number;
  roi: { value_per_unit: number; cost_per_user: number; fixed_cost: number; population: number | null; basis: "estimate" | "ci-lower" };
  /** `ntg experiment design` */
  design: {
    power: number;
    /** planned enrolled users (all arms); null → sample sizes only */
    users: number | null;
    /** relative lifts to size the experiment for */
    relative_effects: number[];
    /** per-user table to estimate baselines from (default: input.path) */
    baseline_path: string | null;
  };
  /** `ntg experiment analyse`: the per-user metrics table */
  input: { path: string | null; format: "auto" | "csv" | "parquet"; user_column: string; arm_column: string };
  /** null → <run_dir>/outputs/reports */
  report_dir: string | null;
  /** `ntg experiment simulate`: the decision loop in the synthetic world */
  simulate: {
    /** synthetic world overrides (checked by the world's own validator); seed defaults to simulate.seed */
    world: Record<string, unknown>;
    /** replayed days after the world's end */
    days: number;
    seed: number;
    /** covariate window before the world's end */
    pre_days: number;
    /** policy of each arm, in arm order */
    policies: PolicyName[];
    /** also write the per-user table as CSV (experiment_<name>_users.csv), readable by `analyse` */
    write_table: boolean;
  };
}

const num = (o: Partial<Extract<FieldSpec, { kind: "number" }>> = {}): FieldSpec => ({ kind: "number", ...o });
const str = (o: Partial<Extract<FieldSpec, { kind: "string" }>> = {}): FieldSpec => ({ kind: "string", ...o });
const bool: FieldSpec = { kind: "boolean" };
const obj = (fields: Record<string, FieldSpec>, nullable = false): FieldSpec => ({ kind: "object", fields, nullable });

/** Schema of the `experiment:` section for the global config checker (unknown keys are errors). */
export const EXPERIMENT_CONFIG_SPEC: FieldSpec = obj({
  name: str(),
  key: str({ nullable: true }),
  salt: str({ nullable: true }),
  hash: str({ oneOf: ["growthbook-v1", "growthbook-v2", "sha256"] }),
  coverage: num({ min: 0, max: 1 }),
  arms: { kind: "array", of: obj({ name: str(), weight: num({ min: 0, max: 1 }) }) },
  control: str({ nullable: true }),
  layer: obj({ id: str(), start: num({ min: 0, max: 1 }), end: num({ min: 0, max: 1 }) }, true),
  holdout: obj({ key: str(), fraction: num({ min: 0, max: 1 }) }, true),
  metrics: {
    kind: "array",
    of: obj({
      name: str(),
      type: str({ oneOf: ["mean", "proportion", "ratio"] }),
      column: str({ nullable: true }),
      numerator: str({ nullable: true }),
      denominator: str({ nullable: true }),
      covariate: str({ nullable: true }),
      baseline_mean: num({ nullable: true }),
      baseline_sd: num({ nullable: true, min: 0 }),
    }),
  },
  primary: obj({ metric: str(), goal: str({ oneOf: ["increase", "decrease"] }) }),
  guardrails: {
    kind: "array",
    of: obj({ metric: str(), direction: str({ oneOf: ["must not decrease", "must not increase"] }), tolerance: num({ min: 0 }), scale: str({ oneOf: ["absolute", "relative"] }) }),
  },
  alpha: num({ min: 0, max: 1 }),
  correction: str({ oneOf: ["holm", "bh", "none"] }),
  sequential: obj({ enabled: bool, target_n: num({ nullable: true, min: 1 }) }),
  srm_threshold: num({ min: 0, max: 1 }),
  credible_level: num({ min: 0, max: 1 }),
  roi: obj({
    value_per_unit: num(),
    cost_per_user: num({ min: 0 }),
    fixed_cost: num({ min: 0 }),
    population: num({ nullable: true, min: 1 }),
    basis: str({ oneOf: ["estimate", "ci-lower"] }),
  }),
  design: obj({
    power: num({ min: 0, max: 1 }),
    users: num({ nullable: true, min: 2 }),
    relative_effects: { kind: "array", of: num() },
    baseline_path: str({ nullable: true }),
  }),
  input: obj({ path: str({ nullable: true }), format: str({ oneOf: ["auto", "csv", "parquet"] }), user_column: str(), arm_column: str() }),
  report_dir: str({ nullable: true }),
  simulate: obj({
    world: { kind: "any" },
    days: num({ integer: true, min: 1 }),
    seed: num({ integer: true, min: 0 }),
    pre_days: num({ integer: true, min: 1 }),
    policies: { kind: "array", of: str({ oneOf: ["logging", "genre", "oracle"] }) },
    write_table: bool,
  }),
});

function metricDefaults(name: string, type: MetricType, covariate: string | null): ExperimentMetricConfig {
  return { name, type, column: null, numerator: null, denominator: null, covariate, baseline_mean: null, baseline_sd: null };
}

/**
 * Defaults: a two-arm 50/50 test whose metrics are the columns the world loop produces
 * (plays, active days and revenue per user with pre-period covariates for CUPED, retention as a
 * proportion); revenue is primary, retention a guardrail (may not drop by more than 1 point).
 */
export function defaultExperimentConfig(): ExperimentConfig {
  return {
    name: "default",
    key: null,
    salt: null,
    hash: "growthbook-v2",
    coverage: 1,
    arms: [
      { name: "control", weight: 0.5 },
      { name: "treatment", weight: 0.5 },
    ],
    control: null,
    layer: null,
    holdout: null,
    metrics: [
      metricDefaults("revenue", "mean", "pre_revenue"),
      metricDefaults("plays", "mean", "pre_plays"),
      metricDefaults("active_days", "mean", "pre_active_days"),
      metricDefaults("retained", "proportion", null),
    ],
    primary: { metric: "revenue", goal: "increase" },
    guardrails: [{ metric: "retained", direction: "must not decrease", tolerance: 0.01, scale: "absolute" }],
    alpha: 0.05,
    correction: "holm",
    sequential: { enabled: false, target_n: null },
    srm_threshold: 0.001,
    credible_level: 0.95,
    roi: { value_per_unit: 1, cost_per_user: 0, fixed_cost: 0, population: null, basis: "estimate" },
    design: { power: 0.8, users: null, relative_effects: [0.01, 0.02, 0.05, 0.1], baseline_path: null },
    input: { path: null, format: "auto", user_column: "user", arm_column: "arm" },
    report_dir: null,
    simulate: { world: { users: 5000, items: 800, days: 180 }, days: 60, seed: 1, pre_days: 60, policies: ["logging", "genre"], write_table: true },
  };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Mappings merge key by key; lists and scalars replace (the global config's merge rule). */
function merge<T>(base: T, over: unknown): T {
  if (!isObj(base) || !isObj(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = (base as Record<string, unknown>)[k];
    out[k] = isObj(b) && isObj(v) ? merge(b, v) : v;
  }
  return out as T;
}

// Config keys that differ from the design's camelCase names, for error paths.
const PATH_NAMES: Array<[RegExp, string]> = [
  [/\.srmThreshold$/, ".srm_threshold"],
  [/\.credibleLevel$/, ".credible_level"],
  [/\.scheme$/, ".hash"],
  [/\.sequential\.targetN$/, ".sequential.target_n"],
  [/\.roi\.valuePerUnit$/, ".roi.value_per_unit"],
  [/\.roi\.costPerUser$/, ".roi.cost_per_user"],
  [/\.roi\.fixedCost$/, ".roi.fixed_cost"],
  [/\.baseline\.mean$/, ".baseline_mean"],
  [/\.baseline\.sd$/, ".baseline_sd"],
];

/** The design part of a validated config, in the statistics API's shape. */
export function experimentSpecFromConfig(c: ExperimentConfig): ExperimentSpec {
  return {
    name: c.name,
    key: c.key,
    salt: c.salt,
    scheme: c.hash,
    coverage: c.coverage,
    arms: c.arms.map((a) => ({ name: a.name, weight: a.weight })),
    control: c.control,
    layer: c.layer,
    holdout: c.holdout,
    metrics: c.metrics.map((m) => ({
      name: m.name,
      type: m.type,
      column: m.column,
      numerator: m.numerator,
      denominator: m.denominator,
      covariate: m.covariate,
      baseline: m.baseline_mean === null ? null : { mean: m.baseline_mean, sd: m.baseline_sd },
    })),
    primary: { ...c.primary },
    guardrails: c.guardrails.map((g) => ({ ...g })),
    alpha: c.alpha,
    correction: c.correction,
    sequential: { enabled: c.sequential.enabled, targetN: c.sequential.target_n },
    srmThreshold: c.srm_threshold,
    credibleLevel: c.credible_level,
    roi: { valuePerUnit: c.roi.value_per_unit, costPerUser: c.roi.cost_per_user, fixedCost: c.roi.fixed_cost, population: c.roi.population, basis: c.roi.basis },
  };
}

/**
 * Validates a (partial) `experiment:` section and returns it complete: schema check (types, ranges,
 * unknown keys with a did-you-mean), defaults filled (list entries too), then the design's own
 * checks (arm weights summing to 1, known metrics, ...) and the simulation's (one policy per arm).
 * Errors are `ConfigError`s naming `experiment.<key path>`.
 */
export function validateExperimentConfig(input: unknown = {}, file?: string): ExperimentConfig {
  const raw = input ?? {};
  checkAgainstSpec(raw, EXPERIMENT_CONFIG_SPEC, "experiment", file);
  const r = raw as Record<string, unknown>;
  const d = defaultExperimentConfig();
  const c = merge(d, r);
  // list entries replace defaults wholesale in a merge: give each entry its own defaults
  if (Array.isArray(r.metrics)) c.metrics = (r.metrics as Array<Record<string, unknown>>).map((m) => merge(metricDefaults(String(m.name ?? ""), "mean", null), m));
  if (Array.isArray(r.guardrails)) {
    c.guardrails = (r.guardrails as Array<Record<string, unknown>>).map((g) => merge({ metric: "", direction: "must not decrease" as GuardrailDirection, tolerance: 0, scale: "absolute" as EffectScale }, g));
  }
  c.metrics.forEach((m, i) => {
    if (m.baseline_mean === null && m.baseline_sd !== null) throw new ConfigError(`experiment.metrics[${i}].baseline_mean`, `metric '${m.name}': baseline_sd is set but baseline_mean is not`, file);
  });
  try {
    validateExperimentSpec(experimentSpecFromConfig(c), "experiment");
  } catch (e) {
    if (e instanceof ConfigError) {
      let p = e.path;
      for (const [re, to] of PATH_NAMES) p = p.replace(re, to);
      throw new ConfigError(p, e.message.replace(/^.*?config key '[^']*': /, ""), file);
    }
    throw e;
  }
  if (c.simulate.policies.length !== c.arms.length) {
    throw new ConfigError("experiment.simulate.policies", `needs one policy per arm (${c.arms.length} arms: ${c.arms.map((a) => a.name).join(", ")}), got ${c.simulate.policies.length}`, file);
  }
  if (!isObj(c.simulate.world)) throw new ConfigError("experiment.simulate.world", "expected a mapping of synthetic world settings", file);
  c.design.relative_effects.forEach((x, i) => {
    if (x === 0 || !Number.isFinite(x)) throw new ConfigError(`experiment.design.relative_effects[${i}]`, `must be a non-zero finite lift, got ${x}`, file);
  });
  if (c.design.power <= c.alpha || c.design.power >= 1) throw new ConfigError("experiment.design.power", `must be between alpha (${c.alpha}) and 1, got ${c.design.power}`, file);
  return c;
}

/** Validated config → validated design (defaults filled). */
export function resolvedSpecFromConfig(c: ExperimentConfig): ResolvedExperimentSpec {
  return validateExperimentSpec(experimentSpecFromConfig(c), "experiment");
}
