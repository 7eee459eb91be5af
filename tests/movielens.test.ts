import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Duck, sqlString } from "../src/data/duck";
import { countMovieLens, detectMovieLensFormat, movieLensSource } from "../src/data/movielens";
import type { DelimitedFormat, EventFileSpec } from "../src/data/source";
import { InputError } from "../src/util/errors";

const FIX = path.join(__dirname, "fixtures", "movielens");
const fx = (...p: string[]): string => path.join(FIX, ...p);

let db: Duck;
let tmp: string;
beforeAll(async () => {
  db = await Duck.open({ threads: 1 });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-ml-"));
});
afterAll(() => {
  db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

type Item = { item_key: string; title: string; genres: string[]; release_year: number | null };
async function items(sql: string | undefined): Promise<Map<string, Item>> {
  expect(sql).toBeTypeOf("string");
  const rows = await db.rows<Item>(`SELECT * FROM (${sql}) ORDER BY item_key`);
  return new Map(rows.map((r) => [r.item_key, r]));
}

/** Builds read_csv from the spec's own fields, independently of the module's helper. */
function readFromSpec(spec: EventFileSpec): string {
  const f = spec.format as DelimitedFormat;
  const q = f.quote ?? '"';
  const cols = f.columns.map((c) => `'${c}': 'VARCHAR'`).join(", ");
  return `read_csv(${sqlString(spec.path)}, delim=${sqlString(f.delimiter)}, header=${f.header}, quote=${sqlString(q)}, escape=${sqlString(q)}, auto_detect=false, columns={${cols}})`;
}

describe("detectMovieLensFormat", () => {
  it("recognises the three layouts", () => {
    const a = detectMovieLensFormat(fx("ml-100k"));
    expect(a.layout).toBe("100k");
    expect(path.basename(a.ratings)).toBe("u.data");
    expect(path.basename(a.items!)).toBe("u.item");
    expect(path.basename(a.users!)).toBe("u.user");
    expect(path.basename(a.genres!)).toBe("u.genre");

    const b = detectMovieLensFormat(fx("ml-1m"));
    expect(b.layout).toBe("dat");
    expect(path.basename(b.ratings)).toBe("ratings.dat");
    expect(path.basename(b.users!)).toBe("users.dat");
    expect(b.tags).toBeUndefined();

    const c = detectMovieLensFormat(fx("ml-latest-small"));
    expect(c.layout).toBe("csv");
    expect(path.basename(c.ratings)).toBe("ratings.csv");
    expect(path.basename(c.tags!)).toBe("tags.csv");
    expect(path.basename(c.links!)).toBe("links.csv");
    expect(c.users).toBeUndefined();
  });

  it("accepts a parent folder with exactly one ml-* subfolder", () => {
    const parent = path.join(tmp, "parent");
    fs.mkdirSync(path.join(parent, "ml-1m"), { recursive: true });
    for (const f of fs.readdirSync(fx("ml-1m"))) fs.copyFileSync(fx("ml-1m", f), path.join(parent, "ml-1m", f));
    const got = detectMovieLensFormat(parent);
    expect(got.layout).toBe("dat");
    expect(got.dir).toBe(path.join(parent, "ml-1m"));
    expect(movieLensSource(parent).name).toBe("ml-1m");

    fs.mkdirSync(path.join(parent, "ml-other"));
    expect(() => detectMovieLensFormat(parent)).toThrow(/several MovieLens subfolders \(ml-1m, ml-other\)/);
  });

  it("names the folder and what was expected when it is missing, empty or foreign", () => {
    const missing = path.join(tmp, "nope");
    expect(() => detectMovieLensFormat(missing)).toThrow(InputError);
    expect(() => detectMovieLensFormat(missing)).toThrow(new RegExp(`${escape(missing)}: MovieLens folder not found; expected u\\.data`));

    const empty = path.join(tmp, "empty");
    fs.mkdirSync(empty);
    expect(() => detectMovieLensFormat(empty)).toThrow(/folder is empty; expected u\.data .*ratings\.dat .*ratings\.csv/);

    const foreign = path.join(tmp, "foreign");
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, "events.csv"), "a,b\n1,2\n");
    expect(() => detectMovieLensFormat(foreign)).toThrow(/no MovieLens files in folder/);

    const zip = path.join(tmp, "ml-100k.zip");
    fs.writeFileSync(zip, "PK");
    expect(() => detectMovieLensFormat(zip)).toThrow(/this is a file \(unzip it first/);
  });

  it("rejects a ratings.csv without the MovieLens header", () => {
    const dir = path.join(tmp, "badheader");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "ratings.csv"), "user,item,score,time\n1,2,3,4\n");
    expect(() => detectMovieLensFormat(dir)).toThrow(/ratings\.csv:1, value "user,item,score,time": not a MovieLens ratings\.csv/);
  });
});

describe("movieLensSource events", () => {
  it("ML-100K: headerless tab-separated u.data, ratings 1..5", async () => {
    const s = movieLensSource(fx("ml-100k"));
    expect(s.name).toBe("ml-100k");
    expect(s.events.path).toBe(fx("ml-100k", "u.data"));
    expect(s.events.format).toMatchObject({ kind: "delimited", delimiter: "\t", header: false, columns: ["user", "item", "rating", "timestamp"] });
    expect(s.events.mapping).toEqual({ user: "user", item: "item", rating: "rating", timestamp: "timestamp" });
    expect(s.events).toMatchObject({ timestampUnit: "s", idType: "integer", ratingRange: [1, 5], defaultEventType: "rating" });
    const r = await db.one<{ n: bigint; bad: bigint }>(`SELECT count(*) n, count(*) FILTER (WHERE "timestamp" IS NULL) bad FROM ${readFromSpec(s.events)}`);
    expect(Number(r.n)).toBe(18);
    expect(Number(r.bad)).toBe(0);
  });

  it("ML-1M: headerless '::' ratings.dat, ratings 1..5", async () => {
    const s = movieLensSource(fx("ml-1m"));
    expect(s.name).toBe("ml-1m");
    expect(s.events.format).toMatchObject({ delimiter: "::", header: false });
    expect(s.events.ratingRange).toEqual([1, 5]);
    const rows = await db.rows<{ user: string; item: string; rating: string; timestamp: string }>(`SELECT * FROM ${readFromSpec(s.events)}`);
    expect(rows).toHaveLength(12);
    expect(rows[0]).toEqual({ user: "1", item: "1", rating: "5", timestamp: "978300760" });
  });

  it("CSV releases: ratings.csv with header, half-star range", async () => {
    const s = movieLensSource(fx("ml-latest-small"));
    expect(s.name).toBe("ml-latest-small");
    expect(s.events.format).toMatchObject({ delimiter: ",", header: true, columns: ["userId", "movieId", "rating", "timestamp"] });
    expect(s.events.mapping).toEqual({ user: "userId", item: "movieId", rating: "rating", timestamp: "timestamp" });
    expect(s.events.ratingRange).toEqual([0.5, 5]);
    const r = await db.one<{ n: bigint; lo: number }>(`SELECT count(*) n, min(CAST(rating AS DOUBLE)) lo FROM ${readFromSpec(s.events)}`);
    expect(Number(r.n)).toBe(14);
    expect(r.lo).toBe(0.5);
  });

  it("variant: inferred from the layout when the folder name says nothing, and checked against it", () => {
    const dir = path.join(tmp, "my-ratings");
    fs.mkdirSync(dir);
    for (const f of fs.readdirSync(fx("ml-latest-small"))) fs.copyFileSync(fx("ml-latest-small", f), path.join(dir, f));
    expect(movieLensSource(dir).name).toBe("ml-latest");
    expect(movieLensSource(dir, "ml-25m").name).toBe("ml-25m");
    expect(movieLensSource(dir, "ml-25m").events.ratingRange).toEqual([0.5, 5]);
    expect(() => movieLensSource(dir, "ml-1m")).toThrow(/csv layout .* not ml-1m/);
  });

  it("countMovieLens counts ratings and distinct users/items", async () => {
    expect(await countMovieLens(db, fx("ml-100k"))).toEqual({ ratings: 18, users: 5, items: 7 });
    expect(await countMovieLens(db, fx("ml-1m"))).toEqual({ ratings: 12, users: 4, items: 4 });
    // movie 300 is in movies.csv but never rated
    expect(await countMovieLens(db, fx("ml-latest-small"))).toEqual({ ratings: 14, users: 4, items: 6 });
  });
});

describe("movieLensSource dimensions", () => {
  it("ML-100K items: Latin-1 titles, genre flags in u.genre order, release year", async () => {
    const s = movieLensSource(fx("ml-100k"));
    const it = await items(s.dimensions.itemsSql);
    expect(it.size).toBe(7);
    expect(it.get("2")).toEqual({ item_key: "2", title: "Misérables, Les (1995)", genres: ["Drama", "Musical"], release_year: 1995 });
    expect(it.get("1")!.genres).toEqual(["Animation", "Children's", "Comedy"]);
    expect(it.get("7")!.genres).toEqual(["Action", "Adventure", "Romance", "Sci-Fi", "War"]);
    expect(it.get("3")!.title).toBe("Shawshank Redemption, The (1994)");
    // "unknown" flag → no genres; no date and no year in the title → NULL
    expect(it.get("4")).toEqual({ item_key: "4", title: "unknown", genres: [], release_year: null });
    // one-digit day in the release date
    expect(it.get("5")!.release_year).toBe(1971);
    // empty release date falls back to the title
    expect(it.get("6")!.release_year).toBe(1994);
  });

  it("ML-100K users: demographics", async () => {
    const s = movieLensSource(fx("ml-100k"));
    const rows = await db.rows(`SELECT * FROM (${s.dimensions.usersSql}) ORDER BY user_key`);
    expect(rows).toHaveLength(5);
    expect(rows[1]).toEqual({ user_key: "2", age: 47, gender: "M", occupation: "educator", zip: "T8H1N" });
    expect(rows[2]).toEqual({ user_key: "3", age: 19, gender: "F", occupation: "student", zip: "02139" });
    expect(s.dimensions.tagsSql).toBeUndefined();
  });

  it("ML-1M items: Latin-1 movies.dat, nested parentheses, '|' genres", async () => {
    const s = movieLensSource(fx("ml-1m"));
    const it = await items(s.dimensions.itemsSql);
    expect([...it.keys()]).toEqual(["1", "2", "3", "5"]);
    expect(it.get("2")).toEqual({
      item_key: "2",
      title: "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
      genres: ["Adventure", "Sci-Fi"],
      release_year: 1995,
    });
    expect(it.get("5")!.title).toBe("Café au Lait (Métisse) (1993)");
    expect(it.get("3")).toMatchObject({ genres: ["Animation", "Children's"], release_year: 1942 });
  });

  it("ML-1M users: age kept as the bucket code, occupation code mapped to its name", async () => {
    const s = movieLensSource(fx("ml-1m"));
    const rows = await db.rows(`SELECT * FROM (${s.dimensions.usersSql}) ORDER BY user_key`);
    expect(rows).toEqual([
      { user_key: "1", age: 18, gender: "F", occupation: "college/grad student", zip: "55455" },
      { user_key: "2", age: 56, gender: "M", occupation: "retired", zip: "70072-3301" },
      { user_key: "3", age: 25, gender: "M", occupation: "other", zip: "02460" },
      { user_key: "4", age: 1, gender: "F", occupation: "writer", zip: "98107" },
    ]);
  });

  it("CSV items: quoted titles with commas and doubled quotes, no-genre marker, year forms", async () => {
    const s = movieLensSource(fx("ml-latest-small"));
    const it = await items(s.dimensions.itemsSql);
    expect(it.size).toBe(7);
    expect(it.get("11")).toEqual({ item_key: "11", title: "American President, The (1995)", genres: ["Comedy", "Drama", "Romance"], release_year: 1995 });
    expect(it.get("29")!.title).toBe("City of Lost Children, The (Cité des enfants perdus, La) (1995)");
    expect(it.get("100")!.title).toBe('"Great Performances" Cats (1998)');
    expect(it.get("193609")).toEqual({ item_key: "193609", title: "Some Documentary (2018)", genres: [], release_year: 2018 });
    expect(it.get("200")!.release_year).toBeNull();
    expect(it.get("300")!.release_year).toBe(1975);
    expect(s.dimensions.usersSql).toBeUndefined();
  });

  it("CSV tags: quoted tag with a comma", async () => {
    const s = movieLensSource(fx("ml-latest-small"));
    const rows = await db.rows<{ user_key: string; item_key: string; tag: string; ts: bigint }>(`SELECT * FROM (${s.dimensions.tagsSql})`);
    expect(rows).toHaveLength(3);
    expect(rows[1]).toEqual({ user_key: "2", item_key: "11", tag: "funny, quotable", ts: 1445714996n });
  });

  it("ML-10M-style folder: no users.dat, tags.dat whose tag contains '::'", async () => {
    const dir = path.join(tmp, "ml-10M100K");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "ratings.dat"), "1::122::5::838985046\n1::185::4.5::838983525\n2::122::0.5::868245777\n");
    fs.writeFileSync(path.join(dir, "movies.dat"), Buffer.from("122::Boomerang (1992)::Comedy|Romance\n185::Net, The (1995)::Action|Crime|Thriller\n", "utf8"));
    fs.writeFileSync(path.join(dir, "tags.dat"), "15::4973::excellent!::1215184630\n20::122::a::b tag::1188263867\n");
    const s = movieLensSource(dir);
    expect(s.name).toBe("ml-10m");
    expect(s.events.ratingRange).toEqual([0.5, 5]);
    expect(s.dimensions.usersSql).toBeUndefined();
    const it = await items(s.dimensions.itemsSql);
    expect(it.get("185")).toEqual({ item_key: "185", title: "Net, The (1995)", genres: ["Action", "Crime", "Thriller"], release_year: 1995 });
    const tags = await db.rows(`SELECT * FROM (${s.dimensions.tagsSql})`);
    expect(tags).toEqual([
      { user_key: "15", item_key: "4973", tag: "excellent!", ts: 1215184630n },
      { user_key: "20", item_key: "122", tag: "a::b tag", ts: 1188263867n },
    ]);
  });

  it("a malformed movies.dat line stops the query naming the file and the line", async () => {
    const dir = path.join(tmp, "ml-1m-broken");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "ratings.dat"), "1::1::5::978300760\n");
    fs.writeFileSync(path.join(dir, "users.dat"), "1::F::1::10::48067\n");
    fs.writeFileSync(path.join(dir, "movies.dat"), "1::Toy Story (1995)::Comedy\nthis is not a movie\n");
    const s = movieLensSource(dir, "ml-1m");
    await expect(db.rows(s.dimensions.itemsSql!)).rejects.toThrow(/movies\.dat: cannot parse line: this is not a movie/);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
