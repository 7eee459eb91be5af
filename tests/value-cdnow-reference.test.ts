import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  bgNbdLogLikelihood,
  fitBgNbd,
  fitGammaGamma,
  fitParetoNbd,
  readCdnowTransactions,
  rfmSummary,
  type RfmSummary,
} from "../src/value";

// The CDNOW sample is licensed and lives outside the repository; these tests run only where it is present.
// ../shared sits beside the repository (as on the developers' machines and in CI); NTG_SHARED overrides it.
const CDNOW_DIR = path.join(process.env.NTG_SHARED ?? path.resolve(__dirname, "../../shared"), "data/cdnow");
const CDNOW_SAMPLE = path.join(CDNOW_DIR, "CDNOW_sample.txt");
const CDNOW_SUMMARY = path.join(CDNOW_DIR, "cdnow_customers_summary.csv");

interface Reference {
  bg_nbd_cdnow: { params: { r: number; alpha: number; a: number; b: number }; log_likelihood: number; tolerance_relative: number };
  gamma_gamma_cdnow: { params: { p: number; q: number; v: number }; tolerance_relative: number };
}
const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "reference-statistics.json"), "utf8")) as Reference;

const relErr = (got: number, want: number): number => Math.abs(got - want) / Math.abs(want);

describe.runIf(fs.existsSync(CDNOW_SAMPLE))("CDNOW reference fits (runs only where the licensed CDNOW data is present in ../shared/data/cdnow)", () => {
  let summary: RfmSummary;
  const getSummary = (): RfmSummary =>
    (summary ??= rfmSummary(readCdnowTransactions(CDNOW_SAMPLE), { calibrationEnd: "1997-09-30", timeUnitDays: 7 }));

  it("RFM summary covers the 2,357-customer cohort", () => {
    const s = getSummary();
    expect(s.length).toBe(2357);
  });

  it.runIf(fs.existsSync(CDNOW_SUMMARY))("RFM summary matches cdnow_customers_summary.csv (ID, frequency, recency, T; 2 decimals)", () => {
    const s = getSummary();
    const byId = new Map<number, number>();
    s.customer.forEach((c, i) => byId.set(c, i));
    const lines = fs.readFileSync(CDNOW_SUMMARY, "utf8").trim().split(/\r?\n/);
    expect(lines[0].trim()).toBe("ID,frequency,recency,T");
    expect(lines.length - 1).toBe(s.length);
    for (const line of lines.slice(1)) {
      const [id, f, r, T] = line.split(",").map(Number);
      const i = byId.get(id);
      expect(i, `customer ${id}`).toBeDefined();
      expect(s.frequency[i!], `frequency of ${id}`).toBe(f);
      // the CSV rounds to 2 decimals
      expect(Math.abs(s.recency[i!] - r), `recency of ${id}`).toBeLessThanOrEqual(0.005 + 1e-9);
      expect(Math.abs(s.T[i!] - T), `T of ${id}`).toBeLessThanOrEqual(0.005 + 1e-9);
    }
  });

  it("BG/NBD reproduces Fader, Hardie & Lee (2005): r, α, a, b and the log-likelihood", () => {
    const s = getSummary();
    const fit = fitBgNbd(s);
    const want = ref.bg_nbd_cdnow;
    const tol = want.tolerance_relative;
    expect(fit.converged).toBe(true);
    for (const k of ["r", "alpha", "a", "b"] as const) expect(relErr(fit.params[k], want.params[k]), k).toBeLessThanOrEqual(tol);
    expect(relErr(fit.logLikelihood, want.log_likelihood)).toBeLessThanOrEqual(tol);
    expect(fit.logLikelihood).toBeCloseTo(bgNbdLogLikelihood(fit.params, s), 6);
  });

  it("Gamma-Gamma reproduces p, q, γ on the 946 repeat buyers", () => {
    const s = getSummary();
    const fit = fitGammaGamma(s.frequency, s.monetary);
    const want = ref.gamma_gamma_cdnow;
    expect(fit.n).toBe(946);
    for (const k of ["p", "q", "v"] as const) expect(relErr(fit.params[k], want.params[k]), k).toBeLessThanOrEqual(want.tolerance_relative);
  });

  it("Pareto/NBD agrees with Fader & Hardie's published fit (not in reference-statistics.json; 0.5% like BG/NBD)", () => {
    // r = 0.553, α = 10.578, s = 0.606, β = 11.669, LL = −9595.0 (Fader & Hardie 2005 note; lifetimes tests)
    const fit = fitParetoNbd(getSummary());
    const want = { r: 0.553, alpha: 10.578, s: 0.606, beta: 11.669 };
    for (const k of ["r", "alpha", "s", "beta"] as const) expect(relErr(fit.params[k], want[k]), k).toBeLessThanOrEqual(0.005);
    expect(relErr(fit.logLikelihood, -9595.0)).toBeLessThanOrEqual(0.005);
  });
});
