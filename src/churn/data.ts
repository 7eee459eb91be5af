/**
 * The churn module's in-memory view of a run's canonical tables: per-user event and payment
 * timelines in CSR form (typed arrays, sorted by time) plus the user attributes the synthetic
 * source provides (signup_ts, plan, monthly_price). Loaded once from Parquet; every cutoff's
 * labels and features are then computed from these arrays without SQL.
 */
import * as fs from "node:fs";
import { parquet, type Duck } from "../data/duck";
import { InputError } from "../util/errors";

/** Per-user timelines and attributes over dense user ids 0..nUsers−1. */
export interface ChurnData {
  nUsers: number;
  /** events of user u are [eventStart[u], eventStart[u+1]) in time order */
  eventStart: Int32Array;
  eventTs: Float64Array;
  /** event weight (watch fraction for the synthetic world; 1 when the source has none) */
  eventWeight: Float64Array;
  /** NaN when unrated */
  eventRating: Float64Array;
  /** subscription payments of user u are [payStart[u], payStart[u+1]) in time order (empty arrays when none) */
  payStart: Int32Array;
  payTs: Float64Array;
  payAmount: Float64Array;
  /** per-transaction revenue (revenue.parquet kinds other than "subscription", else interactions.revenue > 0) */
  txStart: Int32Array;
  txTs: Float64Array;
  txAmount: Float64Array;
  /** NaN when unknown */
  signupTs: Float64Array;
  /** index into planNames, −1 when unknown */
  plan: Int32Array;
  planNames: string[];
  /** NaN when unknown */
  monthlyPrice: Float64Array;
  /** earliest and latest timestamp over events and payments (unix seconds) */
  dataStart: number;
  dataEnd: number;
}

/** True when the data has subscription payments (the contractual setting). */
export function hasSubscriptions(d: ChurnData): boolean {
  return d.payTs.length > 0;
}

/** True when the data has per-transaction revenue (the non-contractual setting). */
export function hasTransactions(d: ChurnData): boolean {
  return d.txTs.length > 0;
}

/** Groups (user, ts, value…) rows into CSR order by user then ts (stable for equal keys). */
function toCsr(nUsers: number, user: Int32Array, ts: Float64Array, values: Float64Array[]): { start: Int32Array; ts: Float64Array; values: Float64Array[] } {
  const n = user.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => user[a] - user[b] || ts[a] - ts[b] || a - b);
  const start = new Int32Array(nUsers + 1);
  for (let i = 0; i < n; i++) {
    const u = user[i];
    if (!(u >= 0 && u < nUsers)) throw new InputError(`user id ${u} outside [0, ${nUsers})`, { column: "user_id", value: String(u) });
    start[u + 1]++;
  }
  for (let u = 0; u < nUsers; u++) start[u + 1] += start[u];
  const outTs = new Float64Array(n);
  const outV = values.map(() => new Float64Array(n));
  for (let k = 0; k < n; k++) {
    const i = order[k];
    outTs[k] = ts[i];
    for (let c = 0; c < values.length; c++) outV[c][k] = values[c][i];
  }
  return { start, ts: outTs, values: outV };
}

/** Plain-array input of {@link churnDataFromArrays} (tests and hand-made data). */
export interface ChurnDataInput {
  nUsers: number;
  events: { user: ArrayLike<number>; ts: ArrayLike<number>; weight?: ArrayLike<number>; rating?: ArrayLike<number> };
  payments?: { user: ArrayLike<number>; ts: ArrayLike<number>; amount: ArrayLike<number> };
  transactions?: { user: ArrayLike<number>; ts: ArrayLike<number>; amount: ArrayLike<number> };
  signupTs?: ArrayLike<number>;
  /** plan name per user (null when unknown) */
  plan?: (string | null)[];
  monthlyPrice?: ArrayLike<number>;
}

/** Builds {@link ChurnData} from plain arrays (rows in any order). */
export function churnDataFromArrays(inp: ChurnDataInput): ChurnData {
  const n = inp.nUsers;
  if (!(Number.isInteger(n) && n >= 1)) throw new InputError(`churn data: nUsers must be a positive integer, got ${n}`);
  const e = inp.events;
  const m = e.user.length;
  const ev = toCsr(n, Int32Array.from(e.user), Float64Array.from(e.ts), [
    e.weight ? Float64Array.from(e.weight) : new Float64Array(m).fill(1),
    e.rating ? Float64Array.from(e.rating) : new Float64Array(m).fill(NaN),
  ]);
  const pay = inp.payments
    ? toCsr(n, Int32Array.from(inp.payments.user), Float64Array.from(inp.payments.ts), [Float64Array.from(inp.payments.amount)])
    : toCsr(n, new Int32Array(0), new Float64Array(0), [new Float64Array(0)]);
  const tx = inp.transactions
    ? toCsr(n, Int32Array.from(inp.transactions.user), Float64Array.from(inp.transactions.ts), [Float64Array.from(inp.transactions.amount)])
    : toCsr(n, new Int32Array(0), new Float64Array(0), [new Float64Array(0)]);
  const planNames = inp.plan ? [...new Set(inp.plan.filter((x): x is string => x !== null))].sort() : [];
  const plan = new Int32Array(n).fill(-1);
  if (inp.plan) for (let u = 0; u < n; u++) plan[u] = inp.plan[u] === null ? -1 : planNames.indexOf(inp.plan[u] as string);
  return finish({
    nUsers: n,
    eventStart: ev.start,
    eventTs: ev.ts,
    eventWeight: ev.values[0],
    eventRating: ev.values[1],
    payStart: pay.start,
    payTs: pay.ts,
    payAmount: pay.values[0],
    txStart: tx.start,
    txTs: tx.ts,
    txAmount: tx.values[0],
    signupTs: inp.signupTs ? Float64Array.from(inp.signupTs) : new Float64Array(n).fill(NaN),
    plan,
    planNames,
    monthlyPrice: inp.monthlyPrice ? Float64Array.from(inp.monthlyPrice) : new Float64Array(n).fill(NaN),
    dataStart: NaN,
    dataEnd: NaN,
  });
}

function finish(d: ChurnData): ChurnData {
  let lo = Infinity;
  let hi = -Infinity;
  for (const arr of [d.eventTs, d.payTs, d.txTs]) {
    for (let i = 0; i < arr.length; i++) {
      const t = arr[i];
      if (!Number.isFinite(t)) throw new InputError(`churn data: timestamp at row ${i} is not finite`, { value: String(t) });
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
  }
  if (!(hi >= lo)) throw new InputError("churn data: no events and no payments, nothing to score");
  d.dataStart = lo;
  d.dataEnd = hi;
  return d;
}

/** Restricts data to timestamps ≤ `asOf` (a backtest "now": later rows are dropped before anything reads them). */
export function truncateData(d: ChurnData, asOf: number): ChurnData {
  const cut = (start: Int32Array, ts: Float64Array, vals: Float64Array[]) => {
    const keep: number[] = [];
    const ns = new Int32Array(start.length);
    for (let u = 0; u + 1 < start.length; u++) {
      for (let i = start[u]; i < start[u + 1]; i++) if (ts[i] <= asOf) keep.push(i);
      ns[u + 1] = keep.length;
    }
    return { start: ns, ts: Float64Array.from(keep, (i) => ts[i]), vals: vals.map((v) => Float64Array.from(keep, (i) => v[i])) };
  };
  const ev = cut(d.eventStart, d.eventTs, [d.eventWeight, d.eventRating]);
  const pay = cut(d.payStart, d.payTs, [d.payAmount]);
  const tx = cut(d.txStart, d.txTs, [d.txAmount]);
  return finish({
    ...d,
    eventStart: ev.start,
    eventTs: ev.ts,
    eventWeight: ev.vals[0],
    eventRating: ev.vals[1],
    payStart: pay.start,
    payTs: pay.ts,
    payAmount: pay.vals[0],
    txStart: tx.start,
    txTs: tx.ts,
    txAmount: tx.vals[0],
    dataStart: NaN,
    dataEnd: NaN,
  });
}

/** Input tables of {@link loadChurnData}: the run layout's processed files. */
export interface ChurnInputPaths {
  interactions: string;
  users: string;
  /** revenue.parquet (user_id, ts, amount, kind); null/absent or a missing file = no revenue */
  revenue?: string | null;
}

async function columnsOf(db: Duck, file: string): Promise<Map<string, string>> {
  const rows = await db.rows<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${parquet(file)}`);
  return new Map(rows.map((r) => [r.column_name, r.column_type]));
}

/**
 * Reads interactions.parquet, users.parquet and (if present) revenue.parquet into {@link ChurnData}.
 * Users are the rows of users.parquet (dense user_id); payments of kind "subscription" form the
 * contractual timeline, other kinds (and interactions.revenue > 0 when there is no revenue file)
 * the transaction timeline.
 */
export async function loadChurnData(db: Duck, paths: ChurnInputPaths): Promise<ChurnData> {
  const revenueExists = !!paths.revenue && fs.existsSync(paths.revenue);
  const ucols = await columnsOf(db, paths.users);
  if (!ucols.has("user_id")) throw new InputError("users table has no user_id column", { file: paths.users });
  const nUsers = Number(await db.scalar(`SELECT coalesce(max(user_id) + 1, 0) FROM ${parquet(paths.users)}`));
  const nRows = Number(await db.scalar(`SELECT count(*) FROM ${parquet(paths.users)}`));
  if (nUsers === 0) throw new InputError("users table is empty", { file: paths.users });
  if (nRows !== nUsers) throw new InputError(`users table must have dense user_id 0..n−1 (max id + 1 = ${nUsers}, rows = ${nRows})`, { file: paths.users });
  const icols = await columnsOf(db, paths.interactions);
  for (const c of ["user_id", "ts"]) if (!icols.has(c)) throw new InputError(`interactions table has no ${c} column`, { file: paths.interactions });
  const w = icols.has("weight") ? "coalesce(weight, 1.0)" : "1.0";
  const r = icols.has("rating") ? "rating" : "CAST(NULL AS DOUBLE)";
  const ev = await db.columns(`SELECT user_id AS u, CAST(ts AS DOUBLE) AS ts, ${w} AS w, ${r} AS r FROM ${parquet(paths.interactions)} ORDER BY user_id, ts, ${icols.has("item_id") ? "item_id, " : ""}${icols.has("event_idx") ? "event_idx" : "ts"}`, {
    u: "i32",
    ts: "f64",
    w: "f64",
    r: "f64",
  });
  let payments: ChurnDataInput["payments"];
  let transactions: ChurnDataInput["transactions"];
  if (revenueExists && paths.revenue) {
    const rc = await columnsOf(db, paths.revenue);
    for (const c of ["user_id", "ts", "amount"]) if (!rc.has(c)) throw new InputError(`revenue table has no ${c} column`, { file: paths.revenue });
    const kind = rc.has("kind") ? "coalesce(kind, 'transaction')" : "'transaction'";
    const sql = (sub: boolean) =>
      `SELECT user_id AS u, CAST(ts AS DOUBLE) AS ts, CAST(amount AS DOUBLE) AS a FROM ${parquet(paths.revenue as string)} WHERE ${kind} ${sub ? "=" : "<>"} 'subscription' ORDER BY user_id, ts, amount`;
    const p = await db.columns(sql(true), { u: "i32", ts: "f64", a: "f64" });
    const t = await db.columns(sql(false), { u: "i32", ts: "f64", a: "f64" });
    payments = { user: p.u, ts: p.ts, amount: p.a };
    transactions = { user: t.u, ts: t.ts, amount: t.a };
  } else if (icols.has("revenue")) {
    const t = await db.columns(`SELECT user_id AS u, CAST(ts AS DOUBLE) AS ts, revenue AS a FROM ${parquet(paths.interactions)} WHERE revenue > 0 ORDER BY user_id, ts, revenue`, {
      u: "i32",
      ts: "f64",
      a: "f64",
    });
    transactions = { user: t.u, ts: t.ts, amount: t.a };
  }
  let signupTs: Float64Array | undefined;
  let monthlyPrice: Float64Array | undefined;
  let plan: (string | null)[] | undefined;
  if (ucols.has("signup_ts") || ucols.has("monthly_price")) {
    const a = await db.columns(
      `SELECT ${ucols.has("signup_ts") ? "CAST(signup_ts AS DOUBLE)" : "CAST(NULL AS DOUBLE)"} AS s, ${ucols.has("monthly_price") ? "CAST(monthly_price AS DOUBLE)" : "CAST(NULL AS DOUBLE)"} AS p FROM ${parquet(paths.users)} ORDER BY user_id`,
      { s: "f64", p: "f64" },
    );
    signupTs = a.s;
    monthlyPrice = a.p;
  }
  if (ucols.has("plan")) {
    const rows = await db.rows<{ plan: string | null }>(`SELECT CAST(plan AS VARCHAR) AS plan FROM ${parquet(paths.users)} ORDER BY user_id`);
    plan = rows.map((x) => x.plan);
  }
  return churnDataFromArrays({
    nUsers,
    events: { user: ev.u, ts: ev.ts, weight: ev.w, rating: ev.r },
    payments,
    transactions,
    signupTs,
    plan,
    monthlyPrice,
  });
}

/** Index of the last element ≤ x in sorted arr[lo, hi), or lo − 1 when none. */
export function lastAtOrBefore(arr: Float64Array, lo: number, hi: number, x: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (arr[mid] <= x) a = mid + 1;
    else b = mid;
  }
  return a - 1;
}
