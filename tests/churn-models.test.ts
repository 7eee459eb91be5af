import { describe, expect, it } from "vitest";
import { expectedCalibrationError } from "../src/eval/calibration";
import { rocAuc } from "../src/eval/classification";
import { formatContribution, topContributions } from "../src/churn/explain";
import { fitGbdt, gbdtContributions, gbdtDecision, gbdtPredict } from "../src/churn/gbdt";
import { fitLogistic, logisticContributions, logisticDecision, logisticPredict } from "../src/churn/logistic";
import { applyCalibrator, crossFitCalibration, fitCalibrator } from "../src/churn/model";
import { minimize } from "../src/value/optimize";
import { InputError, NtgError } from "../src/util/errors";
import { Logger } from "../src/util/log";
import { Rng } from "../src/util/rng";

const sig = (z: number) => 1 / (1 + Math.exp(-z));

/** n rows of p standard-normal features and y ~ Bernoulli(sigmoid(b0 + x·beta)). */
function logisticData(n: number, beta: number[], b0: number, seed: number) {
  const rng = new Rng(seed);
  const p = beta.length;
  const X = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = b0;
    for (let j = 0; j < p; j++) {
      X[i * p + j] = rng.normal();
      z += beta[j] * X[i * p + j];
    }
    y[i] = rng.uniform() < sig(z) ? 1 : 0;
  }
  return { X, y, n, p };
}

describe("logistic regression (Newton/IRLS, L2, class weights)", () => {
  const d = logisticData(4000, [1.5, -1, 0], -1, 1);

  it("recovers the signs and rough size of the coefficients; contributions add up to the log-odds", () => {
    const m = fitLogistic(d.X, d.n, d.p, d.y, { l2: 1e-6, names: ["a", "b", "noise"] });
    expect(m.names).toEqual(["a", "b", "noise"]);
    // standardised coefficients ≈ true ones (features have sd ≈ 1)
    expect(m.coef[0]).toBeGreaterThan(1.2);
    expect(m.coef[1]).toBeLessThan(-0.8);
    expect(Math.abs(m.coef[2])).toBeLessThan(0.15);
    const z = logisticDecision(m, d.X, d.n);
    const c = logisticContributions(m, d.X, d.n);
    for (let i = 0; i < 5; i++) expect(m.intercept + c[i * 3] + c[i * 3 + 1] + c[i * 3 + 2]).toBeCloseTo(z[i], 10);
  });

  it("shrinks the coefficient norm monotonically as λ grows", () => {
    const norms = [0, 0.01, 0.1, 1, 10].map((l2) => {
      const m = fitLogistic(d.X, d.n, d.p, d.y, { l2 });
      return Math.hypot(...m.coef);
    });
    for (let k = 1; k < norms.length; k++) expect(norms[k]).toBeLessThan(norms[k - 1]);
  });

  it("matches an L-BFGS-B minimisation of the same penalised objective", () => {
    const l2 = 0.05;
    const m = fitLogistic(d.X, d.n, d.p, d.y, { l2, tolerance: 1e-12 });
    const Z = new Float64Array(d.X.length);
    for (let i = 0; i < d.n; i++) for (let j = 0; j < d.p; j++) Z[i * d.p + j] = (d.X[i * d.p + j] - m.mean[j]) / m.scale[j];
    const f = (th: Float64Array) => {
      let s = 0;
      for (let i = 0; i < d.n; i++) {
        let z = th[0];
        for (let j = 0; j < d.p; j++) z += th[j + 1] * Z[i * d.p + j];
        s += d.y[i] ? Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
      }
      let pen = 0;
      for (let j = 1; j <= d.p; j++) pen += th[j] * th[j];
      return s / d.n + 0.5 * l2 * pen;
    };
    const r = minimize(f, [0, 0, 0, 0], { gtol: 1e-9 });
    expect(r.x[0]).toBeCloseTo(m.intercept, 4);
    for (let j = 0; j < d.p; j++) expect(r.x[j + 1]).toBeCloseTo(m.coef[j], 4);
    expect(f(r.x)).toBeCloseTo(m.objective, 9);
  });

  it("class weights shift the intercept by log(w) (exactly with no features, about that for a well-specified model)", () => {
    // all columns constant → intercept-only model after dropping them (with a warning)
    const lines: string[] = [];
    const log = new Logger({ sink: (l) => lines.push(l) });
    const y = Float64Array.from({ length: 1000 }, (_, i) => (i % 10 === 0 ? 1 : 0));
    const X = new Float64Array(1000 * 2).fill(3);
    const plain = fitLogistic(X, 1000, 2, y, { logger: log, names: ["c1", "c2"] });
    expect(plain.dropped).toEqual(["c1", "c2"]);
    expect(lines.join("\n")).toMatch(/constant_features_dropped.*c1/);
    expect(plain.intercept).toBeCloseTo(Math.log(100 / 900), 10);
    const w3 = fitLogistic(X, 1000, 2, y, { classWeight: 3 });
    expect(w3.intercept - plain.intercept).toBeCloseTo(Math.log(3), 10);
    const bal = fitLogistic(X, 1000, 2, y, { classWeight: "balanced" });
    expect(bal.intercept).toBeCloseTo(0, 10);
    // with informative features: intercept moves by ≈ log 3, slopes stay
    const big = logisticData(20000, [1, -0.5], -2, 7);
    const a = fitLogistic(big.X, big.n, big.p, big.y, { l2: 0 });
    const b = fitLogistic(big.X, big.n, big.p, big.y, { l2: 0, classWeight: 3 });
    expect(b.intercept - a.intercept).toBeGreaterThan(Math.log(3) - 0.15);
    expect(b.intercept - a.intercept).toBeLessThan(Math.log(3) + 0.15);
    expect(b.coef[0]).toBeCloseTo(a.coef[0], 1);
  });

  it("names the model and the iteration when it does not converge; refuses a single class", () => {
    // separable data, no penalty: no finite optimum
    const X = Float64Array.from({ length: 200 }, (_, i) => i - 100);
    const y = Float64Array.from({ length: 200 }, (_, i) => (i >= 100 ? 1 : 0));
    expect(() => fitLogistic(X, 200, 1, y, { l2: 0, maxIterations: 5 })).toThrow(NtgError);
    expect(() => fitLogistic(X, 200, 1, y, { l2: 0, maxIterations: 5 })).toThrow(/logistic regression \(Newton\/IRLS\) did not converge after 5 iterations/);
    expect(() => fitLogistic(X, 200, 1, new Float64Array(200).fill(1))).toThrow(InputError);
    expect(() => fitLogistic(X, 200, 1, new Float64Array(200).fill(1))).toThrow(/everybody churned/);
  });
});

describe("GBDT", () => {
  /** XOR-like: churn when the two features have the same sign. */
  function xor(n: number, seed: number) {
    const rng = new Rng(seed);
    const X = new Float64Array(n * 3);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const a = rng.uniform() * 2 - 1;
      const b = rng.uniform() * 2 - 1;
      X[i * 3] = a;
      X[i * 3 + 1] = b;
      X[i * 3 + 2] = rng.normal();
      y[i] = rng.uniform() < (a * b > 0 ? 0.85 : 0.15) ? 1 : 0;
    }
    return { X, y, n };
  }
  const tr = xor(3000, 1);
  const te = xor(2000, 2);
  const opts = { trees: 60, learningRate: 0.1, maxDepth: 3, seed: 5, names: ["a", "b", "noise"] };

  it("fits a nonlinear (XOR) toy that logistic regression cannot", () => {
    const g = fitGbdt(tr.X, tr.n, 3, tr.y, opts);
    const lr = fitLogistic(tr.X, tr.n, 3, tr.y);
    const aucG = rocAuc(te.y, gbdtPredict(g, te.X, te.n));
    const aucL = rocAuc(te.y, logisticPredict(lr, te.X, te.n));
    expect(aucG).toBeGreaterThan(0.75);
    expect(aucL).toBeLessThan(0.6);
    // the noise column gets little of the split gain
    expect(g.gain[2]).toBeLessThan(0.1 * (g.gain[0] + g.gain[1]));
  });

  it("is deterministic for a seed, and path attributions add up to the log-odds", () => {
    const a = fitGbdt(tr.X, tr.n, 3, tr.y, opts);
    const b = fitGbdt(tr.X, tr.n, 3, tr.y, opts);
    const za = gbdtDecision(a, te.X, te.n);
    expect(Buffer.from(gbdtDecision(b, te.X, te.n).buffer).equals(Buffer.from(za.buffer))).toBe(true);
    const c = fitGbdt(tr.X, tr.n, 3, tr.y, { ...opts, seed: 6 });
    expect(Buffer.from(gbdtDecision(c, te.X, te.n).buffer).equals(Buffer.from(za.buffer))).toBe(false);
    const contrib = gbdtContributions(a, te.X, te.n);
    let roots = a.baseScore;
    for (const t of a.trees) roots += t.value[0];
    for (let i = 0; i < 10; i++) expect(roots + contrib[i * 3] + contrib[i * 3 + 1] + contrib[i * 3 + 2]).toBeCloseTo(za[i], 9);
  });
});

describe("calibration and explanations", () => {
  it("Platt and isotonic maps fitted on held-out data lower the ECE of miscalibrated scores", () => {
    const rng = new Rng(11);
    const n = 8000;
    const y = new Float64Array(n);
    const raw = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const z = rng.normal() - 2;
      y[i] = rng.uniform() < sig(z) ? 1 : 0;
      raw[i] = sig(2.5 * z + 2); // overconfident and biased upwards
    }
    const half = (a: Float64Array, k: number) => a.filter((_, i) => i % 2 === k);
    const [yc, pc, yt, pt] = [half(y, 0), half(raw, 0), half(y, 1), half(raw, 1)];
    const users = Int32Array.from({ length: yc.length }, (_, i) => i);
    const before = expectedCalibrationError(yt, pt, { nBins: 10, strategy: "equal-mass" });
    for (const method of ["platt", "isotonic"] as const) {
      const after = expectedCalibrationError(yt, applyCalibrator(fitCalibrator(method, yc, pc), pt), { nBins: 10, strategy: "equal-mass" });
      expect(after).toBeLessThan(before / 3);
    }
    const cv = crossFitCalibration(yc, pc, users);
    expect(cv.platt).toBeGreaterThan(0);
    expect(cv.isotonic).toBeGreaterThan(0);
  });

  it("formats the top contributions by absolute size", () => {
    expect(formatContribution("recency", 0.4213)).toBe("recency:+0.42");
    expect(formatContribution("watch", -1.005)).toBe("watch:-1.00");
    expect(formatContribution("x", -0.001)).toBe("x:+0.00");
    const top = topContributions(["a", "b", "c"], Float64Array.from([0.1, -0.5, 0.3, 0, 0, 0]), 2, 2);
    expect(top).toEqual([["b:-0.50", "c:+0.30"], ["a:+0.00", "b:+0.00"]]);
  });
});
