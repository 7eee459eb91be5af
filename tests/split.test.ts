import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Duck, parquet } from "../src/data/duck";
import { splitInteractions, type SplitOptions, type SplitStrategy } from "../src/split";
import { eventKey } from "../src/split/random-keys";
import { ConfigError } from "../src/util/errors";
import { DAY, T0, toyEvents, toySql, writeToyInteractions, type ToyEvent } from "./helpers/toy-interactions";

let db: Duck;
let tmp: string;

/** Hand-made fixture: user 0 has 10 daily events, user 1 five with a same-second tie, user 2 only two. */
const HAND: ToyEvent[] = [
  ...Array.from({ length: 10 }, (_, k) => ({ user: 0, item: k, ts: T0 + k * DAY, rating: 4 })),
  { user: 1, item: 5, ts: T0, rating: 5 },
  { user: 1, item: 6, ts: T0 + DAY, rating: 5 },
  { user: 1, item: 8, ts: T0 + 2 * DAY, rating: 5 },
  { user: 1, item: 7, ts: T0 + 2 * DAY, rating: 5 },
  { user: 1, item: 9, ts: T0 + 3 * DAY, rating: 5 },
  { user: 2, item: 1, ts: T0 + 4 * DAY, rating: 3 },
  { user: 2, item: 2, ts: T0 + 8 * DAY, rating: 3 },
].map((e, i, all) => ({ ...e, event_idx: all.length - 1 - i })); // event_idx runs against time on purpose

let handFile: string;
let toyFile: string;

beforeAll(async () => {
  db = await Duck.open({ threads: 4 });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-split-"));
  handFile = path.join(tmp, "hand.parquet");
  toyFile = path.join(tmp, "toy.parquet");
  await writeToyInteractions(db, handFile, HAND);
  await writeToyInteractions(db, toyFile, toyEvents(20, 9, 8));
});

afterAll(() => {
  db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let runCounter = 0;
function outDir(label: string): string {
  runCounter += 1;
  return path.join(tmp, `${label}-${runCounter}`);
}

/** "user:item" pairs of a part, sorted. */
async function pairs(dir: string, part: string): Promise<string[]> {
  const rows = await db.rows<{ user_id: number; item_id: number }>(`SELECT user_id, item_id FROM ${parquet(path.join(dir, `${part}.parquet`))} ORDER BY user_id, item_id`);
  return rows.map((r) => `${r.user_id}:${r.item_id}`);
}

function fileBytes(dir: string, part: string): Buffer {
  return fs.readFileSync(path.join(dir, `${part}.parquet`));
}

describe("per_user_chronological", () => {
  it("assigns contiguous per-user blocks with the documented rounding and tie-breaks", async () => {
    const dir = outDir("puc");
    const meta = await splitInteractions(db, { input: handFile, outDir: dir, strategy: "per_user_chronological" });
    // user 0: n=10 → 8/1/1; user 1: n=5 → test 1, val 1 (max(1, floor(0.5))), train 3; the ts tie on day 2
    // is broken by item_id (7 before 8), so item 7 trains and item 8 validates. user 2: n=2 < 3 → train.
    expect(await pairs(dir, "train")).toEqual(["0:0", "0:1", "0:2", "0:3", "0:4", "0:5", "0:6", "0:7", "1:5", "1:6", "1:7", "2:1", "2:2"]);
    expect(await pairs(dir, "val")).toEqual(["0:8", "1:8"]);
    expect(await pairs(dir, "test")).toEqual(["0:9", "1:9"]);
    expect(meta.leakage_safe).toBe(true);
    expect(meta.short_users).toEqual({ threshold: 3, action: "train", users: 1, rows: 2 });
    expect(meta.parts.train).toEqual({ file: "train.parquet", rows: 13, users: 3, items: 8, time_range: { min: T0, max: T0 + 8 * DAY } });
    expect(meta.parts.test.time_range).toEqual({ min: T0 + 3 * DAY, max: T0 + 9 * DAY });
    expect(meta.rules.fractions).toEqual({ train: 0.8, val: 0.1, test: 0.1 });
    expect(meta.leakage.checks).toContain("per_user_canonical_order");
    expect(meta.warnings.some((w) => w.includes("1 user(s) with < 3 events"))).toBe(true);
    expect(meta.filtering.split_rows).toBe(HAND.length);
  });

  it("drops short users when asked, and counts them", async () => {
    const dir = outDir("puc-drop");
    const meta = await splitInteractions(db, { input: handFile, outDir: dir, strategy: "per_user_chronological", short_users: "drop" });
    expect(meta.short_users).toEqual({ threshold: 3, action: "drop", users: 1, rows: 2 });
    expect(meta.filtering.short_user_removed_rows).toBe(2);
    expect(meta.filtering.split_rows).toBe(HAND.length - 2);
    expect((await pairs(dir, "train")).some((p) => p.startsWith("2:"))).toBe(false);
  });

  it("writes parts in canonical order with the input's columns", async () => {
    const dir = outDir("puc-cols");
    await splitInteractions(db, { input: handFile, outDir: dir, strategy: "per_user_chronological" });
    const cols = (await db.rows<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${parquet(path.join(dir, "train.parquet"))}`)).map((c) => `${c.column_name} ${c.column_type}`);
    expect(cols).toEqual(["user_id INTEGER", "item_id INTEGER", "ts BIGINT", "rating DOUBLE", "weight DOUBLE", "revenue DOUBLE", "event_type VARCHAR", "event_idx BIGINT"]);
    const order = await db.rows<{ ok: boolean }>(
      `SELECT bool_and(rn = srt) AS ok FROM (SELECT row_number() OVER () AS rn, row_number() OVER (ORDER BY user_id, ts, item_id, event_idx) AS srt FROM ${parquet(path.join(dir, "train.parquet"))})`,
    );
    expect(order[0].ok).toBe(true);
  });
});

describe("global_time", () => {
  it("cuts at val_start/test_start given as ISO strings (boundaries inclusive on the later side)", async () => {
    const dir = outDir("gt");
    const meta = await splitInteractions(db, { input: handFile, outDir: dir, strategy: "global_time", val_start: "2020-01-06", test_start: "2020-01-09T00:00:00" });
    expect(meta.rules.cutoffs).toEqual({ val_start: T0 + 5 * DAY, test_start: T0 + 8 * DAY, val_start_iso: "2020-01-06T00:00:00.000Z", test_start_iso: "2020-01-09T00:00:00.000Z" });
    expect(await pairs(dir, "train")).toEqual(["0:0", "0:1", "0:2", "0:3", "0:4", "1:5", "1:6", "1:7", "1:8", "1:9", "2:1"]);
    expect(await pairs(dir, "val")).toEqual(["0:5", "0:6", "0:7"]);
    expect(await pairs(dir, "test")).toEqual(["0:8", "0:9", "2:2"]);
    expect(meta.leakage.checks).toContain("global_cutoffs");
    expect(meta.cold_start).toEqual({ val_users_not_in_train: 0, test_users_not_in_train: 0, val_items_not_in_train: 0, test_items_not_in_train: 0 });
  });

  it("accepts unix seconds and requires both cutoffs", async () => {
    const meta = await splitInteractions(db, { input: handFile, outDir: outDir("gt2"), strategy: "global_time", val_start: T0 + 5 * DAY, test_start: String(T0 + 8 * DAY) });
    expect(meta.parts.val.rows).toBe(3);
    await expect(splitInteractions(db, { input: handFile, outDir: outDir("gt3"), strategy: "global_time", val_start: T0 })).rejects.toThrow(ConfigError);
    await expect(
      splitInteractions(db, { input: handFile, outDir: outDir("gt4"), strategy: "global_time", val_start: "2020-02-01", test_start: "2020-01-01" }),
    ).rejects.toThrow(/val_start/);
  });
});

describe("leave_last_out", () => {
  it("holds out the last event for test and the one before for val", async () => {
    const dir = outDir("llo");
    const meta = await splitInteractions(db, { input: handFile, outDir: dir, strategy: "leave_last_out" });
    expect(await pairs(dir, "val")).toEqual(["0:8", "1:8"]);
    expect(await pairs(dir, "test")).toEqual(["0:9", "1:9"]);
    expect(meta.parts.train.rows).toBe(13);
    const noVal = outDir("llo2");
    const m2 = await splitInteractions(db, { input: handFile, outDir: noVal, strategy: "leave_last_out", leave_out_val: false });
    expect(m2.parts.val.rows).toBe(0);
    expect(await pairs(noVal, "test")).toEqual(["0:9", "1:9", "2:2"]);
    expect(m2.warnings).toContain("val is empty");
  });
});

describe("positive rule and k-core", () => {
  it("keeps unrated events unless require_rating, and reports what it removed", async () => {
    const file = path.join(tmp, "pos.parquet");
    await writeToyInteractions(db, file, [
      ...[0, 1, 2].flatMap((u) => [
        { user: u, item: 0, ts: T0, rating: 5 },
        { user: u, item: 1, ts: T0 + DAY, rating: 3 },
        { user: u, item: 2, ts: T0 + 2 * DAY, rating: null },
        { user: u, item: 3, ts: T0 + 3 * DAY, rating: 4 },
      ]),
    ]);
    const m1 = await splitInteractions(db, { input: file, outDir: outDir("pos"), strategy: "leave_last_out", positive: { min_rating: 4 } });
    expect(m1.filtering.positive_removed_rows).toBe(3);
    expect(m1.rules.positive).toEqual({ min_rating: 4 });
    const m2 = await splitInteractions(db, { input: file, outDir: outDir("pos2"), strategy: "leave_last_out", positive: { min_rating: 4, require_rating: true }, min_user_interactions: 2, leave_out_val: false });
    expect(m2.filtering.positive_removed_rows).toBe(6);
  });

  it("iterates k-core to a fixed point and counts removals", async () => {
    const file = path.join(tmp, "kcore.parquet");
    // Item 3 has one user → removed; then user 2 has one event → removed; the rest is a 2-core.
    const ev: ToyEvent[] = [
      { user: 0, item: 1, ts: T0 },
      { user: 0, item: 2, ts: T0 + DAY },
      { user: 1, item: 1, ts: T0 + 2 * DAY },
      { user: 1, item: 2, ts: T0 + 3 * DAY },
      { user: 2, item: 1, ts: T0 + 4 * DAY },
      { user: 2, item: 3, ts: T0 + 5 * DAY },
    ];
    await writeToyInteractions(db, file, ev);
    const m = await splitInteractions(db, {
      input: file,
      outDir: outDir("kc"),
      strategy: "global_time",
      val_start: T0 + 3 * DAY,
      test_start: T0 + 3 * DAY,
      kcore: { users: 2, items: 2 },
    });
    expect(m.filtering.kcore).toEqual({ iterations: 3, rows_removed: 2, users_removed: 1, items_removed: 1 });
    expect(m.filtering.split_rows).toBe(4);
    expect(m.rules.kcore).toEqual({ users: 2, items: 2, count: "events" });
  });
});

describe("strong_generalization", () => {
  it("holds out disjoint users with a seeded 80/20 fold-in/held-out partition", async () => {
    const dir = outDir("sg");
    const meta = await splitInteractions(db, { input: toyFile, outDir: dir, strategy: "strong_generalization", n_heldout_users: 3, seed: 7 });
    expect(meta.parts.val.users).toBe(3);
    expect(meta.parts.test.users).toBe(3);
    expect(meta.parts.train.users).toBe(14);
    expect(meta.parts.val.rows).toBe(meta.parts.val_foldin.rows + meta.parts.val_holdout.rows);
    expect(meta.leakage.checks).toEqual(["parts_disjoint", "union_equals_input", "heldout_users_disjoint", "foldin_holdout_partition"]);
    // Per held-out user: n_holdout = min(n−1, max(1, floor(0.2·n))).
    const per = await db.rows<{ n: bigint; h: bigint }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE h) AS h FROM (
         SELECT user_id, false AS h FROM ${parquet(path.join(dir, "val_foldin.parquet"))}
         UNION ALL SELECT user_id, true FROM ${parquet(path.join(dir, "val_holdout.parquet"))}) GROUP BY user_id`,
    );
    for (const r of per) expect(Number(r.h)).toBe(Math.min(Number(r.n) - 1, Math.max(1, Math.floor(0.2 * Number(r.n)))));
    // Another seed picks other users.
    const dir2 = outDir("sg2");
    await splitInteractions(db, { input: toyFile, outDir: dir2, strategy: "strong_generalization", n_heldout_users: 3, seed: 8 });
    const outDirOf = () => dir2;
    const users = async (d: string) => (await db.rows<{ u: number }>(`SELECT DISTINCT user_id AS u FROM ${parquet(path.join(d, "test.parquet"))} ORDER BY u`)).map((r) => r.u);
    expect(await users(dir)).toHaveLength(3);
    expect(await users(outDirOf())).not.toEqual(await users(dir));
  });

  it("chronological fold-in keeps each held-out user's latest events as targets", async () => {
    const dir = outDir("sgc");
    const meta = await splitInteractions(db, {
      input: toyFile,
      outDir: dir,
      strategy: "strong_generalization",
      heldout_user_fraction: 0.2,
      foldin_order: "chronological",
    });
    expect(meta.rules.n_heldout_users).toBe(4); // floor(0.2 · 20 eligible users)
    expect(meta.leakage.checks).toContain("foldin_before_holdout");
    const bad = await db.scalar(
      `SELECT count(*) FROM ${parquet(path.join(dir, "test_foldin.parquet"))} f JOIN ${parquet(path.join(dir, "test_holdout.parquet"))} h USING (user_id) WHERE f.ts > h.ts`,
    );
    expect(bad).toBe(0);
  });

  it("rejects hold-out sizes that leave no training user", async () => {
    await expect(splitInteractions(db, { input: toyFile, outDir: outDir("sgx"), strategy: "strong_generalization", n_heldout_users: 10 })).rejects.toThrow(ConfigError);
  });
});

describe("random", () => {
  it("is flagged as not leakage-safe, with floor-rounded global fractions", async () => {
    const dir = outDir("rnd");
    const meta = await splitInteractions(db, { input: toyFile, outDir: dir, strategy: "random", seed: 3 });
    const n = meta.filtering.split_rows;
    expect(meta.leakage_safe).toBe(false);
    expect(meta.leakage.leakage_safe).toBe(false);
    expect(meta.warnings.some((w) => w.includes("temporal leakage"))).toBe(true);
    expect(meta.parts.test.rows).toBe(Math.floor(n * 0.1 + 1e-9));
    expect(meta.parts.val.rows).toBe(Math.floor(n * 0.1 + 1e-9));
    expect(meta.parts.train.rows).toBe(n - 2 * Math.floor(n * 0.1 + 1e-9));
  });

  it("group_by_user splits each user's events by the per-user rule", async () => {
    const dir = outDir("rndu");
    const meta = await splitInteractions(db, { input: toyFile, outDir: dir, strategy: "random", group_by_user: true, seed: 3 });
    // Every user has ≥ 3 events, so each gets exactly max(1, floor(0.1·n)) test events.
    const per = await db.rows<{ n: bigint; t: bigint }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE p = 'test') AS t FROM (
         SELECT user_id, 'train' AS p FROM ${parquet(path.join(dir, "train.parquet"))}
         UNION ALL SELECT user_id, 'val' FROM ${parquet(path.join(dir, "val.parquet"))}
         UNION ALL SELECT user_id, 'test' FROM ${parquet(path.join(dir, "test.parquet"))}) GROUP BY user_id`,
    );
    expect(per).toHaveLength(20);
    for (const r of per) expect(Number(r.t)).toBe(Math.max(1, Math.floor(0.1 * Number(r.n) + 1e-9)));
    expect(meta.parts.test.users).toBe(20);
  });

  it("derives keys from (seed, event_idx) only", () => {
    expect(eventKey(1, 5)).toBe(eventKey(1, 5));
    expect(eventKey(1, 5)).not.toBe(eventKey(2, 5));
    const k = eventKey(0, 2 ** 40 + 3);
    expect(k).toBeGreaterThanOrEqual(0);
    expect(k).toBeLessThan(1);
  });
});

describe("validation and determinism", () => {
  it("rejects fractions that do not sum to 1 and bad min_user_interactions", async () => {
    await expect(
      splitInteractions(db, { input: handFile, outDir: outDir("v"), strategy: "per_user_chronological", fractions: { train: 0.8, val: 0.1, test: 0.2 } }),
    ).rejects.toThrow(/sum|must be 1/);
    await expect(splitInteractions(db, { input: handFile, outDir: outDir("v2"), strategy: "leave_last_out", min_user_interactions: 2 })).rejects.toThrow(ConfigError);
  });

  const cases: [SplitStrategy, Partial<SplitOptions>][] = [
    ["per_user_chronological", {}],
    ["global_time", { val_start: T0 + 4 * DAY, test_start: T0 + 7 * DAY }],
    ["leave_last_out", {}],
    ["strong_generalization", { n_heldout_users: 3, seed: 11 }],
    ["random", { seed: 5 }],
  ];
  for (const [strategy, extra] of cases) {
    it(`${strategy}: two runs give byte-identical Parquet and equal metadata`, async () => {
      const a = outDir(`det-${strategy}`);
      const b = outDir(`det-${strategy}`);
      const opts = { input: toyFile, strategy, positive: { min_rating: 2 }, ...extra };
      const ma = await splitInteractions(db, { ...opts, outDir: a });
      const mb = await splitInteractions(db, { ...opts, outDir: b });
      expect(mb).toEqual(ma);
      for (const part of Object.keys(ma.parts)) expect(fileBytes(b, part).equals(fileBytes(a, part))).toBe(true);
    });
  }
});

describe("input order", () => {
  it("an input not in canonical order gives the same parts, byte for byte, and the same metadata", async () => {
    const shuffled = path.join(tmp, "shuffled.parquet");
    // Rows scrambled (the canonical toy is written sorted by user_id, ts, item_id, event_idx).
    await db.copyToParquet(`SELECT * FROM (${toySql(toyEvents(20, 9, 8))}) ORDER BY (event_idx * 37) % 101, event_idx`, shuffled);
    const cases: [SplitStrategy, Partial<SplitOptions>][] = [
      ["per_user_chronological", { positive: { min_rating: 2 } }],
      ["leave_last_out", {}],
      ["strong_generalization", { n_heldout_users: 3, seed: 11 }],
      ["random", { seed: 5, group_by_user: true }],
      ["global_time", { val_start: T0 + 4 * DAY, test_start: T0 + 7 * DAY, kcore: { users: 3, items: 2 } }],
    ];
    for (const [strategy, extra] of cases) {
      const a = outDir(`order-${strategy}`);
      const b = outDir(`order-${strategy}`);
      const ma = await splitInteractions(db, { input: toyFile, outDir: a, strategy, ...extra });
      const mb = await splitInteractions(db, { input: shuffled, outDir: b, strategy, ...extra });
      expect({ ...mb, input: "" }).toEqual({ ...ma, input: "" });
      for (const part of Object.keys(ma.parts)) expect(fileBytes(b, part).equals(fileBytes(a, part)), `${strategy} ${part}`).toBe(true);
    }
  });

  it("rejects an input whose event_idx is not unique", async () => {
    const dup = path.join(tmp, "dup.parquet");
    await writeToyInteractions(db, dup, [
      { user: 0, item: 1, ts: T0, event_idx: 0 },
      { user: 0, item: 2, ts: T0 + DAY, event_idx: 0 },
      { user: 1, item: 1, ts: T0, event_idx: 1 },
    ]);
    await expect(splitInteractions(db, { input: dup, outDir: outDir("dup"), strategy: "per_user_chronological" })).rejects.toThrow(
      /event_idx is not unique .*\(2 distinct of 3 rows\)/,
    );
  });
});

