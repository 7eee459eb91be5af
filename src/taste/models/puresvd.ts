import { transposeCsr, type CsrMatrix } from "../../data/csr";
import { ConfigError, NtgError } from "../../util/errors";
import { Rng } from "../../util/rng";
import { sharedF64 } from "../linalg/pool";
import { randomizedSvd } from "../linalg/svd";
import { arrayOf, checkKeys, checkNumber, loadModelDir, requireFitted, saveModelDir, summaryArrays, summaryFrom } from "../persist";
import type { FitContext, RecommendOptions, Recommender, TopK } from "../recommender";
import { cosineSimilar, gatherRows, planRecommend, scoreFactors, summarizeTrain, unitRows, type TrainSummary } from "../topk";

/** PureSVD options. */
export interface PureSvdConfig {
  /** rank of the truncated SVD (Cremonesi et al. report 50–150 on MovieLens/Netflix) */
  factors: number;
  /** randomised SVD oversampling */
  oversample: number;
  /** randomised SVD power iterations */
  powerIterations: number;
  /** treat stored values as 1 (missing = 0, as in the paper) */
  binary: boolean;
  /** seed of the random test matrix (FitContext.seed overrides) */
  seed: number;
}

const DEFAULTS: PureSvdConfig = { factors: 50, oversample: 10, powerIterations: 4, binary: true, seed: 42 };

interface PureSvdState {
  summary: TrainSummary;
  f: number;
  /** item singular vectors, nItems × f */
  V: Float64Array;
  /** projected training users X·V, nUsers × f */
  P: Float64Array;
  sigma: Float64Array;
  Vn: Float64Array | null;
}

/**
 * PureSVD (Cremonesi, Koren & Turrin, "Performance of Recommender Algorithms on Top-N
 * Recommendation Tasks", RecSys 2010): the truncated SVD X ≈ UΣVᵀ of the user × item matrix with
 * missing entries as zeros; scores are x_u·V·Vᵀ, so any `history` row folds in by projection.
 * The SVD is the seeded randomised algorithm of Halko, Martinsson & Tropp (2011).
 */
export class PureSvd implements Recommender<PureSvdConfig> {
  readonly kind = "puresvd";
  readonly config: Readonly<PureSvdConfig>;
  private state: PureSvdState | null = null;

  constructor(config: Partial<PureSvdConfig> = {}) {
    checkKeys(this.kind, config, Object.keys(DEFAULTS));
    const c = { ...DEFAULTS, ...config };
    checkNumber(this.kind, "factors", c.factors, { min: 1, integer: true, max: 4096 });
    checkNumber(this.kind, "oversample", c.oversample, { min: 0, integer: true });
    checkNumber(this.kind, "powerIterations", c.powerIterations, { min: 0, integer: true });
    checkNumber(this.kind, "seed", c.seed, { integer: true });
    if (typeof c.binary !== "boolean") throw new ConfigError("puresvd.binary", `must be a boolean, got ${JSON.stringify(c.binary)}`);
    this.config = Object.freeze(c);
  }

  async fit(train: CsrMatrix, ctx: FitContext = {}): Promise<this> {
    const summary = summarizeTrain(train, this.kind);
    const f = this.config.factors;
    const rng = new Rng(ctx.seed ?? this.config.seed);
    let V: Float64Array = new Float64Array(train.nCols * f);
    let sigma = new Float64Array(f);
    if (train.nRows > 0 && train.nCols > 0) {
      const r = randomizedSvd(train, transposeCsr(train), { rank: f, oversample: this.config.oversample, powerIterations: this.config.powerIterations, rng, binary: this.config.binary });
      // a catalogue smaller than f gives fewer components: pad with zero columns
      const got = r.sigma.length;
      for (let i = 0; i < train.nCols; i++) for (let c = 0; c < got; c++) V[i * f + c] = r.V[i * got + c];
      sigma.set(r.sigma);
    }
    V = sharedF64(V.length, V);
    sigma = Float64Array.from(sigma);
    this.state = { summary, f, V, P: this.project(train, V, f, null), sigma, Vn: null };
    ctx.onProgress?.(1, 1);
    return this;
  }

  /** Rows of X·V (all rows, or `rows`), shared: the user coordinates in the item singular basis. */
  private project(X: CsrMatrix, V: Float64Array, f: number, rows: Int32Array | null): Float64Array {
    const n = V.length / f;
    const count = rows ? rows.length : X.nRows;
    const out = sharedF64(count * f);
    for (let q = 0; q < count; q++) {
      const u = rows ? rows[q] : q;
      for (let p = X.indptr[u]; p < X.indptr[u + 1]; p++) {
        const i = X.indices[p];
        if (i < 0 || i >= n) continue;
        const v = this.config.binary ? 1 : X.values[p];
        for (let k = 0; k < f; k++) out[q * f + k] += v * V[i * f + k];
      }
    }
    return out;
  }

  /** Item singular vectors (nItems × factors, row-major) and singular values. */
  factors(): { V: Float64Array; sigma: Float64Array } {
    const s = requireFitted(this.state, this.kind);
    return { V: s.V, sigma: s.sigma };
  }

  recommend(users: Int32Array | readonly number[], k: number, opts: RecommendOptions = {}): TopK {
    const s = requireFitted(this.state, this.kind);
    const plan = planRecommend(users, k, opts, s.summary.userRows, s.summary.fallback);
    if (plan.outRow.length > 0) {
      const Uq = plan.history ? this.project(plan.history, s.V, s.f, plan.srcRow) : gatherRows(s.P, s.f, plan.srcRow);
      scoreFactors(Uq, s.V, s.f, s.summary.nItems, { out: plan.out, outRow: plan.outRow, exRow: plan.exRow, exclude: plan.exclude });
    }
    return plan.out;
  }

  similarItems(items: Int32Array | readonly number[], k: number): TopK {
    const s = requireFitted(this.state, this.kind);
    if (!s.Vn) s.Vn = unitRows(s.V, s.summary.nItems, s.f);
    return cosineSimilar(items, k, s.Vn, s.f, s.summary.itemRows);
  }

  async save(dir: string): Promise<void> {
    const s = requireFitted(this.state, this.kind);
    await saveModelDir(dir, this.kind, this.config, { factors: s.f }, { ...summaryArrays(s.summary), V: s.V, P: s.P, sigma: s.sigma });
  }

  /** Loads a model saved by `save`. */
  static async load(dir: string): Promise<PureSvd> {
    const m = loadModelDir(dir, "puresvd");
    const model = new PureSvd(m.header.config as Partial<PureSvdConfig>);
    const summary = summaryFrom(m);
    const f = model.config.factors;
    const V = arrayOf(m, "V", Float64Array);
    const P = arrayOf(m, "P", Float64Array);
    if (V.length !== summary.nItems * f || P.length !== summary.nUsers * f) throw new NtgError(`${dir}: factor arrays do not match the saved shape`);
    model.state = { summary, f, V, P, sigma: arrayOf(m, "sigma", Float64Array), Vn: null };
    return model;
  }
}
