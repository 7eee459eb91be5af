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
 *
 * Each check first runs over the files' key columns loaded into typed arrays (one read per file,
 * linear time); only a check that cannot be proven there (a violation, NULL keys, or id ranges too
 * sparse for dense arrays) runs the SQL version, which is the reference and names the offenders.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Duck } from "../data/duck";
import { parquet } from "../data/duck";
import type { TimeRange } from "../data/schema";
import { LeakageError, NtgError } from "../util/errors";
import { allSafeIntegers, bitmapFits, disjointUnion, type EventSetCheck, IntBitset, readColumns, SAFE, scalarOn } from "./columns";
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

/** Value range of a column ({NaN, NaN} when empty). */
export interface Range {
  lo: number;
  hi: number;
}

/** What one pass over a part's keys establishes. */
export interface KeyInfo {
  user: Range;
  item: Range;
  ts: Range;
  idx: Range;
  /** rows strictly increase in (user_id, ts, item_id, event_idx) */
  canonical: boolean;
  /** when rows are grouped by non-decreasing user_id: start of each user's run (plus the end) */
  runs: Int32Array | null;
}

/** Key columns of one part file as typed arrays. */
export interface PartKeys {
  user: Int32Array;
  item: Int32Array;
  /** exact (|ts| < 2^53 checked) */
  ts: Float64Array;
  /** exact (|event_idx| < 2^53 checked) */
  idx: Float64Array;
  length: number;
  info: KeyInfo;
  /** the part's item ids as a set (null when too sparse) and their number, once `itemsOf` built them */
  items?: { set: IntBitset | null; distinct: number };
}

/** Part name → its keys, or null when they cannot be held exactly in typed arrays. */
export type LoadedParts = Map<string, PartKeys | null>;

/** One pass: ranges, canonical order, user runs; null when ts or event_idx is not a safe integer. */
function profileKeys(user: Int32Array, item: Int32Array, ts: Float64Array, idx: Float64Array): KeyInfo | null {
  const n = user.length;
  if (n === 0) {
    const e = { lo: NaN, hi: NaN };
    return { user: e, item: { ...e }, ts: { ...e }, idx: { ...e }, canonical: true, runs: Int32Array.of(0) };
  }
  let uLo = user[0];
  let uHi = uLo;
  let iLo = item[0];
  let iHi = iLo;
  let tLo = ts[0];
  let tHi = tLo;
  let xLo = idx[0];
  let xHi = xLo;
  let canonical = true;
  let grouped = true;
  const starts: number[] = [0];
  for (let i = 0; i < n; i++) {
    const u = user[i];
    const it = item[i];
    const t = ts[i];
    const x = idx[i];
    if (Math.floor(t) !== t || Math.floor(x) !== x) return null;
    if (u < uLo) uLo = u;
    else if (u > uHi) uHi = u;
    if (it < iLo) iLo = it;
    else if (it > iHi) iHi = it;
    if (t < tLo) tLo = t;
    else if (t > tHi) tHi = t;
    if (x < xLo) xLo = x;
    else if (x > xHi) xHi = x;
    if (i === 0) continue;
    const du = u - user[i - 1];
    if (du > 0) {
      if (grouped) starts.push(i);
    } else if (du < 0) {
      grouped = false;
      canonical = false;
    } else if (canonical) {
      const dt = t - ts[i - 1];
      if (dt < 0) canonical = false;
      else if (dt === 0) {
        const di = it - item[i - 1];
        if (di < 0 || (di === 0 && !(x > idx[i - 1]))) canonical = false;
      }
    }
  }
  if (!(tLo > -SAFE && tHi < SAFE && xLo > -SAFE && xHi < SAFE)) return null;
  starts.push(n);
  return {
    user: { lo: uLo, hi: uHi },
    item: { lo: iLo, hi: iHi },
    ts: { lo: tLo, hi: tHi },
    idx: { lo: xLo, hi: xHi },
    canonical,
    runs: grouped ? Int32Array.from(starts) : null,
  };
}

/** Reads a part file's keys; null when a key is NULL, out of range, or of an unexpected type. */
export async function loadPartKeys(db: Pick<Duck, "conn">, file: string): Promise<PartKeys | null> {
  try {
    const k = await readColumns(
      db,
      `SELECT CAST(user_id AS INTEGER), CAST(item_id AS INTEGER), CAST(ts AS DOUBLE), CAST(event_idx AS DOUBLE) FROM ${parquet(file)}`,
      { user: "i32", item: "i32", ts: "f64", idx: "f64" },
      await scalarOn(db, `SELECT count(*) FROM ${parquet(file)}`),
    );
    if (!k) return null;
    const info = profileKeys(k.user, k.item, k.ts, k.idx);
    return info ? { user: k.user, item: k.item, ts: k.ts, idx: k.idx, length: k.length, info } : null;
  } catch {
    return null; // e.g. ids that do not fit INTEGER: the SQL checks handle those
  }
}

/** Loads the keys of the given parts of a split directory (each file once). */
export async function loadParts(db: Duck, dir: string, parts: readonly string[], into: LoadedParts = new Map()): Promise<LoadedParts> {
  for (const p of parts) if (!into.has(p)) into.set(p, await loadPartKeys(db, path.join(dir, partFile(p))));
  return into;
}

/** The keys of all the given parts, or null if any of them is not loaded. */
function keysOf(loaded: LoadedParts | undefined, parts: readonly string[]): PartKeys[] | null {
  if (!loaded) return null;
  const out: PartKeys[] = [];
  for (const p of parts) {
    const k = loaded.get(p);
    if (!k) return null;
    out.push(k);
  }
  return out;
}

/** A bitset over the union of the ranges, or null when it would be too sparse (`rows` values in all). */
function bitsetOver(ranges: Range[], rows: number): IntBitset | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of ranges) {
    if (Number.isNaN(r.lo)) continue;
    lo = Math.min(lo, r.lo);
    hi = Math.max(hi, r.hi);
  }
  if (lo === Infinity) return new IntBitset(0, 0);
  return bitmapFits(hi - lo + 1, rows) ? new IntBitset(lo, hi) : null;
}

const rowsOf = (parts: PartKeys[]) => parts.reduce((a, k) => a + k.length, 0);

/** Dense per-user slots over the user id range of the parts, or null when the range is too sparse. */
function userRange(parts: PartKeys[]): { lo: number; size: number } | null {
  const bs = bitsetOver(
    parts.map((p) => p.info.user),
    rowsOf(parts),
  );
  return bs ? { lo: bs.lo, size: bs.hi - bs.lo + 1 } : null;
}

/** Canonical-order comparison (ts, item_id, event_idx) of row i of a and row j of b. */
function cmpKey(a: PartKeys, i: number, b: PartKeys, j: number): number {
  return a.ts[i] - b.ts[j] || a.item[i] - b.item[j] || a.idx[i] - b.idx[j];
}

/** Fast per-user order check: true when proven fine, false when it needs the SQL check. */
function perUserOrderOk(parts: PartKeys[]): boolean {
  const r = userRange(parts);
  if (!r) return false;
  // Latest (canonical) event per user over the earlier parts: part number and row.
  const lastPart = new Int32Array(r.size).fill(-1);
  const lastRow = new Int32Array(r.size);
  const minRow = new Int32Array(r.size);
  const maxRow = new Int32Array(r.size);
  for (let p = 0; p < parts.length; p++) {
    const k = parts[p];
    minRow.fill(-1);
    const runs = k.info.canonical ? k.info.runs : null;
    if (runs) {
      // canonical rows: a user's first and last rows are its earliest and latest events
      for (let j = 0; j + 1 < runs.length; j++) {
        const u = k.user[runs[j]] - r.lo;
        minRow[u] = runs[j];
        maxRow[u] = runs[j + 1] - 1;
      }
    } else {
      for (let i = 0; i < k.length; i++) {
        const u = k.user[i] - r.lo;
        if (minRow[u] < 0) {
          minRow[u] = i;
          maxRow[u] = i;
        } else if (cmpKey(k, i, k, minRow[u]) < 0) minRow[u] = i;
        else if (cmpKey(k, i, k, maxRow[u]) > 0) maxRow[u] = i;
      }
    }
    for (let u = 0; u < r.size; u++) {
      if (minRow[u] < 0) continue;
      const q = lastPart[u];
      if (q >= 0 && cmpKey(parts[q], lastRow[u], k, minRow[u]) >= 0) return false;
      if (q < 0 || cmpKey(k, maxRow[u], parts[q], lastRow[u]) > 0) {
        lastPart[u] = p;
        lastRow[u] = maxRow[u];
      }
    }
  }
  return true;
}

/** The part's set of item ids (cached). */
function itemsOf(k: PartKeys): { set: IntBitset | null; distinct: number } {
  if (!k.items) {
    const set = bitsetOver([k.info.item], k.length);
    k.items = { set, distinct: set ? set.addAll(k.item) : new Set(k.item).size };
  }
  return k.items;
}

/** Rows, distinct users and items, and time range of a part. */
export function keyStats(k: PartKeys): { rows: number; users: number; items: number; min: number | null; max: number | null } {
  const users = k.info.runs ? k.info.runs.length - 1 : bitsetOver([k.info.user], k.length)?.addAll(k.user) ?? new Set(k.user).size;
  const items = itemsOf(k).distinct;
  return { rows: k.length, users, items, min: k.length ? k.info.ts.lo : null, max: k.length ? k.info.ts.hi : null };
}

/** Distinct users or items of `part` that do not occur in `train`; null when the ids are too sparse. */
function notInTrain(train: PartKeys, part: PartKeys, col: "user" | "item"): number | null {
  const seen = bitsetOver([part.info[col]], part.length);
  if (!seen) return null;
  if (col === "user" && train.info.runs && part.info.runs) {
    // grouped by user: one lookup per run
    const set = bitsetOver([train.info.user, part.info.user], train.length + part.length);
    if (!set) return null;
    for (let j = 0; j + 1 < train.info.runs.length; j++) set.add(train.user[train.info.runs[j]]);
    const runs = part.info.runs;
    let d = 0;
    for (let j = 0; j + 1 < runs.length; j++) if (!set.has(part.user[runs[j]])) d++;
    return d;
  }
  let set: IntBitset | null;
  if (col === "item") set = itemsOf(train).set;
  else {
    set = bitsetOver([train.info.user], train.length);
    set?.addAll(train.user);
  }
  return set ? set.countNotIn(part[col], seen) : null;
}

/** Cold-start counts from loaded keys (null when they need SQL). */
export function coldStartOf(loaded: LoadedParts): { vu: number; tu: number; vi: number; ti: number } | null {
  const [train, val, test] = MAIN_PARTS.map((p) => loaded.get(p));
  if (!train || !val || !test) return null;
  const vu = notInTrain(train, val, "user");
  const tu = notInTrain(train, test, "user");
  const vi = notInTrain(train, val, "item");
  const ti = notInTrain(train, test, "item");
  return vu === null || tu === null || vi === null || ti === null ? null : { vu, tu, vi, ti };
}

/** Fast verdicts of the disjointness and union checks (null: not computed, run SQL). */
type Verdict = { disjoint: boolean; union: boolean | null } | null;

/** Computes the fast verdict over loaded parts; `input` as in `checkUnion` (undefined: load from opts.input when given). */
async function fastVerdict(db: Duck, loaded: LoadedParts | undefined, parts: readonly string[], input: string | undefined, inputIdx?: InputIdx): Promise<Verdict> {
  const keys = keysOf(loaded, parts);
  if (!keys) return null;
  const idx = input ? (inputIdx !== undefined ? inputIdx : await loadInputIdx(db, input)) : null;
  const v = disjointUnion(
    keys.map((k) => k.idx),
    idx,
    keys.map((k) => k.info.idx),
  );
  // an input that could not be loaded leaves the union to SQL
  return input && !idx ? { disjoint: v.disjoint, union: false } : v;
}

async function checkDisjoint(db: Duck, dir: string, parts: readonly string[], verdict: Verdict): Promise<void> {
  if (verdict?.disjoint) return;
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

/** Event indices of the filtered input for the fast union check; null when it cannot be loaded exactly. */
type InputIdx = Float64Array | null;

async function loadInputIdx(db: Duck, input: string): Promise<InputIdx> {
  try {
    const k = await readColumns(db, `SELECT CAST(event_idx AS DOUBLE) FROM ${input}`, { idx: "f64" });
    return k && allSafeIntegers(k.idx) ? k.idx : null;
  } catch {
    return null;
  }
}

async function checkUnion(db: Duck, dir: string, parts: readonly string[], opts: SplitCheckOptions, checks: string[], verdict: Verdict, loaded?: LoadedParts): Promise<void> {
  const keys = keysOf(loaded, parts);
  if (opts.input) {
    if (verdict?.union) {
      checks.push("union_equals_input");
      return;
    }
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
    const n = keys ? keys.reduce((a, k) => a + k.length, 0) : Number(await db.scalar(`SELECT count(*) FROM (${unionSql(dir, parts)})`));
    if (n !== opts.expectedRows) throw new LeakageError(`the parts hold ${n} rows but the filtered input has ${opts.expectedRows}`);
    checks.push("row_count_matches");
  }
}

/**
 * Per user, the given parts must be contiguous blocks of the canonical order, in the given order.
 * Throws naming the first offending users with the clashing timestamps.
 */
async function checkPerUserOrder(db: Duck, dir: string, parts: readonly string[], loaded?: LoadedParts): Promise<void> {
  const keys = keysOf(loaded, parts);
  if (keys && perUserOrderOk(keys)) return;
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

async function checkGlobalTime(db: Duck, dir: string, cutoffs: SplitCheckOptions["cutoffs"], loaded?: LoadedParts): Promise<void> {
  const keys = keysOf(loaded, MAIN_PARTS);
  if (keys) {
    let cut = cutoffs;
    if (!cut) {
      const [, val, test] = keys;
      const t = test.length ? test.info.ts.lo : Number.MAX_SAFE_INTEGER;
      const v = val.length ? val.info.ts.lo : t;
      cut = { val_start: Math.min(v, t), test_start: t };
    }
    const { val_start: vs, test_start: ts } = cut;
    const [train, val, test] = keys;
    let ok = true;
    for (let i = 0; ok && i < train.length; i++) if (train.ts[i] >= vs) ok = false;
    for (let i = 0; ok && i < val.length; i++) if (val.ts[i] < vs || val.ts[i] >= ts) ok = false;
    for (let i = 0; ok && i < test.length; i++) if (test.ts[i] < ts) ok = false;
    if (ok) return;
  }
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

async function checkHeldOutUsers(db: Duck, dir: string, loaded?: LoadedParts): Promise<void> {
  const keys = keysOf(loaded, MAIN_PARTS);
  const r = keys && userRange(keys);
  if (keys && r) {
    const seen = new Uint8Array(r.size);
    let ok = true;
    for (let p = 0; ok && p < keys.length; p++) {
      const bit = 1 << p;
      const k = keys[p];
      for (let i = 0; i < k.length; i++) {
        const u = k.user[i] - r.lo;
        if (seen[u] & ~bit) {
          ok = false;
          break;
        }
        seen[u] |= bit;
      }
    }
    if (ok) return;
  }
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

async function checkFoldinPartition(db: Duck, dir: string, part: "val" | "test", loaded?: LoadedParts): Promise<void> {
  const whole = parquet(path.join(dir, partFile(part)));
  const subs = [`${part}_foldin`, `${part}_holdout`] as const;
  const wholeKeys = loaded?.get(part);
  const verdict = await fastVerdict(db, loaded, subs, whole, wholeKeys ? wholeKeys.idx : undefined);
  await checkDisjoint(db, dir, subs, verdict);
  await checkUnion(db, dir, subs, { dir, strategy: "strong_generalization", input: whole }, [], verdict, loaded);
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
  return checkSplitLeakageWith(db, opts);
}

/** Part files a strategy writes. */
export function splitParts(strategy: SplitStrategy): string[] {
  const parts: string[] = [...MAIN_PARTS];
  if (strategy === "strong_generalization") parts.push(...STRONG_SUBPARTS);
  return parts;
}

/**
 * `checkSplitLeakage` with the parts' keys possibly already loaded (`loaded`, filled in here
 * otherwise) and, for `opts.input`, its event indices (`inputIdx`) when the caller has them.
 */
export async function checkSplitLeakageWith(
  db: Duck,
  opts: SplitCheckOptions,
  loaded: LoadedParts = new Map(),
  inputIdx?: Float64Array,
  /** an `EventSetCheck` of `inputIdx` already fed with the loaded main parts */
  mainCheck?: EventSetCheck,
): Promise<LeakageReport> {
  const parts = splitParts(opts.strategy);
  for (const p of parts) {
    const f = path.join(opts.dir, partFile(p));
    if (!fs.existsSync(f)) throw new NtgError(`split check: missing ${f}`);
  }
  await loadParts(db, opts.dir, parts, loaded);
  const checks: string[] = [];
  const notes: string[] = [];
  const verdict = mainCheck && opts.input ? mainCheck.verdict() : await fastVerdict(db, loaded, MAIN_PARTS, opts.input, inputIdx);
  await checkDisjoint(db, opts.dir, MAIN_PARTS, verdict);
  checks.push("parts_disjoint");
  await checkUnion(db, opts.dir, MAIN_PARTS, opts, checks, verdict, loaded);
  switch (opts.strategy) {
    case "per_user_chronological":
    case "leave_last_out":
      await checkPerUserOrder(db, opts.dir, MAIN_PARTS, loaded);
      checks.push("per_user_canonical_order");
      break;
    case "global_time":
      await checkGlobalTime(db, opts.dir, opts.cutoffs, loaded);
      checks.push(opts.cutoffs ? "global_cutoffs" : "global_part_boundaries");
      break;
    case "strong_generalization":
      await checkHeldOutUsers(db, opts.dir, loaded);
      checks.push("heldout_users_disjoint");
      await checkFoldinPartition(db, opts.dir, "val", loaded);
      await checkFoldinPartition(db, opts.dir, "test", loaded);
      checks.push("foldin_holdout_partition");
      if (opts.foldinOrder === "chronological") {
        await checkPerUserOrder(db, opts.dir, ["val_foldin", "val_holdout"], loaded);
        await checkPerUserOrder(db, opts.dir, ["test_foldin", "test_holdout"], loaded);
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
