import { describe, expect, it } from "vitest";
import { churnDataFromArrays, type ChurnDataInput } from "../src/churn/data";
import { buildChurnFeatures, featureGroups } from "../src/churn/features";
import { labelsAt, populationAt, type LabelSpec } from "../src/churn/labels";
import { InputError } from "../src/util/errors";
import { Rng } from "../src/util/rng";

const DAY = 86_400;
const T = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d) / 1000;

describe("activity label", () => {
  // base 2024-01-01, cutoff day 10, window 30, lookback 7
  const b = T(2024, 1, 1);
  const ev: [number, number][] = [
    [0, 1], [0, 5], [0, 9], [0, 15], [0, 60], // active, returns in the window
    [1, 2], [1, 8], // active, never again
    [2, 1], [2, 20], // last event before the lookback: not at risk
    [3, 10], [3, 40], // event exactly at t0 (counts as ≤ t0) and exactly at t0 + W (inside the window)
    [5, 41], // only after the window
  ];
  const data = churnDataFromArrays({ nUsers: 6, events: { user: ev.map((e) => e[0]), ts: ev.map((e) => b + e[1] * DAY) } });
  const spec: LabelSpec = { kind: "activity", windowDays: 30, lookbackDays: 7, graceDays: 0 };
  const t0 = b + 10 * DAY;

  it("applies the at-risk (lookback) and no-activity-in-(t0, t0+W] rules", () => {
    const l = labelsAt(data, t0, spec);
    expect(Array.from(l.atRisk)).toEqual([1, 1, 0, 1, 0, 0]);
    expect(Array.from(l.label).filter((_, u) => l.atRisk[u])).toEqual([0, 1, 0]);
    expect(l.nChurned).toBe(1);
    expect(l.observedUntil).toBe(t0 + 30 * DAY);
  });

  it("refuses a cutoff whose window passes the data's end, and a cutoff outside the data", () => {
    expect(() => labelsAt(data, b + 40 * DAY, spec)).toThrow(/after the data's last timestamp/);
    expect(() => labelsAt(data, b - 5 * DAY, spec)).toThrow(InputError);
    expect(() => labelsAt(data, b - 5 * DAY, spec)).toThrow(/outside the data range/);
  });
});

describe("contractual label from payments", () => {
  const t0 = T(2024, 3, 15);
  const pays: [number, number][] = [
    [0, T(2024, 1, 1)], [0, T(2024, 2, 1)], [0, T(2024, 3, 1)], [0, T(2024, 4, 1)], // renews on time
    [1, T(2024, 1, 1)], [1, T(2024, 2, 1)], [1, T(2024, 3, 1)], // stops paying
    [2, T(2024, 1, 10)], [2, T(2024, 2, 10)], [2, T(2024, 3, 10)], [2, T(2024, 4, 12)], // 2 days late, within grace
    [3, T(2024, 1, 20)], [3, T(2024, 2, 20)], [3, T(2024, 3, 25)], // 5 days late: lapsed, even though back later
    [4, T(2024, 1, 10)], [4, T(2024, 2, 10)], // past due at t0 (due 10 Mar): not a subscriber
    [5, T(2024, 3, 14)], [5, T(2024, 4, 14)], // due exactly at t0 + 30 days: at risk, renews
    [6, T(2024, 3, 15)], // paid at t0: subscriber, next due after the window: not at risk
  ];
  const data = churnDataFromArrays({
    nUsers: 8,
    events: { user: [7], ts: [T(2024, 6, 30)] },
    payments: { user: pays.map((p) => p[0]), ts: pays.map((p) => p[1]), amount: pays.map(() => 9.99) },
  });
  const spec: LabelSpec = { kind: "contractual", windowDays: 30, lookbackDays: 30, graceDays: 3 };

  it("labels a missed or late (beyond grace) renewal as churn", () => {
    const l = labelsAt(data, t0, spec);
    expect(Array.from(l.population)).toEqual([1, 1, 1, 1, 0, 1, 1, 0]);
    expect(Array.from(l.atRisk)).toEqual([1, 1, 1, 1, 0, 1, 0, 0]);
    expect([0, 1, 2, 3, 5].map((u) => l.label[u])).toEqual([0, 1, 0, 1, 0]);
    expect(l.observedUntil).toBe(t0 + 33 * DAY);
  });

  it("follows every renewal due in a longer window", () => {
    // W = 60: user 0 paid 1 Apr but the 1 May renewal never came
    const l = labelsAt(data, t0, { ...spec, windowDays: 60 });
    expect(l.atRisk[0]).toBe(1);
    expect(l.label[0]).toBe(1);
    // user 6 (paid at t0) now has a renewal due in the window and never paid it
    expect(l.atRisk[6]).toBe(1);
    expect(l.label[6]).toBe(1);
  });

  it("populationAt matches the labelled population", () => {
    expect(Array.from(populationAt(data, t0, spec))).toEqual(Array.from(labelsAt(data, t0, spec).population));
  });
});

/** A random world-like table: sessions of plays, monthly payment chains with lapses, a few purchases. */
function randomInput(seed: number, nUsers = 60, days = 200): ChurnDataInput {
  const rng = new Rng(seed);
  const b = T(2024, 1, 1);
  const ev = { user: [] as number[], ts: [] as number[], weight: [] as number[], rating: [] as number[] };
  const pay = { user: [] as number[], ts: [] as number[], amount: [] as number[] };
  const tx = { user: [] as number[], ts: [] as number[], amount: [] as number[] };
  for (let u = 0; u < nUsers; u++) {
    const k = 1 + rng.int(80);
    for (let e = 0; e < k; e++) {
      ev.user.push(u);
      ev.ts.push(b + rng.int(days * DAY));
      ev.weight.push(Math.round(rng.uniform() * 1000) / 1000);
      ev.rating.push(rng.uniform() < 0.3 ? 1 + rng.int(5) : NaN);
    }
    let t = b + rng.int(40 * DAY);
    while (t < b + days * DAY) {
      pay.user.push(u);
      pay.ts.push(t);
      pay.amount.push(9.99);
      const d = new Date(t * 1000);
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()) / 1000 + (rng.uniform() < 0.1 ? 20 * DAY : 0);
    }
    if (rng.uniform() < 0.5) {
      tx.user.push(u);
      tx.ts.push(b + rng.int(days * DAY));
      tx.amount.push(5 + rng.int(20));
    }
  }
  return {
    nUsers,
    events: ev,
    payments: pay,
    transactions: tx,
    signupTs: Array.from({ length: nUsers }, () => b - rng.int(400) * DAY),
    plan: Array.from({ length: nUsers }, (_, u) => (u % 3 === 0 ? "basic" : "premium")),
    monthlyPrice: Array.from({ length: nUsers }, (_, u) => (u % 3 === 0 ? 7.99 : 15.49)),
  };
}

describe("features never read after t0", () => {
  it("moving or deleting any post-t0 event, payment or purchase leaves every feature byte-identical", () => {
    const inp = randomInput(3);
    const t0 = T(2024, 1, 1) + 100 * DAY + 12_345;
    const d1 = churnDataFromArrays(inp);
    const users = Int32Array.from({ length: inp.nUsers }, (_, u) => u);
    const f1 = buildChurnFeatures(d1, t0, users, 3, featureGroups(d1));
    // perturb everything after t0: shift forward by a random amount, drop a third
    const rng = new Rng(99);
    const perturb = (tab: { user: number[]; ts: number[] } & Record<string, number[]>) => {
      const out: Record<string, number[]> = {};
      for (const k of Object.keys(tab)) out[k] = [];
      for (let i = 0; i < tab.ts.length; i++) {
        const after = tab.ts[i] > t0;
        if (after && rng.uniform() < 0.33) continue;
        for (const k of Object.keys(tab)) out[k].push(k === "ts" && after ? t0 + 1 + rng.int(90 * DAY) : tab[k][i]);
      }
      return out;
    };
    const inp2: ChurnDataInput = {
      ...inp,
      events: perturb(inp.events as never) as never,
      payments: perturb(inp.payments as never) as never,
      transactions: perturb(inp.transactions as never) as never,
    };
    const d2 = churnDataFromArrays(inp2);
    const f2 = buildChurnFeatures(d2, t0, users, 3, featureGroups(d2));
    expect(f2.names).toEqual(f1.names);
    expect(Buffer.from(f2.X.buffer).equals(Buffer.from(f1.X.buffer))).toBe(true);
    // …while the labels, which read after t0, did change
    const spec: LabelSpec = { kind: "activity", windowDays: 30, lookbackDays: 30, graceDays: 3 };
    expect(Array.from(labelsAt(d2, t0, spec).label)).not.toEqual(Array.from(labelsAt(d1, t0, spec).label));
    for (let i = 0; i < f1.X.length; i++) expect(Number.isFinite(f1.X[i])).toBe(true);
  });
});
