import { beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { validateChurnConfig } from "../src/churn/config";
import { loadChurnData, type ChurnData } from "../src/churn/data";
import { churnPipeline, scoreUsers, type ScoreUsersSummary } from "../src/churn/score-users";
import { parquet, withDuck } from "../src/data/duck";
import { syntheticSource } from "../src/data/events";
import { ingestDataset } from "../src/data/ingest";
import { generateWorld, writeWorld } from "../src/data/synthetic";
import { runLayout } from "../src/pipeline/stages";
import { sha256File } from "../src/util/hash";
import { tmpDir } from "./helpers/tmp";

const DAY = 86_400;
const cfg = validateChurnConfig({
  min_history_days: 30,
  train_cutoffs: 2,
  gbdt: { trees: 25 },
  metrics: { bootstrap: 20 },
  ltv: { draws: 20, fit_lookback_months: 3 },
  interventions: { budget: 200 },
});

describe("score-users on a tiny synthetic world", () => {
  const root = tmpDir("ntg-churn-");
  const L = runLayout(root);
  const outA = path.join(root, "a");
  const outB = path.join(root, "b");
  let a: ScoreUsersSummary;
  let b: ScoreUsersSummary;
  let data: ChurnData;

  beforeAll(async () => {
    const world = generateWorld({ users: 800, items: 200, days: 200, seed: 5 }, { threads: 1 });
    await withDuck(
      async (db) => {
        await writeWorld(world, L.world, db);
        await ingestDataset(
          db,
          syntheticSource(L.world),
          { ratingRange: null, maxBadFraction: 0.05, maxFutureSeconds: DAY, minTs: 0, dropDuplicates: true, nowTs: world.endTs + DAY },
          L.processed,
        );
        const paths = { interactions: L.interactions, users: L.users, revenue: L.revenue };
        a = await scoreUsers(db, { ...paths, outputs: outA }, cfg, { seed: 3 });
        b = await scoreUsers(db, { ...paths, outputs: outB }, cfg, { seed: 3 });
        data = await loadChurnData(db, paths);
      },
      { threads: 1 },
    );
  }, 120_000);

  it("writes every output, byte-identical across two runs", () => {
    for (const k of Object.keys(a.outputs) as (keyof ScoreUsersSummary["outputs"])[]) {
      expect(fs.existsSync(a.outputs[k]), k).toBe(true);
      expect(sha256File(a.outputs[k]), k).toBe(sha256File(b.outputs[k]));
    }
    expect(path.relative(outA, a.outputs.churnScores)).toBe(path.join("churn", "churn_scores.parquet"));
    expect(path.relative(outA, a.outputs.churnMetrics)).toBe(path.join("reports", "churn_metrics.json"));
    expect(a.label).toBe("contractual");
    expect(a.rows.scored).toBeGreaterThan(100);
  });

  it("churn_scores has the promised columns, probabilities and 'feature:+0.42' explanations", async () => {
    await withDuck(async (db) => {
      const types = await db.rows<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${parquet(a.outputs.churnScores)}`);
      expect(types.map((t) => `${t.column_name}:${t.column_type}`)).toEqual(["user_id:INTEGER", "p_churn:DOUBLE", "p_churn_raw:DOUBLE", "model:VARCHAR", "top_features:VARCHAR[]"]);
      const rows = await db.rows<{ user_id: number; p_churn: number; p_churn_raw: number; model: string; top_features: string[] }>(`SELECT * FROM ${parquet(a.outputs.churnScores)} ORDER BY user_id`);
      expect(rows.length).toBe(a.rows.scored);
      for (const r of rows) {
        expect(r.p_churn).toBeGreaterThan(0);
        expect(r.p_churn).toBeLessThan(1);
        expect(r.top_features.length).toBe(3);
        for (const f of r.top_features) expect(f).toMatch(/^[a-z0-9_-]+:[+-]\d+\.\d\d$/i);
      }
      const risk = await db.rows<{ rank: number; tier: string; revenue_at_risk: number; revenue_at_risk_lower: number; revenue_at_risk_upper: number; expected_ltv: number }>(
        `SELECT rank, tier, revenue_at_risk, revenue_at_risk_lower, revenue_at_risk_upper, expected_ltv FROM ${parquet(a.outputs.userRisk)}`,
      );
      expect(risk.map((r) => r.rank)).toEqual(risk.map((_, i) => i + 1));
      for (let i = 1; i < risk.length; i++) expect(risk[i].revenue_at_risk).toBeLessThanOrEqual(risk[i - 1].revenue_at_risk);
      for (const r of risk) {
        expect(["critical", "high", "medium", "low"]).toContain(r.tier);
        expect(r.expected_ltv).toBeGreaterThanOrEqual(0);
        expect(r.revenue_at_risk_lower).toBeLessThanOrEqual(r.revenue_at_risk_upper);
      }
      const plan = await db.rows<{ cost: number; group: string; roi: number }>(`SELECT cost, "group", roi FROM ${parquet(a.outputs.interventionPlan)}`);
      expect(plan.reduce((s, r) => s + r.cost, 0)).toBeLessThanOrEqual(200 + 1e-9);
      for (const r of plan) expect(r.roi).toBeGreaterThanOrEqual(cfg.interventions.min_roi);
    });
  });

  it("reports metrics, the protocol and the radar/intervention summary", () => {
    const m = JSON.parse(fs.readFileSync(a.outputs.churnMetrics, "utf8"));
    expect(m.label.kind).toBe("contractual");
    const p = m.protocol;
    // time-based: train < calibration < test < data end, and the test window ends by the data end
    const t = (s: string) => Date.parse(s) / 1000;
    for (const c of p.evaluation_fit.train_cutoffs) expect(t(c) + m.label.horizon_days * DAY).toBeLessThanOrEqual(t(p.evaluation_fit.calibration_cutoff));
    expect(t(p.evaluation_fit.calibration_cutoff) + m.label.horizon_days * DAY).toBeLessThanOrEqual(t(p.test_cutoff));
    expect(t(p.test_cutoff) + m.label.horizon_days * DAY).toBeLessThanOrEqual(t(p.data_end));
    expect(p.score_cutoff).toBe(p.data_end);
    expect(Object.keys(m.test.models).sort()).toEqual(["gbdt", "logistic"]);
    for (const k of ["roc_auc", "pr_auc", "log_loss", "brier", "ece_equal_width", "ece_equal_mass"]) expect(typeof m.test.models.logistic.calibrated[k]).toBe("number");
    expect(m.test.selected_confidence_intervals.roc_auc.lower).toBeLessThanOrEqual(m.test.selected_confidence_intervals.roc_auc.upper);
    expect(m.test.calibration_by_segment.tenure.length).toBeGreaterThan(0);
    const s = JSON.parse(fs.readFileSync(a.outputs.revenueRiskSummary, "utf8"));
    expect(s.value.method).toMatch(/^sbg-/);
    expect(s.radar.by_tier.length).toBeGreaterThan(0);
    expect(s.radar.total.users).toBe(a.rows.scored);
    expect(s.interventions.experiment.unit).toBe("user_id");
    expect(s.interventions.spent_on_treatment).toBeLessThanOrEqual(200);
  });

  it("scores the latest complete window and values an unbounded horizon with DERL", () => {
    const latest = churnPipeline(data, validateChurnConfig({ ...cfg, score_at: "latest_window", ltv: { ...cfg.ltv, horizon_months: null, monthly_discount_rate: 0.01 } }), { seed: 3 });
    expect(latest.run.scores.cutoff).toBe(latest.run.protocol.testCutoff);
    // latest-window scores carry their realised labels
    expect(Array.from(latest.run.scores.y).some((v) => v === 1)).toBe(true);
    const twelve = churnPipeline(data, validateChurnConfig({ ...cfg, score_at: "latest_window" }), { seed: 3 });
    for (let i = 0; i < latest.ltv.users.length; i++) {
      expect(Number.isFinite(latest.ltv.valueIfRetained[i])).toBe(true);
      // an unbounded discounted lifetime is worth more than 12 undiscounted months only for loyal users, but always more than one payment
      expect(latest.ltv.valueIfRetained[i]).toBeGreaterThanOrEqual(latest.ltv.price[i]);
    }
    expect(twelve.ltv.horizonMonths).toBe(12);
    expect(Number.isNaN(latest.ltv.horizonEnd)).toBe(true);
  });
});
