import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Duck } from "../src/data/duck";
import {
  DAY,
  expectedFutureRevenue,
  generateWorld,
  realizedRevenue,
  trueAffinity,
  trueHazardAt,
  trueStateAt,
  validateWorldConfig,
  writeWorld,
  type World,
} from "../src/data/synthetic";
import { addMonths, civilFromDays, daysFromCivil, parseIsoDate } from "../src/data/synthetic/time";
import { buildAlias, sampleAlias } from "../src/data/synthetic/alias";
import { ConfigError } from "../src/util/errors";
import { Logger } from "../src/util/log";
import { Rng } from "../src/util/rng";

const CFG = { seed: 11, users: 1500, items: 800, days: 240, startDate: "2024-01-01" };

function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function sameArrays(a: World, b: World): boolean {
  const pairs: [ArrayBufferView, ArrayBufferView][] = [
    [a.events.user, b.events.user],
    [a.events.item, b.events.item],
    [a.events.ts, b.events.ts],
    [a.events.rating, b.events.rating],
    [a.events.watchFraction, b.events.watchFraction],
    [a.payments.user, b.payments.user],
    [a.payments.ts, b.payments.ts],
    [a.payments.amount, b.payments.amount],
    [a.truth.taste, b.truth.taste],
    [a.truth.itemVectors, b.truth.itemVectors],
    [a.truth.periods.hazard, b.truth.periods.hazard],
    [a.truth.episodes.churnTs, b.truth.episodes.churnTs],
    [a.truth.endState.satisfaction, b.truth.endState.satisfaction],
    [a.eventStart, b.eventStart],
  ];
  return pairs.every(([x, y]) => bytesOf(x).equals(bytesOf(y))) && JSON.stringify(a.items.titles) === JSON.stringify(b.items.titles);
}

function correlation(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    sx += x[i];
    sy += y[i];
    sxx += x[i] * x[i];
    syy += y[i] * y[i];
    sxy += x[i] * y[i];
  }
  const cov = sxy / n - (sx / n) * (sy / n);
  return cov / Math.sqrt((sxx / n - (sx / n) ** 2) * (syy / n - (sy / n) ** 2));
}

/** [start, end) intervals in which a user was NOT subscribed (before sign-up, churn gaps). */
function gapsOf(world: World): Map<number, [number, number][]> {
  const gaps = new Map<number, [number, number][]>();
  for (let u = 0; u < world.users.length; u++) gaps.set(u, [[-Infinity, world.users.signupTs[u]]]);
  const e = world.truth.episodes;
  for (let j = 0; j < e.length; j++) {
    gaps.get(e.user[j])!.push([e.churnTs[j], Number.isNaN(e.returnTs[j]) ? Infinity : e.returnTs[j]]);
  }
  return gaps;
}

function inGap(gaps: [number, number][], ts: number): boolean {
  return gaps.some(([a, b]) => ts >= a && ts < b);
}

let world: World;

beforeAll(() => {
  world = generateWorld(CFG);
});

describe("synthetic world: determinism", () => {
  it("same config and seed give identical arrays; another seed does not", () => {
    const again = generateWorld(CFG);
    expect(sameArrays(world, again)).toBe(true);
    expect(again.summary).toEqual(world.summary);
    const other = generateWorld({ ...CFG, seed: 12 });
    expect(sameArrays(world, other)).toBe(false);
  });

  it("worker threads give the same world as one thread", () => {
    const small = { ...CFG, users: 600, days: 90 };
    const one = generateWorld(small, { threads: 1 });
    const lines: string[] = [];
    const two = generateWorld(small, { threads: 2, logger: new Logger({ level: "debug", sink: (l) => lines.push(l) }) });
    expect(lines.some((l) => l.includes("synthetic workers started") && l.includes("workers=2"))).toBe(true);
    expect(sameArrays(one, two)).toBe(true);
    expect(two.summary).toEqual(one.summary);
  });
});

describe("synthetic world: sizes and ranges", () => {
  it("has consistent sizes", () => {
    const ev = world.events;
    expect(world.users.length).toBe(1500);
    expect(world.items.length).toBe(800);
    expect(ev.length).toBeGreaterThan(5000);
    for (const a of [ev.user, ev.item, ev.ts, ev.rating, ev.watchFraction, ev.eventType]) expect(a.length).toBe(ev.length);
    expect(world.eventStart[world.users.length]).toBe(ev.length);
    expect(world.summary.events).toBe(ev.length);
    expect(world.endTs - world.startTs).toBe(240 * DAY);
    expect(world.startTs).toBe(Date.UTC(2024, 0, 1) / 1000);
  });

  it("scale multiplies users linearly and items by its square root", () => {
    const cfg = validateWorldConfig({ users: 100, items: 100, scale: 4 });
    const w = generateWorld({ ...cfg, days: 5 });
    expect(w.users.length).toBe(400);
    expect(w.items.length).toBe(200);
  });

  it("ratings are half stars in [0.5, 5] on a fraction of plays; watch fractions in (0, 1]", () => {
    const ev = world.events;
    let rated = 0;
    let bad = 0;
    for (let e = 0; e < ev.length; e++) {
      const r = ev.rating[e];
      if (!Number.isNaN(r)) {
        rated++;
        if (!(r >= 0.5 && r <= 5 && Number.isInteger(r * 2))) bad++;
      }
      const w = ev.watchFraction[e];
      if (!(w > 0 && w <= 1) || ev.eventType[e] !== 0) bad++;
    }
    expect(bad).toBe(0);
    expect(rated / ev.length).toBeGreaterThan(0.15);
    expect(rated / ev.length).toBeLessThan(0.5);
    expect(world.summary.ratedEvents).toBe(rated);
  });

  it("events are inside the period, after release and sign-up, never while unsubscribed, user-major and time-ordered, one per (user, item)", () => {
    const ev = world.events;
    const gaps = gapsOf(world);
    let violations = 0;
    for (let u = 0; u < world.users.length; u++) {
      const seen = new Set<number>();
      let prev = -Infinity;
      for (let e = world.eventStart[u]; e < world.eventStart[u + 1]; e++) {
        const ts = ev.ts[e];
        const i = ev.item[e];
        if (ev.user[e] !== u) violations++;
        if (!Number.isInteger(ts) || ts < world.startTs || ts >= world.endTs) violations++;
        if (ts < world.items.releaseTs[i]) violations++;
        if (ts < world.users.signupTs[u]) violations++;
        if (inGap(gaps.get(u)!, ts)) violations++;
        if (ts < prev) violations++;
        if (seen.has(i)) violations++;
        seen.add(i);
        prev = ts;
      }
    }
    expect(violations).toBe(0);
  });

  it("items have 1–3 genres, titles with their release year, and new releases during the period", () => {
    const it = world.items;
    let newReleases = 0;
    for (let i = 0; i < it.length; i++) {
      const g = it.genreStart[i + 1] - it.genreStart[i];
      expect(g >= 1 && g <= 3).toBe(true);
      expect(it.titles[i]).toMatch(new RegExp(`\\(${it.releaseYear[i]}\\)$`));
      if (it.releaseTs[i] >= world.startTs) {
        newReleases++;
        expect(it.releaseTs[i]).toBeLessThan(world.endTs);
      }
    }
    expect(newReleases).toBeGreaterThan(20);
    expect(world.summary.newReleases).toBe(newReleases);
  });

  it("some users signed up before the start, the rest during the period", () => {
    let before = 0;
    for (let u = 0; u < world.users.length; u++) {
      const s = world.users.signupTs[u];
      if (s < world.startTs) before++;
      else expect(s).toBeLessThan(world.endTs);
    }
    expect(before / world.users.length).toBeGreaterThan(0.45);
    expect(before / world.users.length).toBeLessThan(0.75);
  });
});

describe("synthetic world: behaviour", () => {
  it("popularity is Zipf-like: the top 10% of items get a large share of plays", () => {
    const counts = new Int32Array(world.items.length);
    for (let e = 0; e < world.events.length; e++) counts[world.events.item[e]]++;
    const sorted = Array.from(counts).sort((a, b) => b - a);
    const top = sorted.slice(0, Math.ceil(world.items.length / 10)).reduce((s, c) => s + c, 0);
    // 3.5× their uniform share in this small world (≈4.6× at default scale); a long, thin tail
    expect(top / world.events.length).toBeGreaterThan(0.35);
    expect(sorted[0]).toBeGreaterThan(10 * sorted[Math.floor(sorted.length / 2)]);
  });

  it("users with higher true affinity for an item play it more", () => {
    const nU = world.users.length;
    const nI = world.items.length;
    const played = new Uint8Array(nU * nI);
    for (let e = 0; e < world.events.length; e++) played[world.events.user[e] * nI + world.events.item[e]] = 1;
    const users = new Int32Array(nU * nI);
    const items = new Int32Array(nU * nI);
    for (let u = 0; u < nU; u++) for (let i = 0; i < nI; i++) {
      users[u * nI + i] = u;
      items[u * nI + i] = i;
    }
    const aff = trueAffinity(world, users, items);
    expect(correlation(aff, played)).toBeGreaterThan(0.1);
    // Per item: among its 40 most played items, players have higher mean affinity than non-players.
    const counts = new Int32Array(nI);
    for (let e = 0; e < world.events.length; e++) counts[world.events.item[e]]++;
    const top = Array.from({ length: nI }, (_, i) => i).sort((a, b) => counts[b] - counts[a]).slice(0, 40);
    let higher = 0;
    for (const i of top) {
      let sp = 0, np = 0, sn = 0, nn = 0;
      for (let u = 0; u < nU; u++) {
        if (played[u * nI + i]) {
          sp += aff[u * nI + i];
          np++;
        } else {
          sn += aff[u * nI + i];
          nn++;
        }
      }
      if (sp / np > sn / nn) higher++;
    }
    expect(higher).toBeGreaterThanOrEqual(38);
  });

  it("lower satisfaction means higher realized churn", () => {
    const p = world.truth.periods;
    const rows: number[] = [];
    for (let j = 0; j < p.length; j++) if (p.outcome[j] < 2) rows.push(j);
    rows.sort((a, b) => p.satisfaction[a] - p.satisfaction[b]);
    const third = Math.floor(rows.length / 3);
    const rate = (rs: number[]) => rs.reduce((s, j) => s + p.outcome[j], 0) / rs.length;
    const low = rate(rows.slice(0, third));
    const high = rate(rows.slice(rows.length - third));
    expect(low).toBeGreaterThan(high * 1.5);
    // and the hazards are calibrated: realized churn ≈ mean hazard
    const all = rate(rows);
    const meanHazard = rows.reduce((s, j) => s + p.hazard[j], 0) / rows.length;
    expect(Math.abs(all - meanHazard)).toBeLessThan(0.01);
    expect(all).toBeGreaterThan(0.01);
    expect(all).toBeLessThan(0.15);
  });

  it("payments are monthly, at the plan price, only while subscribed", () => {
    const pay = world.payments;
    const gaps = gapsOf(world);
    const byUser = new Map<number, number[]>();
    for (let j = 0; j < pay.length; j++) {
      const u = pay.user[j];
      expect(pay.amount[j]).toBe(world.users.monthlyPrice[u]);
      expect(pay.ts[j] >= world.startTs && pay.ts[j] < world.endTs).toBe(true);
      expect(inGap(gaps.get(u)!, pay.ts[j])).toBe(false);
      if (!byUser.has(u)) byUser.set(u, []);
      byUser.get(u)!.push(pay.ts[j]);
    }
    // Consecutive payments of one subscription are one calendar month apart (28–31 days).
    const starts = new Set<string>();
    const e = world.truth.episodes;
    for (let j = 0; j < e.length; j++) if (!Number.isNaN(e.returnTs[j])) starts.add(`${e.user[j]}:${e.returnTs[j]}`);
    for (const [u, ts] of byUser) {
      for (let k = 1; k < ts.length; k++) {
        if (starts.has(`${u}:${ts[k]}`)) continue;
        const days = (ts[k] - ts[k - 1]) / DAY;
        expect(days >= 28 && days <= 31).toBe(true);
      }
    }
    // Every charge is a sign-up in the period, a return, or a renewal that was not cancelled.
    let signups = 0;
    for (let u = 0; u < world.users.length; u++) if (world.users.signupTs[u] >= world.startTs) signups++;
    let renewed = 0;
    for (let j = 0; j < world.truth.periods.length; j++) if (world.truth.periods.outcome[j] === 0) renewed++;
    expect(pay.length).toBe(signups + world.summary.returns + renewed);
  });

  it("trueHazardAt returns the period's hazard while subscribed and NaN otherwise", () => {
    const p = world.truth.periods;
    for (let j = 0; j < p.length; j += 97) {
      const mid = (p.start[j] + p.end[j]) / 2;
      expect(trueHazardAt(world, p.user[j], mid)).toBe(p.hazard[j]);
    }
    let checked = 0;
    for (let u = 0; u < world.users.length && checked < 20; u++) {
      if (world.users.signupTs[u] > world.startTs + DAY) {
        expect(trueHazardAt(world, u, world.users.signupTs[u] - 1)).toBeNaN();
        checked++;
      }
    }
    expect(checked).toBe(20);
  });

  it("expected future revenue matches realized revenue on average and is NaN for future sign-ups", () => {
    const cutoff = world.startTs + 120 * DAY;
    const horizon = 90;
    const mc = expectedFutureRevenue(world, cutoff, horizon, { replicates: 8 });
    const frozen = expectedFutureRevenue(world, cutoff, horizon, { method: "frozen" });
    const real = realizedRevenue(world, cutoff, cutoff + horizon * DAY);
    let n = 0, sm = 0, sf = 0, sr = 0;
    const xs: number[] = [];
    const ys: number[] = [];
    for (let u = 0; u < world.users.length; u++) {
      if (world.users.signupTs[u] >= cutoff) {
        expect(mc[u]).toBeNaN();
        continue;
      }
      n++;
      sm += mc[u];
      sf += frozen[u];
      sr += real[u];
      xs.push(mc[u]);
      ys.push(real[u]);
    }
    expect(Math.abs(sm / sr - 1)).toBeLessThan(0.08);
    expect(sf).toBeLessThanOrEqual(sm * 1.02);
    expect(correlation(xs, ys)).toBeGreaterThan(0.6);
    // deterministic
    expect(bytesOf(expectedFutureRevenue(world, cutoff, horizon, { replicates: 8 })).equals(bytesOf(mc))).toBe(true);
  });

  it("trueStateAt agrees with the recorded end state and the hazard table", () => {
    const s = trueStateAt(world, world.endTs);
    for (let u = 0; u < world.users.length; u++) {
      expect(s.subscribed[u]).toBe(world.truth.endState.subscribed[u]);
      expect(s.satisfaction[u]).toBe(world.truth.endState.satisfaction[u]);
    }
    // Mid-day cutoffs (evening: sessions in progress): the state matches the generated history.
    for (const mid of [world.startTs + 100 * DAY + 20 * 3600, world.startTs + 161 * DAY + 21 * 3600 + 1234]) {
      const m = trueStateAt(world, mid);
      const p = world.truth.periods;
      let bad = 0;
      for (let u = 0; u < world.users.length; u++) {
        const h = trueHazardAt(world, u, mid);
        if (Number.isNaN(h) !== (m.subscribed[u] === 0)) bad++;
        if (m.subscribed[u]) {
          let end = NaN;
          for (let r = p.userStart[u]; r < p.userStart[u + 1]; r++) if (p.start[r] <= mid && mid < p.end[r]) end = p.end[r];
          if (m.nextRenewalTs[u] !== end) bad++;
        }
      }
      expect(bad).toBe(0);
    }
  });
});

describe("synthetic world: config validation", () => {
  const pathOf = (partial: unknown): string => {
    try {
      validateWorldConfig(partial);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).path;
    }
    throw new Error("expected a ConfigError");
  };

  it("accepts partial configs and fills defaults", () => {
    const c = validateWorldConfig({ users: 10, churn: { baseMonthlyHazard: 0.1 } });
    expect(c.users).toBe(10);
    expect(c.churn.baseMonthlyHazard).toBe(0.1);
    expect(c.churn.returnProbability).toBeGreaterThan(0);
    expect(c.genres.length).toBeGreaterThanOrEqual(15);
    expect(validateWorldConfig(undefined).seed).toBe(42);
  });

  it("names the key path on wrong types, ranges and unknown keys", () => {
    expect(pathOf({ users: "many" })).toBe("users");
    expect(pathOf({ users: 1.5 })).toBe("users");
    expect(pathOf({ foo: 1 })).toBe("foo");
    expect(pathOf({ churn: { baseMonthlyHazard: 2 } })).toBe("churn.baseMonthlyHazard");
    expect(pathOf({ churn: { nope: 1 } })).toBe("churn.nope");
    expect(pathOf({ churn: 3 })).toBe("churn");
    expect(pathOf({ startDate: "2024-02-30" })).toBe("startDate");
    expect(pathOf({ startDate: 20240101 })).toBe("startDate");
    expect(pathOf({ plans: [{ name: "a", monthlyPrice: 5, share: 1 }, { name: "b", monthlyPrice: -1, share: 1 }] })).toBe("plans[1].monthlyPrice");
    expect(pathOf({ plans: [{ name: "a", monthlyPrice: 5, share: 1, extra: 1 }] })).toBe("plans[0].extra");
    expect(pathOf({ genres: ["Drama", "Drama"] })).toBe("genres[1]");
    expect(pathOf({ logging: { temperature: 0 } })).toBe("logging.temperature");
    expect(pathOf({ slateSize: 50, items: 10 })).toBe("slateSize");
    expect(pathOf([])).toBe("(root)");
    expect(() => validateWorldConfig({ churn: { baseMonthlyHazard: 2 } })).toThrow(/churn\.baseMonthlyHazard/);
  });
});

describe("synthetic world: helpers", () => {
  it("calendar arithmetic round-trips and clamps month ends", () => {
    for (const z of [-800_000, -1, 0, 1, 19_723, 60_000]) {
      const [y, m, d] = civilFromDays(z);
      expect(daysFromCivil(y, m, d)).toBe(z);
    }
    const jan31 = parseIsoDate("2024-01-31") + 3600;
    expect(addMonths(jan31, 1)).toBe(parseIsoDate("2024-02-29") + 3600);
    expect(addMonths(jan31, 2)).toBe(parseIsoDate("2024-03-31") + 3600);
    expect(addMonths(jan31, 13)).toBe(parseIsoDate("2025-02-28") + 3600);
    expect(addMonths(jan31, -2)).toBe(parseIsoDate("2023-11-30") + 3600);
    expect(() => parseIsoDate("2024-13-01")).toThrow();
  });

  it("alias tables sample their weights", () => {
    const t = buildAlias(Int32Array.from([10, 20, 30, 40]), [1, 2, 3, 4]);
    const rng = new Rng(5);
    const counts = new Map<number, number>();
    for (let k = 0; k < 100_000; k++) {
      const v = sampleAlias(t, rng.uniform());
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    for (const [v, w] of [[10, 0.1], [20, 0.2], [30, 0.3], [40, 0.4]]) expect(Math.abs(counts.get(v)! / 100_000 - w)).toBeLessThan(0.01);
  });
});

describe("synthetic world: writeWorld", () => {
  let dir: string;
  let db: Duck;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-synth-"));
    db = await Duck.open();
  });
  afterAll(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("writes readable Parquet with the documented columns, byte-identical across writes", async () => {
    const small = generateWorld({ ...CFG, users: 400, days: 60 });
    const a = await writeWorld(small, path.join(dir, "a"), db);
    const b = await writeWorld(small, path.join(dir, "b"), db);
    for (const k of Object.keys(a.files) as (keyof typeof a.files)[]) {
      expect(fs.readFileSync(a.files[k]).equals(fs.readFileSync(b.files[k]))).toBe(true);
    }
    const schema = async (f: string) =>
      Object.fromEntries((await db.rows<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet('${f}')`)).map((r) => [r.column_name, r.column_type]));
    expect(await schema(a.files.events)).toEqual({ user: "BIGINT", item: "BIGINT", timestamp: "BIGINT", rating: "DOUBLE", watch_fraction: "DOUBLE", event_type: "VARCHAR" });
    expect(await schema(a.files.payments)).toEqual({ user: "BIGINT", ts: "BIGINT", amount: "DOUBLE", kind: "VARCHAR" });
    expect(await schema(a.files.items)).toEqual({ item: "BIGINT", title: "VARCHAR", genres: "VARCHAR[]", release_year: "INTEGER", release_ts: "BIGINT" });
    expect(await schema(a.files.users)).toEqual({ user: "BIGINT", signup_ts: "BIGINT", plan: "VARCHAR", monthly_price: "DOUBLE" });
    expect(await schema(a.files.churn)).toEqual({ user: "BIGINT", episode: "INTEGER", churn_ts: "BIGINT", return_ts: "BIGINT" });
    expect(Object.keys(await schema(a.files.hazards))).toEqual(["user", "period", "period_start", "period_end", "satisfaction", "hazard", "outcome"]);
    expect((await schema(a.files.userTaste)).taste).toBe("DOUBLE[]");
    expect((await schema(a.files.itemVectors)).vector).toBe("DOUBLE[]");

    const ev = await db.one<Record<string, number | bigint>>(
      `SELECT count(*) AS n, count(rating) AS rated, min("user") AS umin, max("user") AS umax, min("timestamp") AS tmin, max("timestamp") AS tmax,
              count(DISTINCT event_type) AS types FROM read_parquet('${a.files.events}')`,
    );
    const rated = Array.from(small.events.rating).filter((r) => !Number.isNaN(r)).length;
    expect(Number(ev.n)).toBe(small.events.length);
    expect(Number(ev.rated)).toBe(rated);
    expect(Number(ev.umin)).toBeGreaterThanOrEqual(1);
    expect(Number(ev.umax)).toBeLessThanOrEqual(400);
    expect(small.users.length).toBe(400);
    expect(Number(ev.tmin)).toBeGreaterThanOrEqual(small.startTs);
    expect(Number(ev.tmax)).toBeLessThan(small.endTs);
    expect(Number(ev.types)).toBe(1);
    // ordered by timestamp
    const unordered = await db.scalar(
      `SELECT count(*) FROM (SELECT "timestamp" < lag("timestamp") OVER () AS bad FROM read_parquet('${a.files.events}')) WHERE bad`,
    );
    expect(unordered).toBe(0);
    expect(Number(await db.scalar(`SELECT count(*) FROM read_parquet('${a.files.payments}')`))).toBe(small.payments.length);
    expect(Number(await db.scalar(`SELECT count(DISTINCT "user") FROM read_parquet('${a.files.churn}')`))).toBe(400);
    expect(Number(await db.scalar(`SELECT count(*) FROM read_parquet('${a.files.hazards}')`))).toBe(small.truth.periods.length);
    const item1 = await db.one<{ title: string; genres: string[] }>(`SELECT title, genres FROM read_parquet('${a.files.items}') WHERE item = 1`);
    expect(item1.title).toBe(small.items.titles[0]);
    expect(item1.genres[0]).toBe(small.genres[small.items.genreIds[small.items.genreStart[0]]]);
    const meta = JSON.parse(fs.readFileSync(a.files.worldJson, "utf8"));
    expect(meta.summary.events).toBe(small.events.length);
    expect(meta.config.seed).toBe(11);
  });
});
