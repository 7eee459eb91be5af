import { DAY, loggingPolicy, oraclePolicy, replayPolicy, type ReplayResult, type ReplaySummary, type SlatePolicy, type World } from "../data/synthetic";
import type { CsrMatrix } from "../data/csr";
import type { Recommender } from "../taste/recommender";
import { InputError } from "../util/errors";
import { quietLogger, type Logger } from "../util/log";
import { analyseExperiment, type ExperimentAnalysis, type PerUserTable } from "./analyse";
import { assignByDesign, validateExperimentSpec, type ExperimentSpec } from "./design";
import { normalQuantile } from "./distributions";
import { welchTestFromSummaries } from "./frequentist";
import { assignUsers, type HashScheme } from "./hashing";
import { mdeMeans, powerMeans } from "./power";
import { alwaysValidPValue, normalMixtureRho } from "./sequential";

/**
 * Simulations that check the experimentation engine against known truth:
 *
 * - A/A: users of one replay are re-bucketed with a fresh salt per run (what is resampled is the
 *   assignment only; the users and their outcomes are fixed), so the false-positive rate of the
 *   fixed-horizon test is measured cheaply over thousands of runs. `worldAA` also resamples the
 *   outcomes: each run replays the world's future with a new seed.
 * - Peeking: the same re-bucketing, looked at after every simulated day, naive Welch test vs the
 *   always-valid confidence sequence.
 * - Power: a known additive effect injected into the treatment arm's values, simulated rejection
 *   rate vs `powerMeans`.
 * - World loop: arms run different recommenders in `replayPolicy`; every policy is also replayed on
 *   every user with the same seed (common random numbers), which gives each user's potential
 *   outcome under every arm, hence the true average treatment effect to set beside the engine's.
 */

/** A rejection rate with a 95% Wilson interval. */
export interface RateEstimate {
  rate: number;
  rejections: number;
  runs: number;
  ci95: [number, number];
}

/** Rate with a Wilson score interval (Wilson 1927): honest near 0 and for few runs. */
export function rateEstimate(rejections: number, runs: number): RateEstimate {
  if (!(runs > 0)) return { rate: NaN, rejections, runs, ci95: [NaN, NaN] };
  const p = rejections / runs;
  const z = normalQuantile(0.975);
  const d = 1 + (z * z) / runs;
  const centre = (p + (z * z) / (2 * runs)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / runs + (z * z) / (4 * runs * runs))) / d;
  return { rate: p, rejections, runs, ci95: [Math.max(0, centre - half), Math.min(1, centre + half)] };
}

/** Two-sided Welch p-value from per-arm sums; NaN when an arm has < 2 users or zero variance. */
function welchP(n0: number, s0: number, q0: number, n1: number, s1: number, q1: number): { p: number; estimate: number; se: number } {
  if (n0 < 2 || n1 < 2) return { p: NaN, estimate: NaN, se: NaN };
  const m0 = s0 / n0;
  const m1 = s1 / n1;
  const v0 = Math.max(0, q0 - s0 * m0) / (n0 - 1);
  const v1 = Math.max(0, q1 - s1 * m1) / (n1 - 1);
  if (!(v0 > 0) || !(v1 > 0)) return { p: NaN, estimate: NaN, se: NaN };
  const r = welchTestFromSummaries({ n: n0, mean: m0, variance: v0 }, { n: n1, mean: m1, variance: v1 });
  return { p: r.pValue, estimate: r.estimate, se: r.se };
}

/** Common options of the re-bucketing simulations. */
export interface RebucketOptions {
  /** user ids to bucket (one per value) */
  userIds: readonly string[];
  runs: number;
  /** default 0.05 */
  alpha?: number;
  /** experiment key (default "aa"); run r uses salt `${saltPrefix}${r}` */
  key?: string;
  saltPrefix?: string;
  /** default "growthbook-v2" */
  scheme?: HashScheme;
}

function checkRuns(runs: number, what: string): void {
  if (!Number.isInteger(runs) || runs < 1) throw new InputError(`${what}: runs must be a positive integer (got ${String(runs)})`);
}

function bucket(o: RebucketOptions, r: number): Int32Array {
  return assignUsers(o.userIds, { key: o.key ?? "aa", salt: `${o.saltPrefix ?? "run"}${r}`, weights: [0.5, 0.5], scheme: o.scheme ?? "growthbook-v2" });
}

/** A/A result: false-positive rate per metric, and the p-value histogram (10 bins) as a uniformity check. */
export interface AaResult {
  runs: number;
  users: number;
  alpha: number;
  resampled: string;
  metrics: Record<string, RateEstimate & { pValueDeciles: number[] }>;
}

/**
 * Fixed-horizon A/A by re-bucketing: per run a fresh salt splits the users 50/50 and every metric
 * gets a two-sided Welch test; the rejection rate estimates the false-positive rate.
 */
export function simulateAA(o: RebucketOptions & { values: Record<string, ArrayLike<number>> }): AaResult {
  checkRuns(o.runs, "A/A simulation");
  const alpha = o.alpha ?? 0.05;
  const names = Object.keys(o.values);
  const n = o.userIds.length;
  for (const k of names) if (o.values[k].length !== n) throw new InputError(`A/A simulation: metric '${k}' has ${o.values[k].length} values for ${n} users`);
  const rej = new Array<number>(names.length).fill(0);
  const valid = new Array<number>(names.length).fill(0);
  const deciles = names.map(() => new Array<number>(10).fill(0));
  for (let r = 0; r < o.runs; r++) {
    const codes = bucket(o, r);
    names.forEach((name, m) => {
      const v = o.values[name];
      let n0 = 0, s0 = 0, q0 = 0, n1 = 0, s1 = 0, q1 = 0;
      for (let i = 0; i < n; i++) {
        const x = v[i];
        if (codes[i] === 0) {
          n0++;
          s0 += x;
          q0 += x * x;
        } else if (codes[i] === 1) {
          n1++;
          s1 += x;
          q1 += x * x;
        }
      }
      const { p } = welchP(n0, s0, q0, n1, s1, q1);
      if (Number.isNaN(p)) return;
      valid[m]++;
      if (p < alpha) rej[m]++;
      deciles[m][Math.min(9, Math.floor(p * 10))]++;
    });
  }
  const metrics: AaResult["metrics"] = {};
  names.forEach((name, m) => {
    metrics[name] = { ...rateEstimate(rej[m], valid[m]), pValueDeciles: deciles[m] };
  });
  return { runs: o.runs, users: n, alpha, resampled: "assignment only (fresh salt per run); users and outcomes fixed", metrics };
}

/** Per-user cumulative daily values (row-major users × days) and each user's entry day (−1: never enters). */
export interface DailyPanel {
  users: number;
  days: number;
  /** cumulative metric through the end of day d: cum[u·days + d] */
  cum: Float64Array;
  /** first day the user is in the experiment (exposure), −1 if never */
  entry: Int32Array;
}

/**
 * Daily cumulative plays or revenue per replayed user, from the replay's event or payment log.
 * Entry = the day of the user's first play in the window (an exposure trigger), or day 0 for
 * everyone when `entry` is "start".
 */
export function dailyPanel(replay: ReplayResult, what: "plays" | "revenue", days: number, entry: "first-play" | "start" = "first-play"): DailyPanel {
  const nUsers = replay.outcomes.user.length;
  const row = new Map<number, number>();
  replay.outcomes.user.forEach((u, j) => row.set(u, j));
  const daily = new Float64Array(nUsers * days);
  const first = new Int32Array(nUsers).fill(-1);
  const dayOf = (ts: number): number => Math.floor((ts - replay.fromTs) / DAY);
  const ev = replay.events;
  for (let e = 0; e < ev.length; e++) {
    const j = row.get(ev.user[e]);
    const d = dayOf(ev.ts[e]);
    if (j === undefined || d < 0 || d >= days) continue;
    if (first[j] < 0 || d < first[j]) first[j] = d;
    if (what === "plays") daily[j * days + d] += 1;
  }
  if (what === "revenue") {
    const p = replay.payments;
    for (let e = 0; e < p.length; e++) {
      const j = row.get(p.user[e]);
      const d = dayOf(p.ts[e]);
      if (j !== undefined && d >= 0 && d < days) daily[j * days + d] += p.amount[e];
    }
  }
  for (let j = 0; j < nUsers; j++) for (let d = 1; d < days; d++) daily[j * days + d] += daily[j * days + d - 1];
  return { users: nUsers, days, cum: daily, entry: entry === "start" ? new Int32Array(nUsers) : first };
}

/** Peeking result: naive (fixed-horizon test at every look) vs always-valid, by run. */
export interface PeekingResult {
  runs: number;
  users: number;
  looks: number;
  alpha: number;
  targetN: number;
  /** rejected at the final look only (the pre-registered fixed-horizon test) */
  fixedHorizon: RateEstimate;
  /** rejected at any look by the naive test */
  naivePeeking: RateEstimate;
  /** rejected at any look by the confidence sequence */
  sequentialPeeking: RateEstimate;
  /** share of runs the naive test has rejected by look d (d = 1..looks) */
  naiveByLook: number[];
  sequentialByLook: number[];
  resampled: string;
}

/**
 * A/A with a look after every day: per run and day, a two-sided Welch test and the always-valid
 * p-value (ρ tuned at `targetN`, default the users entered by the last day) on the users entered
 * so far; a run counts as a false positive when any look rejects.
 */
export function simulatePeeking(o: RebucketOptions & { panel: DailyPanel; targetN?: number }): PeekingResult {
  checkRuns(o.runs, "peeking simulation");
  const alpha = o.alpha ?? 0.05;
  const { cum, entry, days } = o.panel;
  const n = o.panel.users;
  if (o.userIds.length !== n) throw new InputError(`peeking simulation: ${o.userIds.length} user ids for a panel of ${n} users`);
  let entered = 0;
  for (let i = 0; i < n; i++) if (entry[i] >= 0 && entry[i] < days) entered++;
  const targetN = o.targetN ?? entered;
  const rho = normalMixtureRho(alpha, targetN);
  let fixed = 0;
  let naive = 0;
  let seq = 0;
  const naiveBy = new Array<number>(days).fill(0);
  const seqBy = new Array<number>(days).fill(0);
  const sums = new Float64Array(6 * days);
  for (let r = 0; r < o.runs; r++) {
    const codes = bucket(o, r);
    sums.fill(0);
    for (let i = 0; i < n; i++) {
      const e = entry[i];
      const a = codes[i];
      if (e < 0 || a < 0) continue;
      const base = i * days;
      const off = a * 3;
      for (let d = e; d < days; d++) {
        const x = cum[base + d];
        const k = d * 6 + off;
        sums[k] += 1;
        sums[k + 1] += x;
        sums[k + 2] += x * x;
      }
    }
    let naiveHit = -1;
    let seqHit = -1;
    for (let d = 0; d < days; d++) {
      const k = d * 6;
      const w = welchP(sums[k], sums[k + 1], sums[k + 2], sums[k + 3], sums[k + 4], sums[k + 5]);
      if (Number.isNaN(w.p)) continue;
      if (w.p < alpha && naiveHit < 0) naiveHit = d;
      const nTot = sums[k] + sums[k + 3];
      const pAv = alwaysValidPValue(w.estimate, w.se * Math.sqrt(nTot), nTot, rho);
      if (pAv < alpha && seqHit < 0) seqHit = d;
      if (d === days - 1 && w.p < alpha) fixed++;
    }
    if (naiveHit >= 0) {
      naive++;
      for (let d = naiveHit; d < days; d++) naiveBy[d]++;
    }
    if (seqHit >= 0) {
      seq++;
      for (let d = seqHit; d < days; d++) seqBy[d]++;
    }
  }
  return {
    runs: o.runs,
    users: n,
    looks: days,
    alpha,
    targetN,
    fixedHorizon: rateEstimate(fixed, o.runs),
    naivePeeking: rateEstimate(naive, o.runs),
    sequentialPeeking: rateEstimate(seq, o.runs),
    naiveByLook: naiveBy.map((c) => c / o.runs),
    sequentialByLook: seqBy.map((c) => c / o.runs),
    resampled: "assignment only (fresh salt per run); one replay's daily outcomes fixed",
  };
}

/** Simulated vs analytic power for one injected effect. */
export interface PowerPoint {
  effect: number;
  /** effect / population mean */
  relativeEffect: number;
  /** analytic power the effect was chosen for (null when the effect was given) */
  targetPower: number | null;
  analytic: number;
  simulated: RateEstimate;
  /** simulated − analytic */
  difference: number;
}

/** Power simulation result. */
export interface PowerSimResult {
  runs: number;
  users: number;
  alpha: number;
  mean: number;
  sd: number;
  points: PowerPoint[];
  maxAbsDifference: number;
  resampled: string;
}

/**
 * Power by simulation: per run a fresh 50/50 split, a known additive effect added to every
 * treatment user's value, a two-sided Welch test. The analytic value is `powerMeans` (z test,
 * both tails) at the population sd and N/2 users per arm. Effects come from `effects` or are
 * solved with `mdeMeans` for each of `targetPowers`.
 */
export function simulatePower(o: RebucketOptions & { values: ArrayLike<number>; effects?: number[]; targetPowers?: number[] }): PowerSimResult {
  checkRuns(o.runs, "power simulation");
  const alpha = o.alpha ?? 0.05;
  const v = o.values;
  const n = v.length;
  if (o.userIds.length !== n) throw new InputError(`power simulation: ${o.userIds.length} user ids for ${n} values`);
  let s = 0;
  let q = 0;
  for (let i = 0; i < n; i++) {
    s += v[i];
    q += v[i] * v[i];
  }
  const mean = s / n;
  const sd = Math.sqrt(Math.max(0, q - s * mean) / (n - 1));
  if (!(sd > 0)) throw new InputError("power simulation: the metric has zero variance");
  const n1 = n / 2;
  const targets = o.targetPowers ?? [];
  const effects = o.effects ?? targets.map((power) => mdeMeans({ sd, n1, power, alpha }));
  if (effects.length === 0) throw new InputError("power simulation: give effects or targetPowers");
  const hits = new Array<number>(effects.length).fill(0);
  for (let r = 0; r < o.runs; r++) {
    const codes = bucket(o, r);
    let n0 = 0, s0 = 0, q0 = 0, nt = 0, st = 0, qt = 0;
    for (let i = 0; i < n; i++) {
      const x = v[i];
      if (codes[i] === 0) {
        n0++;
        s0 += x;
        q0 += x * x;
      } else if (codes[i] === 1) {
        nt++;
        st += x;
        qt += x * x;
      }
    }
    effects.forEach((delta, k) => {
      // shifting every treatment value by δ: Σ(x+δ) = Σx + nδ, Σ(x+δ)² = Σx² + 2δΣx + nδ²
      const { p } = welchP(n0, s0, q0, nt, st + nt * delta, qt + 2 * delta * st + nt * delta * delta);
      if (p < alpha) hits[k]++;
    });
  }
  const points = effects.map((effect, k) => {
    const analytic = powerMeans({ effect, sd, n1, alpha, test: "z" });
    const simulated = rateEstimate(hits[k], o.runs);
    return { effect, relativeEffect: mean !== 0 ? effect / mean : NaN, targetPower: o.effects ? null : targets[k], analytic, simulated, difference: simulated.rate - analytic };
  });
  return {
    runs: o.runs,
    users: n,
    alpha,
    mean,
    sd,
    points,
    maxAbsDifference: Math.max(...points.map((p) => Math.abs(p.difference))),
    resampled: "assignment only (fresh salt per run); the effect is added to the treatment arm's fixed outcomes",
  };
}

// ---- policies ------------------------------------------------------------------------------------

/** Options of {@link genreAffinityPolicy}. */
export interface GenreAffinityOptions {
  /** pseudo-plays of the global genre mix added to each user's history (default 5) */
  smoothing?: number;
  /** weight of the standardized log play count of an item (default 0.3) */
  popularityWeight?: number;
}

/**
 * A personalised policy built only from observable logs: each user's genre mix of past plays
 * (primary genre 1, other genres ½; smoothed toward the global mix) scores items by the log lift
 * of their genres over the global mix, plus a popularity term from play counts. Never reads the
 * true tastes.
 */
export function genreAffinityPolicy(world: World, opts: GenreAffinityOptions = {}): SlatePolicy {
  const a = opts.smoothing ?? 5;
  const beta = opts.popularityWeight ?? 0.3;
  const G = world.genres.length;
  const nI = world.items.length;
  const { genreStart, genreIds, releaseTs } = world.items;
  const ev = world.events;
  const count = new Float64Array(nI);
  for (let e = 0; e < ev.length; e++) count[ev.item[e]] += 1;
  const prior = new Float64Array(G);
  const addGenres = (item: number, into: Float64Array, w: number): number => {
    let total = 0;
    for (let j = genreStart[item]; j < genreStart[item + 1]; j++) {
      const g = j === genreStart[item] ? w : 0.5 * w;
      into[genreIds[j]] += g;
      total += g;
    }
    return total;
  };
  let priorTotal = 0;
  for (let i = 0; i < nI; i++) priorTotal += addGenres(i, prior, count[i]);
  for (let g = 0; g < G; g++) prior[g] = (prior[g] + 1) / (priorTotal + G);
  // standardized log popularity: the same popularity signal the logging policy samples by
  const logPop = Float64Array.from(count, (c) => Math.log1p(c));
  const mu = logPop.reduce((s, x) => s + x, 0) / nI;
  const sdPop = Math.sqrt(logPop.reduce((s, x) => s + (x - mu) * (x - mu), 0) / nI) || 1;
  const popZ = Float64Array.from(logPop, (x) => (x - mu) / sdPop);
  const cache = new Map<number, Int32Array>();
  const userMix = new Float64Array(G);
  const lift = new Float64Array(G);
  const score = new Float64Array(nI);
  const order = new Int32Array(nI);
  const rankTop = (u: number, size: number): Int32Array => {
    userMix.fill(0);
    let total = 0;
    if (u < world.users.length) for (let e = world.eventStart[u]; e < world.eventStart[u + 1]; e++) total += addGenres(ev.item[e], userMix, 1);
    for (let g = 0; g < G; g++) lift[g] = Math.log((userMix[g] + a * prior[g]) / (total + a) / prior[g]);
    for (let i = 0; i < nI; i++) {
      let s = 0;
      let w = 0;
      for (let j = genreStart[i]; j < genreStart[i + 1]; j++) {
        const wj = j === genreStart[i] ? 1 : 0.5;
        s += wj * lift[genreIds[j]];
        w += wj;
      }
      score[i] = (w > 0 ? s / w : 0) + beta * popZ[i];
      order[i] = i;
    }
    order.sort((x, y) => score[y] - score[x] || x - y);
    const top = order.slice(0, Math.min(size, nI));
    cache.set(u, top);
    return top;
  };
  return (user, _day, k, ctx) => {
    let ranking = cache.get(user) ?? rankTop(user, 4 * k + 64);
    for (;;) {
      const out: number[] = [];
      for (let j = 0; j < ranking.length && out.length < k; j++) {
        const i = ranking[j];
        if (releaseTs[i] <= ctx.ts && !ctx.consumed.has(i)) out.push(i);
      }
      if (out.length === k || ranking.length === nI) return out;
      ranking = rankTop(user, ranking.length * 2);
    }
  };
}

/**
 * A policy from a fitted recommender (model user index = world user index): its top-k list with the
 * user's training history excluded, cached per user and extended when the user has played through it.
 */
export function recommenderPolicy(world: World, model: Pick<Recommender, "recommend">, exclude: CsrMatrix | null = null): SlatePolicy {
  const nI = world.items.length;
  // per user: the list so far and how many the model was asked for (a shorter answer means it has no more)
  const cache = new Map<number, { list: Int32Array; asked: number }>();
  const top = (u: number, size: number): { list: Int32Array; asked: number } => {
    const asked = Math.min(size, nI);
    const r = model.recommend(Int32Array.of(u), asked, { exclude });
    const entry = { list: r.items.filter((i) => i >= 0 && i < nI), asked };
    cache.set(u, entry);
    return entry;
  };
  return (user, _day, k, ctx) => {
    let entry = cache.get(user) ?? top(user, 4 * k + 64);
    for (;;) {
      const out: number[] = [];
      const ranking = entry.list;
      for (let j = 0; j < ranking.length && out.length < k; j++) {
        const i = ranking[j];
        if (world.items.releaseTs[i] <= ctx.ts && !ctx.consumed.has(i)) out.push(i);
      }
      if (out.length === k || entry.asked >= nI || ranking.length < entry.asked) return out;
      entry = top(user, entry.asked * 2);
    }
  };
}

/** Built-in policies by name. */
export type PolicyName = "logging" | "genre" | "oracle";

/** The named built-in policy for a world. */
export function policyByName(world: World, name: PolicyName): SlatePolicy {
  if (name === "logging") return loggingPolicy(world);
  if (name === "oracle") return oraclePolicy(world);
  if (name === "genre") return genreAffinityPolicy(world);
  throw new InputError(`unknown policy '${String(name)}'; use "logging", "genre" or "oracle"`);
}

// ---- world-based simulations -------------------------------------------------------------------

/** Per-user outcome columns of a replay, plus pre-period covariates from the world's own logs. */
export interface WorldColumns {
  plays: Float64Array;
  active_days: Float64Array;
  /** 1 − churned (cancelled at least once in the window) */
  retained: Float64Array;
  revenue: Float64Array;
}

/** Outcome columns of a replay (indexed like `replay.outcomes.user`). */
export function replayColumns(r: ReplayResult): WorldColumns {
  const o = r.outcomes;
  return {
    plays: Float64Array.from(o.plays),
    active_days: Float64Array.from(o.activeDays),
    retained: Float64Array.from(o.churned, (c) => 1 - c),
    revenue: Float64Array.from(o.revenue),
  };
}

/** Pre-period covariates for each user: plays, days with a play, and payments in the last `preDays` of the world. */
export function preperiodColumns(world: World, preDays: number): { pre_plays: Float64Array; pre_active_days: Float64Array; pre_revenue: Float64Array } {
  const n = world.users.length;
  const from = world.endTs - preDays * DAY;
  const plays = new Float64Array(n);
  const activeDays = new Float64Array(n);
  const revenue = new Float64Array(n);
  for (let u = 0; u < n; u++) {
    let lastDay = -1;
    // events are user-major and time-ordered, so distinct days are counted in one pass
    for (let e = world.eventStart[u]; e < world.eventStart[u + 1]; e++) {
      const ts = world.events.ts[e];
      if (ts < from) continue;
      plays[u] += 1;
      const d = Math.floor((ts - world.startTs) / DAY);
      if (d !== lastDay) {
        activeDays[u] += 1;
        lastDay = d;
      }
    }
  }
  const p = world.payments;
  for (let j = 0; j < p.length; j++) if (p.ts[j] >= from) revenue[p.user[j]] += p.amount[j];
  return { pre_plays: plays, pre_active_days: activeDays, pre_revenue: revenue };
}

/** World-based A/A: fresh replay seed and fresh salt per run. */
export interface WorldAaResult {
  runs: number;
  users: number;
  days: number;
  alpha: number;
  metrics: Record<string, RateEstimate>;
  resampled: string;
}

/**
 * A/A on full replays: each run replays the world's future under the logging policy with a new
 * seed (new outcomes for the same users) and buckets with a new salt; Welch test per metric.
 */
export function worldAA(o: { world: World; runs: number; days: number; seed: number; users?: Int32Array; alpha?: number; logger?: Logger }): WorldAaResult {
  checkRuns(o.runs, "world A/A simulation");
  const alpha = o.alpha ?? 0.05;
  const users = o.users ?? Int32Array.from({ length: o.world.users.length }, (_, u) => u);
  const ids = Array.from(users, (u) => `u${u}`);
  const policy = loggingPolicy(o.world);
  const names: Array<keyof WorldColumns> = ["plays", "active_days", "retained", "revenue"];
  const rej = names.map(() => 0);
  const valid = names.map(() => 0);
  for (let r = 0; r < o.runs; r++) {
    const rep = replayPolicy(o.world, policy, { days: o.days, seed: o.seed + r, users });
    const cols = replayColumns(rep);
    const codes = assignUsers(ids, { key: "world-aa", salt: `run${r}`, weights: [0.5, 0.5] });
    names.forEach((name, m) => {
      const v = cols[name];
      let n0 = 0, s0 = 0, q0 = 0, n1 = 0, s1 = 0, q1 = 0;
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (codes[i] === 0) {
          n0++;
          s0 += x;
          q0 += x * x;
        } else {
          n1++;
          s1 += x;
          q1 += x * x;
        }
      }
      const { p } = welchP(n0, s0, q0, n1, s1, q1);
      if (Number.isNaN(p)) return;
      valid[m]++;
      if (p < alpha) rej[m]++;
    });
    if ((r + 1) % 50 === 0) o.logger?.info("experiment.world_aa", { done: r + 1, runs: o.runs });
  }
  return {
    runs: o.runs,
    users: users.length,
    days: o.days,
    alpha,
    metrics: Object.fromEntries(names.map((name, m) => [name, rateEstimate(rej[m], valid[m])])),
    resampled: "replay seed (the users' future behaviour) and assignment salt per run; the population and its history fixed",
  };
}

/** A world-loop arm: the policy it runs and a description for the report. */
export interface WorldArmPolicy {
  policy: SlatePolicy;
  description: string;
}

/** Options of {@link runWorldLoop}. */
export interface WorldLoopOptions {
  world: World;
  /** the experiment design; its metrics read the columns plays, active_days, retained, revenue, pre_plays, pre_active_days, pre_revenue */
  spec: ExperimentSpec;
  /** policy per arm name */
  policies: Record<string, WorldArmPolicy>;
  /** replayed days */
  days: number;
  /** replay seed shared by every arm (common random numbers) */
  seed: number;
  /** pre-period covariate window in days before the world's end (default 60) */
  preDays?: number;
  logger?: Logger;
}

/** One (arm, metric) comparison beside its truth. */
export interface TruthRow {
  arm: string;
  metric: string;
  /** the engine's absolute effect, interval and adjusted p (fixed horizon, CUPED when configured) */
  estimate: number;
  ci: [number, number];
  pAdjusted: number;
  significant: boolean;
  /** true average treatment effect over every user of the world (each user replayed under both policies) */
  trueEffect: number;
  trueRelativeEffect: number;
  /** true effect averaged over the enrolled users only (what the experiment can see) */
  sampleEffect: number;
  /** the engine's interval covers the true effect */
  covered: boolean;
  /** the engine's sign matches the truth's (only meaningful when significant) */
  signAgrees: boolean;
}

/** World-loop result: the analysis, the truth, and the decision beside the one the truth implies. */
export interface WorldLoopResult {
  analysis: ExperimentAnalysis;
  table: PerUserTable;
  /** replay summary over ALL users, per arm policy */
  replays: Record<string, ReplaySummary & { description: string }>;
  truth: TruthRow[];
  decisions: Array<{
    arm: string;
    engine: string;
    engineSummary: string;
    /** ship when the true primary effect is in the good direction, true guardrail effects are within tolerance and true incremental revenue > cost */
    truth: "ship" | "roll back";
    trueIncrementalRevenue: number;
    cost: number;
    /** engine shipped and truth says ship, or engine did not ship and truth says roll back */
    agrees: boolean;
  }>;
  settings: { users: number; enrolled: number; days: number; seed: number; preDays: number; fromDay: number };
}

/**
 * The decision loop with known truth: users are bucketed by the design; each arm's policy is
 * replayed on ALL users with the same seed, so every user has a potential outcome under every arm.
 * The experiment sees each enrolled user's outcome under their own arm (and pre-period covariates
 * from the world's logs); the truth is the all-user mean difference between policies.
 */
export function runWorldLoop(o: WorldLoopOptions): WorldLoopResult {
  const spec = validateExperimentSpec(o.spec);
  const log = o.logger ?? quietLogger;
  const world = o.world;
  for (const a of spec.arms) if (!o.policies[a.name]) throw new InputError(`world loop: arm '${a.name}' has no policy (policies given for: ${Object.keys(o.policies).join(", ") || "none"})`);
  const preDays = o.preDays ?? 60;
  const n = world.users.length;
  const ids = Array.from({ length: n }, (_, u) => `u${u}`);
  const assignment = assignByDesign(spec, ids);
  const cols: Record<string, WorldColumns> = {};
  const replays: WorldLoopResult["replays"] = {};
  for (const a of spec.arms) {
    const t0 = Date.now();
    const rep = replayPolicy(world, o.policies[a.name].policy, { days: o.days, seed: o.seed });
    cols[a.name] = replayColumns(rep);
    replays[a.name] = { ...rep.summary, description: o.policies[a.name].description };
    log.info("experiment.world_loop.replay", { arm: a.name, users: n, days: o.days, seconds: (Date.now() - t0) / 1000 });
  }
  const pre = preperiodColumns(world, preDays);
  const enrolled: number[] = [];
  for (let u = 0; u < n; u++) if (assignment.arm[u] !== null) enrolled.push(u);
  const m = enrolled.length;
  const metricNames: Array<keyof WorldColumns> = ["plays", "active_days", "retained", "revenue"];
  const columns: Record<string, Float64Array> = {};
  for (const k of metricNames) columns[k] = new Float64Array(m);
  for (const k of Object.keys(pre) as Array<keyof typeof pre>) columns[k] = new Float64Array(m);
  const arm: string[] = new Array(m);
  const user: string[] = new Array(m);
  enrolled.forEach((u, j) => {
    const a = assignment.arm[u] as string;
    arm[j] = a;
    user[j] = ids[u];
    for (const k of metricNames) columns[k][j] = cols[a][k][u];
    for (const k of Object.keys(pre) as Array<keyof typeof pre>) columns[k][j] = pre[k][u];
  });
  const table: PerUserTable = { arm, user, columns, source: "world loop" };
  const analysis = analyseExperiment(spec, table);

  const mean = (v: Float64Array, idx?: number[]): number => {
    if (!idx) return v.reduce((s, x) => s + x, 0) / v.length;
    let s = 0;
    for (const u of idx) s += v[u];
    return s / idx.length;
  };
  const columnOf = (a: string, metric: string): Float64Array => {
    const spec_m = spec.metrics.find((x) => x.name === metric);
    const c = spec_m?.column ?? metric;
    const v = (cols[a] as unknown as Record<string, Float64Array>)[c];
    if (!v) throw new InputError(`world loop: metric '${metric}' reads column '${c}', which the world loop does not produce (plays, active_days, retained, revenue)`);
    return v;
  };
  const trueEffect = (a: string, metric: string, idx?: number[]): { abs: number; rel: number } => {
    const t = mean(columnOf(a, metric), idx);
    const c = mean(columnOf(spec.control, metric), idx);
    return { abs: t - c, rel: c !== 0 ? t / c - 1 : NaN };
  };
  const truth: TruthRow[] = analysis.comparisons
    .filter((c) => c.type !== "ratio")
    .map((c) => {
      const t = trueEffect(c.arm, c.metric);
      const s = trueEffect(c.arm, c.metric, enrolled);
      return {
        arm: c.arm,
        metric: c.metric,
        estimate: c.absolute.estimate,
        ci: c.absolute.ci,
        pAdjusted: c.absolute.pAdjusted,
        significant: c.absolute.significant,
        trueEffect: t.abs,
        trueRelativeEffect: t.rel,
        sampleEffect: s.abs,
        covered: c.absolute.ci[0] <= t.abs && t.abs <= c.absolute.ci[1],
        signAgrees: Math.sign(c.absolute.estimate) === Math.sign(t.abs),
      };
    });
  const decisions = analysis.decisions.map((d) => {
    const p = trueEffect(d.arm, spec.primary.metric);
    const good = spec.primary.goal === "increase" ? p.abs > 0 : p.abs < 0;
    const guardOk = spec.guardrails.every((g) => {
      const e = trueEffect(d.arm, g.metric);
      const x = g.scale === "relative" ? e.rel : e.abs;
      return g.direction === "must not decrease" ? x >= -g.tolerance : x <= g.tolerance;
    });
    const trueIncrementalRevenue = p.abs * spec.roi.valuePerUnit * d.population;
    const truthCall: "ship" | "roll back" = good && guardOk && trueIncrementalRevenue > d.cost ? "ship" : "roll back";
    return {
      arm: d.arm,
      engine: d.decision,
      engineSummary: d.summary,
      truth: truthCall,
      trueIncrementalRevenue,
      cost: d.cost,
      agrees: (d.decision === "ship") === (truthCall === "ship"),
    };
  });
  return {
    analysis,
    table,
    replays,
    truth,
    decisions,
    settings: { users: n, enrolled: m, days: o.days, seed: o.seed, preDays, fromDay: world.days },
  };
}
