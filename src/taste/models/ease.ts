import { transposeCsr, type CsrMatrix } from "../../data/csr";
import { ConfigError, NtgError } from "../../util/errors";
import { invertSpd } from "../linalg/cholesky";
import { easeWeights } from "../linalg/ease";
import { getThreads } from "../linalg/pool";
import { gramLower } from "../linalg/sparse";
import { arrayOf, checkKeys, checkNumber, csrArrays, csrFrom, loadModelDir, requireFitted, saveModelDir, summaryArrays, summaryFrom } from "../persist";
import type { FitContext, RecommendOptions, Recommender, TopK } from "../recommender";
import { iota, planRecommend, planSimilar, scoreItemItem, sharedCsr, summarizeTrain, type TrainSummary } from "../topk";

/** EASE options. */
export interface EaseConfig {
  /** L2 regularisation λ added to the Gram matrix's diagonal (Steck used 500 on ML-20M) */
  lambda: number;
  /** treat stored values as 1 (the paper's binary X); false uses the values as given */
  binary: boolean;
  /** refuse catalogues larger than this (the model is a dense items × items matrix) */
  maxItems: number;
}

const DEFAULTS: EaseConfig = { lambda: 500, binary: true, maxItems: 20000 };

/** Wall-clock seconds of each fit phase, for benchmarks and logs. */
export interface EaseFitTimings {
  gram: number;
  cholesky: number;
  triangular: number;
  product: number;
  weights: number;
  total: number;
}

interface EaseState {
  summary: TrainSummary;
  n: number;
  /** item × item weights, row-major float32, zero diagonal */
  B: Float32Array;
  /** the training matrix (the default history) */
  train: CsrMatrix;
}

/**
 * EASE^R (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): the closed-form
 * item–item model B = I − P·diagMat(1/diag(P)) with P = (XᵀX + λI)⁻¹ and diag(B) = 0. Scores are
 * x_u·B, which also folds in any `history` row directly. similarItems(j) ranks row j of B (the
 * items j's presence in a history raises most).
 */
export class Ease implements Recommender<EaseConfig> {
  readonly kind = "ease";
  readonly config: Readonly<EaseConfig>;
  /** phase timings of the last fit */
  lastFitTimings: EaseFitTimings | null = null;
  private state: EaseState | null = null;

  constructor(config: Partial<EaseConfig> = {}) {
    checkKeys(this.kind, config, Object.keys(DEFAULTS));
    const c = { ...DEFAULTS, ...config };
    checkNumber(this.kind, "lambda", c.lambda, { min: 0, exclusiveMin: true });
    checkNumber(this.kind, "maxItems", c.maxItems, { min: 1, integer: true });
    if (typeof c.binary !== "boolean") throw new ConfigError("ease.binary", `must be a boolean, got ${JSON.stringify(c.binary)}`);
    this.config = Object.freeze(c);
  }

  async fit(train: CsrMatrix, ctx: FitContext = {}): Promise<this> {
    const summary = summarizeTrain(train, this.kind);
    const n = train.nCols;
    if (n > this.config.maxItems) {
      throw new NtgError(`ease: ${n} items exceed maxItems = ${this.config.maxItems} (the model is a dense ${n}² matrix, ${((n * n * 8 * 2) / 2 ** 30).toFixed(1)} GB while fitting); raise maxItems or prune the catalogue`);
    }
    const parallel = getThreads() > 1 && n >= 384;
    const t = { gram: 0, cholesky: 0, triangular: 0, product: 0, weights: 0, total: 0 };
    const t0 = performance.now();
    let last = t0;
    const lap = (): number => {
      const now = performance.now();
      const d = (now - last) / 1000;
      last = now;
      return d;
    };
    const X = sharedCsr(train);
    const Xt = sharedCsr(transposeCsr(train));
    const P = gramLower(X, Xt, this.config.lambda, this.config.binary, parallel);
    t.gram = lap();
    ctx.onProgress?.(1, 5);
    let phase = 1;
    invertSpd(P, n, {
      parallel,
      onPhase: (name) => {
        t[name] = lap();
        ctx.onProgress?.(++phase, 5);
      },
    });
    const B = easeWeights(P, n, parallel);
    t.weights = lap();
    t.total = (performance.now() - t0) / 1000;
    ctx.onProgress?.(5, 5);
    this.lastFitTimings = t;
    this.state = { summary, n, B, train: X };
    return this;
  }

  /** The item × item weight matrix B (row-major float32, zero diagonal). */
  weights(): Float32Array {
    return requireFitted(this.state, this.kind).B;
  }

  recommend(users: Int32Array | readonly number[], k: number, opts: RecommendOptions = {}): TopK {
    const s = requireFitted(this.state, this.kind);
    const plan = planRecommend(users, k, opts, s.summary.userRows, s.summary.fallback);
    if (plan.outRow.length > 0) {
      scoreItemItem(s.B, s.n, plan.history ?? s.train, plan.srcRow, this.config.binary, { out: plan.out, outRow: plan.outRow, exRow: plan.exRow, exclude: plan.exclude });
    }
    return plan.out;
  }

  similarItems(items: Int32Array | readonly number[], k: number): TopK {
    const s = requireFitted(this.state, this.kind);
    const plan = planSimilar(items, k, s.summary.itemRows);
    const m = plan.item.length;
    if (m > 0) {
      const rows = iota(m);
      scoreItemItem(s.B, s.n, plan.self, rows, true, { out: plan.out, outRow: plan.outRow, exRow: rows, exclude: plan.self, bias: plan.ban });
    }
    return plan.out;
  }

  async save(dir: string): Promise<void> {
    const s = requireFitted(this.state, this.kind);
    await saveModelDir(dir, this.kind, this.config, { nItems: s.n }, { ...summaryArrays(s.summary), ...csrArrays("train", s.train), B: s.B });
  }

  /** Loads a model saved by `save`. */
  static async load(dir: string): Promise<Ease> {
    const m = loadModelDir(dir, "ease");
    const model = new Ease(m.header.config as Partial<EaseConfig>);
    const summary = summaryFrom(m);
    const n = summary.nItems;
    const B = arrayOf(m, "B", Float32Array);
    if (B.length !== n * n) throw new NtgError(`${dir}: B has ${B.length} entries, expected ${n}²`);
    model.state = { summary, n, B, train: sharedCsr(csrFrom(m, "train", n)) };
    return model;
  }
}

/** Flops of an EASE fit's dense part on n items (the SPD inverse, ≈ n³). */
export function easeFlops(n: number): number {
  return n * n * n;
}
