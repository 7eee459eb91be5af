import type { CsrMatrix } from "../../data/csr";
import { ConfigError, NtgError } from "../../util/errors";
import { Rng } from "../../util/rng";
import { sharedF64 } from "../linalg/pool";
import { arrayOf, checkKeys, checkNumber, loadModelDir, requireFitted, saveModelDir, summaryArrays, summaryFrom } from "../persist";
import type { FitContext, RecommendOptions, Recommender, TopK } from "../recommender";
import { cosineSimilar, gatherRows, planRecommend, rowHas, scoreFactors, summarizeTrain, unitRows, type TrainSummary } from "../topk";

/** BPR-MF options. */
export interface BprConfig {
  factors: number;
  learningRate: number;
  /** L2 regularisation λ applied to every updated parameter */
  regularization: number;
  /** passes; one epoch = as many sampled triples as stored entries */
  epochs: number;
  /** learn a per-item bias (score = u·v + b_i) */
  itemBias: boolean;
  /** initial factor scale (normal, sd) */
  initScale: number;
  /** SGD passes over a `history` row when folding a user in */
  foldInEpochs: number;
  /** seed of initialisation and sampling (FitContext.seed overrides) */
  seed: number;
}

const DEFAULTS: BprConfig = { factors: 64, learningRate: 0.05, regularization: 0.01, epochs: 30, itemBias: true, initScale: 0.1, foldInEpochs: 30, seed: 42 };

interface BprState {
  summary: TrainSummary;
  f: number;
  U: Float64Array;
  V: Float64Array;
  /** item bias (zeros without itemBias) */
  b: Float64Array;
  seed: number;
  Vn: Float64Array | null;
}

/** Logistic σ(−x), the BPR gradient weight, without overflow for large |x|. */
function sigmoidNeg(x: number): number {
  return x >= 0 ? Math.exp(-x) / (1 + Math.exp(-x)) : 1 / (1 + Math.exp(x));
}

/**
 * BPR-MF (Rendle, Freudenthaler, Gantner & Schmidt-Thieme, "BPR: Bayesian Personalized Ranking
 * from Implicit Feedback", UAI 2009): LearnBPR's stochastic gradient ascent on ln σ(x̂_ui − x̂_uj)
 * with (u, i) drawn uniformly from the stored entries and j uniformly from u's unobserved items.
 * Seeded and single-threaded, so fits are reproducible bit for bit. `history` users are folded in
 * by the same SGD on the user vector alone (item factors fixed, seeded per request row).
 */
export class Bpr implements Recommender<BprConfig> {
  readonly kind = "bpr";
  readonly config: Readonly<BprConfig>;
  private state: BprState | null = null;

  constructor(config: Partial<BprConfig> = {}) {
    checkKeys(this.kind, config, Object.keys(DEFAULTS));
    const c = { ...DEFAULTS, ...config };
    checkNumber(this.kind, "factors", c.factors, { min: 1, integer: true, max: 4096 });
    checkNumber(this.kind, "learningRate", c.learningRate, { min: 0, exclusiveMin: true });
    checkNumber(this.kind, "regularization", c.regularization, { min: 0 });
    checkNumber(this.kind, "epochs", c.epochs, { min: 0, integer: true });
    checkNumber(this.kind, "initScale", c.initScale, { min: 0 });
    checkNumber(this.kind, "foldInEpochs", c.foldInEpochs, { min: 0, integer: true });
    checkNumber(this.kind, "seed", c.seed, { integer: true });
    if (typeof c.itemBias !== "boolean") throw new ConfigError("bpr.itemBias", `must be a boolean, got ${JSON.stringify(c.itemBias)}`);
    this.config = Object.freeze(c);
  }

  async fit(train: CsrMatrix, ctx: FitContext = {}): Promise<this> {
    const summary = summarizeTrain(train, this.kind);
    const { factors: f, learningRate: lr, regularization: reg, epochs, itemBias } = this.config;
    const nU = train.nRows;
    const nI = train.nCols;
    const seed = ctx.seed ?? this.config.seed;
    const rng = new Rng(seed);
    const init = rng.fork("init");
    const U = sharedF64(nU * f);
    const V = sharedF64(nI * f);
    for (let q = 0; q < U.length; q++) U[q] = init.normal(0, this.config.initScale);
    for (let q = 0; q < V.length; q++) V[q] = init.normal(0, this.config.initScale);
    const b = sharedF64(nI);
    const { indptr, indices } = train;
    const nnz = indices.length;
    // the user of each stored entry, so (u, i) can be drawn uniformly over entries
    const rowOf = new Int32Array(nnz);
    for (let u = 0; u < nU; u++) rowOf.fill(u, indptr[u], indptr[u + 1]);
    const sampler = rng.fork("sgd");
    const du = new Float64Array(f);
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (let step = 0; step < nnz; step++) {
        const p = sampler.int(nnz);
        const u = rowOf[p];
        const len = indptr[u + 1] - indptr[u];
        if (len >= nI) continue; // nothing unobserved to contrast with
        const i = indices[p];
        let j = sampler.int(nI);
        while (rowHas(train, u, j)) j = sampler.int(nI);
        sgdStep(U, u * f, V, i * f, j * f, b, i, j, f, lr, reg, itemBias, du, true);
      }
      ctx.onProgress?.(epoch + 1, epochs);
    }
    this.state = { summary, f, U, V, b, seed, Vn: null };
    return this;
  }

  /** User factors (nUsers × factors). */
  userFactors(): Float64Array {
    return requireFitted(this.state, this.kind).U;
  }

  /** Item factors (nItems × factors) and biases. */
  itemFactors(): { V: Float64Array; bias: Float64Array } {
    const s = requireFitted(this.state, this.kind);
    return { V: s.V, bias: s.b };
  }

  /**
   * Fold-in: for each history row, SGD on a fresh user vector against the fixed item factors,
   * foldInEpochs × |row| sampled triples, seeded by (model seed, row id) so repeated calls agree.
   */
  foldIn(history: CsrMatrix, rows: Int32Array): Float64Array {
    const s = requireFitted(this.state, this.kind);
    const { f, V, b } = s;
    const nI = s.summary.nItems;
    const out = sharedF64(rows.length * f);
    const du = new Float64Array(f);
    const items: number[] = [];
    for (let q = 0; q < rows.length; q++) {
      const u = rows[q];
      items.length = 0;
      for (let p = history.indptr[u]; p < history.indptr[u + 1]; p++) if (history.indices[p] < nI) items.push(history.indices[p]);
      if (items.length === 0 || items.length >= nI) continue;
      const rng = new Rng(`${s.seed}:bpr-foldin:${u}`);
      const xo = q * f;
      const steps = this.config.foldInEpochs * items.length;
      for (let t = 0; t < steps; t++) {
        const i = items[rng.int(items.length)];
        let j = rng.int(nI);
        while (rowHas(history, u, j)) j = rng.int(nI);
        sgdStep(out, xo, V, i * f, j * f, b, i, j, f, this.config.learningRate, this.config.regularization, this.config.itemBias, du, false);
      }
    }
    return out;
  }

  recommend(users: Int32Array | readonly number[], k: number, opts: RecommendOptions = {}): TopK {
    const s = requireFitted(this.state, this.kind);
    const plan = planRecommend(users, k, opts, s.summary.userRows, s.summary.fallback);
    if (plan.outRow.length > 0) {
      const Uq = plan.history ? this.foldIn(plan.history, plan.srcRow) : gatherRows(s.U, s.f, plan.srcRow);
      scoreFactors(Uq, s.V, s.f, s.summary.nItems, { out: plan.out, outRow: plan.outRow, exRow: plan.exRow, exclude: plan.exclude, bias: this.config.itemBias ? s.b : null });
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
    await saveModelDir(dir, this.kind, this.config, { factors: s.f, seed: s.seed }, { ...summaryArrays(s.summary), U: s.U, V: s.V, b: s.b });
  }

  /** Loads a model saved by `save`. */
  static async load(dir: string): Promise<Bpr> {
    const m = loadModelDir(dir, "bpr");
    const model = new Bpr(m.header.config as Partial<BprConfig>);
    const summary = summaryFrom(m);
    const f = model.config.factors;
    const U = arrayOf(m, "U", Float64Array);
    const V = arrayOf(m, "V", Float64Array);
    const b = arrayOf(m, "b", Float64Array);
    if (U.length !== summary.nUsers * f || V.length !== summary.nItems * f || b.length !== summary.nItems) throw new NtgError(`${dir}: factor arrays do not match the saved shape`);
    const seed = Number(m.header.state.seed ?? model.config.seed);
    model.state = { summary, f, U, V, b, seed, Vn: null };
    return model;
  }
}

/**
 * One LearnBPR update for the triple (u, i, j): with x = u·(v_i − v_j) + b_i − b_j and
 * g = σ(−x), gradient ascent on ln σ(x) − λ‖θ‖². `items` false freezes V and b (fold-in).
 */
function sgdStep(U: Float64Array, uo: number, V: Float64Array, io: number, jo: number, b: Float64Array, i: number, j: number, f: number, lr: number, reg: number, bias: boolean, du: Float64Array, items: boolean): void {
  let x = bias ? b[i] - b[j] : 0;
  for (let k = 0; k < f; k++) x += U[uo + k] * (V[io + k] - V[jo + k]);
  const g = sigmoidNeg(x);
  for (let k = 0; k < f; k++) du[k] = g * (V[io + k] - V[jo + k]) - reg * U[uo + k];
  if (items) {
    for (let k = 0; k < f; k++) {
      const uk = U[uo + k];
      V[io + k] += lr * (g * uk - reg * V[io + k]);
      V[jo + k] += lr * (-g * uk - reg * V[jo + k]);
    }
    if (bias) {
      b[i] += lr * (g - reg * b[i]);
      b[j] += lr * (-g - reg * b[j]);
    }
  }
  for (let k = 0; k < f; k++) U[uo + k] += lr * du[k];
}
