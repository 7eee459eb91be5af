/**
 * Writes a personalised ranking to Parquet: user, item, score, rank, sources (VARCHAR[]), reason.
 * Numeric columns go in as typed-array chunks; the (few distinct) strings go through small
 * dictionary tables and are joined back, so no per-row JS value crosses into DuckDB for numbers.
 */
import type { Duck } from "../data/duck";
import { quoteIdent } from "../data/duck";
import type { PersonalRanking } from "./personal";

let counter = 0;

/**
 * Writes `rows` to `target` (atomic, zstd, ordered by user then rank, so the bytes are
 * deterministic for the same ranking). Returns the number of rows written.
 */
export async function writeTopK(db: Duck, rows: PersonalRanking, target: string): Promise<number> {
  const tag = `__ntg_topk_${process.pid}_${++counter}`;
  const main = `${tag}_rows`;
  const reasons = `${tag}_reasons`;
  const sets = `${tag}_sources`;
  const reasonId = new Map<string, number>();
  const setId = new Map<string, number>();
  const setList: string[][] = [];
  const rid = new Int32Array(rows.length);
  const sid = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    let r = reasonId.get(rows.reason[i]);
    if (r === undefined) reasonId.set(rows.reason[i], (r = reasonId.size));
    rid[i] = r;
    const key = JSON.stringify(rows.sources[i]);
    let s = setId.get(key);
    if (s === undefined) {
      setId.set(key, (s = setId.size));
      setList.push(rows.sources[i]);
    }
    sid[i] = s;
  }
  try {
    await db.loadColumns(main, { user: rows.user, item: rows.item, score: rows.score, rank: rows.rank, reason_id: rid, sources_id: sid });
    await db.run(`CREATE OR REPLACE TABLE ${quoteIdent(reasons)} (id INTEGER, reason VARCHAR)`);
    const ra = await db.conn.createAppender(reasons);
    for (const [text, id] of reasonId) {
      ra.appendInteger(id);
      ra.appendVarchar(text);
      ra.endRow();
    }
    ra.flushSync();
    ra.closeSync();
    await db.run(`CREATE OR REPLACE TABLE ${quoteIdent(sets)} (id INTEGER, pos INTEGER, name VARCHAR)`);
    const sa = await db.conn.createAppender(sets);
    setList.forEach((names, id) => {
      names.forEach((name, pos) => {
        sa.appendInteger(id);
        sa.appendInteger(pos);
        sa.appendVarchar(name);
        sa.endRow();
      });
    });
    sa.flushSync();
    sa.closeSync();
    const sql = `SELECT m."user" AS user_id, m.item AS item_id, m.score, m.rank, COALESCE(s.sources, CAST([] AS VARCHAR[])) AS sources, r.reason
      FROM ${quoteIdent(main)} m
      JOIN ${quoteIdent(reasons)} r ON r.id = m.reason_id
      LEFT JOIN (SELECT id, list(name ORDER BY pos) AS sources FROM ${quoteIdent(sets)} GROUP BY id) s ON s.id = m.sources_id
      ORDER BY m."user", m.rank, m.item`;
    return await db.copyToParquet(sql, target);
  } finally {
    for (const t of [main, reasons, sets]) await db.run(`DROP TABLE IF EXISTS ${quoteIdent(t)}`);
  }
}
