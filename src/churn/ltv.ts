/**
 * Per-user lifetime value over a horizon, with intervals, for the revenue-at-risk radar.
 *
 * **Contractual (subscription payments)**: a covariate shifted-beta-geometric model (src/value/sbg.ts;
 * Fader & Hardie 2007, 2010) is fitted on the renewals observed between t_s − L months and the
 * scoring cutoff t_s, every subscriber at t_s − L starting a "cohort at period 0" with covariates
 * measured then (the churn model's raw log-odds and log price, standardised). At t_s each
 * subscriber's next renewal fails with the calibrated churn probability p (from the churn model),
 * and later renewals follow the user's sBG retention r_j = (β+j−1)/(α+β+j−1), j ≥ 2. With price c,
 * K payment dates in (t_s, t_s + horizon) and monthly discount d:
 *
 *   value if retained   V⁺ = c · Σ_{k=1..K} (1+d)^−(k−1) · Π_{j=2..k} r_j
 *   win-back value      V⁻ = c · Σ_{m≥1} f_m Σ_{k≥0, m+k<K} (1+d)^−(m+k) S(k)   (returns after churning)
 *   expected LTV        = (1−p)·V⁺ + p·V⁻
 *   revenue at risk     = p · (V⁺ − V⁻)        (gross: p · V⁺)
 *
 * f_m is the Kaplan–Meier probability (Kaplan & Meier 1958) that a lapsed subscriber pays again in
 * month m after the missed due date, estimated from lapses before t_s; S(k) the user's sBG survival
 * from a fresh start. With `horizon_months: null` V⁺ is the discounted expected residual lifetime
 * (FH 2010, `sbgDerl`) and win-backs are ignored.
 *
 * **Non-contractual (per-transaction revenue)**: BG/NBD + Gamma-Gamma (Fader, Hardie & Lee 2005) on
 * transactions ≤ t_s gives the horizon CLV; value if retained = CLV / P(alive) and revenue at risk =
 * p · CLV / P(alive).
 *
 * **Intervals** reflect estimation uncertainty, not outcome randomness: B joint draws of (a) the
 * value-model parameters from their Laplace (asymptotic normal) approximation at the MLE and (b) the
 * calibration map refitted on a bootstrap resample of the calibration cutoff; per-user and total
 * intervals are the central quantiles of the draws.
 *
 * The legacy heuristic (avg monthly revenue × min(1/monthly churn, cap), src/value/heuristic.ts) is
 * computed alongside as a named baseline.
 */
import { addMonths, DAY } from "../data/synthetic/time";
import { quantileSorted } from "../eval/classification";
import { InputError, NtgError } from "../util/errors";
import { Rng } from "../util/rng";
import {
  bgNbdLogLikelihood,
  bgNbdModel,
  bgNbdProbabilityAlive,
  customerLifetimeValue,
  fitBgNbd,
  fitGammaGamma,
  fitSbgCovariates,
  gammaGammaConditionalExpectedSpendAll,
  lbeta,
  legacyHeuristicLtvAll,
  rfmSummary,
  sbgCovariateParams,
  type BgNbdParams,
  type SbgCovariateFit,
} from "../value";
import type { ChurnConfig } from "./config";
import { lastAtOrBefore, type ChurnData } from "./data";
import { buildChurnFeatures, type FeatureGroups } from "./features";
import { gbdtDecision } from "./gbdt";
import { nextDue, subscriberAt, type LabelSpec } from "./labels";
import { choleskySolve, logisticDecision } from "./logistic";
import { applyCalibrator, fitCalibrator, iso, type FittedModel, type Scores } from "./model";

const MONTH = 30.436875 * DAY;

/** Per-user values (aligned with the scored users) and per-draw matrices for totals. */
export interface LtvResult {
  method: "sbg-covariate" | "sbg-constant" | "bgnbd-gamma-gamma" | "none";
  horizonMonths: number | null;
  /** horizon end (unix seconds; NaN for an unbounded horizon) */
  horizonEnd: number;
  users: Int32Array;
  price: Float64Array;
  /** calibrated churn probability used (the scores' p) */
  p: Float64Array;
  ltv: Float64Array;
  ltvLo: Float64Array;
  ltvHi: Float64Array;
  valueIfRetained: Float64Array;
  valueAfterChurn: Float64Array;
  revenueAtRisk: Float64Array;
  rarLo: Float64Array;
  rarHi: Float64Array;
  revenueAtRiskGross: Float64Array;
  pLo: Float64Array;
  pHi: Float64Array;
  legacyLtv: Float64Array;
  /** per-draw values: draws × users (for segment totals with intervals) */
  rarDraws: Float64Array[];
  ltvDraws: Float64Array[];
  level: number;
  info: Record<string, unknown>;
  warnings: string[];
}

/** Numerical Hessian of f at x by central differences (f is O(n) per call; x is small). */
export function numericalHessian(f: (x: Float64Array) => number, x: Float64Array): Float64Array {
  const m = x.length;
  const H = new Float64Array(m * m);
  const h = Float64Array.from(x, (v) => 1e-4 * Math.max(1, Math.abs(v)));
  const y = Float64Array.from(x);
  const at = (i: number, di: number, j: number, dj: number): number => {
    y.set(x);
    y[i] += di;
    y[j] += dj;
    return f(y);
  };
  const f0 = f(x);
  for (let i = 0; i < m; i++) {
    H[i * m + i] = (at(i, h[i], i, 0) - 2 * f0 + at(i, -h[i], i, 0)) / (h[i] * h[i]);
    for (let j = 0; j < i; j++) {
      const v = (at(i, h[i], j, h[j]) - at(i, h[i], j, -h[j]) - at(i, -h[i], j, h[j]) + at(i, -h[i], j, -h[j])) / (4 * h[i] * h[j]);
      H[i * m + j] = v;
      H[j * m + i] = v;
    }
  }
  return H;
}

/**
 * Draws from N(mean, H⁻¹) (Laplace approximation at an optimum with Hessian H of the negative
 * log-likelihood). Returns null when H is not positive definite (no interval then).
 */
export function laplaceDraws(mean: Float64Array, H: Float64Array, draws: number, rng: Rng): Float64Array[] | null {
  const m = mean.length;
  // Σ = H⁻¹ column by column, then its Cholesky factor
  const S = new Float64Array(m * m);
  for (let c = 0; c < m; c++) {
    const e = new Float64Array(m);
    e[c] = 1;
    const col = choleskySolve(H, e, m);
    if (!col) return null;
    for (let r = 0; r < m; r++) S[r * m + c] = col[r];
  }
  const L = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0.5 * (S[i * m + j] + S[j * m + i]);
      for (let k = 0; k < j; k++) s -= L[i * m + k] * L[j * m + k];
      if (i === j) {
        if (!(s > 0)) return null;
        L[i * m + i] = Math.sqrt(s);
      } else L[i * m + j] = s / L[j * m + j];
    }
  }
  const out: Float64Array[] = [];
  const z = new Float64Array(m);
  for (let b = 0; b < draws; b++) {
    for (let i = 0; i < m; i++) z[i] = rng.normal();
    const v = Float64Array.from(mean);
    for (let i = 0; i < m; i++) for (let k = 0; k <= i; k++) v[i] += L[i * m + k] * z[k];
    out.push(v);
  }
  return out;
}

/**
 * Kaplan–Meier return curve of lapsed subscribers: F(m) = P(pays again within m months of the
 * missed due date), m = 0..months, from lapses whose grace period ended by `until`. Returns also
 * the number of lapses and returns seen.
 */
export function winbackCurve(d: ChurnData, until: number, graceDays: number, months: number): { F: Float64Array; lapses: number; returns: number } {
  const grace = graceDays * DAY;
  const times: number[] = [];
  const events: number[] = [];
  for (let u = 0; u < d.nUsers; u++) {
    const s = d.payStart[u];
    const e = lastAtOrBefore(d.payTs, s, d.payStart[u + 1], until) + 1;
    for (let i = s; i < e; i++) {
      const due = nextDue(d.payTs[i]);
      if (due + grace > until) break;
      const next = i + 1 < e ? d.payTs[i + 1] : Infinity;
      if (next <= due + grace) continue;
      // lapse at `due`; return at `next` (if seen by `until`)
      if (next <= until) {
        times.push(next - due);
        events.push(1);
      } else {
        times.push(until - due);
        events.push(0);
      }
    }
  }
  const order = Array.from(times.keys()).sort((a, b) => times[a] - times[b] || events[b] - events[a]);
  const F = new Float64Array(months + 1);
  let surv = 1;
  let atRisk = times.length;
  let k = 0;
  let returns = 0;
  for (let m = 1; m <= months; m++) {
    const tEnd = m * MONTH;
    while (k < order.length && times[order[k]] <= tEnd) {
      const t = times[order[k]];
      let ev = 0;
      let tot = 0;
      while (k < order.length && times[order[k]] === t) {
        ev += events[order[k]];
        tot++;
        k++;
      }
      if (atRisk > 0 && ev > 0) surv *= 1 - ev / atRisk;
      returns += ev;
      atRisk -= tot;
    }
    F[m] = 1 - surv;
  }
  for (; k < order.length; k++) returns += events[order[k]];
  return { F, lapses: times.length, returns };
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function rawLogit(fm: FittedModel, X: Float64Array, n: number): Float64Array {
  return fm.model.kind === "logistic" ? logisticDecision(fm.model, X, n) : gbdtDecision(fm.model, X, n);
}

/** Payment dates of each scored user in (t_s, horizonEnd): K_i (one due date a month from the last payment). */
function paymentsInHorizon(d: ChurnData, users: Int32Array, ts: number, horizonEnd: number): { K: Int32Array; price: Float64Array } {
  const K = new Int32Array(users.length);
  const price = new Float64Array(users.length);
  for (let r = 0; r < users.length; r++) {
    const u = users[r];
    const k = lastAtOrBefore(d.payTs, d.payStart[u], d.payStart[u + 1], ts);
    const pr = d.monthlyPrice[u];
    price[r] = k >= d.payStart[u] ? d.payAmount[k] : pr === pr ? pr : 0;
    if (k < d.payStart[u]) continue;
    let c = 0;
    for (let m = 1; m < 1200; m++) {
      if (!(addMonths(d.payTs[k], m) < horizonEnd)) break;
      c++;
    }
    K[r] = c;
  }
  return { K, price };
}

/** Renewal outcomes from `from` to `to` of the subscribers at `from` (the covariate-sBG data). */
function renewalsBetween(d: ChurnData, users: Int32Array, from: number, to: number, graceDays: number): { periods: Float64Array; churned: Uint8Array } {
  const grace = graceDays * DAY;
  const periods = new Float64Array(users.length);
  const churned = new Uint8Array(users.length);
  for (let r = 0; r < users.length; r++) {
    const u = users[r];
    const end = d.payStart[u + 1];
    let j = lastAtOrBefore(d.payTs, d.payStart[u], end, from);
    let renewals = 0;
    for (;;) {
      const due = nextDue(d.payTs[j]);
      if (due + grace > to) break;
      if (j + 1 < end && d.payTs[j + 1] <= due + grace && d.payTs[j + 1] <= to) {
        j++;
        renewals++;
      } else {
        churned[r] = 1;
        renewals++;
        break;
      }
    }
    periods[r] = renewals;
  }
  return { periods, churned };
}

/** Negative penalised covariate-sBG log-likelihood at θ = [w0, w…, log φ] (the objective of fitSbgCovariates × n). */
function sbgCovNll(theta: Float64Array, periods: Float64Array, churned: Uint8Array, cov: Float64Array[], ridge: number): number {
  const p = cov.length;
  const phi = Math.exp(theta[p + 1]);
  let ll = 0;
  for (let i = 0; i < periods.length; i++) {
    let eta = theta[0];
    for (let j = 0; j < p; j++) eta += theta[j + 1] * cov[j][i];
    const mu = sigmoid(eta);
    const a = Math.max(mu * phi, 1e-300);
    const b = Math.max((1 - mu) * phi, 1e-300);
    const t = periods[i];
    ll += churned[i] ? lbeta(a + 1, b + t - 1) - lbeta(a, b) : t === 0 ? 0 : lbeta(a, b + t) - lbeta(a, b);
  }
  let pen = 0;
  for (let j = 1; j <= p; j++) pen += theta[j] * theta[j];
  return -ll + ridge * pen;
}

function quantiles(draws: Float64Array[], n: number, level: number): { lo: Float64Array; hi: Float64Array } {
  const lo = new Float64Array(n);
  const hi = new Float64Array(n);
  if (draws.length < 2) return { lo: lo.fill(NaN), hi: hi.fill(NaN) };
  const col = new Float64Array(draws.length);
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < draws.length; b++) col[b] = draws[b][i];
    col.sort();
    lo[i] = quantileSorted(col, (1 - level) / 2);
    hi[i] = quantileSorted(col, (1 + level) / 2);
  }
  return { lo, hi };
}

/** Calibrated-probability draws: the calibration map refitted on bootstrap resamples of the calibration cutoff. */
function probabilityDraws(fm: FittedModel, calY: Float64Array, pRaw: Float64Array, draws: number, rng: Rng): Float64Array[] {
  const out: Float64Array[] = [];
  const n = calY.length;
  const method = fm.calibrator.method;
  for (let b = 0; b < draws; b++) {
    if (method === "none") {
      out.push(applyCalibrator(fm.calibrator, pRaw));
      continue;
    }
    const idx = Int32Array.from({ length: n }, () => rng.int(n));
    const y = Float64Array.from(idx, (i) => calY[i]);
    let pos = 0;
    for (const v of y) pos += v;
    if (pos === 0 || pos === n) {
      out.push(applyCalibrator(fm.calibrator, pRaw));
      continue;
    }
    out.push(applyCalibrator(fitCalibrator(method, y, Float64Array.from(idx, (i) => fm.calRaw[i])), pRaw));
  }
  return out;
}

/** The sBG value terms for one user: V⁺ and V⁻ under retention (α, β), first-renewal churn replaced by the churn model. */
export function subscriptionValues(alpha: number, beta: number, K: number, price: number, disc: number, winbackF: Float64Array | null): { retained: number; afterChurn: number } {
  // V⁺: the payment at renewal 1, then survival through renewals 2..k
  let retained = 0;
  let surv = 1;
  let df = 1;
  for (let k = 1; k <= K; k++) {
    if (k >= 2) surv *= (beta + k - 1) / (alpha + beta + k - 1);
    retained += df * surv;
    df /= 1 + disc;
  }
  let after = 0;
  if (winbackF && K >= 2) {
    // fresh-start survival S(k), k = 0..K−2
    const S = new Float64Array(K);
    S[0] = 1;
    for (let k = 1; k < K; k++) S[k] = S[k - 1] * ((beta + k - 1) / (alpha + beta + k - 1));
    for (let m = 1; m < K; m++) {
      const fm = winbackF[Math.min(m, winbackF.length - 1)] - winbackF[Math.min(m - 1, winbackF.length - 1)];
      if (!(fm > 0)) continue;
      let v = 0;
      for (let k = 0; m + k < K; k++) v += Math.pow(1 + disc, -(m + k)) * S[k];
      after += fm * v;
    }
  }
  return { retained: price * retained, afterChurn: price * after };
}

/**
 * DERL just before renewal 2 (one renewal made): Σ_{t≥2} S(t)/S(1)·(1+d)^−(t−2) (FH 2010 eq. 6 with
 * n = 2), summed directly. Equals `sbgDerl(p, 1, d)`, whose ₂F₁ series converges very slowly when
 * α+β is huge (a near-geometric fit); the direct sum converges geometrically through the discount.
 */
export function derlAfterFirstRenewal(alpha: number, beta: number, disc: number): number {
  if (!(disc > 0)) throw new NtgError(`DERL needs a discount rate > 0, got ${disc}`);
  let s = 0;
  let term = 1;
  for (let t = 2; t < 1_000_000; t++) {
    term *= (beta + t - 1) / (alpha + beta + t - 1);
    s += term;
    if (term < 1e-13 * s) break;
    term /= 1 + disc;
  }
  return s;
}

/** Options of {@link lifetimeValues}. */
export interface LtvContext {
  data: ChurnData;
  spec: LabelSpec;
  groups: FeatureGroups;
  scores: Scores;
  /** the fitted model behind the scores (for covariates and calibration draws) */
  fitted: FittedModel;
  /** labels of the calibration cutoff the model was calibrated on */
  calY: Float64Array;
  /** monthly churn rate for the legacy heuristic */
  monthlyChurnRate: number;
  seed: number;
}

function legacy(d: ChurnData, users: Int32Array, ts: number, rate: number, cap: number): Float64Array {
  const avg = new Float64Array(users.length);
  const from = ts - 90 * DAY;
  for (let r = 0; r < users.length; r++) {
    const u = users[r];
    let s = 0;
    for (let i = lastAtOrBefore(d.payTs, d.payStart[u], d.payStart[u + 1], ts); i >= d.payStart[u] && d.payTs[i] > from; i--) s += d.payAmount[i];
    for (let i = lastAtOrBefore(d.txTs, d.txStart[u], d.txStart[u + 1], ts); i >= d.txStart[u] && d.txTs[i] > from; i--) s += d.txAmount[i];
    avg[r] = s / (90 / 30.436875);
  }
  return legacyHeuristicLtvAll(avg, Math.min(1, Math.max(0, rate)), { maxLifetimeMonths: cap });
}

function empty(n: number): Float64Array {
  return new Float64Array(n).fill(NaN);
}

/**
 * Lifetime value, value if retained, win-back value, revenue at risk and intervals for every
 * scored user (see the module comment). Throws an NtgError when a value model does not fit.
 */
export function lifetimeValues(ctx: LtvContext, cfg: ChurnConfig): LtvResult {
  const { data: d, scores } = ctx;
  const users = scores.features.users;
  const n = users.length;
  const ts = scores.cutoff;
  const H = cfg.ltv.horizon_months;
  const horizonEnd = H === null ? NaN : addMonths(ts, H);
  const disc = cfg.ltv.monthly_discount_rate;
  const level = cfg.ltv.interval_level;
  const B = cfg.ltv.draws;
  const rng = new Rng(ctx.seed).fork("churn-ltv");
  const warnings: string[] = [];
  const legacyLtv = legacy(d, users, ts, ctx.monthlyChurnRate, cfg.ltv.legacy_cap_months);
  const pDraws = B >= 2 ? probabilityDraws(ctx.fitted, ctx.calY, scores.pRaw, B, rng.fork("calibration")) : [];
  const pq = quantiles(pDraws, n, level);
  const base = {
    horizonMonths: H,
    horizonEnd,
    users,
    p: scores.p,
    pLo: pq.lo,
    pHi: pq.hi,
    legacyLtv,
    level,
  };

  if (d.payTs.length > 0) {
    const { K, price } = paymentsInHorizon(d, users, ts, H === null ? ts : horizonEnd);
    // ---- fit the covariate sBG on renewals in (t_s − L, t_s] ----
    // the lookback shrinks (down to 2 months) when the data does not reach that far back
    let L = cfg.ltv.fit_lookback_months;
    let from = addMonths(ts, -L);
    while (L > 2 && from < d.dataStart + MONTH) {
      L -= 1;
      from = addMonths(ts, -L);
    }
    let alpha = new Float64Array(n);
    let beta = new Float64Array(n);
    let thetaDraws: Float64Array[] | null = null;
    let method: LtvResult["method"] = "sbg-covariate";
    let info: Record<string, unknown> = {};
    let covAt: ((X: Float64Array, nn: number, prices: Float64Array) => Float64Array[]) | null = null;
    let fit: SbgCovariateFit | null = null;
    const ridge = 1e-3;
    // the cohort is every subscriber at `from`, whatever label the churn model uses
    const fromUsers: number[] = [];
    for (let u = 0; u < d.nUsers; u++) if (subscriberAt(d, u, from).subscriber) fromUsers.push(u);
    if (from >= d.dataStart + MONTH && fromUsers.length >= 20) {
      const fu = Int32Array.from(fromUsers);
      const fmFrom = buildChurnFeatures(d, from, fu, ctx.spec.graceDays, ctx.groups);
      const z0 = rawLogit(ctx.fitted, fmFrom.X, fmFrom.n);
      const lp0 = Float64Array.from(fu, (u) => {
        const k = lastAtOrBefore(d.payTs, d.payStart[u], d.payStart[u + 1], from);
        return Math.log(Math.max(1e-9, d.payAmount[k]));
      });
      const stat = (a: Float64Array) => {
        let m = 0;
        for (const v of a) m += v;
        m /= a.length;
        let s = 0;
        for (const v of a) s += (v - m) * (v - m);
        return { m, s: Math.sqrt(s / a.length) };
      };
      const sz = stat(z0);
      const sp = stat(lp0);
      if (!(sz.s > 1e-12)) sz.s = 1;
      // a single price level carries no information (and would make the design singular)
      const usePrice = sp.s > 1e-9 * Math.max(1, Math.abs(sp.m));
      const std = (a: Float64Array, st: { m: number; s: number }) => Float64Array.from(a, (v) => (v - st.m) / st.s);
      const cov0 = usePrice ? [std(z0, sz), std(lp0, sp)] : [std(z0, sz)];
      const names = usePrice ? ["churn_logit", "log_price"] : ["churn_logit"];
      const { periods, churned } = renewalsBetween(d, fu, from, ts, ctx.spec.graceDays);
      let anyChurn = false;
      for (const c of churned) if (c) anyChurn = true;
      if (anyChurn) {
        fit = fitSbgCovariates({ periods, churned, covariates: cov0 }, { ridge, names });
        if (!fit.converged) throw new NtgError(`covariate sBG did not converge after ${fit.iterations} iterations (gradient norm ${fit.gradientNorm})`);
        covAt = (X, nn, prices) => {
          const z = rawLogit(ctx.fitted, X, nn);
          const lp = Float64Array.from(prices, (v) => Math.log(Math.max(1e-9, v)));
          return usePrice ? [std(z, sz), std(lp, sp)] : [std(z, sz)];
        };
        const theta = Float64Array.from([fit.intercept, ...fit.coefficients, Math.log(fit.precision)]);
        if (B >= 2) {
          const Hs = numericalHessian((th) => sbgCovNll(th, periods, churned, cov0, ridge), theta);
          thetaDraws = laplaceDraws(theta, Hs, B, rng.fork("sbg"));
          if (!thetaDraws) warnings.push("covariate sBG: the Hessian is not positive definite; LTV intervals reflect calibration uncertainty only");
        }
        info = {
          fit_from: iso(from),
          fit_to: iso(ts),
          lookback_months: L,
          subscribers: fu.length,
          churned: churned.reduce((a, v) => a + v, 0),
          intercept: fit.intercept,
          coefficients: Object.fromEntries(names.map((nm, j) => [nm, fit!.coefficients[j]])),
          precision: fit.precision,
          log_likelihood: fit.logLikelihood,
          iterations: fit.iterations,
          covariates: names,
        };
      }
    }
    const paramsFor = (theta: Float64Array | null, cov: Float64Array[] | null) => {
      const a = new Float64Array(n);
      const b = new Float64Array(n);
      for (let r = 0; r < n; r++) {
        if (fit && cov) {
          const f = theta ? { intercept: theta[0], coefficients: theta.subarray(1, theta.length - 1), precision: Math.exp(theta[theta.length - 1]) } : fit;
          const ps = sbgCovariateParams(f, cov.map((c) => c[r]));
          a[r] = ps.alpha;
          b[r] = ps.beta;
        }
      }
      return { a, b };
    };
    let cov: Float64Array[] | null = null;
    if (fit && covAt) {
      cov = covAt(scores.features.X, n, price);
      const pr = paramsFor(null, cov);
      alpha = pr.a;
      beta = pr.b;
    } else {
      // not enough renewal history for the covariate model: constant retention at the mean churn rate (no heterogeneity)
      method = "sbg-constant";
      const r = Math.min(0.999, Math.max(1e-4, ctx.monthlyChurnRate));
      alpha.fill(r * 1e6);
      beta.fill((1 - r) * 1e6);
      warnings.push(`covariate sBG not fitted (too little renewal history before ${iso(ts)}); later renewals use the constant monthly churn rate ${r.toFixed(4)}`);
      info = { constant_monthly_churn: r };
    }
    const wb = cfg.ltv.winback && H !== null ? winbackCurve(d, ts, ctx.spec.graceDays, H) : null;
    const valuesFor = (a: Float64Array, b: Float64Array, p: Float64Array) => {
      const vr = new Float64Array(n);
      const va = new Float64Array(n);
      const ltv = new Float64Array(n);
      const rar = new Float64Array(n);
      for (let r = 0; r < n; r++) {
        let retained: number;
        let after = 0;
        if (H === null) {
          // unbounded: payment at renewal 1, then the discounted expected residual lifetime after it
          retained = price[r] * (1 + derlAfterFirstRenewal(a[r], b[r], disc) / (1 + disc));
        } else {
          const v = subscriptionValues(a[r], b[r], K[r], price[r], disc, wb ? wb.F : null);
          retained = v.retained;
          after = v.afterChurn;
        }
        vr[r] = retained;
        va[r] = after;
        ltv[r] = (1 - p[r]) * retained + p[r] * after;
        rar[r] = p[r] * (retained - after);
      }
      return { vr, va, ltv, rar };
    };
    const point = valuesFor(alpha, beta, scores.p);
    const rarDraws: Float64Array[] = [];
    const ltvDraws: Float64Array[] = [];
    for (let b = 0; b < pDraws.length; b++) {
      const pr = thetaDraws && cov ? paramsFor(thetaDraws[b], cov) : { a: alpha, b: beta };
      const v = valuesFor(pr.a, pr.b, pDraws[b]);
      rarDraws.push(v.rar);
      ltvDraws.push(v.ltv);
    }
    const rq = quantiles(rarDraws, n, level);
    const lq = quantiles(ltvDraws, n, level);
    const gross = Float64Array.from(point.vr, (v, r) => v * scores.p[r]);
    return {
      ...base,
      method,
      price,
      ltv: point.ltv,
      ltvLo: lq.lo,
      ltvHi: lq.hi,
      valueIfRetained: point.vr,
      valueAfterChurn: point.va,
      revenueAtRisk: point.rar,
      rarLo: rq.lo,
      rarHi: rq.hi,
      revenueAtRiskGross: gross,
      rarDraws,
      ltvDraws,
      info: {
        ...info,
        model: method,
        winback: wb ? { lapses: wb.lapses, returns: wb.returns, cumulative_return_probability_by_month: Array.from(wb.F) } : null,
        discount_rate_monthly: disc,
        horizon_end: H === null ? null : iso(horizonEnd),
        interval: `central ${level} of ${pDraws.length} joint draws: Laplace draws of the sBG parameters and calibration maps refitted on bootstrap resamples of the calibration cutoff`,
      },
      warnings,
    };
  }

  if (d.txTs.length > 0) {
    if (H === null) throw new InputError("churn.ltv.horizon_months must be set for transaction (non-contractual) revenue: the BG/NBD CLV sums a finite number of months");
    return transactionValues(ctx, cfg, base, rng, pDraws, warnings);
  }

  warnings.push("no revenue data (no revenue.parquet and no interactions.revenue): lifetime value and revenue at risk are unavailable");
  return {
    ...base,
    method: "none",
    price: empty(n),
    ltv: empty(n),
    ltvLo: empty(n),
    ltvHi: empty(n),
    valueIfRetained: empty(n),
    valueAfterChurn: empty(n),
    revenueAtRisk: empty(n),
    rarLo: empty(n),
    rarHi: empty(n),
    revenueAtRiskGross: empty(n),
    rarDraws: [],
    ltvDraws: [],
    info: { model: "none" },
    warnings,
  };
}

/** BG/NBD + Gamma-Gamma values for transaction revenue (see the module comment). */
function transactionValues(
  ctx: LtvContext,
  cfg: ChurnConfig,
  base: Pick<LtvResult, "horizonMonths" | "horizonEnd" | "users" | "p" | "pLo" | "pHi" | "legacyLtv" | "level">,
  rng: Rng,
  pDraws: Float64Array[],
  warnings: string[],
): LtvResult {
  const { data: d, scores } = ctx;
  const users = scores.features.users;
  const n = users.length;
  const ts = scores.cutoff;
  const H = cfg.ltv.horizon_months as number;
  const endDay = Math.floor(ts / DAY);
  const cust: number[] = [];
  const day: number[] = [];
  const amt: number[] = [];
  for (let u = 0; u < d.nUsers; u++) {
    const k = lastAtOrBefore(d.txTs, d.txStart[u], d.txStart[u + 1], ts);
    for (let i = d.txStart[u]; i <= k; i++) {
      cust.push(u);
      day.push(Math.floor(d.txTs[i] / DAY));
      amt.push(d.txAmount[i]);
    }
  }
  const rfm = rfmSummary({ customer: Int32Array.from(cust), day: Int32Array.from(day), amount: Float64Array.from(amt) }, { calibrationEnd: endDay, timeUnitDays: 7 });
  const fitRows: number[] = [];
  for (let i = 0; i < rfm.length; i++) if (rfm.T[i] > 0) fitRows.push(i);
  if (fitRows.length < 10) throw new InputError(`BG/NBD: only ${fitRows.length} customers with purchase history before ${iso(ts)}; need at least 10`);
  const sub = (a: Float64Array) => Float64Array.from(fitRows, (i) => a[i]);
  const fitData = { frequency: sub(rfm.frequency), recency: sub(rfm.recency), T: sub(rfm.T) };
  const bg = fitBgNbd(fitData);
  let spendMean = 0;
  for (const a of amt) spendMean += a;
  spendMean /= Math.max(1, amt.length);
  let spend: Float64Array;
  let ggInfo: Record<string, unknown>;
  try {
    const gg = fitGammaGamma(rfm.frequency, rfm.monetary);
    if (!(gg.params.q > 1)) throw new InputError("Gamma-Gamma: q <= 1");
    spend = gammaGammaConditionalExpectedSpendAll(gg.params, rfm.frequency, rfm.monetary);
    ggInfo = { ...gg.params };
  } catch (e) {
    if (!(e instanceof NtgError)) throw e;
    warnings.push(`Gamma-Gamma not usable (${e.message}); the mean transaction amount ${spendMean.toFixed(2)} is used for everyone`);
    spend = new Float64Array(rfm.length).fill(spendMean);
    ggInfo = { fallback_mean_spend: spendMean };
  }
  const row = new Int32Array(d.nUsers).fill(-1);
  for (let i = 0; i < rfm.length; i++) row[rfm.customer[i]] = i;
  const clvFor = (params: BgNbdParams) => {
    const idx = Array.from(users, (u) => row[u]);
    const rows = idx.filter((i) => i >= 0);
    const data = {
      frequency: Float64Array.from(rows, (i) => rfm.frequency[i]),
      recency: Float64Array.from(rows, (i) => rfm.recency[i]),
      T: Float64Array.from(rows, (i) => Math.max(rfm.T[i], 1 / 7)),
    };
    const clv = customerLifetimeValue(bgNbdModel(params), data, Float64Array.from(rows, (i) => spend[i]), {
      months: H,
      monthlyDiscountRate: cfg.ltv.monthly_discount_rate,
      unitsPerMonth: 30.436875 / 7,
    });
    const out = new Float64Array(n);
    const alive = new Float64Array(n).fill(1);
    let k = 0;
    for (let r = 0; r < n; r++) {
      if (idx[r] < 0) continue;
      out[r] = clv[k];
      alive[r] = bgNbdProbabilityAlive(params, data.frequency[k], data.recency[k], data.T[k]);
      k++;
    }
    return { clv: out, alive };
  };
  const point = clvFor(bg.params);
  const vr = Float64Array.from(point.clv, (v, r) => v / Math.max(point.alive[r], 1e-6));
  const rar = Float64Array.from(vr, (v, r) => v * scores.p[r]);
  const nDraw = Math.min(pDraws.length, 20);
  const rarDraws: Float64Array[] = [];
  const ltvDraws: Float64Array[] = [];
  if (nDraw >= 2) {
    const theta = Float64Array.from([bg.params.r, bg.params.alpha, bg.params.a, bg.params.b], Math.log);
    const nll = (th: Float64Array) => -bgNbdLogLikelihood({ r: Math.exp(th[0]), alpha: Math.exp(th[1]), a: Math.exp(th[2]), b: Math.exp(th[3]) }, fitData);
    const draws = laplaceDraws(theta, numericalHessian(nll, theta), nDraw, rng.fork("bgnbd"));
    if (!draws) warnings.push("BG/NBD: the Hessian is not positive definite; value intervals reflect calibration uncertainty only");
    for (let b = 0; b < nDraw; b++) {
      const th = draws ? draws[b] : theta;
      const v = clvFor({ r: Math.exp(th[0]), alpha: Math.exp(th[1]), a: Math.exp(th[2]), b: Math.exp(th[3]) });
      ltvDraws.push(v.clv);
      rarDraws.push(Float64Array.from(v.clv, (c, r) => (c / Math.max(v.alive[r], 1e-6)) * pDraws[b][r]));
    }
  }
  const rq = quantiles(rarDraws, n, base.level);
  const lq = quantiles(ltvDraws, n, base.level);
  const price = new Float64Array(n);
  return {
    ...base,
    method: "bgnbd-gamma-gamma",
    price,
    ltv: point.clv,
    ltvLo: lq.lo,
    ltvHi: lq.hi,
    valueIfRetained: vr,
    valueAfterChurn: new Float64Array(n),
    revenueAtRisk: rar,
    rarLo: rq.lo,
    rarHi: rq.hi,
    revenueAtRiskGross: Float64Array.from(rar),
    rarDraws,
    ltvDraws,
    info: {
      model: "bgnbd-gamma-gamma",
      bgnbd: { ...bg.params, log_likelihood: bg.logLikelihood, customers: fitRows.length },
      gamma_gamma: ggInfo,
      time_unit_days: 7,
      interval: `central ${base.level} of ${nDraw} joint draws: Laplace draws of the BG/NBD parameters and calibration maps refitted on bootstrap resamples`,
    },
    warnings,
  };
}
