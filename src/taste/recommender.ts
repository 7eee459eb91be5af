import type { CsrMatrix } from "../data/csr";

/**
 * Top-k lists for a batch of users (or items): row-major, `k` slots per row. Slots a model
 * cannot fill (catalogue smaller than k after exclusions) hold item -1 and score NaN, so the
 * shape is always users.length × k.
 */
export interface TopK {
  /** the user (or item) ids the rows belong to, in request order */
  rows: Int32Array;
  k: number;
  items: Int32Array;
  scores: Float32Array;
}

/** Options for `recommend`. */
export interface RecommendOptions {
  /**
   * Items to exclude per user (typically the training matrix: already-seen items). Rows beyond
   * its size exclude nothing. null/undefined: exclude nothing.
   */
  exclude?: CsrMatrix | null;
  /**
   * Interaction history to score from, for users not in (or different from) the training data:
   * strong-generalization fold-in. Row u is user u's history. Defaults to the training matrix.
   */
  history?: CsrMatrix | null;
}

/** What every model is given at fit time besides the user × item matrix. */
export interface FitContext {
  seed?: number;
  /** optional item → genre/attribute matrix (items × attributes) */
  itemAttributes?: CsrMatrix | null;
  /** event timestamps aligned with the training matrix's stored entries (for time decay) */
  lastTs?: Float64Array | null;
  /** progress/log sink */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The one interface every recommender implements (LensKit-style): typed config, fit, batch
 * recommend, similar items, save/load. Contract tests in tests/recommender-contract.test.ts run
 * against every implementation.
 */
export interface Recommender<C extends object = object> {
  /** registry name, e.g. "ease" */
  readonly kind: string;
  readonly config: Readonly<C>;
  /** learns from a user × item training matrix; returns this */
  fit(train: CsrMatrix, ctx?: FitContext): Promise<this>;
  /**
   * Top-k items for each user, best first, ties broken by lower item id. Unknown users (id out of
   * range or no history) get the model's cold-start ranking (training popularity).
   */
  recommend(users: Int32Array | readonly number[], k: number, opts?: RecommendOptions): TopK;
  /** the k most similar items to each item (the item itself excluded); unknown items → empty row */
  similarItems(items: Int32Array | readonly number[], k: number): TopK;
  /** writes the fitted state to a directory (JSON header + binary arrays), atomically */
  save(dir: string): Promise<void>;
}
