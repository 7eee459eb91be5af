/**
 * Train/val/test splitting of canonical interactions: positive rule → k-core → strategy →
 * Parquet parts in canonical order → leakage check of the written files.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Duck } from "../data/duck";
import { parquet, quoteIdent } from "../data/duck";
import { INTERACTION_ORDER } from "../data/schema";
import { NtgError, LeakageError } from "../util/errors";
import { kcoreFilter } from "./kcore";
import { checkSplitLeakage, MAIN_PARTS, partFile, STRONG_SUBPARTS } from "./leakage";
import { resolveSplitOptions } from "./options";
import { positivePredicate } from "./positive";
import { assignParts } from "./strategies";
import type { ColdStartStats, PartStats, ShortUserStats, SplitMetadata, SplitOptions } from "./types";

export * from "./types";
export { checkSplitLeakage, assertReadWithin, partFile, MAIN_PARTS, STRONG_SUBPARTS, type SplitCheckOptions } from "./leakage";
export { positivePredicate, validatePositiveRule } from "./positive";
export { kcoreFilter, validateKCore } from "./kcore";
export { resolveSplitOptions, parseCutoff, DEFAULT_FRACTIONS } from "./options";
export { eventKey } from "./random-keys";

const REQUIRED = ["user_id", "item_id", "ts", "event_idx"];
const T = "__ntg_split_";

/** Rows, users, items and time range of a Parquet part. */
async function partStats(db: Duck, file: string): Promise<PartStats> {
  const r = await db.one<{ rows: bigint; users: bigint; items: bigint; min_ts: bigint | null; max_ts: bigint | null }>(
    `SELECT count(*) AS rows, count(DISTINCT user_id) AS users, count(DISTINCT item_id) AS items, min(ts) AS min_ts, max(ts) AS max_ts FROM ${parquet(file)}`,
  );
  return {
    file: path.basename(file),
    rows: Number(r.rows),
    users: Number(r.users),
    items: Number(r.items),
    time_range: { min: r.min_ts === null ? null : Number(r.min_ts), max: r.max_ts === null ? null : Number(r.max_ts) },
  };
}

async function coldStart(db: Duck, dir: string): Promise<ColdStartStats> {
  const p = (name: string) => parquet(path.join(dir, partFile(name)));
  const notIn = (col: string, part: string) =>
    `(SELECT count(*) FROM (SELECT DISTINCT ${col} FROM ${p(part)} ANTI JOIN (SELECT DISTINCT ${col} FROM ${p("train")}) t USING (${col})))`;
  const r = await db.one<Record<string, bigint>>(
    `SELECT ${notIn("user_id", "val")} AS vu, ${notIn("user_id", "test")} AS tu, ${notIn("item_id", "val")} AS vi, ${notIn("item_id", "test")} AS ti`,
  );
  return {
    val_users_not_in_train: Number(r.vu),
    test_users_not_in_train: Number(r.tu),
    val_items_not_in_train: Number(r.vi),
    test_items_not_in_train: Number(r.ti),
  };
}

/**
 * Splits canonical interactions into `outDir/{train,val,test}.parquet` (plus fold-in/held-out files
 * for strong generalization), checks the written files for leakage, and returns the metadata.
 * Deterministic: the same input and options give byte-identical files. Scratch tables are dropped;
 * if the leakage check fails, the written parts are removed and the `LeakageError` is rethrown.
 */
export async function splitInteractions(db: Duck, opts: SplitOptions): Promise<SplitMetadata> {
  const { rules, warnings } = resolveSplitOptions(opts);
  if (!fs.existsSync(opts.input)) throw new NtgError(`split: input not found: ${opts.input}`);
  const raw = `${T}raw`;
  const filtered = `${T}filtered`;
  const assigned = `${T}assigned`;
  const scratch = [raw, filtered, assigned];
  const written: string[] = [];
  try {
    await db.run(`CREATE OR REPLACE TABLE ${quoteIdent(raw)} AS SELECT * FROM ${parquet(opts.input)}`);
    const colNames = (await db.rows<{ column_name: string }>(`DESCRIBE ${quoteIdent(raw)}`)).map((r) => r.column_name);
    const missing = REQUIRED.filter((c) => !colNames.includes(c));
    if (missing.length) throw new NtgError(`split: ${opts.input} lacks column(s) ${missing.join(", ")}`);
    const columns = colNames.map(quoteIdent).join(", ");

    const inStats = await db.one<{ rows: bigint; users: bigint; items: bigint; idx: bigint }>(
      `SELECT count(*) AS rows, count(DISTINCT user_id) AS users, count(DISTINCT item_id) AS items, count(DISTINCT event_idx) AS idx FROM ${quoteIdent(raw)}`,
    );
    // The disjointness and union checks identify events by event_idx, so it must be a key.
    if (inStats.idx !== inStats.rows) throw new NtgError(`split: event_idx is not unique in ${opts.input} (${inStats.idx} distinct of ${inStats.rows} rows)`);

    await db.run(`CREATE OR REPLACE TABLE ${quoteIdent(filtered)} AS SELECT * FROM ${quoteIdent(raw)} WHERE ${positivePredicate(opts.positive)}`);
    await db.run(`DROP TABLE ${quoteIdent(raw)}`);
    const afterPositive = Number(await db.scalar(`SELECT count(*) FROM ${quoteIdent(filtered)}`));
    const kstats = rules.kcore ? await kcoreFilter(db, filtered, rules.kcore) : null;

    let shortStats: ShortUserStats | null = null;
    if (rules.min_user_interactions !== null && rules.short_users !== null) {
      const s = await db.one<{ users: bigint; rows: bigint | null }>(
        `SELECT count(*) AS users, sum(n) AS rows FROM (SELECT user_id, count(*) AS n FROM ${quoteIdent(filtered)} GROUP BY user_id HAVING count(*) < ${rules.min_user_interactions})`,
      );
      shortStats = { threshold: rules.min_user_interactions, action: rules.short_users, users: Number(s.users), rows: Number(s.rows ?? 0) };
      if (shortStats.users > 0) {
        warnings.push(
          `${shortStats.users} user(s) with < ${shortStats.threshold} events (${shortStats.rows} rows) ${shortStats.action === "drop" ? "dropped" : opts.strategy === "strong_generalization" ? "not eligible for hold-out; kept in train" : "kept entirely in train"}`,
        );
      }
    }

    await assignParts(opts.strategy, { db, source: filtered, target: assigned, columns, scratch, prefix: T }, rules);
    const dropped = Number(await db.scalar(`SELECT count(*) FROM ${quoteIdent(assigned)} WHERE __part = 'drop'`));
    await db.run(`DELETE FROM ${quoteIdent(assigned)} WHERE __part = 'drop'`);

    const a = quoteIdent(assigned);
    const outputs: [string, string][] = MAIN_PARTS.map((p) => [p, `__part = '${p}'`]);
    if (opts.strategy === "strong_generalization") {
      for (const p of STRONG_SUBPARTS) {
        const [part, sub] = p.split("_");
        outputs.push([p, `__part = '${part}' AND __sub = '${sub}'`]);
      }
    }
    fs.mkdirSync(opts.outDir, { recursive: true });
    const parts: Record<string, PartStats> = {};
    for (const [name, where] of outputs) {
      const file = path.join(opts.outDir, partFile(name));
      written.push(file);
      await db.copyToParquet(`SELECT ${columns} FROM ${a} WHERE ${where} ORDER BY ${INTERACTION_ORDER}`, file);
      parts[name] = await partStats(db, file);
    }
    for (const p of MAIN_PARTS) if (parts[p].rows === 0) warnings.push(`${p} is empty`);

    const split = await db.one<{ rows: bigint; users: bigint; items: bigint }>(
      `SELECT count(*) AS rows, count(DISTINCT user_id) AS users, count(DISTINCT item_id) AS items FROM ${a}`,
    );
    const leakage = await checkSplitLeakage(db, {
      dir: opts.outDir,
      strategy: opts.strategy,
      input: a,
      cutoffs: rules.cutoffs ? { val_start: rules.cutoffs.val_start, test_start: rules.cutoffs.test_start } : undefined,
      foldinOrder: rules.foldin_order ?? undefined,
    });
    const cold = await coldStart(db, opts.outDir);
    if (opts.strategy === "strong_generalization" && (cold.val_items_not_in_train > 0 || cold.test_items_not_in_train > 0)) {
      warnings.push(
        `held-out users touch items never seen in train (val ${cold.val_items_not_in_train}, test ${cold.test_items_not_in_train}); Liang et al. drop such items before evaluating`,
      );
    }
    return {
      strategy: opts.strategy,
      leakage_safe: leakage.leakage_safe,
      input: opts.input,
      rules,
      filtering: {
        input_rows: Number(inStats.rows),
        input_users: Number(inStats.users),
        input_items: Number(inStats.items),
        positive_removed_rows: Number(inStats.rows) - afterPositive,
        kcore: kstats,
        short_user_removed_rows: dropped,
        split_rows: Number(split.rows),
        split_users: Number(split.users),
        split_items: Number(split.items),
      },
      short_users: shortStats,
      parts,
      cold_start: cold,
      leakage,
      warnings,
    };
  } catch (err) {
    // A leaky split must not be picked up by a later stage.
    if (err instanceof LeakageError) for (const f of written) fs.rmSync(f, { force: true });
    throw err;
  } finally {
    for (const t of scratch) await db.run(`DROP TABLE IF EXISTS ${quoteIdent(t)}`);
  }
}
