import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Duck, parquet } from "../src/data/duck";
import { buildFeatures, type FeatureManifest } from "../src/features";
import { splitInteractions } from "../src/split";
import { LeakageError } from "../src/util/errors";
import { DAY, T0, toyEvents, toySql, writeToyInteractions, writeToyItems, type ToyEvent } from "./helpers/toy-interactions";

let db: Duck;
let tmp: string;
let trainFile: string;
let itemsFile: string;
let manifest: FeatureManifest;
let outDir: string;

/**
 * Hand toy (days after T0), cutoff = last event = day 10:
 *   user 1: d0 item10 r4 · d1 item11 r2 · d3 item10 unrated · d3 item12 r3 · d10 item10 r5
 *   user 2: d2 item11 r5 · d9 item12 unrated
 *   user 3: d10 item12 r1
 * genres: 10 → [a, b], 11 → [a], 12 → [c]; item 13 is in the dimension only.
 */
const TOY: ToyEvent[] = [
  { user: 1, item: 10, ts: T0, rating: 4 },
  { user: 1, item: 11, ts: T0 + 1 * DAY, rating: 2 },
  { user: 1, item: 12, ts: T0 + 3 * DAY, rating: 3 },
  { user: 1, item: 10, ts: T0 + 3 * DAY, rating: null },
  { user: 1, item: 10, ts: T0 + 10 * DAY, rating: 5 },
  { user: 2, item: 11, ts: T0 + 2 * DAY, rating: 5 },
  { user: 2, item: 12, ts: T0 + 9 * DAY, rating: null },
  { user: 3, item: 12, ts: T0 + 10 * DAY, rating: 1 },
];

type Row = Record<string, number | bigint | boolean | null>;
async function table(file: string, key: string): Promise<Map<number, Row>> {
  const rows = await db.rows<Row>(`SELECT * FROM ${parquet(path.join(outDir, file))} ORDER BY ${key}`);
  return new Map(rows.map((r) => [Number(r[key]), r]));
}
const num = (v: unknown) => (v === null ? null : Number(v));
const decay = (ageDays: number) => 2 ** (-ageDays / 30);

beforeAll(async () => {
  db = await Duck.open({ threads: 4 });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-feat-"));
  trainFile = path.join(tmp, "train.parquet");
  itemsFile = path.join(tmp, "items.parquet");
  await writeToyInteractions(db, trainFile, TOY);
  await writeToyItems(db, itemsFile, [
    { item: 10, genres: ["a", "b"] },
    { item: 11, genres: ["a"] },
    { item: 12, genres: ["c"] },
    { item: 13, genres: ["d"] },
  ]);
  outDir = path.join(tmp, "features");
  manifest = await buildFeatures(db, { train: trainFile, items: itemsFile, outDir });
});

afterAll(() => {
  db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("user features", () => {
  it("match hand-computed values", async () => {
    const u = await table("user_features.parquet", "user_id");
    expect([...u.keys()]).toEqual([1, 2, 3]);
    const u1 = u.get(1)!;
    expect(num(u1.n_events)).toBe(5);
    expect(num(u1.n_distinct_items)).toBe(3);
    expect(num(u1.n_ratings)).toBe(4);
    expect(u1.rating_mean).toBe(3.5); // (4 + 2 + 3 + 5) / 4
    expect(u1.rating_std).toBeCloseTo(Math.sqrt(1.25), 12); // squared deviations 0.25 + 2.25 + 0.25 + 2.25 = 5, /4
    expect(num(u1.active_days)).toBe(4); // days 0, 1, 3, 10
    expect(u1.tenure_days).toBe(10);
    expect(u1.days_since_last).toBe(0);
    // gaps in canonical order: 1, 2, 0 (same-second tie), 7 days
    expect(u1.gap_mean_days).toBe(2.5);
    expect(u1.gap_median_days).toBe(1.5);
    expect(u1.gap_std_days).toBeCloseTo(Math.sqrt(7.25), 12); // 2.25 + 0.25 + 6.25 + 20.25 = 29, /4
    expect(num(u1.events_last_7d)).toBe(1); // window (d3, d10]: the two day-3 events are excluded
    expect(num(u1.events_last_30d)).toBe(5);
    expect(u1.recency_decayed_activity).toBeCloseTo(decay(10) + decay(9) + 2 * decay(7) + 1, 12);
    // genre counts a: 3 (item 10 ×3) + 1 (item 11) = 4, b: 3, c: 1 → p = 1/2, 3/8, 1/8
    expect(num(u1.n_distinct_genres)).toBe(3);
    expect(u1.genre_entropy).toBeCloseTo(-(0.5 * Math.log2(0.5) + 0.375 * Math.log2(0.375) + 0.125 * Math.log2(0.125)), 12);

    const u2 = u.get(2)!;
    expect(u2.rating_mean).toBe(5);
    expect(u2.rating_std).toBe(0);
    expect(u2.tenure_days).toBe(8);
    expect(u2.days_since_last).toBe(1);
    expect([u2.gap_mean_days, u2.gap_median_days, u2.gap_std_days]).toEqual([7, 7, 0]);
    expect(num(u2.events_last_7d)).toBe(1);
    expect(u2.genre_entropy).toBe(1); // a and c once each

    const u3 = u.get(3)!;
    expect(u3.tenure_days).toBe(0);
    expect([u3.gap_mean_days, u3.gap_median_days, u3.gap_std_days]).toEqual([null, null, null]);
    expect(u3.recency_decayed_activity).toBe(1);
    expect(u3.genre_entropy).toBe(0);
    expect(num(u3.n_distinct_genres)).toBe(1);
  });
});

describe("item features", () => {
  it("match hand-computed values", async () => {
    const it10 = (await table("item_features.parquet", "item_id")).get(10)!;
    const items = await table("item_features.parquet", "item_id");
    expect([...items.keys()]).toEqual([10, 11, 12]); // only items seen in train
    expect(num(it10.popularity)).toBe(3);
    expect(num(it10.n_users)).toBe(1);
    expect(it10.recent_share_7d).toBeCloseTo(1 / 3, 15);
    expect(num(it10.rating_count)).toBe(2);
    expect(it10.rating_mean).toBe(4.5);
    expect(it10.rating_std).toBe(0.5);
    // K = 4 windows of 2.5 days over [d0, d10]: d0 → 0, d3 → 1, d10 → 3 (last window closed) → counts 1,1,0,1
    expect(it10.popularity_stability).toBeCloseTo(Math.sqrt(4 * 3 - 9) / 3, 12);
    expect(it10.exposure_concentration).toBe(1);
    expect([it10.first_seen_days, it10.last_seen_days]).toEqual([10, 0]);

    const it11 = items.get(11)!;
    expect(it11.rating_mean).toBe(3.5);
    expect(it11.rating_std).toBe(1.5);
    expect(it11.popularity_stability).toBeCloseTo(Math.sqrt(4 * 4 - 4) / 2, 12); // counts 2,0,0,0
    expect(it11.exposure_concentration).toBe(0.5); // top ceil(2/10) = 1 user of 2, one event each
    expect(it11.recent_share_7d).toBe(0);
    expect([it11.first_seen_days, it11.last_seen_days]).toEqual([9, 8]);

    const it12 = items.get(12)!;
    expect(num(it12.n_users)).toBe(3);
    expect(it12.rating_mean).toBe(2);
    expect(it12.rating_std).toBe(1);
    expect(it12.recent_share_7d).toBeCloseTo(2 / 3, 15);
    expect(it12.popularity_stability).toBeCloseTo(Math.sqrt(4 * 5 - 9) / 3, 12); // counts 0,1,0,2
    expect(it12.exposure_concentration).toBeCloseTo(1 / 3, 15);
  });
});

describe("interaction features", () => {
  it("match hand-computed values", async () => {
    const rows = await db.rows<Row>(`SELECT * FROM ${parquet(path.join(outDir, "interaction_features.parquet"))}`);
    const u1 = rows.filter((r) => r.user_id === 1);
    // canonical order: d0 i10, d1 i11, d3 i10, d3 i12, d10 i10
    expect(u1.map((r) => r.item_id)).toEqual([10, 11, 10, 12, 10]);
    expect(u1.map((r) => r.rating_norm).slice(0, 2)).toEqual([0.5, -1.5]);
    expect(Number.isNaN(u1[2].rating_norm)).toBe(true);
    expect(u1.map((r) => r.rating_norm).slice(3)).toEqual([-0.5, 1.5]);
    expect(u1.map((r) => num(r.repeat_index))).toEqual([0, 0, 1, 0, 2]);
    expect(u1.map((r) => r.is_repeat)).toEqual([false, false, true, false, true]);
    expect(u1[0].recency_weight).toBeCloseTo(decay(10), 15);
    expect(u1[4].recency_weight).toBe(1);
    expect(rows).toHaveLength(TOY.length);
  });
});

describe("manifest", () => {
  it("describes every feature with dtype and table, and records the time range read", async () => {
    expect(manifest.cutoff).toBe(T0 + 10 * DAY);
    expect(manifest.time_range).toEqual({ min: T0, max: T0 + 10 * DAY });
    expect(manifest.params).toEqual({ windows_days: [7, 30], half_life_days: 30, stability_windows: 4, top_user_share: 0.1 });
    const byName = new Map(manifest.features.map((f) => [`${f.table}.${f.name}`, f]));
    expect(byName.get("user.n_events")?.dtype).toBe("BIGINT");
    expect(byName.get("user.genre_entropy")?.dtype).toBe("DOUBLE");
    expect(byName.get("interaction.is_repeat")?.dtype).toBe("BOOLEAN");
    expect(byName.has("user.user_id")).toBe(false);
    for (const f of manifest.features) expect(f.description.length).toBeGreaterThan(5);
    expect(manifest.rows).toEqual({ "user_features.parquet": 3, "item_features.parquet": 3, "interaction_features.parquet": 8 });
    const onDisk = JSON.parse(fs.readFileSync(path.join(outDir, "feature_manifest.json"), "utf8"));
    expect(onDisk.features).toHaveLength(manifest.features.length);
    expect(onDisk.train).toBe("../train.parquet");
  });

  it("without an items dimension there are no genre features", async () => {
    const dir = path.join(tmp, "no-genres");
    const m = await buildFeatures(db, { train: trainFile, outDir: dir, windowsDays: [3] });
    const names = m.features.map((f) => f.name);
    expect(names).not.toContain("genre_entropy");
    expect(names).toContain("events_last_3d");
    expect(names).toContain("recent_share_3d");
  });
});

describe("cutoff", () => {
  it("an explicit later cutoff shifts ages; an earlier one is a leakage error", async () => {
    const dir = path.join(tmp, "later");
    const m = await buildFeatures(db, { train: trainFile, outDir: dir, cutoff: T0 + 12 * DAY });
    expect(m.cutoff).toBe(T0 + 12 * DAY);
    const u = await db.rows<Row>(`SELECT days_since_last, tenure_days FROM ${parquet(path.join(dir, "user_features.parquet"))} WHERE user_id = 1`);
    expect(u[0]).toEqual({ days_since_last: 2, tenure_days: 12 });
    await expect(buildFeatures(db, { train: trainFile, outDir: path.join(tmp, "early"), cutoff: "2020-01-05" })).rejects.toThrow(LeakageError);
  });
});

describe("determinism and train-only", () => {
  const FILES = ["user_features.parquet", "item_features.parquet", "interaction_features.parquet", "feature_manifest.json"];
  const bytes = (dir: string) => FILES.map((f) => fs.readFileSync(path.join(dir, f)));

  it("two runs give byte-identical outputs", async () => {
    const a = path.join(tmp, "det-a", "features");
    const b = path.join(tmp, "det-b", "features");
    fs.mkdirSync(path.dirname(a), { recursive: true });
    fs.mkdirSync(path.dirname(b), { recursive: true });
    fs.copyFileSync(trainFile, path.join(tmp, "det-a", "train.parquet"));
    fs.copyFileSync(trainFile, path.join(tmp, "det-b", "train.parquet"));
    await buildFeatures(db, { train: path.join(tmp, "det-a", "train.parquet"), outDir: a });
    await buildFeatures(db, { train: path.join(tmp, "det-b", "train.parquet"), outDir: b });
    bytes(a).forEach((buf, i) => expect(buf.equals(bytes(b)[i]), FILES[i]).toBe(true));
  });

  it("adding or changing post-cutoff (val/test) events changes no feature byte", async () => {
    const base = toyEvents(15, 9, 8);
    const valStart = T0 + 6 * DAY;
    // Same history before the cutoff; after it: changed ratings, extra events for old users, a new user.
    const changed: ToyEvent[] = [
      ...base.map((ev) => (ev.ts >= valStart ? { ...ev, rating: 1, item: (ev.item + 1) % 9 } : ev)),
      { user: 0, item: 4, ts: valStart + 3600, rating: 5, event_idx: 1000 },
      { user: 99, item: 2, ts: valStart + 9 * DAY, rating: 2, event_idx: 1001 },
    ];
    const run = async (label: string, events: ToyEvent[]) => {
      const root = path.join(tmp, label);
      await writeToyInteractions(db, path.join(root, "interactions.parquet"), events);
      const meta = await splitInteractions(db, {
        input: path.join(root, "interactions.parquet"),
        outDir: path.join(root, "splits"),
        strategy: "global_time",
        val_start: valStart,
        test_start: valStart + 3 * DAY,
      });
      await buildFeatures(db, { train: path.join(root, "splits", "train.parquet"), outDir: path.join(root, "features"), cutoff: valStart - 1 });
      return { meta, root };
    };
    const a = await run("train-only-a", base);
    const b = await run("train-only-b", changed);
    expect(b.meta.parts.test.rows).toBeGreaterThan(a.meta.parts.test.rows); // the held-out side really differs
    expect(fs.readFileSync(path.join(b.root, "splits", "val.parquet")).equals(fs.readFileSync(path.join(a.root, "splits", "val.parquet")))).toBe(false);
    bytes(path.join(a.root, "features")).forEach((buf, i) => expect(buf.equals(bytes(path.join(b.root, "features"))[i]), FILES[i]).toBe(true));
  });
});

describe("train file order", () => {
  it("a train file not in canonical order gives the same feature bytes", async () => {
    const events = [...TOY, ...toyEvents(15, 9, 8).map((e) => ({ ...e, user: e.user + 10, event_idx: (e.event_idx ?? 0) + 100 }))];
    const sorted = path.join(tmp, "order-sorted.parquet");
    const shuffled = path.join(tmp, "order-shuffled.parquet");
    await writeToyInteractions(db, sorted, events);
    await db.copyToParquet(`SELECT * FROM (${toySql(events)}) ORDER BY (event_idx * 37) % 101, event_idx`, shuffled);
    const a = path.join(tmp, "order-a");
    const b = path.join(tmp, "order-b");
    await buildFeatures(db, { train: sorted, items: itemsFile, outDir: a });
    await buildFeatures(db, { train: shuffled, items: itemsFile, outDir: b });
    for (const f of ["user_features.parquet", "item_features.parquet", "interaction_features.parquet"]) {
      expect(fs.readFileSync(path.join(b, f)).equals(fs.readFileSync(path.join(a, f))), f).toBe(true);
    }
  });
});

