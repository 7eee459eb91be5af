import { InputError } from "../util/errors";
import { type TestOptions, type TestResult, welchTest } from "./frequentist";
import type { SampleStats } from "./types";
import { checkAlpha, requirePositive } from "./validate";

/**
 * Always-valid inference by asymptotic confidence sequences (Waudby-Smith, Arbour, Sinha, Kennedy &
 * Ramdas 2021, "Time-uniform central limit theory and asymptotic confidence sequences", Thm 2.2;
 * the normal-mixture boundary used by GrowthBook's and Eppo's sequential testing):
 *
 *   estimate ± σ̂ · √( 2(Nρ² + 1) / (N²ρ²) · ln( √(Nρ² + 1) / α ) )
 *
 * with σ̂ the per-unit standard deviation of the estimator (σ̂² = N·SE²) and N the total sample size.
 * Unlike a fixed-horizon CI it stays valid however often it is looked at.
 */

/**
 * Mixture parameter ρ that makes the boundary tightest at total sample size N* (Waudby-Smith et al.
 * 2021, approximate optimum): ρ = √( (−2 ln α + ln(−2 ln α + 1)) / N* ).
 */
export function normalMixtureRho(alpha: number, targetN: number): number {
  checkAlpha(alpha);
  requirePositive(targetN, "tuning sample size");
  const l = -2 * Math.log(alpha);
  return Math.sqrt((l + Math.log(l + 1)) / targetN);
}

/** Half-width of the asymptotic confidence sequence at total sample size n for per-unit sd sigma. */
export function confidenceSequenceHalfWidth(sigma: number, n: number, rho: number, alpha: number): number {
  const v = n * rho * rho;
  return sigma * Math.sqrt(((2 * (v + 1)) / (n * n * rho * rho)) * Math.log(Math.sqrt(v + 1) / alpha));
}

/**
 * Always-valid p-value matching the confidence sequence: the smallest α whose sequence (with ρ held
 * fixed) excludes 0, i.e. min(1, √(Nρ²+1) · exp(−est²N²ρ² / (2σ²(Nρ²+1)))). Rejecting when p ≤ α is
 * the same as the α-level sequence excluding zero.
 */
export function alwaysValidPValue(estimate: number, sigma: number, n: number, rho: number): number {
  const v = n * rho * rho;
  const logP = 0.5 * Math.log(v + 1) - (estimate * estimate * n * n * rho * rho) / (2 * sigma * sigma * (v + 1));
  return Math.min(1, Math.exp(logP));
}

/** Always-valid result: the sequence's interval and p-value, with the fixed-horizon test alongside. */
export interface SequentialResult {
  estimate: number;
  se: number;
  /** always-valid (1 − alpha) interval at the current sample size */
  ci: [number, number];
  halfWidth: number;
  pValue: number;
  rho: number;
  /** total users (both arms) */
  n: number;
  alpha: number;
}

/** Options of the sequential test: target N* sets ρ; alpha and scale as for the fixed test. */
export interface SequentialOptions {
  alpha?: number;
  /** total sample size (both arms) at which the sequence should be tightest; ρ is tuned for it */
  targetN: number;
  scale?: TestOptions["scale"];
}

/**
 * Confidence sequence for an estimate with standard error `se` after `n` total units (the asymptotic
 * CS of Waudby-Smith et al. 2021 applied to any asymptotically normal estimator).
 */
export function sequentialFromEstimate(estimate: number, se: number, n: number, opts: SequentialOptions): SequentialResult {
  const alpha = opts.alpha ?? 0.05;
  checkAlpha(alpha);
  if (!Number.isFinite(estimate)) throw new InputError(`estimate must be finite (got ${String(estimate)})`);
  requirePositive(se, "standard error");
  requirePositive(n, "sample size");
  const rho = normalMixtureRho(alpha, opts.targetN);
  const sigma = se * Math.sqrt(n);
  const halfWidth = confidenceSequenceHalfWidth(sigma, n, rho, alpha);
  return { estimate, se, ci: [estimate - halfWidth, estimate + halfWidth], halfWidth, pValue: alwaysValidPValue(estimate, sigma, n, rho), rho, n, alpha };
}

/**
 * Always-valid two-sided test for a difference (or relative lift) of means from sufficient statistics:
 * the Welch estimate and SE plugged into the asymptotic confidence sequence, N = n_control + n_treatment
 * (as GrowthBook's sequential engine). Returns the fixed-horizon Welch result too, for comparison.
 */
export function sequentialTest(control: SampleStats, treatment: SampleStats, opts: SequentialOptions): SequentialResult & { fixedHorizon: TestResult } {
  if (!opts || opts.targetN === undefined) throw new InputError("sequential test needs targetN, the total sample size the boundary is tuned for");
  const fixedHorizon = welchTest(control, treatment, { alpha: opts.alpha, scale: opts.scale });
  const n = control.n + treatment.n;
  return { ...sequentialFromEstimate(fixedHorizon.estimate, fixedHorizon.se, n, opts), fixedHorizon };
}
