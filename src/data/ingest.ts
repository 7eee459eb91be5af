import * as path from "node:path";
import { InputError, formatInputProblem } from "../util/errors";
import { quietLogger, type Logger } from "../util/log";
import { Duck, sqlString } from "./duck";
import { dropRelation, readRawEvents } from "./raw-read";
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

  const types = raw.types;
  const isText = (f: string) => types[f] === "VARCHAR";
  const isTemporal = (f: string) => /^(TIMESTAMP|DATE)/.test(types[f] ?? "");
  /** the field as trimmed text, NULL when empty (text) or NULL (typed) */
  const present = (f: string) => (isText(f) ? `nullif(trim(${f}), '')` : f);
  /** the field as a number, NULL when absent or unparseable */
  const num = (f: string) => (isText(f) ? `TRY_CAST(nullif(trim(${f}), '') AS DOUBLE)` : isTemporal(f) ? `epoch(${f})` : `TRY_CAST(${f} AS DOUBLE)`);
  const text = (f: string) => `CAST(${f} AS VARCHAR)`;

  const unit = isTemporal("timestamp") ? "iso" : await resolveTimestampUnit(db, spec.timestampUnit, file, warnings, isText("timestamp"));
  const tsExpr = isTemporal("timestamp") ? "epoch(timestamp)" : timestampSql(unit, present("timestamp"), isText("timestamp"));
  const range = rules.ratingRange ?? spec.ratingRange ?? null;
  const nowTs = rules.nowTs ?? Math.floor(Date.now() / 1000);
  const maxTs = nowTs + rules.maxFutureSeconds;
  const intId = spec.idType === "integer";
  // Keys: BIGINT for integer ids (fast joins, numeric order), trimmed text otherwise.
  const idKey = (f: string) => (intId ? (isText(f) ? `TRY_CAST(${present(f)} AS BIGINT)` : `TRY_CAST(${f} AS BIGINT)`) : isText(f) ? present(f) : text(f));
  const fmtDate = (s: number) => new Date(s * 1000).toISOString().slice(0, 10);

  const checks: Array<[string, string, string]> = [
    // [condition that marks the row bad, column, reason]; the first true one is reported
    [`${present("user")} IS NULL`, "user", "missing user id"],
    [`u IS NULL`, "user", "user id is not an integer"],
    [`${present("item")} IS NULL`, "item", "missing item id"],
    [`i IS NULL`, "item", "item id is not an integer"],
    [`${present("timestamp")} IS NULL`, "timestamp", "missing timestamp"],
    [`t IS NULL`, "timestamp", `unparseable timestamp (unit ${unit})`],
    [`t < ${rules.minTs}`, "timestamp", `timestamp before ${fmtDate(rules.minTs)} (wrong unit? read as ${unit})`],
    [`t > ${maxTs}`, "timestamp", `timestamp in the future (after ${fmtDate(maxTs)})`],
    [`${present("rating")} IS NOT NULL AND r IS NULL`, "rating", "rating is not a number"],
    [`r IS NOT NULL AND NOT isfinite(r)`, "rating", "rating is not finite"],
    ...(range ? [[`r IS NOT NULL AND (r < ${range[0]} OR r > ${range[1]})`, "rating", `rating out of range [${range[0]}, ${range[1]}]`] as [string, string, string]] : []),
    [`${present("weight")} IS NOT NULL AND (w IS NULL OR NOT isfinite(w) OR w < 0)`, "weight", "weight is not a non-negative number"],
    [`${present("revenue")} IS NOT NULL AND (rev IS NULL OR NOT isfinite(rev))`, "revenue", "revenue is not a number"],
  ];
  const mappedName = (f: string) => (spec.mapping as Record<string, string | undefined>)[f] ?? f;
  const reasonCase = `CASE ${checks.map(([cond, , reason]) => `WHEN ${cond} THEN ${sqlString(reason)}`).join(" ")} END`;
  const columnCase = `CASE ${checks.map(([cond, col]) => `WHEN ${cond} THEN ${sqlString(mappedName(col))}`).join(" ")} END`;
  const valueCase = `CASE ${checks.map(([cond, col]) => `WHEN ${cond} THEN ${text(col)}`).join(" ")} END`;
  const rawText = `concat_ws(' | ', ${["user", "item", "timestamp", "rating"].map((f) => `coalesce(${text(f)}, '')`).join(", ")})`;

  // One pass: parse every field, name the first failing check; text for bad rows only.
  await db.run(`CREATE OR REPLACE TABLE checked AS
    WITH p AS (
      SELECT _line, user, item, timestamp, rating, weight, revenue, event_type,
        ${idKey("user")} AS u, ${idKey("item")} AS i, ${tsExpr} AS t, ${num("rating")} AS r, ${num("weight")} AS w, ${num("revenue")} AS rev
      FROM raw_events),
    c AS (SELECT *, ${reasonCase} AS _reason FROM p)
    SELECT _line, u, i, t, r, w, rev, ${isText("event_type") ? "nullif(trim(event_type), '')" : text("event_type")} AS et, _reason,
      CASE WHEN _reason IS NOT NULL THEN ${columnCase} END AS _column,
      CASE WHEN _reason IS NOT NULL THEN ${valueCase} END AS _value,
      CASE WHEN _reason IS NOT NULL THEN ${rawText} END AS _raw
    FROM c`);
  await dropRelation(db, "raw_events");

  // Exact duplicates of (user, item, timestamp) among valid rows: the first in file order is
  // kept. Grouping finds the (usually few) duplicated keys without sorting every row.
  await db.run(
    rules.dropDuplicates
      ? `CREATE OR REPLACE TABLE dup_keys AS SELECT u, i, t, min(_line) AS first_line FROM checked WHERE _reason IS NULL GROUP BY u, i, t HAVING count(*) > 1`
      : `CREATE OR REPLACE TABLE dup_keys AS SELECT u, i, t, min(_line) AS first_line FROM checked WHERE FALSE GROUP BY u, i, t`,
  );
  await db.run(`CREATE OR REPLACE VIEW kept_rows AS
    SELECT c.* FROM checked c LEFT JOIN dup_keys d ON c.u = d.u AND c.i = d.i AND c.t = d.t
    WHERE c._reason IS NULL AND (d.first_line IS NULL OR c._line = d.first_line)`);

  await db.run(`CREATE OR REPLACE TABLE quarantine AS
    SELECT file, line, "column", value, reason, raw FROM raw_rejects
    UNION ALL
    SELECT ${sqlString(file)}, _line, _column, _value, _reason, _raw FROM checked WHERE _reason IS NOT NULL
    UNION ALL
    SELECT ${sqlString(file)}, c._line, ${sqlString(mappedName("timestamp"))}, CAST(c.t AS VARCHAR),
      'duplicate event (same user, item and timestamp as line ' || d.first_line || ')', CAST(c.u AS VARCHAR) || ' | ' || CAST(c.i AS VARCHAR) || ' | ' || CAST(c.t AS VARCHAR)
    FROM checked c JOIN dup_keys d ON c.u = d.u AND c.i = d.i AND c.t = d.t WHERE c._reason IS NULL AND c._line > d.first_line`);

  const read = raw.rowsRead;
  const quarantined = Number(await db.scalar(`SELECT count(*) FROM quarantine`));
  const kept = Number(await db.scalar(`SELECT count(*) FROM kept_rows`));
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
  // Subscribers who paid but never played anything are still users (churn and revenue need them).
  const keyOf = (c: string) => (intId ? `TRY_CAST(${c} AS BIGINT)` : `CAST(${c} AS VARCHAR)`);
  if (source.revenueSql) {
    await db.run(`CREATE OR REPLACE TABLE pay AS SELECT ${keyOf("user_key")} AS u, CAST(ts AS BIGINT) AS ts, CAST(amount AS DOUBLE) AS amount, CAST(kind AS VARCHAR) AS kind FROM (${source.revenueSql})`);
  }
  const payers = source.revenueSql ? " UNION SELECT u FROM pay WHERE u IS NOT NULL" : "";
  await db.run(`CREATE OR REPLACE TABLE user_map AS SELECT CAST(row_number() OVER (ORDER BY u) - 1 AS INTEGER) AS user_id, u, CAST(u AS VARCHAR) AS user_key FROM (SELECT DISTINCT u FROM kept_rows${payers})`);
  await db.run(`CREATE OR REPLACE TABLE item_map AS SELECT CAST(row_number() OVER (ORDER BY i) - 1 AS INTEGER) AS item_id, i, CAST(i AS VARCHAR) AS item_key FROM (SELECT DISTINCT i FROM kept_rows)`);

  files.interactions = path.join(outDir, "interactions.parquet");
  await db.copyToParquet(
    `SELECT um.user_id, im.item_id, CAST(floor(k.t) AS BIGINT) AS ts, k.r AS rating, coalesce(k.w, 1.0) AS weight, coalesce(k.rev, 0.0) AS revenue,
       coalesce(k.et, ${sqlString(spec.defaultEventType ?? "interaction")}) AS event_type, k._line AS event_idx
     FROM kept_rows k JOIN user_map um ON um.u = k.u JOIN item_map im ON im.i = k.i ORDER BY ${INTERACTION_ORDER}`,
    files.interactions,
  );

  // Dimension tables: every event user/item gets a row; attributes where the source has them.
  let dimensionOnlyItems = 0;
  files.items = path.join(outDir, "items.parquet");
  if (source.dimensions.itemsSql) {
    await db.run(`CREATE OR REPLACE TABLE item_dim AS SELECT * FROM (${source.dimensions.itemsSql})`);
    dimensionOnlyItems = Number(await db.scalar(`SELECT count(*) FROM item_dim d WHERE NOT EXISTS (SELECT 1 FROM item_map m WHERE m.i = ${keyOf("d.item_key")})`));
    await db.copyToParquet(
      `SELECT m.item_id, m.item_key, d.title, coalesce(d.genres, CAST([] AS VARCHAR[])) AS genres, CAST(d.release_year AS INTEGER) AS release_year
       FROM item_map m LEFT JOIN (SELECT ${keyOf("item_key")} AS k, any_value(title) AS title, any_value(genres) AS genres, any_value(release_year) AS release_year FROM item_dim GROUP BY 1) d ON d.k = m.i
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
       LEFT JOIN (SELECT ${keyOf("user_key")} AS k, * FROM user_dim QUALIFY row_number() OVER (PARTITION BY ${keyOf("user_key")} ORDER BY ${keyOf("user_key")}) = 1) d ON d.k = m.u
       ORDER BY m.user_id`,
      files.users,
    );
  } else {
    await db.copyToParquet(`SELECT user_id, user_key FROM user_map ORDER BY user_id`, files.users);
  }

  let revenueRows = 0;
  let revenueUnknownUsers = 0;
  if (source.revenueSql) {
    revenueUnknownUsers = Number(await db.scalar(`SELECT count(DISTINCT u) FROM pay p WHERE NOT EXISTS (SELECT 1 FROM kept_rows k WHERE k.u = p.u)`));
    files.revenue = path.join(outDir, "revenue.parquet");
    revenueRows = await db.copyToParquet(
      `SELECT m.user_id, p.ts, p.amount, p.kind FROM pay p JOIN user_map m ON m.u = p.u ORDER BY m.user_id, p.ts, p.kind, p.amount`,
      files.revenue,
    );
    if (revenueUnknownUsers > 0) warnings.push(`${revenueUnknownUsers} paying users have no events (kept in users.parquet and revenue.parquet)`);
  }

  const stats = await db.one<{ users: bigint; items: bigint; tmin: bigint | null; tmax: bigint | null }>(
    `SELECT (SELECT count(*) FROM user_map) AS users, (SELECT count(*) FROM item_map) AS items, CAST(floor(min(t)) AS BIGINT) AS tmin, CAST(floor(max(t)) AS BIGINT) AS tmax FROM kept_rows`,
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
  await db.run(`DROP VIEW IF EXISTS kept_rows`);
  for (const t of ["checked", "dup_keys", "pay"]) await db.run(`DROP TABLE IF EXISTS ${t}`);
  logger.info("ingest.done", { kept, quarantined, users: report.users, items: report.items });
  return report;
}

/** Picks the timestamp unit: numeric values by magnitude (the median), else ISO text. */
async function resolveTimestampUnit(db: Duck, unit: TimestampUnit, file: string, warnings: string[], isText: boolean): Promise<Exclude<TimestampUnit, "auto">> {
  if (unit !== "auto") return unit;
  if (!isText) {
    const med = Number((await db.scalar(`SELECT median(abs(TRY_CAST(timestamp AS DOUBLE))) FROM raw_events`)) ?? 0);
    return pickNumericUnit(med, file, warnings);
  }
  const r = await db.one<{ numeric: bigint; iso: bigint; med: number | null }>(
    `SELECT count(TRY_CAST(nullif(trim(timestamp), '') AS DOUBLE)) AS numeric,
            count(CASE WHEN TRY_CAST(nullif(trim(timestamp), '') AS DOUBLE) IS NULL THEN TRY_CAST(nullif(trim(timestamp), '') AS TIMESTAMPTZ) END) AS iso,
            median(abs(TRY_CAST(nullif(trim(timestamp), '') AS DOUBLE))) AS med FROM raw_events`,
  );
  // Whichever reading parses more values wins; unparseable values are quarantined either way.
  if (Number(r.iso) > Number(r.numeric)) return "iso";
  if (Number(r.numeric) === 0) return "s";
  return pickNumericUnit(r.med ?? 0, file, warnings);
}

function pickNumericUnit(med: number, file: string, warnings: string[]): Exclude<TimestampUnit, "auto"> {
  // Seconds since 1970 stay below 1e11 until year 5138; milliseconds exceed it after 1973.
  const picked = med >= 1e14 ? "us" : med >= 1e11 ? "ms" : "s";
  if (picked !== "s") warnings.push(`${file}: timestamps read as ${picked === "ms" ? "milliseconds" : "microseconds"} (median ${med}); set dataset.events.timestamp_unit to override`);
  return picked;
}

function timestampSql(unit: Exclude<TimestampUnit, "auto">, value: string, isText: boolean): string {
  const t = isText ? value : `CAST(${value} AS VARCHAR)`;
  switch (unit) {
    case "s":
      return `TRY_CAST(${value} AS DOUBLE)`;
    case "ms":
      return `TRY_CAST(${value} AS DOUBLE) / 1000.0`;
    case "us":
      return `TRY_CAST(${value} AS DOUBLE) / 1000000.0`;
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
