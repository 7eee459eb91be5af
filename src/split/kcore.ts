/** Iterated k-core filtering of an interaction table. */
import type { Duck } from "../data/duck";
import { quoteIdent } from "../data/duck";
import { ConfigError } from "../util/errors";
import type { KCoreOptions, KCoreStats } from "./types";

/** Throws `ConfigError` for malformed k-core options. */
export function validateKCore(opts: KCoreOptions): void {
  for (const key of ["users", "items"] as const) {
    const v = opts[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) {
      throw new ConfigError(`split.kcore.${key}`, `must be a non-negative integer, got ${String(v)}`);
    }
  }
  if (opts.count !== undefined && opts.count !== "events" && opts.count !== "distinct") {
    throw new ConfigError("split.kcore.count", `must be "events" or "distinct", got ${String(opts.count)}`);
  }
}

/**
 * Replaces `table` by its (k_u, k_i)-core: repeatedly removes users with fewer than `users`
 * and items with fewer than `items` events (both in the same pass) until a pass removes nothing.
 * Removing an item can push a user under its threshold and vice versa, hence the fixed point.
 */
export async function kcoreFilter(db: Duck, table: string, opts: KCoreOptions): Promise<KCoreStats> {
  validateKCore(opts);
  const ku = opts.users ?? 0;
  const ki = opts.items ?? 0;
  const t = quoteIdent(table);
  const next = quoteIdent(`${table}__kcore_next`);
  const counts = async () =>
    db.one<{ rows: bigint; users: bigint; items: bigint }>(
      `SELECT count(*) AS rows, count(DISTINCT user_id) AS users, count(DISTINCT item_id) AS items FROM ${t}`,
    );
  const before = await counts();
  const userCount = opts.count === "distinct" ? "count(DISTINCT item_id)" : "count(*)";
  const itemCount = opts.count === "distinct" ? "count(DISTINCT user_id)" : "count(*)";
  let iterations = 0;
  let rows = Number(before.rows);
  if (ku > 1 || ki > 1) {
    for (;;) {
      await db.run(
        `CREATE OR REPLACE TABLE ${next} AS SELECT * FROM ${t}
         WHERE user_id IN (SELECT user_id FROM ${t} GROUP BY user_id HAVING ${userCount} >= ${ku})
           AND item_id IN (SELECT item_id FROM ${t} GROUP BY item_id HAVING ${itemCount} >= ${ki})`,
      );
      iterations += 1;
      const n = Number(await db.scalar(`SELECT count(*) FROM ${next}`));
      await db.run(`DROP TABLE ${t}; ALTER TABLE ${next} RENAME TO ${t}`);
      if (n === rows) break;
      rows = n;
    }
  }
  const after = await counts();
  return {
    iterations,
    rows_removed: Number(before.rows) - Number(after.rows),
    users_removed: Number(before.users) - Number(after.users),
    items_removed: Number(before.items) - Number(after.items),
  };
}
