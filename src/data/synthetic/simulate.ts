/**
 * `generateWorld`: catalogue, population, then every user's timeline under the logging policy.
 * Users are independent and each draws from its own stream (`sessionStreams(seed).fork(u)`), so
 * contiguous user ranges can be simulated on worker threads and concatenated: the world is
 * identical whatever the thread count.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { quietLogger, type Logger } from "../../util/log";
import { Rng } from "../../util/rng";
import { EpisodeBuffer, EventBuffer, PaymentBuffer, PeriodBuffer } from "./buffers";
import { generateCatalog, type Catalog } from "./catalog";
import { validateWorldConfig, worldSizes, type WorldConfig, type WorldConfigInput } from "./config";
import { allocEndState, Engine, SimState, type Model, type Sink } from "./engine";
import { LoggingSlates } from "./policy";
import { generatePopulation, type Population } from "./population";
import { DAY, parseIsoDate } from "./time";
import type { EndState, EpisodeArrays, EventArrays, PaymentArrays, PeriodArrays, World, WorldSummary } from "./types";

/** Options for {@link generateWorld}. */
export interface GenerateOptions {
  logger?: Logger;
  /**
   * Worker threads for the user simulation (default: all cores for worlds of 20k+ users, else 1).
   * The result does not depend on it.
   */
  threads?: number;
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

/** Catalogue, population and the simulator's model of a config (cheap next to the simulation). */
export interface WorldBase {
  cfg: WorldConfig;
  cat: Catalog;
  pop: Population;
  model: Model;
}

/** Draws the catalogue and the population (everything except the timelines). */
export function buildWorldBase(cfg: WorldConfig): WorldBase {
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
  return { cfg, cat, pop, model };
}

/** The timelines of users [from, to): what one thread produces. */
export interface RangeResult {
  from: number;
  to: number;
  events: EventArrays;
  /** plays per user of the range */
  eventCounts: Int32Array;
  payments: PaymentArrays;
  periods: Omit<PeriodArrays, "userStart">;
  periodCounts: Int32Array;
  episodes: EpisodeArrays;
  /** end state of users [from, to), indexed from 0 */
  endState: EndState;
  returns: number;
  subscribedAtStart: number;
}

/** Simulates users [from, to) under the logging policy. `onProgress` gets the number of users done. */
export function simulateRange(model: Model, from: number, to: number, onProgress?: (done: number) => void): RangeResult {
  const engine = new Engine(model);
  const slates = new LoggingSlates(model);
  const sink = new RecordingSink();
  const n = to - from;
  const endState = allocEndState(n);
  const eventCounts = new Int32Array(n);
  const periodCounts = new Int32Array(n);
  const streams = sessionStreams(model.cfg.seed);
  const st = new SimState();
  let subscribedAtStart = 0;
  for (let u = from; u < to; u++) {
    const e0 = sink.events.length;
    const p0 = sink.periods.length;
    engine.initState(u, st);
    if (st.subscribed) subscribedAtStart += 1;
    engine.seen.reset();
    engine.run(u, st, streams.fork(u), model.startTs, model.endTs, slates, sink);
    engine.closeOpenPeriod(u, st, sink);
    st.saveTo(u - from, endState);
    eventCounts[u - from] = sink.events.length - e0;
    periodCounts[u - from] = sink.periods.length - p0;
    if (onProgress && ((u - from) & 1023) === 1023) onProgress(u - from + 1);
  }
  if (onProgress) onProgress(n);
  const periods = sink.periods.finish(new Int32Array(0));
  return {
    from,
    to,
    events: sink.events.finish(),
    eventCounts,
    payments: sink.payments.finish(),
    periods: {
      length: periods.length,
      user: periods.user,
      start: periods.start,
      end: periods.end,
      satisfaction: periods.satisfaction,
      hazard: periods.hazard,
      outcome: periods.outcome,
    },
    periodCounts,
    episodes: sink.episodes.finish(),
    endState,
    returns: sink.returns,
    subscribedAtStart,
  };
}

/** Every typed array's buffer in a range result (moved, not copied, between threads). */
export function rangeBuffers(r: RangeResult): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  const add = (o: object) => {
    for (const v of Object.values(o)) if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer && !out.includes(v.buffer)) out.push(v.buffer);
  };
  add(r.events);
  add(r.payments);
  add(r.periods);
  add(r.episodes);
  add(r.endState);
  out.push(r.eventCounts.buffer as ArrayBuffer, r.periodCounts.buffer as ArrayBuffer);
  return out;
}

/** How the worker script can be loaded from here: compiled JS, or the TypeScript source through tsx (tests). */
function workerEntry(): { target: string; evalCode: boolean } | null {
  const js = path.join(__dirname, "worker.js");
  if (fs.existsSync(js)) return { target: js, evalCode: false };
  const ts = path.join(__dirname, "worker.ts");
  if (!fs.existsSync(ts)) return null;
  try {
    const tsx = require.resolve("tsx/cjs", { paths: [__dirname] });
    return { target: `require(${JSON.stringify(tsx)}); require(${JSON.stringify(ts)});`, evalCode: true };
  } catch {
    return null;
  }
}

/** Message a worker posts when done. */
export type WorkerReply = { ok: true; result: RangeResult } | { ok: false; error: string };

/** Shared-memory slots per worker: [done flag, users simulated (−1 before the worker starts)]. */
export const WORKER_SLOTS = 2;

/**
 * Simulates ranges on worker threads and waits synchronously (Atomics.wait + receiveMessageOnPort),
 * so `generateWorld` stays a plain function. A worker that does not start or stalls is replaced
 * by computing its range on this thread.
 */
function simulateParallel(base: WorldBase, threads: number, log: Logger): RangeResult[] {
  const entry = workerEntry();
  const n = base.model.nUsers;
  const bounds: number[] = [];
  for (let t = 0; t <= threads; t++) bounds.push(Math.round((n * t) / threads));
  if (!entry) {
    log.warn("synthetic worker script not found; simulating on one thread");
    return [simulateRange(base.model, 0, n)];
  }
  log.debug("synthetic workers started", { workers: threads });
  const shared = new Int32Array(new SharedArrayBuffer(4 * WORKER_SLOTS * threads));
  // progress slot = −1 until the worker has loaded and started simulating
  for (let t = 0; t < threads; t++) shared[t * WORKER_SLOTS + 1] = -1;
  const workers: { worker: Worker; port: MessageChannel["port1"] }[] = [];
  for (let t = 0; t < threads; t++) {
    const ch = new MessageChannel();
    const worker = new Worker(entry.target, {
      eval: entry.evalCode,
      workerData: { config: base.cfg, from: bounds[t], to: bounds[t + 1], slot: t, shared: shared.buffer, port: ch.port2 },
      transferList: [ch.port2],
    });
    workers.push({ worker, port: ch.port1 });
  }
  const progress = log.progress("simulating users", n);
  const results: (RangeResult | null)[] = new Array(threads).fill(null);
  const lastSeen = new Int32Array(threads).fill(-2);
  const lastChange = new Array<number>(threads).fill(Date.now());
  let reported = 0;
  const START_MS = 30_000;
  const STALL_MS = 120_000;
  try {
    for (;;) {
      let pending = 0;
      let done = 0;
      for (let t = 0; t < threads; t++) {
        if (results[t]) {
          done += bounds[t + 1] - bounds[t];
          continue;
        }
        const count = Atomics.load(shared, t * WORKER_SLOTS + 1);
        if (count > 0) done += count;
        if (count !== lastSeen[t]) {
          lastSeen[t] = count;
          lastChange[t] = Date.now();
        }
        if (Atomics.load(shared, t * WORKER_SLOTS) === 1) {
          const msg = receiveMessageOnPort(workers[t].port);
          const reply = msg?.message as WorkerReply | undefined;
          if (!reply) throw new Error(`synthetic worker ${t} finished without a result`);
          if (!reply.ok) throw new Error(`synthetic worker ${t} failed: ${reply.error}`);
          results[t] = reply.result;
          continue;
        }
        if (Date.now() - lastChange[t] > (count < 0 ? START_MS : STALL_MS)) {
          log.warn("synthetic worker stalled; simulating its users on the main thread", { worker: t });
          void workers[t].worker.terminate();
          results[t] = simulateRange(base.model, bounds[t], bounds[t + 1]);
          continue;
        }
        pending += 1;
      }
      if (done > reported) {
        progress.tick(done - reported);
        reported = done;
      }
      if (pending === 0) break;
      // Sleep until some worker flips its done flag (or 200 ms pass, for progress and stall checks).
      for (let t = 0; t < threads; t++) {
        if (!results[t]) {
          Atomics.wait(shared, t * WORKER_SLOTS, 0, 200);
          break;
        }
      }
    }
  } finally {
    for (const w of workers) {
      w.port.close();
      void w.worker.terminate();
    }
  }
  progress.finish();
  return results as RangeResult[];
}

function concat<T extends Int32Array | Float64Array | Float32Array | Uint8Array>(parts: T[], make: (n: number) => T): T {
  if (parts.length === 1) return parts[0];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = make(n);
  let off = 0;
  for (const p of parts) {
    out.set(p as never, off);
    off += p.length;
  }
  return out;
}

/**
 * Generates a world from a config (validated; a partial config is merged over the defaults).
 * Deterministic: the same config gives identical arrays on every run, platform and thread count.
 */
export function generateWorld(config: WorldConfigInput = {}, opts: GenerateOptions = {}): World {
  const cfg = validateWorldConfig(config);
  const log = opts.logger ?? quietLogger;
  const t0 = Date.now();
  const base = buildWorldBase(cfg);
  const { cat, pop, model } = base;
  const nUsers = model.nUsers;
  const nItems = model.nItems;
  const auto = nUsers >= 20_000 ? Math.min(os.availableParallelism(), 8) : 1;
  const threads = Math.max(1, Math.min(opts.threads ?? auto, nUsers));
  let parts: RangeResult[];
  if (threads > 1) {
    parts = simulateParallel(base, threads, log);
  } else {
    const progress = log.progress("simulating users", nUsers);
    let last = 0;
    parts = [
      simulateRange(model, 0, nUsers, (done) => {
        progress.tick(done - last);
        last = done;
      }),
    ];
    progress.finish();
  }

  const f64 = (n: number) => new Float64Array(n);
  const f32 = (n: number) => new Float32Array(n);
  const i32 = (n: number) => new Int32Array(n);
  const u8 = (n: number) => new Uint8Array(n);
  const pick = <T>(f: (r: RangeResult) => T) => parts.map(f);
  const eventsParts = pick((r) => r.events);
  const events: EventArrays = {
    length: eventsParts.reduce((s, e) => s + e.length, 0),
    user: concat(eventsParts.map((e) => e.user), i32),
    item: concat(eventsParts.map((e) => e.item), i32),
    ts: concat(eventsParts.map((e) => e.ts), f64),
    rating: concat(eventsParts.map((e) => e.rating), f32),
    watchFraction: concat(eventsParts.map((e) => e.watchFraction), f32),
    eventType: concat(eventsParts.map((e) => e.eventType), u8),
  };
  const eventStart = new Int32Array(nUsers + 1);
  const periodStart = new Int32Array(nUsers + 1);
  for (const r of parts) {
    for (let j = 0; j < r.to - r.from; j++) {
      eventStart[r.from + j + 1] = eventStart[r.from + j] + r.eventCounts[j];
      periodStart[r.from + j + 1] = periodStart[r.from + j] + r.periodCounts[j];
    }
  }
  const payParts = pick((r) => r.payments);
  const payments: PaymentArrays = {
    length: payParts.reduce((s, p) => s + p.length, 0),
    user: concat(payParts.map((p) => p.user), i32),
    ts: concat(payParts.map((p) => p.ts), f64),
    amount: concat(payParts.map((p) => p.amount), f64),
  };
  const perParts = pick((r) => r.periods);
  const periods: PeriodArrays = {
    length: perParts.reduce((s, p) => s + p.length, 0),
    user: concat(perParts.map((p) => p.user), i32),
    start: concat(perParts.map((p) => p.start), f64),
    end: concat(perParts.map((p) => p.end), f64),
    satisfaction: concat(perParts.map((p) => p.satisfaction), f64),
    hazard: concat(perParts.map((p) => p.hazard), f64),
    outcome: concat(perParts.map((p) => p.outcome), u8),
    userStart: periodStart,
  };
  const epParts = pick((r) => r.episodes);
  const episodes: EpisodeArrays = {
    length: epParts.reduce((s, p) => s + p.length, 0),
    user: concat(epParts.map((p) => p.user), i32),
    churnTs: concat(epParts.map((p) => p.churnTs), f64),
    returnTs: concat(epParts.map((p) => p.returnTs), f64),
  };
  const es = pick((r) => r.endState);
  const endState: EndState = {
    subscribed: concat(es.map((e) => e.subscribed), u8),
    satisfaction: concat(es.map((e) => e.satisfaction), f64),
    anchorTs: concat(es.map((e) => e.anchorTs), f64),
    renewals: concat(es.map((e) => e.renewals), i32),
    periodStartTs: concat(es.map((e) => e.periodStartTs), f64),
    nextBillTs: concat(es.map((e) => e.nextBillTs), f64),
    pendingStartTs: concat(es.map((e) => e.pendingStartTs), f64),
    pendingIsSignup: concat(es.map((e) => e.pendingIsSignup), u8),
    lastChurnTs: concat(es.map((e) => e.lastChurnTs), f64),
    lastItem: concat(es.map((e) => e.lastItem), i32),
  };
  const subscribedAtStart = parts.reduce((a, r) => a + r.subscribedAtStart, 0);
  parts.length = 0;

  let rated = 0;
  for (let e = 0; e < events.length; e++) if (events.rating[e] === events.rating[e]) rated++;
  let revenue = 0;
  for (let p = 0; p < payments.length; p++) revenue += payments.amount[p];
  let subscribedAtEnd = 0;
  for (let u = 0; u < nUsers; u++) subscribedAtEnd += endState.subscribed[u];
  let newReleases = 0;
  for (let i = 0; i < nItems; i++) if (cat.releaseTs[i] >= model.startTs) newReleases++;
  const summary: WorldSummary = {
    users: nUsers,
    items: nItems,
    events: events.length,
    ratedEvents: rated,
    payments: payments.length,
    revenue: Math.round(revenue * 100) / 100,
    churnEpisodes: episodes.length,
    returns: eps(episodes),
    subscribedAtStart,
    subscribedAtEnd,
    newReleases,
  };
  log.info("synthetic world generated", { ...summary, threads, seconds: (Date.now() - t0) / 1000 });
  return {
    config: cfg,
    startTs: model.startTs,
    endTs: model.endTs,
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

/** Returns among the churn episodes (rows whose return time is known). */
function eps(e: EpisodeArrays): number {
  let r = 0;
  for (let j = 0; j < e.length; j++) if (e.returnTs[j] === e.returnTs[j]) r++;
  return r;
}
