import * as fs from "node:fs";
import { InputError } from "../util/errors";
import { Duck, quoteIdent, sqlString } from "./duck";
import type { CanonicalField, DelimitedFormat, EventFileSpec } from "./source";

/** Fields ingestion reads, in a fixed order. */
export const RAW_FIELDS: CanonicalField[] = ["user", "item", "timestamp", "rating", "weight", "revenue", "event_type"];

/** Counts of what a raw read produced before validation. */
export interface RawReadResult {
  /** physical data rows read (structural rejects included; header excluded) */
  rowsRead: number;
  /** rows rejected by the CSV parser (wrong number of fields, bad encoding, ...) */
  structuralRejects: number;
  /** DuckDB type of each canonical field in `raw_events` (VARCHAR for text files) */
  types: Record<string, string>;
}

/**
 * Loads a raw event file into table `raw_events` with every canonical field as VARCHAR plus
 * `_line` (1-based line in the file, header counted; row number for Parquet), and structurally
 * broken lines into table `raw_rejects(file, line, column, value, reason, raw)`.
 * Checks up front that the file exists, is not empty, and has the expected columns, so a wrong
 * delimiter or a missing column is one clear error instead of a quarantine full of rows.
 */
export async function readRawEvents(db: Duck, spec: EventFileSpec): Promise<RawReadResult> {
  const file = spec.path;
  if (!fs.existsSync(file)) throw new InputError("file not found", { file });
  const st = fs.statSync(file);
  if (st.isDirectory()) throw new InputError("expected a file, found a directory", { file });
  if (st.size === 0) throw new InputError("file is empty", { file });
  await db.run(`CREATE OR REPLACE TABLE raw_rejects (file VARCHAR, line BIGINT, "column" VARCHAR, value VARCHAR, reason VARCHAR, raw VARCHAR)`);
  if (spec.format.kind === "parquet") return readParquet(db, spec);
  return readDelimited(db, spec, spec.format);
}

async function readParquet(db: Duck, spec: EventFileSpec): Promise<RawReadResult> {
  const file = spec.path;
  let cols: string[];
  try {
    const rows = await db.rows<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
    cols = rows.map((r) => r.column_name);
  } catch (e) {
    throw new InputError(`not a readable Parquet file (${firstLine((e as Error).message)})`, { file });
  }
  checkMappedColumns(spec, cols, 1);
  // Parquet columns keep their native types: casting 20M values to text and back is the
  // slowest thing ingestion could do. Validation expressions adapt to each column's type.
  const select = RAW_FIELDS.map((f) => {
    const c = spec.mapping[f];
    return `${c ? quoteIdent(c) : "CAST(NULL AS VARCHAR)"} AS ${f}`;
  }).join(", ");
  // A view, not a table: validation reads the file once, in the same pass that parses it.
  await dropRelation(db, "raw_events");
  await db.run(
    `CREATE VIEW raw_events AS SELECT CAST(file_row_number + 1 AS BIGINT) AS _line, ${select}
     FROM read_parquet(${sqlString(file)}, file_row_number = true)`,
  );
  const n = Number(await db.scalar(`SELECT count(*) FROM raw_events`));
  if (n === 0) throw new InputError("file has no rows", { file });
  return { rowsRead: n, structuralRejects: 0, types: await fieldTypes(db) };
}

async function readDelimited(db: Duck, spec: EventFileSpec, fmt: DelimitedFormat): Promise<RawReadResult> {
  const file = spec.path;
  const encoding = fmt.encoding ?? "utf-8";
  const first = readFirstLine(file, encoding);
  if (first.trim() === "") throw new InputError("first line is blank (expected " + (fmt.header ? "a header" : "data") + ")", { file, line: 1 });
  const firstFields = splitSimple(first, fmt.delimiter);
  if (firstFields.length === 1 && fmt.columns.length > 1) {
    const guess = [",", "\t", ";", "|", "::"].find((d) => d !== fmt.delimiter && first.includes(d));
    throw new InputError(
      `expected ${fmt.columns.length} fields separated by ${JSON.stringify(fmt.delimiter)}, found 1${guess ? ` — the file looks ${JSON.stringify(guess)}-separated: set dataset.events.delimiter` : ""}`,
      { file, line: 1, value: first },
    );
  }
  let columns = fmt.columns;
  if (fmt.header) {
    const header = firstFields.map((h) => h.trim().replace(/^"(.*)"$/, "$1"));
    checkMappedColumns(spec, header, 1);
    columns = header;
  } else if (firstFields.length !== fmt.columns.length) {
    throw new InputError(`expected ${fmt.columns.length} fields (${fmt.columns.join(", ")}), found ${firstFields.length}`, { file, line: 1, value: first });
  }
  const colTypes = `{${columns.map((c) => `${sqlString(c)}: 'VARCHAR'`).join(", ")}}`;
  const quote = fmt.quote ?? '"';
  // Only the explicit column list is trusted: auto-detection would silently re-guess the
  // delimiter or types on a malformed file. Broken lines go to DuckDB's rejects tables.
  const readCsv = `read_csv(${sqlString(file)}, delim = ${sqlString(fmt.delimiter)}, header = ${fmt.header}, columns = ${colTypes},
      auto_detect = false, quote = ${sqlString(quote)}, escape = ${sqlString(quote)}, encoding = ${sqlString(encoding)},
      store_rejects = true, ignore_errors = true, rejects_table = 'ntg_rejects', rejects_scan = 'ntg_reject_scans',
      null_padding = false, parallel = true)`;
  const select = RAW_FIELDS.map((f) => {
    const c = spec.mapping[f];
    return `${c ? quoteIdent(c) : "CAST(NULL AS VARCHAR)"} AS ${f}`;
  }).join(", ");
  // The rejects tables persist per connection: clear them so earlier reads do not leak in.
  await db.run(`DROP TABLE IF EXISTS ntg_rejects; DROP TABLE IF EXISTS ntg_reject_scans`);
  await dropRelation(db, "raw_events");
  try {
    await db.run(`CREATE OR REPLACE TABLE raw_rows AS SELECT row_number() OVER () AS _rn, ${select} FROM ${readCsv}`);
  } catch (e) {
    throw new InputError(`could not be read as delimited text (${firstLine((e as Error).message)})`, { file });
  }
  const h = fmt.header ? 1 : 0;
  // One line per structurally rejected row (DuckDB reports one entry per missing column).
  await db.run(`CREATE OR REPLACE TABLE rej_lines AS
    SELECT line, min(column_name) AS col, min(error_type) AS etype, min(error_message) AS msg, min(csv_line) AS csv_line
    FROM ntg_rejects GROUP BY line`);
  await db.run(`INSERT INTO raw_rejects SELECT ${sqlString(file)}, CAST(line AS BIGINT), col, NULL,
      'malformed line: ' || lower(etype) || ' (' || msg || ')', csv_line FROM rej_lines`);
  // Line of the k-th good row = k + header + (rejected lines before it): reject j (1-based,
  // ascending) sits after (line_j - h - j) good rows, so good rows k >= line_j - h - j + 1 follow it.
  await db.run(`CREATE OR REPLACE TABLE rej_thresholds AS
    SELECT CAST(line AS BIGINT) - ${h} - row_number() OVER (ORDER BY line) + 1 AS t, row_number() OVER (ORDER BY line) AS cnt FROM rej_lines`);
  await db.run(`CREATE OR REPLACE TABLE raw_events AS
    SELECT CAST(r._rn + ${h} + coalesce(th.cnt, 0) AS BIGINT) AS _line, ${RAW_FIELDS.map((f) => `r.${f}`).join(", ")}
    FROM raw_rows r ASOF LEFT JOIN rej_thresholds th ON r._rn >= th.t ORDER BY r._rn`);
  await db.run(`DROP TABLE raw_rows`);
  const good = Number(await db.scalar(`SELECT count(*) FROM raw_events`));
  const bad = Number(await db.scalar(`SELECT count(*) FROM rej_lines`));
  if (good + bad === 0) throw new InputError(fmt.header ? "file has a header but no data rows" : "file has no data rows", { file });
  return { rowsRead: good + bad, structuralRejects: bad, types: await fieldTypes(db) };
}

/** Drops a table or view of that name, whichever it is (DROP TABLE fails on a view). */
export async function dropRelation(db: Duck, name: string): Promise<void> {
  const views = Number(await db.scalar(`SELECT count(*) FROM duckdb_views() WHERE view_name = ${sqlString(name)} AND NOT internal`));
  await db.run(views > 0 ? `DROP VIEW ${quoteIdent(name)}` : `DROP TABLE IF EXISTS ${quoteIdent(name)}`);
}

async function fieldTypes(db: Duck): Promise<Record<string, string>> {
  const rows = await db.rows<{ column_name: string; column_type: string }>(`DESCRIBE raw_events`);
  const out: Record<string, string> = {};
  for (const r of rows) out[r.column_name] = r.column_type;
  return out;
}

function checkMappedColumns(spec: EventFileSpec, present: string[], line: number): void {
  for (const f of RAW_FIELDS) {
    const c = spec.mapping[f];
    if (c && !present.includes(c)) {
      throw new InputError(`missing column '${c}' (mapped to ${f}); the file has: ${present.join(", ")}`, { file: spec.path, line, column: c });
    }
  }
}

function readFirstLine(file: string, encoding: string): string {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString(encoding === "latin-1" ? "latin1" : "utf8");
    const nl = text.search(/\r?\n/);
    return (nl >= 0 ? text.slice(0, nl) : text).replace(/^\uFEFF/, "");
  } finally {
    fs.closeSync(fd);
  }
}

/** Splits a line on the delimiter, respecting double quotes (enough for header checks). */
function splitSimple(line: string, delim: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inQ = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') inQ = !inQ;
    if (!inQ && line.startsWith(delim, i)) {
      out.push(cur);
      cur = "";
      i += delim.length - 1;
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function firstLine(s: string): string {
  return s.split("\n")[0];
}
