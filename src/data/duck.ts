import * as fs from "node:fs";
import * as path from "node:path";
import {
  DuckDBAppender,
  DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBType,
  DOUBLE,
  INTEGER,
  BIGINT,
  FLOAT,
} from "@duckdb/node-api";
import { produceAtomic } from "../util/atomic";

/** Typed-array kinds that move between DuckDB and JS without per-row objects. */
export type ColumnKind = "i32" | "f64" | "f32" | "i64";
export type ColumnArray = Int32Array | Float64Array | Float32Array | BigInt64Array;
type ArrayFor<K extends ColumnKind> = K extends "i32" ? Int32Array : K extends "f64" ? Float64Array : K extends "f32" ? Float32Array : BigInt64Array;

export interface DuckOptions {
  /** worker threads (default: all cores) */
  threads?: number;
  /** e.g. "4GB" */
  memoryLimit?: string;
  /** a directory for spilling; defaults to DuckDB's own */
  tempDirectory?: string;
}

/**
 * One DuckDB in-memory database with a connection. The single place NTG talks SQL: every stage
 * opens one, reads Parquet, writes Parquet, and closes it.
 */
export class Duck {
  private constructor(
    readonly instance: DuckDBInstance,
    readonly conn: DuckDBConnection,
  ) {}

  /** Opens an in-memory database. */
  static async open(opts: DuckOptions = {}): Promise<Duck> {
    const config: Record<string, string> = { preserve_insertion_order: "true" };
    if (opts.threads) config.threads = String(opts.threads);
    if (opts.memoryLimit) config.memory_limit = opts.memoryLimit;
    if (opts.tempDirectory) config.temp_directory = opts.tempDirectory;
    const instance = await DuckDBInstance.create(":memory:", config);
    const conn = await instance.connect();
    return new Duck(instance, conn);
  }

  /** Runs statements, discarding results. */
  async run(sql: string): Promise<void> {
    await this.conn.run(sql);
  }

  /** Runs a query and returns rows as plain JSON-safe objects (small results only). */
  async rows<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const reader = await this.conn.runAndReadAll(sql);
    return reader.getRowObjectsJS() as unknown as T[];
  }

  /** Runs a query that returns one row and gives it back. */
  async one<T = Record<string, unknown>>(sql: string): Promise<T> {
    const r = await this.rows<T>(sql);
    if (r.length !== 1) throw new Error(`expected one row, got ${r.length}: ${sql.slice(0, 200)}`);
    return r[0];
  }

  /** A single scalar from a query, converted to a JS number when numeric. */
  async scalar(sql: string): Promise<unknown> {
    const row = await this.one<Record<string, unknown>>(sql);
    const v = Object.values(row)[0];
    return typeof v === "bigint" ? Number(v) : v;
  }

  /**
   * Reads query columns straight into typed arrays, chunk by chunk (no row objects).
   * NULLs become NaN for floats and throw for integers (use COALESCE in SQL).
   */
  async columns<S extends Record<string, ColumnKind>>(sql: string, spec: S): Promise<{ [K in keyof S]: ArrayFor<S[K]> } & { length: number }> {
    const names = Object.keys(spec);
    const wrapped = `SELECT ${names.map((n) => `CAST(${quoteIdent(n)} AS ${sqlTypeFor(spec[n])}) AS ${quoteIdent(n)}`).join(", ")} FROM (${sql})`;
    const result = await this.conn.stream(wrapped);
    const parts: ColumnArray[][] = names.map(() => []);
    let total = 0;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const n = chunk.rowCount;
      for (let c = 0; c < names.length; c++) {
        parts[c].push(vectorToTyped(chunk, c, n, spec[names[c]], names[c]));
      }
      total += n;
    }
    const out: Record<string, ColumnArray> = {};
    names.forEach((name, c) => {
      out[name] = concatTyped(spec[name], parts[c], total);
    });
    return Object.assign(out, { length: total }) as unknown as { [K in keyof S]: ArrayFor<S[K]> } & { length: number };
  }

  /**
   * Creates `table` (replacing it) and bulk-loads typed-array columns through DuckDB data chunks:
   * the whole column is copied 2048 rows at a time, never one JS value per call.
   */
  async loadColumns(table: string, cols: Record<string, ColumnArray>): Promise<void> {
    const names = Object.keys(cols);
    if (names.length === 0) throw new Error("loadColumns: no columns");
    const n = cols[names[0]].length;
    for (const name of names) {
      if (cols[name].length !== n) throw new Error(`loadColumns: column '${name}' has ${cols[name].length} rows, expected ${n}`);
    }
    const kinds = names.map((name) => kindOf(cols[name]));
    await this.run(`CREATE OR REPLACE TABLE ${quoteIdent(table)} (${names.map((nm, i) => `${quoteIdent(nm)} ${sqlTypeFor(kinds[i])}`).join(", ")})`);
    const appender: DuckDBAppender = await this.conn.createAppender(table);
    const types: DuckDBType[] = kinds.map(duckTypeFor);
    const CHUNK = 2048;
    for (let start = 0; start < n; start += CHUNK) {
      const len = Math.min(CHUNK, n - start);
      const chunk = DuckDBDataChunk.create(types, len);
      for (let c = 0; c < names.length; c++) {
        const vec = chunk.getColumnVector(c) as unknown as { items: ColumnArray; flush(): void };
        (vec.items as Float64Array).set(cols[names[c]].subarray(start, start + len) as Float64Array);
        vec.flush();
      }
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
    appender.closeSync();
  }

  /**
   * Writes a query to Parquet atomically (temp file, then rename), zstd-compressed.
   * The query should carry an ORDER BY: with insertion order preserved, that makes the bytes
   * deterministic across runs.
   */
  async copyToParquet(sql: string, target: string, opts: { rowGroupSize?: number } = {}): Promise<number> {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    return produceAtomic(target, async (tmp) => {
      await this.run(
        `COPY (${sql}) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${opts.rowGroupSize ?? 122880})`,
      );
      return Number(await this.scalar(`SELECT count(*) FROM read_parquet(${sqlString(tmp)})`));
    });
  }

  /** Closes the connection and the database. */
  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

/** Opens a database, runs `fn`, and always closes it. */
export async function withDuck<T>(fn: (db: Duck) => Promise<T>, opts: DuckOptions = {}): Promise<T> {
  const db = await Duck.open(opts);
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

/** SQL string literal with quotes escaped. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** SQL identifier, double-quoted. */
export function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** `read_parquet('path')` for a file. */
export function parquet(file: string): string {
  return `read_parquet(${sqlString(file)})`;
}

function sqlTypeFor(kind: ColumnKind): string {
  switch (kind) {
    case "i32":
      return "INTEGER";
    case "f64":
      return "DOUBLE";
    case "f32":
      return "FLOAT";
    case "i64":
      return "BIGINT";
  }
}

function duckTypeFor(kind: ColumnKind): DuckDBType {
  switch (kind) {
    case "i32":
      return INTEGER;
    case "f64":
      return DOUBLE;
    case "f32":
      return FLOAT;
    case "i64":
      return BIGINT;
  }
}

function kindOf(a: ColumnArray): ColumnKind {
  if (a instanceof Int32Array) return "i32";
  if (a instanceof Float64Array) return "f64";
  if (a instanceof Float32Array) return "f32";
  if (a instanceof BigInt64Array) return "i64";
  throw new Error("unsupported column array type");
}

function allocTyped(kind: ColumnKind, n: number): ColumnArray {
  switch (kind) {
    case "i32":
      return new Int32Array(n);
    case "f64":
      return new Float64Array(n);
    case "f32":
      return new Float32Array(n);
    case "i64":
      return new BigInt64Array(n);
  }
}

function concatTyped(kind: ColumnKind, parts: ColumnArray[], total: number): ColumnArray {
  const out = allocTyped(kind, total);
  let off = 0;
  for (const p of parts) {
    (out as Float64Array).set(p as Float64Array, off);
    off += p.length;
  }
  return out;
}

function vectorToTyped(chunk: DuckDBDataChunk, c: number, n: number, kind: ColumnKind, name: string): ColumnArray {
  const vec = chunk.getColumnVector(c) as unknown as { items?: ColumnArray; getItem(i: number): unknown };
  const out = allocTyped(kind, n);
  const items = vec.items;
  // The pinned @duckdb/node-api exposes the chunk's data as a typed array; copy it in one call.
  if (items && items.length >= n) (out as Float64Array).set(items.subarray(0, n) as Float64Array);
  else for (let i = 0; i < n; i++) (out as unknown as unknown[])[i] = vec.getItem(i);
  // Validity: NULLs → NaN (floats) or an error (integers).
  for (let i = 0; i < n; i++) {
    if (vec.getItem(i) === null) {
      if (kind === "f64" || kind === "f32") (out as Float64Array)[i] = NaN;
      else throw new Error(`column '${name}' has NULL at row ${i}; use COALESCE or filter in SQL`);
    }
  }
  return out;
}
