import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { InputError, NtgError } from "../src/util/errors";
import { Rng } from "../src/util/rng";
import {
  bgNbdConditionalExpected,
  bgNbdExpectedPurchasesNew,
  bgNbdIndividualLogLikelihood,
  bgNbdLogLikelihood,
  bgNbdModel,
  bgNbdProbabilityAlive,
  customerLifetimeValue,
  fitBgNbd,
  fitGammaGamma,
  fitParetoNbd,
  fitSbg,
  fitSbgCovariates,
  gammaGammaConditionalExpectedSpend,
  gammaGammaIndividualLogLikelihood,
  gammaGammaLogLikelihood,
  hyp2f1,
  legacyHeuristicLtv,
  legacyHeuristicLtvAll,
  lgamma,
  minimize,
  paretoNbdConditionalExpected,
  paretoNbdExpectedPurchasesNew,
  paretoNbdIndividualLogLikelihood,
  paretoNbdLogLikelihood,
  paretoNbdProbabilityAlive,
  readCdnowTransactions,
  rfmSummary,
  sbgCovariateParams,
  sbgDel,
  sbgDerl,
  sbgLogLikelihood,
  sbgResidualValue,
  sbgRetention,
  sbgSurvival,
  simulateBgNbd,
  simulateGammaGamma,
  simulateParetoNbd,
  simulateSbgSurvivors,
  validateRfm,
} from "../src/value";

const relErr = (got: number, want: number): number => Math.abs(got - want) / Math.abs(want);
const TINY = path.join(__dirname, "fixtures", "cdnow", "cdnow_tiny.txt");

describe("special functions", () => {
  it("lgamma matches factorials and Γ(1/2) = √π", () => {
    expect(lgamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(lgamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
    expect(lgamma(1)).toBeCloseTo(0, 14);
    expect(lgamma(1e-8)).toBeCloseTo(-Math.log(1e-8) - 0.5772156649e-8, 8);
  });

  it("2F1 matches closed forms", () => {
    for (const z of [0.1, 0.5, 0.9, 0.99, -0.5]) {
      expect(hyp2f1(1, 1, 2, z)).toBeCloseTo(-Math.log(1 - z) / z, 11);
      expect(hyp2f1(0.7, 2.3, 2.3, z)).toBeCloseTo(Math.pow(1 - z, -0.7), 11);
    }
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(NtgError);
    expect(() => hyp2f1(1, 1, 2, 0.9999999, { maxTerms: 100 })).toThrow(/did not converge/);
  });
});

describe("RFM summary of a CDNOW-format file", () => {
  it("merges same-day rows, counts repeat occasions and measures time in weeks", () => {
    const tx = readCdnowTransactions(TINY);
    expect(tx.amount.length).toBe(21);
    const s = rfmSummary(tx, { calibrationEnd: "1997-09-30", holdoutEnd: "1998-06-30" });
    // customer 6 first buys after the calibration end and is left out
    expect(Array.from(s.customer)).toEqual([1, 2, 3, 4, 5]);
    expect(Array.from(s.frequency)).toEqual([2, 0, 2, 1, 4]);
    const days = (d: number): number => d / 7;
    const want = [
      // x, recency (days), T (days), monetary: hand-computed from the fixture
      { rec: 213, T: 272, m: (29.73 + 14.96) / 2 },
      { rec: 0, T: 272, m: 0 },
      { rec: 271, T: 271, m: (45 + 5 + 12) / 2 },
      { rec: 16, T: 189, m: 30.72 },
      { rec: 158, T: 183, m: (12.5 + 13.5 + 14 + 15) / 4 },
    ];
    want.forEach((w, i) => {
      expect(s.recency[i]).toBeCloseTo(days(w.rec), 12);
      expect(s.T[i]).toBeCloseTo(days(w.T), 12);
      expect(s.monetary[i]).toBeCloseTo(w.m, 12);
    });
    expect(Array.from(s.holdoutFrequency!)).toEqual([1, 0, 1, 1, 0]);
    expect(s.holdoutLength).toBeCloseTo(273 / 7, 12);
    expect(validateRfm(s)).toBe(5);
  });

  it("restricts to a first-purchase cohort", () => {
    const s = rfmSummary(readCdnowTransactions(TINY), { calibrationEnd: "19970930", firstPurchaseFrom: "1997-03-01", firstPurchaseTo: "1997-03-31" });
    expect(Array.from(s.customer)).toEqual([4, 5]);
  });

  it("reports malformed lines with file, line and reason", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-cdnow-"));
    const write = (name: string, text: string): string => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, text);
      return f;
    };
    const good = " 00001 0001 19970101  1   10.00\n";
    const cases: Array<[string, RegExp]> = [
      [good + " 00001 0001 19970102  1\n", /:2, value "00001 0001 19970102  1": expected 5 whitespace-separated fields/],
      [good + " 00001 0001 19970231  1   10.00\n", /:2, column 'date', value "19970231": not a calendar date/],
      [good + " 00001 0001 1997-01-03  1   10.00\n", /:2, column 'date'.*expected a date as YYYYMMDD/],
      [good + "\n 00001 0001 19970104  1   ten\n", /:3, column 'dollar value', value "ten": expected a non-negative number/],
      [good + " 0000x 0001 19970104  1   1.0\n", /:2, column 'master id'/],
      ["\n\n", /no transactions/],
    ];
    cases.forEach(([text, re], k) => {
      const f = write(`bad${k}.txt`, text);
      let err: unknown;
      try {
        readCdnowTransactions(f);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).message).toMatch(re);
      expect((err as InputError).location.file).toBe(f);
    });
    expect(() => readCdnowTransactions(path.join(dir, "missing.txt"))).toThrow(InputError);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("rejects inconsistent RFM data", () => {
    const bad = { frequency: Float64Array.of(1, 2), recency: Float64Array.of(3, 9), T: Float64Array.of(5, 8) };
    expect(() => validateRfm(bad)).toThrow(/row 1: recency 9 exceeds T 8/);
    expect(() => fitBgNbd(bad)).toThrow(InputError);
    expect(() => validateRfm({ frequency: Float64Array.of(0), recency: Float64Array.of(1), T: Float64Array.of(5) })).toThrow(/recency must be 0/);
    expect(() => validateRfm({ frequency: Float64Array.of(1.5), recency: Float64Array.of(1), T: Float64Array.of(5) })).toThrow(/non-negative integer/);
    expect(() => rfmSummary(readCdnowTransactions(TINY), { calibrationEnd: "1997-02-30" })).toThrow(InputError);
  });
});

describe("BG/NBD", () => {
  it("log-likelihood equals the closed form computed by hand (integer parameters)", () => {
    // r=2, α=3, a=2, b=3; x=2, t_x=4, T=6 (FHL 2005 eq. 6 with factorials):
    // A1 = Γ(4)/Γ(2)·3² = 54; A2 = Γ(5)Γ(5)/(Γ(3)Γ(7)) = 24·24/(2·720) = 0.4;
    // A3 = 9^−4; A4 = a/(b+x−1)·7^−4 = (2/4)·7^−4.
    const p = { r: 2, alpha: 3, a: 2, b: 3 };
    const L = 54 * 0.4 * (1 / 9 ** 4 + 0.5 / 7 ** 4);
    expect(bgNbdIndividualLogLikelihood(p, 2, 4, 6)).toBeCloseTo(Math.log(L), 12);
    // x = 0: L = α^r/(α+T)^r = 9/81
    expect(bgNbdIndividualLogLikelihood(p, 0, 0, 6)).toBeCloseTo(Math.log(1 / 9), 12);
    const data = { frequency: Float64Array.of(2, 0), recency: Float64Array.of(4, 0), T: Float64Array.of(6, 6) };
    expect(bgNbdLogLikelihood(p, data)).toBeCloseTo(Math.log(L) + Math.log(1 / 9), 12);
  });

  it("P(alive) is 1 with no repeat purchases and falls with a long gap", () => {
    const p = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    expect(bgNbdProbabilityAlive(p, 0, 0, 38.86)).toBe(1);
    const recent = bgNbdProbabilityAlive(p, 3, 38, 38.86);
    const stale = bgNbdProbabilityAlive(p, 3, 5, 38.86);
    expect(recent).toBeGreaterThan(stale);
    expect(stale).toBeGreaterThan(0);
    expect(recent).toBeLessThan(1);
  });

  it("expected purchases are 0 at t = 0, increase in t, and the new-customer case is the x = T = 0 limit", () => {
    const p = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    expect(bgNbdConditionalExpected(p, 0, 2, 30.43, 38.86)).toBe(0);
    let prev = 0;
    for (const t of [1, 5, 10, 39, 52, 78, 104, 200]) {
      const e = bgNbdConditionalExpected(p, t, 2, 30.43, 38.86);
      expect(e).toBeGreaterThan(prev);
      prev = e;
      expect(bgNbdConditionalExpected(p, t, 0, 0, 1e-12)).toBeCloseTo(bgNbdExpectedPurchasesNew(p, t), 9);
    }
    prev = 0;
    for (const t of [1, 10, 39, 78]) {
      const e = bgNbdExpectedPurchasesNew(p, t);
      expect(e).toBeGreaterThan(prev);
      prev = e;
    }
  });

  it("recovers the parameters of data simulated from the model (5,000 customers, seeded)", () => {
    const rng = new Rng("bgnbd-recovery");
    const n = 5000;
    const T = Float64Array.from({ length: n }, () => 52 + 52 * rng.uniform());
    const truth = { r: 0.8, alpha: 4, a: 0.8, b: 2.5 };
    const data = simulateBgNbd(truth, T, rng.fork("customers"));
    const fit = fitBgNbd(data);
    expect(fit.converged).toBe(true);
    expect(fit.gradientNorm).toBeLessThan(1e-6);
    expect(relErr(fit.params.r, truth.r)).toBeLessThan(0.1);
    expect(relErr(fit.params.alpha, truth.alpha)).toBeLessThan(0.1);
    expect(relErr(fit.params.a, truth.a)).toBeLessThan(0.2);
    expect(relErr(fit.params.b, truth.b)).toBeLessThan(0.2);
    // the fitter's fused likelihood is the per-customer sum, and the MLE cannot be worse than the truth
    expect(fit.logLikelihood).toBeCloseTo(bgNbdLogLikelihood(fit.params, data), 7);
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(bgNbdLogLikelihood(truth, data));
    // Nelder–Mead reaches the same optimum
    const nm = fitBgNbd(data, { method: "nelder-mead" });
    expect(nm.logLikelihood).toBeCloseTo(fit.logLikelihood, 4);
  });

  it("raises a clear NtgError when the optimiser does not converge or the objective is NaN", () => {
    const rng = new Rng(5);
    const data = simulateBgNbd({ r: 0.5, alpha: 4, a: 0.8, b: 2.5 }, new Float64Array(200).fill(39), rng);
    expect(() => fitBgNbd(data, { maxIterations: 1 })).toThrow(/BG\/NBD: maximum-likelihood fit did not converge.*reached r=/);
    expect(() => minimize((x) => (x[0] > 0.5 ? NaN : (x[0] - 2) ** 2), [0])).toThrow(/objective is NaN at \(x0=/);
    expect(() => fitBgNbd(data, { init: [1, -1, 1, 1] })).toThrow(/init must be 4 positive numbers/);
  });
});

describe("Gamma-Gamma", () => {
  it("log-density equals the closed form computed by hand", () => {
    // x = 1, p = 2, q = 3, γ = 4, z = 5: Γ(5)/(Γ(2)Γ(3)) · 4³ · 5 / 9⁵
    const f = (24 / 2) * 64 * 5 * Math.pow(9, -5);
    expect(gammaGammaIndividualLogLikelihood({ p: 2, q: 3, v: 4 }, 1, 5)).toBeCloseTo(Math.log(f), 12);
    // x = 2, z̄ = 5: Γ(7)/(Γ(4)Γ(3)) · 4³ · 5³ · 2⁴ / 14⁷
    const f2 = (720 / (6 * 2)) * 64 * 125 * 16 * Math.pow(14, -7);
    expect(gammaGammaIndividualLogLikelihood({ p: 2, q: 3, v: 4 }, 2, 5)).toBeCloseTo(Math.log(f2), 12);
    // customers without repeat purchases do not enter the likelihood
    expect(gammaGammaLogLikelihood({ p: 2, q: 3, v: 4 }, Float64Array.of(1, 0), Float64Array.of(5, 0))).toBeCloseTo(Math.log(f), 12);
  });

  it("recovers simulated parameters (5,000 customers, seeded)", () => {
    const xs = [1, 2, 3, 5, 10, 20, 40];
    const freq = Float64Array.from({ length: 5000 }, (_, i) => xs[i % xs.length]);
    const truth = { p: 2, q: 5, v: 40 };
    const m = simulateGammaGamma(truth, freq, new Rng("gg-recovery"));
    const fit = fitGammaGamma(freq, m);
    for (const k of ["p", "q", "v"] as const) expect(relErr(fit.params[k], truth[k])).toBeLessThan(0.15);
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(gammaGammaLogLikelihood(truth, freq, m));
    // CDNOW-like parameters: p and γ trade off, but q and the mean spend pγ/(q−1) are well identified
    const cd = { p: 6.25, q: 3.74, v: 15.44 };
    const m2 = simulateGammaGamma(cd, freq, new Rng("gg-recovery-cdnow"));
    const fit2 = fitGammaGamma(freq, m2);
    expect(relErr(fit2.params.q, cd.q)).toBeLessThan(0.1);
    const mean = (pr: typeof cd): number => (pr.p * pr.v) / (pr.q - 1);
    expect(relErr(mean(fit2.params), mean(cd))).toBeLessThan(0.05);
  });

  it("conditional expected spend shrinks the observed mean towards the population mean", () => {
    const pr = { p: 6.25, q: 3.74, v: 15.44 };
    const popMean = (pr.p * pr.v) / (pr.q - 1);
    expect(gammaGammaConditionalExpectedSpend(pr, 0, 0)).toBeCloseTo(popMean, 12);
    const e = gammaGammaConditionalExpectedSpend(pr, 2, 100);
    expect(e).toBeGreaterThan(popMean);
    expect(e).toBeLessThan(100);
    expect(e).toBeCloseTo(((pr.v + 200) * pr.p) / (2 * pr.p + pr.q - 1), 12);
    expect(() => gammaGammaConditionalExpectedSpend({ p: 1, q: 0.9, v: 1 }, 1, 1)).toThrow(/q > 1/);
    expect(() => fitGammaGamma(Float64Array.of(1, 2), Float64Array.of(5, 0))).toThrow(/row 1: mean spend/);
  });
});

describe("Pareto/NBD", () => {
  // Individual likelihood (Fader & Hardie 2005 note, eq. 3) integrated over the gamma mixing
  // densities by Simpson's rule: an independent check of the closed form.
  function quadratureLikelihood(pr: { r: number; alpha: number; s: number; beta: number }, x: number, tx: number, T: number): number {
    const gammaPdf = (v: number, shape: number, rate: number): number =>
      v <= 0 ? 0 : Math.exp(shape * Math.log(rate) + (shape - 1) * Math.log(v) - rate * v - lgamma(shape));
    const indiv = (l: number, m: number): number => {
      if (l === 0) return 0;
      const lx = Math.pow(l, x);
      const alive = lx * Math.exp(-(l + m) * T);
      return alive + (lx * m / (l + m)) * (Math.exp(-(l + m) * tx) - Math.exp(-(l + m) * T));
    };
    const N = 1200;
    const hl = (30 / pr.alpha + 10) / N;
    const hm = (30 / pr.beta + 10) / N;
    const w = (k: number): number => (k === 0 || k === N ? 1 : k % 2 ? 4 : 2);
    const gm = Float64Array.from({ length: N + 1 }, (_, j) => w(j) * gammaPdf(j * hm, pr.s, pr.beta));
    let sum = 0;
    for (let i = 1; i <= N; i++) {
      const l = i * hl;
      const gl = gammaPdf(l, pr.r, pr.alpha) * w(i);
      for (let j = 0; j <= N; j++) sum += gl * gm[j] * indiv(l, j * hm);
    }
    return (sum * hl * hm) / 9;
  }

  it("log-likelihood matches numerical integration of the individual model (both α ≥ β and α < β branches)", () => {
    for (const pr of [
      { r: 2, alpha: 3, s: 3, beta: 4 },
      { r: 2, alpha: 5, s: 3, beta: 2 },
    ]) {
      for (const [x, tx, T] of [
        [2, 4, 6],
        [0, 0, 6],
        [5, 1, 3],
      ]) {
        const q = quadratureLikelihood(pr, x, tx, T);
        expect(Math.abs(paretoNbdIndividualLogLikelihood(pr, x, tx, T) - Math.log(q))).toBeLessThan(1e-6);
      }
    }
    // continuity across α = β
    const a = paretoNbdIndividualLogLikelihood({ r: 0.5, alpha: 10, s: 0.6, beta: 10 + 1e-9 }, 3, 20, 39);
    const b = paretoNbdIndividualLogLikelihood({ r: 0.5, alpha: 10 + 1e-9, s: 0.6, beta: 10 }, 3, 20, 39);
    expect(a).toBeCloseTo(b, 8);
  });

  it("P(alive), conditional expectations and the new-customer limit", () => {
    const pr = { r: 0.553, alpha: 10.578, s: 0.606, beta: 11.669 };
    expect(paretoNbdProbabilityAlive(pr, 0, 0, 1e-9)).toBeCloseTo(1, 8);
    expect(paretoNbdProbabilityAlive(pr, 2, 38, 38.86)).toBeGreaterThan(paretoNbdProbabilityAlive(pr, 2, 5, 38.86));
    let prev = 0;
    for (const t of [1, 10, 39, 78, 200]) {
      const e = paretoNbdConditionalExpected(pr, t, 2, 30.43, 38.86);
      expect(e).toBeGreaterThan(prev);
      prev = e;
      expect(paretoNbdConditionalExpected(pr, t, 0, 0, 1e-12)).toBeCloseTo(paretoNbdExpectedPurchasesNew(pr, t), 8);
    }
    // s = 1 uses the logarithmic limit continuously
    const s1 = paretoNbdExpectedPurchasesNew({ ...pr, s: 1 }, 39);
    expect(s1).toBeCloseTo(paretoNbdExpectedPurchasesNew({ ...pr, s: 1 + 1e-7 }, 39), 6);
  });

  it("fit on simulated data beats the true parameters and recovers the purchase process", () => {
    const rng = new Rng("pnbd-recovery");
    const T = Float64Array.from({ length: 2000 }, () => 52 + 52 * rng.uniform());
    const truth = { r: 0.8, alpha: 4, s: 0.6, beta: 12 };
    const data = simulateParetoNbd(truth, T, rng.fork("customers"));
    const fit = fitParetoNbd(data);
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(paretoNbdLogLikelihood(truth, data));
    expect(relErr(fit.params.r, truth.r)).toBeLessThan(0.15);
    expect(relErr(fit.params.alpha, truth.alpha)).toBeLessThan(0.15);
  });
});

describe("CLV", () => {
  it("sums monthly increments of expected purchases × spend, discounted monthly", () => {
    const p = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    const data = { frequency: Float64Array.of(2, 0), recency: Float64Array.of(30.43, 0), T: Float64Array.of(38.86, 38.86) };
    const spend = Float64Array.of(40, 35);
    const clv = customerLifetimeValue(bgNbdModel(p), data, spend, { months: 3, monthlyDiscountRate: 0.02 });
    for (let i = 0; i < 2; i++) {
      const E = (t: number): number => bgNbdConditionalExpected(p, t, data.frequency[i], data.recency[i], data.T[i]);
      const u = 4.345;
      const want = (spend[i] * (E(u) - 0)) / 1.02 + (spend[i] * (E(2 * u) - E(u))) / 1.02 ** 2 + (spend[i] * (E(3 * u) - E(2 * u))) / 1.02 ** 3;
      expect(clv[i]).toBeCloseTo(want, 12);
    }
    const undiscounted = customerLifetimeValue(bgNbdModel(p), data, spend, { months: 3, monthlyDiscountRate: 0 });
    expect(undiscounted[0]).toBeCloseTo(40 * bgNbdConditionalExpected(p, 3 * 4.345, 2, 30.43, 38.86), 12);
    expect(() => customerLifetimeValue(bgNbdModel(p), data, Float64Array.of(1), {})).toThrow(InputError);
  });
});

describe("sBG (contractual retention)", () => {
  // Fader & Hardie (2007) Table 1, % of the cohort surviving years 0–12; models fitted on years 0–7.
  const REGULAR = [100.0, 63.1, 46.8, 38.2, 32.6, 28.9, 26.2, 24.1, 22.3, 20.7, 19.4, 18.3, 17.3];
  const HIGH_END = [100.0, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1, 46.8, 44.5, 42.7, 40.9, 39.4];

  it("reproduces the published fits (regular α=0.704, β=1.182; high end α=0.668, β=3.806)", () => {
    const reg = fitSbg(REGULAR.slice(0, 8));
    const high = fitSbg(HIGH_END.slice(0, 8));
    // the paper prints three decimals: agree within half a unit in the last place
    expect(Math.abs(reg.params.alpha - 0.704)).toBeLessThanOrEqual(5e-4);
    expect(Math.abs(reg.params.beta - 1.182)).toBeLessThanOrEqual(5e-4);
    expect(Math.abs(high.params.alpha - 0.668)).toBeLessThanOrEqual(5e-4);
    expect(Math.abs(high.params.beta - 3.806)).toBeLessThanOrEqual(5e-4);
    // appendix B: LL per customer −1.611 at the high-end optimum
    expect(high.logLikelihood / 100).toBeCloseTo(-1.611, 3);
    // projected year-12 survival within the paper's reported 4% (high end) and 2% (regular)
    expect(relErr(sbgSurvival(high.params, 12)[12], HIGH_END[12] / 100)).toBeLessThan(0.045);
    expect(relErr(sbgSurvival(reg.params, 12)[12], REGULAR[12] / 100)).toBeLessThan(0.025);
    // retention rises with tenure (heterogeneity)
    const r = sbgRetention(high.params, 12);
    for (let t = 1; t < 12; t++) expect(r[t]).toBeGreaterThan(r[t - 1]);
  });

  it("recovers parameters of a simulated cohort", () => {
    const truth = { alpha: 0.7, beta: 1.2 };
    const surv = simulateSbgSurvivors(truth, 20000, 8, new Rng("sbg-sim"));
    const fit = fitSbg(surv);
    expect(relErr(fit.params.alpha, truth.alpha)).toBeLessThan(0.1);
    expect(relErr(fit.params.beta, truth.beta)).toBeLessThan(0.1);
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(sbgLogLikelihood(truth, surv));
  });

  it("DERL and DEL equal the discounted survival sums; residual value = price × DERL", () => {
    const p = { alpha: 0.668, beta: 3.806 };
    const d = 0.1;
    const S = sbgSurvival(p, 5000);
    for (const renewals of [0, 1, 4, 7]) {
      let sum = 0;
      for (let t = renewals + 1; t < 4990; t++) sum += (S[t] / S[renewals]) * Math.pow(1 + d, -(t - renewals - 1));
      expect(sbgDerl(p, renewals, d)).toBeCloseTo(sum, 9);
      expect(sbgResidualValue(p, renewals, d, 50)).toBeCloseTo(50 * sum, 7);
    }
    let del = 0;
    for (let t = 0; t < 4990; t++) del += S[t] * Math.pow(1 + d, -t);
    expect(sbgDel(p, d)).toBeCloseTo(del, 9);
    // longer-tenured customers are worth more (FH 2010)
    expect(sbgDerl(p, 7, d)).toBeGreaterThan(sbgDerl(p, 0, d));
    expect(() => sbgDerl(p, 0, 0)).toThrow(/discount rate must be > 0/);
    expect(() => fitSbg([100, 120, 50])).toThrow(/must not increase/);
  });

  it("covariate sBG reduces to sBG without covariates and recovers a covariate effect", () => {
    const counts = HIGH_END.slice(0, 8).map((v) => v * 10);
    const periods: number[] = [];
    const churned: number[] = [];
    for (let t = 1; t < counts.length; t++) for (let k = 0; k < Math.round(counts[t - 1] - counts[t]); k++) (periods.push(t), churned.push(1));
    for (let k = 0; k < counts[7]; k++) (periods.push(7), churned.push(0));
    const plain = fitSbgCovariates({ periods: Float64Array.from(periods), churned: Uint8Array.from(churned), covariates: [] });
    const ab = sbgCovariateParams(plain, []);
    expect(Math.abs(ab.alpha - 0.668)).toBeLessThan(1e-3);
    expect(Math.abs(ab.beta - 3.806)).toBeLessThan(3e-3);

    // simulate: logit E[θ] = −1 + 1.2·x, precision 3, x ∈ {0, 1}; observe up to 10 periods
    const rng = new Rng("sbg-cov");
    const n = 4000;
    const x = new Float64Array(n);
    const per = new Float64Array(n);
    const ch = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = i % 2;
      const { alpha, beta } = sbgCovariateParams({ intercept: -1, coefficients: Float64Array.of(1.2), precision: 3 }, [x[i]]);
      const theta = rng.beta(alpha, beta);
      let t = 1;
      while (t <= 10 && !rng.bernoulli(theta)) t++;
      if (t <= 10) (per[i] = t), (ch[i] = 1);
      else (per[i] = 10), (ch[i] = 0);
    }
    const fit = fitSbgCovariates({ periods: per, churned: ch, covariates: [x] }, { names: ["segment"] });
    expect(fit.converged).toBe(true);
    expect(Math.abs(fit.intercept + 1)).toBeLessThan(0.15);
    expect(Math.abs(fit.coefficients[0] - 1.2)).toBeLessThan(0.2);
    expect(relErr(fit.precision, 3)).toBeLessThan(0.2);
    expect(() => fitSbgCovariates({ periods: Float64Array.of(1, 2), churned: Uint8Array.of(1, 2), covariates: [] })).toThrow(/churned must be 0 or 1/);
  });
});

describe("legacy heuristic LTV", () => {
  it("is revenue × 1/churn with a documented 120-month cap", () => {
    expect(legacyHeuristicLtv(50, 0.05)).toBeCloseTo(1000, 12);
    expect(legacyHeuristicLtv(50, 0)).toBe(50 * 120);
    expect(legacyHeuristicLtv(50, 0.001)).toBe(50 * 120);
    expect(legacyHeuristicLtv(50, 0.002, { maxLifetimeMonths: 600 })).toBeCloseTo(25000, 9);
    expect(Array.from(legacyHeuristicLtvAll(Float64Array.of(10, 20), 0.1))).toEqual([100, 200]);
    expect(() => legacyHeuristicLtv(50, 1.5)).toThrow(/churn rate must be in \[0, 1\]/);
    expect(() => legacyHeuristicLtv(NaN, 0.1)).toThrow(InputError);
  });
});
