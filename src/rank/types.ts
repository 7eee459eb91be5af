/**
 * Shared types of the personalised ranking pipeline: candidate sources → fusion → optional MMR
 * re-ranking → top-K with a short reason per item.
 */

/** One source's candidates for one user (or neighbours of one item), best first. */
export interface SourceList {
  items: Int32Array;
  scores: Float64Array;
  /**
   * Per item, what the source based it on: the history item that contributed most (history
   * sources) or the taste-axis index (embedding sources); −1 when nothing specific.
   */
  evidence?: Int32Array;
}

/** What kind of evidence a source gives, which decides its reason template. */
export type SourceKind = "history" | "taste_axis" | "popularity" | "other";

/** A candidate generator. */
export interface CandidateSource {
  /** short name, written to the `sources` column */
  readonly name: string;
  readonly kind: SourceKind;
  /** up to `n` candidates for `user`, best first (they may include seen items; the pipeline filters them) */
  candidates(user: number, n: number): SourceList;
  /** optional custom reason for an item this source proposed; overrides the kind's template */
  reason?(item: number, evidence: number): string | undefined;
}

/** A user's history, oldest first (most recent last). */
export type UserHistory = (user: number) => Int32Array;

/** Item titles: an array indexed by item id, a map, or a function; missing → "item <id>". */
export type TitleLookup = ArrayLike<string | null | undefined> | ReadonlyMap<number, string> | ((item: number) => string | null | undefined);

/** Similarity of two items (higher = more alike), e.g. cosine of their feature vectors. */
export type ItemSimilarity = (a: number, b: number) => number;
