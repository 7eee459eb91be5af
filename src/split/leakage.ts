/**
 * Leakage checks. `checkSplitLeakage` re-reads the written split files (not the in-memory tables
 * they came from), so it also catches hand-made or corrupted splits; `assertReadWithin` guards every
 * artifact built downstream of a split.
 *
 * Ordering rule of the per-user strategies (per_user_chronological, leave_last_out): within each
 * user, sort all of the user's events from every part by the canonical order (ts, item_id, event_idx);
 * the parts must then be contiguous blocks in the order train → val → test. In timestamps this means
 * max train ts ≤ min val ts ≤ max val ts ≤ min test ts, where an equal timestamp across a boundary is
 * allowed only if the earlier part's event has the smaller (item_id, event_idx), i.e. the canonical
 * order put it first.
 *
 * global_time: every train ts < val_start ≤ every val ts < test_start ≤ every test ts (with the
 * cutoffs when given, else max train ts < min val ts and max val ts < min test ts, strictly).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Duck } from "../data/duck";
import { parquet } from "../data/duck";
import type { TimeRange } from "../data/schema";
import { LeakageError, NtgError } from "../util/errors";
import type { LeakageReport, SplitStrategy } from "./types";

/** Main parts every strategy writes, in temporal order. */
export const MAIN_PARTS = ["train", "val", "test"] as const;
/** Extra parts of strong generalization. */
export const STRONG_SUBPARTS = ["val_foldin", "val_holdout", "test_foldin", "test_holdout"] as const;

/** File name of a part inside a split directory. */
export function partFile(part: string): string {
  return `${part}.parquet`;
}

/** Options of `checkSplitLeakage`. */
export interface SplitCheckOptions {
  /** split directory holding train.parquet, val.parquet, test.parquet (+ strong-generalization parts) */
  dir: string;
  strategy: SplitStrategy;
  /** global_time cutoffs (unix seconds); without them the parts' own boundaries are compared */
  cutoffs?: { val_start: number; test_start: number };
  /** SQL relation of the filtered input (table name or `read_parquet(...)`): the parts' union must equal it by event_idx */
  input?: string;
  /** when no `input` is given: the expected total number of rows */
  expectedRows?: number;
  /** strong_generalization: with "chronological", fold-in events must precede held-out ones per user */
  foldinOrder?: "random" | "chronological";
}

/** How many offenders a message names. */
const SHOW = 5;

/** `ts (ISO)` for messages. */
function fmtTs(ts: unknown): string {
  const n = Number(ts);
  if (!Number.isFinite(n)) return String(ts);
  const d = new Date(n * 1000);
  return Number.isNaN(d.getTime()) ? String(n) : `${n} (${d.toISOString()})`;
}

/** UNION ALL of the given part files with their name and position. */
function unionSql(dir: string, parts: readonly string[]): string {
  return parts
    .map((p, i) => `SELECT '${p}' AS part, ${i} AS part_no, user_id, item_id, ts, event_idx FROM ${parquet(path.join(dir, partFile(p)))}`)
    .join(" UNION ALL ");
}

async function checkDisjoint(db: Duck, dir: string, parts: readonly string[]): Promise<void> {
  // Cheap count first; the per-event details (string_agg) only for the offenders.
  const nBad = Number(await db.scalar(`SELECT count(*) FROM (SELECT event_idx FROM (${unionSql(dir, parts)}) GROUP BY event_idx HAVING count(*) > 1)`));
  if (nBad === 0) return;
  const rows = await db.rows<{ event_idx: bigint; user_id: number; parts: string }>(
    `WITH u AS (${unionSql(dir, parts)}),
     d AS (SELECT event_idx FROM u GROUP BY event_idx HAVING count(*) > 1 ORDER BY event_idx LIMIT ${SHOW})
     SELECT event_idx, min(user_id) AS user_id, string_agg(part, ', ' ORDER BY part_no) AS parts
     FROM u SEMI JOIN d USING (event_idx) GROUP BY event_idx ORDER BY event_idx`,
  );
  const list = rows.map((r) => `event_idx ${r.event_idx} of user ${r.user_id} is in ${r.parts}`).join("; ");
  throw new LeakageError(`${nBad} event(s) occur in more than one part (or twice in one): ${list}`);
}

async function checkUnion(db: Duck, dir: string, parts: readonly string[], opts: SplitCheckOptions, checks: string[]): Promise<void> {
  if (opts.input) {
    const missing = await db.rows<{ event_idx: bigint; user_id: number; ts: bigint; n_bad: bigint }>(
      `SELECT i.event_idx, i.user_id, i.ts, count(*) OVER () AS n_bad FROM ${opts.input} i
       ANTI JOIN (${unionSql(dir, parts)}) u ON i.event_idx = u.event_idx
       ORDER BY i.event_idx LIMIT ${SHOW}`,
    );
    if (missing.length) {
      const list = missing.map((r) => `event_idx ${r.event_idx} (user ${r.user_id}, ts ${fmtTs(r.ts)})`).join("; ");
      throw new LeakageError(`${Number(missing[0].n_bad)} input event(s) are in no part: ${list}`);
    }
    const extra = await db.rows<{ event_idx: bigint; user_id: number; part: string; n_bad: bigint }>(
      `SELECT u.event_idx, u.user_id, u.part, count(*) OVER () AS n_bad FROM (${unionSql(dir, parts)}) u
       ANTI JOIN ${opts.input} i ON i.event_idx = u.event_idx
       ORDER BY u.event_idx LIMIT ${SHOW}`,
    );
    if (extra.length) {
      const list = extra.map((r) => `event_idx ${r.event_idx} (user ${r.user_id}) in ${r.part}`).join("; ");
      throw new LeakageError(`${Number(extra[0].n_bad)} event(s) in the parts are not in the filtered input: ${list}`);
    }
    checks.push("union_equals_input");
  } else if (opts.expectedRows !== undefined) {
    const n = Number(await db.scalar(`SELECT count(*) FROM (${unionSql(dir, parts)})`));
    if (n !== opts.expectedRows) throw new LeakageError(`the parts hold ${n} rows but the filtered input has ${opts.expectedRows}`);
    checks.push("row_count_matches");
  }
}

/**
 * Per user, the given parts must be contiguous blocks of the canonical order, in the given order.
 * Throws naming the first offending users with the clashing timestamps.
 */
async function checkPerUserOrder(db: Duck, dir: string, parts: readonly string[]): Promise<void> {
  const rows = await db.rows<{ user_id: number; earlier: string; later: string; max_ts: bigint; min_ts: bigint; n_users: bigint }>(
    `WITH u AS (${unionSql(dir, parts)}),
     r AS (SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY ts, item_id, event_idx) AS pos FROM u),
     a AS (SELECT user_id, part, part_no, min(pos) AS mn, max(pos) AS mx, min(ts) AS min_ts, max(ts) AS max_ts
           FROM r GROUP BY user_id, part, part_no),
     bad AS (SELECT x.user_id, x.part AS earlier, x.part_no AS ep, y.part AS later, y.part_no AS lp, x.max_ts, y.min_ts
             FROM a x JOIN a y ON x.user_id = y.user_id AND x.part_no < y.part_no AND x.mx > y.mn)
     SELECT user_id, earlier, later, max_ts, min_ts, count(DISTINCT user_id) OVER () AS n_users
     FROM bad ORDER BY user_id, ep, lp LIMIT ${SHOW}`,
  );
  if (rows.length) {
    const list = rows
      .map((r) =>
        Number(r.max_ts) > Number(r.min_ts)
          ? `user ${r.user_id}: ${r.earlier} has an event at ts ${fmtTs(r.max_ts)} later than a ${r.later} event at ts ${fmtTs(r.min_ts)}`
          : `user ${r.user_id}: ${r.earlier} and ${r.later} events tie at ts ${fmtTs(r.max_ts)} but the ${r.earlier} event comes later in the canonical order (ts, item_id, event_idx)`,
      )
      .join("; ");
    throw new LeakageError(`${Number(rows[0].n_users)} user(s) have events out of order across parts: ${list}`);
  }
}

async function checkGlobalTime(db: Duck, dir: string, cutoffs: SplitCheckOptions["cutoffs"]): Promise<void> {
  let cut = cutoffs;
  if (!cut) {
    // No cutoffs recorded: the later part's first event acts as the boundary, compared strictly.
    const b = await db.one<{ v: bigint | null; t: bigint | null }>(
      `SELECT (SELECT min(ts) FROM ${parquet(path.join(dir, "val.parquet"))}) AS v, (SELECT min(ts) FROM ${parquet(path.join(dir, "test.parquet"))}) AS t`,
    );
    const t = b.t === null ? Number.MAX_SAFE_INTEGER : Number(b.t);
    const v = b.v === null ? t : Number(b.v);
    cut = { val_start: Math.min(v, t), test_start: t };
  }
  const vs = cut.val_start;
  const ts = cut.test_start;
  const rows = await db.rows<{ part: string; user_id: number; ts: bigint; n_bad: bigint }>(
    `SELECT part, user_id, ts, count(*) OVER () AS n_bad FROM (${unionSql(dir, MAIN_PARTS)})
     WHERE (part = 'train' AND ts >= ${vs}) OR (part = 'val' AND (ts < ${vs} OR ts >= ${ts})) OR (part = 'test' AND ts < ${ts})
     ORDER BY user_id, ts, part_no, item_id, event_idx LIMIT ${SHOW}`,
  );
  if (rows.length) {
    const why = (r: { part: string; ts: bigint }) =>
      r.part === "train"
        ? `not before val_start ${fmtTs(vs)}`
        : r.part === "test"
          ? `before test_start ${fmtTs(ts)}`
          : `outside [val_start ${fmtTs(vs)}, test_start ${fmtTs(ts)})`;
    const list = rows.map((r) => `user ${r.user_id} has a ${r.part} event at ts ${fmtTs(r.ts)}, ${why(r)}`).join("; ");
    throw new LeakageError(`${Number(rows[0].n_bad)} event(s) are on the wrong side of a global cutoff: ${list}`);
  }
}

async function checkHeldOutUsers(db: Duck, dir: string): Promise<void> {
  const rows = await db.rows<{ user_id: number; parts: string; n_users: bigint }>(
    `WITH u AS (SELECT DISTINCT part, part_no, user_id FROM (${unionSql(dir, MAIN_PARTS)})),
     bad AS (SELECT user_id, string_agg(part, ', ' ORDER BY part_no) AS parts FROM u GROUP BY user_id HAVING count(*) > 1)
     SELECT *, count(*) OVER () AS n_users FROM bad ORDER BY user_id LIMIT ${SHOW}`,
  );
  if (rows.length) {
    const list = rows.map((r) => `user ${r.user_id} is in ${r.parts}`).join("; ");
    throw new LeakageError(`${Number(rows[0].n_users)} user(s) appear in more than one of train/val/test in a strong-generalization split: ${list}`);
  }
}

async function checkFoldinPartition(db: Duck, dir: string, part: "val" | "test"): Promise<void> {
  const whole = parquet(path.join(dir, partFile(part)));
  const subs = [`${part}_foldin`, `${part}_holdout`] as const;
  await checkDisjoint(db, dir, subs);
  await checkUnion(db, dir, subs, { dir, strategy: "strong_generalization", input: whole }, []);
}

/**
 * Checks a written split for leakage and integrity; throws `LeakageError` naming the first offenders.
 * All strategies: no event (event_idx) in two parts, and the parts' union equals the filtered input
 * (when `input` or `expectedRows` is given). Then per strategy: the ordering rules in the module
 * comment; strong_generalization: no user in two of train/val/test, each of val/test is exactly the
 * disjoint union of its fold-in and held-out files (and fold-in precedes held-out when chronological);
 * random: no temporal check, reported as `leakage_safe: false`.
 */
export async function checkSplitLeakage(db: Duck, opts: SplitCheckOptions): Promise<LeakageReport> {
  const parts: string[] = [...MAIN_PARTS];
  if (opts.strategy === "strong_generalization") parts.push(...STRONG_SUBPARTS);
  for (const p of parts) {
    const f = path.join(opts.dir, partFile(p));
    if (!fs.existsSync(f)) throw new NtgError(`split check: missing ${f}`);
  }
  const checks: string[] = [];
  const notes: string[] = [];
  await checkDisjoint(db, opts.dir, MAIN_PARTS);
  checks.push("parts_disjoint");
  await checkUnion(db, opts.dir, MAIN_PARTS, opts, checks);
  switch (opts.strategy) {
    case "per_user_chronological":
    case "leave_last_out":
      await checkPerUserOrder(db, opts.dir, MAIN_PARTS);
      checks.push("per_user_canonical_order");
      break;
    case "global_time":
      await checkGlobalTime(db, opts.dir, opts.cutoffs);
      checks.push(opts.cutoffs ? "global_cutoffs" : "global_part_boundaries");
      break;
    case "strong_generalization":
      await checkHeldOutUsers(db, opts.dir);
      checks.push("heldout_users_disjoint");
      await checkFoldinPartition(db, opts.dir, "val");
      await checkFoldinPartition(db, opts.dir, "test");
      checks.push("foldin_holdout_partition");
      if (opts.foldinOrder === "chronological") {
        await checkPerUserOrder(db, opts.dir, ["val_foldin", "val_holdout"]);
        await checkPerUserOrder(db, opts.dir, ["test_foldin", "test_holdout"]);
        checks.push("foldin_before_holdout");
      }
      break;
    case "random":
      notes.push("random split: temporal order is not checked; val/test events may precede train events");
      break;
  }
  return { strategy: opts.strategy, leakage_safe: opts.strategy !== "random", checks, notes };
}

/**
 * Throws `LeakageError` when an artifact built downstream of a split recorded reading data later
 * than the allowed limit (e.g. features or models that saw val/test events). An artifact that read
 * nothing (max null) passes; reading exactly up to `maxTs` is allowed.
 */
export function assertReadWithin(artifact: { name: string; timeRange: TimeRange }, limit: { maxTs: number; what: string }): void {
  const max = artifact.timeRange.max;
  if (max !== null && max > limit.maxTs) {
    throw new LeakageError(`${artifact.name} read data up to ts ${fmtTs(max)}, later than ${limit.what} (ts ${fmtTs(limit.maxTs)})`);
  }
}
