import { beforeAll, describe, expect, it } from "vitest";
import { validateChurnConfig } from "../src/churn/config";
import { loadChurnData } from "../src/churn/data";
import { churnPipeline } from "../src/churn/score-users";
import { bayesChurnOracle, churnTruthCheck, TRUTH_TARGETS } from "../src/churn/truth-check";
import { parquet, withDuck } from "../src/data/duck";
import { syntheticSource } from "../src/data/events";
import { ingestDataset } from "../src/data/ingest";
import { generateWorld, trueHazardAt, trueStateAt, validateWorldConfig, writeWorld } from "../src/data/synthetic";
import { buildWorldBase } from "../src/data/synthetic/simulate";
import { runLayout } from "../src/pipeline/stages";
import { tmpDir } from "./helpers/tmp";

const DAY = 86_400;

describe("Bayes churn oracle", () => {
  it("equals the renewal's hazard exactly when the hazard cannot move after the cutoff", () => {
    // no satisfaction effect: a renewal's hazard depends only on frailty, price and renewal count,
    // all fixed at the cutoff, so every future gives the same hazard
    const world = generateWorld({ users: 400, items: 120, days: 150, seed: 11, churn: { satisfactionSensitivity: 0 } }, { threads: 1 });
    const cutoff = world.startTs + 100 * DAY;
    const state = trueStateAt(world, cutoff);
    const users = Int32Array.from({ length: 400 }, (_, u) => u);
    // 27 days: at most one monthly renewal can fall in the window
    const q = bayesChurnOracle(world, users, cutoff, 27, 3, 1);
    let checked = 0;
    for (let u = 0; u < 400; u++) {
      if (!state.subscribed[u]) {
        expect(q[u]).toBeNaN();
        continue;
      }
      const due = state.nextRenewalTs[u];
      if (due > cutoff + 27 * DAY) expect(q[u]).toBe(0);
      else {
        expect(q[u]).toBeCloseTo(trueHazardAt(world, u, cutoff), 12);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("averages over futures when satisfaction drifts, and is deterministic for a seed", () => {
    const world = generateWorld({ users: 300, items: 120, days: 150, seed: 12 }, { threads: 1 });
    const cutoff = world.startTs + 100 * DAY;
    const users = Int32Array.from({ length: 300 }, (_, u) => u);
    const a = bayesChurnOracle(world, users, cutoff, 27, 8, 4);
    const b = bayesChurnOracle(world, users, cutoff, 27, 8, 4);
    expect(Array.from(a)).toEqual(Array.from(b));
    const state = trueStateAt(world, cutoff);
    let differs = 0;
    let n = 0;
    for (let u = 0; u < 300; u++) {
      if (!state.subscribed[u] || state.nextRenewalTs[u] > cutoff + 27 * DAY) continue;
      n++;
      expect(a[u]).toBeGreaterThan(0);
      expect(a[u]).toBeLessThan(1);
      // the realised renewal's hazard is one draw of the future; the oracle averages many
      if (Math.abs(a[u] - trueHazardAt(world, u, cutoff)) > 1e-9) differs++;
    }
    expect(n).toBeGreaterThan(30);
    expect(differs).toBeGreaterThan(n / 2);
  });
});

describe("commitment correlation in the synthetic world", () => {
  const corr = (x: Float64Array, y: Float64Array) => {
    const n = x.length;
    let mx = 0;
    let my = 0;
    for (let i = 0; i < n; i++) {
      mx += x[i] / n;
      my += y[i] / n;
    }
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < n; i++) {
      sxy += (x[i] - mx) * (y[i] - my);
      sxx += (x[i] - mx) ** 2;
      syy += (y[i] - my) ** 2;
    }
    return sxy / Math.sqrt(sxx * syy);
  };
  const logs = (rho: number) => {
    const { pop } = buildWorldBase(validateWorldConfig({ users: 20_000, items: 100, seed: 3, churn: { commitmentCorrelation: rho } }));
    return { lf: pop.frailty.map(Math.log), la: pop.activity.map(Math.log), frailty: pop.frailty };
  };

  it("light users are frailer by the configured correlation, with the frailty's law unchanged", () => {
    const sd = validateWorldConfig({}).churn.frailtySd;
    for (const rho of [0, 0.6]) {
      const { lf, la, frailty } = logs(rho);
      // activity is clamped at its extremes, so the correlation is measured slightly below rho
      expect(corr(lf, la)).toBeGreaterThan(-rho - 0.03);
      expect(corr(lf, la)).toBeLessThan(-rho * 0.93 + 0.03);
      let m = 0;
      let v = 0;
      for (let i = 0; i < lf.length; i++) m += lf[i] / lf.length;
      for (let i = 0; i < lf.length; i++) v += (lf[i] - m) ** 2 / (lf.length - 1);
      expect(Math.sqrt(v)).toBeCloseTo(sd, 1);
      expect(frailty.reduce((s, f) => s + f, 0) / frailty.length).toBeCloseTo(1, 1);
    }
  });
});

describe("churn truth check on a small world (plumbing, not the targets)", () => {
  const L = runLayout(tmpDir("ntg-truth-"));
  let report: Record<string, unknown>;
  let again: Record<string, unknown>;

  beforeAll(async () => {
    const world = generateWorld({ users: 900, items: 200, days: 200, seed: 5 }, { threads: 1 });
    const cfg = validateChurnConfig({ score_at: "latest_window", min_history_days: 30, train_cutoffs: 2, gbdt: { trees: 20 }, metrics: { bootstrap: 10 }, ltv: { draws: 10, fit_lookback_months: 3 } });
    await withDuck(
      async (db) => {
        await writeWorld(world, L.world, db);
        await ingestDataset(
          db,
          syntheticSource(L.world),
          { ratingRange: null, maxBadFraction: 0.05, maxFutureSeconds: DAY, minTs: 0, dropDuplicates: true, nowTs: world.endTs + DAY },
          L.processed,
        );
        const data = await loadChurnData(db, { interactions: L.interactions, users: L.users, revenue: L.revenue });
        const map = await db.columns(`SELECT CAST(user_key AS INTEGER) - 1 AS u FROM ${parquet(L.users)} ORDER BY user_id`, { u: "i32" });
        const res = churnPipeline(data, cfg, { seed: 2 });
        report = churnTruthCheck(world, res.run, res.ltv, map.u, cfg.window_days, { replicates: 3, oracleReplicates: 4, seed: 9 });
        again = churnTruthCheck(world, res.run, res.ltv, map.u, cfg.window_days, { replicates: 3, oracleReplicates: 4, seed: 9 });
      },
      { threads: 1 },
    );
  }, 180_000);

  it("reports every oracle, the ratios and pass flags consistent with the targets", () => {
    const auc = report.roc_auc as Record<string, number | boolean>;
    for (const k of ["model_roc_auc", "oracle_bayes_at_cutoff_roc_auc", "oracle_renewal_hazard_roc_auc", "oracle_state_at_cutoff_roc_auc", "oracle_state_without_frailty_roc_auc"]) {
      expect(auc[k] as number, k).toBeGreaterThan(0);
      expect(auc[k] as number, k).toBeLessThanOrEqual(1);
    }
    expect(auc.churned as number).toBeGreaterThan(0);
    expect(auc.ratio_to_oracle as number).toBeCloseTo((auc.model_roc_auc as number) / (auc.oracle_bayes_at_cutoff_roc_auc as number), 12);
    expect(auc.threshold as number).toBeCloseTo((1 - TRUTH_TARGETS.aucWithinFraction) * (auc.oracle_bayes_at_cutoff_roc_auc as number), 12);
    expect(auc.pass).toBe((auc.model_roc_auc as number) >= (auc.threshold as number));
    const ci = auc.ratio_to_oracle_interval as unknown as { lower: number; upper: number; resamples: number };
    expect(ci.resamples).toBe(200);
    expect(ci.lower).toBeLessThanOrEqual(ci.upper);
    expect(ci.lower).toBeGreaterThan(0);
    const cal = report.calibration as Record<string, number | boolean>;
    expect(cal.pass).toBe((cal.ece_equal_width as number) <= TRUTH_TARGETS.eceMax);
    const rar = report.revenue_at_risk as Record<string, number | boolean>;
    expect(rar.true_lost_revenue as number).toBeGreaterThan(0);
    expect(rar.relative_error as number).toBeCloseTo((rar.predicted_total as number) / (rar.true_lost_revenue as number) - 1, 12);
    expect(report.pass).toBe(auc.pass && cal.pass && rar.pass);
  });

  it("is deterministic for a seed", () => {
    expect(JSON.stringify(again)).toBe(JSON.stringify(report));
  });
});
