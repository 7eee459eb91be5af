import { InputError } from "../util/errors";
import { normalCdf, normalPdf, normalQuantile } from "./distributions";
import { welchTest } from "./frequentist";
import type { EffectScale, Estimate, SampleStats } from "./types";
import { requireFinite, requireOpenUnit, requirePositive } from "./validate";

/** Normal prior on the effect (on the scale being analysed, e.g. the relative lift). */
export interface NormalPrior {
  mean: number;
  variance: number;
}

/** Bayesian summary of treatment − control under a normal likelihood. */
export interface BayesResult {
  scale: EffectScale;
  posteriorMean: number;
  posteriorSd: number;
  /** equal-tailed credible interval at `credibleLevel` */
  credibleInterval: [number, number];
  credibleLevel: number;
  /** P(effect > 0 | data) */
  chanceToBeatControl: number;
  /** E[max(0, −effect)]: what is lost on average by shipping treatment, and E[max(0, effect)] by keeping control */
  expectedLoss: { chooseTreatment: number; chooseControl: number };
  /** the data's estimate and SE the posterior was built from */
  likelihood: Estimate;
  prior: NormalPrior | null;
}

/**
 * Conjugate normal update: with estimate ~ N(effect, se²) and effect ~ N(m, v), the posterior is
 * normal with precision 1/v + 1/se² and precision-weighted mean (Gelman et al., BDA3 §2.5);
 * a null prior is flat, giving N(estimate, se²).
 */
export function normalPosterior(likelihood: Estimate, prior: NormalPrior | null = null): { mean: number; sd: number } {
  requireFinite(likelihood.estimate, "estimate");
  requirePositive(likelihood.se, "standard error");
  if (prior === null) return { mean: likelihood.estimate, sd: likelihood.se };
  requireFinite(prior.mean, "prior mean");
  requirePositive(prior.variance, "prior variance");
  const precData = 1 / (likelihood.se * likelihood.se);
  const precPrior = 1 / prior.variance;
  const prec = precData + precPrior;
  return { mean: (likelihood.estimate * precData + prior.mean * precPrior) / prec, sd: Math.sqrt(1 / prec) };
}

/**
 * Chance to win, expected losses and credible interval of a normal posterior N(μ, σ²) for the effect
 * (the GrowthBook Bayesian engine's normal-approximation formulas): P(effect > 0) = Φ(μ/σ);
 * loss(choose B) = σφ(μ/σ) − μΦ(−μ/σ); loss(choose A) = σφ(μ/σ) + μΦ(μ/σ).
 */
export function bayesFromEstimate(likelihood: Estimate, opts: { prior?: NormalPrior | null; credibleLevel?: number; scale?: EffectScale } = {}): BayesResult {
  const level = opts.credibleLevel ?? 0.95;
  requireOpenUnit(level, "credible level");
  const prior = opts.prior ?? null;
  const post = normalPosterior(likelihood, prior);
  const mu = post.mean;
  const sigma = post.sd;
  const z = mu / sigma;
  const q = normalQuantile(0.5 + level / 2);
  const density = sigma * normalPdf(z);
  return {
    scale: opts.scale ?? "absolute",
    posteriorMean: mu,
    posteriorSd: sigma,
    credibleInterval: [mu - q * sigma, mu + q * sigma],
    credibleLevel: level,
    chanceToBeatControl: normalCdf(z),
    expectedLoss: { chooseTreatment: density - mu * normalCdf(-z), chooseControl: density + mu * normalCdf(z) },
    likelihood: { estimate: likelihood.estimate, se: likelihood.se },
    prior,
  };
}

/**
 * Bayesian A/B summary from sufficient statistics: the difference (or relative lift, delta-method SE)
 * of the means as a normal likelihood, combined with a flat or normal prior on that effect.
 */
export function bayesianSummary(
  control: SampleStats,
  treatment: SampleStats,
  opts: { prior?: NormalPrior | null; credibleLevel?: number; scale?: EffectScale } = {},
): BayesResult {
  const scale = opts.scale ?? "relative";
  if (scale !== "absolute" && scale !== "relative") throw new InputError(`scale must be "absolute" or "relative" (got ${String(scale)})`);
  const t = welchTest(control, treatment, { scale });
  return bayesFromEstimate({ estimate: t.estimate, se: t.se }, { ...opts, scale });
}
