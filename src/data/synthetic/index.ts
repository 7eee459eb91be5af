/**
 * # The synthetic streaming world
 *
 * A seeded, deterministic simulator of a subscription streaming service: NTG's built-in dataset
 * and a ground truth that no public dataset has (true tastes, true churn hazards, expected
 * revenue, counterfactual replays of other recommenders).
 *
 * ## Generative story
 *
 * 1. **Genres and catalogue.** Each genre is a random unit prototype vector in a `latentDim`-space,
 *    with Gamma(2) prevalence. An item picks a main genre (by prevalence), half the items blend in a
 *    second genre (25–50%); its vector is `strength · normalize(blend) + noise`. Its 1–3 genre labels
 *    are read back off the vector (most similar prototype first, others with cosine ≥ 0.35).
 *    A `newReleaseShare` of items is released on a uniform day inside the period (never shown
 *    before), the rest is back catalogue with exponential age. Popularity is Zipf over a random rank
 *    order, `(rank+1)^-zipfExponent`. Titles like "The Silent Harbor (2023)" are drawn from word lists.
 * 2. **Users.** Taste = `strength · normalize(w·proto(g1) + (1−w)·proto(g2)) + noise` (60% of users
 *    mix two genres), so taste axes line up with genres. Active-day probability is log-normal
 *    (heavy tail); `preStartShare` of users signed up in the `preStartDays` before the start (and are
 *    subscribed at the start), the rest sign up uniformly during the period. Each has a plan (by
 *    share) and its monthly price, a log-normal churn frailty (mean 1) whose log is correlated
 *    (`commitmentCorrelation`, default 0.7) with the user's habitual inactivity — one latent
 *    commitment drives usage and renewal, so light users cancel more (Ascarza & Hardie 2013) —, a rating propensity
 *    ~ Beta(2p, 2(1−p)), a star bias, and an initial satisfaction.
 * 3. **Days and sessions.** While subscribed, a user is active on a day with probability
 *    `activity · exp(engagementSensitivity · (satisfaction − reference))` (geometric gaps); the
 *    (re)subscription day is always active. An active day has `1 + Poisson(sessionsPerActiveDay − 1)`
 *    sessions at evening-peaked times.
 * 4. **Slates (logging policy).** Each of the `slateSize` positions is filled from one source:
 *    titles released in the last `recentDays` (share `newReleaseSlots`), the genre of the user's last
 *    play (share `personalization`, "because you watched"), or the whole catalogue; all sources
 *    sample popularity^(1/temperature) from alias tables / CDFs (O(1) or O(log n) per draw) and reject
 *    unreleased, already-played and duplicate titles.
 * 5. **Plays.** The user scans the slate top-down (cascade: moves to the next position with
 *    probability `continueProbability`) and plays an examined title with probability
 *    `sigmoid(intercept + affinityWeight·affinity + popularityWeight·z(log popularity) − positionDecay·position)`,
 *    where affinity = taste · item vector. Plays run back to back within the session. Each play logs
 *    an event: timestamp (whole seconds), watch fraction `sigmoid(watchIntercept + watchAffinity·affinity + noise)`
 *    and, with the user's rating propensity, a rating `round2(mean + slope·affinity + bias + noise)/2`
 *    clipped to [0.5, 5]. Titles are never replayed (the platform hides watched titles), so
 *    (user, item) pairs are unique. There is one event type, "play", optionally carrying a rating
 *    (`rating` is NaN / NULL otherwise).
 * 6. **Satisfaction.** An exponential moving average: each play moves it toward its watch fraction
 *    (weight `playWeight`), each session with no play moves it toward 0 (weight `emptySessionWeight`).
 * 7. **Billing and churn.** Billing is monthly from the subscription anchor (same day of month,
 *    clamped). At each renewal the user cancels with
 *    `h = 1 − exp(−λ0 · frailty · exp(satisfactionSensitivity·(reference − satisfaction) + priceSensitivity·log(price / mean price)) · early)`,
 *    `λ0 = −log(1 − baseMonthlyHazard)`, `early = earlyMultiplier` for the first `earlyPeriods` renewals.
 *    Renewals and (re)subscriptions are paid (payments table); a churned user stops playing and
 *    paying, and with probability `returnProbability` returns after an exponential delay
 *    (`returnMeanDays`), paying again and with satisfaction halfway back to its initial value.
 *
 * Every component draws from its own `Rng.fork`; each user's timeline from
 * `Rng(seed).fork("sessions").fork(user)`. So worlds are identical across runs and thread counts,
 * and any user's exact state at any moment can be recomputed by re-running that user's timeline
 * up to it (`trueStateAt`, `expectedFutureRevenue`).
 *
 * ## Ground truth
 * `World.truth` holds the latent vectors and traits, every billing period's hazard and outcome,
 * churn/return episodes and the end state. `trueAffinity`, `trueHazardAt`, `trueStateAt`,
 * `expectedFutureRevenue` (Monte-Carlo by default, or the analytic "frozen" approximation) and
 * `realizedRevenue` answer evaluation questions; `replayPolicy` runs counterfactual futures under
 * another recommender (`loggingPolicy`, `oraclePolicy`, or any `SlatePolicy`).
 *
 * ## Determinism and scale
 * `generateWorld` is synchronous, keeps everything in typed arrays, and simulates user ranges on
 * worker threads for large worlds. `writeWorld` writes byte-identical Parquet for identical worlds.
 */
export { defaultWorldConfig, DEFAULT_GENRES, referencePrice, validateWorldConfig, worldSizes } from "./config";
export type { PlanConfig, WorldConfig, WorldConfigInput } from "./config";
export { generateWorld, sessionStreams } from "./simulate";
export type { GenerateOptions } from "./simulate";
export { writeWorld, WORLD_FORMAT } from "./write";
export type { WrittenWorld } from "./write";
export { replayPolicy } from "./replay";
export type { ReplayOptions, ReplayOutcomes, ReplayResult, ReplaySummary } from "./replay";
export { loggingPolicy, oraclePolicy } from "./policy";
export type { SlateContext, SlatePolicy } from "./policy";
export { expectedFutureRevenue, realizedRevenue, trueAffinity, trueAffinityMatrix, trueHazardAt, trueStateAt } from "./truth";
export type { ExpectedRevenueOptions, TrueState } from "./truth";
export { EVENT_TYPES } from "./types";
export type { EndState, EpisodeArrays, EventArrays, PaymentArrays, PeriodArrays, World, WorldItems, WorldSummary, WorldTruth, WorldUsers } from "./types";
export { addMonths, DAY, parseIsoDate } from "./time";
