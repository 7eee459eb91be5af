import { describe, expect, it } from "vitest";
import { validateChurnConfig } from "../src/churn/config";
import { churnDataFromArrays, type ChurnDataInput } from "../src/churn/data";
import { runChurnModel } from "../src/churn/model";
import { churnPipeline } from "../src/churn/score-users";
import { ConfigError, InputError, NtgError } from "../src/util/errors";
import { Logger } from "../src/util/log";
import { Rng } from "../src/util/rng";

const DAY = 86_400;
const B = Date.UTC(2024, 0, 1) / 1000;

/**
 * An activity-only event log: each user is active on a day with their own probability until a
 * random churn day; no ratings (so the rating features are constant). User 0 has exactly one event.
 */
function activityLog(nUsers: number, days: number, seed: number): ChurnDataInput {
  const rng = new Rng(seed);
  const user: number[] = [];
  const ts: number[] = [];
  for (let u = 1; u < nUsers; u++) {
    const a = 0.05 + 0.5 * rng.uniform();
    const stop = rng.uniform() * days * 2.5;
    for (let d = 0; d < Math.min(days, stop); d++) {
      if (rng.uniform() < a) {
        user.push(u);
        ts.push(B + d * DAY + rng.int(DAY));
      }
    }
  }
  user.push(0);
  ts.push(B + (days - 5) * DAY);
  return { nUsers, events: { user, ts } };
}

const small = { min_history_days: 30, train_cutoffs: 2, gbdt: { trees: 20 }, metrics: { bootstrap: 0 }, ltv: { draws: 0 } };

describe("bad inputs give clear errors", () => {
  const data = churnDataFromArrays(activityLog(400, 200, 1));

  it("scores a user with a single event (finite features), and drops constant features with a warning", () => {
    const lines: string[] = [];
    const run = runChurnModel(data, validateChurnConfig(small), { logger: new Logger({ sink: (l) => lines.push(l) }) });
    expect(run.protocol.labelKind).toBe("activity");
    const row = Array.from(run.scores.features.users).indexOf(0);
    expect(row).toBeGreaterThanOrEqual(0);
    const f = run.scores.features;
    for (let j = 0; j < f.p; j++) expect(Number.isFinite(f.X[row * f.p + j])).toBe(true);
    expect(run.scores.p[row]).toBeGreaterThan(0);
    expect(run.scores.p[row]).toBeLessThan(1);
    // no ratings at all: the rating features are constant → dropped, named in warnings and logs
    expect(run.warnings.join("\n")).toMatch(/constant features dropped: .*rating_mean_90d/);
    expect(lines.join("\n")).toMatch(/constant_features_dropped/);
    // no revenue: values are unavailable but the pipeline still completes
    const res = churnPipeline(data, validateChurnConfig(small));
    expect(res.ltv.method).toBe("none");
    expect((res.summary.warnings as string[]).join("\n")).toMatch(/no revenue data/);
  });

  it("values per-transaction revenue with BG/NBD + Gamma-Gamma (non-contractual)", () => {
    const inp = activityLog(400, 200, 3);
    const rng = new Rng(8);
    const tx = { user: [] as number[], ts: [] as number[], amount: [] as number[] };
    Array.from(inp.events.user).forEach((u, i) => {
      if (rng.uniform() < 0.15) {
        tx.user.push(u as number);
        tx.ts.push(inp.events.ts[i] as number);
        tx.amount.push(5 + rng.int(25));
      }
    });
    const res = churnPipeline(churnDataFromArrays({ ...inp, transactions: tx }), validateChurnConfig({ ...small, ltv: { draws: 5 } }));
    expect(res.ltv.method).toBe("bgnbd-gamma-gamma");
    let total = 0;
    for (let i = 0; i < res.ltv.users.length; i++) {
      expect(Number.isFinite(res.ltv.revenueAtRisk[i])).toBe(true);
      expect(res.ltv.ltv[i]).toBeGreaterThanOrEqual(0);
      total += res.ltv.revenueAtRisk[i];
    }
    expect(total).toBeGreaterThan(0);
    expect(res.plan).not.toBeNull();
  });

  it("refuses single-class labels, naming the cutoffs", () => {
    // everyone is active daily and stops right at the (only) training cutoff, day 109; one late event keeps the data range long
    const user: number[] = [];
    const ts: number[] = [];
    for (let u = 0; u < 30; u++) for (let d = 0; d < 109; d++) (user.push(u), ts.push(B + d * DAY + 3600));
    user.push(30);
    ts.push(B + 199 * DAY);
    const d = churnDataFromArrays({ nUsers: 31, events: { user, ts } });
    const cfg = validateChurnConfig({ ...small, min_history_days: 0, train_cutoffs: 1, window_days: 30, cutoff_step_days: 30 });
    expect(() => runChurnModel(d, cfg)).toThrow(InputError);
    expect(() => runChurnModel(d, cfg)).toThrow(/single class: every one of the \d+ users at risk churned/);
  });

  it("refuses an as_of outside the data range and data too short for the protocol", () => {
    expect(() => runChurnModel(data, validateChurnConfig({ ...small, as_of: "2030-01-01" }))).toThrow(/as_of 2030-01-01T00:00:00Z is outside the data range/);
    expect(() => runChurnModel(data, validateChurnConfig({ ...small, as_of: "2023-06-01" }))).toThrow(InputError);
    const short = churnDataFromArrays(activityLog(50, 60, 2));
    expect(() => runChurnModel(short, validateChurnConfig(small))).toThrow(/not enough history for a time-based protocol/);
    expect(() => runChurnModel(data, validateChurnConfig({ ...small, label: "contractual" }))).toThrow(/no payments of kind 'subscription'/);
  });

  it("names the model and iteration when the fit does not converge", () => {
    const cfg = validateChurnConfig({ ...small, logistic: { max_iterations: 1, tolerance: 1e-14 } });
    expect(() => runChurnModel(data, cfg)).toThrow(NtgError);
    expect(() => runChurnModel(data, cfg)).toThrow(/logistic regression \(Newton\/IRLS\) did not converge after 1 iterations/);
  });

  it("validates the config with key paths", () => {
    expect(() => validateChurnConfig({ window_dayz: 30 })).toThrow(ConfigError);
    expect(() => validateChurnConfig({ window_dayz: 30 })).toThrow(/did you mean 'window_days'/);
    expect(() => validateChurnConfig({ logistic: { class_weight: "heavy" } })).toThrow(/churn\.logistic\.class_weight/);
    expect(() => validateChurnConfig({ ltv: { horizon_months: null } })).toThrow(/churn\.ltv\.monthly_discount_rate/);
    expect(() => validateChurnConfig({ interventions: { catalogue: [{ name: "free", relative_reduction: 0.1 }] } })).toThrow(/must cost something/);
    const c = validateChurnConfig({ interventions: { catalogue: [{ name: "call", cost_fixed: 2, relative_reduction: 0.1 }] } });
    expect(c.interventions.catalogue[0]).toEqual({ name: "call", cost_fixed: 2, cost_price_multiple: 0, relative_reduction: 0.1, reduction_sd: 0, min_p_churn: 0 });
    expect(validateChurnConfig({}).window_days).toBe(30);
  });
});
