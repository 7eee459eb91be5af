/**
 * Checks the churn → value → revenue-at-risk chain against the synthetic world's ground truth.
 *
 * 1. **Discrimination vs an oracle.** On the test cutoff's at-risk users, the model's ROC-AUC is
 *    compared with the Bayes-optimal predictor at t0: each user's true probability of cancelling at
 *    a renewal due in (t0, t0 + W], given the world's true hazard function and the user's complete
 *    true state at t0 (latent frailty, satisfaction, billing anchor), integrated over the world's own
 *    future dynamics by Monte-Carlo (Rao–Blackwellised: each replicate contributes the renewal's
 *    hazard, not its coin flip). No prediction made at t0 can rank users better in expectation.
 *    Three more scores are reported for context: the hazard of the renewal as it was decided
 *    (`trueHazardAt`, which uses satisfaction up to a month *after* t0, i.e. information no
 *    predictor at t0 has), the hazard if satisfaction stayed at its t0 value, and the same without
 *    the unobservable frailty.
 * 2. **Calibration**: ECE (10 equal-width bins; equal-mass reported too) of the calibrated
 *    probabilities on the test cutoff.
 * 3. **Revenue at risk vs true lost revenue.** For every scored user u at the scoring cutoff t_s,
 *    with horizon end h and the user's churn event "cancels at a renewal due by max(t_s + W, next
 *    due date)" (the renewal the churn probability is about), the world's true expected lost revenue
 *    is L_u = E[revenue in [t_s, h) | no churn event] − E[revenue in [t_s, h)], i.e.
 *    P(churn)·(V⁺ − V⁻): the revenue the churn event takes away, net of win-backs. Both expectations
 *    are Monte-Carlo estimates from the user's exact state at t_s under the world's own dynamics
 *    (the machinery behind `expectedFutureRevenue`: same engine, logging policy, satisfaction
 *    drift, churn and win-backs), from R replicates per user (the second is exactly
 *    `expectedFutureRevenue`'s estimator). Target: |Σ predicted RaR / Σ L − 1| ≤ 10%.
 */
import { rocAuc } from "../eval/classification";
import { expectedCalibrationError } from "../eval/calibration";
import { Engine, modelOf, nullSink, SimState, type Sink } from "../data/synthetic/engine";
import { LoggingSlates } from "../data/synthetic/policy";
import { sessionStreams } from "../data/synthetic/simulate";
import { trueHazardAt, trueStateAt } from "../data/synthetic/truth";
import { DAY } from "../data/synthetic/time";
import type { World } from "../data/synthetic/types";
import { Rng } from "../util/rng";
import type { LtvResult } from "./ltv";
import type { ChurnRun } from "./model";

/** The targets of the check. */
export const TRUTH_TARGETS = {
  /** model ROC-AUC ≥ (1 − 0.05) × oracle ROC-AUC */
  aucWithinFraction: 0.05,
  /** ECE (equal-width, 10 bins) after calibration */
  eceMax: 0.02,
  /** |predicted total revenue at risk / true lost revenue − 1| */
  revenueRelativeTolerance: 0.1,
} as const;

/** Oracle and model ROC-AUC on the same users. */
export interface OracleAucReport {
  users: number;
  churned: number;
  model_roc_auc: number;
  oracle_renewal_hazard_roc_auc: number;
  oracle_state_at_cutoff_roc_auc: number;
  oracle_state_without_frailty_roc_auc: number;
  /** the Bayes-optimal predictor at t0 (see the module comment): the target's oracle */
  oracle_bayes_at_cutoff_roc_auc: number;
  oracle_bayes_replicates: number;
  /** model / Bayes oracle */
  ratio_to_oracle: number;
  ratio_to_renewal_hazard: number;
  ratio_to_state_oracle: number;
  /** paired bootstrap (users resampled) percentile interval of model / Bayes oracle */
  ratio_to_oracle_interval: { lower: number; upper: number; level: number; resamples: number };
}

/** Paired percentile bootstrap of AUC(a) / AUC(b) on the same users (resamples without both classes are redrawn). */
function aucRatioInterval(y: Float64Array, a: Float64Array, b: Float64Array, resamples: number, level: number, seed: number): { lower: number; upper: number; level: number; resamples: number } {
  const rng = new Rng(seed).fork("auc-ratio-bootstrap");
  const n = y.length;
  const yb = new Float64Array(n);
  const ab = new Float64Array(n);
  const bb = new Float64Array(n);
  const ratios: number[] = [];
  while (ratios.length < resamples) {
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const k = rng.int(n);
      yb[i] = y[k];
      ab[i] = a[k];
      bb[i] = b[k];
      pos += y[k];
    }
    if (pos === 0 || pos === n) continue;
    ratios.push(rocAuc(yb, ab) / rocAuc(yb, bb));
  }
  ratios.sort((x, z) => x - z);
  const q = (p: number) => ratios[Math.min(resamples - 1, Math.max(0, Math.round(p * (resamples - 1))))];
  return { lower: q((1 - level) / 2), upper: q((1 + level) / 2), level, resamples };
}

/**
 * Replays a world user's original timeline to `cutoff` and samples futures from their exact state
 * there with the world's own engine (the machinery behind `expectedFutureRevenue`): pending
 * memoryless draws are redrawn per future, so each future has the process's conditional law.
 */
class FutureSampler {
  private readonly engine: Engine;
  private readonly slates: LoggingSlates;
  private readonly streams: Rng;
  private readonly st = new SimState();
  private readonly snap = new SimState();
  private rng: Rng;
  private u = -1;

  constructor(
    private readonly world: World,
    private readonly cutoff: number,
    private readonly root: Rng,
  ) {
    const model = modelOf(world);
    this.engine = new Engine(model);
    this.slates = new LoggingSlates(model);
    this.streams = sessionStreams(world.config.seed);
    this.rng = root;
  }

  /** Replays user u to the cutoff; false (no futures to sample) when u is not subscribed there. */
  enter(u: number): boolean {
    const { engine, st } = this;
    engine.initState(u, st);
    engine.seen.reset();
    engine.run(u, st, this.streams.fork(u), this.world.startTs, this.cutoff, this.slates, nullSink);
    if (!st.subscribed) return false;
    this.u = u;
    this.snap.copyFrom(st);
    engine.seen.checkpoint();
    this.rng = this.root.fork(u);
    return true;
  }

  /** The entered user's next bill at the cutoff. */
  get nextBillTs(): number {
    return this.snap.nextBillTs;
  }

  /** Simulates one future of the entered user over [cutoff, until), reporting to `sink`. */
  sample(until: number, sink: Sink): void {
    const { engine, st } = this;
    st.copyFrom(this.snap);
    engine.seen.rollback();
    engine.continuation(st, this.cutoff, this.rng);
    engine.run(this.u, st, this.rng, this.cutoff, until, this.slates, sink);
  }
}

/**
 * The Bayes-optimal churn probability at `cutoff` for each world user: P(cancel at a renewal due in
 * (cutoff, cutoff + W] | the user's exact true state at cutoff), estimated from `replicates` futures
 * simulated with the world's engine. Each replicate contributes 1 − Π(1 − h) over the renewals it
 * decides in the window (the hazards, not the coin flips, so the estimate has far less Monte-Carlo
 * noise than counting cancellations). NaN for users not subscribed at the cutoff.
 */
export function bayesChurnOracle(world: World, users: Int32Array, cutoff: number, windowDays: number, replicates: number, seed: number): Float64Array {
  const futures = new FutureSampler(world, cutoff, new Rng(seed).fork("churn-truth-bayes-oracle"));
  const until = cutoff + windowDays * DAY;
  let survive = 1;
  const sink: Sink = {
    ...nullSink,
    period: (_u, _s, end, _sat, h, outcome) => {
      if (outcome !== 2 && end > cutoff && end <= until) survive *= 1 - h;
    },
  };
  const out = new Float64Array(users.length).fill(NaN);
  for (let j = 0; j < users.length; j++) {
    if (!futures.enter(users[j])) continue;
    let q = 0;
    for (let r = 0; r < replicates; r++) {
      survive = 1;
      // + 1 s: a renewal due exactly at the window's end is inside it
      futures.sample(until + 1, sink);
      q += 1 - survive;
    }
    out[j] = q / replicates;
  }
  return out;
}

/**
 * ROC-AUC of the model's test predictions and of the oracles on the test cutoff's at-risk users.
 * `worldIndex` maps a dense user_id to the world's user index.
 */
export function oracleAuc(world: World, run: ChurnRun, worldIndex: Int32Array, windowDays: number, replicates = 32, seed = 1): OracleAucReport {
  const t = run.test;
  const cutoff = t.cutoff;
  const state = trueStateAt(world, cutoff);
  const rows: number[] = [];
  for (let i = 0; i < t.y.length; i++) {
    if (!(t.y[i] === t.y[i])) continue;
    const u = worldIndex[t.features.users[i]];
    if (trueHazardAt(world, u, cutoff) === trueHazardAt(world, u, cutoff) && state.nextRenewalHazard[u] === state.nextRenewalHazard[u]) rows.push(i);
  }
  const wUsers = Int32Array.from(rows, (i) => worldIndex[t.features.users[i]]);
  const bayes = bayesChurnOracle(world, wUsers, cutoff, windowDays, replicates, seed);
  const y: number[] = [];
  const model: number[] = [];
  const renewal: number[] = [];
  const atT0: number[] = [];
  const noFrailty: number[] = [];
  const best: number[] = [];
  rows.forEach((i, j) => {
    if (!(bayes[j] === bayes[j])) return;
    const u = wUsers[j];
    const hs = state.nextRenewalHazard[u];
    y.push(t.y[i]);
    model.push(t.p[i]);
    renewal.push(trueHazardAt(world, u, cutoff));
    atT0.push(hs);
    noFrailty.push(-Math.log1p(-Math.min(hs, 1 - 1e-15)) / world.truth.frailty[u]);
    best.push(bayes[j]);
  });
  const Y = Float64Array.from(y);
  const auc = (s: number[]) => rocAuc(Y, Float64Array.from(s));
  const m = auc(model);
  const o = auc(renewal);
  const os = auc(atT0);
  const ob = auc(best);
  return {
    users: y.length,
    churned: y.reduce((a, v) => a + v, 0),
    model_roc_auc: m,
    oracle_bayes_at_cutoff_roc_auc: ob,
    oracle_bayes_replicates: replicates,
    oracle_renewal_hazard_roc_auc: o,
    oracle_state_at_cutoff_roc_auc: os,
    oracle_state_without_frailty_roc_auc: auc(noFrailty),
    ratio_to_oracle: m / ob,
    ratio_to_renewal_hazard: m / o,
    ratio_to_state_oracle: m / os,
    ratio_to_oracle_interval: aucRatioInterval(Y, Float64Array.from(model), Float64Array.from(best), 200, 0.95, seed),
  };
}

/** True expected lost revenue per user (see the module comment). */
export interface TrueLoss {
  /** aligned with `users` */
  loss: Float64Array;
  valueIfRetained: Float64Array;
  expectedRevenue: Float64Array;
  churnProbability: Float64Array;
  /** users whose replicates all churned (V⁺ undefined; their loss is taken as E[revenue] − 0 = all of it at risk) */
  allChurned: number;
  replicates: number;
  /** Monte-Carlo standard error of Σ loss (from the replicate-level variance of each user's estimate) */
  standardError: number;
}

/**
 * Monte-Carlo estimate of L_u = E[rev | no churn event] − E[rev] over [cutoff, horizonEnd) for the
 * given world users, with R replicates each (state at the cutoff recomputed exactly, pending
 * memoryless draws redrawn as in `expectedFutureRevenue`).
 */
export function trueLostRevenue(world: World, users: Int32Array, cutoff: number, horizonEnd: number, windowDays: number, replicates: number, seed: number): TrueLoss {
  const futures = new FutureSampler(world, cutoff, new Rng(seed).fork("churn-truth-loss"));
  const n = users.length;
  const loss = new Float64Array(n);
  const vr = new Float64Array(n);
  const efr = new Float64Array(n);
  const pc = new Float64Array(n);
  let revenue = 0;
  let churnBy = 0;
  let churned = false;
  const sink: Sink = {
    ...nullSink,
    payment: (_u, _ts, amount) => void (revenue += amount),
    period: (_u, _s, end, _sat, _h, outcome) => {
      if (outcome === 1 && end <= churnBy) churned = true;
    },
  };
  let allChurned = 0;
  let variance = 0;
  const revs = new Float64Array(replicates);
  const flags = new Uint8Array(replicates);
  for (let j = 0; j < n; j++) {
    // not a subscriber in truth (e.g. the data's view differs at the boundary): nothing at risk
    if (!futures.enter(users[j])) continue;
    churnBy = Math.max(cutoff + windowDays * DAY, futures.nextBillTs);
    for (let r = 0; r < replicates; r++) {
      revenue = 0;
      churned = false;
      futures.sample(horizonEnd, sink);
      revs[r] = revenue;
      flags[r] = churned ? 1 : 0;
    }
    let sAll = 0;
    let sKeep = 0;
    let nKeep = 0;
    for (let r = 0; r < replicates; r++) {
      sAll += revs[r];
      if (!flags[r]) {
        sKeep += revs[r];
        nKeep++;
      }
    }
    const e = sAll / replicates;
    efr[j] = e;
    pc[j] = 1 - nKeep / replicates;
    if (nKeep === 0) {
      allChurned++;
      vr[j] = NaN;
      loss[j] = 0;
      continue;
    }
    const v = sKeep / nKeep;
    vr[j] = v;
    loss[j] = v - e;
    // per-replicate influence of the ratio estimator: (1[keep]·(rev − v)/P̂(keep) − (rev − e)); its variance / R
    let ss = 0;
    const q = nKeep / replicates;
    for (let r = 0; r < replicates; r++) {
      const infl = (flags[r] ? 0 : (revs[r] - v) / q) - (revs[r] - e);
      ss += infl * infl;
    }
    variance += ss / (replicates * Math.max(1, replicates - 1));
  }
  return { loss, valueIfRetained: vr, expectedRevenue: efr, churnProbability: pc, allChurned, replicates, standardError: Math.sqrt(variance) };
}

/** Options of {@link churnTruthCheck}. */
export interface TruthCheckOptions {
  replicates?: number;
  /** futures per user for the Bayes oracle (default 32) */
  oracleReplicates?: number;
  seed?: number;
  /** check the revenue on at most this many scored users (every k-th by user id); default all */
  maxRevenueUsers?: number;
}

/** The full check: oracle AUC, ECE, and revenue at risk vs the truth, with targets and pass/fail. */
export function churnTruthCheck(world: World, run: ChurnRun, ltv: LtvResult, worldIndex: Int32Array, windowDays: number, opts: TruthCheckOptions = {}): Record<string, unknown> {
  const auc = oracleAuc(world, run, worldIndex, windowDays, opts.oracleReplicates ?? 32, opts.seed ?? 1);
  const t = run.test;
  const rows: number[] = [];
  for (let i = 0; i < t.y.length; i++) if (t.y[i] === t.y[i]) rows.push(i);
  const y = Float64Array.from(rows, (i) => t.y[i]);
  const p = Float64Array.from(rows, (i) => t.p[i]);
  const eceW = expectedCalibrationError(y, p, { nBins: 10, strategy: "equal-width" });
  const eceM = expectedCalibrationError(y, p, { nBins: 10, strategy: "equal-mass" });

  const R = opts.replicates ?? 16;
  const n = ltv.users.length;
  const stride = opts.maxRevenueUsers && opts.maxRevenueUsers < n ? Math.ceil(n / opts.maxRevenueUsers) : 1;
  const pick: number[] = [];
  for (let i = 0; i < n; i += stride) pick.push(i);
  const wUsers = Int32Array.from(pick, (i) => worldIndex[ltv.users[i]]);
  const truth = trueLostRevenue(world, wUsers, run.scores.cutoff, ltv.horizonEnd, windowDays, R, opts.seed ?? 1);
  let pred = 0;
  let predGross = 0;
  let predLtv = 0;
  let trueLoss = 0;
  let trueEfr = 0;
  let trueGross = 0;
  let predP = 0;
  let trueP = 0;
  const byPlan = new Map<string, { users: number; predicted: number; truth: number }>();
  pick.forEach((i, j) => {
    const plan = world.plans[world.users.plan[wUsers[j]]].name;
    let g = byPlan.get(plan);
    if (!g) byPlan.set(plan, (g = { users: 0, predicted: 0, truth: 0 }));
    g.users++;
    g.predicted += ltv.revenueAtRisk[i];
    g.truth += truth.loss[j];
    pred += ltv.revenueAtRisk[i];
    predGross += ltv.revenueAtRiskGross[i];
    predLtv += ltv.ltv[i];
    predP += ltv.p[i];
    trueLoss += truth.loss[j];
    trueEfr += truth.expectedRevenue[j];
    trueP += truth.churnProbability[j];
    const v = truth.valueIfRetained[j];
    if (v === v) trueGross += truth.churnProbability[j] * v;
  });
  // the interval of the predicted total over the checked users, from the parameter draws
  let lo: number | null = null;
  let hi: number | null = null;
  if (ltv.rarDraws.length >= 2) {
    const tot = ltv.rarDraws.map((dr) => pick.reduce((s, i) => s + dr[i], 0)).sort((a, b) => a - b);
    const q = (x: number) => tot[Math.min(tot.length - 1, Math.max(0, Math.round(x * (tot.length - 1))))];
    lo = q((1 - ltv.level) / 2);
    hi = q((1 + ltv.level) / 2);
  }
  const relErr = pred / trueLoss - 1;
  const aucPass = auc.model_roc_auc >= (1 - TRUTH_TARGETS.aucWithinFraction) * auc.oracle_bayes_at_cutoff_roc_auc;
  const ecePass = eceW <= TRUTH_TARGETS.eceMax;
  const rarPass = Math.abs(relErr) <= TRUTH_TARGETS.revenueRelativeTolerance;
  return {
    targets: {
      roc_auc: `model ROC-AUC >= (1 - ${TRUTH_TARGETS.aucWithinFraction}) x oracle ROC-AUC (oracle: the Bayes-optimal P(churn in the window | true state at the test cutoff))`,
      ece: `ECE (10 equal-width bins) after calibration <= ${TRUTH_TARGETS.eceMax}`,
      revenue_at_risk: `|predicted total revenue at risk / true expected lost revenue - 1| <= ${TRUTH_TARGETS.revenueRelativeTolerance}`,
    },
    roc_auc: { ...auc, threshold: (1 - TRUTH_TARGETS.aucWithinFraction) * auc.oracle_bayes_at_cutoff_roc_auc, pass: aucPass },
    calibration: { ece_equal_width: eceW, ece_equal_mass: eceM, users: y.length, pass: ecePass },
    revenue_at_risk: {
      cutoff: new Date(run.scores.cutoff * 1000).toISOString(),
      horizon_end: new Date(ltv.horizonEnd * 1000).toISOString(),
      users_checked: pick.length,
      replicates_per_user: R,
      predicted_total: pred,
      predicted_total_interval: { lower: lo, upper: hi, level: ltv.level },
      true_lost_revenue: trueLoss,
      true_lost_revenue_mc_standard_error: truth.standardError,
      relative_error: relErr,
      pass: rarPass,
      decomposition: {
        predicted_expected_churners: predP,
        true_expected_churners: trueP,
        predicted_gross_at_risk: predGross,
        true_gross_at_risk: trueGross,
        predicted_expected_revenue: predLtv,
        true_expected_revenue: trueEfr,
        users_all_replicates_churned: truth.allChurned,
      },
      by_plan: [...byPlan.entries()]
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([plan, g]) => ({ plan, ...g, relative_error: g.predicted / g.truth - 1 })),
      definition:
        "true lost revenue = sum over scored users of E[revenue in [t_s, t_s + horizon) | no cancellation at a renewal due by max(t_s + W, next due)] - E[revenue in [t_s, t_s + horizon)], by Monte-Carlo from each user's exact state at t_s under the world's dynamics (win-backs included)",
    },
    pass: aucPass && ecePass && rarPass,
  };
}
