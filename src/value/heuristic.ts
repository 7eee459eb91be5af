/**
 * The legacy heuristic lifetime value kept as a named baseline for comparisons with the
 * probabilistic models: LTV = average monthly revenue × expected lifetime in months, with the
 * expected lifetime 1 / monthly churn rate (the mean of a geometric lifetime with constant churn,
 * i.e. sBG without heterogeneity; FH 2007 §1 discuss why this understates the value of the base).
 */
import { InputError } from "../util/errors";

/** Options for {@link legacyHeuristicLtv}. */
export interface LegacyHeuristicOptions {
  /**
   * Cap on the expected lifetime in months (default 120 = 10 years): 1/churn explodes as churn → 0
   * (and is infinite at 0), so lifetimes are capped at this value.
   */
  maxLifetimeMonths?: number;
}

/** Expected lifetime in months under the legacy heuristic: min(1 / monthlyChurnRate, cap), cap when churn = 0. */
export function legacyExpectedLifetimeMonths(monthlyChurnRate: number, opts: LegacyHeuristicOptions = {}): number {
  const cap = opts.maxLifetimeMonths ?? 120;
  if (!(cap > 0)) throw new InputError("legacy heuristic LTV: maxLifetimeMonths must be > 0", { value: String(cap) });
  if (!(monthlyChurnRate >= 0 && monthlyChurnRate <= 1)) {
    throw new InputError("legacy heuristic LTV: monthly churn rate must be in [0, 1]", { column: "monthly_churn_rate", value: String(monthlyChurnRate) });
  }
  return monthlyChurnRate === 0 ? cap : Math.min(1 / monthlyChurnRate, cap);
}

/**
 * LEGACY HEURISTIC, a baseline only: heuristicLtv = avg_monthly_revenue × min(1 / monthly_churn_rate, cap)
 * (the common "revenue ÷ churn" rule of thumb; undiscounted, no heterogeneity).
 */
export function legacyHeuristicLtv(avgMonthlyRevenue: number, monthlyChurnRate: number, opts: LegacyHeuristicOptions = {}): number {
  if (!Number.isFinite(avgMonthlyRevenue)) {
    throw new InputError("legacy heuristic LTV: average monthly revenue must be finite", { column: "avg_monthly_revenue", value: String(avgMonthlyRevenue) });
  }
  return avgMonthlyRevenue * legacyExpectedLifetimeMonths(monthlyChurnRate, opts);
}

/** {@link legacyHeuristicLtv} per customer; `monthlyChurnRate` may be one rate for everyone. */
export function legacyHeuristicLtvAll(avgMonthlyRevenue: Float64Array, monthlyChurnRate: Float64Array | number, opts: LegacyHeuristicOptions = {}): Float64Array {
  const n = avgMonthlyRevenue.length;
  if (typeof monthlyChurnRate !== "number" && monthlyChurnRate.length !== n) {
    throw new InputError(`legacy heuristic LTV: revenue (${n}) and churn (${monthlyChurnRate.length}) differ in length`);
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = legacyHeuristicLtv(avgMonthlyRevenue[i], typeof monthlyChurnRate === "number" ? monthlyChurnRate : monthlyChurnRate[i], opts);
  return out;
}
