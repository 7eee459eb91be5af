/**
 * The split strategies. Each one assigns every event of the filtered input a part code
 * (train, val, test, or 0 = not in the split, i.e. dropped), computed in JS over the events in
 * canonical order. Every ordering carries the full canonical tie-break, so assignments are
 * deterministic. Per-user sizes are computed by the same SQL expressions as always (over the
 * distinct user sizes only), so the rounding is exactly DuckDB's.
 */
import type { Duck } from "../data/duck";
import { quoteIdent } from "../data/duck";
import { ConfigError } from "../util/errors";
import { Rng } from "../util/rng";
import { kthThreshold } from "./columns";
import type { CanonicalEvents } from "./events";
import { eventKey } from "./random-keys";
import type { SplitRules, SplitStrategy } from "./types";

/**
 * Part codes, in temporal order (so a per-user split's codes ascend along each user's events).
 * VAL/TEST are the fold-in halves for strong generalization.
 */
export const CODE = { none: 0, train: 1, val: 2, val_holdout: 3, test: 4, test_holdout: 5 } as const;
/** One past the largest code. */
export const CODE_LIMIT = 6;

/** Range [lo, hi] of the codes of each written part. */
export const PART_CODES: Record<string, readonly [number, number]> = {
  train: [CODE.train, CODE.train],
  val: [CODE.val, CODE.val_holdout],
  test: [CODE.test, CODE.test_holdout],
  val_foldin: [CODE.val, CODE.val],
  val_holdout: [CODE.val_holdout, CODE.val_holdout],
  test_foldin: [CODE.test, CODE.test],
  test_holdout: [CODE.test_holdout, CODE.test_holdout],
};

/** What a strategy works with. */
export interface AssignContext {
  db: Duck;
  ev: CanonicalEvents;
  /** rows of the filtered input (positive rule and k-core); null = all */
  keep: Uint8Array | null;
  /** filtered rows per user run */
  userN: Int32Array;
  /** prefix for scratch tables; names are pushed onto `scratch` for the caller's cleanup */
  prefix: string;
  scratch: string[];
}

/** Part code for rows of users below min_user_interactions. */
function shortCode(rules: SplitRules): number {
  return rules.short_users === "drop" ? CODE.none : CODE.train;
}

/** Fraction-of-n SQL with a small epsilon so e.g. 0.29·100 does not floor to 28. */
function fracCount(frac: number): string {
  return frac > 0 ? `GREATEST(1, floor(n * ${frac} + 1e-9))` : "0";
}

/**
 * Evaluates SQL expressions in terms of a user's size `n BIGINT` for each distinct user size and
 * returns n → values. `from` turns the sizes table into the relation the expressions read
 * (default: the table itself).
 */
async function perSize(ctx: AssignContext, exprs: Record<string, string>, from: (sizes: string) => string = (t) => t): Promise<Map<number, Record<string, number>>> {
  const sizes = new Set<number>();
  for (let u = 0; u < ctx.userN.length; u++) if (ctx.userN[u] > 0) sizes.add(ctx.userN[u]);
  const out = new Map<number, Record<string, number>>();
  if (sizes.size === 0) return out;
  const table = `${ctx.prefix}sizes`;
  ctx.scratch.push(table);
  await ctx.db.loadColumns(table, { n: BigInt64Array.from([...sizes].sort((a, b) => a - b), (v) => BigInt(v)) });
  const names = Object.keys(exprs);
  const rows = await ctx.db.rows<Record<string, bigint | number>>(
    `SELECT n, ${names.map((k) => `CAST(${exprs[k]} AS BIGINT) AS ${quoteIdent(k)}`).join(", ")} FROM ${from(quoteIdent(table))} ORDER BY n`,
  );
  for (const r of rows) {
    const v: Record<string, number> = {};
    for (const k of names) v[k] = Number(r[k]);
    out.set(Number(r.n), v);
  }
  return out;
}

/**
 * Per-user contiguous allocation sizes: within each user, the first n − n_val − n_test events in
 * the strategy's order go to train, the next n_val to val, the last n_test to test. `ntRaw`/`nvRaw`
 * are SQL in terms of `n`; they are capped so train keeps at least one event.
 */
async function perUserSizes(ctx: AssignContext, ntRaw: string, nvRaw: string): Promise<Map<number, Record<string, number>>> {
  const vflag = `CASE WHEN (${nvRaw}) > 0 THEN 1 ELSE 0 END`;
  return perSize(
    ctx,
    { nt: "nt", nv: "nv" },
    (sizes) => `(SELECT n, nt, LEAST(nv_raw, n - 1 - nt) AS nv FROM (
       SELECT n, LEAST(nt_raw, n - 1 - vf) AS nt, nv_raw FROM (
         SELECT n, CAST(${ntRaw} AS BIGINT) AS nt_raw, CAST(${nvRaw} AS BIGINT) AS nv_raw, ${vflag} AS vf FROM ${sizes})))`,
  );
}

/** Seeded per-event random keys, in canonical order. */
function randomKeys(ev: CanonicalEvents, seed: number): Float64Array {
  const k = new Float64Array(ev.n);
  for (let i = 0; i < ev.n; i++) k[i] = eventKey(seed, ev.idx[i]);
  return k;
}

/**
 * Ranks within one user's filtered rows [s, e): calls `emit(i, rank)` with the 1-based rank of row i
 * in the order (key, canonical position) — or canonical order when `keys` is null — but only
 * reports whether the rank is ≤ a and ≤ b, which is all the strategies need.
 */
function classifyRun(
  keep: Uint8Array | null,
  s: number,
  e: number,
  m: number,
  keys: Float64Array | null,
  a: number,
  b: number,
  scratchIn: Float64Array,
  scratch: Float64Array,
  emit: (i: number, leA: boolean, leB: boolean) => void,
): void {
  if (!keys) {
    let r = 0;
    for (let i = s; i < e; i++) {
      if (keep && !keep[i]) continue;
      r++;
      emit(i, r <= a, r <= b);
    }
    return;
  }
  let k = 0;
  for (let i = s; i < e; i++) if (!keep || keep[i]) scratchIn[k++] = keys[i];
  const vals = scratchIn.subarray(0, m);
  // Thresholds: the a-th and b-th smallest (key, position); ties on key go to the earlier position.
  const ta = a <= 0 ? null : a >= m ? "all" : kthThreshold(vals, a, scratch);
  const tb = b <= 0 ? null : b >= m ? "all" : kthThreshold(vals, b, scratch);
  let tiesA = ta && ta !== "all" ? ta.ties : 0;
  let tiesB = tb && tb !== "all" ? tb.ties : 0;
  for (let i = s; i < e; i++) {
    if (keep && !keep[i]) continue;
    const v = keys[i];
    let leA: boolean;
    if (ta === null) leA = false;
    else if (ta === "all") leA = true;
    else if (v < ta.v) leA = true;
    else if (v === ta.v && tiesA > 0) {
      tiesA--;
      leA = true;
    } else leA = false;
    let leB: boolean;
    if (tb === null) leB = false;
    else if (tb === "all") leB = true;
    else if (v < tb.v) leB = true;
    else if (v === tb.v && tiesB > 0) {
      tiesB--;
      leB = true;
    } else leB = false;
    emit(i, leA, leB);
  }
}

/** Per-user contiguous allocation in canonical order or in a seeded random order (`keys`). */
async function perUserAssign(ctx: AssignContext, rules: SplitRules, ntRaw: string, nvRaw: string, keys: Float64Array | null): Promise<Uint8Array> {
  const { ev, keep, userN } = ctx;
  const sizes = await perUserSizes(ctx, ntRaw, nvRaw);
  const codes = new Uint8Array(ev.n);
  const min = rules.min_user_interactions!;
  const short = shortCode(rules);
  let maxRun = 0;
  for (let u = 0; u < userN.length; u++) maxRun = Math.max(maxRun, userN[u]);
  const scratchIn = new Float64Array(keys ? maxRun : 0);
  const scratch = new Float64Array(keys ? maxRun : 0);
  for (let u = 0; u < userN.length; u++) {
    const n = userN[u];
    if (n === 0) continue;
    const s = ev.runs[u];
    const e = ev.runs[u + 1];
    if (n < min) {
      for (let i = s; i < e; i++) if (!keep || keep[i]) codes[i] = short;
      continue;
    }
    const { nt, nv } = sizes.get(n)!;
    classifyRun(keep, s, e, n, keys, n - nv - nt, n - nt, scratchIn, scratch, (i, leA, leB) => {
      codes[i] = leA ? CODE.train : leB ? CODE.val : CODE.test;
    });
  }
  return codes;
}

async function assignPerUserChronological(ctx: AssignContext, rules: SplitRules): Promise<Uint8Array> {
  const f = rules.fractions!;
  return perUserAssign(ctx, rules, fracCount(f.test), fracCount(f.val), null);
}

async function assignLeaveLastOut(ctx: AssignContext, rules: SplitRules): Promise<Uint8Array> {
  return perUserAssign(ctx, rules, "1", rules.leave_out_val ? "1" : "0", null);
}

async function assignGlobalTime(ctx: AssignContext, rules: SplitRules): Promise<Uint8Array> {
  const c = rules.cutoffs!;
  const { ev, keep } = ctx;
  const codes = new Uint8Array(ev.n);
  for (let i = 0; i < ev.n; i++) {
    if (keep && !keep[i]) continue;
    const t = ev.ts[i];
    codes[i] = t < c.val_start ? CODE.train : t < c.test_start ? CODE.val : CODE.test;
  }
  return codes;
}

async function assignRandom(ctx: AssignContext, rules: SplitRules): Promise<Uint8Array> {
  const keys = randomKeys(ctx.ev, rules.seed!);
  const f = rules.fractions!;
  if (rules.group_by_user) return perUserAssign(ctx, rules, fracCount(f.test), fracCount(f.val), keys);
  const { ev, keep } = ctx;
  let n = 0;
  for (let i = 0; i < ev.n; i++) if (!keep || keep[i]) n++;
  const nt = f.test > 0 ? Math.floor(n * f.test + 1e-9) : 0;
  const nv = f.val > 0 ? Math.floor(n * f.val + 1e-9) : 0;
  const codes = new Uint8Array(ev.n);
  const scratchIn = new Float64Array(n);
  const scratch = new Float64Array(n);
  classifyRun(keep, 0, ev.n, n, keys, n - nv - nt, n - nt, scratchIn, scratch, (i, leA, leB) => {
    codes[i] = leA ? CODE.train : leB ? CODE.val : CODE.test;
  });
  return codes;
}

async function assignStrongGeneralization(ctx: AssignContext, rules: SplitRules): Promise<Uint8Array> {
  const { ev, keep, userN } = ctx;
  const min = rules.min_user_interactions!;
  // Users are runs in ascending user_id order, so this is the sorted list of eligible users.
  const eligibleRuns: number[] = [];
  for (let u = 0; u < userN.length; u++) if (userN[u] > 0 && userN[u] >= min) eligibleRuns.push(u);
  const nHeld = rules.n_heldout_users ?? Math.max(1, Math.floor(eligibleRuns.length * rules.heldout_user_fraction! + 1e-9));
  if (2 * nHeld >= eligibleRuns.length) {
    throw new ConfigError(
      rules.n_heldout_users !== null ? "split.n_heldout_users" : "split.heldout_user_fraction",
      `${nHeld} held-out users for val and again for test leave no training user among the ${eligibleRuns.length} users with ≥ ${min} events`,
    );
  }
  rules.n_heldout_users = nHeld;
  // Seeded permutation of the sorted eligible users: first nHeld → val, next nHeld → test.
  const perm = new Rng(`strong_generalization:${rules.seed}`).shuffle(Int32Array.from(eligibleRuns, (u) => ev.user[ev.runs[u]]));
  const grp = new Map<number, number>();
  for (let j = 0; j < 2 * nHeld; j++) grp.set(perm[j], j < nHeld ? 1 : 2);
  const keys = rules.foldin_order === "random" ? randomKeys(ev, rules.seed!) : null;
  const hold = 1 - rules.foldin_fraction!;
  const sizes = await perSize(ctx, { h: `LEAST(n - 1, GREATEST(1, floor(n * ${hold} + 1e-9)))` });
  const codes = new Uint8Array(ev.n);
  const short = shortCode(rules);
  let maxRun = 0;
  for (let u = 0; u < userN.length; u++) maxRun = Math.max(maxRun, userN[u]);
  const scratchIn = new Float64Array(keys ? maxRun : 0);
  const scratch = new Float64Array(keys ? maxRun : 0);
  for (let u = 0; u < userN.length; u++) {
    const n = userN[u];
    if (n === 0) continue;
    const s = ev.runs[u];
    const e = ev.runs[u + 1];
    const g = grp.get(ev.user[s]);
    if (g === undefined) {
      const c = n < min ? short : CODE.train;
      for (let i = s; i < e; i++) if (!keep || keep[i]) codes[i] = c;
      continue;
    }
    const foldin = n - sizes.get(n)!.h;
    const [fc, hc] = g === 1 ? [CODE.val, CODE.val_holdout] : [CODE.test, CODE.test_holdout];
    classifyRun(keep, s, e, n, keys, foldin, foldin, scratchIn, scratch, (i, leA) => {
      codes[i] = leA ? fc : hc;
    });
  }
  return codes;
}

/** Runs the strategy's assignment: a part code per event (canonical order). May fill in resolved rules (n_heldout_users). */
export async function assignParts(strategy: SplitStrategy, ctx: AssignContext, rules: SplitRules): Promise<Uint8Array> {
  switch (strategy) {
    case "per_user_chronological":
      return assignPerUserChronological(ctx, rules);
    case "global_time":
      return assignGlobalTime(ctx, rules);
    case "leave_last_out":
      return assignLeaveLastOut(ctx, rules);
    case "strong_generalization":
      return assignStrongGeneralization(ctx, rules);
    case "random":
      return assignRandom(ctx, rules);
  }
}
