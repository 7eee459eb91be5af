import { transposeCsr, type CsrMatrix } from "../../data/csr";
import { ConfigError, NtgError } from "../../util/errors";
import { Rng } from "../../util/rng";
import { alsFoldIn, alsHalfStep, alsLoss } from "../linalg/als";
import { gram } from "../linalg/gemm";
import { getThreads, sharedF64, toShared } from "../linalg/pool";
import { arrayOf, checkKeys, checkNumber, loadModelDir, requireFitted, saveModelDir, summaryArrays, summaryFrom } from "../persist";
import type { FitContext, RecommendOptions, Recommender, TopK } from "../recommender";
import { cosineSimilar, gatherRows, planRecommend, scoreFactors, sharedCsr, summarizeTrain, unitRows, type TrainSummary } from "../topk";

/** iALS options (defaults follow the `implicit` library's, with 64 factors). */
export interface IalsConfig {
  factors: number;
  /** λ in the objective (added to every row system's diagonal) */
  regularization: number;
  /** confidence scale α */
  alpha: number;
  /** c = 1 + α·r ("linear", Hu et al. eq. 2) or c = 1 + α·log(1 + r/ε) ("log", eq. 6) */
  confidence: "linear" | "log";
  epsilon: number;
  iterations: number;
  /** "cg": a few warm-started conjugate-gradient steps per row (Takács et al.); "cholesky": exact */
  solver: "cg" | "cholesky";
  cgSteps: number;
  /** initial factor scale (normal, sd) */
  initScale: number;
  /** seed for the initial factors (FitContext.seed overrides) */
  seed: number;
}

const DEFAULTS: IalsConfig = { factors: 64, regularization: 0.01, alpha: 1, confidence: "linear", epsilon: 1, iterations: 15, solver: "cg", cgSteps: 3, initScale: 0.01, seed: 42 };

interface IalsState {
  summary: TrainSummary;
  f: number;
  U: Float64Array;
  V: Float64Array;
  /** lazily: VᵀV for fold-in, unit item rows for similarItems */
  VtV: Float64Array | null;
  Vn: Float64Array | null;
}

/**
 * Implicit-feedback ALS (Hu, Koren & Volinsky, ICDM 2008) with the conjugate-gradient row solver
 * of Takács, Pilászy & Tikk (RecSys 2011). Scores are u·v; `history` users are folded in by the
 * exact least-squares user step against the fixed item factors; similarItems is the cosine of
 * item factors.
 */
export class Ials implements Recommender<IalsConfig> {
  readonly kind = "ials";
  readonly config: Readonly<IalsConfig>;
  private state: IalsState | null = null;

  constructor(config: Partial<IalsConfig> = {}) {
    checkKeys(this.kind, config, Object.keys(DEFAULTS));
    const c = { ...DEFAULTS, ...config };
    checkNumber(this.kind, "factors", c.factors, { min: 1, integer: true, max: 4096 });
    checkNumber(this.kind, "regularization", c.regularization, { min: 0 });
    checkNumber(this.kind, "alpha", c.alpha, { min: 0 });
    checkNumber(this.kind, "epsilon", c.epsilon, { min: 0, exclusiveMin: true });
    checkNumber(this.kind, "iterations", c.iterations, { min: 0, integer: true });
    checkNumber(this.kind, "cgSteps", c.cgSteps, { min: 1, integer: true });
    checkNumber(this.kind, "initScale", c.initScale, { min: 0 });
    checkNumber(this.kind, "seed", c.seed, { integer: true });
    if (c.confidence !== "linear" && c.confidence !== "log") throw new ConfigError("ials.confidence", `must be "linear" or "log", got ${JSON.stringify(c.confidence)}`);
    if (c.solver !== "cg" && c.solver !== "cholesky") throw new ConfigError("ials.solver", `must be "cg" or "cholesky", got ${JSON.stringify(c.solver)}`);
    this.config = Object.freeze(c);
  }

  /** Confidence c_ui for each stored value (shared array, aligned with the matrix's entries). */
  private confidence(values: Float32Array): Float64Array {
    const { alpha, confidence, epsilon } = this.config;
    const out = sharedF64(values.length);
    for (let p = 0; p < values.length; p++) {
      const r = values[p];
      if (!(r > 0)) throw new NtgError(`ials: interaction values must be positive (got ${r}); drop or binarise non-positive events`);
      out[p] = confidence === "linear" ? 1 + alpha * r : 1 + alpha * Math.log1p(r / epsilon);
    }
    return out;
  }

  async fit(train: CsrMatrix, ctx: FitContext = {}): Promise<this> {
    const summary = summarizeTrain(train, this.kind);
    const { factors: f, iterations, regularization: reg } = this.config;
    const nU = train.nRows;
    const nI = train.nCols;
    const rng = new Rng(ctx.seed ?? this.config.seed);
    const U = sharedF64(nU * f);
    const V = sharedF64(nI * f);
    const ru = rng.fork("users");
    const ri = rng.fork("items");
    for (let q = 0; q < U.length; q++) U[q] = ru.normal(0, this.config.initScale);
    for (let q = 0; q < V.length; q++) V[q] = ri.normal(0, this.config.initScale);
    const X = sharedCsr(train);
    const Xt = sharedCsr(transposeCsr(train));
    const cu = this.confidence(X.values);
    const ci = this.confidence(Xt.values);
    const cgSteps = this.config.solver === "cg" ? this.config.cgSteps : 0;
    const parallel = getThreads() > 1 && train.indices.length * f >= 1e6;
    for (let it = 0; it < iterations; it++) {
      alsHalfStep({ X: U, Y: V, indptr: X.indptr, indices: X.indices, conf: cu, f, reg, cgSteps, nRows: nU, nOther: nI, parallel });
      alsHalfStep({ X: V, Y: U, indptr: Xt.indptr, indices: Xt.indices, conf: ci, f, reg, cgSteps, nRows: nI, nOther: nU, parallel });
      ctx.onProgress?.(it + 1, iterations);
    }
    this.state = { summary, f, U, V, VtV: null, Vn: null };
    return this;
  }

  /** User factors (nUsers × factors, row-major). */
  userFactors(): Float64Array {
    return requireFitted(this.state, this.kind).U;
  }

  /** Item factors (nItems × factors, row-major). */
  itemFactors(): Float64Array {
    return requireFitted(this.state, this.kind).V;
  }

  /** The training objective (Hu et al. eq. 3) of the current factors on `train`. */
  loss(train: CsrMatrix): number {
    const s = requireFitted(this.state, this.kind);
    return alsLoss(s.U, s.V, s.f, train.nRows, train.nCols, train.indptr, train.indices, this.confidence(train.values), this.config.regularization);
  }

  /** Exact fold-in user vectors for rows `rows` of a history matrix (strong generalization). */
  foldIn(history: CsrMatrix, rows: Int32Array): Float64Array {
    const s = requireFitted(this.state, this.kind);
    if (!s.VtV) s.VtV = gram(s.V, s.summary.nItems, s.f, sharedF64(s.f * s.f));
    let work = 0;
    for (const u of rows) work += history.indptr[u + 1] - history.indptr[u];
    const parallel = getThreads() > 1 && rows.length > 1 && work * s.f * s.f > 2e7;
    const h = parallel ? sharedCsr(history) : history;
    return alsFoldIn({ Y: s.V, YtY: s.VtV, indptr: h.indptr, indices: h.indices, conf: this.confidence(h.values), rows: parallel ? toShared(rows) : rows, f: s.f, reg: this.config.regularization, nItems: s.summary.nItems }, parallel);
  }

  recommend(users: Int32Array | readonly number[], k: number, opts: RecommendOptions = {}): TopK {
    const s = requireFitted(this.state, this.kind);
    const plan = planRecommend(users, k, opts, s.summary.userRows, s.summary.fallback);
    if (plan.outRow.length > 0) {
      const Uq = plan.history ? this.foldIn(plan.history, plan.srcRow) : gatherRows(s.U, s.f, plan.srcRow);
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
    await saveModelDir(dir, this.kind, this.config, { factors: s.f }, { ...summaryArrays(s.summary), U: s.U, V: s.V });
  }

  /** Loads a model saved by `save`. */
  static async load(dir: string): Promise<Ials> {
    const m = loadModelDir(dir, "ials");
    const model = new Ials(m.header.config as Partial<IalsConfig>);
    const summary = summaryFrom(m);
    const f = model.config.factors;
    const U = arrayOf(m, "U", Float64Array);
    const V = arrayOf(m, "V", Float64Array);
    if (U.length !== summary.nUsers * f || V.length !== summary.nItems * f) throw new NtgError(`${dir}: factor arrays do not match ${summary.nUsers} users × ${summary.nItems} items × ${f} factors`);
    model.state = { summary, f, U, V, VtV: null, Vn: null };
    return model;
  }
}
