/**
 * Shapes of a generated world. Everything is struct-of-arrays over dense 0-based indices: no
 * per-event objects, so 20M+ plays fit in a few hundred MB and move to DuckDB in bulk.
 */
import type { PlanConfig, WorldConfig } from "./config";

/**
 * Play events. Each row is one play; a play may carry a rating (NaN when unrated), so there is
 * a single event type: `eventType` is all 0 (= "play") and exists so other sources can add codes.
 * Rows are in user-major order (all of user 0's plays in time order, then user 1's, …);
 * `writeWorld` sorts by time.
 */
export interface EventArrays {
  length: number;
  /** 0-based user index */
  user: Int32Array;
  /** 0-based item index */
  item: Int32Array;
  /** unix seconds (whole seconds) */
  ts: Float64Array;
  /** stars in {0.5, 1, …, 5}, NaN when the play was not rated */
  rating: Float32Array;
  /** share of the title watched, in (0, 1], 3 decimals */
  watchFraction: Float32Array;
  /** event type code: 0 = play (see {@link EVENT_TYPES}) */
  eventType: Uint8Array;
}

/** Names of the event type codes. */
export const EVENT_TYPES: readonly string[] = ["play"];

/** Subscription payments: one row per successful charge (sign-up, each renewal, each return). */
export interface PaymentArrays {
  length: number;
  user: Int32Array;
  /** unix seconds of the charge */
  ts: Float64Array;
  amount: Float64Array;
}

/** The public catalogue (what a streaming service's item table would hold). */
export interface WorldItems {
  length: number;
  titles: string[];
  /** CSR genre lists: item i has genreIds[genreStart[i] .. genreStart[i+1]), primary first; ids index `World.genres` */
  genreStart: Int32Array;
  genreIds: Int32Array;
  /** unix seconds of UTC midnight on the release day */
  releaseTs: Float64Array;
  releaseYear: Int32Array;
  runtimeMinutes: Float32Array;
}

/** The public user table. */
export interface WorldUsers {
  length: number;
  /** first subscription (may precede the simulated period) */
  signupTs: Float64Array;
  /** index into `World.plans` */
  plan: Int32Array;
  monthlyPrice: Float64Array;
}

/** One row per billing period that reached its renewal decision inside the simulated period, plus each subscription's open period at the end. */
export interface PeriodArrays {
  length: number;
  user: Int32Array;
  /** period start (sign-up, return or previous renewal) */
  start: Float64Array;
  /** the renewal moment that closes the period */
  end: Float64Array;
  /** satisfaction at the renewal decision (at the world's end for open periods) */
  satisfaction: Float64Array;
  /** probability of cancelling at `end` */
  hazard: Float64Array;
  /** 0 = renewed, 1 = churned at `end`, 2 = still open when the simulation ended */
  outcome: Uint8Array;
  /** rows of user u are [userStart[u], userStart[u+1]) in time order */
  userStart: Int32Array;
}

/** Churn episodes: one row per cancellation; `returnTs` is NaN when the user had not come back by the end. */
export interface EpisodeArrays {
  length: number;
  user: Int32Array;
  churnTs: Float64Array;
  returnTs: Float64Array;
}

/** Each user's simulator state when the world ends: where `replayPolicy` picks up. */
export interface EndState {
  subscribed: Uint8Array;
  satisfaction: Float64Array;
  /** start of the current subscription (billing anchor) */
  anchorTs: Float64Array;
  /** renewals completed in the current subscription */
  renewals: Int32Array;
  periodStartTs: Float64Array;
  nextBillTs: Float64Array;
  /** pending (re)subscription moment for users not subscribed (Infinity if none) */
  pendingStartTs: Float64Array;
  /** 1 when the pending start is the first sign-up rather than a return */
  pendingIsSignup: Uint8Array;
  lastChurnTs: Float64Array;
  lastItem: Int32Array;
}

/** Ground truth: the latent variables and hidden processes. Only evaluation may read it. */
export interface WorldTruth {
  dim: number;
  /** users × dim */
  taste: Float64Array;
  /** items × dim */
  itemVectors: Float64Array;
  /** genres × dim unit vectors */
  genrePrototypes: Float64Array;
  genreWeights: Float64Array;
  favoriteGenre: Int32Array;
  /** Zipf popularity weights (sum 1) and their standardized logs */
  popularity: Float64Array;
  popularityZ: Float64Array;
  /** baseline active-day probability */
  activity: Float64Array;
  frailty: Float64Array;
  ratingPropensity: Float64Array;
  ratingBias: Float64Array;
  initialSatisfaction: Float64Array;
  periods: PeriodArrays;
  episodes: EpisodeArrays;
  endState: EndState;
}

/** Counts describing a world (also written to truth/world.json). */
export interface WorldSummary {
  users: number;
  items: number;
  events: number;
  ratedEvents: number;
  payments: number;
  revenue: number;
  churnEpisodes: number;
  returns: number;
  subscribedAtStart: number;
  subscribedAtEnd: number;
  newReleases: number;
}

/** A generated world: public tables, ground truth, and the config that produced it. */
export interface World {
  config: WorldConfig;
  /** unix seconds of the first simulated day's midnight (UTC) */
  startTs: number;
  /** exclusive end: startTs + days·86400 */
  endTs: number;
  days: number;
  genres: string[];
  plans: PlanConfig[];
  items: WorldItems;
  users: WorldUsers;
  /** plays, user-major; user u's rows are [eventStart[u], eventStart[u+1]) */
  events: EventArrays;
  eventStart: Int32Array;
  payments: PaymentArrays;
  truth: WorldTruth;
  summary: WorldSummary;
}
