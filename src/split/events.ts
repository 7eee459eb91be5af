/**
 * The split's view of its input: the key columns of every event as typed arrays in canonical
 * order (user_id, ts, item_id, event_idx), indexed by the scratch table's position column.
 * Assignments are computed in JS over these arrays; SQL only materializes the input once and
 * writes the parts.
 */
import type { Duck } from "../data/duck";
import { quoteIdent } from "../data/duck";
import { INTERACTION_ORDER } from "../data/schema";
import { NtgError } from "../util/errors";
import { allDistinct, readColumns, SAFE } from "./columns";
import type { KCoreOptions, KCoreStats } from "./types";

/** Position column of the scratch input table: the event's rank in canonical order (0-based). */
export const POS = "__ntg_pos";

/** Key columns in canonical order (index = position), plus the positive-rule mask. */
export interface CanonicalEvents {
  n: number;
  user: Int32Array;
  item: Int32Array;
  /** unix seconds (exact: |ts| < 2^53 is checked) */
  ts: Float64Array;
  /** event_idx (exact: |event_idx| < 2^53 is checked) */
  idx: Float64Array;
  /** 1 where the positive rule keeps the event; null when the rule keeps everything */
  positive: Uint8Array | null;
  /** start of each user's run of events; runs[nUsers] = n */
  runs: Int32Array;
}

/** Reorders `a` so that element i moves to position pos[i]. */
function scatter<A extends Int32Array | Float64Array | Uint8Array>(a: A, pos: Float64Array): A {
  const out = new (a.constructor as new (n: number) => A)(a.length);
  for (let i = 0; i < a.length; i++) out[pos[i]] = a[i];
  return out;
}

/** True when (user, ts, item, idx) strictly increases along the arrays. */
function isCanonical(user: Int32Array, ts: Float64Array, item: Int32Array, idx: Float64Array): boolean {
  for (let i = 1; i < user.length; i++) {
    const du = user[i] - user[i - 1];
    if (du > 0) continue;
    if (du < 0) return false;
    const dt = ts[i] - ts[i - 1];
    if (dt > 0) continue;
    if (dt < 0) return false;
    const di = item[i] - item[i - 1];
    if (di > 0) continue;
    if (di < 0) return false;
    if (!(idx[i] > idx[i - 1])) return false;
  }
  return true;
}

/**
 * Reads the key columns of `relation` (a SQL relation with the position column `POS`) and returns
 * them in canonical order, or null when `POS` is not the canonical rank (then rank the rows, e.g.
 * with `rankedTableSql`, and call again). Inputs written by ingestion are already canonical.
 * Throws `NtgError` when event_idx is not a key (the split identifies events by it) or when a
 * key column holds NULLs or values beyond ±2^53.
 */
export async function loadCanonical(db: Duck, relation: string, predicate: string, inputName: string): Promise<CanonicalEvents | null> {
  const rows = Number(await db.scalar(`SELECT count(*) FROM ${relation}`));
  type Keys = { user: Int32Array; item: Int32Array; ts: Float64Array; idx: Float64Array; pos: Float64Array; positive?: Int32Array; length: number };
  const keys = `CAST(user_id AS INTEGER), CAST(item_id AS INTEGER), CAST(ts AS DOUBLE), CAST(event_idx AS DOUBLE), CAST(${POS} AS DOUBLE)`;
  const cols: Keys | null =
    predicate === "TRUE"
      ? await readColumns(db, `SELECT ${keys} FROM ${relation}`, { user: "i32", item: "i32", ts: "f64", idx: "f64", pos: "f64" }, rows)
      : await readColumns(
          db,
          `SELECT ${keys}, CAST(COALESCE((${predicate}), FALSE) AS INTEGER) FROM ${relation}`,
          { user: "i32", item: "i32", ts: "f64", idx: "f64", pos: "f64", positive: "i32" },
          rows,
        );
  const uniquenessError = async () => {
    const s = await db.one<{ rows: bigint; idx: bigint }>(`SELECT count(*) AS rows, count(DISTINCT event_idx) AS idx FROM ${relation}`);
    return new NtgError(`split: event_idx is not unique in ${inputName} (${s.idx} distinct of ${s.rows} rows)`);
  };
  if (cols === null) {
    const nulls = await db.one<{ e: bigint; o: bigint }>(
      `SELECT count(*) FILTER (WHERE event_idx IS NULL) AS e, count(*) FILTER (WHERE user_id IS NULL OR item_id IS NULL OR ts IS NULL) AS o FROM ${relation}`,
    );
    if (Number(nulls.e) > 0) throw await uniquenessError();
    throw new NtgError(`split: ${inputName} has ${nulls.o} row(s) with a NULL user_id, item_id or ts`);
  }
  const n = cols.length;
  // One pass over the rows as read: safe integers, positions in order, canonical order, user runs.
  let safe = true;
  let inOrder = true;
  let canonical = true;
  const starts: number[] = [];
  {
    const { user, item, ts, idx, pos } = cols;
    for (let i = 0; i < n; i++) {
      const t = ts[i];
      const x = idx[i];
      if (!(t > -SAFE && t < SAFE && Math.floor(t) === t && x > -SAFE && x < SAFE && Math.floor(x) === x)) {
        safe = false;
        break;
      }
      if (pos[i] !== i) inOrder = false;
      if (i === 0 || user[i] !== user[i - 1]) starts.push(i);
      if (i > 0 && canonical) {
        const du = user[i] - user[i - 1];
        if (du < 0) canonical = false;
        else if (du === 0) {
          const dt = t - ts[i - 1];
          if (dt < 0) canonical = false;
          else if (dt === 0) {
            const di = item[i] - item[i - 1];
            if (di < 0 || (di === 0 && !(x > idx[i - 1]))) canonical = false;
          }
        }
      }
    }
  }
  if (!safe) throw new NtgError(`split: ${inputName} has ts or event_idx values beyond ±2^53, which the split does not support`);
  if (!allDistinct([cols.idx])) throw await uniquenessError();
  const positive: Uint8Array | null = cols.positive ? Uint8Array.from(cols.positive) : null;
  if (inOrder) {
    if (!canonical) return null;
    starts.push(n);
    return { n, user: cols.user, item: cols.item, ts: cols.ts, idx: cols.idx, positive, runs: Int32Array.from(starts) };
  }
  // Positions must be a permutation of 0..n-1 to scatter by them.
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = cols.pos[i];
    if (!(p >= 0 && p < n) || Math.floor(p) !== p || seen[p]) return null;
    seen[p] = 1;
  }
  const user = scatter(cols.user, cols.pos);
  const item = scatter(cols.item, cols.pos);
  const ts = scatter(cols.ts, cols.pos);
  const idx = scatter(cols.idx, cols.pos);
  if (!isCanonical(user, ts, item, idx)) return null;
  const runs: number[] = [];
  for (let i = 0; i < n; i++) if (i === 0 || user[i] !== user[i - 1]) runs.push(i);
  runs.push(n);
  return { n, user, item, ts, idx, positive: positive && scatter(positive, cols.pos), runs: Int32Array.from(runs) };
}

/** SQL creating `table` from `relation` with `POS` recomputed as the canonical rank (a total order: event_idx is unique). */
export function rankedTableSql(table: string, relation: string): string {
  return `CREATE OR REPLACE TABLE ${quoteIdent(table)} AS SELECT * REPLACE (row_number() OVER (ORDER BY ${INTERACTION_ORDER}) - 1 AS ${POS}) FROM ${relation}`;
}

/** Number of selected rows (all when `mask` is null). */
export function countMask(mask: Uint8Array | null, n: number): number {
  if (!mask) return n;
  let c = 0;
  for (let i = 0; i < mask.length; i++) c += mask[i];
  return c;
}

/**
 * Iterated k-core over the selected rows, exactly as the SQL fixed point of `kcoreFilter`:
 * each pass keeps the rows whose user has ≥ `users` and whose item has ≥ `items` events (or
 * distinct counterparts) among the current rows; stops after a pass that removes nothing.
 * Updates `keep` in place and returns the same statistics.
 */
export function kcoreMask(ev: CanonicalEvents, itemDense: Int32Array, nItems: number, keep: Uint8Array, opts: KCoreOptions): KCoreStats {
  const ku = opts.users ?? 0;
  const ki = opts.items ?? 0;
  const distinct = opts.count === "distinct";
  const nUsers = ev.runs.length - 1;
  const counts = () => {
    let rows = 0;
    let users = 0;
    const seenItem = new Uint8Array(nItems);
    let items = 0;
    for (let u = 0; u < nUsers; u++) {
      let any = false;
      for (let i = ev.runs[u]; i < ev.runs[u + 1]; i++) {
        if (!keep[i]) continue;
        rows++;
        any = true;
        const it = itemDense[i];
        if (!seenItem[it]) {
          seenItem[it] = 1;
          items++;
        }
      }
      if (any) users++;
    }
    return { rows, users, items };
  };
  const before = counts();
  let iterations = 0;
  let rows = before.rows;
  if (ku > 1 || ki > 1) {
    const userCount = new Int32Array(nUsers);
    const itemCount = new Int32Array(nItems);
    const stamp = new Int32Array(nItems);
    for (;;) {
      userCount.fill(0);
      itemCount.fill(0);
      stamp.fill(-1);
      for (let u = 0; u < nUsers; u++) {
        let c = 0;
        for (let i = ev.runs[u]; i < ev.runs[u + 1]; i++) {
          if (!keep[i]) continue;
          const it = itemDense[i];
          if (distinct) {
            // rows are grouped by user, so a stamp per item counts each (user, item) pair once
            if (stamp[it] !== u) {
              stamp[it] = u;
              c++;
              itemCount[it]++;
            }
          } else {
            c++;
            itemCount[it]++;
          }
        }
        userCount[u] = c;
      }
      let n = 0;
      for (let u = 0; u < nUsers; u++) {
        const uOk = userCount[u] >= ku;
        for (let i = ev.runs[u]; i < ev.runs[u + 1]; i++) {
          if (!keep[i]) continue;
          if (uOk && itemCount[itemDense[i]] >= ki) n++;
          else keep[i] = 0;
        }
      }
      iterations += 1;
      if (n === rows) break;
      rows = n;
    }
  }
  const after = counts();
  return {
    iterations,
    rows_removed: before.rows - after.rows,
    users_removed: before.users - after.users,
    items_removed: before.items - after.items,
  };
}
