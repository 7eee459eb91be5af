import { describe, expect, it } from "vitest";
import {
  assignUsers,
  assignVariant,
  bayesFromEstimate,
  bayesianSummary,
  benjaminiHochberg,
  bonferroni,
  bucketRanges,
  chiSquareSf,
  cohensH,
  cuped,
  cupedArmStats,
  cupedFromStats,
  decide,
  type DecisionInput,
  holmBonferroni,
  IN_HOLDOUT,
  inLayer,
  layerExperiment,
  mdeMeans,
  mdeProportions,
  noncentralTCdf,
  normalCdf,
  normalQuantile,
  NOT_IN_EXPERIMENT,
  perComparisonAlpha,
  powerNormalInd,
  sampleSizeNormalInd,
  effectSizeNormalInd,
  powerMeans,
  powerProportions,
  powerRatioMetric,
  proportionTest,
  ratioMetricVariance,
  ratioTest,
  sampleSizeMeans,
  sampleSizeProportions,
  sequentialFromEstimate,
  sequentialTest,
  sha256Unit,
  srmTest,
  studentTCdf,
  studentTQuantile,
  welchTest,
} from "../src/experiment";
import { InputError } from "../src/util/errors";
import { Rng } from "../src/util/rng";

const near = (actual: number, expected: number, tol: number): void => {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tol);
};

/** Asserts fn throws an InputError whose message matches. */
const inputError = (fn: () => unknown, message: RegExp): void => {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected InputError matching ${message}`).toBeInstanceOf(InputError);
  expect((caught as Error).message).toMatch(message);
};

const addTo = (s: { n: number; sum: number; sumSquares: number }, x: number): void => {
  s.n += 1;
  s.sum += x;
  s.sumSquares += x * x;
};

describe("distributions", () => {
  it("match textbook quantiles and tail areas", () => {
    near(normalQuantile(0.975), 1.959963984540054, 1e-15);
    near(normalCdf(-1.959963984540054), 0.025, 1e-16);
    near(normalQuantile(1e-10), -6.361340902404056, 1e-12);
    near(studentTQuantile(0.975, 10), 2.228138851986274, 1e-12); // t table: 2.228
    near(studentTCdf(studentTQuantile(0.01, 3.5), 3.5), 0.01, 1e-14);
    near(chiSquareSf(3.841458820694124, 1), 0.05, 1e-14);
    near(chiSquareSf(5.991464547107979, 2), 0.05, 1e-14); // df 2: exp(−x/2)
    // noncentral t with ncp 0 is the central t; reflection identity for negative t
    near(noncentralTCdf(1.3, 9, 0), studentTCdf(1.3, 9), 1e-15);
    near(noncentralTCdf(-0.7, 12, 1.1), 1 - noncentralTCdf(0.7, 12, -1.1), 1e-15);
  });

  it("noncentral t agrees with a direct quadrature of its definition", () => {
    // P(T ≤ t) = E_V[Φ(t·√(V/ν) − δ)], V ~ χ²_ν, midpoint rule on a fine grid
    const nu = 20;
    const delta = 1.7;
    const t = 2.1;
    const lg = Math.log(Math.sqrt(Math.PI)) + Math.log(9 * 8 * 7 * 6 * 5 * 4 * 3 * 2); // ln Γ(10) = ln 9!
    let s = 0;
    const h = 0.002;
    for (let v = h / 2; v < 120; v += h) {
      const dens = Math.exp((nu / 2 - 1) * Math.log(v) - v / 2 - (nu / 2) * Math.LN2 - (lg - Math.log(Math.sqrt(Math.PI))));
      s += dens * normalCdf(t * Math.sqrt(v / nu) - delta) * h;
    }
    near(noncentralTCdf(t, nu, delta), s, 1e-8);
  });
});

describe("multiple comparisons", () => {
  it("Benjamini–Hochberg on a known vector (R p.adjust 'BH')", () => {
    // sorted 0.005, 0.01, 0.03, 0.04, 0.55, 0.6 → m·p/rank = .03, .03, .06, .06, .66, .6 → step-up min
    expect(benjaminiHochberg([0.01, 0.04, 0.03, 0.005, 0.55, 0.6]).map((x) => Number(x.toFixed(12)))).toEqual([0.03, 0.06, 0.06, 0.03, 0.6, 0.6]);
    expect(benjaminiHochberg([0.9, 0.95])).toEqual([0.95, 0.95]);
    expect(benjaminiHochberg([1, 1, 0.99])).toEqual([1, 1, 1]);
  });

  it("Holm and Bonferroni are monotone, capped at 1 and keep input order", () => {
    const p = [0.2, 0.001, 0.04, 0.04];
    const holm = holmBonferroni(p);
    // sorted 0.001·4, 0.04·3, 0.04·2 → running max 0.12, 0.2·1
    expect(holm.map((x) => Number(x.toFixed(12)))).toEqual([0.2, 0.004, 0.12, 0.12]);
    expect(bonferroni(p)).toEqual([0.8, 0.004, 0.16, 0.16]);
    expect(holmBonferroni([0.5, 0.6])).toEqual([1, 1]);
  });

  it("per-comparison alpha: Bonferroni and Šidák", () => {
    expect(perComparisonAlpha(0.05, 3, "bonferroni")).toBeCloseTo(0.05 / 3, 15);
    near(perComparisonAlpha(0.05, 3, "sidak"), 1 - Math.pow(0.95, 1 / 3), 1e-15);
    expect(perComparisonAlpha(0.05, 1, "sidak")).toBe(0.05);
  });
});

describe("frequentist tests", () => {
  it("two-proportion z: z² equals R prop.test(correct = FALSE) X-squared", () => {
    const r = proportionTest({ n: 1000, successes: 200 }, { n: 1000, successes: 250 });
    near(r.statistic ** 2, 7.1685, 1e-4); // R: X-squared = 7.1685, p-value = 0.007419
    near(r.pValue, 0.007419, 1e-6);
    near(r.estimate, 0.05, 1e-15);
    const unpooledSe = Math.sqrt((0.2 * 0.8) / 1000 + (0.25 * 0.75) / 1000);
    near(r.ci[1] - r.ci[0], 2 * 1.959963984540054 * unpooledSe, 1e-12);
    const rel = proportionTest({ n: 1000, successes: 200 }, { n: 1000, successes: 250 }, { scale: "relative" });
    near(rel.estimate, 0.25, 1e-12);
  });

  it("one-sided Welch p-value is half the two-sided one in the effect's direction", () => {
    const c = { n: 3407, sum: 1396.87, sumSquares: 52377.9767 };
    const t = { n: 3461, sum: 2422.7, sumSquares: 134698.29 };
    const two = welchTest(c, t);
    const greater = welchTest(c, t, { alternative: "greater" });
    const less = welchTest(c, t, { alternative: "less" });
    near(greater.pValue, two.pValue / 2, 1e-14);
    near(less.pValue, 1 - two.pValue / 2, 1e-14);
    expect(greater.ci[1]).toBe(Infinity);
    expect(greater.ci[0]).toBeGreaterThan(two.ci[0]);
  });

  it("ratio metric: delta-method variance equals the linearized residual variance", () => {
    const rng = new Rng("ratio");
    const build = (lift: number) => {
      const s = { n: 0, sumNumerator: 0, sumNumeratorSquares: 0, sumDenominator: 0, sumDenominatorSquares: 0, sumNumeratorDenominator: 0 };
      const num: number[] = [];
      const den: number[] = [];
      for (let i = 0; i < 4000; i++) {
        const sessions = 1 + rng.poisson(3);
        const revenue = sessions * (2 + lift) * rng.gamma(2, 0.5) + rng.normal(0, 0.2);
        num.push(revenue);
        den.push(sessions);
        s.n += 1;
        s.sumNumerator += revenue;
        s.sumNumeratorSquares += revenue * revenue;
        s.sumDenominator += sessions;
        s.sumDenominatorSquares += sessions * sessions;
        s.sumNumeratorDenominator += revenue * sessions;
      }
      return { s, num, den };
    };
    const a = build(0);
    const b = build(0.4);
    const r = ratioTest(a.s, b.s);
    const residualVar = (num: number[], den: number[]): number => {
      const R = num.reduce((x, y) => x + y) / den.reduce((x, y) => x + y);
      const mD = den.reduce((x, y) => x + y) / den.length;
      const e = num.map((v, i) => v - R * den[i]);
      const me = e.reduce((x, y) => x + y) / e.length;
      return e.reduce((s, v) => s + (v - me) ** 2, 0) / (e.length - 1) / (mD * mD) / e.length;
    };
    near(r.ratios.control.varRatio, residualVar(a.num, a.den), 1e-12);
    near(r.estimate, b.s.sumNumerator / b.s.sumDenominator - a.s.sumNumerator / a.s.sumDenominator, 1e-12);
    near(r.se ** 2, residualVar(a.num, a.den) + residualVar(b.num, b.den), 1e-12);
    expect(r.pValue).toBeLessThan(0.05); // a 20% lift in revenue per session on 4000 users per arm
  });
});

describe("CUPED", () => {
  it("variance reduction on a correlated sample is close to rho²", () => {
    const rng = new Rng(2013);
    const rho = 0.7;
    const n = 40_000;
    const y = new Float64Array(n);
    const x = new Float64Array(n);
    const arms = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      arms[i] = i % 2;
      x[i] = rng.normal(10, 2);
      y[i] = 5 + rho * (x[i] - 10) / 2 + Math.sqrt(1 - rho * rho) * rng.normal() + (arms[i] === 1 ? 0.03 : 0);
    }
    const r = cuped(y, x, arms);
    near(r.varianceReduction, rho * rho, 0.02);
    near(r.theta, rho / 2, 0.01); // Cov(Y, X)/Var(X) = (ρ/2 · 4)/4
    expect(r.adjusted.se).toBeLessThan(r.unadjusted.se * 0.75);
    near(r.adjusted.estimate, 0.03, 3 * r.adjusted.se);
    // the sufficient-statistics path gives the same answer as the per-user path
    const pick = (arr: Float64Array, arm: number) => arr.filter((_, i) => arms[i] === arm);
    const fromStats = cupedFromStats(cupedArmStats(pick(y, 0), pick(x, 0)), cupedArmStats(pick(y, 1), pick(x, 1)));
    near(fromStats.theta, r.theta, 1e-12);
    near(fromStats.adjusted.pValue, r.adjusted.pValue, 1e-12);
  });
});

describe("sequential testing", () => {
  it("the always-valid interval keeps its coverage under peeking; the naive t-test does not", () => {
    const rng = new Rng("aa-peeking");
    const runs = 300;
    const peeks = 20;
    const step = 200; // users per arm between peeks
    let csEverMissed = 0;
    let naiveEverRejected = 0;
    for (let r = 0; r < runs; r++) {
      const a = { n: 0, sum: 0, sumSquares: 0 };
      const b = { n: 0, sum: 0, sumSquares: 0 };
      let missed = false;
      let rejected = false;
      for (let k = 0; k < peeks; k++) {
        for (let i = 0; i < step; i++) {
          addTo(a, rng.normal());
          addTo(b, rng.normal());
        }
        const s = sequentialTest(a, b, { targetN: 2 * step * peeks });
        if (s.ci[0] > 0 || s.ci[1] < 0) missed = true;
        if (s.fixedHorizon.pValue < 0.05) rejected = true;
        // the always-valid p-value and interval agree
        expect(s.pValue <= 0.05).toBe(s.ci[0] > 0 || s.ci[1] < 0);
      }
      if (missed) csEverMissed += 1;
      if (rejected) naiveEverRejected += 1;
    }
    expect(1 - csEverMissed / runs).toBeGreaterThanOrEqual(0.95);
    expect(naiveEverRejected / runs).toBeGreaterThan(0.12); // far above the nominal 5%
  });

  it("is wider than the fixed-horizon interval and tightest near its tuning size", () => {
    const seq = sequentialFromEstimate(0.1, 0.05, 10_000, { targetN: 10_000 });
    expect(seq.halfWidth).toBeGreaterThan(1.96 * 0.05);
    const widthAt = (targetN: number) => sequentialFromEstimate(0.1, 0.05, 10_000, { targetN }).halfWidth;
    expect(widthAt(10_000)).toBeLessThan(widthAt(1_000));
    expect(widthAt(10_000)).toBeLessThan(widthAt(100_000));
  });
});

describe("Bayesian summary", () => {
  it("with a flat prior, P(B > A) = 1 − one-sided p", () => {
    const c = { n: 3407, sum: 1396.87, sumSquares: 52377.9767 };
    const t = { n: 3461, sum: 2422.7, sumSquares: 134698.29 };
    const b = bayesianSummary(c, t, { scale: "absolute" });
    const greater = welchTest(c, t, { alternative: "greater" });
    near(b.chanceToBeatControl, 1 - greater.pValue, 1e-4); // t (df ≈ 5842) vs normal
    const z = bayesFromEstimate({ estimate: 0.29, se: 0.1247836 });
    near(z.chanceToBeatControl, normalCdf(0.29 / 0.1247836), 1e-15);
    near(b.credibleInterval[0], 0.29 - 1.959963984540054 * b.posteriorSd, 1e-12);
  });

  it("expected losses: E[max(0, X)] − E[max(0, −X)] = E[X], and a prior shrinks toward its mean", () => {
    const r = bayesFromEstimate({ estimate: 0.02, se: 0.015 });
    near(r.expectedLoss.chooseControl - r.expectedLoss.chooseTreatment, 0.02, 1e-15);
    expect(r.expectedLoss.chooseTreatment).toBeGreaterThan(0);
    expect(r.expectedLoss.chooseTreatment).toBeLessThan(r.expectedLoss.chooseControl);
    const shrunk = bayesFromEstimate({ estimate: 0.02, se: 0.015 }, { prior: { mean: 0, variance: 0.015 ** 2 } });
    near(shrunk.posteriorMean, 0.01, 1e-15); // equal precisions → halfway
    near(shrunk.posteriorSd, 0.015 / Math.SQRT2, 1e-15);
  });
});

describe("power analysis", () => {
  it("reproduces R's ?power.t.test examples", () => {
    near(powerMeans({ effect: 1, sd: 1, n1: 20, test: "t" }), 0.8689528, 5e-8);
    near(sampleSizeMeans({ effect: 1, sd: 1, power: 0.9, test: "t" }).n1, 22.0211, 1e-4);
    near(sampleSizeMeans({ effect: 1, sd: 1, power: 0.9, test: "t", sides: "one-sided" }).n1, 17.84713, 1e-4);
  });

  it("z sample size matches the closed form and MDE inverts it", () => {
    const zA = normalQuantile(0.975);
    const zB = normalQuantile(0.8);
    const closed = (2 * (zA + zB) ** 2) / 0.25;
    const r = sampleSizeMeans({ effect: 0.5, sd: 1, power: 0.8, strict: false });
    near(r.n1, closed, 1e-6);
    expect(r.n1Ceil).toBe(Math.ceil(closed));
    expect(r.achievedPower).toBeGreaterThanOrEqual(0.8);
    near(mdeMeans({ sd: 1, n1: r.n1, power: 0.8, strict: false }), 0.5, 1e-8);
    // unequal allocation: Var ∝ 1/n1 + 1/(k·n1)
    const k2 = sampleSizeMeans({ effect: 0.5, sd: 1, power: 0.8, strict: false, ratio: 2 });
    near(k2.n1, (closed / 2) * (1 + 1 / 2), 1e-6);
    near(k2.n2, 2 * k2.n1, 1e-9);
  });

  it("A/B/n with corrected alpha needs more users per arm", () => {
    const one = sampleSizeMeans({ effect: 0.2, sd: 1, power: 0.8 });
    const bonf = sampleSizeMeans({ effect: 0.2, sd: 1, power: 0.8, comparisons: 3 });
    const sidak = sampleSizeMeans({ effect: 0.2, sd: 1, power: 0.8, comparisons: 3, correction: "sidak" });
    expect(bonf.n1).toBeGreaterThan(one.n1);
    expect(sidak.n1).toBeLessThan(bonf.n1); // Šidák is slightly less conservative
    near(bonf.alphaPerComparison, 0.05 / 3, 1e-15);
    expect(bonf.totalCeil).toBe(bonf.n1Ceil + 3 * bonf.n2Ceil);
  });

  it("two proportions: pooled formula (Fleiss) and Cohen's h", () => {
    const p1 = 0.1;
    const p2 = 0.12;
    const zA = normalQuantile(0.975);
    const zB = normalQuantile(0.8);
    const pBar = (p1 + p2) / 2;
    const fleiss = (zA * Math.sqrt(2 * pBar * (1 - pBar)) + zB * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p2 - p1) ** 2;
    const r = sampleSizeProportions({ p1, p2, power: 0.8, strict: false });
    near(r.n1, fleiss, 1e-5);
    const unpooled = sampleSizeProportions({ p1, p2, power: 0.8, strict: false, variance: "unpooled" });
    near(unpooled.n1, ((zA + zB) ** 2 * (p1 * (1 - p1) + p2 * (1 - p2))) / (p2 - p1) ** 2, 1e-5);
    near(powerProportions({ p1, p2, n1: r.n1, strict: false }), 0.8, 1e-10);
    near(mdeProportions({ p1, n1: r.n1, power: 0.8, strict: false }), 0.02, 1e-9);
    near(cohensH(0.5, 0.6), 2 * Math.asin(Math.sqrt(0.6)) - Math.PI / 2, 1e-15);
    // Cohen's h through the NormalIndPower conventions: solve_power round trips
    const h = cohensH(p1, p2);
    const nobs = sampleSizeNormalInd({ effectSize: h, power: 0.8 });
    near(powerNormalInd({ effectSize: h, nobs1: nobs }), 0.8, 1e-10);
    near(effectSizeNormalInd({ nobs1: nobs, power: 0.8 }), h, 1e-10);
    near(nobs, r.n1, 0.02 * r.n1); // arcsine and pooled-Wald plans agree closely
  });

  it("ratio metrics plan with the delta-method variance", () => {
    const v = ratioMetricVariance({ meanNumerator: 6, meanDenominator: 3, varNumerator: 16, varDenominator: 2, covariance: 3 });
    near(v, 16 / 9 - (2 * 3 * 6) / 27 + (2 * 36) / 81, 1e-15);
    near(powerRatioMetric({ effect: 0.1, n1: 5000, deltaVariance: v }), powerMeans({ effect: 0.1, sd: Math.sqrt(v), n1: 5000 }), 1e-15);
  });
});

describe("SRM", () => {
  it("handles three arms and zero-weight arms", () => {
    const ok = srmTest([3300, 3350, 3350], [1 / 3, 1 / 3, 1 / 3]);
    expect(ok.df).toBe(2);
    expect(ok.mismatch).toBe(false);
    near(ok.pValue, Math.exp(-ok.chiSquare / 2), 1e-14); // χ²₂ survival is exp(−x/2)
    expect(srmTest([500, 500, 3], [0.5, 0.5, 0]).mismatch).toBe(true);
  });
});

describe("decision", () => {
  const base = (): DecisionInput => ({
    primary: { name: "revenue per user", estimate: 0.29, ci: [0.045, 0.535], pValue: 0.02 },
    guardrails: [
      { name: "retention", direction: "must not decrease", tolerance: 0.01, result: { estimate: 0.001, ci: [-0.004, 0.006], pValue: 0.7 } },
      { name: "support tickets", direction: "must not increase", tolerance: 0.05, result: { estimate: 0, ci: [-0.02, 0.02], pValue: 0.9 } },
    ],
    srm: { pValue: 0.4, mismatch: false },
    expectedIncrementalRevenue: 120_000,
    cost: 40_000,
  });

  it("ships when every gate passes and says why", () => {
    const d = decide(base());
    expect(d.decision).toBe("ship");
    expect(d.checks.every((c) => c.status === "pass")).toBe(true);
    expect(d.reasons.join("\n")).toMatch(/SRM passed/);
    expect(d.reasons.join("\n")).toMatch(/significant and positive/);
    expect(d.reasons.join("\n")).toMatch(/retention.*not harmed/);
    expect(d.reasons.join("\n")).toMatch(/revenue 1\.2e\+5 > cost|revenue 120000 > cost 40000/);
  });

  it("rolls back on SRM, harmed guardrail, wrong-direction primary, or a win that does not pay", () => {
    const srm = base();
    srm.srm = { pValue: 1e-6, mismatch: true };
    expect(decide(srm).decision).toBe("roll back");
    expect(decide(srm).summary).toMatch(/sample ratio mismatch/);

    const harmed = base();
    harmed.guardrails![0].result = { estimate: -0.03, ci: [-0.04, -0.02], pValue: 0.001 };
    expect(decide(harmed).decision).toBe("roll back");
    expect(decide(harmed).summary).toMatch(/'retention' harmed/);

    const wrong = base();
    wrong.primary = { estimate: -0.2, ci: [-0.3, -0.1], pValue: 0.001 };
    expect(decide(wrong).decision).toBe("roll back");
    expect(decide(wrong).summary).toMatch(/wrong direction/);

    const costly = base();
    costly.cost = 200_000;
    expect(decide(costly).decision).toBe("roll back");
    expect(decide(costly).reasons.join("\n")).toMatch(/does not exceed cost/);
  });

  it("keeps running while the primary or a guardrail is inconclusive", () => {
    const flat = base();
    flat.primary = { estimate: 0.05, ci: [-0.05, 0.15], pValue: 0.3 };
    expect(decide(flat).decision).toBe("keep running");
    expect(decide(flat).summary).toMatch(/not yet significant/);

    const unsure = base();
    unsure.guardrails![1].result = { estimate: 0.03, ci: [0.0, 0.08], pValue: 0.05 };
    expect(decide(unsure).decision).toBe("keep running");
    expect(decide(unsure).summary).toMatch(/support tickets/);

    const lowerIsBetter = base();
    lowerIsBetter.primaryGoal = "decrease";
    lowerIsBetter.primary = { name: "churn", estimate: -0.01, ci: [-0.015, -0.005], pValue: 0.001 };
    expect(decide(lowerIsBetter).decision).toBe("ship");
  });
});

describe("bucketing", () => {
  const ids = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);

  it("is deterministic and balanced 50/50 within 1% for 100k ids", () => {
    for (const scheme of ["growthbook-v2", "growthbook-v1", "sha256"] as const) {
      const a = assignUsers(ids, { key: "exp-checkout", weights: [0.5, 0.5], scheme });
      const b = assignUsers(ids, { key: "exp-checkout", weights: [0.5, 0.5], scheme });
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
      const treated = a.reduce((s, v) => s + v, 0);
      expect(a.every((v) => v === 0 || v === 1)).toBe(true);
      expect(Math.abs(treated / ids.length - 0.5)).toBeLessThan(0.01);
    }
  });

  it("salt re-randomizes; coverage, holdout and layers behave", () => {
    const a = assignUsers(ids.slice(0, 20_000), { key: "exp", weights: [0.5, 0.5] });
    const salted = assignUsers(ids.slice(0, 20_000), { key: "exp", salt: "v2", weights: [0.5, 0.5] });
    const same = a.reduce((s, v, i) => s + (v === salted[i] ? 1 : 0), 0) / a.length;
    near(same, 0.5, 0.02);

    const covered = assignUsers(ids.slice(0, 20_000), { key: "exp", weights: [0.5, 0.5], coverage: 0.4 });
    near(covered.filter((v) => v === NOT_IN_EXPERIMENT).length / 20_000, 0.6, 0.02);
    // shrinking coverage never moves a user between arms
    expect(covered.filter((v, i) => v >= 0 && v !== a[i]).length).toBe(0);

    const held = assignUsers(ids.slice(0, 20_000), { key: "exp", weights: [0.5, 0.5], holdout: { key: "global-2025", fraction: 0.1 } });
    near(held.filter((v) => v === IN_HOLDOUT).length / 20_000, 0.1, 0.01);

    const left = { id: "pricing", start: 0, end: 0.5 };
    const right = { id: "pricing", start: 0.5, end: 1 };
    const inLeft = assignUsers(ids.slice(0, 20_000), { key: "exp-a", weights: [0.5, 0.5], layer: left });
    const inRight = assignUsers(ids.slice(0, 20_000), { key: "exp-b", weights: [0.5, 0.5], layer: right });
    expect(inLeft.filter((v, i) => v >= 0 && inRight[i] >= 0).length).toBe(0);
    near(inLeft.filter((v) => v >= 0).length / 20_000, 0.5, 0.02);
    expect(inLayer("user-1", left)).toBe(!inLayer("user-1", right));
    expect([layerExperiment("user-1", "pricing", [{ key: "exp-a", start: 0, end: 0.5 }, { key: "exp-b", start: 0.5, end: 1 }])]).toEqual([
      inLayer("user-1", left) ? "exp-a" : "exp-b",
    ]);
  });

  it("assignVariant uses cumulative ranges scaled by coverage", () => {
    expect(bucketRanges([0.5, 0.25, 0.25], 0.5)).toEqual([
      [0, 0.25],
      [0.5, 0.625],
      [0.75, 0.875],
    ]);
    expect(assignVariant(0.2, [0.5, 0.5])).toBe(0);
    expect(assignVariant(0.5, [0.5, 0.5])).toBe(1);
    expect(assignVariant(0.3, [0.5, 0.5], 0.5)).toBe(NOT_IN_EXPERIMENT);
    expect(assignVariant(0.6, [0.5, 0.5], 0.5)).toBe(1);
    const h = sha256Unit("seed", "user");
    expect(h).toBeGreaterThanOrEqual(0);
    expect(h).toBeLessThan(1);
    expect(sha256Unit("seed", "user")).toBe(h);
    expect(sha256Unit("see", "duser")).not.toBe(h);
  });
});

describe("bad inputs", () => {
  const ok = { n: 100, sum: 50, sumSquares: 80 };

  it("sufficient statistics", () => {
    inputError(() => welchTest({ n: 0, sum: 0, sumSquares: 0 }, ok), /arm 'control' has zero users/);
    inputError(() => welchTest(ok, { n: 1, sum: 1, sumSquares: 1 }), /arm 'treatment': n = 1; at least 2 users/);
    inputError(() => welchTest(ok, { n: 10, sum: 20, sumSquares: 40 }), /arm 'treatment' has zero variance/);
    inputError(() => welchTest({ n: 10, sum: Number.NaN, sumSquares: 5 }, ok), /arm 'control': sum is NaN/);
    inputError(() => welchTest(ok, { n: 10, sum: 10, sumSquares: Number.NaN }), /arm 'treatment': sum of squares is NaN/);
    inputError(() => welchTest({ n: 10, sum: 10, sumSquares: 5 }, ok), /arm 'control': sum of squares 5 is inconsistent with sum 10/);
    inputError(() => welchTest(ok, { n: 10, sum: 10, sumSquares: -1 }), /inconsistent/);
    inputError(() => welchTest({ n: 10, sum: 0, sumSquares: 5 }, ok, { scale: "relative" }), /control mean is 0/);
    inputError(() => welchTest(ok, ok, { alpha: 1.5 }), /alpha must be strictly between 0 and 1/);
    inputError(() => proportionTest({ n: 0, successes: 0 }, { n: 10, successes: 1 }), /arm 'control' has zero users/);
    inputError(() => proportionTest({ n: 10, successes: 11 }, { n: 10, successes: 1 }), /successes = 11/);
    inputError(() => proportionTest({ n: 10, successes: 0 }, { n: 10, successes: 0 }), /both arms have zero variance/);
  });

  it("weights and assignments", () => {
    inputError(() => assignUsers(["a", "b"], { key: "e", weights: [0.5, 0.6] }), /weights must sum to 1 \(±1e-6\), got 1\.1/);
    inputError(() => assignUsers(["a", "b"], { key: "e", weights: [1.2, -0.2] }), /weights\[1\] = -0\.2 is negative/);
    inputError(() => assignUsers(["a", "b"], { key: "e", weights: [] }), /at least one arm/);
    inputError(() => assignVariant(0.3, [0.3, 0.3]), /sum to 1/);
    inputError(() => assignUsers(["a", "b", "a"], { key: "e", weights: [0.5, 0.5] }), /duplicate user id "a" at indices 0 and 2/);
    inputError(() => assignUsers(["a", ""], { key: "e", weights: [0.5, 0.5] }), /index 1/);
    inputError(() => assignUsers(["a"], { key: "e", weights: [1], coverage: 2 }), /coverage/);
    inputError(() => layerExperiment("u", "L", [{ key: "x", start: 0, end: 0.6 }, { key: "y", start: 0.5, end: 1 }]), /overlapping/);
    inputError(() => srmTest([10, 20], [0.5, 0.6]), /SRM weights must sum to 1/);
    inputError(() => srmTest([10, 20, 30], [0.5, 0.5]), /3 observed counts but 2 weights/);
    inputError(() => srmTest([0, 0], [0.5, 0.5]), /zero users/);
    inputError(() => srmTest([10.5, 20], [0.5, 0.5]), /non-negative integer/);
  });

  it("CUPED metric missing for some users", () => {
    inputError(() => cuped([1, 2, Number.NaN, 4], [1, 2, 3, 4], [0, 0, 1, 1]), /metric is missing or not finite for the user at index 2/);
    inputError(() => cuped([1, 2, 3], [1, 2, 3, 4], [0, 0, 1, 1]), /missing for some users/);
    inputError(() => cuped([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1]), /covariate has zero variance/);
    inputError(() => cuped([1, 2, 3, 4], [1, 2, 3, 4], [0, 0, 0, 1]), /arm 'treatment': n = 1/);
  });

  it("power, multiple testing, sequential and decision inputs", () => {
    inputError(() => sampleSizeMeans({ effect: 0, sd: 1, power: 0.8 }), /effect must be non-zero/);
    inputError(() => sampleSizeMeans({ effect: 0.1, sd: 1, power: 0.01 }), /must exceed the significance level/);
    inputError(() => powerMeans({ effect: 0.1, sd: 0, n1: 10 }), /sd must be a positive/);
    inputError(() => powerMeans({ effect: 0.1, sd: 1, n1: 10, ratio: -1 }), /allocation ratio/);
    inputError(() => perComparisonAlpha(0.05, 0, "bonferroni"), /comparisons must be a positive integer/);
    inputError(() => benjaminiHochberg([0.1, 1.2]), /p-value \[1\] = 1\.2/);
    inputError(() => holmBonferroni([Number.NaN]), /p-value \[0\] = NaN/);
    inputError(() => sequentialFromEstimate(0.1, 0, 100, { targetN: 100 }), /standard error must be a positive/);
    inputError(() => sequentialFromEstimate(0.1, 0.1, 100, { targetN: 0 }), /tuning sample size/);
    inputError(
      () =>
        decide({
          primary: { estimate: 1, ci: [0.5, 1.5], pValue: 0.01 },
          guardrails: [{ name: "g", direction: "sideways" as never, tolerance: 0, result: { estimate: 0, ci: [-1, 1], pValue: 1 } }],
          srm: { pValue: 0.5, mismatch: false },
          expectedIncrementalRevenue: 1,
          cost: 0,
        }),
      /guardrail 'g': direction must be/,
    );
    inputError(
      () => decide({ primary: { estimate: 1, ci: [2, 1], pValue: 0.01 }, srm: { pValue: 0.5, mismatch: false }, expectedIncrementalRevenue: 1, cost: 0 }),
      /lower ≤ upper/,
    );
    inputError(() => ratioMetricVariance({ meanNumerator: 1, meanDenominator: 0, varNumerator: 1, varDenominator: 1, covariance: 0 }), /meanDenominator/);
  });
});
