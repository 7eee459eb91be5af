/**
 * Discounted customer lifetime value for non-contractual settings: expected purchases per month from
 * a transaction model (BG/NBD or Pareto/NBD) × expected spend per purchase (Gamma-Gamma), discounted
 * monthly — the semantics of the lifetimes library's `customer_lifetime_value` (Davidson-Pilon et al.),
 * after Fader, Hardie & Lee (2005) "RFM and CLV".
 */
import { InputError, NtgError } from "../util/errors";
import { bgNbdConditionalExpected, type BgNbdParams } from "./bgnbd";
import { paretoNbdConditionalExpected, type ParetoNbdParams } from "./pareto-nbd";
import type { RfmData } from "./rfm";

/** A fitted transaction model reduced to what CLV needs: E[purchases in (T, T+t] | x, t_x, T]. */
export interface TransactionModel {
  name: string;
  conditionalExpected(t: number, x: number, tx: number, T: number): number;
}

/** Wraps BG/NBD parameters as a {@link TransactionModel}. */
export function bgNbdModel(params: BgNbdParams): TransactionModel {
  return { name: "BG/NBD", conditionalExpected: (t, x, tx, T) => bgNbdConditionalExpected(params, t, x, tx, T) };
}

/** Wraps Pareto/NBD parameters as a {@link TransactionModel}. */
export function paretoNbdModel(params: ParetoNbdParams): TransactionModel {
  return { name: "Pareto/NBD", conditionalExpected: (t, x, tx, T) => paretoNbdConditionalExpected(params, t, x, tx, T) };
}

/** Options for {@link customerLifetimeValue}. */
export interface ClvOptions {
  /** horizon in months (default 12) */
  months?: number;
  /** monthly discount rate (default 0.01) */
  monthlyDiscountRate?: number;
  /** model time units per month (default 4.345: the model was fitted in weeks; 30 for days, 1 for months) */
  unitsPerMonth?: number;
}

/**
 * CLV_i = Σ_{m=1..M} spend_i · (E[Y(m·u)] − E[Y((m−1)·u)]) / (1+d)^m, where E[Y(t)] is the model's
 * conditional expected purchases in the next t time units, u the units per month and d the monthly
 * discount rate (lifetimes `customer_lifetime_value` semantics; own implementation).
 */
export function customerLifetimeValue(model: TransactionModel, data: RfmData, expectedSpend: Float64Array, opts: ClvOptions = {}): Float64Array {
  const n = data.frequency.length;
  if (data.recency.length !== n || data.T.length !== n || expectedSpend.length !== n) {
    throw new InputError(`CLV: inputs differ in length (frequency ${n}, recency ${data.recency.length}, T ${data.T.length}, spend ${expectedSpend.length})`);
  }
  const months = opts.months ?? 12;
  const d = opts.monthlyDiscountRate ?? 0.01;
  const u = opts.unitsPerMonth ?? 4.345;
  if (!(Number.isInteger(months) && months >= 1)) throw new NtgError(`CLV: months must be a positive integer, got ${months}`);
  if (!(d > -1 && Number.isFinite(d))) throw new NtgError(`CLV: the monthly discount rate must be > -1, got ${d}`);
  if (!(u > 0)) throw new NtgError(`CLV: unitsPerMonth must be > 0, got ${u}`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let prev = 0;
    let v = 0;
    for (let m = 1; m <= months; m++) {
      const cum = model.conditionalExpected(m * u, data.frequency[i], data.recency[i], data.T[i]);
      v += (expectedSpend[i] * (cum - prev)) / Math.pow(1 + d, m);
      prev = cum;
    }
    out[i] = v;
  }
  return out;
}
