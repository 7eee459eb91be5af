/**
 * Pairwise similarity from co-occurrence counts and item degrees (distinct users per item).
 * All three kinds are computed from the same counts, so switching kind never re-walks the data.
 */
import { ConfigError } from "../util/errors";

/**
 * `cosine` = c / sqrt(d_i d_j); `jaccard` = c / (d_i + d_j − c); `conditional` = P(j | i) =
 * c / (d_i · d_j^alpha) (Deshpande & Karypis 2004; alpha = 0 is the plain conditional
 * probability, alpha > 0 damps popular targets). Cosine and Jaccard are symmetric; conditional
 * is not: row i holds sim(i → j).
 */
export type SimilarityKind = "cosine" | "jaccard" | "conditional";

/** Every supported similarity kind. */
export const SIMILARITY_KINDS: readonly SimilarityKind[] = ["cosine", "jaccard", "conditional"];

/** Integer code of a kind, so the hot loop switches on a small int rather than a string. */
export function similarityCode(kind: SimilarityKind): number {
  const c = SIMILARITY_KINDS.indexOf(kind);
  if (c < 0) throw new ConfigError("similarity", `unknown similarity '${String(kind)}' (expected ${SIMILARITY_KINDS.join(", ")})`);
  return c;
}

/**
 * Similarity of i → j from co-occurrence `c` and degrees, with optional shrinkage
 * (sim · c / (c + shrinkage), which pulls pairs seen by few users towards 0). The result is rounded
 * to float32 because that is what the graph stores: tie-breaks compare the stored value.
 * `degPowJ` is d_j^alpha (precomputed by the caller for the conditional kind).
 */
export function pairSimilarity(code: number, c: number, degI: number, degJ: number, degPowJ: number, shrinkage: number): number {
  let s: number;
  if (code === 0) s = c / Math.sqrt(degI * degJ);
  else if (code === 1) s = c / (degI + degJ - c);
  else s = c / (degI * degPowJ);
  if (shrinkage > 0) s = (s * c) / (c + shrinkage);
  return Math.fround(s);
}

/** True when sim(i → j) = sim(j → i) for every pair. */
export function isSymmetric(kind: SimilarityKind): boolean {
  return kind !== "conditional";
}
