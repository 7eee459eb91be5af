/**
 * The `score-users` stage as a pure function: reads a run's canonical tables, trains and
 * evaluates the churn model with the time-based protocol (model.ts), values users (ltv.ts),
 * builds the revenue-at-risk radar (risk.ts) and the intervention plan (interventions.ts), and
 * writes, under the run's outputs directory:
 *
 * - churn/churn_scores.parquet (user_id, p_churn, p_churn_raw, model, top_features VARCHAR[] of "feature:+0.42")
 * - churn/user_risk.parquet (one row per scored user, ordered by rank)
 * - churn/intervention_plan.parquet (ordered by selection priority)
 * - reports/churn_metrics.json, reports/revenue_risk_summary.json
 *
 * Every Parquet COPY has a total ORDER BY and the JSON is stable-stringified, so identical inputs
 * and config give byte-identical files.
 */
import * as path from "node:path";
import type { Duck } from "../data/duck";
import { quoteIdent } from "../data/duck";
import { writeFileAtomic } from "../util/atomic";
import { quietLogger, type Logger } from "../util/log";
import { stableStringify } from "../util/stable-json";
import type { ChurnConfig } from "./config";
import { loadChurnData, type ChurnData, type ChurnInputPaths } from "./data";
import { experimentSpec, planInterventions } from "./interventions";
import { lifetimeValues, type LtvResult } from "./ltv";
import { iso, runChurnModel, type ChurnRun } from "./model";
import { buildRiskTable, riskSummary } from "./risk";

/** Input tables and the outputs directory (runLayout(runDir).outputs). */
export interface ScoreUsersPaths extends ChurnInputPaths {
  outputs: string;
}

/** Options of {@link scoreUsers}. */
export interface ScoreUsersOptions {
  /** seeds the GBDT subsampling, bootstraps and draws (default 0) */
  seed?: number;
  logger?: Logger;
}

/** What the stage returns (and the lead's StageResult can be built from). */
export interface ScoreUsersSummary {
  outputs: {
    churnScores: string;
    userRisk: string;
    interventionPlan: string;
    churnMetrics: string;
    revenueRiskSummary: string;
  };
  rows: { scored: number; planned: number; test_at_risk: number };
  /** time range the run read (unix seconds) */
  timeRange: { min: number; max: number };
  label: string;
  scoreCutoff: string;
  testCutoff: string;
  selectedModel: string;
  calibration: string;
  test: { roc_auc: number | null; ece_equal_width: number | null };
  revenueAtRisk: number | null;
  warnings: string[];
}

/** Output file paths under an outputs directory. */
export function churnOutputs(outputs: string): ScoreUsersSummary["outputs"] {
  return {
    churnScores: path.join(outputs, "churn", "churn_scores.parquet"),
    userRisk: path.join(outputs, "churn", "user_risk.parquet"),
    interventionPlan: path.join(outputs, "churn", "intervention_plan.parquet"),
    churnMetrics: path.join(outputs, "reports", "churn_metrics.json"),
    revenueRiskSummary: path.join(outputs, "reports", "revenue_risk_summary.json"),
  };
}

type Column = { type: "INTEGER"; values: Int32Array } | { type: "DOUBLE"; values: Float64Array } | { type: "VARCHAR"; values: string[] } | { type: "VARCHAR[]"; values: string[][] };

const SEP = "\u001f";

/**
 * Writes columns to Parquet through an appender (NaN doubles become NULL; string lists go through
 * a unit-separator join and `string_split`), ordered by `orderBy`.
 */
export async function writeColumns(db: Duck, file: string, cols: Record<string, Column>, orderBy: string): Promise<number> {
  const names = Object.keys(cols);
  const n = names.length ? cols[names[0]].values.length : 0;
  const table = `_churn_out_${path.basename(file).replace(/\W/g, "_")}`;
  const sqlType = (c: Column) => (c.type === "VARCHAR[]" ? "VARCHAR" : c.type);
  await db.run(`CREATE OR REPLACE TABLE ${table} (${names.map((nm) => `${quoteIdent(nm)} ${sqlType(cols[nm])}`).join(", ")})`);
  try {
    const app = await db.conn.createAppender(table);
    for (let i = 0; i < n; i++) {
      for (const nm of names) {
        const c = cols[nm];
        if (c.type === "INTEGER") app.appendInteger(c.values[i]);
        else if (c.type === "DOUBLE") {
          const v = c.values[i];
          if (Number.isFinite(v)) app.appendDouble(v);
          else app.appendNull();
        } else if (c.type === "VARCHAR") app.appendVarchar(c.values[i]);
        else app.appendVarchar(c.values[i].join(SEP));
      }
      app.endRow();
    }
    app.flushSync();
    app.closeSync();
    const select = names
      .map((nm) => (cols[nm].type === "VARCHAR[]" ? `CASE WHEN ${quoteIdent(nm)} = '' THEN CAST([] AS VARCHAR[]) ELSE string_split(${quoteIdent(nm)}, chr(31)) END AS ${quoteIdent(nm)}` : quoteIdent(nm)))
      .join(", ");
    return await db.copyToParquet(`SELECT ${select} FROM ${table} ORDER BY ${orderBy}`, file);
  } finally {
    await db.run(`DROP TABLE IF EXISTS ${table}`);
  }
}

function monthlyChurnRate(run: ChurnRun, windowDays: number): number {
  const l = run.scoringFit.cal.labels;
  const r = l.nAtRisk ? l.nChurned / l.nAtRisk : 0;
  return 1 - Math.pow(1 - r, 30.436875 / windowDays);
}

/** Runs the whole churn → value → risk → interventions chain in memory (no files); used by score-users and the truth check. */
export function churnPipeline(data: ChurnData, cfg: ChurnConfig, opts: ScoreUsersOptions = {}): { run: ChurnRun; ltv: LtvResult; risk: ReturnType<typeof buildRiskTable>; plan: ReturnType<typeof planInterventions> | null; summary: Record<string, unknown> } {
  const seed = opts.seed ?? 0;
  const log = opts.logger ?? quietLogger;
  const run = runChurnModel(data, cfg, { seed, logger: log });
  const ltv = lifetimeValues(
    {
      data: run.data,
      spec: run.protocol.spec,
      groups: run.groups,
      scores: run.scores,
      fitted: run.scoringFit.selected,
      calY: run.scoringFit.cal.y,
      monthlyChurnRate: monthlyChurnRate(run, cfg.window_days),
      seed,
    },
    cfg,
  );
  for (const w of ltv.warnings) log.warn("churn.ltv", { message: w });
  const risk = buildRiskTable(run.data, run.scores, ltv, cfg);
  let plan: ReturnType<typeof planInterventions> | null = null;
  let interventions: Record<string, unknown> = { enabled: cfg.interventions.enabled };
  const iopts = {
    budget: cfg.interventions.budget,
    minRoi: cfg.interventions.min_roi,
    holdoutFraction: cfg.interventions.holdout_fraction,
    salt: cfg.interventions.salt,
    level: cfg.ltv.interval_level,
    seed,
  };
  if (cfg.interventions.enabled && ltv.method !== "none") {
    plan = planInterventions({ users: risk.users, p: ltv.p, revenueAtRisk: ltv.revenueAtRisk, rarDraws: ltv.rarDraws, price: ltv.price }, cfg.interventions.catalogue, iopts);
    const kind = run.protocol.labelKind;
    interventions = {
      enabled: true,
      ...plan.summary,
      experiment: experimentSpec(plan, iopts, {
        metric: `${kind} churn`,
        windowDays: cfg.window_days,
        from: iso(run.protocol.scoreCutoff),
        definition:
          kind === "contractual"
            ? `a renewal due within ${cfg.window_days} days of measured_from is not paid within ${cfg.grace_days} days of its due date`
            : `no event within ${cfg.window_days} days of measured_from`,
      }),
    };
  } else if (cfg.interventions.enabled) {
    interventions = { enabled: false, reason: "no revenue data: savings cannot be valued" };
  }
  const summary = {
    as_of: iso(run.protocol.dataEnd),
    score_cutoff: iso(run.protocol.scoreCutoff),
    score_at: run.protocol.scoreAt,
    label: run.protocol.labelKind,
    window_days: cfg.window_days,
    model: run.scoringFit.selected.name,
    calibration: run.scoringFit.selected.calibrator.method,
    value: {
      method: ltv.method,
      horizon_months: ltv.horizonMonths,
      interval_level: ltv.level,
      definitions: {
        expected_ltv: "expected revenue over the horizon: (1 − p)·V⁺ + p·V⁻",
        value_if_retained: "V⁺: expected revenue over the horizon if the next renewal is paid",
        winback_value: "V⁻: expected revenue over the horizon from returning after churning at the next renewal",
        revenue_at_risk: "p · (V⁺ − V⁻): expected revenue lost over the horizon because of churn in the label window",
        revenue_at_risk_gross: "p · V⁺ (ignores win-backs)",
        legacy_ltv: "LEGACY HEURISTIC baseline: avg monthly revenue (last 90 days) × min(1 / monthly churn rate, cap)",
      },
      ...ltv.info,
      legacy_monthly_churn_rate: monthlyChurnRate(run, cfg.window_days),
    },
    radar: riskSummary(risk, ltv, cfg),
    interventions,
    warnings: [...run.warnings, ...ltv.warnings],
  };
  return { run, ltv, risk, plan, summary };
}

/**
 * The stage: loads the tables, runs {@link churnPipeline} and writes the five outputs (see the
 * module comment). Returns a summary for the stage manifest.
 */
export async function scoreUsers(db: Duck, paths: ScoreUsersPaths, cfg: ChurnConfig, opts: ScoreUsersOptions = {}): Promise<ScoreUsersSummary> {
  const log = opts.logger ?? quietLogger;
  const data = await loadChurnData(db, paths);
  const { run, ltv, risk, plan, summary } = churnPipeline(data, cfg, opts);
  const out = churnOutputs(paths.outputs);
  const s = run.scores;
  const users = s.features.users;
  const n = users.length;
  const modelName = run.scoringFit.selected.name;
  await writeColumns(
    db,
    out.churnScores,
    {
      user_id: { type: "INTEGER", values: users },
      p_churn: { type: "DOUBLE", values: s.p },
      p_churn_raw: { type: "DOUBLE", values: s.pRaw },
      model: { type: "VARCHAR", values: new Array<string>(n).fill(modelName) },
      top_features: { type: "VARCHAR[]", values: s.explanations },
    },
    "user_id",
  );
  await writeColumns(
    db,
    out.userRisk,
    {
      rank: { type: "INTEGER", values: risk.rank },
      user_id: { type: "INTEGER", values: users },
      tier: { type: "VARCHAR", values: risk.tier },
      plan: { type: "VARCHAR", values: risk.plan },
      tenure_band: { type: "VARCHAR", values: risk.tenureBand },
      activity_band: { type: "VARCHAR", values: risk.activityBand },
      p_churn: { type: "DOUBLE", values: ltv.p },
      p_churn_lower: { type: "DOUBLE", values: ltv.pLo },
      p_churn_upper: { type: "DOUBLE", values: ltv.pHi },
      monthly_price: { type: "DOUBLE", values: ltv.price },
      expected_ltv: { type: "DOUBLE", values: ltv.ltv },
      expected_ltv_lower: { type: "DOUBLE", values: ltv.ltvLo },
      expected_ltv_upper: { type: "DOUBLE", values: ltv.ltvHi },
      value_if_retained: { type: "DOUBLE", values: ltv.valueIfRetained },
      winback_value: { type: "DOUBLE", values: ltv.valueAfterChurn },
      revenue_at_risk: { type: "DOUBLE", values: ltv.revenueAtRisk },
      revenue_at_risk_lower: { type: "DOUBLE", values: ltv.rarLo },
      revenue_at_risk_upper: { type: "DOUBLE", values: ltv.rarHi },
      revenue_at_risk_gross: { type: "DOUBLE", values: ltv.revenueAtRiskGross },
      legacy_ltv: { type: "DOUBLE", values: ltv.legacyLtv },
    },
    "rank",
  );
  const rows = plan?.rows ?? [];
  await writeColumns(
    db,
    out.interventionPlan,
    {
      priority: { type: "INTEGER", values: Int32Array.from(rows, (r) => r.priority) },
      user_id: { type: "INTEGER", values: Int32Array.from(rows, (r) => r.user) },
      action: { type: "VARCHAR", values: rows.map((r) => r.action) },
      group: { type: "VARCHAR", values: rows.map((r) => r.group) },
      cost: { type: "DOUBLE", values: Float64Array.from(rows, (r) => r.cost) },
      expected_saved: { type: "DOUBLE", values: Float64Array.from(rows, (r) => r.expectedSaved) },
      saved_lower: { type: "DOUBLE", values: Float64Array.from(rows, (r) => r.savedLower) },
      saved_upper: { type: "DOUBLE", values: Float64Array.from(rows, (r) => r.savedUpper) },
      net_value: { type: "DOUBLE", values: Float64Array.from(rows, (r) => r.net) },
      roi: { type: "DOUBLE", values: Float64Array.from(rows, (r) => r.roi) },
      p_churn: { type: "DOUBLE", values: Float64Array.from(rows, (r) => r.p) },
      revenue_at_risk: { type: "DOUBLE", values: Float64Array.from(rows, (r) => r.revenueAtRisk) },
    },
    "priority, user_id",
  );
  writeFileAtomic(out.churnMetrics, stableStringify(run.metrics));
  writeFileAtomic(out.revenueRiskSummary, stableStringify(summary));
  const test = run.metrics.test as { at_risk: number; models: Record<string, { calibrated: { roc_auc: number; ece_equal_width: number } }> | null; selected_model?: string };
  const sel = test.models && test.selected_model ? test.models[test.selected_model] : null;
  const total = (summary.radar as { total: { revenue_at_risk: number } }).total.revenue_at_risk;
  log.info("churn.scored", { users: n, model: modelName, test_auc: sel?.calibrated.roc_auc ?? null, revenue_at_risk: ltv.method === "none" ? null : total });
  return {
    outputs: out,
    rows: { scored: n, planned: rows.length, test_at_risk: test.at_risk },
    timeRange: { min: run.protocol.dataStart, max: run.protocol.dataEnd },
    label: run.protocol.labelKind,
    scoreCutoff: iso(run.protocol.scoreCutoff),
    testCutoff: iso(run.protocol.testCutoff),
    selectedModel: modelName,
    calibration: run.scoringFit.selected.calibrator.method,
    test: { roc_auc: sel?.calibrated.roc_auc ?? null, ece_equal_width: sel?.calibrated.ece_equal_width ?? null },
    revenueAtRisk: ltv.method === "none" ? null : total,
    warnings: summary.warnings as string[],
  };
}
