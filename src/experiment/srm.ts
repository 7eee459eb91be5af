import { InputError } from "../util/errors";
import { chiSquareSf } from "./distributions";
import { checkWeights } from "./validate";

/** Result of a sample-ratio-mismatch check. */
export interface SrmResult {
  observed: number[];
  expected: number[];
  chiSquare: number;
  df: number;
  pValue: number;
  threshold: number;
  /** true when pValue < threshold: the assignment is likely broken and results should not be trusted */
  mismatch: boolean;
  message: string;
}

/**
 * Sample ratio mismatch test: Pearson chi-square goodness of fit of the observed arm counts to the
 * planned weights, df = arms − 1 (as GrowthBook's `checkSrm`; Fabijan et al. 2019, "Diagnosing Sample
 * Ratio Mismatch in Online Controlled Experiments"). Flags a mismatch when p < threshold (default 0.001).
 */
export function srmTest(observed: readonly number[], weights: readonly number[], opts: { threshold?: number } = {}): SrmResult {
  const threshold = opts.threshold ?? 0.001;
  if (!(threshold > 0 && threshold < 1)) throw new InputError(`SRM threshold must be strictly between 0 and 1 (got ${String(threshold)})`);
  if (!Array.isArray(observed) || observed.length < 2) throw new InputError("SRM check needs the user counts of at least two arms");
  if (!Array.isArray(weights) || weights.length !== observed.length) {
    throw new InputError(`SRM check: ${observed.length} observed counts but ${Array.isArray(weights) ? weights.length : 0} weights`);
  }
  checkWeights(weights, "SRM weights");
  observed.forEach((o, i) => {
    if (typeof o !== "number" || !Number.isInteger(o) || o < 0) throw new InputError(`SRM observed count [${i}] = ${String(o)} must be a non-negative integer`);
  });
  const total = observed.reduce((s, o) => s + o, 0);
  if (total === 0) throw new InputError("SRM check: every arm has zero users");
  const expected = weights.map((w) => w * total);
  let chiSquare = 0;
  let df = -1;
  for (let i = 0; i < observed.length; i++) {
    if (expected[i] === 0) {
      // a zero-weight arm must stay empty; any user in it is a mismatch beyond doubt
      if (observed[i] > 0) chiSquare = Infinity;
      continue;
    }
    df += 1;
    const d = observed[i] - expected[i];
    chiSquare += (d * d) / expected[i];
  }
  const pValue = chiSquare === Infinity ? 0 : df < 1 ? 1 : chiSquareSf(chiSquare, df);
  const mismatch = pValue < threshold;
  const message = mismatch
    ? `sample ratio mismatch: observed [${observed.join(", ")}] vs expected [${expected.map((e) => e.toFixed(1)).join(", ")}], p = ${pValue.toExponential(3)} < ${threshold}`
    : `no sample ratio mismatch: p = ${pValue.toPrecision(4)} ≥ ${threshold}`;
  return { observed: [...observed], expected, chiSquare, df: Math.max(df, 0), pValue, threshold, mismatch, message };
}
