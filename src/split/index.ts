/**
 * Train/val/test splitting of canonical interactions: positive rule → k-core → strategy →
 * Parquet parts in canonical order → leakage check of the written files.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Duck } from "../data/duck";
import { parquet, quoteIdent, sqlString } from "../data/duck";
import { NtgError, LeakageError } from "../util/errors";
import { countDistinct, denseIds, EventSetCheck } from "./columns";
import { countMask, kcoreMask, loadCanonical, POS, rankedTableSql, type CanonicalEvents } from "./events";
import { checkSplitLeakageWith, coldStartOf, keyStats, loadPartKeys, MAIN_PARTS, partFile, splitParts, type LoadedParts } from "./leakage";
import { resolveSplitOptions } from "./options";
import { positivePredicate } from "./positive";
import { assignParts, CODE, CODE_LIMIT, PART_CODES } from "./strategies";
import type { ColdStartStats, PartStats, ShortUserStats, SplitMetadata, SplitOptions } from "./types";

export * from "./types";
export { checkSplitLeakage, assertReadWithin, partFile, MAIN_PARTS, STRONG_SUBPARTS, type SplitCheckOptions } from "./leakage";
export { positivePredicate, validatePositiveRule } from "./positive";
export { kcoreFilter, validateKCore } from "./kcore";
export { resolveSplitOptions, parseCutoff, DEFAULT_FRACTIONS } from "./options";
export { eventKey } from "./random-keys";

const REQUIRED = ["user_id", "item_id", "ts", "event_idx"];
const T = "__ntg_split_";
/** Part codes are packed 16 per BIGINT (4 bits each) into a block table joined on position // 16. */
const PER_BLOCK = 16;

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

async function coldStart(db: Duck, dir: string, loaded: LoadedParts): Promise<ColdStartStats> {
  const fast = coldStartOf(loaded);
  if (fast) {
    return {
      val_users_not_in_train: fast.vu,
      test_users_not_in_train: fast.tu,
      val_items_not_in_train: fast.vi,
      test_items_not_in_train: fast.ti,
    };
  }
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

/** How the written queries pick a part's rows out of the input: a join and a row filter. */
interface Selector {
  /** `<input> r JOIN <codes table> <alias> ON ...` */
  from: string;
  /** SQL condition: the row's code lies in [lo, hi] */
  where(lo: number, hi: number): string;
  /** SQL expression: the row's code */
  code: string;
}

/** Little-endian BIGINT column from non-negative integers below 2^32 (no BigInt per value). */
function bigints(values: ArrayLike<number>, n: number): BigInt64Array {
  const halves = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) halves[2 * i] = values[i];
  return new BigInt64Array(halves.buffer);
}

/**
 * Loads the part codes and returns how to select by them. When each user's codes ascend along the
 * user's events (per-user and global-time splits without a positive rule or k-core), one row per
 * user with the first position of each code suffices: a small join. Otherwise the codes are packed
 * 16 per BIGINT (4 bits each) into a block table joined on position // 16.
 */
async function loadCodes(db: Duck, table: string, source: string, ev: CanonicalEvents, codes: Uint8Array): Promise<Selector> {
  const nUsers = ev.runs.length - 1;
  let ascending = true;
  for (let u = 0; u < nUsers && ascending; u++) {
    for (let i = ev.runs[u] + 1; i < ev.runs[u + 1]; i++) {
      if (codes[i] < codes[i - 1]) {
        ascending = false;
        break;
      }
    }
  }
  if (ascending) {
    // f[c]: first position of the user's events with code ≥ c (the run's end when none).
    const f: number[][] = Array.from({ length: CODE_LIMIT + 1 }, () => new Array<number>(nUsers));
    const user = new Int32Array(nUsers);
    for (let u = 0; u < nUsers; u++) {
      const s = ev.runs[u];
      const e = ev.runs[u + 1];
      user[u] = ev.user[s];
      let i = s;
      for (let c = 0; c <= CODE_LIMIT; c++) {
        while (i < e && codes[i] < c) i++;
        f[c][u] = i;
      }
    }
    const cols: Record<string, Int32Array | BigInt64Array> = { user_id: user };
    for (let c = 1; c <= CODE_LIMIT; c++) cols[`f${c}`] = bigints(f[c], nUsers);
    await db.loadColumns(table, cols);
    const pos = `r.${POS}`;
    return {
      from: `${source} r JOIN ${quoteIdent(table)} b ON b.user_id = r.user_id`,
      where: (lo, hi) => `${pos} >= b.f${lo} AND ${pos} < b.f${hi + 1}`,
      code: `CASE ${Array.from({ length: CODE_LIMIT - 1 }, (_, k) => `WHEN ${pos} < b.f${k + 1} THEN ${k}`).join(" ")} ELSE ${CODE_LIMIT - 1} END`,
    };
  }
  const nb = Math.ceil(codes.length / PER_BLOCK);
  // Two little-endian 32-bit halves per BIGINT; codes < 8 keep the sign bit clear.
  const bits = new Uint32Array(2 * nb);
  for (let i = 0; i < codes.length; i++) {
    const j = i % PER_BLOCK;
    bits[2 * ((i - j) / PER_BLOCK) + (j >> 3)] |= codes[i] << (4 * (j & 7));
  }
  const blk = new Uint32Array(nb);
  for (let b = 0; b < nb; b++) blk[b] = b;
  await db.loadColumns(table, { __ntg_blk: bigints(blk, nb), __ntg_bits: new BigInt64Array(bits.buffer) });
  const code = `((c.__ntg_bits >> (4 * (r.${POS} % ${PER_BLOCK}))) & 15)`;
  return {
    from: `${source} r JOIN ${quoteIdent(table)} c ON c.__ntg_blk = r.${POS} // ${PER_BLOCK}`,
    where: (lo, hi) => (lo === hi ? `${code} = ${lo}` : `${code} BETWEEN ${lo} AND ${hi}`),
    code,
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
  const ranked = `${T}ranked`;
  const holdout = `${T}holdout`;
  const codesTable = `${T}codes`;
  const scratch = [ranked, holdout, codesTable];
  const written: string[] = [];
  try {
    const colNames = (await db.rows<{ column_name: string }>(`DESCRIBE SELECT * FROM ${parquet(opts.input)}`)).map((r) => r.column_name);
    const missing = REQUIRED.filter((c) => !colNames.includes(c));
    if (missing.length) throw new NtgError(`split: ${opts.input} lacks column(s) ${missing.join(", ")}`);
    const reserved = colNames.filter((c) => c.startsWith("__ntg_"));
    if (reserved.length) throw new NtgError(`split: ${opts.input} has column(s) ${reserved.join(", ")}; names starting with __ntg_ are reserved for the split`);
    const columns = colNames.map(quoteIdent).join(", ");

    // The input is read in place with each row's position in the file; files written by ingestion
    // are in canonical order, so that position is the canonical rank (checked by loadCanonical).
    // Otherwise the rows are ranked once into a scratch table. The input is read again while the
    // parts are written: if it is one of them, it is read into the scratch table first.
    const predicate = positivePredicate(opts.positive);
    const outputs = splitParts(opts.strategy);
    const inputIsOutput = outputs.some((p) => path.resolve(opts.outDir, partFile(p)) === path.resolve(opts.input));
    const withPos = `SELECT * EXCLUDE (file_row_number), file_row_number AS ${POS} FROM read_parquet(${sqlString(opts.input)}, file_row_number = true)`;
    if (inputIsOutput && !colNames.includes("file_row_number")) await db.run(`CREATE OR REPLACE TABLE ${quoteIdent(ranked)} AS ${withPos}`);
    const direct = colNames.includes("file_row_number") ? null : inputIsOutput ? quoteIdent(ranked) : `(${withPos})`;
    let input = direct ?? "";
    let ev: CanonicalEvents | null = direct ? await loadCanonical(db, direct, predicate, opts.input) : null;
    if (!ev) {
      await db.run(rankedTableSql(ranked, `(SELECT *, 0 AS ${POS} FROM ${parquet(opts.input)})`));
      input = quoteIdent(ranked);
      ev = await loadCanonical(db, input, predicate, opts.input);
      if (!ev) throw new Error(`split: could not establish the canonical order of ${opts.input}`);
    }
    const n = ev.n;
    const inStats = { rows: n, users: ev.runs.length - 1, items: countDistinct(ev.item) };

    const keep = ev.positive ?? (rules.kcore ? new Uint8Array(n).fill(1) : null);
    const afterPositive = countMask(keep, n);
    let kstats = null;
    if (rules.kcore) {
      const items = denseIds(ev.item);
      kstats = kcoreMask(ev, items.dense, items.count, keep!, rules.kcore);
    }
    const userN = new Int32Array(ev.runs.length - 1);
    for (let u = 0; u < userN.length; u++) {
      if (!keep) userN[u] = ev.runs[u + 1] - ev.runs[u];
      else for (let i = ev.runs[u]; i < ev.runs[u + 1]; i++) userN[u] += keep[i];
    }

    let shortStats: ShortUserStats | null = null;
    if (rules.min_user_interactions !== null && rules.short_users !== null) {
      let users = 0;
      let rows = 0;
      for (let u = 0; u < userN.length; u++) {
        if (userN[u] > 0 && userN[u] < rules.min_user_interactions) {
          users++;
          rows += userN[u];
        }
      }
      shortStats = { threshold: rules.min_user_interactions, action: rules.short_users, users, rows };
      if (shortStats.users > 0) {
        warnings.push(
          `${shortStats.users} user(s) with < ${shortStats.threshold} events (${shortStats.rows} rows) ${shortStats.action === "drop" ? "dropped" : opts.strategy === "strong_generalization" ? "not eligible for hold-out; kept in train" : "kept entirely in train"}`,
        );
      }
    }

    const codes = await assignParts(opts.strategy, { db, ev, keep, userN, prefix: T, scratch }, rules);
    // Rows in the split (code ≠ none): usually all of them.
    let splitRows = 0;
    for (let i = 0; i < n; i++) if (codes[i] !== CODE.none) splitRows++;
    const dropped = countMask(keep, n) - splitRows;
    let split = { rows: inStats.rows, users: inStats.users, items: inStats.items };
    let splitIdx = ev.idx;
    if (splitRows < n) {
      const inSplit = new Uint8Array(n);
      let users = 0;
      for (let u = 0; u < userN.length; u++) {
        let any = false;
        for (let i = ev.runs[u]; i < ev.runs[u + 1]; i++) {
          if (codes[i] !== CODE.none) {
            inSplit[i] = 1;
            any = true;
          }
        }
        if (any) users++;
      }
      split = { rows: splitRows, users, items: countDistinct(ev.item, inSplit) };
      splitIdx = new Float64Array(splitRows);
      for (let i = 0, k = 0; i < n; i++) if (inSplit[i]) splitIdx[k++] = ev.idx[i];
    }
    const sel = await loadCodes(db, codesTable, input, ev, codes);
    ev = null; // the key arrays are not needed any more

    // Train is written straight from the input (rows picked by their codes); then the held-out rows
    // (a minority) are materialized once for the smaller parts. ORDER BY fixes the row order, and so
    // the bytes, whatever order the rows arrive in. Each written file's keys are read back (for its
    // statistics and the leakage check) on a second connection while the next file is being
    // written, and the JS work on them runs while DuckDB writes.
    const rcols = colNames.map((c) => `r.${quoteIdent(c)}`).join(", ");
    fs.mkdirSync(opts.outDir, { recursive: true });
    const reader = { conn: await db.instance.connect() };
    const loaded: LoadedParts = new Map();
    const stats = new Map<string, ReturnType<typeof keyStats>>();
    let eventCheck: EventSetCheck | null = null;
    const fed = new Set<string>();
    let reading: Promise<void> = Promise.resolve();
    try {
      for (const name of outputs) {
        const file = path.join(opts.outDir, partFile(name));
        written.push(file);
        const [lo, hi] = PART_CODES[name];
        // POS is the canonical rank (established by loadCanonical), so this is the canonical order.
        const copying = db.copyToParquet(
          name === "train"
            ? `SELECT ${rcols} FROM ${sel.from} WHERE ${sel.where(lo, hi)} ORDER BY r.${POS}`
            : `SELECT ${columns} FROM ${quoteIdent(holdout)} WHERE __ntg_code BETWEEN ${lo} AND ${hi} ORDER BY ${POS}`,
          file,
        );
        if (name === "train") eventCheck = EventSetCheck.create(splitIdx);
        await copying;
        reading = reading.then(async () => {
          const keys = await loadPartKeys(reader, file);
          loaded.set(name, keys);
          if (!keys) return;
          stats.set(name, keyStats(keys));
          if (eventCheck && (MAIN_PARTS as readonly string[]).includes(name)) {
            eventCheck.addPart(keys.idx);
            fed.add(name);
          }
        });
        if (name === "train") {
          await db.run(
            `CREATE OR REPLACE TABLE ${quoteIdent(holdout)} AS SELECT ${rcols}, r.${POS}, ${sel.code} AS __ntg_code FROM ${sel.from} WHERE ${sel.where(CODE.val, CODE_LIMIT - 1)}`,
          );
        }
      }
    } finally {
      await reading.catch(() => undefined);
      reader.conn.closeSync();
    }
    await reading;
    await db.run(`DROP TABLE ${quoteIdent(holdout)}`);
    const parts: Record<string, PartStats> = {};
    for (const name of outputs) {
      const file = path.join(opts.outDir, partFile(name));
      const st = stats.get(name);
      parts[name] = st ? { file: path.basename(file), rows: st.rows, users: st.users, items: st.items, time_range: { min: st.min, max: st.max } } : await partStats(db, file);
    }
    for (const p of MAIN_PARTS) if (parts[p].rows === 0) warnings.push(`${p} is empty`);

    const leakage = await checkSplitLeakageWith(
      db,
      {
        dir: opts.outDir,
        strategy: opts.strategy,
        input: `(SELECT ${rcols} FROM ${sel.from} WHERE ${sel.where(CODE.train, CODE_LIMIT - 1)})`,
        cutoffs: rules.cutoffs ? { val_start: rules.cutoffs.val_start, test_start: rules.cutoffs.test_start } : undefined,
        foldinOrder: rules.foldin_order ?? undefined,
      },
      loaded,
      splitIdx,
      eventCheck && fed.size === MAIN_PARTS.length ? eventCheck : undefined,
    );
    const cold = await coldStart(db, opts.outDir, loaded);
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
        input_rows: inStats.rows,
        input_users: inStats.users,
        input_items: inStats.items,
        positive_removed_rows: inStats.rows - afterPositive,
        kcore: kstats,
        short_user_removed_rows: dropped,
        split_rows: split.rows,
        split_users: split.users,
        split_items: split.items,
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
