import { InputError } from "../util/errors";
import type { MeanSummary, SampleStats } from "./types";

/**
 * Input checks shared by the statistics modules. Each names the arm or parameter at fault, because
 * "NaN" three functions later tells an analyst nothing.
 */

/** Throws unless x is a finite number. */
export function requireFinite(x: number, what: string): void {
  if (typeof x !== "number" || !Number.isFinite(x)) throw new InputError(`${what} must be a finite number (got ${String(x)})`);
}

/** Throws unless 0 < p < 1. */
export function requireOpenUnit(p: number, what: string): void {
  if (typeof p !== "number" || !(p > 0 && p < 1)) throw new InputError(`${what} must be strictly between 0 and 1 (got ${String(p)})`);
}

/** Throws unless x > 0 and finite. */
export function requirePositive(x: number, what: string): void {
  if (typeof x !== "number" || !(x > 0) || !Number.isFinite(x)) throw new InputError(`${what} must be a positive finite number (got ${String(x)})`);
}

/** Throws unless n is a count usable for a variance estimate (n ≥ 2; n = 0 gets its own message). */
export function requireUsers(n: number, arm: string): void {
  if (typeof n !== "number" || Number.isNaN(n)) throw new InputError(`arm '${arm}': user count n is NaN`);
  if (n === 0) throw new InputError(`arm '${arm}' has zero users`);
  if (!(n >= 2) || !Number.isFinite(n)) throw new InputError(`arm '${arm}': n = ${n}; at least 2 users are needed to estimate a variance`);
}

/**
 * Mean and unbiased variance from (n, Σy, Σy²), rejecting NaN sums, Σy² below Σy²/n (impossible for
 * real data beyond rounding) and zero variance.
 */
export function summarizeStats(stats: SampleStats, arm: string): MeanSummary {
  if (stats === null || typeof stats !== "object") throw new InputError(`arm '${arm}': statistics are missing`);
  requireUsers(stats.n, arm);
  if (typeof stats.sum !== "number" || !Number.isFinite(stats.sum)) throw new InputError(`arm '${arm}': sum is ${String(stats.sum)}, expected a finite number`);
  if (typeof stats.sumSquares !== "number" || !Number.isFinite(stats.sumSquares)) {
    throw new InputError(`arm '${arm}': sum of squares is ${String(stats.sumSquares)}, expected a finite number`);
  }
  const { n, sum, sumSquares } = stats;
  const mean = sum / n;
  const centered = sumSquares - sum * mean; // Σ(y − ȳ)² = Σy² − (Σy)²/n
  const scale = Math.max(Math.abs(sumSquares), sum * mean);
  if (sumSquares < 0 || centered < -1e-9 * scale) {
    throw new InputError(
      `arm '${arm}': sum of squares ${sumSquares} is inconsistent with sum ${sum} and n ${n} (Σy² must be ≥ (Σy)²/n = ${sum * mean})`,
    );
  }
  const variance = Math.max(0, centered) / (n - 1);
  if (!(variance > 1e-14 * (scale / n))) {
    throw new InputError(`arm '${arm}' has zero variance (every user has the same value ${mean}); the test is undefined`);
  }
  return { n, mean, variance };
}

/** Validates an already-summarized arm (used by CUPED and ratio metrics). */
export function checkSummary(s: MeanSummary, arm: string): MeanSummary {
  requireUsers(s.n, arm);
  if (!Number.isFinite(s.mean)) throw new InputError(`arm '${arm}': mean is ${String(s.mean)}, expected a finite number`);
  if (!Number.isFinite(s.variance) || s.variance < 0) throw new InputError(`arm '${arm}': variance is ${String(s.variance)}, expected a finite number ≥ 0`);
  if (s.variance === 0) throw new InputError(`arm '${arm}' has zero variance; the test is undefined`);
  return s;
}

/**
 * Validates allocation weights: non-empty, non-negative, finite and summing to 1 within 1e-6.
 * `what` names the caller's parameter in the message.
 */
export function checkWeights(weights: readonly number[], what = "weights"): void {
  if (!Array.isArray(weights) || weights.length === 0) throw new InputError(`${what}: at least one arm is required (got an empty list)`);
  let total = 0;
  weights.forEach((w, i) => {
    if (typeof w !== "number" || !Number.isFinite(w)) throw new InputError(`${what}[${i}] is ${String(w)}, expected a finite number`);
    if (w < 0) throw new InputError(`${what}[${i}] = ${w} is negative`);
    total += w;
  });
  if (Math.abs(total - 1) > 1e-6) throw new InputError(`${what} must sum to 1 (±1e-6), got ${total} from [${weights.join(", ")}]`);
}

/** Throws unless alpha is a usable significance level. */
export function checkAlpha(alpha: number): void {
  if (typeof alpha !== "number" || !(alpha > 0 && alpha < 1)) throw new InputError(`alpha must be strictly between 0 and 1 (got ${String(alpha)})`);
}
