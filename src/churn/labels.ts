/**
 * Leakage-free churn labels at an observation cutoff t0.
 *
 * - **Activity label** (non-contractual, any event log): a user is at risk when they had an event in
 *   (t0 − lookback, t0]; churned = no event in (t0, t0 + W]. The label reads (t0, t0 + W].
 * - **Contractual label** (subscription payments, monthly billing): a user is a *subscriber* at t0
 *   when their last payment p ≤ t0 has its next due date d = p + 1 calendar month (day clamped)
 *   still ahead: d > t0. (Users already past due at t0 are left out: their outcome is partly known
 *   at t0, so including them would flatter any model.) A subscriber is *at risk* when a renewal
 *   falls due in the window, d ≤ t0 + W. Churned = some renewal due in (t0, t0 + W] did not arrive
 *   within `grace` days: walk
 *   the payment chain from p, each due date d_k = (previous payment) + 1 month; the next payment must
 *   land in (previous, d_k + grace]. The label reads (t0, t0 + W + grace].
 *
 * Features only ever read ≤ t0 (see features.ts); labels only ever read (t0, t0 + horizon], and a
 * cutoff whose horizon passes the data's end is refused, so no label looks past the data.
 */
import { addMonths, DAY } from "../data/synthetic/time";
import { InputError } from "../util/errors";
import { lastAtOrBefore, type ChurnData } from "./data";

/** Which churn definition. */
export type LabelKind = "activity" | "contractual";

/** A label definition (see the module comment). */
export interface LabelSpec {
  kind: LabelKind;
  windowDays: number;
  /** activity label: at risk = an event in the last `lookbackDays` */
  lookbackDays: number;
  /** contractual label: days a payment may arrive after its due date */
  graceDays: number;
}

/** Labels of every user at one cutoff. */
export interface CutoffLabels {
  cutoff: number;
  kind: LabelKind;
  /** 1 = scored population at t0 (subscribers / recently active users) */
  population: Uint8Array;
  /** 1 = population member whose label is observable in the window */
  atRisk: Uint8Array;
  /** 1 = churned (meaningful where atRisk = 1) */
  label: Uint8Array;
  nPopulation: number;
  nAtRisk: number;
  nChurned: number;
  /** the label reads events in (cutoff, observedUntil] */
  observedUntil: number;
}

/** Seconds of data after t0 a label reads: W days, plus the grace period for contractual labels. */
export function labelHorizonSeconds(spec: LabelSpec): number {
  return (spec.windowDays + (spec.kind === "contractual" ? spec.graceDays : 0)) * DAY;
}

function isoDate(ts: number): string {
  return Number.isFinite(ts) ? new Date(ts * 1000).toISOString().replace(".000Z", "Z") : String(ts);
}

/** Next due date of a monthly subscription after a payment at `ts`. */
export function nextDue(ts: number): number {
  return addMonths(ts, 1);
}

/**
 * Contractual state of user u at t0: index of the last payment ≤ t0 (−1 if none), its next due
 * date, and whether the user is a subscriber (that due date is after t0).
 */
export function subscriberAt(d: ChurnData, u: number, t0: number): { last: number; subscriber: boolean; due: number } {
  const lo = d.payStart[u];
  const k = lastAtOrBefore(d.payTs, lo, d.payStart[u + 1], t0);
  if (k < lo) return { last: -1, subscriber: false, due: NaN };
  const due = nextDue(d.payTs[k]);
  return { last: k, subscriber: due > t0, due };
}

/** The scored population at t0 without labels (e.g. "now"): subscribers (contractual) or recently active users (activity). */
export function populationAt(d: ChurnData, t0: number, spec: LabelSpec): Uint8Array {
  const out = new Uint8Array(d.nUsers);
  for (let u = 0; u < d.nUsers; u++) {
    if (spec.kind === "contractual") out[u] = subscriberAt(d, u, t0).subscriber ? 1 : 0;
    else {
      const k = lastAtOrBefore(d.eventTs, d.eventStart[u], d.eventStart[u + 1], t0);
      out[u] = k >= d.eventStart[u] && d.eventTs[k] > t0 - spec.lookbackDays * DAY ? 1 : 0;
    }
  }
  return out;
}

/**
 * Population, at-risk set and churn labels at cutoff t0 (see the module comment for the exact
 * rules). Throws an InputError when t0 is outside the data or its label window passes the data's end.
 */
export function labelsAt(d: ChurnData, t0: number, spec: LabelSpec): CutoffLabels {
  if (!(spec.windowDays > 0)) throw new InputError(`churn labels: window_days must be > 0, got ${spec.windowDays}`);
  const horizon = labelHorizonSeconds(spec);
  if (!(t0 >= d.dataStart && t0 <= d.dataEnd)) {
    throw new InputError(`churn labels: cutoff ${isoDate(t0)} is outside the data range [${isoDate(d.dataStart)}, ${isoDate(d.dataEnd)}]`);
  }
  if (t0 + horizon > d.dataEnd) {
    throw new InputError(
      `churn labels: cutoff ${isoDate(t0)} + label window (${horizon / DAY} days) ends at ${isoDate(t0 + horizon)}, after the data's last timestamp ${isoDate(d.dataEnd)}`,
    );
  }
  const n = d.nUsers;
  const population = populationAt(d, t0, spec);
  const atRisk = new Uint8Array(n);
  const label = new Uint8Array(n);
  const W = spec.windowDays * DAY;
  const grace = spec.graceDays * DAY;
  for (let u = 0; u < n; u++) {
    if (!population[u]) continue;
    if (spec.kind === "activity") {
      atRisk[u] = 1;
      const k = lastAtOrBefore(d.eventTs, d.eventStart[u], d.eventStart[u + 1], t0);
      // next event after t0 is k + 1 (events are sorted); churned when it is missing or after the window
      const next = k + 1;
      label[u] = next < d.eventStart[u + 1] && d.eventTs[next] <= t0 + W ? 0 : 1;
      continue;
    }
    const end = d.payStart[u + 1];
    let j = lastAtOrBefore(d.payTs, d.payStart[u], end, t0);
    let due = nextDue(d.payTs[j]);
    if (due > t0 + W) continue; // no renewal falls due in the window: not at risk
    atRisk[u] = 1;
    for (;;) {
      if (j + 1 < end && d.payTs[j + 1] <= due + grace) {
        j++;
        due = nextDue(d.payTs[j]);
        if (due > t0 + W) break;
      } else {
        label[u] = 1;
        break;
      }
    }
  }
  let nPop = 0;
  let nRisk = 0;
  let nChurn = 0;
  for (let u = 0; u < n; u++) {
    nPop += population[u];
    nRisk += atRisk[u];
    nChurn += atRisk[u] & label[u];
  }
  return { cutoff: t0, kind: spec.kind, population, atRisk, label, nPopulation: nPop, nAtRisk: nRisk, nChurned: nChurn, observedUntil: t0 + horizon };
}
