/**
 * Significance for per-user ranking metrics. Two models evaluated on the same users give paired
 * observations, so every interval and test here works on the per-user differences — much tighter
 * than comparing two independent means (Sakai 2014; Smucker, Allan & Carterette 2007).
 */
import { normalCdf, normalQuantile, normalSf, studentTSf } from "../experiment/distributions";
import { InputError } from "../util/errors";
import { Rng } from "../util/rng";
import { quantileSorted } from "./classification";

/** Options of the bootstrap functions. */
export interface PairedBootstrapOptions {
  /** resamples (default 2000) */
  nBoot?: number;
  /** confidence level (default 0.95) */
  level?: number;
  /** seed of the resampling stream (default 0) */
  seed?: number | string;
}

/** A two-sided interval. */
export interface Interval {
  lower: number;
  upper: number;
}

/** Bootstrap summary of a mean. */
export interface BootstrapMeanResult {
  /** the sample mean */
  estimate: number;
  n: number;
  level: number;
  nBoot: number;
  /** standard deviation of the bootstrap means */
  standardError: number;
  /** percentile interval: the (1∓level)/2 quantiles of the bootstrap means */
  percentile: Interval;
  /** basic (reverse-percentile) interval: 2·θ̂ − those quantiles */
  basic: Interval;
  /** bias-corrected and accelerated interval (Efron 1987) */
  bca: Interval;
  /** BCa bias correction z0 and acceleration a (jackknife) */
  z0: number;
  acceleration: number;
}

function checkSample(x: Float64Array, what: string): void {
  if (x.length === 0) throw new InputError(`${what}: empty sample`);
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new InputError(`${what}: value [${i}] = ${x[i]} is not finite`);
}

function resolveOpts(opts: PairedBootstrapOptions, what: string): { nBoot: number; level: number; seed: number | string } {
  const nBoot = opts.nBoot ?? 2000;
  const level = opts.level ?? 0.95;
  if (!(Number.isInteger(nBoot) && nBoot >= 10)) throw new InputError(`${what}: nBoot must be an integer >= 10 (got ${String(nBoot)})`);
  if (!(level > 0 && level < 1)) throw new InputError(`${what}: level must be in (0, 1) (got ${String(level)})`);
  return { nBoot, level, seed: opts.seed ?? 0 };
}

/**
 * Bootstrap of a sample mean with percentile, basic and BCa intervals (Efron & Tibshirani 1993,
 * ch. 13–14; BCa after Efron 1987, acceleration from the jackknife, which for the mean is
 * a = Σ(x−x̄)³ / (6 (Σ(x−x̄)²)^{3/2})). Seeded, so the same data and seed give the same interval.
 * A constant sample gives the degenerate interval [x̄, x̄].
 */
export function bootstrapMean(x: Float64Array, opts: PairedBootstrapOptions = {}): BootstrapMeanResult {
  checkSample(x, "bootstrapMean");
  const { nBoot, level, seed } = resolveOpts(opts, "bootstrapMean");
  const n = x.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[i];
  const est = sum / n;
  let m2 = 0;
  let m3 = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i] - est;
    m2 += d * d;
    m3 += d * d * d;
  }
  if (m2 === 0) {
    const pt = { lower: est, upper: est };
    return { estimate: est, n, level, nBoot, standardError: 0, percentile: pt, basic: { ...pt }, bca: { ...pt }, z0: 0, acceleration: 0 };
  }
  const rng = new Rng(seed);
  const reps = new Float64Array(nBoot);
  for (let b = 0; b < nBoot; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[rng.int(n)];
    reps[b] = s / n;
  }
  let rm = 0;
  for (let b = 0; b < nBoot; b++) rm += reps[b];
  rm /= nBoot;
  let rv = 0;
  for (let b = 0; b < nBoot; b++) rv += (reps[b] - rm) ** 2;
  reps.sort();
  const alpha = (1 - level) / 2;
  const qLo = quantileSorted(reps, alpha);
  const qHi = quantileSorted(reps, 1 - alpha);

  // BCa: bias correction from the share of replicates below the estimate (ties count half),
  // clamped away from 0 and 1 so z0 stays finite.
  let below = 0;
  let equal = 0;
  for (let b = 0; b < nBoot; b++) {
    if (reps[b] < est) below++;
    else if (reps[b] === est) equal++;
  }
  const share = Math.min(1 - 0.5 / nBoot, Math.max(0.5 / nBoot, (below + 0.5 * equal) / nBoot));
  const z0 = normalQuantile(share);
  const a = m3 / (6 * Math.pow(m2, 1.5));
  const adj = (z: number): number => {
    const w = z0 + z;
    return normalCdf(z0 + w / (1 - a * w));
  };
  const zLo = normalQuantile(alpha);
  const zHi = normalQuantile(1 - alpha);
  return {
    estimate: est,
    n,
    level,
    nBoot,
    standardError: Math.sqrt(rv / (nBoot - 1)),
    percentile: { lower: qLo, upper: qHi },
    basic: { lower: 2 * est - qHi, upper: 2 * est - qLo },
    bca: { lower: quantileSorted(reps, adj(zLo)), upper: quantileSorted(reps, adj(zHi)) },
    z0,
    acceleration: a,
  };
}

/** Paired t-test result. */
export interface PairedTTestResult {
  n: number;
  /** mean of b − a */
  meanDifference: number;
  /** standard deviation of the differences (n − 1 denominator) */
  sd: number;
  t: number;
  df: number;
  /** two-sided */
  pValue: number;
}

function differences(a: Float64Array, b: Float64Array, what: string): Float64Array {
  if (a.length !== b.length) throw new InputError(`${what}: samples differ in length (${a.length} vs ${b.length}); pairs must be the same users`);
  checkSample(a, what);
  checkSample(b, what);
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = b[i] - a[i];
  return d;
}

/**
 * Paired (one-sample on differences) Student t-test of mean(b − a) = 0, two-sided (Student 1908).
 * All differences zero → t = 0, p = 1; constant non-zero differences → p = 0.
 */
export function pairedTTest(a: Float64Array, b: Float64Array): PairedTTestResult {
  const d = differences(a, b, "pairedTTest");
  const n = d.length;
  if (n < 2) throw new InputError("pairedTTest: needs at least 2 pairs");
  let s = 0;
  for (let i = 0; i < n; i++) s += d[i];
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (d[i] - mean) ** 2;
  const sd = Math.sqrt(v / (n - 1));
  const df = n - 1;
  if (sd === 0) return { n, meanDifference: mean, sd, t: mean === 0 ? 0 : Math.sign(mean) * Infinity, df, pValue: mean === 0 ? 1 : 0 };
  const t = mean / (sd / Math.sqrt(n));
  return { n, meanDifference: mean, sd, t, df, pValue: Math.min(1, 2 * studentTSf(Math.abs(t), df)) };
}

/** Wilcoxon signed-rank test result (normal approximation). */
export interface WilcoxonResult {
  /** pairs with a non-zero difference (the ones ranked) */
  n: number;
  /** pairs with zero difference (dropped, Wilcoxon's convention) */
  zeros: number;
  /** sum of the ranks of positive differences (b > a) */
  wPlus: number;
  wMinus: number;
  z: number;
  /** two-sided */
  pValue: number;
  /** Σ(t³ − t)/48 over tie groups, subtracted from the variance */
  tieCorrection: number;
  continuityCorrection: boolean;
}

/**
 * Wilcoxon (1945) signed-rank test of b − a, two-sided, normal approximation: zero differences
 * dropped, mid-ranks for ties with variance n(n+1)(2n+1)/24 − Σ(t³−t)/48, and a ½ continuity
 * correction unless disabled (the defaults of R's wilcox.test with exact = FALSE). Differences are
 * rounded to 12 significant digits before ranking so float noise does not break genuine ties.
 */
export function wilcoxonSignedRank(a: Float64Array, b: Float64Array, opts: { continuityCorrection?: boolean } = {}): WilcoxonResult {
  const d = differences(a, b, "wilcoxonSignedRank");
  const cc = opts.continuityCorrection ?? true;
  const absd: number[] = [];
  const sign: number[] = [];
  let zeros = 0;
  for (let i = 0; i < d.length; i++) {
    const r = Number(d[i].toPrecision(12));
    if (r === 0) zeros++;
    else {
      absd.push(Math.abs(r));
      sign.push(r > 0 ? 1 : -1);
    }
  }
  const n = absd.length;
  if (n === 0) return { n, zeros, wPlus: 0, wMinus: 0, z: 0, pValue: 1, tieCorrection: 0, continuityCorrection: cc };
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((i, j) => absd[i] - absd[j] || i - j);
  let wPlus = 0;
  let ties = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && absd[order[j + 1]] === absd[order[i]]) j++;
    const t = j - i + 1;
    const rank = (i + j) / 2 + 1;
    for (let q = i; q <= j; q++) if (sign[order[q]] > 0) wPlus += rank;
    if (t > 1) ties += t * t * t - t;
    i = j + 1;
  }
  const total = (n * (n + 1)) / 2;
  const mu = total / 2;
  const tieCorrection = ties / 48;
  const sigma = Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24 - tieCorrection);
  const dev = wPlus - mu;
  const num = cc ? dev - 0.5 * Math.sign(dev) : dev;
  const z = num / sigma;
  return { n, zeros, wPlus, wMinus: total - wPlus, z, pValue: Math.min(1, 2 * normalSf(Math.abs(z))), tieCorrection, continuityCorrection: cc };
}

/** Paired comparison of two models' per-user values. */
export interface PairedComparison {
  n: number;
  meanA: number;
  meanB: number;
  /** bootstrap of mean(b − a) */
  difference: BootstrapMeanResult;
  tTest: PairedTTestResult;
  wilcoxon: WilcoxonResult;
}

/**
 * Compares model B with model A on the same users (a[i], b[i] = user i's metric): paired bootstrap
 * of the mean difference b − a (users resampled jointly, Efron & Tibshirani 1993), paired t-test and
 * Wilcoxon signed-rank test.
 */
export function pairedBootstrap(a: Float64Array, b: Float64Array, opts: PairedBootstrapOptions = {}): PairedComparison {
  const d = differences(a, b, "pairedBootstrap");
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    sa += a[i];
    sb += b[i];
  }
  return {
    n: a.length,
    meanA: sa / a.length,
    meanB: sb / b.length,
    difference: bootstrapMean(d, opts),
    tTest: pairedTTest(a, b),
    wilcoxon: wilcoxonSignedRank(a, b),
  };
}
