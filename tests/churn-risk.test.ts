import { describe, expect, it } from "vitest";
import { defaultChurnConfig, validateChurnConfig, type InterventionAction } from "../src/churn/config";
import { experimentSpec, planInterventions, type InterventionOptions } from "../src/churn/interventions";
import { derlAfterFirstRenewal, laplaceDraws, numericalHessian, subscriptionValues, type LtvResult } from "../src/churn/ltv";
import { sbgDerl } from "../src/value/sbg";
import { bandOrder, segmentTotals, tierOf } from "../src/churn/risk";
import { hashUnit } from "../src/experiment/hashing";
import { ConfigError } from "../src/util/errors";
import { Rng } from "../src/util/rng";

function fakeLtv(p: number[], rar: number[], draws: number[][]): LtvResult {
  const f = (a: number[]) => Float64Array.from(a);
  const n = p.length;
  return {
    method: "sbg-covariate",
    horizonMonths: 12,
    horizonEnd: 0,
    users: Int32Array.from({ length: n }, (_, i) => i),
    price: f(p.map(() => 10)),
    p: f(p),
    ltv: f(rar.map((r) => 10 * r)),
    ltvLo: f(rar),
    ltvHi: f(rar),
    valueIfRetained: f(rar.map((r, i) => r / p[i])),
    valueAfterChurn: f(p.map(() => 0)),
    revenueAtRisk: f(rar),
    rarLo: f(rar),
    rarHi: f(rar),
    revenueAtRiskGross: f(rar),
    pLo: f(p),
    pHi: f(p),
    legacyLtv: f(p.map(() => 100)),
    rarDraws: draws.map(f),
    ltvDraws: draws.map((d) => f(d.map((v) => 10 * v))),
    level: 0.9,
    info: {},
    warnings: [],
  };
}

describe("risk tiers and totals", () => {
  it("assigns tiers by the configured p_churn thresholds (inclusive lower bounds)", () => {
    const r = defaultChurnConfig().risk;
    expect([0.25, 0.2499, 0.1, 0.05, 0.0499, 0].map((p) => tierOf(p, r))).toEqual(["critical", "high", "high", "medium", "low", "low"]);
    expect(() => validateChurnConfig({ risk: { critical: 0.2, high: 0.3 } })).toThrow(ConfigError);
    expect(() => validateChurnConfig({ risk: { critical: 0.2, high: 0.3 } })).toThrow(/churn\.risk/);
  });

  it("sums segments and takes intervals of totals per draw", () => {
    const ltv = fakeLtv([0.6, 0.3, 0.05, 0.02], [60, 30, 5, 2], [
      [50, 20, 5, 1],
      [70, 40, 5, 3],
      [60, 30, 5, 2],
    ]);
    const segs = ["critical", "high", "low", "low"];
    const t = segmentTotals(segs, ltv, ["critical", "high", "medium", "low"]);
    expect(t.map((s) => s.segment)).toEqual(["critical", "high", "low"]);
    const low = t[2];
    expect(low.users).toBe(2);
    expect(low.revenue_at_risk).toBeCloseTo(7, 12);
    expect(low.expected_churners).toBeCloseTo(0.07, 12);
    // per-draw totals 6, 8, 7 → 90% central interval within [6, 8]
    expect(low.revenue_at_risk_lower as number).toBeGreaterThanOrEqual(6);
    expect(low.revenue_at_risk_upper as number).toBeLessThanOrEqual(8);
    expect(low.revenue_at_risk_lower as number).toBeLessThan(low.revenue_at_risk_upper as number);
    expect(bandOrder([90, 365], "d")).toEqual(["<90d", "90-365d", ">=365d"]);
  });
});

describe("subscription values", () => {
  it("V+ sums survival after the next renewal; V- adds win-backs; matches a hand computation", () => {
    const a = 1;
    const b = 9;
    const r2 = (b + 1) / (a + b + 1);
    const r3 = (b + 2) / (a + b + 2);
    const v = subscriptionValues(a, b, 3, 10, 0, null);
    expect(v.retained).toBeCloseTo(10 * (1 + r2 + r2 * r3), 12);
    expect(v.afterChurn).toBe(0);
    // half return in month 1, nobody later: they pay at months 1 and 2 (fresh survival S(0)=1, S(1)=r1)
    const r1 = b / (a + b);
    const w = subscriptionValues(a, b, 3, 10, 0, Float64Array.from([0, 0.5, 0.5, 0.5]));
    expect(w.afterChurn).toBeCloseTo(10 * 0.5 * (1 + r1), 12);
    // discounting lowers both
    const d = subscriptionValues(a, b, 3, 10, 0.05, Float64Array.from([0, 0.5, 0.5, 0.5]));
    expect(d.retained).toBeLessThan(v.retained);
    expect(d.afterChurn).toBeLessThan(w.afterChurn);
  });

  it("the directly summed DERL equals the closed form (FH 2010) and stays finite for near-geometric fits", () => {
    for (const [a, b, d] of [[1, 9, 0.05], [0.7, 3.2, 0.01], [5, 100, 0.02]]) expect(derlAfterFirstRenewal(a, b, d)).toBeCloseTo(sbgDerl({ alpha: a, beta: b }, 1, d), 8);
    // α+β huge: constant retention r → Σ r^(t−1)/(1+d)^(t−2) = r / (1 − r/(1+d))
    const r = 0.97;
    expect(derlAfterFirstRenewal(0.03e7, 0.97e7, 0.01)).toBeCloseTo(r / (1 - r / 1.01), 4);
  });

  it("Laplace draws follow the inverse Hessian", () => {
    // f = x²/2·4 + y²/2 → Σ = diag(1/4, 1)
    const H = numericalHessian((x) => 2 * x[0] * x[0] + 0.5 * x[1] * x[1], Float64Array.from([0.3, -1]));
    expect(H[0]).toBeCloseTo(4, 5);
    expect(H[3]).toBeCloseTo(1, 5);
    const draws = laplaceDraws(Float64Array.from([1, 2]), H, 4000, new Rng(1)) as Float64Array[];
    const sd = (k: number) => Math.sqrt(draws.reduce((s, d) => s + (d[k] - [1, 2][k]) ** 2, 0) / draws.length);
    expect(sd(0)).toBeCloseTo(0.5, 1);
    expect(sd(1)).toBeCloseTo(1, 1);
    expect(laplaceDraws(Float64Array.from([0]), Float64Array.from([-1]), 3, new Rng(1))).toBeNull();
  });
});

describe("intervention policy", () => {
  const rng = new Rng(4);
  const n = 1000;
  const p = Float64Array.from({ length: n }, () => 0.02 + 0.5 * rng.uniform() ** 2);
  const price = Float64Array.from({ length: n }, (_, i) => [7.99, 15.49, 22.99][i % 3]);
  const rar = Float64Array.from(p, (v, i) => v * price[i] * 10);
  const draws = Array.from({ length: 50 }, (_, b) => Float64Array.from(rar, (v) => v * (0.9 + 0.004 * b)));
  const users = Int32Array.from({ length: n }, (_, i) => 1000 + i);
  const catalogue: InterventionAction[] = [
    { name: "discount", cost_fixed: 0, cost_price_multiple: 0.6, relative_reduction: 0.3, reduction_sd: 0.1, min_p_churn: 0.1 },
    { name: "boost", cost_fixed: 1, cost_price_multiple: 0, relative_reduction: 0.1, reduction_sd: 0.05, min_p_churn: 0 },
    { name: "loser", cost_fixed: 200, cost_price_multiple: 0, relative_reduction: 0.5, reduction_sd: 0, min_p_churn: 0 },
  ];
  const base: InterventionOptions = { budget: 500, minRoi: 0, holdoutFraction: 0.2, salt: "t", level: 0.9, seed: 1 };
  const inp = { users, p, revenueAtRisk: rar, rarDraws: draws, price };

  it("never commits more than the budget, and treats only the non-holdout share", () => {
    for (const budget of [0, 10, 500, 1e9]) {
      const plan = planInterventions(inp, catalogue, { ...base, budget });
      const committed = plan.rows.reduce((s, r) => s + r.cost, 0);
      expect(committed).toBeLessThanOrEqual(budget + 1e-9);
      expect(plan.summary.budget_committed as number).toBeCloseTo(committed, 9);
      const treated = plan.rows.filter((r) => r.group === "treatment").reduce((s, r) => s + r.cost, 0);
      expect(plan.summary.spent_on_treatment as number).toBeCloseTo(treated, 9);
      for (const r of plan.rows) expect(r.group === "holdout").toBe(hashUnit("sha256", "t", String(r.user)) < 0.2);
    }
  });

  it("the ROI gate refuses negative-ROI actions; with a loose budget each user gets the best net action", () => {
    const plan = planInterventions(inp, catalogue, { ...base, budget: 1e9 });
    expect(plan.rows.some((r) => r.action === "loser")).toBe(false);
    const loser = (plan.summary.by_action as { action: string; gate: { roi_gate: number; passed: number } }[]).find((a) => a.action === "loser")!;
    expect(loser.gate.passed).toBe(0);
    expect(loser.gate.roi_gate).toBe(n);
    for (const r of plan.rows) {
      const i = r.user - 1000;
      const nets = catalogue.map((a) => (p[i] < a.min_p_churn ? -Infinity : a.relative_reduction * rar[i] - (a.cost_fixed + a.cost_price_multiple * price[i])));
      expect(r.net).toBeCloseTo(Math.max(...nets), 9);
      expect(r.roi).toBeGreaterThanOrEqual(0);
    }
    // a stricter gate plans fewer users
    const strict = planInterventions(inp, catalogue, { ...base, budget: 1e9, minRoi: 2 });
    expect(strict.rows.length).toBeLessThan(plan.rows.length);
    for (const r of strict.rows) expect(r.roi).toBeGreaterThanOrEqual(2);
  });

  it("under a tight budget picks the most efficient increments first; deterministic; exports an experiment spec", () => {
    const a = planInterventions(inp, catalogue, { ...base, budget: 50 });
    const b = planInterventions(inp, catalogue, { ...base, budget: 50 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.rows.length).toBeGreaterThan(0);
    expect(a.rows[0].priority).toBe(1);
    // the first pick has the best net/cost ratio of all gate-passing options
    let best = 0;
    for (let i = 0; i < n; i++) {
      for (const act of catalogue) {
        if (p[i] < act.min_p_churn) continue;
        const c = act.cost_fixed + act.cost_price_multiple * price[i];
        best = Math.max(best, (act.relative_reduction * rar[i] - c) / c);
      }
    }
    expect(a.rows[0].roi).toBeCloseTo(best, 9);
    expect(a.rows[0].savedLower).toBeLessThanOrEqual(a.rows[0].expectedSaved * 1.2);
    const spec = experimentSpec(a, base, { metric: "contractual churn", windowDays: 30, from: "2024-11-27T00:00:00Z", definition: "x" });
    expect(spec.unit).toBe("user_id");
    const arms = spec.arms as { treatment_users: number; holdout_users: number }[];
    expect(arms.reduce((s, x) => s + x.treatment_users + x.holdout_users, 0)).toBe(a.rows.length);
  });
});
