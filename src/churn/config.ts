/**
 * The `churn:` config section: its type, defaults, a field spec in the pipeline's schema format
 * (src/pipeline/schema-check.ts) and a validator that names the offending key path. Keys are
 * snake_case like the rest of the YAML config.
 */
import type { FieldSpec } from "../pipeline/schema-check";
import { checkAgainstSpec } from "../pipeline/schema-check";
import { ConfigError } from "../util/errors";

/** One action of the intervention catalogue. */
export interface InterventionAction {
  /** identifier written to the plan (letters, digits, _ and -) */
  name: string;
  /** fixed cost per treated user (currency) */
  cost_fixed: number;
  /** extra cost as a multiple of the user's monthly price (e.g. 20% off for 3 months = 0.6) */
  cost_price_multiple: number;
  /** expected relative reduction of the user's churn probability (0.3 = 30% fewer churners) */
  relative_reduction: number;
  /** standard deviation of that reduction (uncertainty of the effect; drawn jointly for all users) */
  reduction_sd: number;
  /** only users with at least this churn probability are eligible */
  min_p_churn: number;
}

/** The churn, lifetime-value, revenue-at-risk and intervention settings. */
export interface ChurnConfig {
  /** label window W in days: churn = no activity / no renewal in (t0, t0 + W] */
  window_days: number;
  /** "auto": contractual when revenue.parquet has subscription payments, else activity */
  label: "auto" | "activity" | "contractual";
  /** activity label: users must have an event in (t0 − lookback, t0] to be at risk */
  activity_lookback_days: number;
  /** contractual label: a renewal payment counts when it arrives at most this many days after its due date */
  grace_days: number;
  /** "now" for scoring (ISO date or unix seconds); null = the data's last timestamp. Data after it is never read. */
  as_of: string | number | null;
  /**
   * "now": scores at `as_of` with a model refitted one window later (trained up to the latest
   * complete label window, calibrated on it); "latest_window": scores at the latest cutoff with a
   * full label window, with exactly the model the metrics describe.
   */
  score_at: "now" | "latest_window";
  /** number of earlier cutoffs whose (features, labels) are stacked for training */
  train_cutoffs: number;
  /** spacing between cutoffs in days; null = the label horizon (window, plus grace for contractual labels) */
  cutoff_step_days: number | null;
  /** cutoffs with less history than this (days after the data start) are not used */
  min_history_days: number;
  /** which model scores users; "auto" picks by ROC-AUC on the calibration cutoff (logistic on ties within 0.002) */
  model: "auto" | "logistic" | "gbdt";
  logistic: {
    /** L2 penalty λ on standardised coefficients: minimises mean weighted log loss + λ/2·‖β‖² */
    l2: number;
    /** "none", "balanced" (n / (2·n_class)) or an explicit weight for the churn class (non-churn = 1) */
    class_weight: "none" | "balanced" | number;
    max_iterations: number;
    /** convergence: ∞-norm of the gradient of the objective */
    tolerance: number;
  };
  gbdt: {
    enabled: boolean;
    trees: number;
    learning_rate: number;
    max_depth: number;
    /** histogram bins per feature (≤ 255) */
    max_bins: number;
    /** minimum hessian sum in a leaf */
    min_child_weight: number;
    /** L2 penalty on leaf values */
    l2: number;
    /** row subsample per tree (seeded) */
    subsample: number;
    /** column subsample per tree (seeded) */
    colsample: number;
  };
  /** calibration map fitted on the calibration cutoff; "auto" picks Platt or isotonic by 2-fold cross-fitted log loss */
  calibration: "auto" | "isotonic" | "platt" | "none";
  /** how many contributing features per user go to top_features */
  top_features: number;
  metrics: {
    /** bins of the ECE and reliability curves */
    bins: number;
    /** bootstrap resamples for confidence intervals */
    bootstrap: number;
    /** confidence level of the intervals */
    level: number;
  };
  ltv: {
    /** value horizon in calendar months; null = unbounded (discounted residual lifetime, DERL; needs a discount rate > 0) */
    horizon_months: number | null;
    /** monthly discount rate for the value sums */
    monthly_discount_rate: number;
    /** months before the scoring cutoff whose renewals fit the covariate sBG */
    fit_lookback_months: number;
    /** parameter draws (Laplace approximation + calibration bootstrap) for the intervals */
    draws: number;
    /** central probability of the reported intervals */
    interval_level: number;
    /** cap of the legacy heuristic's expected lifetime in months */
    legacy_cap_months: number;
    /** net the expected win-back revenue (returns after churning) out of the revenue at risk */
    winback: boolean;
  };
  risk: {
    /** tiers are thresholds on p_churn: critical ≥ critical, high ≥ high, medium ≥ medium, else low */
    critical: number;
    high: number;
    medium: number;
    /** tenure band edges in days (ascending) */
    tenure_bands_days: number[];
    /** activity band edges: events in the 30 days before the cutoff (ascending) */
    activity_bands_events_30d: number[];
  };
  interventions: {
    enabled: boolean;
    /** total spend allowed (currency) */
    budget: number;
    /** the ROI gate: actions with (saved − cost) / cost below this are refused */
    min_roi: number;
    /** share of selected users withheld as a control group (deterministic hash) so the effect can be measured */
    holdout_fraction: number;
    /** salt of the assignment hash (recorded in the experiment spec) */
    salt: string;
    catalogue: InterventionAction[];
  };
}

/** The defaults: monthly churn window, four stacked training cutoffs, both models, 12-month value horizon. */
export function defaultChurnConfig(): ChurnConfig {
  return {
    window_days: 30,
    label: "auto",
    activity_lookback_days: 30,
    grace_days: 3,
    as_of: null,
    score_at: "now",
    train_cutoffs: 4,
    cutoff_step_days: null,
    min_history_days: 90,
    model: "auto",
    logistic: { l2: 1e-3, class_weight: "none", max_iterations: 100, tolerance: 1e-8 },
    gbdt: { enabled: true, trees: 150, learning_rate: 0.05, max_depth: 3, max_bins: 32, min_child_weight: 5, l2: 1, subsample: 0.8, colsample: 1 },
    calibration: "auto",
    top_features: 3,
    metrics: { bins: 10, bootstrap: 200, level: 0.95 },
    ltv: {
      horizon_months: 12,
      monthly_discount_rate: 0,
      fit_lookback_months: 6,
      draws: 100,
      interval_level: 0.9,
      legacy_cap_months: 120,
      winback: true,
    },
    // monthly subscription churn runs at a few percent, so the tiers sit well below 0.5
    risk: { critical: 0.25, high: 0.1, medium: 0.05, tenure_bands_days: [90, 365, 730], activity_bands_events_30d: [1, 5, 20] },
    interventions: {
      enabled: true,
      budget: 10_000,
      min_roi: 0.5,
      holdout_fraction: 0.1,
      salt: "ntg-churn-interventions",
      catalogue: [
        { name: "discount_20pct_3m", cost_fixed: 0, cost_price_multiple: 0.6, relative_reduction: 0.3, reduction_sd: 0.1, min_p_churn: 0.05 },
        { name: "content_boost", cost_fixed: 0.5, cost_price_multiple: 0, relative_reduction: 0.1, reduction_sd: 0.05, min_p_churn: 0 },
        { name: "nudge", cost_fixed: 0.05, cost_price_multiple: 0, relative_reduction: 0.03, reduction_sd: 0.02, min_p_churn: 0 },
      ],
    },
  };
}

const num = (o: Partial<Extract<FieldSpec, { kind: "number" }>> = {}): FieldSpec => ({ kind: "number", ...o });
const str = (o: Partial<Extract<FieldSpec, { kind: "string" }>> = {}): FieldSpec => ({ kind: "string", ...o });
const bool: FieldSpec = { kind: "boolean" };
const obj = (fields: Record<string, FieldSpec>): FieldSpec => ({ kind: "object", fields });

/**
 * The `churn:` section in the pipeline's schema format, for the lead to add to CONFIG_SPEC
 * (`logistic.class_weight` also accepts a number: it is declared "any" and checked by {@link validateChurnConfig}).
 */
export const CHURN_CONFIG_SPEC: FieldSpec = obj({
  window_days: num({ integer: true, min: 1, max: 3650 }),
  label: str({ oneOf: ["auto", "activity", "contractual"] }),
  activity_lookback_days: num({ integer: true, min: 1, max: 3650 }),
  grace_days: num({ min: 0, max: 60 }),
  as_of: { kind: "time", nullable: true },
  score_at: str({ oneOf: ["now", "latest_window"] }),
  train_cutoffs: num({ integer: true, min: 1, max: 60 }),
  cutoff_step_days: num({ integer: true, min: 1, max: 3650, nullable: true }),
  min_history_days: num({ min: 0, max: 36500 }),
  model: str({ oneOf: ["auto", "logistic", "gbdt"] }),
  logistic: obj({
    l2: num({ min: 0 }),
    class_weight: { kind: "any" },
    max_iterations: num({ integer: true, min: 1, max: 10000 }),
    tolerance: num({ min: 0 }),
  }),
  gbdt: obj({
    enabled: bool,
    trees: num({ integer: true, min: 1, max: 10000 }),
    learning_rate: num({ min: 1e-6, max: 1 }),
    max_depth: num({ integer: true, min: 1, max: 12 }),
    max_bins: num({ integer: true, min: 2, max: 255 }),
    min_child_weight: num({ min: 0 }),
    l2: num({ min: 0 }),
    subsample: num({ min: 0.01, max: 1 }),
    colsample: num({ min: 0.01, max: 1 }),
  }),
  calibration: str({ oneOf: ["auto", "isotonic", "platt", "none"] }),
  top_features: num({ integer: true, min: 0, max: 50 }),
  metrics: obj({ bins: num({ integer: true, min: 2, max: 1000 }), bootstrap: num({ integer: true, min: 0, max: 100000 }), level: num({ min: 0.5, max: 0.999 }) }),
  ltv: obj({
    horizon_months: num({ integer: true, min: 1, max: 600, nullable: true }),
    monthly_discount_rate: num({ min: 0, max: 1 }),
    fit_lookback_months: num({ integer: true, min: 1, max: 120 }),
    draws: num({ integer: true, min: 0, max: 10000 }),
    interval_level: num({ min: 0.5, max: 0.999 }),
    legacy_cap_months: num({ min: 1 }),
    winback: bool,
  }),
  risk: obj({
    critical: num({ min: 0, max: 1 }),
    high: num({ min: 0, max: 1 }),
    medium: num({ min: 0, max: 1 }),
    tenure_bands_days: { kind: "array", of: num({ min: 0 }) },
    activity_bands_events_30d: { kind: "array", of: num({ min: 0 }) },
  }),
  interventions: obj({
    enabled: bool,
    budget: num({ min: 0 }),
    min_roi: num(),
    holdout_fraction: num({ min: 0, max: 0.9 }),
    salt: str(),
    catalogue: {
      kind: "array",
      of: obj({
        name: str(),
        cost_fixed: num({ min: 0 }),
        cost_price_multiple: num({ min: 0 }),
        relative_reduction: num({ min: 0, max: 1 }),
        reduction_sd: num({ min: 0 }),
        min_p_churn: num({ min: 0, max: 1 }),
      }),
    },
  }),
});

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(base[k]) ? merge(base[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

function ascending(arr: number[], at: string): void {
  for (let i = 1; i < arr.length; i++) if (!(arr[i] > arr[i - 1])) throw new ConfigError(`${at}[${i}]`, `band edges must be strictly ascending, got ${arr.join(", ")}`);
}

/**
 * Merges a partial `churn:` section over {@link defaultChurnConfig} (mappings key by key, lists
 * replace) and checks it: unknown keys, wrong types, out-of-range values and inconsistent
 * combinations throw a ConfigError naming the key path (e.g. `churn.risk.high`).
 * Catalogue entries may leave out cost_price_multiple, reduction_sd and min_p_churn (default 0).
 */
export function validateChurnConfig(partial: unknown = {}, prefix = "churn"): ChurnConfig {
  if (partial === null || partial === undefined) partial = {};
  if (!isPlainObject(partial)) throw new ConfigError(prefix, "expected a mapping");
  const p = structuredClone(partial) as Record<string, unknown>;
  const inter = p.interventions;
  if (isPlainObject(inter) && Array.isArray(inter.catalogue)) {
    inter.catalogue = inter.catalogue.map((a: unknown) => (isPlainObject(a) ? { cost_fixed: 0, cost_price_multiple: 0, reduction_sd: 0, min_p_churn: 0, ...a } : a));
  }
  const cfg = merge(defaultChurnConfig() as unknown as Record<string, unknown>, p) as unknown as ChurnConfig;
  checkAgainstSpec(cfg, CHURN_CONFIG_SPEC, prefix);
  const cw = cfg.logistic.class_weight;
  if (!(cw === "none" || cw === "balanced" || (typeof cw === "number" && Number.isFinite(cw) && cw > 0))) {
    throw new ConfigError(`${prefix}.logistic.class_weight`, `expected "none", "balanced" or a positive number, got ${JSON.stringify(cw)}`);
  }
  const r = cfg.risk;
  if (!(r.critical >= r.high && r.high >= r.medium)) {
    throw new ConfigError(`${prefix}.risk`, `tier thresholds must satisfy critical >= high >= medium, got ${r.critical}, ${r.high}, ${r.medium}`);
  }
  ascending(r.tenure_bands_days, `${prefix}.risk.tenure_bands_days`);
  ascending(r.activity_bands_events_30d, `${prefix}.risk.activity_bands_events_30d`);
  if (cfg.ltv.horizon_months === null && !(cfg.ltv.monthly_discount_rate > 0)) {
    throw new ConfigError(`${prefix}.ltv.monthly_discount_rate`, "must be > 0 when ltv.horizon_months is null (an undiscounted unbounded lifetime value may be infinite)");
  }
  const names = new Set<string>();
  cfg.interventions.catalogue.forEach((a, i) => {
    if (!/^[A-Za-z0-9_-]+$/.test(a.name)) throw new ConfigError(`${prefix}.interventions.catalogue[${i}].name`, `use letters, digits, _ and - only, got ${JSON.stringify(a.name)}`);
    if (names.has(a.name)) throw new ConfigError(`${prefix}.interventions.catalogue[${i}].name`, `duplicate action ${JSON.stringify(a.name)}`);
    names.add(a.name);
    if (!(a.cost_fixed + a.cost_price_multiple > 0)) throw new ConfigError(`${prefix}.interventions.catalogue[${i}]`, "an action must cost something (cost_fixed or cost_price_multiple > 0), else its ROI is undefined");
  });
  if (cfg.as_of !== null && typeof cfg.as_of === "string" && Number.isNaN(Date.parse(cfg.as_of))) {
    throw new ConfigError(`${prefix}.as_of`, `'${cfg.as_of}' is not a valid ISO date/time`);
  }
  return cfg;
}
