import { InputError } from "../util/errors";
import { type TestOptions, type TestResult, welchTestFromSummaries } from "./frequentist";
import type { MeanSummary } from "./types";
import { requireUsers } from "./validate";

/**
 * Per-arm sufficient statistics for CUPED: metric Y (in-experiment) and covariate X (pre-experiment
 * value of the same metric, typically).
 */
export interface CupedArmStats {
  n: number;
  sumY: number;
  sumY2: number;
  sumX: number;
  sumX2: number;
  sumXY: number;
}

/** CUPED result: theta, the adjusted and unadjusted tests and the variance reduction achieved. */
export interface CupedResult {
  /** θ = pooled within-arm Cov(Y, X) / Var(X) */
  theta: number;
  /** grand mean of X over both arms (the centring point of the adjustment) */
  meanX: number;
  /** 1 − Var(adjusted effect estimate) / Var(unadjusted effect estimate) */
  varianceReduction: number;
  /** per-arm 1 − Var(Y − θX)/Var(Y) */
  armVarianceReduction: { control: number; treatment: number };
  /** Welch test on the adjusted means Ȳ − θ(X̄_arm − X̄) */
  adjusted: TestResult;
  unadjusted: TestResult;
}

/** Accumulates CUPED sufficient statistics from per-user arrays, rejecting missing (NaN/absent) values. */
export function cupedArmStats(y: ArrayLike<number>, x: ArrayLike<number>): CupedArmStats {
  if (y.length !== x.length) throw new InputError(`CUPED: metric has ${y.length} values but the covariate has ${x.length}; every user needs both`);
  const s: CupedArmStats = { n: 0, sumY: 0, sumY2: 0, sumX: 0, sumX2: 0, sumXY: 0 };
  for (let i = 0; i < y.length; i++) accumulate(s, y[i], x[i], i);
  return s;
}

function accumulate(s: CupedArmStats, yi: number, xi: number, index: number): void {
  if (typeof yi !== "number" || !Number.isFinite(yi)) throw new InputError(`CUPED: metric is missing or not finite for the user at index ${index} (${String(yi)})`);
  if (typeof xi !== "number" || !Number.isFinite(xi)) throw new InputError(`CUPED: covariate is missing or not finite for the user at index ${index} (${String(xi)})`);
  s.n += 1;
  s.sumY += yi;
  s.sumY2 += yi * yi;
  s.sumX += xi;
  s.sumX2 += xi * xi;
  s.sumXY += xi * yi;
}

interface Centered {
  n: number;
  meanY: number;
  meanX: number;
  syy: number;
  sxx: number;
  sxy: number;
}

function center(s: CupedArmStats, arm: string): Centered {
  if (!s || typeof s !== "object") throw new InputError(`CUPED arm '${arm}': statistics are missing`);
  requireUsers(s.n, arm);
  for (const k of ["sumY", "sumY2", "sumX", "sumX2", "sumXY"] as const) {
    if (typeof s[k] !== "number" || !Number.isFinite(s[k])) throw new InputError(`CUPED arm '${arm}': ${k} is ${String(s[k])}, expected a finite number`);
  }
  const meanY = s.sumY / s.n;
  const meanX = s.sumX / s.n;
  const syy = s.sumY2 - s.sumY * meanY;
  const sxx = s.sumX2 - s.sumX * meanX;
  if (syy < -1e-9 * Math.abs(s.sumY2)) throw new InputError(`CUPED arm '${arm}': sumY2 ${s.sumY2} is inconsistent with sumY ${s.sumY} and n ${s.n}`);
  if (sxx < -1e-9 * Math.abs(s.sumX2)) throw new InputError(`CUPED arm '${arm}': sumX2 ${s.sumX2} is inconsistent with sumX ${s.sumX} and n ${s.n}`);
  return { n: s.n, meanY, meanX, syy: Math.max(0, syy), sxx: Math.max(0, sxx), sxy: s.sumXY - s.sumX * meanY };
}

/**
 * CUPED (Deng, Xu, Kohavi & Walker 2013, "Improving the Sensitivity of Online Controlled Experiments
 * by Utilizing Pre-Experiment Data"): Y_adj = Y − θ(X − X̄) with θ = Cov(Y, X)/Var(X). θ is pooled
 * from within-arm (co)variances so a treatment effect on Y cannot leak into it; the adjusted arm
 * variance is V_Y − 2θC_XY + θ²V_X. The test on adjusted means is Welch's t.
 */
export function cupedFromStats(control: CupedArmStats, treatment: CupedArmStats, opts: TestOptions = {}): CupedResult {
  const a = center(control, "control");
  const b = center(treatment, "treatment");
  const sxx = a.sxx + b.sxx;
  if (!(sxx > 0)) throw new InputError("CUPED: the covariate has zero variance within arms, so it cannot explain any variance");
  const theta = (a.sxy + b.sxy) / sxx;
  const meanX = (a.meanX * a.n + b.meanX * b.n) / (a.n + b.n);
  const summarize = (c: Centered, arm: string): { raw: MeanSummary; adj: MeanSummary } => {
    const vy = c.syy / (c.n - 1);
    if (!(vy > 0)) throw new InputError(`CUPED arm '${arm}' has zero variance in the metric`);
    const vAdj = (c.syy - 2 * theta * c.sxy + theta * theta * c.sxx) / (c.n - 1);
    if (!(vAdj > 0)) throw new InputError(`CUPED arm '${arm}': the adjusted metric has zero variance (the covariate explains it exactly)`);
    return {
      raw: { n: c.n, mean: c.meanY, variance: vy },
      adj: { n: c.n, mean: c.meanY - theta * (c.meanX - meanX), variance: vAdj },
    };
  };
  const sa = summarize(a, "control");
  const sb = summarize(b, "treatment");
  const adjusted = welchTestFromSummaries(sa.adj, sb.adj, opts);
  const unadjusted = welchTestFromSummaries(sa.raw, sb.raw, opts);
  const varRaw = sa.raw.variance / sa.raw.n + sb.raw.variance / sb.raw.n;
  const varAdj = sa.adj.variance / sa.adj.n + sb.adj.variance / sb.adj.n;
  return {
    theta,
    meanX,
    varianceReduction: 1 - varAdj / varRaw,
    armVarianceReduction: { control: 1 - sa.adj.variance / sa.raw.variance, treatment: 1 - sb.adj.variance / sb.raw.variance },
    adjusted,
    unadjusted,
  };
}

/**
 * CUPED from per-user arrays: metric y, covariate x and arm codes (users whose arm is neither
 * `controlArm` nor `treatmentArm`, e.g. −1 for "not enrolled", are ignored).
 */
export function cuped(
  y: ArrayLike<number>,
  x: ArrayLike<number>,
  arms: ArrayLike<number>,
  opts: TestOptions & { controlArm?: number; treatmentArm?: number } = {},
): CupedResult {
  if (y.length !== arms.length || x.length !== arms.length) {
    throw new InputError(`CUPED: ${arms.length} users assigned but ${y.length} metric values and ${x.length} covariate values; the metric is missing for some users`);
  }
  const c = opts.controlArm ?? 0;
  const t = opts.treatmentArm ?? 1;
  const stats = [
    { n: 0, sumY: 0, sumY2: 0, sumX: 0, sumX2: 0, sumXY: 0 },
    { n: 0, sumY: 0, sumY2: 0, sumX: 0, sumX2: 0, sumXY: 0 },
  ];
  for (let i = 0; i < arms.length; i++) {
    const k = arms[i] === c ? 0 : arms[i] === t ? 1 : -1;
    if (k >= 0) accumulate(stats[k], y[i], x[i], i);
  }
  return cupedFromStats(stats[0], stats[1], opts);
}
