import * as path from "node:path";
import { InputError, formatInputProblem } from "../util/errors";
import { quietLogger, type Logger } from "../util/log";
import { Duck, sqlString } from "./duck";
import { readRawEvents } from "./raw-read";
import { INTERACTION_ORDER, type TimeRange } from "./schema";
import type { DatasetSource, TimestampUnit } from "./source";

/** Validation rules applied at ingestion. */
export interface ValidationRules {
  /** inclusive rating range; overrides the source's own when set */
  ratingRange: [number, number] | null;
  /** fraction of bad rows above which ingestion fails */
  maxBadFraction: number;
  /** reference "now" (unix seconds) for future-dated events; default: wall clock */
  nowTs?: number;
  /** tolerance above now, seconds */
  maxFutureSeconds: number;
  /** earliest plausible timestamp, unix seconds */
  minTs: number;
  /** quarantine exact repeats of (user, item, timestamp) */
  dropDuplicates: boolean;
}

/** What ingestion read, kept and quarantined: `read = kept + quarantined`, always. */
export interface IngestReport {
  dataset: string;
  file: string;
  read: number;
  kept: number;
  quarantined: number;
  quarantineByReason: Record<string, number>;
  users: number;
  items: number;
  timeRange: TimeRange;
  timestampUnit: Exclude<TimestampUnit, "auto">;
  /** rows of the item dimension whose item never occurs in the events */
  dimensionOnlyItems: number;
  revenueRows: number;
  /** paying users with no events (they get user ids too) */
  revenueUnknownUsers: number;
  files: Record<string, string>;
  warnings: string[];
}

/**
 * Validates a raw event source and writes the canonical tables to `outDir`:
 * `interactions.parquet` (dense ids, canonical order), `users.parquet`, `items.parquet`,
 * `quarantine.parquet` (every rejected row with file, line, column, value and reason) and,
 * when the source has payments, `revenue.parquet`. Fails when the bad fraction exceeds the
 * threshold, with the first problems spelled out.
 */
export async function ingestDataset(db: Duck, source: DatasetSource, rules: ValidationRules, outDir: string, logger: Logger = quietLogger): Promise<IngestReport> {
  const spec = source.events;
  const file = spec.path;
  const warnings: string[] = [];
  const raw = await readRawEvents(db, spec);
  logger.info("ingest.read", { file, rows: raw.rowsRead, malformed: raw.structuralRejects });

  const unit = await resolveTimestampUnit(db, spec.timestampUnit, file, warnings);
  const tsExpr = timestampSql(unit);
  const range = rules.ratingRange ?? spec.ratingRange ?? null;
  const nowTs = rules.nowTs ?? Math.floor(Date.now() / 1000);
  const maxTs = nowTs + rules.maxFutureSeconds;
  const intId = spec.idType === "integer";
  const idOk = (c: string) => (intId ? `TRY_CAST(${c} AS BIGINT) IS NOT NULL` : "TRUE");
  const idNorm = (c: string) => (intId ? `CAST(TRY_CAST(${c} AS BIGINT) AS VARCHAR)` : `trim(${c})`);
  const fmtDate = (s: number) => new Date(s * 1000).toISOString().slice(0, 10);

  // Parse every field once, then name the first failing check per row.
  await db.run(`CREATE OR REPLACE TABLE parsed AS
    SELECT _line, user, item, timestamp, rating, weight, revenue, event_type,
      nullif(trim(user), '') AS u, nullif(trim(item), '') AS i, nullif(trim(timestamp), '') AS t_raw,
      ${tsExpr} AS t,
      TRY_CAST(nullif(trim(rating), '') AS DOUBLE) AS r,
      TRY_CAST(nullif(trim(weight), '') AS DOUBLE) AS w,
      TRY_CAST(nullif(trim(revenue), '') AS DOUBLE) AS rev
    FROM raw_events`);
  const checks: Array<[string, string, string]> = [
    // [condition that marks the row bad, column, reason]
    [`u IS NULL`, "user", "missing user id"],
    [`NOT (${idOk("u")})`, "user", "user id is not an integer"],
    [`i IS NULL`, "item", "missing item id"],
    [`NOT (${idOk("i")})`, "item", "item id is not an integer"],
    [`t_raw IS NULL`, "timestamp", "missing timestamp"],
    [`t IS NULL`, "timestamp", `unparseable timestamp (unit ${unit})`],
    [`t < ${rules.minTs}`, "timestamp", `timestamp before ${fmtDate(rules.minTs)} (wrong unit? read as ${unit})`],
    [`t > ${maxTs}`, "timestamp", `timestamp in the future (after ${fmtDate(maxTs)})`],
    [`nullif(trim(rating), '') IS NOT NULL AND r IS NULL`, "rating", "rating is not a number"],
    [`r IS NOT NULL AND NOT isfinite(r)`, "rating", "rating is not finite"],
    ...(range ? [[`r IS NOT NULL AND (r < ${range[0]} OR r > ${range[1]})`, "rating", `rating out of range [${range[0]}, ${range[1]}]`] as [string, string, string]] : []),
    [`nullif(trim(weight), '') IS NOT NULL AND (w IS NULL OR NOT isfinite(w) OR w < 0)`, "weight", "weight is not a non-negative number"],
    [`nullif(trim(revenue), '') IS NOT NULL AND (rev IS NULL OR NOT isfinite(rev))`, "revenue", "revenue is not a number"],
  ];
  const colMap: Record<string, string> = { user: "user", item: "item", timestamp: "timestamp", rating: "rating", weight: "weight", revenue: "revenue" };
  const reasonCase = `CASE ${checks.map(([cond, , reason]) => `WHEN ${cond} THEN ${sqlString(reason)}`).join(" ")} END`;
  const columnCase = `CASE ${checks.map(([cond, col]) => `WHEN ${cond} THEN ${sqlString(col)}`).join(" ")} END`;
  const valueCase = `CASE ${checks.map(([cond, col]) => `WHEN ${cond} THEN ${colMap[col]}`).join(" ")} END`;
  await db.run(`CREATE OR REPLACE TABLE checked AS SELECT *, ${reasonCase} AS _reason, ${columnCase} AS _column, ${valueCase} AS _value FROM parsed`);

  // Duplicates among otherwise valid rows: the first occurrence (file order) is kept.
  const dup = rules.dropDuplicates
    ? `row_number() OVER (PARTITION BY ${idNorm("u")}, ${idNorm("i")}, t ORDER BY _line)`
    : "1";
  await db.run(`CREATE OR REPLACE TABLE valid AS
    SELECT *, ${dup} AS _dup_rank, min(_line) OVER (PARTITION BY ${idNorm("u")}, ${idNorm("i")}, t) AS _first_line
    FROM checked WHERE _reason IS NULL`);

  const mappedName = (f: string) => (spec.mapping as Record<string, string | undefined>)[f] ?? f;
  await db.run(`CREATE OR REPLACE TABLE quarantine AS
    SELECT file, line, "column", value, reason, raw FROM raw_rejects
    UNION ALL
    SELECT ${sqlString(file)}, _line, CASE _column ${Object.keys(colMap).map((c) => `WHEN ${sqlString(c)} THEN ${sqlString(mappedName(c))}`).join(" ")} END,
      _value, _reason, concat_ws(' | ', coalesce(user, ''), coalesce(item, ''), coalesce(timestamp, ''), coalesce(rating, '')) FROM checked WHERE _reason IS NOT NULL
    UNION ALL
    SELECT ${sqlString(file)}, _line, ${sqlString(mappedName("timestamp"))}, timestamp, 'duplicate event (same user, item and timestamp as line ' || _first_line || ')',
      concat_ws(' | ', coalesce(user, ''), coalesce(item, ''), coalesce(timestamp, ''), coalesce(rating, '')) FROM valid WHERE _dup_rank > 1`);

  const read = raw.rowsRead;
  const quarantined = Number(await db.scalar(`SELECT count(*) FROM quarantine`));
  const kept = Number(await db.scalar(`SELECT count(*) FROM valid WHERE _dup_rank = 1`));
  if (kept + quarantined !== read) {
    throw new Error(`ingestion bookkeeping error: read ${read} != kept ${kept} + quarantined ${quarantined}`);
  }
  const byReason: Record<string, number> = {};
  for (const r of await db.rows<{ reason: string; n: bigint }>(
    `SELECT regexp_replace(reason, ' \\(.*$', '') AS reason, count(*) AS n FROM quarantine GROUP BY 1 ORDER BY 1`,
  )) {
    byReason[r.reason] = Number(r.n);
  }
  const files: Record<string, string> = {};
  files.quarantine = path.join(outDir, "quarantine.parquet");
  await db.copyToParquet(`SELECT * FROM quarantine ORDER BY file, line, reason`, files.quarantine);

  if (kept === 0) {
    throw new InputError(`no valid rows out of ${read}; first problems:\n${await firstProblems(db, 5)}`, { file });
  }
  if (quarantined / read > rules.maxBadFraction) {
    throw new InputError(
      `${quarantined} of ${read} rows (${((100 * quarantined) / read).toFixed(2)}%) failed validation, above validation.max_bad_fraction = ${rules.maxBadFraction}; ` +
        `see ${files.quarantine}. First problems:\n${await firstProblems(db, 5)}`,
      { file },
    );
  }
  if (quarantined > 0) {
    logger.warn("ingest.quarantine", { quarantined, by_reason: byReason, file: files.quarantine });
    warnings.push(`${quarantined} rows quarantined (${Object.entries(byReason).map(([k, v]) => `${k}: ${v}`).join("; ")})`);
  }

  // Dense ids in a deterministic order: numeric order for integer ids, else lexicographic.
  const order = (c: string) => (intId ? `CAST(${c} AS BIGINT)` : c);
  await db.run(`CREATE OR REPLACE TABLE ev AS SELECT ${idNorm("u")} AS user_key, ${idNorm("i")} AS item_key, CAST(floor(t) AS BIGINT) AS ts,
      r AS rating, coalesce(w, 1.0) AS weight, coalesce(rev, 0.0) AS revenue,
      coalesce(nullif(trim(event_type), ''), ${sqlString(spec.defaultEventType ?? "interaction")}) AS event_type, _line AS event_idx
    FROM valid WHERE _dup_rank = 1`);
  // Subscribers who paid but never played anything are still users (churn and revenue need them).
  if (source.revenueSql) {
    await db.run(`CREATE OR REPLACE TABLE pay AS SELECT ${idNorm("CAST(user_key AS VARCHAR)")} AS user_key, CAST(ts AS BIGINT) AS ts, CAST(amount AS DOUBLE) AS amount, CAST(kind AS VARCHAR) AS kind FROM (${source.revenueSql})`);
  }
  const payers = source.revenueSql ? " UNION SELECT user_key FROM pay WHERE user_key IS NOT NULL" : "";
  await db.run(`CREATE OR REPLACE TABLE user_map AS SELECT CAST(row_number() OVER (ORDER BY ${order("user_key")}) - 1 AS INTEGER) AS user_id, user_key FROM (SELECT DISTINCT user_key FROM ev${payers})`);
  await db.run(`CREATE OR REPLACE TABLE item_map AS SELECT CAST(row_number() OVER (ORDER BY ${order("item_key")}) - 1 AS INTEGER) AS item_id, item_key FROM (SELECT DISTINCT item_key FROM ev)`);

  files.interactions = path.join(outDir, "interactions.parquet");
  await db.copyToParquet(
    `SELECT um.user_id, im.item_id, ev.ts, ev.rating, ev.weight, ev.revenue, ev.event_type, ev.event_idx
     FROM ev JOIN user_map um USING (user_key) JOIN item_map im USING (item_key) ORDER BY ${INTERACTION_ORDER}`,
    files.interactions,
  );

  // Dimension tables: every event user/item gets a row; attributes where the source has them.
  let dimensionOnlyItems = 0;
  files.items = path.join(outDir, "items.parquet");
  if (source.dimensions.itemsSql) {
    await db.run(`CREATE OR REPLACE TABLE item_dim AS SELECT * FROM (${source.dimensions.itemsSql})`);
    dimensionOnlyItems = Number(await db.scalar(`SELECT count(*) FROM item_dim d WHERE NOT EXISTS (SELECT 1 FROM item_map m WHERE m.item_key = ${idNorm("d.item_key")})`));
    await db.copyToParquet(
      `SELECT m.item_id, m.item_key, d.title, coalesce(d.genres, CAST([] AS VARCHAR[])) AS genres, CAST(d.release_year AS INTEGER) AS release_year
       FROM item_map m LEFT JOIN (SELECT ${idNorm("item_key")} AS k, any_value(title) AS title, any_value(genres) AS genres, any_value(release_year) AS release_year FROM item_dim GROUP BY 1) d ON d.k = m.item_key
       ORDER BY m.item_id`,
      files.items,
    );
  } else {
    await db.copyToParquet(
      `SELECT item_id, item_key, CAST(NULL AS VARCHAR) AS title, CAST([] AS VARCHAR[]) AS genres, CAST(NULL AS INTEGER) AS release_year FROM item_map ORDER BY item_id`,
      files.items,
    );
  }
  files.users = path.join(outDir, "users.parquet");
  if (source.dimensions.usersSql) {
    await db.run(`CREATE OR REPLACE TABLE user_dim AS SELECT * FROM (${source.dimensions.usersSql})`);
    await db.copyToParquet(
      `SELECT m.user_id, m.user_key, d.* EXCLUDE (user_key, k) FROM user_map m
       LEFT JOIN (SELECT ${idNorm("user_key")} AS k, * FROM user_dim QUALIFY row_number() OVER (PARTITION BY ${idNorm("user_key")} ORDER BY ${idNorm("user_key")}) = 1) d ON d.k = m.user_key
       ORDER BY m.user_id`,
      files.users,
    );
  } else {
    await db.copyToParquet(`SELECT user_id, user_key FROM user_map ORDER BY user_id`, files.users);
  }

  let revenueRows = 0;
  let revenueUnknownUsers = 0;
  if (source.revenueSql) {
    revenueUnknownUsers = Number(await db.scalar(`SELECT count(DISTINCT user_key) FROM pay p WHERE NOT EXISTS (SELECT 1 FROM ev WHERE ev.user_key = p.user_key)`));
    files.revenue = path.join(outDir, "revenue.parquet");
    revenueRows = await db.copyToParquet(
      `SELECT m.user_id, p.ts, p.amount, p.kind FROM pay p JOIN user_map m USING (user_key) ORDER BY m.user_id, p.ts, p.kind, p.amount`,
      files.revenue,
    );
    if (revenueUnknownUsers > 0) warnings.push(`${revenueUnknownUsers} paying users have no events (kept in users.parquet and revenue.parquet)`);
  }

  const stats = await db.one<{ users: bigint; items: bigint; tmin: bigint | null; tmax: bigint | null }>(
    `SELECT (SELECT count(*) FROM user_map) AS users, (SELECT count(*) FROM item_map) AS items, min(ts) AS tmin, max(ts) AS tmax FROM ev`,
  );
  const report: IngestReport = {
    dataset: source.name,
    file,
    read,
    kept,
    quarantined,
    quarantineByReason: byReason,
    users: Number(stats.users),
    items: Number(stats.items),
    timeRange: { min: stats.tmin === null ? null : Number(stats.tmin), max: stats.tmax === null ? null : Number(stats.tmax) },
    timestampUnit: unit,
    dimensionOnlyItems,
    revenueRows,
    revenueUnknownUsers,
    files,
    warnings,
  };
  for (const t of ["parsed", "checked", "valid", "ev", "raw_events"]) await db.run(`DROP TABLE IF EXISTS ${t}`);
  logger.info("ingest.done", { kept, quarantined, users: report.users, items: report.items });
  return report;
}

/** Picks the timestamp unit: numeric values by magnitude (the median), else ISO text. */
async function resolveTimestampUnit(db: Duck, unit: TimestampUnit, file: string, warnings: string[]): Promise<Exclude<TimestampUnit, "auto">> {
  if (unit !== "auto") return unit;
  const r = await db.one<{ numeric: bigint; iso: bigint; med: number | null }>(
    `SELECT count(TRY_CAST(nullif(trim(timestamp), '') AS DOUBLE)) AS numeric,
            count(CASE WHEN TRY_CAST(nullif(trim(timestamp), '') AS DOUBLE) IS NULL THEN TRY_CAST(nullif(trim(timestamp), '') AS TIMESTAMPTZ) END) AS iso,
            median(abs(TRY_CAST(nullif(trim(timestamp), '') AS DOUBLE))) AS med FROM raw_events`,
  );
  // Whichever reading parses more values wins; unparseable values are quarantined either way.
  if (Number(r.iso) > Number(r.numeric)) return "iso";
  if (Number(r.numeric) === 0) return "s";
  const med = r.med ?? 0;
  // Seconds since 1970 stay below 1e11 until year 5138; milliseconds exceed it after 1973.
  const picked = med >= 1e14 ? "us" : med >= 1e11 ? "ms" : "s";
  if (picked !== "s") warnings.push(`${file}: timestamps read as ${picked === "ms" ? "milliseconds" : "microseconds"} (median ${med}); set dataset.events.timestamp_unit to override`);
  return picked;
}

function timestampSql(unit: Exclude<TimestampUnit, "auto">): string {
  const t = "nullif(trim(timestamp), '')";
  switch (unit) {
    case "s":
      return `TRY_CAST(${t} AS DOUBLE)`;
    case "ms":
      return `TRY_CAST(${t} AS DOUBLE) / 1000.0`;
    case "us":
      return `TRY_CAST(${t} AS DOUBLE) / 1000000.0`;
    case "iso":
      return `epoch(TRY_CAST(${t} AS TIMESTAMPTZ))`;
  }
}

async function firstProblems(db: Duck, n: number): Promise<string> {
  const rows = await db.rows<{ file: string; line: bigint; column: string | null; value: string | null; reason: string }>(
    `SELECT file, line, "column", value, reason FROM quarantine ORDER BY line LIMIT ${n}`,
  );
  return rows
    .map((r) => `  ${formatInputProblem(r.reason, { file: r.file, line: Number(r.line), column: r.column ?? undefined, value: r.value ?? undefined })}`)
    .join("\n");
}
