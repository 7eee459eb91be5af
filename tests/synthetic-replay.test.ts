import { beforeAll, describe, expect, it } from "vitest";
import {
  DAY,
  generateWorld,
  loggingPolicy,
  oraclePolicy,
  replayPolicy,
  trueAffinity,
  type ReplayResult,
  type SlatePolicy,
  type World,
} from "../src/data/synthetic";

let world: World;
let logging: ReplayResult;
let oracle: ReplayResult;

beforeAll(() => {
  world = generateWorld({ seed: 5, users: 3000, items: 800, days: 240 });
  logging = replayPolicy(world, loggingPolicy(world), { days: 120, seed: 99 });
  oracle = replayPolicy(world, oraclePolicy(world), { days: 120, seed: 99 });
});

describe("replayPolicy", () => {
  it("the oracle beats the logging policy on affinity, engagement and retention", () => {
    const a = logging.summary;
    const b = oracle.summary;
    expect(a.users).toBe(3000);
    expect(b.subscribedAtStart).toBe(a.subscribedAtStart);
    expect(a.subscribedAtStart).toBeGreaterThan(1500);
    expect(b.meanAffinity).toBeGreaterThan(a.meanAffinity + 0.3);
    expect(b.playsPerUser).toBeGreaterThan(a.playsPerUser);
    expect(b.churnRate).toBeLessThan(a.churnRate);
    expect(b.retention).toBeGreaterThan(a.retention);
    expect(b.revenuePerUser).toBeGreaterThan(a.revenuePerUser);
  });

  it("reports outcomes that add up to the returned events and payments", () => {
    for (const r of [logging, oracle]) {
      const o = r.outcomes;
      expect(o.plays.reduce((s, x) => s + x, 0)).toBe(r.events.length);
      const revenue = o.revenue.reduce((s, x) => s + x, 0);
      const paid = r.payments.amount.reduce((s, x) => s + x, 0);
      expect(Math.abs(revenue - paid)).toBeLessThan(1e-6);
      // summary.meanAffinity is the true affinity of the played pairs
      const aff = trueAffinity(world, r.events.user, r.events.item);
      expect(aff.reduce((s, x) => s + x, 0) / aff.length).toBeCloseTo(r.summary.meanAffinity, 9);
      for (let j = 0; j < o.user.length; j++) {
        if (o.plays[j] > 0) expect(o.activeDays[j]).toBeGreaterThan(0);
      }
    }
  });

  it("replayed plays are in the window, released, and new to the user", () => {
    for (const r of [logging, oracle]) {
      const seen = new Set<number>();
      for (let e = 0; e < world.events.length; e++) seen.add(world.events.user[e] * world.items.length + world.events.item[e]);
      let bad = 0;
      for (let e = 0; e < r.events.length; e++) {
        const ts = r.events.ts[e];
        const key = r.events.user[e] * world.items.length + r.events.item[e];
        if (ts < r.fromTs || ts >= r.toTs || !Number.isInteger(ts)) bad++;
        if (world.items.releaseTs[r.events.item[e]] > ts) bad++;
        if (seen.has(key)) bad++;
        seen.add(key);
      }
      expect(bad).toBe(0);
      for (let j = 0; j < r.payments.length; j++) expect(r.payments.ts[j] >= r.fromTs && r.payments.ts[j] < r.toTs).toBe(true);
      expect(r.toTs - r.fromTs).toBe(120 * DAY);
      expect(r.fromTs).toBe(world.endTs);
    }
  });

  it("is deterministic for a seed, and a seed change changes the outcome", () => {
    const users = Int32Array.from({ length: 400 }, (_, j) => j * 7);
    const a = replayPolicy(world, loggingPolicy(world), { days: 60, seed: 3, users });
    const b = replayPolicy(world, loggingPolicy(world), { days: 60, seed: 3, users });
    const c = replayPolicy(world, loggingPolicy(world), { days: 60, seed: 4, users });
    expect(Buffer.from(a.events.ts.buffer).equals(Buffer.from(b.events.ts.buffer))).toBe(true);
    expect(a.summary).toEqual(b.summary);
    expect(a.summary).not.toEqual(c.summary);
    expect(Array.from(a.outcomes.user)).toEqual(Array.from(users));
  });

  it("the logging policy in replay behaves like the logging policy in the world", () => {
    let aff = 0;
    const d = world.truth.dim;
    for (let e = 0; e < world.events.length; e++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += world.truth.taste[world.events.user[e] * d + k] * world.truth.itemVectors[world.events.item[e] * d + k];
      aff += s;
    }
    expect(Math.abs(logging.summary.meanAffinity - aff / world.events.length)).toBeLessThan(0.25);
  });

  it("filters what a platform would not show and rejects invalid item indices", () => {
    const users = Int32Array.from({ length: 200 }, (_, j) => j);
    // The same few items every time, with repeats: each is shown until played once, then hidden.
    const stubborn: SlatePolicy = () => [0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const r = replayPolicy(world, stubborn, { days: 60, seed: 1, users });
    const pairs = new Set<string>();
    for (let e = 0; e < r.events.length; e++) {
      const key = `${r.events.user[e]}:${r.events.item[e]}`;
      expect(pairs.has(key)).toBe(false);
      pairs.add(key);
      expect(r.events.item[e]).toBeLessThanOrEqual(11);
    }
    // Empty slates: nothing to watch, satisfaction decays, more users leave than under the logging policy.
    const empty = replayPolicy(world, () => [], { days: 90, seed: 1, users });
    const base = replayPolicy(world, loggingPolicy(world), { days: 90, seed: 1, users });
    expect(empty.events.length).toBe(0);
    expect(empty.summary.churnRate).toBeGreaterThan(base.summary.churnRate);
    expect(() => replayPolicy(world, () => [world.items.length], { days: 5, seed: 1, users })).toThrow(/item index/);
    expect(() => replayPolicy(world, () => [0.5], { days: 5, seed: 1, users })).toThrow(/item index/);
  });

  it("passes a usable context to policies", () => {
    const users = Int32Array.from({ length: 50 }, (_, j) => j);
    let calls = 0;
    const spy: SlatePolicy = (user, day, k, ctx) => {
      calls++;
      expect(k).toBe(world.config.slateSize);
      expect(day).toBe(Math.floor((ctx.ts - world.startTs) / DAY));
      expect(ctx.ts >= world.endTs).toBe(true);
      expect(typeof ctx.rng.uniform()).toBe("number");
      expect(ctx.consumed.size).toBeGreaterThanOrEqual(0);
      if (ctx.lastItem >= 0) expect(ctx.consumed.has(ctx.lastItem)).toBe(true);
      return Array.from({ length: 3 * k }, () => ctx.rng.int(world.items.length));
    };
    replayPolicy(world, spy, { days: 20, seed: 2, users });
    expect(calls).toBeGreaterThan(10);
  });

  it("validates the window, and simulates a gap after the world's end under the logging policy", () => {
    expect(() => replayPolicy(world, loggingPolicy(world), { fromDay: 10, days: 5, seed: 1 })).toThrow(/fromDay/);
    expect(() => replayPolicy(world, loggingPolicy(world), { days: 0, seed: 1 })).toThrow(/days/);
    const users = Int32Array.from({ length: 300 }, (_, j) => j);
    const later = replayPolicy(world, oraclePolicy(world), { fromDay: world.days + 30, days: 30, seed: 8, users });
    expect(later.fromTs).toBe(world.endTs + 30 * DAY);
    for (let e = 0; e < later.events.length; e++) expect(later.events.ts[e]).toBeGreaterThanOrEqual(later.fromTs);
  });
});
