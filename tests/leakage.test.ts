import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Duck, parquet } from "../src/data/duck";
import { assertReadWithin, checkSplitLeakage, splitInteractions } from "../src/split";
import { LeakageError } from "../src/util/errors";
import { DAY, T0, toyEvents, writeToyInteractions, type ToyEvent } from "./helpers/toy-interactions";

let db: Duck;
let tmp: string;
let n = 0;

beforeAll(async () => {
  db = await Duck.open();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-leak-"));
});

afterAll(() => {
  db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Writes hand-made parts into a fresh split directory. */
async function writeSplit(parts: Record<string, ToyEvent[]>): Promise<string> {
  n += 1;
  const dir = path.join(tmp, `split-${n}`);
  for (const [name, events] of Object.entries(parts)) await writeToyInteractions(db, path.join(dir, `${name}.parquet`), events);
  return dir;
}

const e = (user: number, item: number, day: number, event_idx: number): ToyEvent => ({ user, item, ts: T0 + day * DAY, rating: 4, event_idx });

/** A clean per-user chronological split of users 3 and 7. */
const CLEAN = {
  train: [e(3, 1, 0, 0), e(3, 2, 1, 1), e(7, 1, 0, 5), e(7, 3, 2, 6)],
  val: [e(3, 4, 2, 2), e(7, 4, 3, 7)],
  test: [e(3, 5, 3, 3), e(7, 5, 4, 8)],
};

describe("checkSplitLeakage", () => {
  it("passes a clean hand-written split", async () => {
    const dir = await writeSplit(CLEAN);
    const report = await checkSplitLeakage(db, { dir, strategy: "per_user_chronological", expectedRows: 8 });
    expect(report).toEqual({
      strategy: "per_user_chronological",
      leakage_safe: true,
      checks: ["parts_disjoint", "row_count_matches", "per_user_canonical_order"],
      notes: [],
    });
  });

  it("fails when a user's train event is later than their test event, naming the user and times", async () => {
    // User 7's train row on day 9 is later than the test row on day 4.
    const dir = await writeSplit({ ...CLEAN, train: [...CLEAN.train, e(7, 9, 9, 9)] });
    const run = checkSplitLeakage(db, { dir, strategy: "per_user_chronological" });
    await expect(run).rejects.toThrow(LeakageError);
    await expect(checkSplitLeakage(db, { dir, strategy: "leave_last_out" })).rejects.toThrow(
      new RegExp(`user 7: train has an event at ts ${T0 + 9 * DAY} \\(2020-01-10T00:00:00.000Z\\) later than a val event at ts ${T0 + 3 * DAY}`),
    );
  });

  it("allows a ts tie across parts only in canonical order", async () => {
    // Same second: train item 1, val item 2 → canonical (item 1 first) → fine.
    const ok = await writeSplit({ train: [e(1, 1, 0, 10)], val: [e(1, 2, 0, 11)], test: [e(1, 3, 1, 12)] });
    await expect(checkSplitLeakage(db, { dir: ok, strategy: "per_user_chronological" })).resolves.toBeTruthy();
    // Swapped items: the train event sorts after the val event although the times tie.
    const bad = await writeSplit({ train: [e(1, 2, 0, 10)], val: [e(1, 1, 0, 11)], test: [e(1, 3, 1, 12)] });
    await expect(checkSplitLeakage(db, { dir: bad, strategy: "per_user_chronological" })).rejects.toThrow(/user 1: train and val events tie at ts/);
  });

  it("fails on an event that is in two parts", async () => {
    const dir = await writeSplit({ ...CLEAN, test: [...CLEAN.test, e(3, 2, 1, 1)] });
    await expect(checkSplitLeakage(db, { dir, strategy: "global_time" })).rejects.toThrow(/1 event\(s\) occur in more than one part.*event_idx 1 of user 3 is in train, test/);
  });

  it("fails when the union differs from the input", async () => {
    const dir = await writeSplit(CLEAN);
    const input = path.join(tmp, "input-extra.parquet");
    await writeToyInteractions(db, input, [...Object.values(CLEAN).flat(), e(9, 9, 9, 99)]);
    await expect(checkSplitLeakage(db, { dir, strategy: "per_user_chronological", input: parquet(input) })).rejects.toThrow(/event_idx 99 \(user 9/);
    await expect(checkSplitLeakage(db, { dir, strategy: "per_user_chronological", expectedRows: 9 })).rejects.toThrow(/8 rows but the filtered input has 9/);
  });

  it("global_time: fails on an event on the wrong side of a cutoff, naming user and ts", async () => {
    const dir = await writeSplit({ train: [e(1, 1, 0, 0), e(4, 1, 5, 1)], val: [e(1, 2, 5, 2)], test: [e(1, 3, 8, 3)] });
    const cutoffs = { val_start: T0 + 5 * DAY, test_start: T0 + 8 * DAY };
    await expect(checkSplitLeakage(db, { dir, strategy: "global_time", cutoffs })).rejects.toThrow(/user 4 has a train event at ts \d+ \(2020-01-06.*not before val_start/);
    // Without cutoffs the parts' own boundaries are compared strictly: train day 5 = first val day.
    await expect(checkSplitLeakage(db, { dir, strategy: "global_time" })).rejects.toThrow(/user 4/);
    const clean = await writeSplit({ train: [e(1, 1, 0, 0), e(4, 1, 4, 1)], val: [e(1, 2, 5, 2)], test: [e(1, 3, 8, 3)] });
    const r = await checkSplitLeakage(db, { dir: clean, strategy: "global_time", cutoffs });
    expect(r.checks).toContain("global_cutoffs");
  });

  it("strong_generalization: fails when a held-out user appears in train", async () => {
    const parts = {
      train: [e(1, 1, 0, 0), e(2, 1, 0, 1)],
      val: [e(3, 1, 0, 2), e(3, 2, 1, 3)],
      val_foldin: [e(3, 1, 0, 2)],
      val_holdout: [e(3, 2, 1, 3)],
      test: [e(4, 1, 0, 4), e(4, 2, 1, 5)],
      test_foldin: [e(4, 1, 0, 4)],
      test_holdout: [e(4, 2, 1, 5)],
    };
    const ok = await writeSplit(parts);
    expect((await checkSplitLeakage(db, { dir: ok, strategy: "strong_generalization", foldinOrder: "chronological" })).checks).toContain("foldin_before_holdout");
    const bad = await writeSplit({ ...parts, train: [...parts.train, e(4, 7, 0, 6)] });
    await expect(checkSplitLeakage(db, { dir: bad, strategy: "strong_generalization" })).rejects.toThrow(/user 4 is in train, test/);
    const badSub = await writeSplit({ ...parts, val_holdout: [] });
    await expect(checkSplitLeakage(db, { dir: badSub, strategy: "strong_generalization" })).rejects.toThrow(/event_idx 3/);
  });

  it("random: out-of-order parts are reported as not leakage-safe without failing", async () => {
    const dir = await writeSplit({ ...CLEAN, train: [...CLEAN.train, e(7, 9, 9, 9)] });
    const r = await checkSplitLeakage(db, { dir, strategy: "random" });
    expect(r.leakage_safe).toBe(false);
    expect(r.notes[0]).toMatch(/not checked/);
  });

  it("runs at the end of every split and passes on real splits", async () => {
    const input = path.join(tmp, "toy.parquet");
    await writeToyInteractions(db, input, toyEvents());
    for (const strategy of ["per_user_chronological", "leave_last_out"] as const) {
      const dir = path.join(tmp, `real-${strategy}`);
      const meta = await splitInteractions(db, { input, outDir: dir, strategy });
      expect(meta.leakage.checks).toEqual(["parts_disjoint", "union_equals_input", "per_user_canonical_order"]);
      // Re-checking the written files independently gives the same verdict.
      await expect(checkSplitLeakage(db, { dir, strategy, expectedRows: meta.filtering.split_rows })).resolves.toMatchObject({ leakage_safe: true });
    }
  });
});

describe("assertReadWithin", () => {
  const cutoff = T0 + 10 * DAY;
  it("fails for a features artifact that read past the train cutoff", () => {
    expect(() => assertReadWithin({ name: "features", timeRange: { min: T0, max: cutoff + 1 } }, { maxTs: cutoff, what: "the train cutoff" })).toThrow(LeakageError);
    expect(() => assertReadWithin({ name: "features", timeRange: { min: T0, max: cutoff + 1 } }, { maxTs: cutoff, what: "the train cutoff" })).toThrow(
      /features read data up to ts 1578700801 .* later than the train cutoff \(ts 1578700800/,
    );
  });
  it("passes at or before the cutoff and for artifacts that read no events", () => {
    expect(() => assertReadWithin({ name: "features", timeRange: { min: T0, max: cutoff } }, { maxTs: cutoff, what: "the train cutoff" })).not.toThrow();
    expect(() => assertReadWithin({ name: "model", timeRange: { min: null, max: null } }, { maxTs: cutoff, what: "the train cutoff" })).not.toThrow();
  });
});
