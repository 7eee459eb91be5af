/**
 * Churn model training with a time-based protocol (never a random user split).
 *
 * Let H be the label horizon (W days, plus grace for contractual labels; labels.ts), g = ⌈H⌉ days
 * and s the cutoff step (default g). With the data ending at E (the `as_of` "now", default the
 * last timestamp):
 *
 * - **test cutoff** t_e = midnight ≤ E − H: the latest cutoff with a full label window;
 * - **calibration cutoff** t_c = t_e − g: its labels end by t_e;
 * - **training cutoffs** t_k = t_c − g − (k−1)·s, k = 1..train_cutoffs (those with at least
 *   min_history_days of data before them): every training label ends by t_c.
 *
 * Models (logistic regression and, optionally, the GBDT) are fitted on the stacked
 * (user, training cutoff) rows, calibrated (Platt / isotonic) on t_c, and evaluated on t_e, so
 * every reported metric is out-of-time and no label reads past E.
 * Final scores: `score_at: latest_window` scores the population at t_e with exactly that model;
 * `score_at: now` shifts the whole protocol one window later (train ≤ t_e − g, calibrate on t_e,
 * which is the last complete window) and scores the population at E.
 */
import { rocAuc, averagePrecision, logLoss, brierScore, bootstrapCi } from "../eval/classification";
import {
  calibrationBySegment,
  expectedCalibrationError,
  fitIsotonicCalibration,
  fitPlatt,
  isotonicPredict,
  plattPredict,
  reliabilityCurve,
  type IsotonicModel,
  type PlattModel,
} from "../eval/calibration";
import { DAY } from "../data/synthetic/time";
import { InputError } from "../util/errors";
import { quietLogger, type Logger } from "../util/log";
import type { ChurnConfig } from "./config";
import { hasSubscriptions, truncateData, type ChurnData } from "./data";
import { explainRows, type ChurnModel } from "./explain";
import { buildChurnFeatures, featureColumn, featureGroups, type FeatureGroups, type FeatureMatrix } from "./features";
import { fitGbdt, gbdtPredict, type GbdtModel } from "./gbdt";
import { labelHorizonSeconds, labelsAt, populationAt, type CutoffLabels, type LabelKind, type LabelSpec } from "./labels";
import { fitLogistic, logisticPredict, type LogisticModel } from "./logistic";

/** The cutoffs of one fit. */
export interface FitCutoffs {
  train: number[];
  calibration: number;
}

/** The time-based protocol (see the module comment). */
export interface ChurnProtocol {
  labelKind: LabelKind;
  spec: LabelSpec;
  dataStart: number;
  /** E: the last moment of data the run may read */
  dataEnd: number;
  /** label horizon H and gap g in seconds */
  horizon: number;
  gap: number;
  step: number;
  /** evaluation fit: train cutoffs, calibration cutoff; test at testCutoff */
  evaluation: FitCutoffs;
  testCutoff: number;
  /** the fit behind the final scores (same as evaluation for latest_window) */
  scoring: FitCutoffs;
  scoreCutoff: number;
  scoreAt: "now" | "latest_window";
}

/** ISO-8601 (seconds) of a unix time, for messages and reports. */
export function iso(ts: number): string {
  return new Date(ts * 1000).toISOString().replace(".000Z", "Z");
}

function toUnix(v: string | number): number {
  return typeof v === "number" ? v : Math.floor(Date.parse(v) / 1000);
}

/** Label kind for a config on this data ("auto": contractual when there are subscription payments). */
export function resolveLabelKind(d: ChurnData, cfg: ChurnConfig): LabelKind {
  if (cfg.label === "contractual" && !hasSubscriptions(d)) {
    throw new InputError("churn.label is 'contractual' but revenue.parquet has no payments of kind 'subscription'; use label: activity or auto");
  }
  return cfg.label === "auto" ? (hasSubscriptions(d) ? "contractual" : "activity") : cfg.label;
}

/**
 * Applies `as_of` (refusing a value outside the data range) and plans the cutoffs. Throws an
 * InputError when the data is too short for a training, a calibration and a test window.
 */
export function planProtocol(d0: ChurnData, cfg: ChurnConfig): { data: ChurnData; protocol: ChurnProtocol } {
  let d = d0;
  let end = d0.dataEnd;
  if (cfg.as_of !== null) {
    const asOf = toUnix(cfg.as_of);
    if (!Number.isFinite(asOf)) throw new InputError(`churn.as_of: cannot read ${JSON.stringify(cfg.as_of)} as a time`);
    if (asOf < d0.dataStart || asOf > d0.dataEnd) {
      throw new InputError(`churn.as_of ${iso(asOf)} is outside the data range [${iso(d0.dataStart)}, ${iso(d0.dataEnd)}]`);
    }
    d = truncateData(d0, asOf);
    end = asOf;
    d.dataEnd = asOf;
  }
  const kind = resolveLabelKind(d, cfg);
  const spec: LabelSpec = { kind, windowDays: cfg.window_days, lookbackDays: cfg.activity_lookback_days, graceDays: cfg.grace_days };
  const horizon = labelHorizonSeconds(spec);
  const gap = Math.ceil(horizon / DAY) * DAY;
  const step = (cfg.cutoff_step_days ?? gap / DAY) * DAY;
  const testCutoff = Math.floor((end - horizon) / DAY) * DAY;
  const minStart = d.dataStart + cfg.min_history_days * DAY;
  const trainFor = (cal: number): number[] => {
    const out: number[] = [];
    for (let k = 1; k <= cfg.train_cutoffs; k++) {
      const t = cal - gap - (k - 1) * step;
      if (t >= minStart) out.push(t);
    }
    return out;
  };
  const evaluation: FitCutoffs = { calibration: testCutoff - gap, train: trainFor(testCutoff - gap) };
  const needed = (cfg.min_history_days * DAY + 3 * gap) / DAY;
  if (evaluation.train.length === 0) {
    throw new InputError(
      `churn: not enough history for a time-based protocol: the data spans ${((end - d.dataStart) / DAY).toFixed(1)} days ` +
        `(${iso(d.dataStart)} to ${iso(end)}) but min_history_days (${cfg.min_history_days}) + a training, a calibration and a test window of ${gap / DAY} days need ${needed} days`,
    );
  }
  const scoring: FitCutoffs = cfg.score_at === "now" ? { calibration: testCutoff, train: trainFor(testCutoff) } : evaluation;
  return {
    data: d,
    protocol: {
      labelKind: kind,
      spec,
      dataStart: d.dataStart,
      dataEnd: end,
      horizon,
      gap,
      step,
      evaluation,
      testCutoff,
      scoring,
      scoreCutoff: cfg.score_at === "now" ? end : testCutoff,
      scoreAt: cfg.score_at,
    },
  };
}

/** A labelled design at one cutoff: rows = users at risk. */
export interface LabeledSet {
  cutoff: number;
  labels: CutoffLabels;
  features: FeatureMatrix;
  y: Float64Array;
}

/** Features and labels of the at-risk users at cutoff t (checks there is someone at risk). */
export function labeledSet(d: ChurnData, t: number, spec: LabelSpec, groups: FeatureGroups): LabeledSet {
  const labels = labelsAt(d, t, spec);
  if (labels.nAtRisk === 0) throw new InputError(`churn: no user is at risk at cutoff ${iso(t)} (population ${labels.nPopulation}); check window_days and the data range`);
  const users: number[] = [];
  for (let u = 0; u < d.nUsers; u++) if (labels.atRisk[u]) users.push(u);
  const features = buildChurnFeatures(d, t, Int32Array.from(users), spec.graceDays, groups);
  const y = Float64Array.from(users, (u) => labels.label[u]);
  return { cutoff: t, labels, features, y };
}

function stack(sets: LabeledSet[]): { X: Float64Array; y: Float64Array; n: number; p: number } {
  const p = sets[0].features.p;
  let n = 0;
  for (const s of sets) n += s.features.n;
  const X = new Float64Array(n * p);
  const y = new Float64Array(n);
  let o = 0;
  for (const s of sets) {
    X.set(s.features.X, o * p);
    y.set(s.y, o);
    o += s.features.n;
  }
  return { X, y, n, p };
}

function singleClassCheck(y: Float64Array, what: string): void {
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i];
  if (pos === 0 || pos === y.length) {
    throw new InputError(
      `churn: ${what} has a single class: ${pos === 0 ? "no" : "every one"} of the ${y.length} users at risk churned; the model needs churners and non-churners (check window_days, the label definition and the data)`,
    );
  }
}

/** A calibration map. Calibrated probabilities are clipped to [1e-4, 1 − 1e-4] so no user is certain. */
export type Calibrator = { method: "none" } | { method: "platt"; model: PlattModel } | { method: "isotonic"; model: IsotonicModel };

const CLIP = 1e-4;

/** Fits a calibration map of raw probabilities to outcomes. */
export function fitCalibrator(method: "none" | "platt" | "isotonic", y: Float64Array, pRaw: Float64Array): Calibrator {
  if (method === "platt") return { method, model: fitPlatt(y, pRaw) };
  if (method === "isotonic") return { method, model: fitIsotonicCalibration(y, pRaw) };
  return { method: "none" };
}

/** Applies a calibration map (clipped). */
export function applyCalibrator(c: Calibrator, pRaw: Float64Array): Float64Array {
  const out = c.method === "platt" ? plattPredict(c.model, pRaw) : c.method === "isotonic" ? isotonicPredict(c.model, pRaw) : Float64Array.from(pRaw);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1 - CLIP, Math.max(CLIP, out[i]));
  return out;
}

/** 2-fold cross-fitted log loss of Platt and isotonic calibration on a calibration set (folds by user id parity). */
export function crossFitCalibration(y: Float64Array, pRaw: Float64Array, users: Int32Array): { platt: number; isotonic: number } {
  const res = { platt: 0, isotonic: 0 };
  for (const method of ["platt", "isotonic"] as const) {
    const pred = new Float64Array(y.length);
    for (let f = 0; f < 2; f++) {
      const tr: number[] = [];
      const te: number[] = [];
      for (let i = 0; i < y.length; i++) ((users[i] & 1) === f ? te : tr).push(i);
      const ytr = Float64Array.from(tr, (i) => y[i]);
      let pos = 0;
      for (const v of ytr) pos += v;
      if (pos === 0 || pos === ytr.length || te.length === 0) return { platt: 0, isotonic: 1 }; // too small to compare: prefer Platt
      const cal = fitCalibrator(method, ytr, Float64Array.from(tr, (i) => pRaw[i]));
      const out = applyCalibrator(cal, Float64Array.from(te, (i) => pRaw[i]));
      te.forEach((i, k) => (pred[i] = out[k]));
    }
    res[method] = logLoss(y, pred);
  }
  return res;
}

/** Headline metrics of one set of predictions. */
export interface ScoreMetrics {
  roc_auc: number;
  pr_auc: number;
  log_loss: number;
  brier: number;
  ece_equal_width: number;
  ece_equal_mass: number;
  mean_predicted: number;
}

/** ROC-AUC, PR-AUC, log loss, Brier and ECE (equal-width and equal-mass bins) via src/eval. */
export function scoreMetrics(y: Float64Array, p: Float64Array, bins: number): ScoreMetrics {
  let mp = 0;
  for (let i = 0; i < p.length; i++) mp += p[i];
  return {
    roc_auc: rocAuc(y, p),
    pr_auc: averagePrecision(y, p),
    log_loss: logLoss(y, p),
    brier: brierScore(y, p),
    ece_equal_width: expectedCalibrationError(y, p, { nBins: bins, strategy: "equal-width" }),
    ece_equal_mass: expectedCalibrationError(y, p, { nBins: bins, strategy: "equal-mass" }),
    mean_predicted: mp / p.length,
  };
}

function curveJson(y: Float64Array, p: Float64Array, bins: number, strategy: "equal-width" | "equal-mass") {
  const c = reliabilityCurve(y, p, { nBins: bins, strategy });
  return { prob_pred: Array.from(c.probPred), prob_true: Array.from(c.probTrue), count: Array.from(c.count), bin: Array.from(c.bin), edges: Array.from(c.edges) };
}

/** Band label of a value against ascending edges: "<e0", "e0-e1", …, "≥ek". */
export function bandLabel(v: number, edges: number[], unit: string): string {
  if (edges.length === 0) return "all";
  if (v < edges[0]) return `<${edges[0]}${unit}`;
  for (let k = 1; k < edges.length; k++) if (v < edges[k]) return `${edges[k - 1]}-${edges[k]}${unit}`;
  return `>=${edges[edges.length - 1]}${unit}`;
}

/** Tenure (days) and activity (events in the last 30 days) bands of each row of a feature matrix. */
export function segmentsOf(fm: FeatureMatrix, cfg: ChurnConfig): { tenure: string[]; activity: string[] } {
  const tenure = featureColumn(fm, "log_tenure_days");
  const ev30 = featureColumn(fm, "log_events_30d");
  return {
    tenure: Array.from(tenure, (v) => bandLabel(Math.expm1(v), cfg.risk.tenure_bands_days, "d")),
    activity: Array.from(ev30, (v) => bandLabel(Math.round(Math.expm1(v)), cfg.risk.activity_bands_events_30d, " events/30d")),
  };
}

/** One fitted model with its calibration. */
export interface FittedModel {
  name: "logistic" | "gbdt";
  model: ChurnModel;
  calibrator: Calibrator;
  /** raw predictions on the calibration set (for calibration bootstraps) */
  calRaw: Float64Array;
  calAuc: number;
  cvLogLoss: { platt: number; isotonic: number } | null;
}

/** Everything a fit on one set of cutoffs produces. */
export interface FitResult {
  cutoffs: FitCutoffs;
  train: { rows: number; positives: number; perCutoff: { cutoff: string; at_risk: number; churned: number }[] };
  cal: LabeledSet;
  models: FittedModel[];
  selected: FittedModel;
}

function predictRaw(m: ChurnModel, X: Float64Array, n: number): Float64Array {
  return m.kind === "logistic" ? logisticPredict(m, X, n) : gbdtPredict(m, X, n);
}

/** Fits the models on `cutoffs.train`, calibrates them on `cutoffs.calibration`, and picks one. */
export function fitOnCutoffs(d: ChurnData, protocol: ChurnProtocol, cutoffs: FitCutoffs, groups: FeatureGroups, cfg: ChurnConfig, seed: number, log: Logger): FitResult {
  const sets = cutoffs.train.map((t) => labeledSet(d, t, protocol.spec, groups));
  const tr = stack(sets);
  singleClassCheck(tr.y, `the training data (cutoffs ${cutoffs.train.map(iso).join(", ")})`);
  const cal = labeledSet(d, cutoffs.calibration, protocol.spec, groups);
  singleClassCheck(cal.y, `the calibration cutoff ${iso(cutoffs.calibration)}`);
  const names = sets[0].features.names;
  const fitted: FittedModel[] = [];
  const lr = fitLogistic(tr.X, tr.n, tr.p, tr.y, {
    l2: cfg.logistic.l2,
    classWeight: cfg.logistic.class_weight,
    maxIterations: cfg.logistic.max_iterations,
    tolerance: cfg.logistic.tolerance,
    names,
    logger: log,
  });
  const candidates: { name: "logistic" | "gbdt"; model: ChurnModel }[] = [{ name: "logistic", model: lr }];
  if (cfg.gbdt.enabled || cfg.model === "gbdt") {
    const g = cfg.gbdt;
    const gb = fitGbdt(tr.X, tr.n, tr.p, tr.y, {
      trees: g.trees,
      learningRate: g.learning_rate,
      maxDepth: g.max_depth,
      maxBins: g.max_bins,
      minChildWeight: g.min_child_weight,
      l2: g.l2,
      subsample: g.subsample,
      colsample: g.colsample,
      seed,
      names,
      logger: log,
    });
    candidates.push({ name: "gbdt", model: gb });
  }
  for (const c of candidates) {
    const calRaw = predictRaw(c.model, cal.features.X, cal.features.n);
    let method: "none" | "platt" | "isotonic";
    let cv: FittedModel["cvLogLoss"] = null;
    if (cfg.calibration === "auto") {
      cv = crossFitCalibration(cal.y, calRaw, cal.features.users);
      method = cv.isotonic < cv.platt ? "isotonic" : "platt";
    } else method = cfg.calibration;
    fitted.push({ name: c.name, model: c.model, calibrator: fitCalibrator(method, cal.y, calRaw), calRaw, calAuc: rocAuc(cal.y, calRaw), cvLogLoss: cv });
  }
  let selected = fitted[0];
  if (cfg.model === "gbdt") selected = fitted.find((f) => f.name === "gbdt") as FittedModel;
  else if (cfg.model === "auto" && fitted.length > 1 && fitted[1].calAuc > fitted[0].calAuc + 0.002) selected = fitted[1];
  let positives = 0;
  for (const v of tr.y) positives += v;
  return {
    cutoffs,
    train: {
      rows: tr.n,
      positives,
      perCutoff: sets.map((s) => ({ cutoff: iso(s.cutoff), at_risk: s.labels.nAtRisk, churned: s.labels.nChurned })),
    },
    cal,
    models: fitted,
    selected,
  };
}

/** Scores of the population at a cutoff under a fitted model. */
export interface Scores {
  cutoff: number;
  features: FeatureMatrix;
  pRaw: Float64Array;
  p: Float64Array;
  explanations: string[][];
  /** labels where observable (NaN otherwise): the latest_window scores have them */
  y: Float64Array;
}

/** Scores every population member at cutoff t. */
export function scorePopulation(d: ChurnData, t: number, spec: LabelSpec, groups: FeatureGroups, fm: FittedModel, topK: number, labels?: CutoffLabels): Scores {
  const pop = labels ? labels.population : populationAt(d, t, spec);
  const users: number[] = [];
  for (let u = 0; u < d.nUsers; u++) if (pop[u]) users.push(u);
  if (users.length === 0) throw new InputError(`churn: nobody to score at ${iso(t)} (no ${spec.kind === "contractual" ? "subscribers" : "recently active users"})`);
  const features = buildChurnFeatures(d, t, Int32Array.from(users), spec.graceDays, groups);
  const pRaw = predictRaw(fm.model, features.X, features.n);
  const p = applyCalibrator(fm.calibrator, pRaw);
  const y = Float64Array.from(users, (u) => (labels && labels.atRisk[u] ? labels.label[u] : NaN));
  return { cutoff: t, features, pRaw, p, explanations: explainRows(fm.model, features.X, features.n, topK), y };
}

/** The evaluation report (outputs/reports/churn_metrics.json). */
export type ChurnMetricsReport = Record<string, unknown>;

/** Everything {@link runChurnModel} produces. */
export interface ChurnRun {
  data: ChurnData;
  protocol: ChurnProtocol;
  groups: FeatureGroups;
  featureNames: string[];
  evaluation: FitResult;
  /** the fit behind the final scores (the evaluation fit for latest_window) */
  scoringFit: FitResult;
  /** test-cutoff scores of the evaluation fit's selected model (at-risk rows carry labels) */
  test: Scores;
  scores: Scores;
  metrics: ChurnMetricsReport;
  warnings: string[];
}

function modelSummary(m: FittedModel) {
  const base = {
    name: m.name,
    calibration: m.calibrator.method,
    calibration_cv_log_loss: m.cvLogLoss,
    calibration_cutoff_roc_auc: m.calAuc,
    dropped_constant_features: m.model.dropped,
  };
  if (m.model.kind === "logistic") {
    const lr = m.model as LogisticModel;
    return {
      ...base,
      l2: lr.l2,
      class_weights: lr.classWeights,
      iterations: lr.iterations,
      intercept: lr.intercept,
      coefficients_standardised: Object.fromEntries(lr.names.map((nm, j) => [nm, lr.coef[j]])),
    };
  }
  const g = m.model as GbdtModel;
  let tot = 0;
  for (const v of g.gain) tot += v;
  return {
    ...base,
    trees: g.trees.length,
    learning_rate: g.learningRate,
    gain_share: Object.fromEntries(g.names.map((nm, j) => [nm, tot > 0 ? g.gain[j] / tot : 0])),
  };
}

/** Rows `rows` of a row-major matrix with p columns. */
export function selectRows(X: Float64Array, p: number, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length * p);
  for (let k = 0; k < rows.length; k++) out.set(X.subarray(rows[k] * p, (rows[k] + 1) * p), k * p);
  return out;
}

/** Test-cutoff evaluation of every model: raw, Platt, isotonic and chosen calibration; CIs, curves and segments for the selected one. */
function evaluate(d: ChurnData, protocol: ChurnProtocol, fit: FitResult, groups: FeatureGroups, cfg: ChurnConfig, seed: number, warnings: string[]): { report: Record<string, unknown>; test: Scores } {
  const labels = labelsAt(d, protocol.testCutoff, protocol.spec);
  const test = scorePopulation(d, protocol.testCutoff, protocol.spec, groups, fit.selected, cfg.top_features, labels);
  const rows: number[] = [];
  for (let i = 0; i < test.y.length; i++) if (test.y[i] === test.y[i]) rows.push(i);
  const y = Float64Array.from(rows, (i) => test.y[i]);
  let pos = 0;
  for (const v of y) pos += v;
  const bins = cfg.metrics.bins;
  const base = { cutoff: iso(protocol.testCutoff), at_risk: y.length, churned: pos, base_rate: y.length ? pos / y.length : null };
  if (pos === 0 || pos === y.length) {
    warnings.push(`test cutoff ${iso(protocol.testCutoff)} has a single class (${pos} churned of ${y.length}); metrics are undefined`);
    return { report: { ...base, models: null }, test };
  }
  const X = selectRows(test.features.X, test.features.p, rows);
  const models: Record<string, unknown> = {};
  let selectedCal: Float64Array = new Float64Array(0);
  for (const m of fit.models) {
    const raw = predictRaw(m.model, X, rows.length);
    const platt = applyCalibrator(fitCalibrator("platt", fit.cal.y, m.calRaw), raw);
    const iso_ = applyCalibrator(fitCalibrator("isotonic", fit.cal.y, m.calRaw), raw);
    const chosen = applyCalibrator(m.calibrator, raw);
    if (m === fit.selected) selectedCal = chosen;
    models[m.name] = {
      ...modelSummary(m),
      raw: scoreMetrics(y, raw, bins),
      platt: scoreMetrics(y, platt, bins),
      isotonic: scoreMetrics(y, iso_, bins),
      calibrated: scoreMetrics(y, chosen, bins),
      reliability: {
        raw: { equal_width: curveJson(y, raw, bins, "equal-width"), equal_mass: curveJson(y, raw, bins, "equal-mass") },
        calibrated: { equal_width: curveJson(y, chosen, bins, "equal-width"), equal_mass: curveJson(y, chosen, bins, "equal-mass") },
      },
    };
  }
  const sel = selectedCal;
  let ci: Record<string, unknown> | null = null;
  if (cfg.metrics.bootstrap >= 2) {
    const opt = { nBoot: cfg.metrics.bootstrap, level: cfg.metrics.level, seed: `churn-metrics-${seed}`, strata: y };
    const ew = (a: Float64Array, b: Float64Array) => expectedCalibrationError(a, b, { nBins: bins, strategy: "equal-width" });
    const em = (a: Float64Array, b: Float64Array) => expectedCalibrationError(a, b, { nBins: bins, strategy: "equal-mass" });
    ci = {};
    for (const [k, f] of [
      ["roc_auc", rocAuc],
      ["pr_auc", averagePrecision],
      ["log_loss", logLoss],
      ["brier", brierScore],
      ["ece_equal_width", ew],
      ["ece_equal_mass", em],
    ] as const) {
      const r = bootstrapCi([y, sel], f as (a: Float64Array, b: Float64Array) => number, opt);
      ci[k] = { estimate: r.estimate, lower: r.lower, upper: r.upper, level: r.level, n_boot: r.nBoot, standard_error: r.standardError };
    }
  }
  const seg = segmentsOf(test.features, cfg);
  const tenure = rows.map((i) => seg.tenure[i]);
  const activity = rows.map((i) => seg.activity[i]);
  const bySeg = (s: string[]) => calibrationBySegment(y, sel, s, { nBins: bins, strategy: "equal-mass" });
  return {
    report: {
      ...base,
      selected_model: fit.selected.name,
      models,
      selected_confidence_intervals: ci,
      calibration_by_segment: { tenure: bySeg(tenure), activity: bySeg(activity) },
    },
    test,
  };
}

/** Options of {@link runChurnModel}. */
export interface ChurnRunOptions {
  seed?: number;
  logger?: Logger;
}

/** Plans the protocol, fits, calibrates, evaluates and scores (see the module comment). */
export function runChurnModel(data0: ChurnData, cfg: ChurnConfig, opts: ChurnRunOptions = {}): ChurnRun {
  const log = opts.logger ?? quietLogger;
  const seed = opts.seed ?? 0;
  const warnings: string[] = [];
  const { data, protocol } = planProtocol(data0, cfg);
  const groups = featureGroups(data);
  log.info("churn.protocol", {
    label: protocol.labelKind,
    train: protocol.evaluation.train.map(iso),
    calibration: iso(protocol.evaluation.calibration),
    test: iso(protocol.testCutoff),
    score: iso(protocol.scoreCutoff),
  });
  const evaluation = fitOnCutoffs(data, protocol, protocol.evaluation, groups, cfg, seed, log);
  for (const m of evaluation.models) if (m.model.dropped.length) warnings.push(`${m.name}: constant features dropped: ${m.model.dropped.join(", ")}`);
  const ev = evaluate(data, protocol, evaluation, groups, cfg, seed, warnings);
  let scoringFit = evaluation;
  let scores = ev.test;
  if (protocol.scoreAt === "now") {
    scoringFit = fitOnCutoffs(data, protocol, protocol.scoring, groups, cfg, seed, log);
    scores = scorePopulation(data, protocol.scoreCutoff, protocol.spec, groups, scoringFit.selected, cfg.top_features);
  }
  const fitJson = (f: FitResult) => ({
    train_cutoffs: f.cutoffs.train.map(iso),
    calibration_cutoff: iso(f.cutoffs.calibration),
    train_rows: f.train.rows,
    train_positives: f.train.positives,
    train_per_cutoff: f.train.perCutoff,
    calibration_at_risk: f.cal.labels.nAtRisk,
    calibration_churned: f.cal.labels.nChurned,
    selected_model: f.selected.name,
    calibration: f.selected.calibrator.method,
  });
  const metrics: ChurnMetricsReport = {
    label: {
      kind: protocol.labelKind,
      window_days: cfg.window_days,
      grace_days: protocol.labelKind === "contractual" ? cfg.grace_days : null,
      activity_lookback_days: protocol.labelKind === "activity" ? cfg.activity_lookback_days : null,
      horizon_days: protocol.horizon / DAY,
    },
    protocol: {
      data_start: iso(protocol.dataStart),
      data_end: iso(protocol.dataEnd),
      score_at: protocol.scoreAt,
      score_cutoff: iso(protocol.scoreCutoff),
      test_cutoff: iso(protocol.testCutoff),
      evaluation_fit: fitJson(evaluation),
      scoring_fit: fitJson(scoringFit),
      note:
        "time-based: training labels end by the calibration cutoff, calibration labels end by the test cutoff, test labels end by data_end; " +
        (protocol.scoreAt === "now" ? "final scores come from the same protocol shifted one window later and scored at data_end" : "final scores are the test-cutoff scores"),
    },
    features: evaluation.cal.features.names,
    test: ev.report,
    warnings,
  };
  return {
    data,
    protocol,
    groups,
    featureNames: evaluation.cal.features.names,
    evaluation,
    scoringFit,
    test: ev.test,
    scores,
    metrics,
    warnings,
  };
}
