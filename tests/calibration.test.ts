import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  calibrationBySegment,
  expectedCalibrationError,
  fitIsotonic,
  fitIsotonicCalibration,
  fitPlatt,
  isotonicPredict,
  pav,
  plattPredict,
  reliabilityCurve,
} from "../src/eval/calibration";
import { averagePrecision, bootstrapCi, brierScore, logLoss, rocAuc } from "../src/eval/classification";
import { InputError } from "../src/util/errors";
import { Rng } from "../src/util/rng";

interface Reference {
  brier_score: { y_true: number[]; y_prob: number[]; expected: number; tolerance: number };
  calibration_curve_uniform: { y_true: number[]; y_prob: number[]; prob_true: number[]; prob_pred: number[]; tolerance: number };
}
const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "reference-statistics.json"), "utf8")) as Reference;
const f64 = (a: number[]): Float64Array => Float64Array.from(a);

describe("scikit-learn references", () => {
  it("brier_score_loss docstring example", () => {
    const r = ref.brier_score;
    expect(Math.abs(brierScore(f64(r.y_true), f64(r.y_prob)) - r.expected)).toBeLessThanOrEqual(r.tolerance);
  });

  it("calibration_curve docstring example (n_bins=3, uniform)", () => {
    const r = ref.calibration_curve_uniform;
    const c = reliabilityCurve(f64(r.y_true), f64(r.y_prob), { nBins: 3, strategy: "uniform" });
    expect(c.probTrue.length).toBe(r.prob_true.length);
    r.prob_true.forEach((v, i) => expect(Math.abs(c.probTrue[i] - v)).toBeLessThanOrEqual(r.tolerance));
    r.prob_pred.forEach((v, i) => expect(Math.abs(c.probPred[i] - v)).toBeLessThanOrEqual(r.tolerance));
    expect(Array.from(c.count)).toEqual([3, 2, 4]);
  });

  it("reliability curve drops empty bins, puts 1.0 in the last bin and inner-edge values in the lower bin", () => {
    const c = reliabilityCurve(f64([0, 1, 1, 0]), f64([0.05, 0.5, 1.0, 0.0]), { nBins: 4 });
    // edges 0, .25, .5, .75, 1: {0.05, 0.0} → bin 0; 0.5 (an inner edge) → bin 1; 1.0 → bin 3; bin 2 empty
    expect(Array.from(c.bin)).toEqual([0, 1, 3]);
    expect(Array.from(c.count)).toEqual([2, 1, 1]);
    expect(Array.from(c.probTrue)).toEqual([0, 1, 1]);
  });
});

describe("ranking metrics", () => {
  it("ROC-AUC on hand cases, with ties counting one half", () => {
    // scikit-learn roc_auc_score docstring-style case
    expect(rocAuc(f64([0, 0, 1, 1]), f64([0.1, 0.4, 0.35, 0.8]))).toBeCloseTo(0.75, 15);
    // pairs (pos, neg): (0.5, 0.5) = ½, (0.5, 0.2) = 1, (0.9, 0.5) = 1, (0.9, 0.2) = 1 → 3.5/4
    expect(rocAuc(f64([0, 1, 0, 1]), f64([0.5, 0.5, 0.2, 0.9]))).toBeCloseTo(0.875, 15);
    // all tied → ½
    expect(rocAuc(f64([0, 1, 1, 0, 1]), f64([0.3, 0.3, 0.3, 0.3, 0.3]))).toBeCloseTo(0.5, 15);
  });

  it("ROC-AUC equals the pairwise count on random data with many ties", () => {
    const rng = new Rng("auc-ties");
    const n = 400;
    const y = Float64Array.from({ length: n }, () => (rng.bernoulli(0.3) ? 1 : 0));
    const s = Float64Array.from(y, (v) => Math.round((v + rng.normal(0, 1)) * 4) / 4);
    let num = 0;
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      if (y[i] !== 1) continue;
      for (let j = 0; j < n; j++) {
        if (y[j] !== 0) continue;
        pairs++;
        num += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
    }
    expect(rocAuc(y, s)).toBeCloseTo(num / pairs, 12);
  });

  it("average precision on hand cases (scikit-learn step definition)", () => {
    // thresholds 0.8: P=1, R=.5; 0.4: P=.5, R=.5; 0.35: P=2/3, R=1 → .5·1 + 0 + .5·2/3
    expect(averagePrecision(f64([0, 0, 1, 1]), f64([0.1, 0.4, 0.35, 0.8]))).toBeCloseTo(0.5 + 1 / 3, 15);
    // tied top score holds one positive and one negative: one threshold with P=½, R=½; then P=2/3, R=1
    expect(averagePrecision(f64([1, 0, 1, 0]), f64([0.9, 0.9, 0.5, 0.1]))).toBeCloseTo(0.25 + 1 / 3, 15);
  });

  it("log loss with clipping", () => {
    expect(logLoss(f64([0, 1]), f64([0.1, 0.8]))).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8)) / 2, 14);
    expect(logLoss(f64([1]), f64([0]))).toBeCloseTo(-Math.log(1e-15), 10);
    expect(Number.isFinite(logLoss(f64([0, 1]), f64([1, 0])))).toBe(true);
  });

  it("clear errors: mismatched lengths, NaN probabilities, a single class", () => {
    expect(() => brierScore(f64([0, 1]), f64([0.5]))).toThrow(/y_true has 2 values but y_prob has 1/);
    expect(() => brierScore(f64([0, 1]), f64([0.5, NaN]))).toThrow(/y_prob\[1\] is NaN/);
    expect(() => logLoss(f64([0, 1]), f64([0.5, 1.2]))).toThrow(/probability in \[0, 1\]/);
    expect(() => rocAuc(f64([0, 2]), f64([0.5, 0.2]))).toThrow(/y_true\[1\] must be 0 or 1/);
    expect(() => rocAuc(f64([1, 1, 1]), f64([0.1, 0.2, 0.3]))).toThrow(/ROC-AUC is undefined when y_true has a single class \(all 1, n=3\)/);
    expect(() => rocAuc(f64([0, 0]), f64([0.1, 0.2]))).toThrow(InputError);
    expect(() => averagePrecision(f64([0, 0]), f64([0.1, 0.2]))).toThrow(/no positives/);
    expect(() => expectedCalibrationError(f64([]), f64([]))).toThrow(/empty input/);
  });
});

describe("expected calibration error", () => {
  it("equal-width vs equal-mass bins on a hand case", () => {
    const p = f64([0.05, 0.1, 0.2, 0.3, 0.45, 0.9]);
    const y = f64([0, 0, 0, 1, 1, 0]);
    // equal width, 2 bins split at 0.5: {.05,.1,.2,.3,.45}: Σy − Σp = 2 − 1.1 = 0.9; {.9}: 0 − .9 → (0.9 + 0.9)/6
    expect(expectedCalibrationError(y, p, { nBins: 2, strategy: "uniform" })).toBeCloseTo(0.3, 14);
    expect(expectedCalibrationError(y, p, { nBins: 2, strategy: "equal-width" })).toBeCloseTo(0.3, 14);
    // equal mass, split at the median 0.25: {.05,.1,.2}: 0 − .35; {.3,.45,.9}: 2 − 1.65 → (0.35 + 0.35)/6
    expect(expectedCalibrationError(y, p, { nBins: 2, strategy: "quantile" })).toBeCloseTo(0.7 / 6, 14);
    expect(expectedCalibrationError(y, p, { nBins: 2, strategy: "equal-mass" })).toBeCloseTo(0.7 / 6, 14);
    // one bin: |mean y − mean p|
    expect(expectedCalibrationError(y, p, { nBins: 1 })).toBeCloseTo(Math.abs(2 / 6 - 2 / 6), 14);
  });

  it("equal-mass bins hold about n / nBins rows", () => {
    const rng = new Rng("ece-mass");
    const p = Float64Array.from({ length: 1000 }, () => rng.uniform() ** 3);
    const y = Float64Array.from(p, (v) => (rng.bernoulli(v) ? 1 : 0));
    const c = reliabilityCurve(y, p, { nBins: 10, strategy: "quantile" });
    expect(c.count.length).toBe(10);
    for (const k of c.count) expect(Math.abs(k - 100)).toBeLessThanOrEqual(1);
  });
});

describe("recalibration", () => {
  // Miscalibrated model: the truth is sharper than the model, p_true = sigmoid(2·logit(p_model)).
  function sample(seed: string, n: number): { p: Float64Array; y: Float64Array } {
    const rng = new Rng(seed);
    const p = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const z = rng.normal(0, 1);
      p[i] = 1 / (1 + Math.exp(-z));
      y[i] = rng.bernoulli(1 / (1 + Math.exp(-2 * z))) ? 1 : 0;
    }
    return { p, y };
  }

  it("Platt scaling and isotonic regression reduce ECE on held-out data", () => {
    const train = sample("cal-train", 5000);
    const test = sample("cal-test", 5000);
    const raw = expectedCalibrationError(test.y, test.p, { nBins: 10 });
    const platt = fitPlatt(train.y, train.p);
    expect(platt.a).toBeGreaterThan(1.8);
    expect(platt.a).toBeLessThan(2.2);
    expect(Math.abs(platt.b)).toBeLessThan(0.1);
    const eP = expectedCalibrationError(test.y, plattPredict(platt, test.p), { nBins: 10 });
    const iso = fitIsotonicCalibration(train.y, train.p);
    const eI = expectedCalibrationError(test.y, isotonicPredict(iso, test.p), { nBins: 10 });
    expect(raw).toBeGreaterThan(0.05);
    expect(eP).toBeLessThan(raw / 2);
    expect(eI).toBeLessThan(raw / 2);
    expect(logLoss(test.y, plattPredict(platt, test.p))).toBeLessThan(logLoss(test.y, test.p));
  });

  it("PAV matches a hand example and is monotone", () => {
    expect(Array.from(pav(f64([1, 3, 2, 4, 3, 5])))).toEqual([1, 2.5, 2.5, 3.5, 3.5, 5]);
    // weighted: (3·1 + 1·2)/... pools 3 (w=3) and 1 (w=1) → 2.5
    expect(Array.from(pav(f64([3, 1, 4]), f64([3, 1, 1])))).toEqual([2.5, 2.5, 4]);
    expect(Array.from(pav(f64([5, 4, 3, 2, 1])))).toEqual([3, 3, 3, 3, 3]);
    const rng = new Rng("pav");
    const y = Float64Array.from({ length: 500 }, (_, i) => i / 100 + rng.normal(0, 1));
    const fit = pav(y);
    for (let i = 1; i < fit.length; i++) expect(fit[i]).toBeGreaterThanOrEqual(fit[i - 1]);
    // PAV preserves the total
    expect(fit.reduce((a, v) => a + v, 0)).toBeCloseTo(y.reduce((a, v) => a + v, 0), 8);
  });

  it("isotonic regression merges tied x, interpolates and clips out of bounds", () => {
    const m = fitIsotonic(f64([1, 2, 3, 3]), f64([1, 3, 1, 3]));
    // tied x = 3 merged to mean 2 with weight 2; weighted PAV on [1, 3, 2] (w 1, 1, 2) pools (3 + 2·2)/3
    expect(Array.from(m.x)).toEqual([1, 2, 3]);
    const want = [1, 7 / 3, 7 / 3];
    want.forEach((v, i) => expect(m.y[i]).toBeCloseTo(v, 14));
    const pred = isotonicPredict(m, f64([0, 1.5, 2.5, 10]));
    [1, 1 + 0.5 * (4 / 3), 7 / 3, 7 / 3].forEach((v, i) => expect(pred[i]).toBeCloseTo(v, 14));
  });
});

describe("calibration by segment", () => {
  it("summarises each segment", () => {
    const y = f64([1, 0, 1, 1, 0, 0]);
    const p = f64([0.8, 0.2, 0.6, 0.4, 0.3, 0.1]);
    const seg = ["b", "b", "a", "a", "a", "b"];
    const out = calibrationBySegment(y, p, seg, { nBins: 2 });
    expect(out.map((s) => s.segment)).toEqual(["a", "b"]);
    const a = out[0];
    expect(a.n).toBe(3);
    expect(a.positives).toBe(2);
    expect(a.meanPredicted).toBeCloseTo(1.3 / 3, 14);
    expect(a.observedRate).toBeCloseTo(2 / 3, 14);
    expect(a.brier).toBeCloseTo((0.16 + 0.36 + 0.09) / 3, 14);
    expect(() => calibrationBySegment(y, p, ["a"])).toThrow(/segments have 1/);
  });
});

describe("bootstrap confidence intervals", () => {
  it("contains the point estimate and is deterministic for a seed", () => {
    const rng = new Rng("boot-data");
    const n = 600;
    const y = Float64Array.from({ length: n }, () => (rng.bernoulli(0.4) ? 1 : 0));
    const s = Float64Array.from(y, (v) => v * 0.8 + rng.normal(0, 1));
    const a = bootstrapCi([y, s], rocAuc, { nBoot: 300, seed: 7 });
    const b = bootstrapCi([y, s], rocAuc, { nBoot: 300, seed: 7 });
    const c = bootstrapCi([y, s], rocAuc, { nBoot: 300, seed: 8 });
    expect(a.estimate).toBeCloseTo(rocAuc(y, s), 15);
    expect(a.lower).toBeLessThan(a.estimate);
    expect(a.upper).toBeGreaterThan(a.estimate);
    expect(a).toEqual(b);
    expect(c.lower).not.toBe(a.lower);
    expect(a.nValid).toBe(300);
    expect(a.level).toBe(0.95);
  });

  it("skips resamples where the metric is undefined, and stratifies on request", () => {
    const y = f64([1, 0, 0, 0, 0, 0, 0, 0]);
    const s = f64([0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    const free = bootstrapCi([y, s], rocAuc, { nBoot: 200, seed: 1 });
    expect(free.nFailed).toBeGreaterThan(0);
    expect(free.nValid + free.nFailed).toBe(200);
    const strat = bootstrapCi([y, s], rocAuc, { nBoot: 200, seed: 1, strata: y });
    expect(strat.nFailed).toBe(0);
    expect(() => bootstrapCi([y, f64([1])], rocAuc)).toThrow(/column 1 has 1 rows/);
  });
});
