/**
 * Ground-truth queries for evaluation: true affinities, hazards, the true state at any moment,
 * expected and realized revenue. The pipeline never calls these; benchmarks compare against them.
 */
import { Rng } from "../../util/rng";
import { Engine, modelOf, nullSink, SimState, type Sink } from "./engine";
import { LoggingSlates } from "./policy";
import { sessionStreams } from "./simulate";
import { addMonths, DAY } from "./time";
import type { World } from "./types";

function checkIndex(i: number, n: number, what: string): void {
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`${what} index ${i} out of range [0, ${n})`);
}

/** True affinity (taste · item vector) of each pair (users[j], items[j]). */
export function trueAffinity(world: World, users: ArrayLike<number>, items: ArrayLike<number>): Float64Array {
  if (users.length !== items.length) throw new RangeError(`trueAffinity: ${users.length} users but ${items.length} items (pairs expected)`);
  const d = world.truth.dim;
  const t = world.truth.taste;
  const v = world.truth.itemVectors;
  const out = new Float64Array(users.length);
  for (let j = 0; j < users.length; j++) {
    const u = users[j];
    const i = items[j];
    checkIndex(u, world.users.length, "user");
    checkIndex(i, world.items.length, "item");
    let s = 0;
    for (let k = 0; k < d; k++) s += t[u * d + k] * v[i * d + k];
    out[j] = s;
  }
  return out;
}

/** True affinities of every user in `users` for every item in `items`: row-major users.length × items.length. */
export function trueAffinityMatrix(world: World, users: ArrayLike<number>, items: ArrayLike<number>): Float64Array {
  const d = world.truth.dim;
  const t = world.truth.taste;
  const v = world.truth.itemVectors;
  const out = new Float64Array(users.length * items.length);
  for (let a = 0; a < users.length; a++) {
    const u = users[a];
    checkIndex(u, world.users.length, "user");
    for (let b = 0; b < items.length; b++) {
      const i = items[b];
      checkIndex(i, world.items.length, "item");
      let s = 0;
      for (let k = 0; k < d; k++) s += t[u * d + k] * v[i * d + k];
      out[a * items.length + b] = s;
    }
  }
  return out;
}

/**
 * The churn hazard of the billing period that contains `ts` for `user`: the probability of
 * cancelling at that period's renewal, as it was when the renewal was decided (for the period
 * still open at the world's end: as of the end). NaN when the user was not subscribed at `ts`
 * or `ts` is outside the simulated billing history.
 */
export function trueHazardAt(world: World, user: number, ts: number): number {
  checkIndex(user, world.users.length, "user");
  const p = world.truth.periods;
  let lo = p.userStart[user];
  let hi = p.userStart[user + 1];
  // Periods of one user are disjoint and in time order: binary search for the last start <= ts.
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (p.start[mid] <= ts) lo = mid + 1;
    else hi = mid;
  }
  const r = lo - 1;
  if (r < p.userStart[user] || !(ts < p.end[r])) return NaN;
  return p.hazard[r];
}

/** Every user's true state at a moment (recomputed exactly by re-simulating each timeline up to it). */
export interface TrueState {
  /** 1 when subscribed at ts */
  subscribed: Uint8Array;
  /** 1 when the user had signed up by ts */
  signedUp: Uint8Array;
  satisfaction: Float64Array;
  /** next renewal (NaN if not subscribed) */
  nextRenewalTs: Float64Array;
  /** probability of cancelling at the next renewal if satisfaction stayed as it is (NaN if not subscribed) */
  nextRenewalHazard: Float64Array;
}

/**
 * Runs user u's original timeline (same stream as generation) up to `ts` and leaves the state in
 * `st` and the engine's seen-set: the exact state at `ts`, also beyond the world's end (where it
 * extends the original timeline under the logging policy).
 */
function replayTo(engine: Engine, slates: LoggingSlates, streams: Rng, u: number, st: SimState, startTs: number, ts: number, sink: Sink = nullSink): void {
  engine.initState(u, st);
  engine.seen.reset();
  engine.run(u, st, streams.fork(u), startTs, ts, slates, sink);
}

/** The true state of every user at `ts` (≥ the world start). */
export function trueStateAt(world: World, ts: number): TrueState {
  if (!(ts >= world.startTs)) throw new RangeError(`trueStateAt: ts ${ts} is before the world start ${world.startTs}`);
  const model = modelOf(world);
  const engine = new Engine(model);
  const slates = new LoggingSlates(model);
  const streams = sessionStreams(world.config.seed);
  const n = world.users.length;
  const out: TrueState = {
    subscribed: new Uint8Array(n),
    signedUp: new Uint8Array(n),
    satisfaction: new Float64Array(n),
    nextRenewalTs: new Float64Array(n).fill(NaN),
    nextRenewalHazard: new Float64Array(n).fill(NaN),
  };
  const st = new SimState();
  for (let u = 0; u < n; u++) {
    replayTo(engine, slates, streams, u, st, world.startTs, ts);
    out.signedUp[u] = world.users.signupTs[u] < ts ? 1 : 0;
    out.satisfaction[u] = st.sat;
    if (st.subscribed) {
      out.subscribed[u] = 1;
      out.nextRenewalTs[u] = st.nextBillTs;
      out.nextRenewalHazard[u] = engine.hazard(u, st.sat, st.renewals + 1);
    }
  }
  return out;
}

/** Options for {@link expectedFutureRevenue}. */
export interface ExpectedRevenueOptions {
  /**
   * "monte-carlo" (default): the exact expectation under the world's dynamics, estimated by
   * simulating `replicates` futures from each user's true state at the cutoff (logging policy,
   * satisfaction drift, churn and win-backs included).
   * "frozen": analytic; satisfaction frozen at its cutoff value, no win-backs: Σ over renewals in
   * the horizon of price · Π(1 − hazard). Cheap, and a lower bound when win-backs matter.
   */
  method?: "monte-carlo" | "frozen";
  /** Monte-Carlo futures per user (default 32) */
  replicates?: number;
  /** seed of the Monte-Carlo streams (default: the world's seed) */
  seed?: number;
  /** only these users (default all); the result is indexed like this array */
  users?: ArrayLike<number>;
}

/**
 * Expected subscription revenue of each user in [cutoffTs, cutoffTs + horizonDays·86400),
 * conditional on the user's true state at `cutoffTs` (see {@link ExpectedRevenueOptions.method}).
 * NaN for users who had not signed up by the cutoff (they are not customers yet).
 */
export function expectedFutureRevenue(world: World, cutoffTs: number, horizonDays: number, opts: ExpectedRevenueOptions = {}): Float64Array {
  if (!(cutoffTs >= world.startTs)) throw new RangeError(`expectedFutureRevenue: cutoff ${cutoffTs} is before the world start ${world.startTs}`);
  if (!(horizonDays > 0)) throw new RangeError(`expectedFutureRevenue: horizonDays must be > 0, got ${horizonDays}`);
  const method = opts.method ?? "monte-carlo";
  const reps = opts.replicates ?? 32;
  if (!(Number.isInteger(reps) && reps >= 1)) throw new RangeError(`expectedFutureRevenue: replicates must be a positive integer, got ${reps}`);
  const model = modelOf(world);
  const engine = new Engine(model);
  const slates = new LoggingSlates(model);
  const streams = sessionStreams(world.config.seed);
  const mcRoot = new Rng(opts.seed ?? world.config.seed).fork("expected-revenue");
  const users = opts.users ?? Int32Array.from({ length: world.users.length }, (_, u) => u);
  const horizonEnd = cutoffTs + horizonDays * DAY;
  const out = new Float64Array(users.length);
  const st = new SimState();
  const snap = new SimState();
  let revenue = 0;
  const revenueSink: Sink = { ...nullSink, payment: (_u, _ts, amount) => void (revenue += amount) };
  for (let j = 0; j < users.length; j++) {
    const u = users[j];
    checkIndex(u, world.users.length, "user");
    if (!(world.users.signupTs[u] < cutoffTs)) {
      out[j] = NaN;
      continue;
    }
    replayTo(engine, slates, streams, u, st, world.startTs, cutoffTs);
    const price = world.users.monthlyPrice[u];
    if (method === "frozen") {
      let e = 0;
      if (st.subscribed) {
        let surv = 1;
        let r = st.renewals + 1;
        for (let b = st.nextBillTs; b < horizonEnd; b = addMonths(st.anchorTs, ++r)) {
          surv *= 1 - engine.hazard(u, st.sat, r);
          e += price * surv;
        }
      }
      out[j] = e;
      continue;
    }
    snap.copyFrom(st);
    engine.seen.checkpoint();
    const rng = mcRoot.fork(u);
    let total = 0;
    for (let rep = 0; rep < reps; rep++) {
      st.copyFrom(snap);
      engine.seen.rollback();
      engine.continuation(st, cutoffTs, rng);
      revenue = 0;
      engine.run(u, st, rng, cutoffTs, horizonEnd, slates, revenueSink);
      total += revenue;
    }
    out[j] = total / reps;
  }
  return out;
}

/** Subscription revenue actually paid by each user in [fromTs, toTs) (within the simulated period). */
export function realizedRevenue(world: World, fromTs: number, toTs: number): Float64Array {
  const out = new Float64Array(world.users.length);
  const p = world.payments;
  for (let j = 0; j < p.length; j++) {
    const ts = p.ts[j];
    if (ts >= fromTs && ts < toTs) out[p.user[j]] += p.amount[j];
  }
  return out;
}
