/**
 * Churn features at a cutoff t0, computed only from events, payments and transactions with
 * timestamp ≤ t0 and from static user attributes (signup time, plan, price). Everything later is
 * never read: each user's timeline is cut with a binary search for the last row ≤ t0 and scanned
 * backwards, so moving or deleting any post-t0 row leaves every feature bit-identical.
 *
 * The set mirrors what drives churn in subscription services: recency/frequency of use and its
 * trend (RFM-style, Fader, Hardie & Lee 2005), engagement quality (watch completion, ratings),
 * tenure and early-life risk, habitual usage over the whole observed history (light users cancel
 * more: usage and renewal share a latent commitment, Ascarza & Hardie 2013), price/plan, and
 * billing history (renewal count, past lapses).
 * Missing values are imputed with population values at t0 so the matrix is NaN-free.
 */
import { DAY } from "../data/synthetic/time";
import { lastAtOrBefore, type ChurnData } from "./data";
import { nextDue } from "./labels";

/** A dense row-major feature matrix for a list of users at one cutoff. */
export interface FeatureMatrix {
  names: string[];
  /** rows */
  n: number;
  /** columns */
  p: number;
  /** row-major n × p */
  X: Float64Array;
  /** user id of each row */
  users: Int32Array;
  cutoff: number;
}

const MONTH = 30.436875 * DAY;
/** EMA weight per play: a satisfaction-like running average of watch completion. */
const EMA_ALPHA = 0.15;
/** Inactivity gap that starts a new session (seconds). */
const SESSION_GAP = 30 * 60;

/** Which optional feature groups the data supports. */
export interface FeatureGroups {
  payments: boolean;
  transactions: boolean;
  price: boolean;
  signup: boolean;
  plans: string[];
}

/** Feature groups available in `d` (payments, transactions, price, signup, plans with ≥ 2 levels). */
export function featureGroups(d: ChurnData): FeatureGroups {
  let price = false;
  let signup = false;
  for (let u = 0; u < d.nUsers && !(price && signup); u++) {
    if (d.monthlyPrice[u] === d.monthlyPrice[u]) price = true;
    if (d.signupTs[u] === d.signupTs[u]) signup = true;
  }
  return { payments: d.payTs.length > 0, transactions: d.txTs.length > 0, price, signup, plans: d.planNames.length >= 2 ? d.planNames : [] };
}

/** Feature names, in column order, for the given groups. */
export function featureNames(g: FeatureGroups): string[] {
  const names = [
    "log_recency_days",
    "log_events_7d",
    "log_events_30d",
    "log_events_90d",
    "active_days_30d",
    "active_days_90d",
    "activity_trend",
    "events_per_active_day_30d",
    "gap_max_90d_days",
    "gap_mean_last10_days",
    "log_sessions_30d",
    "plays_per_session_90d",
    "watch_mean_30d",
    "watch_ema",
    "watch_last5",
    "low_watch_share_30d",
    "rating_mean_90d",
    "rated_share_90d",
    "log_tenure_days",
    "log_active_day_rate_life",
  ];
  if (g.payments) names.push("log_spell_months", "early_renewal", "days_to_due", "past_lapses", "log_payments");
  if (g.price) names.push("log_monthly_price");
  for (const p of g.plans) names.push(`plan_${p.replace(/[^A-Za-z0-9_-]/g, "_")}`);
  if (g.transactions) names.push("log_revenue_90d", "log_transactions_90d", "log_days_since_transaction");
  return names;
}

/** Population means at t0 used to impute users without the needed history (weight and rating of events ≤ t0). */
function globalMeans(d: ChurnData, t0: number): { weight: number; rating: number } {
  let sw = 0;
  let nw = 0;
  let sr = 0;
  let nr = 0;
  for (let u = 0; u < d.nUsers; u++) {
    const s = d.eventStart[u];
    const k = lastAtOrBefore(d.eventTs, s, d.eventStart[u + 1], t0);
    for (let i = s; i <= k; i++) {
      sw += d.eventWeight[i];
      nw++;
      const r = d.eventRating[i];
      if (r === r) {
        sr += r;
        nr++;
      }
    }
  }
  return { weight: nw ? sw / nw : 0.5, rating: nr ? sr / nr : 0 };
}

/**
 * Contractual history of user u at t0 from payments ≤ t0: the current spell's start (chain of
 * payments each within a month + grace of the previous), the number of lapses before it, the
 * next due date and the payment count. A chain that reaches back to the first observed payment
 * with a known earlier sign-up is taken to run since sign-up (the data starts mid-subscription).
 */
function spellAt(d: ChurnData, u: number, t0: number, graceDays: number, dataStart: number): { spellStart: number; lapses: number; due: number; payments: number } {
  const s = d.payStart[u];
  const k = lastAtOrBefore(d.payTs, s, d.payStart[u + 1], t0);
  if (k < s) return { spellStart: NaN, lapses: 0, due: NaN, payments: 0 };
  const grace = graceDays * DAY;
  let lapses = 0;
  let start = k;
  let spellDone = false;
  for (let i = k; i > s; i--) {
    const broke = d.payTs[i] > nextDue(d.payTs[i - 1]) + grace;
    if (broke) {
      lapses++;
      spellDone = true;
    } else if (!spellDone) start = i - 1;
  }
  let spellStart = d.payTs[start];
  const sig = d.signupTs[u];
  if (start === s && sig === sig && sig < spellStart && spellStart <= dataStart + MONTH + grace) spellStart = sig;
  return { spellStart, lapses, due: nextDue(d.payTs[k]), payments: k - s + 1 };
}

/**
 * Builds the feature matrix of `users` at cutoff t0 (see {@link featureNames} for the columns).
 * Reads only rows with timestamp ≤ t0.
 */
export function buildChurnFeatures(d: ChurnData, t0: number, users: Int32Array, graceDays: number, groups: FeatureGroups = featureGroups(d)): FeatureMatrix {
  const names = featureNames(groups);
  const p = names.length;
  const n = users.length;
  const X = new Float64Array(n * p);
  const gm = globalMeans(d, t0);
  // the observed history begins at the first timestamp ≤ t0 (a later row cannot move it)
  const dataStart = d.dataStart;
  const t7 = t0 - 7 * DAY;
  const t30 = t0 - 30 * DAY;
  const t90 = t0 - 90 * DAY;
  for (let r = 0; r < n; r++) {
    const u = users[r];
    const o = r * p;
    const s = d.eventStart[u];
    const k = lastAtOrBefore(d.eventTs, s, d.eventStart[u + 1], t0);
    const has = k >= s;
    const sig = d.signupTs[u];
    const known = sig === sig && sig <= t0;
    const firstSeen = Math.max(dataStart, known ? sig : dataStart);
    // ---- recency, frequency, active days, gaps (backwards scan over the last 90 days) ----
    let e7 = 0;
    let e30 = 0;
    let e90 = 0;
    let ad30 = 0;
    let ad90 = 0;
    let lastDay = Number.NaN;
    let gapMax = 0;
    let prevTs = t0;
    let w30 = 0;
    let low30 = 0;
    let rSum = 0;
    let rN = 0;
    let sess30 = 0;
    let sess90 = 0;
    let laterTs = Infinity;
    for (let i = k; i >= s && d.eventTs[i] > t90; i--) {
      const ts = d.eventTs[i];
      e90++;
      if (ts > t30) {
        e30++;
        w30 += d.eventWeight[i];
        if (d.eventWeight[i] < 0.3) low30++;
        if (ts > t7) e7++;
      }
      // sessions: runs of events less than 30 minutes apart (the usual web-analytics inactivity rule)
      if (laterTs - ts > SESSION_GAP) {
        sess90++;
        if (ts > t30) sess30++;
      }
      laterTs = ts;
      const day = Math.floor(ts / DAY);
      if (day !== lastDay) {
        ad90++;
        if (ts > t30) ad30++;
        lastDay = day;
      }
      if (prevTs - ts > gapMax) gapMax = prevTs - ts;
      prevTs = ts;
      const rt = d.eventRating[i];
      if (rt === rt) {
        rSum += rt;
        rN++;
      }
    }
    // the gap back to the start of the 90-day window (or of the user's observed history)
    const windowStart = Math.max(t90, firstSeen);
    if (prevTs - windowStart > gapMax) gapMax = prevTs - windowStart;
    const recency = has ? t0 - d.eventTs[k] : t0 - firstSeen;
    let gapSum = 0;
    let gapN = 0;
    for (let i = k; i > s && i > k - 10; i--) {
      gapSum += d.eventTs[i] - d.eventTs[i - 1];
      gapN++;
    }
    let last5 = 0;
    let n5 = 0;
    for (let i = k; i >= s && n5 < 5; i--) {
      last5 += d.eventWeight[i];
      n5++;
    }
    let ema = Number.NaN;
    for (let i = s; i <= k; i++) ema = ema === ema ? ema + EMA_ALPHA * (d.eventWeight[i] - ema) : d.eventWeight[i];
    let c = 0;
    X[o + c++] = Math.log1p(Math.max(0, recency) / DAY);
    X[o + c++] = Math.log1p(e7);
    X[o + c++] = Math.log1p(e30);
    X[o + c++] = Math.log1p(e90);
    X[o + c++] = ad30;
    X[o + c++] = ad90;
    X[o + c++] = Math.log((e30 + 1) / ((e90 - e30) / 2 + 1));
    X[o + c++] = ad30 > 0 ? e30 / ad30 : 0;
    X[o + c++] = Math.max(0, gapMax) / DAY;
    X[o + c++] = gapN > 0 ? gapSum / gapN / DAY : Math.max(0, recency) / DAY;
    X[o + c++] = Math.log1p(sess30);
    X[o + c++] = sess90 > 0 ? e90 / sess90 : 0;
    X[o + c++] = e30 > 0 ? w30 / e30 : n5 > 0 ? last5 / n5 : gm.weight;
    X[o + c++] = ema === ema ? ema : gm.weight;
    X[o + c++] = n5 > 0 ? last5 / n5 : gm.weight;
    X[o + c++] = e30 > 0 ? low30 / e30 : 0;
    X[o + c++] = rN > 0 ? rSum / rN : gm.rating;
    X[o + c++] = e90 > 0 ? rN / e90 : 0;
    let firstTs = has ? d.eventTs[s] : t0;
    const ps = d.payStart[u];
    if (d.payStart[u + 1] > ps && d.payTs[ps] < firstTs) firstTs = d.payTs[ps];
    X[o + c++] = Math.log1p(Math.max(0, t0 - (known ? sig : firstTs)) / DAY);
    // habitual usage: distinct active days per observed day over the whole history up to t0
    let lifeDays = 0;
    let prevDay = Number.NaN;
    for (let i = s; i <= k; i++) {
      const day = Math.floor(d.eventTs[i] / DAY);
      if (day !== prevDay) {
        lifeDays++;
        prevDay = day;
      }
    }
    const observedDays = Math.max(1, (t0 - firstSeen) / DAY);
    X[o + c++] = Math.log((lifeDays + 0.5) / observedDays);
    // ---- billing history ----
    if (groups.payments) {
      const sp = spellAt(d, u, t0, graceDays, dataStart);
      const subscribed = sp.spellStart === sp.spellStart;
      const spellMonths = subscribed ? Math.max(0, t0 - sp.spellStart) / MONTH : 0;
      const nextRenewal = subscribed ? Math.round((sp.due - sp.spellStart) / MONTH) : 0;
      X[o + c++] = Math.log1p(spellMonths);
      X[o + c++] = subscribed && nextRenewal <= 2 ? 1 : 0;
      X[o + c++] = subscribed ? (sp.due - t0) / DAY : 0;
      X[o + c++] = sp.lapses;
      X[o + c++] = Math.log1p(sp.payments);
    }
    if (groups.price) {
      const pr = d.monthlyPrice[u];
      X[o + c++] = pr === pr && pr > 0 ? Math.log(pr) : 0;
    }
    for (let j = 0; j < groups.plans.length; j++) X[o + c++] = d.plan[u] === d.planNames.indexOf(groups.plans[j]) ? 1 : 0;
    if (groups.transactions) {
      const ts0 = d.txStart[u];
      const kt = lastAtOrBefore(d.txTs, ts0, d.txStart[u + 1], t0);
      let rev = 0;
      let cnt = 0;
      for (let i = kt; i >= ts0 && d.txTs[i] > t90; i--) {
        rev += d.txAmount[i];
        cnt++;
      }
      X[o + c++] = Math.log1p(Math.max(0, rev));
      X[o + c++] = Math.log1p(cnt);
      X[o + c++] = Math.log1p((kt >= ts0 ? t0 - d.txTs[kt] : t0 - firstSeen) / DAY);
    }
  }
  return { names, n, p, X, users: Int32Array.from(users), cutoff: t0 };
}

/** One column of a feature matrix by name (a copy). */
export function featureColumn(m: FeatureMatrix, name: string): Float64Array {
  const j = m.names.indexOf(name);
  if (j < 0) throw new Error(`feature '${name}' not in the matrix`);
  const out = new Float64Array(m.n);
  for (let r = 0; r < m.n; r++) out[r] = m.X[r * m.p + j];
  return out;
}
