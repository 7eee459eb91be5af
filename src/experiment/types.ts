/** Shared input/output types of the experimentation statistics core. */

/** Sufficient statistics of a metric in one arm: user count, Σy and Σy² (what a warehouse query returns). */
export interface SampleStats {
  n: number;
  sum: number;
  sumSquares: number;
}

/** Mean, unbiased variance (n − 1 denominator) and count of a metric in one arm. */
export interface MeanSummary {
  n: number;
  mean: number;
  variance: number;
}

/**
 * Sufficient statistics of a ratio metric (e.g. revenue per session) in one arm, per randomization
 * unit: Σ numerator, Σ numerator², Σ denominator, Σ denominator², Σ numerator·denominator.
 */
export interface RatioStats {
  n: number;
  sumNumerator: number;
  sumNumeratorSquares: number;
  sumDenominator: number;
  sumDenominatorSquares: number;
  sumNumeratorDenominator: number;
}

/** Conversion counts of a binary metric in one arm. */
export interface ProportionStats {
  n: number;
  successes: number;
}

/** Alternative hypothesis for treatment − control: "greater" means treatment > control. */
export type Alternative = "two-sided" | "greater" | "less";

/** Whether an effect is reported as treatment − control ("absolute") or treatment/control − 1 ("relative"). */
export type EffectScale = "absolute" | "relative";

/** An estimate with its standard error: what every downstream summary (Bayes, sequential, decision) consumes. */
export interface Estimate {
  estimate: number;
  se: number;
}
