import { InputError } from "../util/errors";
import { checkAlpha } from "./validate";

function checkPValues(p: readonly number[]): void {
  if (!Array.isArray(p)) throw new InputError("p-values must be an array of numbers");
  p.forEach((v, i) => {
    if (typeof v !== "number" || Number.isNaN(v) || v < 0 || v > 1) throw new InputError(`p-value [${i}] = ${String(v)} is not a probability in [0, 1]`);
  });
}

/** Indices sorting p ascending; ties keep input order so the result is deterministic. */
function ascendingOrder(p: readonly number[]): number[] {
  return p.map((_, i) => i).sort((a, b) => p[a] - p[b] || a - b);
}

/** Bonferroni-adjusted p-values: min(1, m·p) (Dunn 1961). */
export function bonferroni(pValues: readonly number[]): number[] {
  checkPValues(pValues);
  return pValues.map((p) => Math.min(1, p * pValues.length));
}

/**
 * Holm (1979) step-down adjusted p-values: sorted ascending, adj_(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j)),
 * returned in the input order (the GrowthBook shared/experiments reference values).
 */
export function holmBonferroni(pValues: readonly number[]): number[] {
  checkPValues(pValues);
  const m = pValues.length;
  const out = new Array<number>(m);
  let running = 0;
  ascendingOrder(pValues).forEach((idx, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[idx]));
    out[idx] = running;
  });
  return out;
}

/**
 * Benjamini & Hochberg (1995) step-up adjusted p-values (q-values): sorted ascending,
 * adj_(i) = min_{j ≥ i} min(1, m·p_(j)/j), returned in the input order (same as R p.adjust "BH").
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  checkPValues(pValues);
  const m = pValues.length;
  const order = ascendingOrder(pValues);
  const out = new Array<number>(m);
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const idx = order[rank];
    running = Math.min(running, (m * pValues[idx]) / (rank + 1));
    out[idx] = Math.min(1, running);
  }
  return out;
}

/** How a family-wise alpha is split across k comparisons (A/B/n against one control). */
export type AlphaCorrection = "none" | "bonferroni" | "sidak";

/** Per-comparison alpha: Bonferroni α/k or Šidák 1 − (1 − α)^{1/k} (Šidák 1967). */
export function perComparisonAlpha(alpha: number, comparisons: number, correction: AlphaCorrection): number {
  checkAlpha(alpha);
  if (!Number.isInteger(comparisons) || comparisons < 1) throw new InputError(`comparisons must be a positive integer (got ${String(comparisons)})`);
  if (correction === "none" || comparisons === 1) return alpha;
  if (correction === "bonferroni") return alpha / comparisons;
  if (correction === "sidak") return -Math.expm1(Math.log1p(-alpha) / comparisons);
  throw new InputError(`correction must be "none", "bonferroni" or "sidak" (got ${String(correction)})`);
}
