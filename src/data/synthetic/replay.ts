/**
 * Counterfactual continuation: run the world past its end with another slate policy, under the
 * same consumption, satisfaction, churn and win-back dynamics. Two arms replayed with the same
 * seed start every user from the same state and the same stream (common random numbers), so
 * differences between arms come from the policies, not from noise in who was active when.
 */
import { quietLogger, type Logger } from "../../util/log";
import { Rng } from "../../util/rng";
import { EventBuffer, PaymentBuffer } from "./buffers";
import { Engine, modelOf, nullSink, SimState, type Sink } from "./engine";
import { LoggingSlates, slateSourceFor, type SlatePolicy } from "./policy";
import { DAY } from "./time";
import type { EventArrays, PaymentArrays, World } from "./types";

/** Options for {@link replayPolicy}. */
export interface ReplayOptions {
  /** first replayed day, counted from the world's start (default: the day after the world ends; must be ≥ `world.days`) */
  fromDay?: number;
  /** number of replayed days */
  days: number;
  /** seed of the replay streams (same seed in two arms → common random numbers) */
  seed: number;
  /** users to replay (default all), as 0-based indices */
  users?: Int32Array;
  logger?: Logger;
}

/** Per-user outcomes, indexed like `user`. */
export interface ReplayOutcomes {
  user: Int32Array;
  /** subscribed when the replay window opened */
  subscribedAtStart: Uint8Array;
  subscribedAtEnd: Uint8Array;
  /** cancelled at least once inside the window */
  churned: Uint8Array;
  activeDays: Int32Array;
  /** plays (consumed titles) */
  plays: Int32Array;
  /** sum of the true affinity of played titles */
  affinitySum: Float64Array;
  revenue: Float64Array;
}

/** Arm-level aggregates. */
export interface ReplaySummary {
  users: number;
  subscribedAtStart: number;
  plays: number;
  playsPerUser: number;
  /** mean true affinity per play */
  meanAffinity: number;
  /** share of users subscribed at the start who cancelled inside the window */
  churnRate: number;
  /** 1 − churnRate */
  retention: number;
  revenuePerUser: number;
  activeDaysPerUser: number;
}

/** What a replay produced. */
export interface ReplayResult {
  fromTs: number;
  toTs: number;
  /** plays in the window, user-major (user indices are the world's) */
  events: EventArrays;
  payments: PaymentArrays;
  outcomes: ReplayOutcomes;
  summary: ReplaySummary;
}

class ReplaySink implements Sink {
  readonly events = new EventBuffer();
  readonly payments = new PaymentBuffer();
  j = 0;
  constructor(readonly out: ReplayOutcomes) {}
  event(u: number, item: number, ts: number, rating: number, watch: number, affinity: number): void {
    this.events.push(u, item, ts, rating, watch);
    this.out.plays[this.j] += 1;
    this.out.affinitySum[this.j] += affinity;
  }
  payment(u: number, ts: number, amount: number): void {
    this.payments.push(u, ts, amount);
    this.out.revenue[this.j] += amount;
  }
  period(): void {}
  churn(): void {
    this.out.churned[this.j] = 1;
  }
  returned(): void {}
  activeDay(): void {
    this.out.activeDays[this.j] += 1;
  }
}

/**
 * Continues `world` for `opts.days` days starting at day `opts.fromDay`, showing slates from
 * `policy`. Each user starts from their state at the world's end (subscription, satisfaction,
 * watched titles); a gap between the world's end and `fromDay` is simulated under the logging
 * policy. The catalogue is fixed: no titles are released after the world's end.
 */
export function replayPolicy(world: World, policy: SlatePolicy, opts: ReplayOptions): ReplayResult {
  const log = opts.logger ?? quietLogger;
  const fromDay = opts.fromDay ?? world.days;
  if (!Number.isInteger(fromDay) || fromDay < world.days) {
    throw new RangeError(`replayPolicy: fromDay must be an integer >= ${world.days} (the world's end), got ${fromDay}`);
  }
  if (!Number.isInteger(opts.days) || opts.days < 1) throw new RangeError(`replayPolicy: days must be a positive integer, got ${opts.days}`);
  const model = modelOf(world);
  const engine = new Engine(model);
  const logging = new LoggingSlates(model);
  const source = slateSourceFor(policy, model);
  const fromTs = world.startTs + fromDay * DAY;
  const toTs = fromTs + opts.days * DAY;
  const users = opts.users ?? Int32Array.from({ length: world.users.length }, (_, u) => u);
  const n = users.length;
  const outcomes: ReplayOutcomes = {
    user: Int32Array.from(users),
    subscribedAtStart: new Uint8Array(n),
    subscribedAtEnd: new Uint8Array(n),
    churned: new Uint8Array(n),
    activeDays: new Int32Array(n),
    plays: new Int32Array(n),
    affinitySum: new Float64Array(n),
    revenue: new Float64Array(n),
  };
  const sink = new ReplaySink(outcomes);
  const root = new Rng(opts.seed).fork("replay");
  const st = new SimState();
  const progress = log.progress("replaying users", n);
  for (let j = 0; j < n; j++) {
    const u = users[j];
    if (!Number.isInteger(u) || u < 0 || u >= world.users.length) throw new RangeError(`replayPolicy: user index ${u} out of range`);
    sink.j = j;
    st.loadFrom(u, world.truth.endState);
    engine.seen.reset();
    for (let e = world.eventStart[u]; e < world.eventStart[u + 1]; e++) engine.seen.add(world.events.item[e]);
    const rng = root.fork(u);
    engine.continuation(st, world.endTs, rng);
    if (fromTs > world.endTs) {
      engine.run(u, st, rng, world.endTs, fromTs, logging, nullSink);
      engine.continuation(st, fromTs, rng);
    }
    outcomes.subscribedAtStart[j] = st.subscribed ? 1 : 0;
    engine.run(u, st, rng, fromTs, toTs, source, sink);
    outcomes.subscribedAtEnd[j] = st.subscribed ? 1 : 0;
    if ((j & 1023) === 1023) progress.tick(1024);
  }
  progress.finish();

  let plays = 0;
  let aff = 0;
  let rev = 0;
  let days = 0;
  let subs = 0;
  let churned = 0;
  for (let j = 0; j < n; j++) {
    plays += outcomes.plays[j];
    aff += outcomes.affinitySum[j];
    rev += outcomes.revenue[j];
    days += outcomes.activeDays[j];
    if (outcomes.subscribedAtStart[j]) {
      subs += 1;
      churned += outcomes.churned[j];
    }
  }
  const churnRate = subs > 0 ? churned / subs : 0;
  return {
    fromTs,
    toTs,
    events: sink.events.finish(),
    payments: sink.payments.finish(),
    outcomes,
    summary: {
      users: n,
      subscribedAtStart: subs,
      plays,
      playsPerUser: n > 0 ? plays / n : 0,
      meanAffinity: plays > 0 ? aff / plays : NaN,
      churnRate,
      retention: 1 - churnRate,
      revenuePerUser: n > 0 ? rev / n : 0,
      activeDaysPerUser: n > 0 ? days / n : 0,
    },
  };
}
