import type { CsrMatrix } from "../../data/csr";
import { NtgError } from "../../util/errors";
import { checkKeys, checkNumber, loadModelDir, requireFitted, saveModelDir, summaryArrays, summaryFrom } from "../persist";
import type { FitContext, RecommendOptions, Recommender, TopK } from "../recommender";
import { allocTopK, fillFromOrder, makeFallback, normalizeRequest, planSimilar, summarizeTrain, type TrainSummary } from "../topk";

/** Popularity options. */
export interface PopularityConfig {
  /**
   * Half-life of the exponential time decay, in the units of `FitContext.lastTs` (seconds for
   * NTG's canonical data); null = no decay, score = number of distinct users.
   */
  halfLife: number | null;
  /** decay reference time; null = the latest training timestamp */
  referenceTs: number | null;
}

const DEFAULTS: PopularityConfig = { halfLife: null, referenceTs: null };

/**
 * Most-popular baseline: items ranked by the number of distinct training users, optionally with
 * each interaction weighted 2^(−age / halfLife) (the usual recency-aware popularity baseline, e.g.
 * Ji et al., "A Re-visit of the Popularity Baseline in Recommender Systems", SIGIR 2020).
 * The same ranking for every user, minus their exclusions; `history` is ignored (the documented
 * exemption from the fold-in contract). `similarItems` returns the most popular other items.
 */
export class Popularity implements Recommender<PopularityConfig> {
  readonly kind = "popularity";
  readonly config: Readonly<PopularityConfig>;
  private state: TrainSummary | null = null;

  constructor(config: Partial<PopularityConfig> = {}) {
    checkKeys(this.kind, config, Object.keys(DEFAULTS));
    const c = { ...DEFAULTS, ...config };
    if (c.halfLife !== null) checkNumber(this.kind, "halfLife", c.halfLife, { min: 0, exclusiveMin: true });
    if (c.referenceTs !== null) checkNumber(this.kind, "referenceTs", c.referenceTs);
    this.config = Object.freeze(c);
  }

  async fit(train: CsrMatrix, ctx: FitContext = {}): Promise<this> {
    const s = summarizeTrain(train, this.kind);
    const { halfLife } = this.config;
    if (halfLife !== null) {
      const ts = ctx.lastTs;
      if (!ts) throw new NtgError("popularity: halfLife is set but FitContext.lastTs was not given");
      if (ts.length !== train.indices.length) throw new NtgError(`popularity: lastTs has ${ts.length} entries, the training matrix stores ${train.indices.length}`);
      let ref = this.config.referenceTs ?? -Infinity;
      if (this.config.referenceTs === null) for (let p = 0; p < ts.length; p++) if (ts[p] > ref) ref = ts[p];
      const score = new Float64Array(train.nCols);
      const rate = Math.LN2 / halfLife;
      // age clamped at 0: events after the reference time count fully rather than more than fully
      for (let p = 0; p < ts.length; p++) score[train.indices[p]] += Math.exp(-rate * Math.max(0, ref - ts[p]));
      s.fallback = makeFallback(score);
    }
    this.state = s;
    ctx.onProgress?.(1, 1);
    return this;
  }

  /** Training popularity per item (decayed when configured), as float32. */
  itemScores(): Float32Array {
    return requireFitted(this.state, this.kind).fallback.score;
  }

  recommend(users: Int32Array | readonly number[], k: number, opts: RecommendOptions = {}): TopK {
    const s = requireFitted(this.state, this.kind);
    const req = normalizeRequest(users, k);
    const out = allocTopK(req, k);
    if (k > 0) for (let r = 0; r < req.length; r++) fillFromOrder(s.fallback.order, s.fallback.score, opts.exclude, req[r], out, r);
    return out;
  }

  similarItems(items: Int32Array | readonly number[], k: number): TopK {
    const s = requireFitted(this.state, this.kind);
    const plan = planSimilar(items, k, s.itemRows);
    const { order, score } = s.fallback;
    for (let q = 0; q < plan.outRow.length; q++) {
      const base = plan.outRow[q] * k;
      let e = 0;
      for (let p = 0; p < order.length && e < k; p++) {
        const j = order[p];
        if (j === plan.item[q] || s.itemRows[j] === 0) continue;
        plan.out.items[base + e] = j;
        plan.out.scores[base + e] = score[j];
        e++;
      }
    }
    return plan.out;
  }

  async save(dir: string): Promise<void> {
    const s = requireFitted(this.state, this.kind);
    await saveModelDir(dir, this.kind, this.config, {}, summaryArrays(s));
  }

  /** Loads a model saved by `save`. */
  static async load(dir: string): Promise<Popularity> {
    const m = loadModelDir(dir, "popularity");
    const model = new Popularity(m.header.config as Partial<PopularityConfig>);
    model.state = summaryFrom(m);
    return model;
  }
}
