/**
 * MovieLens as a `DatasetSource`. GroupLens has published three on-disk layouts over the years:
 *
 * - `100k`: ML-100K. Tab-separated `u.data`, pipe-separated `u.item` (19 genre flag columns)
 *   and `u.user`. Latin-1 text.
 * - `dat`: ML-1M and ML-10M. `::`-separated `ratings.dat`, `movies.dat` (genres joined by `|`),
 *   ML-1M adds coded demographics in `users.dat`, ML-10M adds `tags.dat`. ML-1M is Latin-1.
 * - `csv`: ML-20M, 25M, 32M, latest, latest-small. RFC-4180 CSV with headers, UTF-8, quoted
 *   titles, optional `tags.csv` and `links.csv`.
 *
 * Everything here only describes files (paths, delimiters, SQL over `read_csv`); reading and
 * validating the events is ingestion's job.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { InputError } from "../util/errors";
import { Duck, quoteIdent, sqlString } from "./duck";
import type { DatasetSource, DelimitedFormat, DimensionTables, EventFileSpec } from "./source";

/** The MovieLens releases NTG knows by name. */
export type MovieLensVariant = "ml-100k" | "ml-1m" | "ml-10m" | "ml-20m" | "ml-25m" | "ml-32m" | "ml-latest" | "ml-latest-small";

/** All variant names, in release order. */
export const MOVIELENS_VARIANTS: readonly MovieLensVariant[] = [
  "ml-100k",
  "ml-1m",
  "ml-10m",
  "ml-20m",
  "ml-25m",
  "ml-32m",
  "ml-latest",
  "ml-latest-small",
];

/** On-disk layout of a MovieLens folder (see the module comment). */
export type MovieLensLayout = "100k" | "dat" | "csv";

/** What `detectMovieLensFormat` found: the layout and the absolute path of each file present. */
export interface MovieLensFiles {
  /** the folder that actually holds the files (may be a `ml-*` child of the folder given) */
  dir: string;
  layout: MovieLensLayout;
  ratings: string;
  items?: string;
  users?: string;
  tags?: string;
  links?: string;
  /** ML-100K only: the genre list `u.genre` */
  genres?: string;
}

const LAYOUT_VARIANTS: Record<MovieLensLayout, MovieLensVariant[]> = {
  "100k": ["ml-100k"],
  dat: ["ml-1m", "ml-10m"],
  csv: ["ml-20m", "ml-25m", "ml-32m", "ml-latest", "ml-latest-small"],
};

const EXPECTED_FILES =
  "expected u.data (+ u.item, u.user) for ML-100K, ratings.dat (+ movies.dat, users.dat or tags.dat) for ML-1M/ML-10M, " +
  "or ratings.csv with header userId,movieId,rating,timestamp (+ movies.csv, tags.csv) for ML-20M/25M/32M/latest";

const CSV_RATINGS_HEADER = ["userId", "movieId", "rating", "timestamp"];

/**
 * Works out which MovieLens layout `dir` holds from the files present. `dir` may also be a parent
 * folder with exactly one `ml-*` subfolder (e.g. where a zip was unpacked).
 * Throws `InputError` naming the folder when it is missing, empty or holds none of the layouts.
 */
export function detectMovieLensFormat(dir: string): MovieLensFiles {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs)) {
    throw new InputError(`MovieLens folder not found; ${EXPECTED_FILES}`, { file: abs });
  }
  if (!fs.statSync(abs).isDirectory()) {
    const hint = abs.toLowerCase().endsWith(".zip") ? " (unzip it first, or use `ntg data fetch`)" : "";
    throw new InputError(`expected a MovieLens folder but this is a file${hint}; ${EXPECTED_FILES}`, { file: abs });
  }
  const direct = detectIn(abs);
  if (direct) return direct;

  // A parent folder: accept it when exactly one ml-* child holds a dataset.
  const children = fs
    .readdirSync(abs, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^ml-/i.test(e.name))
    .map((e) => e.name)
    .sort();
  if (children.length === 1) {
    const inner = detectIn(path.join(abs, children[0]));
    if (inner) return inner;
    throw new InputError(`subfolder '${children[0]}' holds no MovieLens files; ${EXPECTED_FILES}`, { file: abs });
  }
  if (children.length > 1) {
    throw new InputError(`folder holds several MovieLens subfolders (${children.join(", ")}); point dataset.path at one of them`, { file: abs });
  }
  const empty = fs.readdirSync(abs).length === 0;
  throw new InputError(`${empty ? "folder is empty" : "no MovieLens files in folder"}; ${EXPECTED_FILES}`, { file: abs });
}

function detectIn(dir: string): MovieLensFiles | null {
  const has = (name: string): string | undefined => {
    const p = path.join(dir, name);
    return fs.existsSync(p) && fs.statSync(p).isFile() ? p : undefined;
  };
  const uData = has("u.data");
  if (uData) {
    return { dir, layout: "100k", ratings: uData, items: has("u.item"), users: has("u.user"), genres: has("u.genre") };
  }
  const ratingsDat = has("ratings.dat");
  if (ratingsDat) {
    return { dir, layout: "dat", ratings: ratingsDat, items: has("movies.dat"), users: has("users.dat"), tags: has("tags.dat") };
  }
  const ratingsCsv = has("ratings.csv");
  if (ratingsCsv) {
    checkCsvHeader(ratingsCsv, CSV_RATINGS_HEADER);
    return { dir, layout: "csv", ratings: ratingsCsv, items: has("movies.csv"), tags: has("tags.csv"), links: has("links.csv") };
  }
  return null;
}

/** Reads only the first line: a wrong header is the usual sign of a non-MovieLens ratings.csv. */
function checkCsvHeader(file: string, expected: string[]): void {
  const fd = fs.openSync(file, "r");
  let head: string;
  try {
    const buf = Buffer.alloc(4096);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    head = buf.subarray(0, n).toString("utf8");
  } finally {
    fs.closeSync(fd);
  }
  const first = head.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0].trim();
  if (first !== expected.join(",")) {
    throw new InputError(`not a MovieLens ratings.csv: expected header '${expected.join(",")}'`, { file, line: 1, value: first });
  }
}

/**
 * Describes a MovieLens folder as a `DatasetSource`: the ratings file as events plus SQL for the
 * item, user (ML-100K, ML-1M) and tag (ML-10M and CSV releases) dimensions.
 * `variant` defaults to the folder name when it is a known release, else to the layout's
 * most likely release; a variant that contradicts the files found is an `InputError`.
 */
export function movieLensSource(dir: string, variant?: MovieLensVariant): DatasetSource {
  const files = detectMovieLensFormat(dir);
  const name = variant ?? inferVariant(files);
  if (!MOVIELENS_VARIANTS.includes(name)) {
    throw new InputError(`unknown MovieLens variant; expected one of ${MOVIELENS_VARIANTS.join(", ")}`, { value: name });
  }
  if (!LAYOUT_VARIANTS[files.layout].includes(name)) {
    throw new InputError(
      `files look like the ${files.layout} layout (${LAYOUT_VARIANTS[files.layout].join(", ")}), not ${name}`,
      { file: files.dir },
    );
  }
  return {
    name,
    events: eventsSpec(files, name),
    dimensions: dimensionSql(files),
  };
}

function inferVariant(files: MovieLensFiles): MovieLensVariant {
  const base = path.basename(files.dir).toLowerCase();
  // ML-10M unpacks to "ml-10M100K".
  const fromName = base === "ml-10m100k" ? "ml-10m" : (MOVIELENS_VARIANTS as readonly string[]).includes(base) ? (base as MovieLensVariant) : undefined;
  if (fromName && LAYOUT_VARIANTS[files.layout].includes(fromName)) return fromName;
  switch (files.layout) {
    case "100k":
      return "ml-100k";
    case "dat":
      // Only ML-1M ships users.dat.
      return files.users ? "ml-1m" : "ml-10m";
    case "csv":
      return "ml-latest";
  }
}

function eventsSpec(files: MovieLensFiles, variant: MovieLensVariant): EventFileSpec {
  const ratingRange: [number, number] = variant === "ml-100k" || variant === "ml-1m" ? [1, 5] : [0.5, 5];
  const base = { path: files.ratings, timestampUnit: "s" as const, idType: "integer" as const, ratingRange, defaultEventType: "rating" };
  const headerless = ["user", "item", "rating", "timestamp"];
  switch (files.layout) {
    case "100k":
      return {
        ...base,
        format: { kind: "delimited", delimiter: "\t", header: false, columns: headerless, encoding: "utf-8", quote: "" },
        mapping: { user: "user", item: "item", rating: "rating", timestamp: "timestamp" },
      };
    case "dat":
      return {
        ...base,
        format: { kind: "delimited", delimiter: "::", header: false, columns: headerless, encoding: "utf-8", quote: "" },
        mapping: { user: "user", item: "item", rating: "rating", timestamp: "timestamp" },
      };
    case "csv":
      return {
        ...base,
        format: { kind: "delimited", delimiter: ",", header: true, columns: CSV_RATINGS_HEADER, encoding: "utf-8", quote: '"' },
        mapping: { user: "userId", item: "movieId", rating: "rating", timestamp: "timestamp" },
      };
  }
}

/**
 * `read_csv(...)` over a delimited file with every column read as VARCHAR and no type sniffing,
 * so ids like "007" or odd rows reach validation as written.
 */
export function readDelimitedSql(file: string, format: DelimitedFormat): string {
  const quote = format.quote ?? '"';
  const cols = format.columns.map((c) => `${sqlString(c)}: 'VARCHAR'`).join(", ");
  return (
    `read_csv(${sqlString(file)}, delim=${sqlString(format.delimiter)}, header=${format.header}, ` +
    `quote=${sqlString(quote)}, escape=${sqlString(quote)}, encoding=${sqlString(format.encoding ?? "utf-8")}, ` +
    `auto_detect=false, columns={${cols}})`
  );
}

/** `read_csv` over the events file of a source (all VARCHAR). */
export function eventsReadSql(spec: EventFileSpec): string {
  if (spec.format.kind !== "delimited") throw new InputError("expected a delimited events file", { file: spec.path });
  return readDelimitedSql(spec.path, spec.format);
}

/** Genre flag columns of u.item, in the order of u.genre. */
export const ML100K_GENRES = [
  "unknown",
  "Action",
  "Adventure",
  "Animation",
  "Children's",
  "Comedy",
  "Crime",
  "Documentary",
  "Drama",
  "Fantasy",
  "Film-Noir",
  "Horror",
  "Musical",
  "Mystery",
  "Romance",
  "Sci-Fi",
  "Thriller",
  "War",
  "Western",
] as const;

/** ML-1M occupation codes 0..20 as named in the GroupLens ML-1M README. */
export const ML1M_OCCUPATIONS = [
  "other",
  "academic/educator",
  "artist",
  "clerical/admin",
  "college/grad student",
  "customer service",
  "doctor/health care",
  "executive/managerial",
  "farmer",
  "homemaker",
  "K-12 student",
  "lawyer",
  "programmer",
  "retired",
  "sales/marketing",
  "scientist",
  "self-employed",
  "technician/engineer",
  "tradesman/craftsman",
  "unemployed",
  "writer",
] as const;

/**
 * ML-1M age buckets: `users.dat` stores the code on the left, not an age. The `age` column of the
 * ML-1M user dimension keeps that code (the bucket's lower bound, so it still sorts by age).
 */
export const ML1M_AGE_BUCKETS: Readonly<Record<number, string>> = {
  1: "Under 18",
  18: "18-24",
  25: "25-34",
  35: "35-44",
  45: "45-49",
  50: "50-55",
  56: "56+",
};

// Year at the end of a title: "(1995)", also "(2006-2007)" / "(2006–)" for series. Trailing
// blanks occur in the CSV releases.
const TITLE_YEAR_RE = String.raw`\((\d{4})(?:\s*[-–]\s*\d{0,4})?\)\s*$`;
const titleYear = (expr: string): string => `TRY_CAST(regexp_extract(${expr}, ${sqlString(TITLE_YEAR_RE)}, 1) AS INTEGER)`;

/** `|`-joined genre string to a list; "(no genres listed)" and blanks become an empty list. */
const genreList = (expr: string): string =>
  `CASE WHEN ${expr} IS NULL OR trim(${expr}) IN ('', '(no genres listed)') THEN []::VARCHAR[] ` +
  `ELSE list_filter(list_transform(string_split(${expr}, '|'), g -> trim(g)), g -> g <> '') END`;

const nullIfBlank = (expr: string): string => `nullif(trim(${expr}), '')`;

/**
 * Reads a `::`-separated file one whole line at a time and splits it with a regular expression,
 * so free text (titles, tags) that happens to contain the separator cannot shift columns.
 * A line that does not match stops the query with the file name and the line.
 */
function datLinesSql(file: string, encoding: "utf-8" | "latin-1", pattern: string, fields: string[]): string {
  // Unit separator (0x1F) never occurs in MovieLens text, so each line arrives as one column.
  const src =
    `read_csv(${sqlString(file)}, delim=chr(31), header=false, quote='', escape='', ` +
    `encoding=${sqlString(encoding)}, auto_detect=false, columns={'line': 'VARCHAR'})`;
  const names = `[${fields.map(sqlString).join(", ")}]`;
  const first = quoteIdent(fields[0]);
  return (
    `SELECT m.* FROM (SELECT regexp_extract(line, ${sqlString(pattern)}, ${names}) AS m, line FROM ${src} ` +
    `WHERE line IS NOT NULL AND trim(line) <> '') ` +
    `WHERE CASE WHEN m.${first} = '' THEN error(${sqlString(`${file}: cannot parse line: `)} || line) ELSE true END`
  );
}

function dimensionSql(files: MovieLensFiles): DimensionTables {
  const dims: DimensionTables = {};
  if (files.layout === "100k") {
    if (files.items) dims.itemsSql = ml100kItemsSql(files.items);
    if (files.users) dims.usersSql = ml100kUsersSql(files.users);
  } else if (files.layout === "dat") {
    if (files.items) dims.itemsSql = datItemsSql(files.items);
    if (files.users) dims.usersSql = ml1mUsersSql(files.users);
    if (files.tags) dims.tagsSql = datTagsSql(files.tags);
  } else {
    if (files.items) dims.itemsSql = csvItemsSql(files.items);
    if (files.tags) dims.tagsSql = csvTagsSql(files.tags);
  }
  return dims;
}

function ml100kItemsSql(file: string): string {
  const flagCols = ML100K_GENRES.map((_, i) => `g${i}`);
  const format: DelimitedFormat = {
    kind: "delimited",
    delimiter: "|",
    header: false,
    columns: ["movie_id", "title", "release_date", "video_release_date", "imdb_url", ...flagCols],
    encoding: textEncodingOf(file),
    quote: "",
  };
  // "unknown" is left out on purpose: like "(no genres listed)" in later releases it means
  // the item has no genre, so it maps to an empty list.
  const flags = ML100K_GENRES.map((g, i) => (g === "unknown" ? null : `CASE WHEN trim(g${i}) = '1' THEN ${sqlString(g)} END`)).filter(
    (x): x is string => x !== null,
  );
  return (
    `SELECT trim(movie_id) AS item_key, trim(title) AS title, ` +
    `list_filter([${flags.join(", ")}], g -> g IS NOT NULL) AS genres, ` +
    // Release date looks like "01-Jan-1995" (day not always two digits); the title year is the fallback.
    `CAST(coalesce(TRY_CAST(regexp_extract(trim(release_date), '-(\\d{4})$', 1) AS INTEGER), ${titleYear("title")}) AS INTEGER) AS release_year ` +
    `FROM ${readDelimitedSql(file, format)}`
  );
}

function ml100kUsersSql(file: string): string {
  const format: DelimitedFormat = {
    kind: "delimited",
    delimiter: "|",
    header: false,
    columns: ["user_id", "age", "gender", "occupation", "zip"],
    encoding: textEncodingOf(file),
    quote: "",
  };
  return (
    `SELECT trim(user_id) AS user_key, TRY_CAST(trim(age) AS INTEGER) AS age, ${nullIfBlank("gender")} AS gender, ` +
    `${nullIfBlank("occupation")} AS occupation, ${nullIfBlank("zip")} AS zip FROM ${readDelimitedSql(file, format)}`
  );
}

function datItemsSql(file: string): string {
  // id :: title (greedy, may hold anything) :: genres (no colons)
  const lines = datLinesSql(file, textEncodingOf(file), String.raw`^\s*(\d+)::(.*)::([^:]*)$`, ["item_key", "title", "genres"]);
  return (
    `SELECT item_key, trim(title) AS title, ${genreList("genres")} AS genres, ${titleYear("title")} AS release_year ` +
    `FROM (${lines})`
  );
}

function ml1mUsersSql(file: string): string {
  const format: DelimitedFormat = {
    kind: "delimited",
    delimiter: "::",
    header: false,
    columns: ["user_id", "gender", "age", "occupation", "zip"],
    encoding: textEncodingOf(file),
    quote: "",
  };
  const names = `[${ML1M_OCCUPATIONS.map(sqlString).join(", ")}]`;
  return (
    `SELECT trim(user_id) AS user_key, TRY_CAST(trim(age) AS INTEGER) AS age, ${nullIfBlank("gender")} AS gender, ` +
    // List indexing is 1-based and negative indexes count from the end, hence the range guard.
    `CASE WHEN TRY_CAST(trim(occupation) AS INTEGER) BETWEEN 0 AND ${ML1M_OCCUPATIONS.length - 1} ` +
    `THEN (${names})[TRY_CAST(trim(occupation) AS INTEGER) + 1] END AS occupation, ` +
    `${nullIfBlank("zip")} AS zip FROM ${readDelimitedSql(file, format)}`
  );
}

function datTagsSql(file: string): string {
  const lines = datLinesSql(file, textEncodingOf(file), String.raw`^\s*(\d+)::(\d+)::(.*)::(\d+)\s*$`, ["user_key", "item_key", "tag", "ts"]);
  return `SELECT user_key, item_key, tag, CAST(ts AS BIGINT) AS ts FROM (${lines})`;
}

function csvItemsSql(file: string): string {
  const format: DelimitedFormat = { kind: "delimited", delimiter: ",", header: true, columns: ["movieId", "title", "genres"], encoding: "utf-8", quote: '"' };
  return (
    `SELECT trim(movieId) AS item_key, trim(title) AS title, ${genreList("genres")} AS genres, ${titleYear("title")} AS release_year ` +
    `FROM ${readDelimitedSql(file, format)}`
  );
}

function csvTagsSql(file: string): string {
  const format: DelimitedFormat = {
    kind: "delimited",
    delimiter: ",",
    header: true,
    columns: ["userId", "movieId", "tag", "timestamp"],
    encoding: "utf-8",
    quote: '"',
  };
  return (
    `SELECT trim(userId) AS user_key, trim(movieId) AS item_key, tag, TRY_CAST(trim("timestamp") AS BIGINT) AS ts ` +
    `FROM ${readDelimitedSql(file, format)}`
  );
}

/**
 * Encoding of a small text file: UTF-8 when its bytes decode as UTF-8 (plain ASCII included),
 * Latin-1 otherwise. ML-100K and ML-1M are Latin-1; deciding from the bytes also covers
 * re-encoded copies and ML-10M without guessing per release.
 */
export function textEncodingOf(file: string): "utf-8" | "latin-1" {
  const bytes = fs.readFileSync(file);
  if (!bytes.some((b) => b >= 0x80)) return "utf-8";
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return "utf-8";
  } catch {
    return "latin-1";
  }
}

/** Distinct counts of a MovieLens ratings file. */
export interface MovieLensCounts {
  ratings: number;
  users: number;
  items: number;
}

/** Counts ratings, distinct users and distinct rated items of the ratings file in `dir`, via SQL. */
export async function countMovieLens(db: Duck, dir: string): Promise<MovieLensCounts> {
  const source = movieLensSource(dir);
  const m = source.events.mapping;
  const row = await db.one<{ ratings: bigint | number; users: bigint | number; items: bigint | number }>(
    `SELECT count(*) AS ratings, count(DISTINCT ${quoteIdent(m.user)}) AS users, count(DISTINCT ${quoteIdent(m.item)}) AS items ` +
      `FROM ${eventsReadSql(source.events)}`,
  );
  return { ratings: Number(row.ratings), users: Number(row.users), items: Number(row.items) };
}
