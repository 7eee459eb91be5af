/**
 * `writeWorld`: the world as Parquet, laid out like a real service's exports (`raw/`) plus the
 * ground truth (`truth/`). Typed arrays go to DuckDB through `loadColumns`; every COPY has a total
 * ORDER BY, so the same world always gives the same bytes.
 */
import * as path from "node:path";
import { writeFileAtomic } from "../../util/atomic";
import { stableStringify } from "../../util/stable-json";
import type { Duck } from "../duck";
import { civilFromDays, DAY } from "./time";
import type { World } from "./types";

/** Paths written by {@link writeWorld}, by role. */
export interface WrittenWorld {
  files: {
    events: string;
    payments: string;
    items: string;
    users: string;
    userTaste: string;
    itemVectors: string;
    genrePrototypes: string;
    churn: string;
    hazards: string;
    worldJson: string;
  };
}

const T = {
  events: "_syn_events",
  payments: "_syn_payments",
  items: "_syn_items",
  itemGenres: "_syn_item_genres",
  names: "_syn_names",
  users: "_syn_users",
  taste: "_syn_taste",
  vectors: "_syn_vectors",
  protos: "_syn_protos",
  episodes: "_syn_episodes",
  periods: "_syn_periods",
};

/** Version tag of the layout, recorded in world.json. */
export const WORLD_FORMAT = "ntg-synthetic-world/1";

function isoDate(ts: number): string {
  const [y, m, d] = civilFromDays(Math.floor(ts / DAY));
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** Loads (index, string) pairs into `table(k INTEGER, name VARCHAR)` through an appender. */
async function loadNames(db: Duck, table: string, names: readonly string[]): Promise<void> {
  await db.run(`CREATE OR REPLACE TABLE ${table} (k INTEGER, name VARCHAR)`);
  const app = await db.conn.createAppender(table);
  for (let k = 0; k < names.length; k++) {
    app.appendInteger(k);
    app.appendVarchar(names[k]);
    app.endRow();
  }
  app.flushSync();
  app.closeSync();
}

/** Splits a row-major n × d matrix into d column arrays named prefix0..prefix{d-1}. */
function matrixColumns(m: Float64Array, n: number, d: number, prefix: string): Record<string, Float64Array> {
  const cols: Record<string, Float64Array> = {};
  for (let k = 0; k < d; k++) {
    const c = new Float64Array(n);
    for (let r = 0; r < n; r++) c[r] = m[r * d + k];
    cols[`${prefix}${k}`] = c;
  }
  return cols;
}

function listOf(prefix: string, d: number): string {
  return `list_value(${Array.from({ length: d }, (_, k) => `${prefix}${k}`).join(", ")})`;
}

const nullIfNaN = (c: string, type: string) => `CASE WHEN isnan(${c}) THEN NULL ELSE CAST(${c} AS ${type}) END`;

/**
 * Writes the world under `dir`:
 * - `raw/events.parquet` (user, item, timestamp, rating, watch_fraction, event_type), `raw/payments.parquet`,
 *   `raw/items.parquet`, `raw/users.parquet`: what a streaming service would export (1-based ids);
 * - `truth/user_taste.parquet`, `truth/item_vectors.parquet`, `truth/genre_prototypes.parquet`,
 *   `truth/churn.parquet`, `truth/hazards.parquet`, `truth/world.json`: ground truth for evaluation.
 */
export async function writeWorld(world: World, dir: string, db: Duck): Promise<WrittenWorld> {
  const raw = (f: string) => path.join(dir, "raw", f);
  const truth = (f: string) => path.join(dir, "truth", f);
  const files: WrittenWorld["files"] = {
    events: raw("events.parquet"),
    payments: raw("payments.parquet"),
    items: raw("items.parquet"),
    users: raw("users.parquet"),
    userTaste: truth("user_taste.parquet"),
    itemVectors: truth("item_vectors.parquet"),
    genrePrototypes: truth("genre_prototypes.parquet"),
    churn: truth("churn.parquet"),
    hazards: truth("hazards.parquet"),
    worldJson: truth("world.json"),
  };
  const nU = world.users.length;
  const nI = world.items.length;
  const d = world.truth.dim;
  const G = world.genres.length;
  const ev = world.events;
  try {
    // ---- raw ----
    await db.loadColumns(T.events, { u: ev.user, i: ev.item, ts: ev.ts, r: ev.rating, w: ev.watchFraction });
    // Only plays exist (event type code 0); watch fractions have 3 decimals, rounded back from float32.
    await db.copyToParquet(
      `SELECT CAST(u + 1 AS BIGINT) AS "user", CAST(i + 1 AS BIGINT) AS item, CAST(ts AS BIGINT) AS "timestamp",
              ${nullIfNaN("r", "DOUBLE")} AS rating, round(CAST(w AS DOUBLE), 3) AS watch_fraction, 'play' AS event_type
       FROM ${T.events} ORDER BY "timestamp", "user", item`,
      files.events,
    );
    await db.run(`DROP TABLE ${T.events}`);

    const pay = world.payments;
    await db.loadColumns(T.payments, { u: pay.user, ts: pay.ts, amount: pay.amount });
    await db.copyToParquet(
      `SELECT CAST(u + 1 AS BIGINT) AS "user", CAST(ts AS BIGINT) AS ts, amount, 'subscription' AS kind FROM ${T.payments} ORDER BY ts, "user"`,
      files.payments,
    );

    await loadNames(db, T.names, world.genres);
    const it = world.items;
    const genreItem = new Int32Array(it.genreIds.length);
    const genrePos = new Int32Array(it.genreIds.length);
    for (let i = 0; i < nI; i++) {
      for (let j = it.genreStart[i]; j < it.genreStart[i + 1]; j++) {
        genreItem[j] = i;
        genrePos[j] = j - it.genreStart[i];
      }
    }
    await db.loadColumns(T.itemGenres, { i: genreItem, pos: genrePos, g: it.genreIds });
    await db.loadColumns(T.items, {
      i: Int32Array.from({ length: nI }, (_, i) => i),
      year: it.releaseYear,
      release_ts: it.releaseTs,
      popularity: world.truth.popularity,
      ...matrixColumns(world.truth.itemVectors, nI, d, "v"),
    });
    await loadNames(db, "_syn_titles", it.titles);
    await db.copyToParquet(
      `WITH gl AS (SELECT ig.i, list(n.name ORDER BY ig.pos) AS genres FROM ${T.itemGenres} ig JOIN ${T.names} n ON n.k = ig.g GROUP BY ig.i)
       SELECT CAST(x.i + 1 AS BIGINT) AS item, t.name AS title, gl.genres, x.year AS release_year, CAST(x.release_ts AS BIGINT) AS release_ts
       FROM ${T.items} x JOIN _syn_titles t ON t.k = x.i JOIN gl ON gl.i = x.i ORDER BY item`,
      files.items,
    );

    await loadNames(db, "_syn_plans", world.plans.map((p) => p.name));
    const us = world.users;
    const t = world.truth;
    await db.loadColumns(T.users, {
      u: Int32Array.from({ length: nU }, (_, u) => u),
      signup_ts: us.signupTs,
      plan: us.plan,
      price: us.monthlyPrice,
      fav: t.favoriteGenre,
      activity: t.activity,
      frailty: t.frailty,
      rating_propensity: t.ratingPropensity,
      rating_bias: t.ratingBias,
      initial_satisfaction: t.initialSatisfaction,
      ...matrixColumns(t.taste, nU, d, "t"),
    });
    await db.copyToParquet(
      `SELECT CAST(x.u + 1 AS BIGINT) AS "user", CAST(x.signup_ts AS BIGINT) AS signup_ts, p.name AS plan, x.price AS monthly_price
       FROM ${T.users} x JOIN _syn_plans p ON p.k = x.plan ORDER BY "user"`,
      files.users,
    );

    // ---- truth ----
    await db.copyToParquet(
      `SELECT CAST(x.u + 1 AS BIGINT) AS "user", g.name AS favorite_genre, ${listOf("t", d)} AS taste, x.activity AS active_day_probability,
              x.frailty, x.rating_propensity, x.rating_bias, x.initial_satisfaction
       FROM ${T.users} x JOIN ${T.names} g ON g.k = x.fav ORDER BY "user"`,
      files.userTaste,
    );
    await db.copyToParquet(
      `SELECT CAST(x.i + 1 AS BIGINT) AS item, ${listOf("v", d)} AS vector, x.popularity,
              CAST(rank() OVER (ORDER BY x.popularity DESC, x.i) AS INTEGER) AS popularity_rank
       FROM ${T.items} x ORDER BY item`,
      files.itemVectors,
    );
    await db.loadColumns(T.protos, {
      g: Int32Array.from({ length: G }, (_, g) => g),
      weight: t.genreWeights,
      ...matrixColumns(t.genrePrototypes, G, d, "p"),
    });
    await db.copyToParquet(
      `SELECT n.name AS genre, x.weight AS prevalence, ${listOf("p", d)} AS vector FROM ${T.protos} x JOIN ${T.names} n ON n.k = x.g ORDER BY x.g`,
      files.genrePrototypes,
    );
    const e = t.episodes;
    await db.loadColumns(T.episodes, { u: e.user, churn_ts: e.churnTs, return_ts: e.returnTs });
    // One row per churn episode; users who never churned get one row of NULLs, so every user appears.
    await db.copyToParquet(
      `SELECT "user", episode, churn_ts, return_ts FROM (
         SELECT CAST(u + 1 AS BIGINT) AS "user", CAST(row_number() OVER (PARTITION BY u ORDER BY churn_ts) AS INTEGER) AS episode,
                CAST(churn_ts AS BIGINT) AS churn_ts, ${nullIfNaN("return_ts", "BIGINT")} AS return_ts
         FROM ${T.episodes}
         UNION ALL
         SELECT CAST(x.u + 1 AS BIGINT), 0, NULL::BIGINT, NULL::BIGINT FROM ${T.users} x ANTI JOIN ${T.episodes} ep ON ep.u = x.u
       ) ORDER BY "user", episode`,
      files.churn,
    );
    const pr = t.periods;
    await db.loadColumns(T.periods, {
      u: pr.user,
      start: pr.start,
      end: pr.end,
      satisfaction: pr.satisfaction,
      hazard: pr.hazard,
      outcome: Int32Array.from(pr.outcome),
    });
    await db.copyToParquet(
      `SELECT CAST(u + 1 AS BIGINT) AS "user", CAST(row_number() OVER (PARTITION BY u ORDER BY start) AS INTEGER) AS period,
              CAST(start AS BIGINT) AS period_start, CAST("end" AS BIGINT) AS period_end, satisfaction, hazard,
              CASE outcome WHEN 0 THEN 'renewed' WHEN 1 THEN 'churned' ELSE 'open' END AS outcome
       FROM ${T.periods} ORDER BY "user", period_start`,
      files.hazards,
    );
  } finally {
    for (const name of [...Object.values(T), "_syn_titles", "_syn_plans"]) await db.run(`DROP TABLE IF EXISTS ${name}`);
  }

  const s = world.summary;
  writeFileAtomic(
    files.worldJson,
    stableStringify({
      format: WORLD_FORMAT,
      config: world.config,
      start_date: world.config.startDate,
      end_date: isoDate(world.endTs - DAY),
      start_ts: world.startTs,
      end_ts: world.endTs,
      days: world.days,
      genres: world.genres,
      plans: world.plans,
      summary: s,
      event_types: ["play"],
      files: Object.fromEntries(Object.entries(files).map(([k, f]) => [k, path.relative(dir, f)])),
    }),
  );
  return { files };
}
