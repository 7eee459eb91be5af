/**
 * The split strategies. Each one creates a table holding the filtered events plus `__part`
 * ('train' | 'val' | 'test' | 'drop') and `__sub` ('foldin' | 'holdout' for strong generalization,
 * else NULL). Every ordering carries the full canonical tie-break, so assignments are deterministic.
 */
import type { Duck } from "../data/duck";
import { quoteIdent } from "../data/duck";
import { INTERACTION_ORDER } from "../data/schema";
import { ConfigError } from "../util/errors";
import { Rng } from "../util/rng";
import { loadEventKeys } from "./random-keys";
import type { SplitRules, SplitStrategy } from "./types";

/** Tables and columns a strategy works with. */
export interface AssignContext {
  db: Duck;
  /** filtered events (input columns only) */
  source: string;
  /** table to create: source columns + __part + __sub */
  target: string;
  /** quoted, comma-separated input column list */
  columns: string;
  /** prefix for scratch tables (dropped by the caller's cleanup via `scratch`) */
  scratch: string[];
  prefix: string;
}

/** SQL literal for the short-user action. */
function shortPart(rules: SplitRules): string {
  return rules.short_users === "drop" ? "'drop'" : "'train'";
}

/** `f.col` list for a prefixed select. */
function prefixed(columns: string, alias: string): string {
  return columns
    .split(", ")
    .map((c) => `${alias}.${c}`)
    .join(", ");
}

const CANONICAL_F = INTERACTION_ORDER.split(", ")
  .map((c) => `f.${c}`)
  .join(", ");

/**
 * Per-user contiguous allocation: within each user, events in `order` get positions 1..n;
 * the first n − n_val − n_test go to train, the next n_val to val, the last n_test to test.
 * `ntRaw`/`nvRaw` are SQL in terms of `n`; they are capped so train keeps at least one event.
 */
async function perUserAssign(ctx: AssignContext, rules: SplitRules, order: string, ntRaw: string, nvRaw: string, keyTable?: string): Promise<void> {
  const { db } = ctx;
  const sizes = quoteIdent(`${ctx.prefix}sizes`);
  ctx.scratch.push(`${ctx.prefix}sizes`);
  const vflag = `CASE WHEN (${nvRaw}) > 0 THEN 1 ELSE 0 END`;
  await db.run(
    `CREATE OR REPLACE TABLE ${sizes} AS
     SELECT user_id, n, nt, LEAST(nv_raw, n - 1 - nt) AS nv FROM (
       SELECT user_id, n, LEAST(nt_raw, n - 1 - vf) AS nt, nv_raw FROM (
         SELECT user_id, n, CAST(${ntRaw} AS BIGINT) AS nt_raw, CAST(${nvRaw} AS BIGINT) AS nv_raw, ${vflag} AS vf
         FROM (SELECT user_id, count(*) AS n FROM ${quoteIdent(ctx.source)} GROUP BY user_id)))`,
  );
  const join = keyTable ? `JOIN ${quoteIdent(keyTable)} k USING (event_idx)` : "";
  await db.run(
    `CREATE OR REPLACE TABLE ${quoteIdent(ctx.target)} AS
     SELECT ${prefixed(ctx.columns, "p")},
       CASE WHEN s.n < ${rules.min_user_interactions} THEN ${shortPart(rules)}
            WHEN p.__pos <= s.n - s.nv - s.nt THEN 'train'
            WHEN p.__pos <= s.n - s.nt THEN 'val'
            ELSE 'test' END AS __part,
       CAST(NULL AS VARCHAR) AS __sub
     FROM (SELECT ${prefixed(ctx.columns, "f")}, row_number() OVER (PARTITION BY f.user_id ORDER BY ${order}) AS __pos
           FROM ${quoteIdent(ctx.source)} f ${join}) p
     JOIN ${sizes} s USING (user_id)`,
  );
}

/** Fraction-of-n SQL with a small epsilon so e.g. 0.29·100 does not floor to 28. */
function fracCount(frac: number): string {
  return frac > 0 ? `GREATEST(1, floor(n * ${frac} + 1e-9))` : "0";
}

async function assignPerUserChronological(ctx: AssignContext, rules: SplitRules): Promise<void> {
  const f = rules.fractions!;
  await perUserAssign(ctx, rules, CANONICAL_F, fracCount(f.test), fracCount(f.val));
}

async function assignLeaveLastOut(ctx: AssignContext, rules: SplitRules): Promise<void> {
  await perUserAssign(ctx, rules, CANONICAL_F, "1", rules.leave_out_val ? "1" : "0");
}

async function assignGlobalTime(ctx: AssignContext, rules: SplitRules): Promise<void> {
  const c = rules.cutoffs!;
  await ctx.db.run(
    `CREATE OR REPLACE TABLE ${quoteIdent(ctx.target)} AS
     SELECT ${ctx.columns},
       CASE WHEN ts < ${c.val_start} THEN 'train' WHEN ts < ${c.test_start} THEN 'val' ELSE 'test' END AS __part,
       CAST(NULL AS VARCHAR) AS __sub
     FROM ${quoteIdent(ctx.source)}`,
  );
}

async function assignRandom(ctx: AssignContext, rules: SplitRules): Promise<void> {
  const keys = `${ctx.prefix}keys`;
  ctx.scratch.push(keys);
  await loadEventKeys(ctx.db, ctx.source, keys, rules.seed!);
  const f = rules.fractions!;
  const order = `k.rkey, ${CANONICAL_F}`;
  if (rules.group_by_user) {
    await perUserAssign(ctx, rules, order, fracCount(f.test), fracCount(f.val), keys);
    return;
  }
  const n = Number(await ctx.db.scalar(`SELECT count(*) FROM ${quoteIdent(ctx.source)}`));
  const nt = f.test > 0 ? Math.floor(n * f.test + 1e-9) : 0;
  const nv = f.val > 0 ? Math.floor(n * f.val + 1e-9) : 0;
  await ctx.db.run(
    `CREATE OR REPLACE TABLE ${quoteIdent(ctx.target)} AS
     SELECT ${prefixed(ctx.columns, "p")},
       CASE WHEN p.__pos <= ${n - nv - nt} THEN 'train' WHEN p.__pos <= ${n - nt} THEN 'val' ELSE 'test' END AS __part,
       CAST(NULL AS VARCHAR) AS __sub
     FROM (SELECT ${prefixed(ctx.columns, "f")}, row_number() OVER (ORDER BY ${order}) AS __pos
           FROM ${quoteIdent(ctx.source)} f JOIN ${quoteIdent(keys)} k USING (event_idx)) p`,
  );
}

async function assignStrongGeneralization(ctx: AssignContext, rules: SplitRules): Promise<void> {
  const { db } = ctx;
  const min = rules.min_user_interactions!;
  const eligible = (
    await db.columns(`SELECT user_id FROM ${quoteIdent(ctx.source)} GROUP BY user_id HAVING count(*) >= ${min} ORDER BY user_id`, { user_id: "i32" })
  ).user_id;
  const nHeld = rules.n_heldout_users ?? Math.max(1, Math.floor(eligible.length * rules.heldout_user_fraction! + 1e-9));
  if (2 * nHeld >= eligible.length) {
    throw new ConfigError(
      rules.n_heldout_users !== null ? "split.n_heldout_users" : "split.heldout_user_fraction",
      `${nHeld} held-out users for val and again for test leave no training user among the ${eligible.length} users with ≥ ${min} events`,
    );
  }
  rules.n_heldout_users = nHeld;
  // Seeded permutation of the sorted eligible users: first nHeld → val, next nHeld → test.
  const perm = new Rng(`strong_generalization:${rules.seed}`).shuffle(Int32Array.from(eligible));
  const grp = new Int32Array(2 * nHeld);
  grp.fill(1, 0, nHeld);
  grp.fill(2, nHeld);
  const groups = `${ctx.prefix}groups`;
  ctx.scratch.push(groups);
  await db.loadColumns(groups, { user_id: perm.slice(0, 2 * nHeld), grp });
  let order = CANONICAL_F;
  let join = "";
  if (rules.foldin_order === "random") {
    const keys = `${ctx.prefix}keys`;
    ctx.scratch.push(keys);
    await loadEventKeys(db, ctx.source, keys, rules.seed!);
    order = `k.rkey, ${CANONICAL_F}`;
    join = `JOIN ${quoteIdent(keys)} k USING (event_idx)`;
  }
  const hold = 1 - rules.foldin_fraction!;
  await db.run(
    `CREATE OR REPLACE TABLE ${quoteIdent(ctx.target)} AS
     SELECT ${prefixed(ctx.columns, "p")},
       CASE WHEN g.grp IS NULL THEN (CASE WHEN p.__n < ${min} THEN ${shortPart(rules)} ELSE 'train' END)
            WHEN g.grp = 1 THEN 'val' ELSE 'test' END AS __part,
       CASE WHEN g.grp IS NULL THEN CAST(NULL AS VARCHAR)
            WHEN p.__pos <= p.__n - LEAST(p.__n - 1, GREATEST(1, floor(p.__n * ${hold} + 1e-9))) THEN 'foldin'
            ELSE 'holdout' END AS __sub
     FROM (SELECT ${prefixed(ctx.columns, "f")},
             row_number() OVER (PARTITION BY f.user_id ORDER BY ${order}) AS __pos,
             count(*) OVER (PARTITION BY f.user_id) AS __n
           FROM ${quoteIdent(ctx.source)} f ${join}) p
     LEFT JOIN ${quoteIdent(groups)} g USING (user_id)`,
  );
}

/** Runs the strategy's assignment, creating `ctx.target`. May fill in resolved rules (n_heldout_users). */
export async function assignParts(strategy: SplitStrategy, ctx: AssignContext, rules: SplitRules): Promise<void> {
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
