/**
 * `generateWorld`: catalogue, population, then every user's timeline under the logging policy.
 */
import { quietLogger, type Logger } from "../../util/log";
import { Rng } from "../../util/rng";
import { EpisodeBuffer, EventBuffer, PaymentBuffer, PeriodBuffer } from "./buffers";
import { generateCatalog } from "./catalog";
import { validateWorldConfig, worldSizes, type WorldConfig } from "./config";
import { allocEndState, Engine, SimState, type Model, type Sink } from "./engine";
import { LoggingSlates } from "./policy";
import { generatePopulation } from "./population";
import { DAY, parseIsoDate } from "./time";
import type { World, WorldSummary } from "./types";

/** Options for {@link generateWorld}. */
export interface GenerateOptions {
  logger?: Logger;
}

/** Records everything a generation run produces. */
class RecordingSink implements Sink {
  readonly events = new EventBuffer();
  readonly payments = new PaymentBuffer();
  readonly periods = new PeriodBuffer();
  readonly episodes = new EpisodeBuffer();
  returns = 0;
  event(u: number, item: number, ts: number, rating: number, watch: number): void {
    this.events.push(u, item, ts, rating, watch);
  }
  payment(u: number, ts: number, amount: number): void {
    this.payments.push(u, ts, amount);
  }
  period(u: number, start: number, end: number, sat: number, hazard: number, outcome: number): void {
    this.periods.push(u, start, end, sat, hazard, outcome);
  }
  churn(u: number, ts: number): void {
    this.episodes.push(u, ts);
  }
  returned(_u: number, ts: number): void {
    this.episodes.markReturn(ts);
    this.returns += 1;
  }
  activeDay(): void {}
}

/** The per-user simulation streams of a world: user u always draws from `sessionStreams(seed).fork(u)`. */
export function sessionStreams(seed: number): Rng {
  return new Rng(seed).fork("sessions");
}

/**
 * Generates a world from a config (validated; a partial config is merged over the defaults).
 * Deterministic: the same config gives identical arrays on every run and platform.
 */
export function generateWorld(config: Partial<WorldConfig> | WorldConfig = {}, opts: GenerateOptions = {}): World {
  const cfg = validateWorldConfig(config);
  const log = opts.logger ?? quietLogger;
  const t0 = Date.now();
  const { users: nUsers, items: nItems } = worldSizes(cfg);
  const startTs = parseIsoDate(cfg.startDate);
  const endTs = startTs + cfg.days * DAY;
  const root = new Rng(cfg.seed);
  const cat = generateCatalog(cfg, nItems, startTs, root.fork("catalog"));
  const pop = generatePopulation(cfg, nUsers, cat, startTs, root.fork("population"));
  const model: Model = {
    cfg,
    startTs,
    endTs,
    nUsers,
    nItems,
    dim: cat.dim,
    itemVectors: cat.vectors,
    genreStart: cat.genreStart,
    genreIds: cat.genreIds,
    releaseTs: cat.releaseTs,
    popularity: cat.popularity,
    popularityZ: cat.popularityZ,
    runtimeMinutes: cat.runtimeMinutes,
    taste: pop.taste,
    activity: pop.activity,
    monthlyPrice: pop.monthlyPrice,
    frailty: pop.frailty,
    ratingPropensity: pop.ratingPropensity,
    ratingBias: pop.ratingBias,
    initialSatisfaction: pop.initialSatisfaction,
    signupTs: pop.signupTs,
  };
  const engine = new Engine(model);
  const slates = new LoggingSlates(model);
  const sink = new RecordingSink();
  const endState = allocEndState(nUsers);
  const eventStart = new Int32Array(nUsers + 1);
  const periodStart = new Int32Array(nUsers + 1);
  const streams = sessionStreams(cfg.seed);
  const st = new SimState();
  let subscribedAtStart = 0;
  const progress = log.progress("simulating users", nUsers);
  for (let u = 0; u < nUsers; u++) {
    engine.initState(u, st);
    if (st.subscribed) subscribedAtStart += 1;
    engine.seen.reset();
    engine.run(u, st, streams.fork(u), startTs, endTs, slates, sink);
    engine.closeOpenPeriod(u, st, sink);
    st.saveTo(u, endState);
    eventStart[u + 1] = sink.events.length;
    periodStart[u + 1] = sink.periods.length;
    if ((u & 1023) === 1023) progress.tick(1024);
  }
  progress.finish();

  const events = sink.events.finish();
  const payments = sink.payments.finish();
  const periods = sink.periods.finish(periodStart);
  const episodes = sink.episodes.finish();
  let rated = 0;
  for (let e = 0; e < events.length; e++) if (events.rating[e] === events.rating[e]) rated++;
  let revenue = 0;
  for (let p = 0; p < payments.length; p++) revenue += payments.amount[p];
  let subscribedAtEnd = 0;
  for (let u = 0; u < nUsers; u++) subscribedAtEnd += endState.subscribed[u];
  let newReleases = 0;
  for (let i = 0; i < nItems; i++) if (cat.releaseTs[i] >= startTs) newReleases++;
  const summary: WorldSummary = {
    users: nUsers,
    items: nItems,
    events: events.length,
    ratedEvents: rated,
    payments: payments.length,
    revenue: Math.round(revenue * 100) / 100,
    churnEpisodes: episodes.length,
    returns: sink.returns,
    subscribedAtStart,
    subscribedAtEnd,
    newReleases,
  };
  log.info("synthetic world generated", { ...summary, seconds: (Date.now() - t0) / 1000 });
  return {
    config: cfg,
    startTs,
    endTs,
    days: cfg.days,
    genres: [...cfg.genres],
    plans: cfg.plans.map((p) => ({ ...p })),
    items: {
      length: nItems,
      titles: cat.titles,
      genreStart: cat.genreStart,
      genreIds: cat.genreIds,
      releaseTs: cat.releaseTs,
      releaseYear: cat.releaseYear,
      runtimeMinutes: cat.runtimeMinutes,
    },
    users: { length: nUsers, signupTs: pop.signupTs, plan: pop.plan, monthlyPrice: pop.monthlyPrice },
    events,
    eventStart,
    payments,
    truth: {
      dim: cat.dim,
      taste: pop.taste,
      itemVectors: cat.vectors,
      genrePrototypes: cat.prototypes,
      genreWeights: cat.genreWeights,
      favoriteGenre: pop.favoriteGenre,
      popularity: cat.popularity,
      popularityZ: cat.popularityZ,
      activity: pop.activity,
      frailty: pop.frailty,
      ratingPropensity: pop.ratingPropensity,
      ratingBias: pop.ratingBias,
      initialSatisfaction: pop.initialSatisfaction,
      periods,
      episodes,
      endState,
    },
    summary,
  };
}
