/**
 * Per-user explanations: the features contributing most to a user's churn log-odds. For logistic
 * regression a contribution is coefficient × standardised value (the exact additive decomposition
 * of the log-odds around the training mean); for the GBDT it is the Saabas path attribution
 * (gbdt.ts). Rendered as "feature:+0.42" (log-odds units), largest |contribution| first.
 */
import { gbdtContributions, type GbdtModel } from "./gbdt";
import { logisticContributions, type LogisticModel } from "./logistic";

/** Either churn model. */
export type ChurnModel = LogisticModel | GbdtModel;

/** "name:+0.42" with two decimals; values that round to zero are written "+0.00". */
export function formatContribution(name: string, v: number): string {
  const r = Math.round(Math.abs(v) * 100) / 100;
  return `${name}:${v < 0 && r > 0 ? "-" : "+"}${r.toFixed(2)}`;
}

/**
 * The k largest |contributions| of each row (contrib is n × names.length, row-major), formatted;
 * ties keep the feature order.
 */
export function topContributions(names: string[], contrib: Float64Array, n: number, k: number): string[][] {
  const q = names.length;
  const out: string[][] = [];
  const idx = new Int32Array(q);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < q; c++) idx[c] = c;
    const o = i * q;
    const sorted = Array.from(idx).sort((a, b) => Math.abs(contrib[o + b]) - Math.abs(contrib[o + a]) || a - b);
    out.push(sorted.slice(0, Math.min(k, q)).map((c) => formatContribution(names[c], contrib[o + c])));
  }
  return out;
}

/** Contributions of each kept feature for each row of X under `model` (n × model.names.length). */
export function contributions(model: ChurnModel, X: Float64Array, n: number): Float64Array {
  return model.kind === "logistic" ? logisticContributions(model, X, n) : gbdtContributions(model, X, n);
}

/** Top-k explanations of each row of X under `model`. */
export function explainRows(model: ChurnModel, X: Float64Array, n: number, k: number): string[][] {
  if (k <= 0) return Array.from({ length: n }, () => []);
  return topContributions(model.names, contributions(model, X, n), n, k);
}
