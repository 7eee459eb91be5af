/**
 * Fits BG/NBD, Pareto/NBD and Gamma-Gamma to the licensed CDNOW sample (outside the repository) through
 * NTG's own RFM summary and prints the estimates next to the published reference values.
 * Usage: npx tsx scripts/check-cdnow-fits.ts [path/to/CDNOW_sample.txt]
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fitBgNbd, fitGammaGamma, fitParetoNbd, readCdnowTransactions, rfmSummary } from "../src/value";

const file = process.argv[2] ?? require("node:path").resolve(__dirname, "../../shared/data/cdnow/CDNOW_sample.txt");
if (!fs.existsSync(file)) {
  console.error(`CDNOW sample not found at ${file} (it is licensed and not part of the repository)`);
  process.exit(2);
}
const ref = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "tests", "fixtures", "reference-statistics.json"), "utf8"));

const t0 = performance.now();
const summary = rfmSummary(readCdnowTransactions(file), { calibrationEnd: "1997-09-30", timeUnitDays: 7 });
const t1 = performance.now();
console.log(`RFM summary: ${summary.length} customers, calibration end 1997-09-30, weeks (${(t1 - t0).toFixed(0)} ms)`);

function row(name: string, got: number, want: number, tol: number): string {
  const rel = Math.abs(got - want) / Math.abs(want);
  return `  ${name.padEnd(8)} ${got.toFixed(4).padStart(11)}  ref ${String(want).padStart(8)}  rel.err ${(rel * 100).toFixed(3)}%  ${rel <= tol ? "ok" : "OUT OF TOLERANCE"}`;
}

let ok = true;
const check = (name: string, got: number, want: number, tol: number): void => {
  console.log(row(name, got, want, tol));
  ok &&= Math.abs(got - want) / Math.abs(want) <= tol;
};

let t = performance.now();
const bg = fitBgNbd(summary);
console.log(`\nBG/NBD (${bg.iterations} iterations, ${bg.evaluations} evaluations, gradient norm ${bg.gradientNorm.toExponential(2)}, ${(performance.now() - t).toFixed(0)} ms)`);
const bgRef = ref.bg_nbd_cdnow;
for (const k of ["r", "alpha", "a", "b"] as const) check(k, bg.params[k], bgRef.params[k], bgRef.tolerance_relative);
check("LL", bg.logLikelihood, bgRef.log_likelihood, bgRef.tolerance_relative);

t = performance.now();
const gg = fitGammaGamma(summary.frequency, summary.monetary);
console.log(`\nGamma-Gamma on ${gg.n} repeat buyers (${gg.iterations} iterations, LL ${gg.logLikelihood.toFixed(2)}, ${(performance.now() - t).toFixed(0)} ms)`);
const ggRef = ref.gamma_gamma_cdnow;
for (const k of ["p", "q", "v"] as const) check(k, gg.params[k], ggRef.params[k], ggRef.tolerance_relative);

t = performance.now();
const pn = fitParetoNbd(summary);
console.log(`\nPareto/NBD (${pn.iterations} iterations, ${(performance.now() - t).toFixed(0)} ms; reference: Fader & Hardie 2005 note)`);
const pnRef = { r: 0.553, alpha: 10.578, s: 0.606, beta: 11.669 };
for (const k of ["r", "alpha", "s", "beta"] as const) check(k, pn.params[k], pnRef[k], 0.005);
check("LL", pn.logLikelihood, -9595.0, 0.005);

console.log(ok ? "\nall within tolerance" : "\nSOME VALUES OUT OF TOLERANCE");
process.exit(ok ? 0 : 1);
