/**
 * Exploratory statistics of an interaction log: ratings, user activity, item popularity (Zipf
 * fit, power-law MLE, Lorenz curve, Gini), temporal density, return behaviour, genres and
 * cold-start segments. The statistics are pure functions of typed arrays; `computeEda` reads
 * the canonical Parquet with DuckDB and assembles them into one report.
 */
import { Duck, parquet } from "./duck";
import { loadInteractionArrays } from "./load";

/** Numbers accepted by the statistics: typed arrays or plain arrays. */
export type NumericArray = ArrayLike<number>;

const DAY = 86_400;

/** Events per id for dense integer ids: `out[id]` = occurrences of `id`; length max id + 1 unless `size` is given. */
export function countBy(ids: ArrayLike<number>, size?: number): Int32Array {
  let n = size ?? 0;
  if (size === undefined) for (let i = 0; i < ids.length; i++) if (ids[i] + 1 > n) n = ids[i] + 1;
  const out = new Int32Array(n);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= n || !Number.isInteger(id)) throw new RangeError(`countBy: id ${id} at row ${i} is outside 0..${n - 1}`);
    out[id] += 1;
  }
  return out;
}

/** Quantile of ascending-sorted data, linear interpolation (numpy's default); NaN when empty. */
function quantileOf(sorted: NumericArray, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (q <= 0) return sorted[0];
  if (q >= 1) return sorted[n - 1];
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

function sortedFinite(values: NumericArray): Float64Array {
  let k = 0;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) out[k++] = values[i];
  return out.subarray(0, k).sort();
}

// ---------------------------------------------------------------------------------------------
// Ratings

/** Distribution of explicit ratings over their distinct levels. */
export interface RatingDistribution {
  /** distinct rating values, ascending */
  levels: number[];
  /** events per level */
  counts: number[];
  /** counts / rated */
  shares: number[];
  /** events with a rating */
  rated: number;
  /** events without one (NaN) */
  unrated: number;
  mean: number | null;
  median: number | null;
  std: number | null;
}

/** Rating distribution; NaN means "no rating" (implicit event) and is counted separately. */
export function ratingDistribution(rating: NumericArray): RatingDistribution {
  const byLevel = new Map<number, number>();
  let rated = 0;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < rating.length; i++) {
    const r = rating[i];
    if (!Number.isFinite(r)) continue;
    rated++;
    sum += r;
    sumSq += r * r;
    byLevel.set(r, (byLevel.get(r) ?? 0) + 1);
  }
  const levels = [...byLevel.keys()].sort((a, b) => a - b);
  const counts = levels.map((l) => byLevel.get(l) as number);
  let median: number | null = null;
  if (rated > 0) {
    // The median from the level counts avoids sorting every rating.
    const at = (k: number): number => {
      let acc = 0;
      for (let j = 0; j < levels.length; j++) {
        acc += counts[j];
        if (k < acc) return levels[j];
      }
      return levels[levels.length - 1];
    };
    median = rated % 2 === 1 ? at((rated - 1) / 2) : (at(rated / 2 - 1) + at(rated / 2)) / 2;
  }
  const mean = rated > 0 ? sum / rated : null;
  return {
    levels,
    counts,
    shares: counts.map((c) => c / rated),
    rated,
    unrated: rating.length - rated,
    mean,
    median,
    std: rated > 1 && mean !== null ? Math.sqrt(Math.max(0, (sumSq - rated * mean * mean) / (rated - 1))) : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Activity spread

/** Spread of events per unit (user or item). */
export interface ActivitySpread {
  /** units with at least one event */
  units: number;
  events: number;
  min: number;
  max: number;
  mean: number;
  /** quantiles of events per unit (linear interpolation) */
  quantiles: { p10: number; p25: number; p50: number; p75: number; p90: number; p99: number };
  /** share of units with fewer than 5 events */
  shareBelow5: number;
  /** share of units with 100 or more events */
  shareAtLeast100: number;
}

/** Quantiles and tail shares of events per unit; units with zero events are left out (they are not in the log). */
export function activitySpread(counts: NumericArray): ActivitySpread {
  const pos: number[] = [];
  for (let i = 0; i < counts.length; i++) if (counts[i] > 0) pos.push(counts[i]);
  const sorted = Float64Array.from(pos).sort();
  const n = sorted.length;
  let events = 0;
  let below5 = 0;
  let atLeast100 = 0;
  for (const c of sorted) {
    events += c;
    if (c < 5) below5++;
    if (c >= 100) atLeast100++;
  }
  const q = (p: number) => quantileOf(sorted, p);
  return {
    units: n,
    events,
    min: n ? sorted[0] : NaN,
    max: n ? sorted[n - 1] : NaN,
    mean: n ? events / n : NaN,
    quantiles: { p10: q(0.1), p25: q(0.25), p50: q(0.5), p75: q(0.75), p90: q(0.9), p99: q(0.99) },
    shareBelow5: n ? below5 / n : NaN,
    shareAtLeast100: n ? atLeast100 / n : NaN,
  };
}

// ---------------------------------------------------------------------------------------------
// Popularity: rank–frequency, Zipf, power-law MLE

/** Positive counts sorted in decreasing order: frequency at rank 1, 2, ... */
export function rankFrequency(counts: NumericArray): Float64Array {
  let k = 0;
  const out = new Float64Array(counts.length);
  for (let i = 0; i < counts.length; i++) if (counts[i] > 0) out[k++] = counts[i];
  return out.subarray(0, k).sort().reverse();
}

/**
 * Rank–frequency points for a log–log plot, thinned to about `maxPoints` ranks evenly spaced in
 * log(rank) (rank 1 and the last rank always kept): the tail of a large catalogue would otherwise
 * put tens of thousands of overlapping points in a figure.
 */
export function rankFrequencyPoints(counts: NumericArray, maxPoints = 400): { rank: number[]; frequency: number[] } {
  const freq = rankFrequency(counts);
  const n = freq.length;
  const ranks: number[] = [];
  if (n <= maxPoints) for (let r = 1; r <= n; r++) ranks.push(r);
  else {
    const step = Math.log(n) / (maxPoints - 1);
    let last = 0;
    for (let k = 0; k < maxPoints; k++) {
      const r = Math.min(n, Math.round(Math.exp(k * step)));
      if (r > last) ranks.push((last = r));
    }
    if (last !== n) ranks.push(n);
  }
  return { rank: ranks, frequency: ranks.map((r) => freq[r - 1]) };
}

/** Options for {@link zipfFit}: which head of the rank–frequency curve to fit. */
export interface ZipfFitOptions {
  /** fit ranks 1..headRanks (takes precedence) */
  headRanks?: number;
  /** fit the top fraction of ranks, in (0, 1] */
  headFraction?: number;
  /** otherwise fit the ranks whose frequency is at least this (default 5): the low-count tail is a staircase of ties that bends any log–log line */
  minCount?: number;
}

/** A least-squares line through (ln rank, ln frequency). */
export interface ZipfFit {
  /** d ln(frequency) / d ln(rank): negative for a decaying curve */
  slope: number;
  /** Zipf exponent s = −slope (frequency ∝ rank^−s) */
  exponent: number;
  /** ln(frequency) at rank 1 according to the line */
  intercept: number;
  /** coefficient of determination of the log–log fit */
  r2: number;
  /** ranks used (1..ranksFitted) */
  ranksFitted: number;
  /** ranks with a positive count */
  ranksTotal: number;
}

/**
 * Zipf slope by ordinary least squares of ln(frequency) on ln(rank) over the head of the
 * rank–frequency curve. Simple and comparable across datasets, but a least-squares slope on
 * log–log data is biased as an estimator of a power-law exponent; see {@link powerLawMle}.
 */
export function zipfFit(counts: NumericArray, opts: ZipfFitOptions = {}): ZipfFit {
  const freq = rankFrequency(counts);
  const total = freq.length;
  let m: number;
  if (opts.headRanks !== undefined) m = Math.min(total, Math.floor(opts.headRanks));
  else if (opts.headFraction !== undefined) {
    if (!(opts.headFraction > 0 && opts.headFraction <= 1)) throw new RangeError("zipfFit: headFraction must be in (0, 1]");
    m = Math.ceil(total * opts.headFraction);
  } else {
    const minCount = opts.minCount ?? 5;
    m = 0;
    while (m < total && freq[m] >= minCount) m++;
  }
  // A line needs two points; fall back to the two most frequent ranks on tiny data.
  m = Math.min(total, Math.max(2, m));
  if (m < 2) return { slope: NaN, exponent: NaN, intercept: NaN, r2: NaN, ranksFitted: m, ranksTotal: total };
  let sx = 0;
  let sy = 0;
  for (let r = 0; r < m; r++) {
    sx += Math.log(r + 1);
    sy += Math.log(freq[r]);
  }
  const mx = sx / m;
  const my = sy / m;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let r = 0; r < m; r++) {
    const dx = Math.log(r + 1) - mx;
    const dy = Math.log(freq[r]) - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const r2 = syy > 0 ? (sxy * sxy) / (sxx * syy) : 1;
  return { slope, exponent: -slope, intercept, r2, ranksFitted: m, ranksTotal: total };
}

/** Options for {@link powerLawMle}. */
export interface PowerLawOptions {
  /** lower cut-off of the power-law tail; "auto" (default) picks the one minimising the KS distance */
  xmin?: number | "auto";
  /** with "auto", only cut-offs leaving at least this many tail observations are tried (default 10) */
  minTail?: number;
}

/** A discrete power law P(k) ∝ k^−alpha for k ≥ xmin, fitted by maximum likelihood. */
export interface PowerLawFit {
  /** exponent of the frequency distribution */
  alpha: number;
  /** asymptotic standard error (alpha − 1) / √n */
  stderr: number;
  xmin: number;
  /** observations in the tail (k ≥ xmin) */
  nTail: number;
  /** Kolmogorov–Smirnov distance between the tail and the fitted law */
  ks: number;
  /** the rank–frequency exponent implied by alpha: s = 1 / (alpha − 1) */
  zipfExponent: number;
}

/**
 * Power-law exponent of the distribution of counts (how many items have k events) by the
 * discrete maximum-likelihood approximation of Clauset, Shalizi & Newman (2009, SIAM Review 51,
 * eq. 3.7): alpha ≈ 1 + n / Σ ln(k_i / (xmin − ½)) over the n counts k_i ≥ xmin. The ½ shift is
 * their continuity correction; the approximation is accurate to about 1% for xmin ≳ 6 and
 * biased for xmin of 1–2. With xmin "auto", xmin minimises the KS distance between the empirical
 * tail and the fitted law (their §3.3), both evaluated with the same continuous approximation
 * P(K ≥ k) ≈ ((k − ½)/(xmin − ½))^(1 − alpha). A Zipf rank–frequency law with exponent s
 * corresponds to alpha = 1 + 1/s, reported as `zipfExponent` for comparison with {@link zipfFit}.
 */
export function powerLawMle(counts: NumericArray, opts: PowerLawOptions = {}): PowerLawFit {
  const xs = sortedFinite(counts).filter((v) => v >= 1);
  if (xs.length === 0) return { alpha: NaN, stderr: NaN, xmin: NaN, nTail: 0, ks: NaN, zipfExponent: NaN };
  // Distinct values with suffix sums of counts and of ln(value): each candidate xmin is then O(distinct).
  const values: number[] = [];
  const mult: number[] = [];
  for (const v of xs) {
    if (values.length && values[values.length - 1] === v) mult[mult.length - 1]++;
    else {
      values.push(v);
      mult.push(1);
    }
  }
  const D = values.length;
  const tailN = new Float64Array(D + 1);
  const tailLog = new Float64Array(D + 1);
  for (let j = D - 1; j >= 0; j--) {
    tailN[j] = tailN[j + 1] + mult[j];
    tailLog[j] = tailLog[j + 1] + mult[j] * Math.log(values[j]);
  }
  const fitAt = (xmin: number): PowerLawFit => {
    let start = 0;
    while (start < D && values[start] < xmin) start++;
    const n = tailN[start];
    const s = tailLog[start] - n * Math.log(xmin - 0.5);
    const alpha = n > 0 && s > 0 ? 1 + n / s : NaN;
    let ks = 0;
    for (let j = start; j < D; j++) {
      // Empirical P(K >= v) vs. the model's, at each distinct value.
      const model = Math.pow((values[j] - 0.5) / (xmin - 0.5), 1 - alpha);
      ks = Math.max(ks, Math.abs(tailN[j] / n - model));
    }
    return { alpha, stderr: n > 0 ? (alpha - 1) / Math.sqrt(n) : NaN, xmin, nTail: n, ks, zipfExponent: 1 / (alpha - 1) };
  };
  if (opts.xmin !== undefined && opts.xmin !== "auto") {
    if (!(opts.xmin >= 1)) throw new RangeError("powerLawMle: xmin must be >= 1");
    return fitAt(opts.xmin);
  }
  const minTail = Math.max(2, opts.minTail ?? 10);
  let best: PowerLawFit | null = null;
  for (let j = 0; j < D && tailN[j] >= minTail; j++) {
    const f = fitAt(values[j]);
    if (Number.isFinite(f.alpha) && (best === null || f.ks < best.ks)) best = f;
  }
  return best ?? fitAt(values[0]);
}

// ---------------------------------------------------------------------------------------------
// Concentration: Lorenz curve and Gini

/**
 * Gini coefficient of non-negative counts: 0 when all are equal, (n − 1)/n when one unit holds
 * everything. Computed exactly from the ascending order statistics,
 * G = 2 Σ i·x_(i) / (n Σ x) − (n + 1)/n with i = 1..n.
 */
export function gini(counts: NumericArray): number {
  const n = counts.length;
  if (n === 0) return NaN;
  const s = Float64Array.from(counts as ArrayLike<number>).sort();
  if (s[0] < 0) throw new RangeError("gini: counts must be non-negative");
  let total = 0;
  let weighted = 0;
  for (let i = 0; i < n; i++) {
    total += s[i];
    weighted += (i + 1) * s[i];
  }
  if (total === 0) return 0;
  return (2 * weighted) / (n * total) - (n + 1) / n;
}

/** Lorenz curve points, from (0, 0) to (1, 1), and the Gini coefficient. */
export interface LorenzCurve {
  /** cumulative share of units (ascending by count) */
  x: Float64Array;
  /** cumulative share of the total */
  y: Float64Array;
  gini: number;
  /** units (including those with zero count) */
  units: number;
  /** share of the total held by the top 1% / 10% / 20% of units */
  topShare: { p1: number; p10: number; p20: number };
}

/**
 * Lorenz curve of counts (e.g. events per item). With more than `maxPoints` units the curve is
 * thinned to evenly spaced units (the endpoints always kept) so figures stay small; the Gini
 * coefficient and top shares are always computed from all units.
 */
export function lorenzCurve(counts: NumericArray, opts: { maxPoints?: number } = {}): LorenzCurve {
  const n = counts.length;
  const s = Float64Array.from(counts as ArrayLike<number>).sort();
  const cum = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) cum[i + 1] = cum[i] + s[i];
  const total = cum[n];
  const maxPoints = Math.max(2, opts.maxPoints ?? 1000);
  const idx: number[] = [];
  if (n + 1 <= maxPoints) for (let i = 0; i <= n; i++) idx.push(i);
  else for (let k = 0; k < maxPoints; k++) idx.push(Math.round((k * n) / (maxPoints - 1)));
  const x = Float64Array.from(idx, (i) => (n ? i / n : 0));
  const y = Float64Array.from(idx, (i) => (total > 0 ? cum[i] / total : n ? i / n : 0));
  const top = (p: number) => {
    if (total <= 0 || n === 0) return NaN;
    const k = Math.max(1, Math.ceil(n * p));
    return (total - cum[n - k]) / total;
  };
  return { x, y, gini: gini(counts), units: n, topShare: { p1: top(0.01), p10: top(0.1), p20: top(0.2) } };
}

// ---------------------------------------------------------------------------------------------
// Time

/** Events (and active users) per UTC day and per 7-day block. */
export interface TemporalDensity {
  /** unix seconds of the first day's UTC midnight (null when there are no events) */
  firstDay: number | null;
  /** days spanned, first to last event day inclusive */
  days: number;
  /** ISO date (YYYY-MM-DD, UTC) of each day */
  dates: string[];
  /** events per day, day 0 = firstDay */
  perDay: number[];
  /** events per consecutive 7-day block starting at firstDay (not ISO weeks; the last block may be partial) */
  perWeek: number[];
  /** distinct active users per day (when user ids were given) */
  activeUsersPerDay: number[] | null;
  meanPerDay: number;
  medianPerDay: number;
  maxPerDay: number;
  /** days with at least one event */
  activeDays: number;
}

/** Temporal density of events from unix-second timestamps; optional user ids add daily active users. */
export function temporalDensity(ts: NumericArray, userId?: ArrayLike<number>): TemporalDensity {
  if (userId && userId.length !== ts.length) throw new RangeError("temporalDensity: ts and userId differ in length");
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    if (t < min) min = t;
    if (t > max) max = t;
  }
  if (!Number.isFinite(min)) {
    return { firstDay: null, days: 0, dates: [], perDay: [], perWeek: [], activeUsersPerDay: userId ? [] : null, meanPerDay: NaN, medianPerDay: NaN, maxPerDay: NaN, activeDays: 0 };
  }
  const day0 = Math.floor(min / DAY);
  const days = Math.floor(max / DAY) - day0 + 1;
  const perDay = new Array<number>(days).fill(0);
  for (let i = 0; i < ts.length; i++) perDay[Math.floor(ts[i] / DAY) - day0] += 1;
  let activeUsersPerDay: number[] | null = null;
  if (userId) {
    activeUsersPerDay = new Array<number>(days).fill(0);
    const seen = new Set<number>();
    for (let i = 0; i < ts.length; i++) {
      const d = Math.floor(ts[i] / DAY) - day0;
      // (day, user) packed into one exact integer: days < 2^21 and user ids < 2^31 stay below 2^53.
      const key = d * 2_147_483_648 + userId[i];
      if (!seen.has(key)) {
        seen.add(key);
        activeUsersPerDay[d] += 1;
      }
    }
  }
  const perWeek = new Array<number>(Math.ceil(days / 7)).fill(0);
  perDay.forEach((c, d) => (perWeek[Math.floor(d / 7)] += c));
  const sorted = Float64Array.from(perDay).sort();
  return {
    firstDay: day0 * DAY,
    days,
    dates: Array.from({ length: days }, (_, d) => new Date((day0 + d) * DAY * 1000).toISOString().slice(0, 10)),
    perDay,
    perWeek,
    activeUsersPerDay,
    meanPerDay: ts.length / days,
    medianPerDay: quantileOf(sorted, 0.5),
    maxPerDay: sorted[sorted.length - 1],
    activeDays: perDay.filter((c) => c > 0).length,
  };
}

/** Return behaviour for one window. */
export interface ReturnWindow {
  days: number;
  /** users whose first active day is at least `days` days before the last day of the log */
  eligible: number;
  /** eligible users active again on a later day within `days` days of their first active day */
  returned: number;
  /** returned / eligible */
  share: number;
}

/** Share of users who come back after their first active day. */
export interface ReturnBehaviour {
  windows: ReturnWindow[];
  users: number;
  /** users never active on a second day */
  oneDayUsers: number;
  /** median days from the first to the second active day, among users with a second day */
  medianDaysToReturn: number;
}

/**
 * Return behaviour: for each window W, among users whose first active (UTC) day d0 leaves a full
 * window before the end of the log (d0 + W ≤ last day), the share active again on some day in
 * (d0, d0 + W]. Restricting to users with a fully observed window avoids counting late sign-ups,
 * who had no time to return, as non-returners (right censoring).
 */
export function returnBehaviour(userId: ArrayLike<number>, ts: NumericArray, windows: number[] = [7, 30]): ReturnBehaviour {
  if (userId.length !== ts.length) throw new RangeError("returnBehaviour: userId and ts differ in length");
  let nUsers = 0;
  let lastDay = -Infinity;
  for (let i = 0; i < userId.length; i++) {
    if (userId[i] + 1 > nUsers) nUsers = userId[i] + 1;
    const d = Math.floor(ts[i] / DAY);
    if (d > lastDay) lastDay = d;
  }
  const first = new Float64Array(nUsers).fill(Infinity);
  for (let i = 0; i < userId.length; i++) {
    const d = Math.floor(ts[i] / DAY);
    if (d < first[userId[i]]) first[userId[i]] = d;
  }
  // Second active day per user: the smallest day after the first.
  const second = new Float64Array(nUsers).fill(Infinity);
  for (let i = 0; i < userId.length; i++) {
    const u = userId[i];
    const d = Math.floor(ts[i] / DAY);
    if (d > first[u] && d < second[u]) second[u] = d;
  }
  let users = 0;
  let oneDay = 0;
  const gaps: number[] = [];
  for (let u = 0; u < nUsers; u++) {
    if (first[u] === Infinity) continue;
    users++;
    if (second[u] === Infinity) oneDay++;
    else gaps.push(second[u] - first[u]);
  }
  const out: ReturnWindow[] = windows.map((w) => {
    let eligible = 0;
    let returned = 0;
    for (let u = 0; u < nUsers; u++) {
      if (first[u] === Infinity || first[u] + w > lastDay) continue;
      eligible++;
      if (second[u] - first[u] <= w) returned++;
    }
    return { days: w, eligible, returned, share: eligible ? returned / eligible : NaN };
  });
  return { windows: out, users, oneDayUsers: oneDay, medianDaysToReturn: quantileOf(Float64Array.from(gaps).sort(), 0.5) };
}

// ---------------------------------------------------------------------------------------------
// Cold start

/** One activity band of units. */
export interface ColdStartSegment {
  label: string;
  min: number;
  /** inclusive upper bound (Infinity for the open band) */
  max: number;
  units: number;
  shareUnits: number;
  events: number;
  shareEvents: number;
}

/** Cold-start bands of users and items. */
export interface ColdStartSegments {
  users: ColdStartSegment[];
  items: ColdStartSegment[];
  /** units listed with zero events (e.g. catalogue items never consumed) */
  zeroUsers: number;
  zeroItems: number;
}

/** The bands used by {@link coldStartSegments}: 1, 2–4, 5–19, 20+ events. */
export const COLD_START_BANDS: ReadonlyArray<{ label: string; min: number; max: number }> = [
  { label: "1", min: 1, max: 1 },
  { label: "2–4", min: 2, max: 4 },
  { label: "5–19", min: 5, max: 19 },
  { label: "20+", min: 20, max: Infinity },
];

/** Units and events per activity band; shares are of units with at least one event. */
export function segmentCounts(counts: NumericArray, bands = COLD_START_BANDS): { segments: ColdStartSegment[]; zero: number } {
  let zero = 0;
  let units = 0;
  let total = 0;
  const segs = bands.map((b) => ({ label: b.label, min: b.min, max: b.max, units: 0, shareUnits: 0, events: 0, shareEvents: 0 }));
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (c <= 0) {
      zero++;
      continue;
    }
    units++;
    total += c;
    const s = segs.find((b) => c >= b.min && c <= b.max);
    if (s) {
      s.units++;
      s.events += c;
    }
  }
  for (const s of segs) {
    s.shareUnits = units ? s.units / units : NaN;
    s.shareEvents = total ? s.events / total : NaN;
  }
  return { segments: segs, zero };
}

/** Cold-start segments: users and items with 1, 2–4, 5–19 and 20+ events. */
export function coldStartSegments(userCounts: NumericArray, itemCounts: NumericArray): ColdStartSegments {
  const u = segmentCounts(userCounts);
  const i = segmentCounts(itemCounts);
  return { users: u.segments, items: i.segments, zeroUsers: u.zero, zeroItems: i.zero };
}

/** Events by user band × item band (rows: user bands, columns: item bands, as in COLD_START_BANDS). */
export interface ColdStartMatrix {
  labels: string[];
  /** events[userBand][itemBand] */
  events: number[][];
  /** events / all events */
  shares: number[][];
}

/**
 * Where events fall between cold and warm users and items: each event is placed by its user's
 * and its item's total event counts. Shows, e.g., how much of the log is new users on new items.
 */
export function coldStartMatrix(userId: ArrayLike<number>, itemId: ArrayLike<number>, userCounts: NumericArray, itemCounts: NumericArray): ColdStartMatrix {
  if (userId.length !== itemId.length) throw new RangeError("coldStartMatrix: userId and itemId differ in length");
  const bands = COLD_START_BANDS;
  const band = (c: number) => bands.findIndex((b) => c >= b.min && c <= b.max);
  const events = bands.map(() => bands.map(() => 0));
  for (let i = 0; i < userId.length; i++) {
    const u = band(userCounts[userId[i]]);
    const it = band(itemCounts[itemId[i]]);
    if (u >= 0 && it >= 0) events[u][it] += 1;
  }
  const total = userId.length;
  return { labels: bands.map((b) => b.label), events, shares: events.map((row) => row.map((v) => (total ? v / total : NaN))) };
}

// ---------------------------------------------------------------------------------------------
// Genres (SQL)

/** Frequency of one genre. */
export interface GenreFrequency {
  genre: string;
  /** items tagged with the genre */
  items: number;
  /** events on items tagged with the genre (an event on a multi-genre item counts for each genre) */
  events: number;
  shareItems: number;
  shareEvents: number;
}

/**
 * Genre frequencies from the canonical `items.parquet` (`item_id`, `genres VARCHAR[]`) and an
 * interactions file, most-watched first (ties by name). Shares are of all items and all events,
 * so they sum to more than 1 when items carry several genres.
 */
export async function genreFrequencies(db: Duck, files: { interactions: string; items: string }): Promise<GenreFrequency[]> {
  const rows = await db.rows<{ genre: string; items: bigint | number; events: bigint | number; n_items: bigint | number; n_events: bigint | number }>(
    `WITH ev AS (SELECT item_id, count(*) AS n FROM ${parquet(files.interactions)} GROUP BY item_id),
          it AS (SELECT item_id, genres FROM ${parquet(files.items)}),
          g AS (SELECT item_id, unnest(genres) AS genre FROM it)
     SELECT g.genre, count(DISTINCT g.item_id) AS items, coalesce(sum(ev.n), 0) AS events,
            (SELECT count(*) FROM it) AS n_items, (SELECT count(*) FROM ${parquet(files.interactions)}) AS n_events
     FROM g LEFT JOIN ev ON ev.item_id = g.item_id
     WHERE g.genre IS NOT NULL AND g.genre <> ''
     GROUP BY g.genre ORDER BY events DESC, g.genre`,
  );
  return rows.map((r) => {
    const items = Number(r.items);
    const events = Number(r.events);
    return { genre: r.genre, items, events, shareItems: items / Number(r.n_items), shareEvents: Number(r.n_events) ? events / Number(r.n_events) : NaN };
  });
}

// ---------------------------------------------------------------------------------------------
// The whole report

/** Everything the EDA notebook shows, computed from one interactions file. */
export interface EdaReport {
  summary: {
    events: number;
    users: number;
    items: number;
    /** events / (users × items) */
    density: number;
    /** share of events with an explicit rating */
    ratedShare: number;
    firstTs: number | null;
    lastTs: number | null;
    spanDays: number;
  };
  ratings: RatingDistribution;
  userActivity: ActivitySpread;
  itemActivity: ActivitySpread;
  /** events per user id and per item id (dense ids) */
  userCounts: Int32Array;
  itemCounts: Int32Array;
  /** item frequencies by rank (descending) */
  rankFrequency: Float64Array;
  zipf: ZipfFit;
  powerLaw: PowerLawFit;
  lorenz: LorenzCurve;
  temporal: TemporalDensity;
  returns: ReturnBehaviour;
  coldStart: ColdStartSegments;
  /** events by user band × item band */
  coldStartMatrix: ColdStartMatrix;
  /** empty when no items file was given or no item has genres */
  genres: GenreFrequency[];
}

/** Options for {@link computeEda}. */
export interface EdaOptions {
  /** Zipf head selection (default: ranks with ≥ 5 events) */
  zipf?: ZipfFitOptions;
  /** power-law cut-off (default "auto") */
  powerLaw?: PowerLawOptions;
  /** return windows in days (default every day from 1 to 60) */
  returnWindows?: number[];
  /** Lorenz curve thinning (default 1000 points) */
  lorenzPoints?: number;
}

/**
 * Reads an interactions Parquet file (canonical columns) into typed arrays and computes the EDA
 * report; `items` (the canonical items table) adds genre frequencies and sizes the item counts
 * to the whole catalogue.
 */
export async function computeEda(db: Duck, files: { interactions: string; items?: string }, opts: EdaOptions = {}): Promise<EdaReport> {
  const a = await loadInteractionArrays(db, files.interactions);
  let nItems: number | undefined;
  if (files.items) nItems = Number(await db.scalar(`SELECT coalesce(max(item_id) + 1, 0) FROM ${parquet(files.items)}`));
  let maxItem = -1;
  for (let i = 0; i < a.length; i++) if (a.itemId[i] > maxItem) maxItem = a.itemId[i];
  const userCounts = countBy(a.userId);
  const itemCounts = countBy(a.itemId, Math.max(nItems ?? 0, maxItem + 1));
  const ratings = ratingDistribution(a.rating);
  const userActivity = activitySpread(userCounts);
  const itemActivity = activitySpread(itemCounts);
  const genres = files.items ? await genreFrequencies(db, { interactions: files.interactions, items: files.items }) : [];
  const firstTs = a.timeRange.min;
  const lastTs = a.timeRange.max;
  return {
    summary: {
      events: a.length,
      users: userActivity.units,
      items: itemActivity.units,
      density: userActivity.units && itemActivity.units ? a.length / (userActivity.units * itemActivity.units) : NaN,
      ratedShare: a.length ? ratings.rated / a.length : NaN,
      firstTs,
      lastTs,
      spanDays: firstTs !== null && lastTs !== null ? (lastTs - firstTs) / DAY : 0,
    },
    ratings,
    userActivity,
    itemActivity,
    userCounts,
    itemCounts,
    rankFrequency: rankFrequency(itemCounts),
    zipf: zipfFit(itemCounts, opts.zipf),
    powerLaw: powerLawMle(itemCounts, opts.powerLaw),
    lorenz: lorenzCurve(itemCounts, { maxPoints: opts.lorenzPoints }),
    temporal: temporalDensity(a.ts, a.userId),
    returns: returnBehaviour(a.userId, a.ts, opts.returnWindows ?? Array.from({ length: 60 }, (_, i) => i + 1)),
    coldStart: coldStartSegments(userCounts, itemCounts),
    coldStartMatrix: coldStartMatrix(a.userId, a.itemId, userCounts, itemCounts),
    genres,
  };
}

/** The headline numbers of a report, flat and JSON-friendly (what a results file records). */
export function edaHeadline(r: EdaReport): Record<string, number | null> {
  const ret = (d: number) => r.returns.windows.find((w) => w.days === d)?.share ?? null;
  const seg = (segs: ColdStartSegment[], label: string) => segs.find((s) => s.label === label)?.shareUnits ?? null;
  return {
    events: r.summary.events,
    users: r.summary.users,
    items: r.summary.items,
    density: r.summary.density,
    rated_share: r.summary.ratedShare,
    span_days: r.summary.spanDays,
    rating_mean: r.ratings.mean,
    events_per_user_median: r.userActivity.quantiles.p50,
    users_below_5_share: r.userActivity.shareBelow5,
    users_at_least_100_share: r.userActivity.shareAtLeast100,
    zipf_exponent: r.zipf.exponent,
    zipf_r2: r.zipf.r2,
    powerlaw_alpha: r.powerLaw.alpha,
    powerlaw_xmin: r.powerLaw.xmin,
    item_gini: r.lorenz.gini,
    top10pct_items_event_share: r.lorenz.topShare.p10,
    events_per_day_mean: r.temporal.meanPerDay,
    return_7d_share: ret(7),
    return_30d_share: ret(30),
    cold_users_1_event_share: seg(r.coldStart.users, "1"),
    cold_items_below_5_share: (seg(r.coldStart.items, "1") ?? 0) + (seg(r.coldStart.items, "2–4") ?? 0),
  };
}
