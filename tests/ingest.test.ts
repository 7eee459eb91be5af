import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { Duck } from "../src/data/duck";
import { genericEventsSource, type GenericEventsOptions } from "../src/data/events";
import { ingestDataset, type ValidationRules } from "../src/data/ingest";
import { InputError } from "../src/util/errors";
import { tmpDir, writeFile } from "./helpers/tmp";

const RULES: ValidationRules = {
  ratingRange: [0.5, 5],
  maxBadFraction: 0.9,
  maxFutureSeconds: 86_400,
  minTs: 631_152_000, // 1990-01-01
  dropDuplicates: true,
  nowTs: 1_700_000_000,
};

function csvSource(file: string, over: Partial<GenericEventsOptions> = {}) {
  return genericEventsSource({
    path: file,
    format: "auto",
    delimiter: ",",
    header: true,
    encoding: "utf-8",
    columns: { user: "user_id", item: "item_id", timestamp: "timestamp", rating: "rating", weight: null, revenue: null, event_type: null },
    timestampUnit: "auto",
    idType: "string",
    ...over,
  });
}

let db: Duck;
let dir: string;
beforeAll(async () => {
  db = await Duck.open({ threads: 2 });
  dir = tmpDir();
});
afterAll(() => db.close());

async function quarantine(out: string) {
  return db.rows<{ line: bigint; column: string; value: string | null; reason: string }>(
    `SELECT line, "column", value, reason FROM read_parquet('${out}/quarantine.parquet') ORDER BY line`,
  );
}

describe("ingestDataset on a generic CSV", () => {
  it("quarantines each kind of bad row with file, line, column, value and reason, and keeps the rest", async () => {
    const file = writeFile(
      dir,
      "mixed.csv",
      [
        "user_id,item_id,timestamp,rating",
        "u1,i10,964982703,4.0", // 2 ok
        "u1,i11,964982704,5", // 3 ok
        "u2,i10,964982224", // 4 malformed (missing column)
        "u3,,964982224,3", // 5 missing item
        "u3,i12,notatime,3", // 6 bad timestamp
        "u3,i12,964982225,9", // 7 rating out of range
        "u4,i13,964982226,x", // 8 rating not numeric
        "u4,i13,964982227,2", // 9 ok
        "u4,i13,964982227,2", // 10 duplicate of 9
        "u5,i14,4102444800,3", // 11 future
        "u6,i15,100,2", // 12 before 1990
        "u7,i16,964982300,3,extra", // 13 too many columns
      ].join("\n"),
    );
    const out = path.join(dir, "mixed-out");
    const rep = await ingestDataset(db, csvSource(file), RULES, out);
    expect(rep.read).toBe(12);
    expect(rep.kept).toBe(3);
    expect(rep.quarantined).toBe(9);
    expect(rep.read).toBe(rep.kept + rep.quarantined);
    const q = await quarantine(out);
    const byLine = new Map(q.map((r) => [Number(r.line), r]));
    expect(byLine.get(4)?.reason).toMatch(/malformed line: missing columns/);
    expect(byLine.get(5)).toMatchObject({ column: "item_id", reason: "missing item id" });
    expect(byLine.get(6)).toMatchObject({ column: "timestamp", value: "notatime" });
    expect(byLine.get(6)?.reason).toMatch(/unparseable timestamp/);
    expect(byLine.get(7)).toMatchObject({ column: "rating", value: "9", reason: "rating out of range [0.5, 5]" });
    expect(byLine.get(8)).toMatchObject({ column: "rating", value: "x", reason: "rating is not a number" });
    expect(byLine.get(10)?.reason).toMatch(/duplicate event .*line 9/);
    expect(byLine.get(11)?.reason).toMatch(/future/);
    expect(byLine.get(12)?.reason).toMatch(/before 1990-01-01/);
    expect(byLine.get(13)?.reason).toMatch(/too many columns/);
    expect([...byLine.keys()].sort((a, b) => a - b)).toEqual([4, 5, 6, 7, 8, 10, 11, 12, 13]);
  });

  it("assigns dense ids in key order and keeps the original ids in the dimension tables", async () => {
    const file = writeFile(dir, "ids.csv", "user_id,item_id,timestamp,rating\nb,y,1000000000,1\na,z,1000000001,2\na,x,1000000002,3\n");
    const out = path.join(dir, "ids-out");
    await ingestDataset(db, csvSource(file), RULES, out);
    const users = await db.rows(`SELECT user_id, user_key FROM read_parquet('${out}/users.parquet') ORDER BY user_id`);
    expect(users).toEqual([
      { user_id: 0, user_key: "a" },
      { user_id: 1, user_key: "b" },
    ]);
    const inter = await db.rows<{ user_id: number; item_id: number; ts: bigint }>(`SELECT user_id, item_id, ts FROM read_parquet('${out}/interactions.parquet')`);
    expect(inter.map((r) => [r.user_id, r.item_id, Number(r.ts)])).toEqual([
      [0, 2, 1000000001],
      [0, 0, 1000000002],
      [1, 1, 1000000000],
    ]);
  });

  it("orders integer ids numerically, not as text", async () => {
    const file = writeFile(dir, "intids.csv", "user_id,item_id,timestamp\n10,2,1000000000\n9,10,1000000001\n");
    const out = path.join(dir, "intids-out");
    await ingestDataset(db, csvSource(file, { idType: "integer", columns: { user: "user_id", item: "item_id", timestamp: "timestamp", rating: null, weight: null, revenue: null, event_type: null } }), RULES, out);
    const users = await db.rows(`SELECT user_id, user_key FROM read_parquet('${out}/users.parquet') ORDER BY user_id`);
    expect(users).toEqual([
      { user_id: 0, user_key: "9" },
      { user_id: 1, user_key: "10" },
    ]);
  });

  it("quarantines non-numeric ids when ids must be integers", async () => {
    const file = writeFile(dir, "badid.csv", "user_id,item_id,timestamp\n1,2,1000000000\nabc,2,1000000001\n3,4,1000000002\n");
    const out = path.join(dir, "badid-out");
    const rep = await ingestDataset(db, csvSource(file, { idType: "integer" , columns: { user: "user_id", item: "item_id", timestamp: "timestamp", rating: null, weight: null, revenue: null, event_type: null } }), RULES, out);
    expect(rep.quarantineByReason).toEqual({ "user id is not an integer": 1 });
    const q = await quarantine(out);
    expect(q[0]).toMatchObject({ line: 3n, column: "user_id", value: "abc" });
  });

  it("reads millisecond timestamps as milliseconds when told or detected, and flags seconds mixed in", async () => {
    const ms = writeFile(dir, "ms.csv", "user_id,item_id,timestamp\n1,2,1000000000000\n1,3,1000000005000\n2,3,1000000010000\n2,4,1000000020\n");
    const out = path.join(dir, "ms-out");
    const rep = await ingestDataset(db, csvSource(ms, { columns: { user: "user_id", item: "item_id", timestamp: "timestamp", rating: null, weight: null, revenue: null, event_type: null } }), RULES, out);
    expect(rep.timestampUnit).toBe("ms");
    expect(rep.timeRange).toEqual({ min: 1000000000, max: 1000000010 });
    expect(rep.warnings.join(" ")).toMatch(/milliseconds/);
    // the seconds value read as ms lands in 1970 and is quarantined, not silently kept
    expect(rep.quarantineByReason).toEqual({ "timestamp before 1990-01-01": 1 });
  });

  it("parses ISO timestamps", async () => {
    const f = writeFile(dir, "iso.csv", "user_id,item_id,timestamp\n1,2,2001-09-09T01:46:40Z\n1,3,2001-09-09 01:46:41\n");
    const rep = await ingestDataset(db, csvSource(f, { columns: { user: "user_id", item: "item_id", timestamp: "timestamp", rating: null, weight: null, revenue: null, event_type: null } }), RULES, path.join(dir, "iso-out"));
    expect(rep.timestampUnit).toBe("iso");
    expect(rep.timeRange).toEqual({ min: 1000000000, max: 1000000001 });
  });

  it("fails with a clear error when the bad fraction exceeds the threshold, listing the first problems", async () => {
    const f = writeFile(dir, "mostlybad.csv", "user_id,item_id,timestamp,rating\n1,2,x,1\n1,3,y,1\n1,4,1000000000,1\n");
    const err = await ingestDataset(db, csvSource(f), { ...RULES, maxBadFraction: 0.1 }, path.join(dir, "mb-out")).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/2 of 3 rows .*validation.max_bad_fraction = 0.1/);
    expect(err.message).toMatch(/mostlybad\.csv:2, column 'timestamp', value "x": unparseable timestamp/);
  });
});

describe("ingestDataset rejects unusable files with one clear error", () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ["a file that does not exist", () => path.join(dir, "nope.csv"), /nope\.csv: file not found/],
    ["an empty file", () => writeFile(dir, "empty.csv", ""), /empty\.csv: file is empty/],
    ["a header with no rows", () => writeFile(dir, "header.csv", "user_id,item_id,timestamp,rating\n"), /header but no data rows/],
    ["the wrong delimiter", () => writeFile(dir, "semi.csv", "user_id;item_id;timestamp;rating\n1;2;1000000000;4\n"), /semi\.csv:1.*found 1.*";"-separated/],
    ["a missing column", () => writeFile(dir, "nocol.csv", "user_id,item_id,rating\n1,2,4\n"), /nocol\.csv:1, column 'timestamp': missing column 'timestamp'.*user_id, item_id, rating/],
    ["a directory", () => dir, /expected a file/],
  ];
  for (const [name, make, re] of cases) {
    it(name, async () => {
      const err = await ingestDataset(db, csvSource(make()), RULES, path.join(dir, "bad-out")).catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toMatch(re);
    });
  }
});

describe("ingestDataset on Parquet", () => {
  it("reads a Parquet event log with a column mapping, reporting row numbers", async () => {
    const f = path.join(dir, "ev.parquet");
    await db.run(`COPY (SELECT * FROM (VALUES ('a', 'x', 1000000000::BIGINT, 4.0), ('b', NULL, 1000000001::BIGINT, 3.0), ('b', 'y', 1000000002::BIGINT, 2.0)) t(usr, itm, time, stars)) TO '${f}' (FORMAT parquet)`);
    const src = csvSource(f, { columns: { user: "usr", item: "itm", timestamp: "time", rating: "stars", weight: null, revenue: null, event_type: null } });
    const out = path.join(dir, "pq-out");
    const rep = await ingestDataset(db, src, RULES, out);
    expect(rep).toMatchObject({ read: 3, kept: 2, quarantined: 1, users: 2, items: 2 });
    const q = await quarantine(out);
    expect(q).toEqual([{ line: 2n, column: "itm", value: null, reason: "missing item id" }]);
    expect(fs.existsSync(path.join(out, "interactions.parquet"))).toBe(true);
  });
});
