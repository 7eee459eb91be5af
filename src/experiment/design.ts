import { ConfigError } from "../util/errors";
import type { GuardrailDirection } from "./decision";
import { assignUsers, IN_HOLDOUT, NOT_IN_EXPERIMENT, type HashScheme, type Holdout, type LayerRange } from "./hashing";
import { mdeMeans, mdeProportions, powerMeans, powerProportions, sampleSizeMeans, sampleSizeProportions } from "./power";
import type { EffectScale } from "./types";

/**
 * The experiment design: what is randomized (arms, weights, hashing), what is measured (metrics,
 * primary, guardrails) and how it is judged (alpha, multiple-testing correction, sequential
 * monitoring, ROI). `validateExperimentSpec` fills defaults and rejects a design that cannot be
 * analysed, naming the offending key, before any data is read.
 */

/** How a metric is aggregated per arm: a mean of per-user values, a 0/1 rate, or Σnumerator/Σdenominator. */
export type MetricType = "mean" | "proportion" | "ratio";

/** Which multiple-testing correction runs across all (treatment arm, metric) comparisons. */
export type CorrectionMethod = "holm" | "bh" | "none";

/** A metric of the experiment, read from per-user columns. */
export interface MetricSpec {
  name: string;
  type: MetricType;
  /** per-user value column for mean/proportion metrics (default: the metric name) */
  column?: string | null;
  /** ratio metrics: per-user numerator and denominator columns */
  numerator?: string | null;
  denominator?: string | null;
  /** pre-period covariate column: enables CUPED for mean/proportion metrics */
  covariate?: string | null;
  /** planning baseline (mean and per-user sd; for a proportion the mean is the rate and sd may be omitted) */
  baseline?: { mean: number; sd?: number | null } | null;
}

/** A guardrail: a metric that must not move the wrong way by more than `tolerance` (in `scale` units). */
export interface GuardrailSpec {
  metric: string;
  direction: GuardrailDirection;
  tolerance: number;
  /** "absolute" (metric units, default) or "relative" (fraction of the control mean) */
  scale?: EffectScale;
}

/** An arm and its share of the enrolled traffic. */
export interface ArmSpec {
  name: string;
  weight: number;
}

/**
 * ROI gate: expected incremental revenue = effect on the primary metric per user × `valuePerUnit`
 * × `population`; cost = `fixedCost` + `costPerUser` × `population`, both over the metric's window.
 */
export interface RoiSpec {
  /** money per +1 unit of the primary metric per user (1 when the primary metric is revenue) */
  valuePerUnit: number;
  costPerUser?: number;
  fixedCost?: number;
  /** users the change would reach; null → every user in the analysed table */
  population?: number | null;
  /** "estimate" (point estimate, default) or "ci-lower" (the less favourable CI bound: conservative) */
  basis?: "estimate" | "ci-lower";
}

/** An experiment design as written by a user (optional fields have defaults). */
export interface ExperimentSpec {
  /** report name: letters, digits, '_', '-', '.' (it becomes part of file names) */
  name: string;
  /** hashing key (default: name) */
  key?: string | null;
  /** re-randomizes without renaming (default none) */
  salt?: string | null;
  /** default "growthbook-v2" */
  scheme?: HashScheme;
  /** share of eligible users enrolled (default 1) */
  coverage?: number;
  arms: ArmSpec[];
  /** control arm name (default: the first arm) */
  control?: string | null;
  layer?: LayerRange | null;
  holdout?: Holdout | null;
  metrics: MetricSpec[];
  primary: { metric: string; goal?: "increase" | "decrease" };
  guardrails?: GuardrailSpec[];
  /** family-wise significance level (default 0.05) */
  alpha?: number;
  /** default "holm" */
  correction?: CorrectionMethod;
  /** always-valid inference (confidence sequences); targetN tunes the boundary (default: the analysed users) */
  sequential?: { enabled: boolean; targetN?: number | null };
  /** SRM p-value threshold (default 0.001) */
  srmThreshold?: number;
  /** Bayesian credible level (default 0.95) */
  credibleLevel?: number;
  roi?: RoiSpec;
}

/** A validated metric: every column resolved. */
export interface ResolvedMetric {
  name: string;
  type: MetricType;
  /** value column (mean/proportion) or null */
  column: string | null;
  numerator: string | null;
  denominator: string | null;
  covariate: string | null;
  baseline: { mean: number; sd: number | null } | null;
}

/** A validated design with every default filled in. */
export interface ResolvedExperimentSpec {
  name: string;
  key: string;
  salt: string | null;
  scheme: HashScheme;
  coverage: number;
  arms: ArmSpec[];
  control: string;
  layer: LayerRange | null;
  holdout: Holdout | null;
  metrics: ResolvedMetric[];
  primary: { metric: string; goal: "increase" | "decrease" };
  guardrails: Array<Required<GuardrailSpec>>;
  alpha: number;
  correction: CorrectionMethod;
  sequential: { enabled: boolean; targetN: number | null };
  srmThreshold: number;
  credibleLevel: number;
  roi: Required<RoiSpec>;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const SCHEMES: readonly HashScheme[] = ["growthbook-v1", "growthbook-v2", "sha256"];

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function finite(v: unknown, at: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new ConfigError(at, `expected a finite number, got ${JSON.stringify(v) ?? String(v)}`);
  return v;
}

function openUnit(v: unknown, at: string): number {
  const x = finite(v, at);
  if (!(x > 0 && x < 1)) throw new ConfigError(at, `must be strictly between 0 and 1, got ${x}`);
  return x;
}

function nonEmpty(v: unknown, at: string): string {
  if (typeof v !== "string" || v.trim() === "") throw new ConfigError(at, `expected a non-empty string, got ${JSON.stringify(v) ?? String(v)}`);
  return v;
}

function optString(v: unknown, at: string): string | null {
  if (v === undefined || v === null || v === "") return null;
  return nonEmpty(v, at);
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], at: string, fallback: T): T {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "string" || !allowed.includes(v as T)) throw new ConfigError(at, `must be one of ${allowed.map((a) => `"${a}"`).join(", ")}; got ${JSON.stringify(v)}`);
  return v as T;
}

function resolveArms(arms: unknown, at: string): ArmSpec[] {
  if (!Array.isArray(arms) || arms.length < 2) {
    throw new ConfigError(at, `an experiment needs at least two arms (a control and a treatment), got ${Array.isArray(arms) ? arms.length : "none"}`);
  }
  const seen = new Set<string>();
  const out = arms.map((a, i) => {
    const p = `${at}[${i}]`;
    if (!isObj(a)) throw new ConfigError(p, "expected { name, weight }");
    const name = nonEmpty(a.name, `${p}.name`);
    if (seen.has(name)) throw new ConfigError(`${p}.name`, `duplicate arm name '${name}'`);
    seen.add(name);
    const weight = finite(a.weight, `${p}.weight`);
    if (!(weight > 0)) throw new ConfigError(`${p}.weight`, `arm '${name}' has weight ${weight}; every arm needs a positive weight (remove an arm instead of giving it 0)`);
    return { name, weight };
  });
  const total = out.reduce((s, a) => s + a.weight, 0);
  if (Math.abs(total - 1) > 1e-6) {
    throw new ConfigError(at, `arm weights must sum to 1, got ${Number(total.toPrecision(10))} (${out.map((a) => `${a.name}=${a.weight}`).join(", ")})`);
  }
  return out;
}

function resolveMetric(m: unknown, at: string): ResolvedMetric {
  if (!isObj(m)) throw new ConfigError(at, "expected a metric { name, type, ... }");
  const name = nonEmpty(m.name, `${at}.name`);
  const type = oneOf<MetricType>(m.type, ["mean", "proportion", "ratio"], `${at}.type`, "mean");
  const covariate = optString(m.covariate, `${at}.covariate`);
  let column: string | null = null;
  let numerator: string | null = null;
  let denominator: string | null = null;
  if (type === "ratio") {
    numerator = optString(m.numerator, `${at}.numerator`);
    denominator = optString(m.denominator, `${at}.denominator`);
    if (!numerator || !denominator) throw new ConfigError(`${at}`, `ratio metric '${name}' needs both numerator and denominator columns`);
    if (covariate) throw new ConfigError(`${at}.covariate`, `ratio metric '${name}': CUPED is supported for mean and proportion metrics only; remove the covariate`);
  } else {
    column = optString(m.column, `${at}.column`) ?? name;
  }
  let baseline: ResolvedMetric["baseline"] = null;
  if (m.baseline !== undefined && m.baseline !== null) {
    if (!isObj(m.baseline)) throw new ConfigError(`${at}.baseline`, "expected { mean, sd }");
    const mean = finite(m.baseline.mean, `${at}.baseline.mean`);
    let sd: number | null = null;
    if (m.baseline.sd !== undefined && m.baseline.sd !== null) {
      sd = finite(m.baseline.sd, `${at}.baseline.sd`);
      if (!(sd > 0)) throw new ConfigError(`${at}.baseline.sd`, `metric '${name}': baseline sd must be > 0, got ${sd}`);
    }
    if (type === "proportion" && !(mean > 0 && mean < 1)) throw new ConfigError(`${at}.baseline.mean`, `proportion metric '${name}': baseline rate must be in (0, 1), got ${mean}`);
    if (type !== "proportion" && sd === null) throw new ConfigError(`${at}.baseline.sd`, `metric '${name}': a ${type} baseline needs its per-user sd`);
    baseline = { mean, sd };
  }
  return { name, type, column, numerator, denominator, covariate, baseline };
}

/**
 * Validates a design and fills its defaults. Throws `ConfigError` naming the key path under
 * `prefix` (e.g. "experiment.arms[1].weight") for: fewer than two arms, duplicate arm or metric
 * names, non-positive weights or weights not summing to one, an unknown control/primary/guardrail
 * metric, a ratio metric without numerator/denominator, out-of-range alpha, coverage, layer or holdout.
 */
export function validateExperimentSpec(spec: ExperimentSpec | ResolvedExperimentSpec, prefix = "experiment"): ResolvedExperimentSpec {
  const at = (k: string): string => (prefix ? `${prefix}.${k}` : k);
  if (!isObj(spec)) throw new ConfigError(prefix || "(root)", "expected an experiment design object");
  const s = spec as unknown as Record<string, unknown>;
  const name = nonEmpty(s.name, at("name"));
  if (!NAME_RE.test(name)) throw new ConfigError(at("name"), `'${name}' may only contain letters, digits, '_', '-' and '.', starting with a letter or digit (it names the report files)`);
  const key = optString(s.key, at("key")) ?? name;
  const salt = optString(s.salt, at("salt"));
  const scheme = oneOf<HashScheme>(s.scheme, SCHEMES, at("scheme"), "growthbook-v2");
  const coverage = s.coverage === undefined || s.coverage === null ? 1 : finite(s.coverage, at("coverage"));
  if (!(coverage > 0 && coverage <= 1)) throw new ConfigError(at("coverage"), `must be in (0, 1], got ${coverage}`);
  const arms = resolveArms(s.arms, at("arms"));
  const control = optString(s.control, at("control")) ?? arms[0].name;
  if (!arms.some((a) => a.name === control)) throw new ConfigError(at("control"), `'${control}' is not an arm (arms: ${arms.map((a) => a.name).join(", ")})`);

  let layer: LayerRange | null = null;
  if (s.layer !== undefined && s.layer !== null) {
    if (!isObj(s.layer)) throw new ConfigError(at("layer"), "expected { id, start, end }");
    const id = nonEmpty(s.layer.id, at("layer.id"));
    const start = finite(s.layer.start, at("layer.start"));
    const end = finite(s.layer.end, at("layer.end"));
    if (!(start >= 0 && end <= 1 && start < end)) throw new ConfigError(at("layer"), `range [${start}, ${end}) must satisfy 0 ≤ start < end ≤ 1`);
    layer = { id, start, end };
  }
  let holdout: Holdout | null = null;
  if (s.holdout !== undefined && s.holdout !== null) {
    if (!isObj(s.holdout)) throw new ConfigError(at("holdout"), "expected { key, fraction }");
    const hk = nonEmpty(s.holdout.key, at("holdout.key"));
    const fraction = finite(s.holdout.fraction, at("holdout.fraction"));
    if (!(fraction >= 0 && fraction < 1)) throw new ConfigError(at("holdout.fraction"), `must be in [0, 1), got ${fraction}`);
    holdout = { key: hk, fraction };
  }

  if (!Array.isArray(s.metrics) || s.metrics.length === 0) throw new ConfigError(at("metrics"), "at least one metric is required");
  const metrics = s.metrics.map((m, i) => resolveMetric(m, at(`metrics[${i}]`)));
  const names = new Set<string>();
  metrics.forEach((m, i) => {
    if (names.has(m.name)) throw new ConfigError(at(`metrics[${i}].name`), `duplicate metric name '${m.name}'`);
    names.add(m.name);
  });
  const known = (metric: string, where: string): void => {
    if (!names.has(metric)) throw new ConfigError(where, `'${metric}' is not a metric of this experiment (metrics: ${[...names].join(", ")})`);
  };

  if (!isObj(s.primary)) throw new ConfigError(at("primary"), "expected { metric, goal }");
  const primaryMetric = nonEmpty(s.primary.metric, at("primary.metric"));
  known(primaryMetric, at("primary.metric"));
  const goal = oneOf<"increase" | "decrease">(s.primary.goal, ["increase", "decrease"], at("primary.goal"), "increase");

  const gIn = s.guardrails ?? [];
  if (!Array.isArray(gIn)) throw new ConfigError(at("guardrails"), "expected a list");
  const guardrails = gIn.map((g, i) => {
    const p = at(`guardrails[${i}]`);
    if (!isObj(g)) throw new ConfigError(p, "expected { metric, direction, tolerance, scale }");
    const metric = nonEmpty(g.metric, `${p}.metric`);
    known(metric, `${p}.metric`);
    const direction = oneOf<GuardrailDirection>(g.direction, ["must not decrease", "must not increase"], `${p}.direction`, "must not decrease");
    const tolerance = g.tolerance === undefined || g.tolerance === null ? 0 : finite(g.tolerance, `${p}.tolerance`);
    if (tolerance < 0) throw new ConfigError(`${p}.tolerance`, `must be ≥ 0, got ${tolerance}`);
    const scale = oneOf<EffectScale>(g.scale, ["absolute", "relative"], `${p}.scale`, "absolute");
    return { metric, direction, tolerance, scale };
  });

  const alpha = s.alpha === undefined || s.alpha === null ? 0.05 : openUnit(s.alpha, at("alpha"));
  const correction = oneOf<CorrectionMethod>(s.correction, ["holm", "bh", "none"], at("correction"), "holm");
  let sequential = { enabled: false, targetN: null as number | null };
  if (s.sequential !== undefined && s.sequential !== null) {
    if (!isObj(s.sequential)) throw new ConfigError(at("sequential"), "expected { enabled, targetN }");
    const enabled = s.sequential.enabled;
    if (typeof enabled !== "boolean") throw new ConfigError(at("sequential.enabled"), `expected true or false, got ${JSON.stringify(enabled)}`);
    let targetN: number | null = null;
    if (s.sequential.targetN !== undefined && s.sequential.targetN !== null) {
      targetN = finite(s.sequential.targetN, at("sequential.targetN"));
      if (!(targetN > 0)) throw new ConfigError(at("sequential.targetN"), `must be > 0, got ${targetN}`);
    }
    sequential = { enabled, targetN };
  }
  const srmThreshold = s.srmThreshold === undefined || s.srmThreshold === null ? 0.001 : openUnit(s.srmThreshold, at("srmThreshold"));
  const credibleLevel = s.credibleLevel === undefined || s.credibleLevel === null ? 0.95 : openUnit(s.credibleLevel, at("credibleLevel"));

  const r = isObj(s.roi) ? s.roi : {};
  if (s.roi !== undefined && s.roi !== null && !isObj(s.roi)) throw new ConfigError(at("roi"), "expected { valuePerUnit, costPerUser, fixedCost, population, basis }");
  const roi: Required<RoiSpec> = {
    valuePerUnit: r.valuePerUnit === undefined || r.valuePerUnit === null ? 1 : finite(r.valuePerUnit, at("roi.valuePerUnit")),
    costPerUser: r.costPerUser === undefined || r.costPerUser === null ? 0 : finite(r.costPerUser, at("roi.costPerUser")),
    fixedCost: r.fixedCost === undefined || r.fixedCost === null ? 0 : finite(r.fixedCost, at("roi.fixedCost")),
    population: r.population === undefined || r.population === null ? null : finite(r.population, at("roi.population")),
    basis: oneOf<"estimate" | "ci-lower">(r.basis, ["estimate", "ci-lower"], at("roi.basis"), "estimate"),
  };
  if (roi.costPerUser < 0) throw new ConfigError(at("roi.costPerUser"), `must be ≥ 0, got ${roi.costPerUser}`);
  if (roi.fixedCost < 0) throw new ConfigError(at("roi.fixedCost"), `must be ≥ 0, got ${roi.fixedCost}`);
  if (roi.population !== null && !(roi.population > 0)) throw new ConfigError(at("roi.population"), `must be > 0, got ${roi.population}`);

  return {
    name,
    key,
    salt,
    scheme,
    coverage,
    arms,
    control,
    layer,
    holdout,
    metrics,
    primary: { metric: primaryMetric, goal },
    guardrails,
    alpha,
    correction,
    sequential,
    srmThreshold,
    credibleLevel,
    roi,
  };
}

/** The per-user columns a design reads (metric values, ratio parts, covariates), in metric order, without repeats. */
export function requiredColumns(spec: ResolvedExperimentSpec): string[] {
  const out: string[] = [];
  const add = (c: string | null): void => {
    if (c !== null && !out.includes(c)) out.push(c);
  };
  for (const m of spec.metrics) {
    add(m.column);
    add(m.numerator);
    add(m.denominator);
    add(m.covariate);
  }
  return out;
}

/** Arm name per user for a design (null = not enrolled: outside coverage or layer, or in the holdout). */
export interface DesignAssignment {
  arm: Array<string | null>;
  /** arm index per user; −1 not enrolled, −2 holdout (as `assignUsers`) */
  codes: Int32Array;
  counts: Record<string, number>;
  notEnrolled: number;
  holdout: number;
}

/** Buckets users with the design's key, salt, scheme, coverage, layer and holdout (deterministic). */
export function assignByDesign(spec: ResolvedExperimentSpec, userIds: readonly string[]): DesignAssignment {
  const codes = assignUsers(userIds, {
    key: spec.key,
    salt: spec.salt ?? undefined,
    weights: spec.arms.map((a) => a.weight),
    scheme: spec.scheme,
    coverage: spec.coverage,
    layer: spec.layer ?? undefined,
    holdout: spec.holdout ?? undefined,
  });
  const counts: Record<string, number> = {};
  for (const a of spec.arms) counts[a.name] = 0;
  let notEnrolled = 0;
  let holdout = 0;
  const arm = Array.from(codes, (c) => {
    if (c === NOT_IN_EXPERIMENT) {
      notEnrolled += 1;
      return null;
    }
    if (c === IN_HOLDOUT) {
      holdout += 1;
      return null;
    }
    const name = spec.arms[c].name;
    counts[name] += 1;
    return name;
  });
  return { arm, codes, counts, notEnrolled, holdout };
}

/** Planning baseline of a metric: mean (rate for proportions) and per-user sd (√delta-method variance for ratios). */
export interface MetricBaseline {
  mean: number;
  sd: number;
}

/** Sample size needed for one metric, treatment arm and relative lift. */
export interface SampleSizeRow {
  metric: string;
  type: MetricType;
  arm: string;
  relativeEffect: number;
  absoluteEffect: number;
  /** control and treatment users needed (rounded up) */
  nControl: number;
  nTreatment: number;
  /** enrolled users needed across all arms so that both reach their size at the planned weights */
  totalUsers: number;
  /** power at the planned enrolment (null when design users are not given, or the lift is impossible) */
  powerAtPlanned: number | null;
}

/** Minimum detectable effect at the planned enrolment. */
export interface MdeRow {
  metric: string;
  type: MetricType;
  arm: string;
  nControl: number;
  nTreatment: number;
  mdeAbsolute: number;
  mdeRelative: number;
}

/** The design table: baselines, sample sizes per lift, MDE at the planned size. */
export interface ExperimentPlan {
  name: string;
  alpha: number;
  /** alpha per treatment-vs-control comparison (Bonferroni over arms: a conservative stand-in for Holm) */
  alphaPerComparison: number;
  power: number;
  plannedUsers: number | null;
  baselines: Record<string, MetricBaseline>;
  sampleSizes: SampleSizeRow[];
  mde: MdeRow[];
  notes: string[];
}

/**
 * Power, sample size and MDE for every metric and treatment arm against control, two-sided z tests
 * at the design's alpha split over the treatment arms (Bonferroni), arm sizes from the weights.
 * Proportions use the pooled two-proportion formulas; means and ratios the difference-of-means
 * ones with the baseline sd (CUPED would shrink the sd: the table is conservative for those metrics).
 */
export function planExperiment(
  spec: ResolvedExperimentSpec,
  opts: { power: number; relativeEffects: readonly number[]; users?: number | null; baselines: Record<string, MetricBaseline> },
): ExperimentPlan {
  const k = spec.arms.length - 1;
  const control = spec.arms.find((a) => a.name === spec.control) as ArmSpec;
  const treatments = spec.arms.filter((a) => a.name !== spec.control);
  const planned = opts.users ?? null;
  const sampleSizes: SampleSizeRow[] = [];
  const mde: MdeRow[] = [];
  const notes: string[] = [];
  const design = { alpha: spec.alpha, comparisons: k, correction: "bonferroni" as const };
  for (const m of spec.metrics) {
    const b = opts.baselines[m.name];
    if (!b) throw new ConfigError(`experiment.metrics`, `metric '${m.name}' has no planning baseline: set baseline_mean/baseline_sd or give a per-user table (design.baseline_path or input.path)`);
    for (const t of treatments) {
      const ratio = t.weight / control.weight;
      for (const rel of opts.relativeEffects) {
        const effect = rel * b.mean;
        if (m.type === "proportion") {
          const p2 = b.mean * (1 + rel);
          if (!(p2 > 0 && p2 < 1)) {
            notes.push(`metric '${m.name}': a lift of ${rel} takes the rate ${b.mean} outside (0, 1); skipped`);
            continue;
          }
          const s = sampleSizeProportions({ ...design, p1: b.mean, p2, power: opts.power, ratio });
          const pw = planned ? powerProportions({ ...design, p1: b.mean, p2, n1: planned * control.weight, ratio }) : null;
          sampleSizes.push({ metric: m.name, type: m.type, arm: t.name, relativeEffect: rel, absoluteEffect: p2 - b.mean, nControl: s.n1Ceil, nTreatment: s.n2Ceil, totalUsers: Math.ceil(Math.max(s.n1 / control.weight, s.n2 / t.weight) - 1e-9), powerAtPlanned: pw });
        } else {
          if (effect === 0) {
            notes.push(`metric '${m.name}': baseline mean is 0, so a relative lift has no absolute size; skipped`);
            continue;
          }
          const s = sampleSizeMeans({ ...design, sd: b.sd, effect, power: opts.power, ratio });
          const pw = planned ? powerMeans({ ...design, sd: b.sd, effect, n1: planned * control.weight, ratio }) : null;
          sampleSizes.push({ metric: m.name, type: m.type, arm: t.name, relativeEffect: rel, absoluteEffect: effect, nControl: s.n1Ceil, nTreatment: s.n2Ceil, totalUsers: Math.ceil(Math.max(s.n1 / control.weight, s.n2 / t.weight) - 1e-9), powerAtPlanned: pw });
        }
      }
      if (planned) {
        const n1 = planned * control.weight;
        let abs: number;
        if (m.type === "proportion") {
          try {
            abs = mdeProportions({ ...design, p1: b.mean, n1, power: opts.power, ratio });
          } catch {
            notes.push(`metric '${m.name}', arm '${t.name}': no detectable lift reaches power ${opts.power} with ${planned} users`);
            continue;
          }
        } else abs = mdeMeans({ ...design, sd: b.sd, n1, power: opts.power, ratio });
        mde.push({ metric: m.name, type: m.type, arm: t.name, nControl: Math.floor(n1), nTreatment: Math.floor(n1 * ratio), mdeAbsolute: abs, mdeRelative: b.mean !== 0 ? abs / Math.abs(b.mean) : NaN });
      }
    }
  }
  const alphaPerComparison = k > 1 ? spec.alpha / k : spec.alpha;
  return { name: spec.name, alpha: spec.alpha, alphaPerComparison, power: opts.power, plannedUsers: planned, baselines: opts.baselines, sampleSizes, mde, notes };
}
