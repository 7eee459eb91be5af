/** EDA statistics on hand-checkable cases. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { withDuck, sqlString } from "../src/data/duck";
import {
  activitySpread,
  coldStartSegments,
  computeEda,
  countBy,
  edaHeadline,
  genreFrequencies,
  gini,
  lorenzCurve,
  powerLawMle,
  rankFrequency,
  ratingDistribution,
  returnBehaviour,
  temporalDensity,
  zipfFit,
} from "../src/data/eda";

const DAY = 86_400;

describe("Gini and Lorenz curve", () => {
  it("is 0 for equal counts", () => {
    expect(gini([5, 5, 5, 5])).toBe(0);
    expect(gini(new Int32Array(100).fill(3))).toBeCloseTo(0, 12);
  });

  it("is (n-1)/n when one item has everything", () => {
    for (const n of [2, 5, 10, 1000]) {
      const c = new Float64Array(n);
      c[n - 1] = 42;
      expect(gini(c)).toBeCloseTo((n - 1) / n, 12);
    }
  });

  it("matches the mean-absolute-difference definition on an uneven case", () => {
    const x = [1, 2, 3, 10];
    let mad = 0;
    for (const a of x) for (const b of x) mad += Math.abs(a - b);
    const expected = mad / (2 * x.length * x.reduce((s, v) => s + v, 0));
    expect(gini(x)).toBeCloseTo(expected, 12);
    expect(gini([10, 3, 1, 2])).toBeCloseTo(expected, 12); // order does not matter
  });

  it("gives a curve from (0,0) to (1,1) with exact top shares", () => {
    const l = lorenzCurve([1, 1, 2, 4]);
    expect(Array.from(l.x)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(Array.from(l.y)).toEqual([0, 0.125, 0.25, 0.5, 1]);
    expect(l.topShare.p20).toBe(0.5); // top 1 of 4 items holds 4 of 8 events
    const big = lorenzCurve(Float64Array.from({ length: 5000 }, (_, i) => i + 1), { maxPoints: 101 });
    expect(big.x.length).toBe(101);
    expect(big.x[0]).toBe(0);
    expect(big.x[100]).toBe(1);
    expect(big.y[100]).toBe(1);
    expect(big.gini).toBeCloseTo(gini(Float64Array.from({ length: 5000 }, (_, i) => i + 1)), 14);
  });
});

describe("Zipf slope and power-law MLE", () => {
  it("recovers the slope of an exact power law", () => {
    for (const s of [0.7, 1, 1.3]) {
      const counts = Float64Array.from({ length: 500 }, (_, r) => 1e6 * Math.pow(r + 1, -s));
      const fit = zipfFit(counts, { headRanks: 500 });
      expect(fit.slope).toBeCloseTo(-s, 10);
      expect(fit.exponent).toBeCloseTo(s, 10);
      expect(fit.intercept).toBeCloseTo(Math.log(1e6), 8);
      expect(fit.r2).toBeCloseTo(1, 12);
    }
  });

  it("fits only the head by default (ranks with at least 5 events)", () => {
    const counts = [100, 50, 33, 25, 20, 4, 3, 1, 1, 1];
    const fit = zipfFit(counts);
    expect(fit.ranksFitted).toBe(5);
    expect(fit.ranksTotal).toBe(10);
    expect(fit.exponent).toBeCloseTo(1, 1);
    expect(zipfFit(counts, { headFraction: 0.5 }).ranksFitted).toBe(5);
    expect(zipfFit([0, 0, 7]).ranksTotal).toBe(1);
  });

  it("rank-frequency drops zeros and sorts descending", () => {
    expect(Array.from(rankFrequency([0, 3, 9, 1, 0]))).toEqual([9, 3, 1]);
  });

  it("MLE recovers alpha on a discrete power-law sample", () => {
    // Deterministic sample: quantiles of the same continuous approximation the estimator uses.
    const alpha = 2.5;
    const xmin = 10;
    const n = 20_000;
    const xs = Float64Array.from({ length: n }, (_, i) => {
      const u = (i + 0.5) / n;
      return Math.floor((xmin - 0.5) * Math.pow(1 - u, -1 / (alpha - 1)) + 0.5);
    });
    const fixed = powerLawMle(xs, { xmin });
    expect(fixed.nTail).toBe(n);
    expect(fixed.alpha).toBeCloseTo(alpha, 1);
    expect(fixed.stderr).toBeCloseTo((fixed.alpha - 1) / Math.sqrt(n), 12);
    expect(fixed.zipfExponent).toBeCloseTo(1 / (fixed.alpha - 1), 12);
    // Values below xmin (a non-power-law body) are ignored once auto-selection finds the cut-off.
    const withBody = Float64Array.from([...xs, ...Array.from({ length: 5000 }, (_, i) => 1 + (i % 5))]);
    const auto = powerLawMle(withBody);
    expect(auto.xmin).toBeGreaterThanOrEqual(6);
    expect(Math.abs(auto.alpha - alpha)).toBeLessThan(0.1);
    expect(auto.ks).toBeLessThan(0.02);
  });
});

describe("ratings, activity and cold start", () => {
  it("counts rating levels and ignores missing ratings", () => {
    const d = ratingDistribution([5, 4, NaN, 4, 3, NaN, 5, 5]);
    expect(d.levels).toEqual([3, 4, 5]);
    expect(d.counts).toEqual([1, 2, 3]);
    expect(d.rated).toBe(6);
    expect(d.unrated).toBe(2);
    expect(d.mean).toBeCloseTo(26 / 6, 12);
    expect(d.median).toBe(4.5);
    expect(d.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const none = ratingDistribution([NaN, NaN]);
    expect(none.mean).toBeNull();
    expect(none.median).toBeNull();
  });

  it("summarises events per user", () => {
    const counts = countBy([0, 0, 0, 1, 2, 2, 4]);
    expect(Array.from(counts)).toEqual([3, 1, 2, 0, 1]);
    const a = activitySpread([1, 2, 3, 4, 100, 0]);
    expect(a.units).toBe(5); // the zero is not a user in the log
    expect(a.events).toBe(110);
    expect(a.quantiles.p50).toBe(3);
    expect(a.quantiles.p25).toBe(2);
    expect(a.shareBelow5).toBe(0.8);
    expect(a.shareAtLeast100).toBe(0.2);
    expect(() => countBy([0, 5], 3)).toThrow(RangeError);
  });

  it("puts units in 1, 2–4, 5–19, 20+ bands", () => {
    const c = coldStartSegments([1, 1, 2, 4, 5, 19, 20, 300, 0], [3, 0, 0]);
    expect(c.users.map((s) => [s.label, s.units, s.events])).toEqual([
      ["1", 2, 2],
      ["2–4", 2, 6],
      ["5–19", 2, 24],
      ["20+", 2, 320],
    ]);
    expect(c.zeroUsers).toBe(1);
    expect(c.users[0].shareUnits).toBe(0.25);
    expect(c.users[3].shareEvents).toBeCloseTo(320 / 352, 12);
    expect(c.items[1].units).toBe(1);
    expect(c.zeroItems).toBe(2);
  });
});

describe("time", () => {
  const t0 = 1_700_006_400; // a UTC midnight (19676 days after the epoch)

  it("counts events per day and per 7-day block, and daily active users", () => {
    const ts = [t0 + 10, t0 + 20, t0 + DAY + 5, t0 + 8 * DAY + 1, t0 + 8 * DAY + 2];
    const users = [0, 0, 1, 0, 1];
    const d = temporalDensity(ts, users);
    expect(d.firstDay).toBe(t0);
    expect(d.days).toBe(9);
    expect(d.perDay).toEqual([2, 1, 0, 0, 0, 0, 0, 0, 2]);
    expect(d.perWeek).toEqual([3, 2]);
    expect(d.activeUsersPerDay).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 2]);
    expect(d.activeDays).toBe(3);
    expect(d.meanPerDay).toBeCloseTo(5 / 9, 12);
    expect(temporalDensity([]).firstDay).toBeNull();
  });

  it("measures return within a window among users with a fully observed window", () => {
    // user 0 returns after 3 days, user 1 after 20, user 2 never; user 3 starts too late for the 30-day window.
    const rows: Array<[number, number]> = [
      [0, 0],
      [0, 3],
      [1, 0],
      [1, 20],
      [2, 1],
      [3, 50],
      [3, 52],
      [4, 60], // the log's last day
    ];
    const r = returnBehaviour(
      rows.map((x) => x[0]),
      rows.map((x) => t0 + x[1] * DAY + 100),
      [7, 30],
    );
    expect(r.windows[0]).toEqual({ days: 7, eligible: 4, returned: 2, share: 0.5 });
    expect(r.windows[1]).toEqual({ days: 30, eligible: 3, returned: 2, share: 2 / 3 });
    expect(r.users).toBe(5);
    expect(r.oneDayUsers).toBe(2);
    expect(r.medianDaysToReturn).toBe(3);
  });
});

describe("DuckDB-backed statistics", () => {
  it("genre frequencies and the full report from Parquet files", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-eda-"));
    try {
      const inter = path.join(dir, "interactions.parquet");
      const items = path.join(dir, "items.parquet");
      await withDuck(async (db) => {
        await db.run(`COPY (SELECT * FROM (VALUES
            (0, 0, 1700006400::BIGINT, 4.0, 1.0, 0.0, 'play', 0::BIGINT),
            (0, 1, 1700092800::BIGINT, NULL, 1.0, 0.0, 'play', 1::BIGINT),
            (1, 0, 1700179200::BIGINT, 5.0, 1.0, 0.0, 'play', 2::BIGINT),
            (1, 2, 1700179300::BIGINT, 3.0, 1.0, 0.0, 'play', 3::BIGINT))
          AS t(user_id, item_id, ts, rating, weight, revenue, event_type, event_idx)) TO ${sqlString(inter)} (FORMAT parquet)`);
        await db.run(`COPY (SELECT * FROM (VALUES
            (0, '1', 'A', ['Drama', 'Comedy']),
            (1, '2', 'B', ['Drama']),
            (2, '3', 'C', CAST([] AS VARCHAR[])),
            (3, '4', 'D', ['Horror']))
          AS t(item_id, item_key, title, genres)) TO ${sqlString(items)} (FORMAT parquet)`);
        const g = await genreFrequencies(db, { interactions: inter, items });
        expect(g.map((x) => [x.genre, x.items, x.events])).toEqual([
          ["Drama", 2, 3],
          ["Comedy", 1, 2],
          ["Horror", 1, 0],
        ]);
        expect(g[0].shareItems).toBe(0.5);
        expect(g[0].shareEvents).toBe(0.75);
        const r = await computeEda(db, { interactions: inter, items });
        expect(r.summary).toMatchObject({ events: 4, users: 2, items: 3, ratedShare: 0.75 });
        expect(r.itemCounts.length).toBe(4); // sized to the catalogue: item 3 has no events
        expect(r.coldStart.zeroItems).toBe(1);
        const h = edaHeadline(r);
        expect(h.events).toBe(4);
        expect(h.rating_mean).toBe(4);
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
