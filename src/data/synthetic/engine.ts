/**
 * The per-user simulator. Users do not interact, so each user's whole timeline (sessions, plays,
 * renewals, churn, returns) is simulated in one pass from that user's own RNG stream. That makes
 * worlds reproducible user by user, lets any user's state at any moment be recomputed exactly
 * (ground-truth expectations), and lets `replayPolicy` continue a user under another policy.
 */
import type { Rng } from "../../util/rng";
import { addMonths, DAY } from "./time";
import { referencePrice, type WorldConfig } from "./config";
import type { EndState, World } from "./types";

/** The arrays and constants the simulator reads (shared by a fresh generation and a finished world). */
export interface Model {
  cfg: WorldConfig;
  startTs: number;
  endTs: number;
  nUsers: number;
  nItems: number;
  dim: number;
  itemVectors: Float64Array;
  genreStart: Int32Array;
  genreIds: Int32Array;
  releaseTs: Float64Array;
  popularity: Float64Array;
  popularityZ: Float64Array;
  runtimeMinutes: Float32Array;
  taste: Float64Array;
  activity: Float64Array;
  monthlyPrice: Float64Array;
  frailty: Float64Array;
  ratingPropensity: Float64Array;
  ratingBias: Float64Array;
  initialSatisfaction: Float64Array;
  signupTs: Float64Array;
}

/** The simulator's view of a finished world. */
export function modelOf(world: World): Model {
  const t = world.truth;
  return {
    cfg: world.config,
    startTs: world.startTs,
    endTs: world.endTs,
    nUsers: world.users.length,
    nItems: world.items.length,
    dim: t.dim,
    itemVectors: t.itemVectors,
    genreStart: world.items.genreStart,
    genreIds: world.items.genreIds,
    releaseTs: world.items.releaseTs,
    popularity: t.popularity,
    popularityZ: t.popularityZ,
    runtimeMinutes: world.items.runtimeMinutes,
    taste: t.taste,
    activity: t.activity,
    monthlyPrice: world.users.monthlyPrice,
    frailty: t.frailty,
    ratingPropensity: t.ratingPropensity,
    ratingBias: t.ratingBias,
    initialSatisfaction: t.initialSatisfaction,
    signupTs: world.users.signupTs,
  };
}

/** One user's mutable simulation state. */
export class SimState {
  subscribed = false;
  sat = 0;
  anchorTs = 0;
  renewals = 0;
  periodStartTs = 0;
  nextBillTs = Infinity;
  pendingStartTs = Infinity;
  pendingIsSignup = false;
  lastChurnTs = NaN;
  lastItem = -1;
  /** next day (index from the world start) with sessions; -1 = draw it */
  nextActiveDay = -1;

  copyFrom(o: SimState): void {
    this.subscribed = o.subscribed;
    this.sat = o.sat;
    this.anchorTs = o.anchorTs;
    this.renewals = o.renewals;
    this.periodStartTs = o.periodStartTs;
    this.nextBillTs = o.nextBillTs;
    this.pendingStartTs = o.pendingStartTs;
    this.pendingIsSignup = o.pendingIsSignup;
    this.lastChurnTs = o.lastChurnTs;
    this.lastItem = o.lastItem;
    this.nextActiveDay = o.nextActiveDay;
  }

  saveTo(u: number, e: EndState): void {
    e.subscribed[u] = this.subscribed ? 1 : 0;
    e.satisfaction[u] = this.sat;
    e.anchorTs[u] = this.anchorTs;
    e.renewals[u] = this.renewals;
    e.periodStartTs[u] = this.periodStartTs;
    e.nextBillTs[u] = this.nextBillTs;
    e.pendingStartTs[u] = this.pendingStartTs;
    e.pendingIsSignup[u] = this.pendingIsSignup ? 1 : 0;
    e.lastChurnTs[u] = this.lastChurnTs;
    e.lastItem[u] = this.lastItem;
  }

  loadFrom(u: number, e: EndState): void {
    this.subscribed = e.subscribed[u] === 1;
    this.sat = e.satisfaction[u];
    this.anchorTs = e.anchorTs[u];
    this.renewals = e.renewals[u];
    this.periodStartTs = e.periodStartTs[u];
    this.nextBillTs = e.nextBillTs[u];
    this.pendingStartTs = e.pendingStartTs[u];
    this.pendingIsSignup = e.pendingIsSignup[u] === 1;
    this.lastChurnTs = e.lastChurnTs[u];
    this.lastItem = e.lastItem[u];
    this.nextActiveDay = -1;
  }
}

/** Empty per-user end-state arrays. */
export function allocEndState(n: number): EndState {
  return {
    subscribed: new Uint8Array(n),
    satisfaction: new Float64Array(n),
    anchorTs: new Float64Array(n),
    renewals: new Int32Array(n),
    periodStartTs: new Float64Array(n),
    nextBillTs: new Float64Array(n),
    pendingStartTs: new Float64Array(n),
    pendingIsSignup: new Uint8Array(n),
    lastChurnTs: new Float64Array(n),
    lastItem: new Int32Array(n),
  };
}

/**
 * Items one user has played, as a stamp array over the catalogue: O(1) test/insert, O(1) clear
 * between users. A journal allows rolling back to a checkpoint (Monte-Carlo replicates).
 */
export class SeenSet {
  private stamp: Int32Array;
  private cur = 1;
  size = 0;
  private journal = new Int32Array(256);
  private jlen = 0;
  private journaling = false;

  constructor(nItems: number) {
    this.stamp = new Int32Array(nItems);
  }
  /** Empties the set. */
  reset(): void {
    this.cur += 1;
    if (this.cur === 0x7fffffff) {
      this.stamp.fill(0);
      this.cur = 1;
    }
    this.size = 0;
    this.jlen = 0;
    this.journaling = false;
  }
  has(i: number): boolean {
    return this.stamp[i] === this.cur;
  }
  add(i: number): void {
    if (this.stamp[i] === this.cur) return;
    this.stamp[i] = this.cur;
    this.size += 1;
    if (this.journaling) {
      if (this.jlen === this.journal.length) {
        const j = new Int32Array(this.journal.length * 2);
        j.set(this.journal);
        this.journal = j;
      }
      this.journal[this.jlen++] = i;
    }
  }
  /** Starts recording insertions so `rollback` can undo them. */
  checkpoint(): void {
    this.journaling = true;
    this.jlen = 0;
  }
  /** Removes everything added since `checkpoint`. */
  rollback(): void {
    for (let j = 0; j < this.jlen; j++) this.stamp[this.journal[j]] = 0;
    this.size -= this.jlen;
    this.jlen = 0;
  }
}

/** What a slate source sees about the session (the public `SlateContext` plus internals). */
export interface SessionContext {
  ts: number;
  rng: Rng;
  lastItem: number;
  consumed: SeenSet;
}

/**
 * Fills `out` with up to k distinct, released, unseen item indices for the first k slate
 * positions (the ones the user will examine); returns how many.
 */
export interface SlateSource {
  fill(user: number, day: number, k: number, ctx: SessionContext, out: Int32Array): number;
}

/** Receives what the simulator produces. */
export interface Sink {
  event(u: number, item: number, ts: number, rating: number, watch: number, affinity: number): void;
  payment(u: number, ts: number, amount: number): void;
  /** a billing period reached its renewal decision (outcome 0 renewed, 1 churned) */
  period(u: number, start: number, end: number, sat: number, hazard: number, outcome: number): void;
  churn(u: number, ts: number): void;
  returned(u: number, ts: number): void;
  activeDay(u: number, day: number): void;
}

/** A sink that ignores everything (state-only runs). */
export const nullSink: Sink = {
  event() {},
  payment() {},
  period() {},
  churn() {},
  returned() {},
  activeDay() {},
};

// Evening-peaked hour-of-day profile of session starts (relative weights, 00h..23h).
const HOUR_WEIGHTS = [2, 1.2, 0.7, 0.4, 0.3, 0.3, 0.6, 1, 1.3, 1.4, 1.5, 1.7, 2.1, 2.1, 1.9, 1.9, 2.2, 2.9, 4, 5.4, 6.4, 6.2, 4.8, 3.2];
const HOUR_CDF = (() => {
  const c = new Float64Array(24);
  let s = 0;
  for (let h = 0; h < 24; h++) c[h] = s += HOUR_WEIGHTS[h];
  for (let h = 0; h < 24; h++) c[h] /= s;
  return c;
})();

/** 2^-32: turns a 32-bit draw into a uniform in [0, 1) (enough resolution for Bernoulli and alias draws, half the cost of 53 bits) */
export const U32 = 2.3283064365386963e-10;

/** The simulation dynamics shared by generation, ground-truth expectations and replay. */
export class Engine {
  readonly seen: SeenSet;
  private readonly m: Model;
  private readonly slate: Int32Array;
  private readonly times = new Float64Array(64);
  private readonly ctx: SessionContext;
  /** λ0 · frailty · price effect per user: hazard = 1 − exp(−hazardScale · satisfaction and tenure effects) */
  private readonly hazardScale: Float64Array;
  private readonly k: number;
  /** log of the cascade continue probability (0 → examine one position; −0 → examine all) */
  private readonly logContinue: number;
  private readonly c0: number;
  private readonly cA: number;
  private readonly cP: number;
  private readonly cPos: number;
  private readonly w0: number;
  private readonly wA: number;
  private readonly wSd: number;
  private readonly rMean: number;
  private readonly rSlope: number;
  private readonly rNoise: number;
  private readonly satPlay: number;
  private readonly satEmpty: number;
  private readonly satRef: number;
  private readonly satSens: number;
  private readonly engage: number;
  private readonly extraSessions: number;
  private readonly earlyPeriods: number;
  private readonly earlyMult: number;
  private readonly pReturn: number;
  private readonly returnMeanSec: number;
  /**
   * Set when a run reaches `untilTs` in the middle of an active day or session: everything stops
   * at once, so the state is exactly the longer run's state at that point (renewals due before
   * `untilTs` included, nothing after it).
   */
  private stopped = false;

  constructor(model: Model) {
    this.m = model;
    const c = model.cfg;
    this.seen = new SeenSet(model.nItems);
    this.k = c.slateSize;
    this.slate = new Int32Array(Math.max(c.slateSize, 1));
    this.ctx = { ts: 0, rng: undefined as unknown as Rng, lastItem: -1, consumed: this.seen };
    this.logContinue = Math.log(c.consumption.continueProbability);
    this.c0 = c.consumption.intercept;
    this.cA = c.consumption.affinityWeight;
    this.cP = c.consumption.popularityWeight;
    this.cPos = c.consumption.positionDecay;
    this.w0 = c.consumption.watchIntercept;
    this.wA = c.consumption.watchAffinity;
    this.wSd = c.consumption.watchNoise;
    this.rMean = c.ratings.mean;
    this.rSlope = c.ratings.slope;
    this.rNoise = c.ratings.noise;
    this.satPlay = c.satisfaction.playWeight;
    this.satEmpty = c.satisfaction.emptySessionWeight;
    this.satRef = c.satisfaction.reference;
    this.satSens = c.churn.satisfactionSensitivity;
    this.engage = c.activity.engagementSensitivity;
    this.extraSessions = c.activity.sessionsPerActiveDay - 1;
    this.earlyPeriods = c.churn.earlyPeriods;
    this.earlyMult = c.churn.earlyMultiplier;
    this.pReturn = c.churn.returnProbability;
    this.returnMeanSec = c.churn.returnMeanDays * DAY;
    const lambda0 = -Math.log(1 - c.churn.baseMonthlyHazard);
    const pref = referencePrice(c);
    this.hazardScale = new Float64Array(model.nUsers);
    for (let u = 0; u < model.nUsers; u++) {
      this.hazardScale[u] = lambda0 * model.frailty[u] * Math.exp(c.churn.priceSensitivity * Math.log(model.monthlyPrice[u] / pref));
    }
  }

  /** Probability that user u cancels at renewal number `renewal` (1 = first) given satisfaction `sat`. */
  hazard(u: number, sat: number, renewal: number): number {
    let rate = this.hazardScale[u] * Math.exp(this.satSens * (this.satRef - sat));
    if (renewal <= this.earlyPeriods) rate *= this.earlyMult;
    return rate === Infinity ? 1 : 1 - Math.exp(-rate);
  }

  /** True affinity of user u for item i: the dot product of taste and item vectors. */
  affinity(u: number, i: number): number {
    const d = this.m.dim;
    const t = this.m.taste;
    const v = this.m.itemVectors;
    const uo = u * d;
    const io = i * d;
    let s = 0;
    for (let k = 0; k < d; k++) s += t[uo + k] * v[io + k];
    return s;
  }

  /** State of user u when the simulated period starts (pre-start subscribers mid-period; others awaiting sign-up). */
  initState(u: number, st: SimState): void {
    const m = this.m;
    st.sat = m.initialSatisfaction[u];
    st.lastItem = -1;
    st.nextActiveDay = -1;
    st.lastChurnTs = NaN;
    const signup = m.signupTs[u];
    if (signup < m.startTs) {
      // Billing has been running since sign-up: find the period that contains the start.
      let k = Math.max(0, Math.floor((m.startTs - signup) / (30.436875 * DAY)) - 1);
      while (addMonths(signup, k + 1) < m.startTs) k++;
      st.subscribed = true;
      st.anchorTs = signup;
      st.renewals = k;
      st.periodStartTs = addMonths(signup, k);
      st.nextBillTs = addMonths(signup, k + 1);
      st.pendingStartTs = Infinity;
      st.pendingIsSignup = false;
    } else {
      st.subscribed = false;
      st.anchorTs = NaN;
      st.renewals = 0;
      st.periodStartTs = NaN;
      st.nextBillTs = Infinity;
      st.pendingStartTs = signup;
      st.pendingIsSignup = true;
    }
  }

  /**
   * Prepares a state snapshot for continuing at `fromTs` with a new stream. Pending draws that
   * depend on the past stream are redrawn from their conditional law (both are memoryless:
   * geometric gaps between active days, exponential time to return), so a continuation has the
   * same distribution as the original process conditional on the state at `fromTs`.
   */
  continuation(st: SimState, fromTs: number, rng: Rng): void {
    st.nextActiveDay = -1;
    if (!st.subscribed && !st.pendingIsSignup && st.pendingStartTs >= fromTs && !Number.isNaN(st.lastChurnTs)) {
      // P(return eventually | no return during the elapsed time) for an exponential delay.
      const surv = Math.exp(-(fromTs - st.lastChurnTs) / this.returnMeanSec);
      const p = (this.pReturn * surv) / (1 - this.pReturn + this.pReturn * surv);
      st.pendingStartTs = rng.uniform() < p ? fromTs + Math.ceil(rng.exponential(1) * this.returnMeanSec) : Infinity;
    }
  }

  private dayOf(ts: number): number {
    return Math.floor((ts - this.m.startTs) / DAY);
  }

  /** Inactive days before the next active one: geometric with today's engagement-adjusted rate. */
  private gap(u: number, st: SimState, rng: Rng): number {
    let p = this.m.activity[u] * Math.exp(this.engage * (st.sat - this.satRef));
    if (p > 0.98) p = 0.98;
    else if (p < 1e-4) p = 1e-4;
    return Math.floor(Math.log(1 - rng.uniform()) / Math.log(1 - p));
  }

  /**
   * Simulates user u over [fromTs, untilTs) starting from `st` (which must describe the user at
   * `fromTs`), drawing slates from `slates` and reporting to `sink`. Stopping early leaves `st`
   * as the exact state at `untilTs`: the draws up to then are the same as in a longer run.
   */
  run(u: number, st: SimState, rng: Rng, fromTs: number, untilTs: number, slates: SlateSource, sink: Sink): void {
    const startTs = this.m.startTs;
    let t = fromTs;
    this.stopped = false;
    for (;;) {
      if (!st.subscribed) {
        if (!(st.pendingStartTs < untilTs)) return;
        t = st.pendingStartTs;
        this.subscribe(u, st, t, sink);
        continue;
      }
      if (st.nextActiveDay < 0) st.nextActiveDay = this.dayOf(t) + this.gap(u, st, rng);
      const d = st.nextActiveDay;
      const dayStart = startTs + d * DAY;
      if (st.nextBillTs <= dayStart || dayStart >= untilTs) {
        // The renewal comes before the next active day (or nothing else happens before the horizon).
        if (!(st.nextBillTs < untilTs)) return;
        t = st.nextBillTs;
        this.renew(u, st, rng, sink);
        continue;
      }
      this.day(u, st, rng, d, Math.max(dayStart, t), dayStart + DAY, untilTs, slates, sink);
      if (this.stopped) return;
      t = dayStart + DAY;
      st.nextActiveDay = st.subscribed ? d + 1 + this.gap(u, st, rng) : -1;
    }
  }

  /** Records the still-open billing period of a subscribed user at the end of a run. */
  closeOpenPeriod(u: number, st: SimState, sink: Sink): void {
    if (st.subscribed) sink.period(u, st.periodStartTs, st.nextBillTs, st.sat, this.hazard(u, st.sat, st.renewals + 1), 2);
  }

  private subscribe(u: number, st: SimState, ts: number, sink: Sink): void {
    if (!st.pendingIsSignup) {
      sink.returned(u, ts);
      // A returning user half-forgets the disappointment that made them leave.
      st.sat = 0.5 * (st.sat + this.m.initialSatisfaction[u]);
    }
    st.subscribed = true;
    st.anchorTs = ts;
    st.renewals = 0;
    st.periodStartTs = ts;
    st.nextBillTs = addMonths(ts, 1);
    st.pendingStartTs = Infinity;
    st.pendingIsSignup = false;
    // People subscribe to watch something: the (re)subscription day is active.
    st.nextActiveDay = this.dayOf(ts);
    sink.payment(u, ts, this.m.monthlyPrice[u]);
  }

  private renew(u: number, st: SimState, rng: Rng, sink: Sink): void {
    const bt = st.nextBillTs;
    const r = st.renewals + 1;
    const h = this.hazard(u, st.sat, r);
    if (rng.uniform() < h) {
      sink.period(u, st.periodStartTs, bt, st.sat, h, 1);
      sink.churn(u, bt);
      st.subscribed = false;
      st.lastChurnTs = bt;
      st.nextActiveDay = -1;
      st.pendingIsSignup = false;
      st.pendingStartTs = rng.uniform() < this.pReturn ? bt + Math.ceil(rng.exponential(1) * this.returnMeanSec) : Infinity;
    } else {
      sink.period(u, st.periodStartTs, bt, st.sat, h, 0);
      sink.payment(u, bt, this.m.monthlyPrice[u]);
      st.renewals = r;
      st.periodStartTs = bt;
      st.nextBillTs = addMonths(st.anchorTs, r + 1);
    }
  }

  /** Ends a run that reached `untilTs` mid-day: settles the renewals due before it, then stops. */
  private stopAt(u: number, st: SimState, rng: Rng, untilTs: number, sink: Sink): void {
    while (st.subscribed && st.nextBillTs < untilTs) this.renew(u, st, rng, sink);
    this.stopped = true;
  }

  /** One active day: 1 + Poisson sessions at evening-peaked times within [lo, dayEnd). */
  private day(u: number, st: SimState, rng: Rng, d: number, lo: number, dayEnd: number, untilTs: number, slates: SlateSource, sink: Sink): void {
    let n = 1 + (this.extraSessions > 0 ? rng.poisson(this.extraSessions) : 0);
    if (n > this.times.length) n = this.times.length;
    const times = this.times;
    const span = dayEnd - lo;
    for (let s = 0; s < n; s++) {
      const x = rng.uniform();
      let h = 0;
      while (h < 23 && HOUR_CDF[h] <= x) h++;
      const f = (h + rng.uniform()) / 24;
      // insertion sort: n is tiny
      const v = lo + Math.floor(f * span);
      let j = s;
      while (j > 0 && times[j - 1] > v) {
        times[j] = times[j - 1];
        j--;
      }
      times[j] = v;
    }
    let counted = false;
    let busyUntil = lo;
    for (let s = 0; s < n; s++) {
      // A session cannot start while the previous one is still playing.
      const ts0 = times[s] > busyUntil ? times[s] : busyUntil;
      if (ts0 >= dayEnd) return;
      if (ts0 >= untilTs) {
        this.stopAt(u, st, rng, untilTs, sink);
        return;
      }
      while (st.subscribed && st.nextBillTs <= ts0) this.renew(u, st, rng, sink);
      if (!st.subscribed) return;
      if (!counted) {
        sink.activeDay(u, d);
        counted = true;
      }
      busyUntil = this.session(u, st, rng, d, ts0, dayEnd, untilTs, slates, sink);
      if (!st.subscribed || this.stopped) return;
    }
  }

  /**
   * One session: a slate is shown; examined titles are played with a logistic probability, back to
   * back. Returns when the session's last play ends.
   */
  private session(u: number, st: SimState, rng: Rng, d: number, ts0: number, dayEnd: number, untilTs: number, slates: SlateSource, sink: Sink): number {
    const m = this.m;
    const ctx = this.ctx;
    ctx.ts = ts0;
    ctx.rng = rng;
    ctx.lastItem = st.lastItem;
    const slate = this.slate;
    // Cascade: positions examined = 1 + geometric(continue). Only those are drawn, which is
    // equivalent to drawing the whole slate and ignoring the unexamined tail.
    let depth = this.k;
    if (this.logContinue < 0) {
      const extra = Math.floor(Math.log(1 - rng.uniform()) / this.logContinue);
      if (extra + 1 < depth) depth = extra + 1;
    }
    const n = slates.fill(u, d, depth, ctx, slate);
    const dim = m.dim;
    const taste = m.taste;
    const vec = m.itemVectors;
    const uo = u * dim;
    let t = ts0;
    let played = 0;
    for (let p = 0; p < n; p++) {
      const i = slate[p];
      const io = i * dim;
      let aff = 0;
      let k = 0;
      // 4-way unrolled: this dot product is the simulator's innermost loop
      for (; k + 3 < dim; k += 4) aff += taste[uo + k] * vec[io + k] + taste[uo + k + 1] * vec[io + k + 1] + taste[uo + k + 2] * vec[io + k + 2] + taste[uo + k + 3] * vec[io + k + 3];
      for (; k < dim; k++) aff += taste[uo + k] * vec[io + k];
      const logit = this.c0 + this.cA * aff + this.cP * m.popularityZ[i] - this.cPos * p;
      // u·(1+e^−x) < 1  ⇔  u < sigmoid(x), without a division
      if (rng.nextU32() * U32 * (1 + Math.exp(-logit)) >= 1) continue;
      if (t >= dayEnd) break;
      if (t >= untilTs) {
        this.stopAt(u, st, rng, untilTs, sink);
        return t;
      }
      if (t >= st.nextBillTs) {
        this.renew(u, st, rng, sink);
        if (!st.subscribed) break;
      }
      let watch = 1 / (1 + Math.exp(-(this.w0 + this.wA * aff + this.wSd * rng.normal())));
      watch = watch > 0.97 ? 1 : Math.max(1, Math.round(watch * 1000)) / 1000;
      let rating = NaN;
      if (rng.uniform() < m.ratingPropensity[u]) {
        const stars = this.rMean + this.rSlope * aff + m.ratingBias[u] + this.rNoise * rng.normal();
        rating = Math.round(stars * 2) / 2;
        rating = rating < 0.5 ? 0.5 : rating > 5 ? 5 : rating;
      }
      sink.event(u, i, t, rating, watch, aff);
      this.seen.add(i);
      st.lastItem = i;
      st.sat += this.satPlay * (watch - st.sat);
      played++;
      t += Math.floor(watch * m.runtimeMinutes[i] * 60) + 60 + Math.floor(rng.uniform() * 300);
    }
    if (played === 0) st.sat -= this.satEmpty * st.sat;
    return t;
  }
}
