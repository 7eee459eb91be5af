/**
 * Hyper-parameter search: grid or seeded random search (Bergstra & Bengio 2012) over a parameter
 * space for any model factory, each trial fitted on the protocol's training matrix and scored on
 * **val** only — this module never touches test. Trials, their order and the chosen best are
 * deterministic for a seed; only the timings vary.
 */
import type { FitContext, Recommender } from "../taste/recommender";
import { InputError } from "../util/errors";
import { Rng } from "../util/rng";
import { evaluateModel, type EvalProtocol } from "./protocol";
import { parseMetricKey } from "./ranking-metrics";

/** A parameter value. */
export type ParamValue = number | string | boolean | null;

/**
 * One parameter's domain: a list of values (grid or random), or for random search a continuous
 * range — `uniform` [low, high), `logUniform` (log-uniform in [low, high)), `int` (inclusive, optionally log-spaced).
 */
export type ParamDomain =
  | readonly ParamValue[]
  | { uniform: readonly [number, number] }
  | { logUniform: readonly [number, number] }
  | { int: readonly [number, number]; log?: boolean };

/** Parameter name → domain. */
export type ParamSpace = Record<string, ParamDomain>;

/** Parameters of one trial. */
export type Params = Record<string, ParamValue>;

/** Options of {@link searchHyperparameters}. */
export interface SearchOptions {
  space: ParamSpace;
  method: "grid" | "random";
  /** random search: number of trials (required) */
  nTrials?: number;
  /** seed of the random draws and of every fit (default 0) */
  seed?: number;
  /** the `metric@K` the trials are ranked by, e.g. "ndcg@10" */
  metric: string;
  /** "max" (default) or "min" */
  direction?: "max" | "min";
  /** extra fit context (itemAttributes, lastTs, …); its seed defaults to `seed` */
  fitContext?: FitContext;
  /** a failing trial: rethrow (default) or record the error and continue */
  onError?: "throw" | "record";
  /** called after each trial (progress) */
  onTrial?: (t: Trial) => void;
}

/** One evaluated configuration. */
export interface Trial {
  index: number;
  params: Params;
  /** the val metric (NaN when the trial failed) */
  score: number;
  /** fit + evaluation wall time */
  seconds: number;
  fitSeconds: number;
  evalSeconds: number;
  error?: string;
}

/** Result of a search. */
export interface SearchResult {
  method: "grid" | "random";
  metric: string;
  direction: "max" | "min";
  seed: number;
  trials: Trial[];
  best: Trial;
}

function isList(d: ParamDomain): d is readonly ParamValue[] {
  return Array.isArray(d);
}

function checkSpace(space: ParamSpace): string[] {
  const keys = Object.keys(space).sort();
  for (const k of keys) {
    const d = space[k];
    if (isList(d)) {
      if (d.length === 0) throw new InputError(`search: parameter '${k}' has an empty value list`);
    } else if ("uniform" in d || "logUniform" in d || "int" in d) {
      const [lo, hi] = "uniform" in d ? d.uniform : "logUniform" in d ? d.logUniform : d.int;
      if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) throw new InputError(`search: parameter '${k}' range [${lo}, ${hi}] is invalid`);
      if (("logUniform" in d || ("int" in d && d.log)) && !(lo > 0)) throw new InputError(`search: parameter '${k}' is log-scaled and needs low > 0`);
      if ("int" in d && !(Number.isInteger(lo) && Number.isInteger(hi))) throw new InputError(`search: parameter '${k}' int range needs integer bounds`);
    } else {
      throw new InputError(`search: parameter '${k}' has an unknown domain`);
    }
  }
  return keys;
}

/** Every point of a grid (list domains only), parameters varied in sorted-name order, last name fastest. */
export function gridPoints(space: ParamSpace): Params[] {
  const keys = checkSpace(space);
  for (const k of keys) if (!isList(space[k])) throw new InputError(`search: grid search needs a value list for '${k}'`);
  let points: Params[] = [{}];
  for (const k of keys) {
    const vals = space[k] as readonly ParamValue[];
    points = points.flatMap((p) => vals.map((v) => ({ ...p, [k]: v })));
  }
  return points;
}

/** `n` seeded random points; each parameter drawn independently, names in sorted order. */
export function randomPoints(space: ParamSpace, n: number, seed: number): Params[] {
  const keys = checkSpace(space);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`search: nTrials must be a positive integer (got ${String(n)})`);
  const rng = new Rng(`search:${seed}`);
  const out: Params[] = [];
  for (let t = 0; t < n; t++) {
    const p: Params = {};
    for (const k of keys) {
      const d = space[k];
      if (isList(d)) p[k] = d[rng.int(d.length)];
      else if ("uniform" in d) p[k] = d.uniform[0] + rng.uniform() * (d.uniform[1] - d.uniform[0]);
      else if ("logUniform" in d) {
        const [lo, hi] = d.logUniform;
        p[k] = Math.exp(Math.log(lo) + rng.uniform() * (Math.log(hi) - Math.log(lo)));
      } else {
        const [lo, hi] = d.int;
        p[k] = d.log ? Math.min(hi, Math.floor(Math.exp(Math.log(lo) + rng.uniform() * (Math.log(hi + 1) - Math.log(lo))))) : lo + rng.int(hi - lo + 1);
      }
    }
    out.push(p);
  }
  return out;
}

/**
 * Runs the search: for each point, `factory(params)` is fitted on `protocol.train` (seeded) and
 * evaluated on val with {@link evaluateModel}; the best trial maximises (or minimises) the metric,
 * ties going to the earlier trial. Grid order is deterministic; random points come from the seed.
 */
export async function searchHyperparameters(factory: (params: Params) => Recommender, protocol: EvalProtocol, opts: SearchOptions): Promise<SearchResult> {
  const { metric, k } = parseMetricKey(opts.metric);
  if (!protocol.val) throw new InputError("search: the split has no validation part; hyper-parameters must not be tuned on test");
  const seed = opts.seed ?? 0;
  const direction = opts.direction ?? "max";
  let points: Params[];
  if (opts.method === "grid") points = gridPoints(opts.space);
  else if (opts.method === "random") {
    if (opts.nTrials === undefined) throw new InputError("search: random search needs nTrials");
    points = randomPoints(opts.space, opts.nTrials, seed);
  } else throw new InputError(`search: method must be "grid" or "random" (got ${String(opts.method)})`);

  const trials: Trial[] = [];
  for (let i = 0; i < points.length; i++) {
    const params = points[i];
    const t0 = process.hrtime.bigint();
    let fitSeconds = 0;
    let evalSeconds = 0;
    let score = Number.NaN;
    let error: string | undefined;
    try {
      const model = factory({ ...params });
      await model.fit(protocol.train, { ...opts.fitContext, seed: opts.fitContext?.seed ?? seed });
      const t1 = process.hrtime.bigint();
      fitSeconds = Number(t1 - t0) / 1e9;
      const ev = evaluateModel(model, protocol, { part: "val", ks: [k], metrics: [metric] });
      evalSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
      score = ev.metrics.mean[opts.metric];
    } catch (e) {
      if ((opts.onError ?? "throw") === "throw") throw e;
      error = e instanceof Error ? e.message : String(e);
    }
    const trial: Trial = { index: i, params, score, seconds: Number(process.hrtime.bigint() - t0) / 1e9, fitSeconds, evalSeconds };
    if (error !== undefined) trial.error = error;
    trials.push(trial);
    opts.onTrial?.(trial);
  }
  let best: Trial | null = null;
  for (const t of trials) {
    if (!Number.isFinite(t.score)) continue;
    if (!best || (direction === "max" ? t.score > best.score : t.score < best.score)) best = t;
  }
  if (!best) throw new InputError(`search: no trial produced a finite ${opts.metric}`);
  return { method: opts.method, metric: opts.metric, direction, seed, trials, best };
}
