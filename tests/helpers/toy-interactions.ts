/**
 * Small hand-made interaction tables written as canonical Parquet, for split/leakage/feature tests.
 */
import type { Duck } from "../../src/data/duck";
import { sqlString } from "../../src/data/duck";
import { INTERACTION_COLUMNS, INTERACTION_ORDER } from "../../src/data/schema";

/** One toy event; omitted fields get canonical defaults (event_idx = position in the list). */
export interface ToyEvent {
  user: number;
  item: number;
  ts: number;
  rating?: number | null;
  weight?: number;
  revenue?: number;
  event_type?: string;
  event_idx?: number;
}

/** Day length in seconds, for readable fixtures. */
export const DAY = 86400;
/** A round base time (2020-01-01T00:00:00Z). */
export const T0 = 1577836800;

function lit(v: number | null | undefined, type: string): string {
  return v === null || v === undefined ? `CAST(NULL AS ${type})` : `CAST(${v} AS ${type})`;
}

/** SQL relation of the toy events with the canonical column types. */
export function toySql(events: ToyEvent[]): string {
  if (events.length === 0) {
    const cols = Object.entries(INTERACTION_COLUMNS)
      .map(([c, t]) => `CAST(NULL AS ${t}) AS ${c}`)
      .join(", ");
    return `SELECT ${cols} WHERE FALSE`;
  }
  const values = events
    .map(
      (e, i) =>
        `(${lit(e.user, "INTEGER")}, ${lit(e.item, "INTEGER")}, ${lit(e.ts, "BIGINT")}, ${lit(e.rating, "DOUBLE")}, ${lit(e.weight ?? 1, "DOUBLE")}, ${lit(e.revenue ?? 0, "DOUBLE")}, ${sqlString(e.event_type ?? "rating")}, ${lit(e.event_idx ?? i, "BIGINT")})`,
    )
    .join(",\n");
  return `SELECT * FROM (VALUES ${values}) t(${Object.keys(INTERACTION_COLUMNS).join(", ")})`;
}

/** Writes `events` to `file` as canonical interactions.parquet (canonical row order). */
export async function writeToyInteractions(db: Duck, file: string, events: ToyEvent[]): Promise<number> {
  return db.copyToParquet(`SELECT * FROM (${toySql(events)}) ORDER BY ${INTERACTION_ORDER}`, file);
}

/** Writes an items dimension `item_id INTEGER, genres VARCHAR[]`. */
export async function writeToyItems(db: Duck, file: string, items: { item: number; genres: string[] | null }[]): Promise<number> {
  const values = items
    .map((it) => `(CAST(${it.item} AS INTEGER), ${it.genres === null ? "CAST(NULL AS VARCHAR[])" : `CAST([${it.genres.map(sqlString).join(", ")}] AS VARCHAR[])`})`)
    .join(", ");
  return db.copyToParquet(`SELECT * FROM (VALUES ${values}) t(item_id, genres) ORDER BY item_id`, file);
}

/**
 * A deterministic mid-size toy: `users` users, each with 3..(3 + spread) events over `items` items,
 * one event per day per user, ratings 1..5 with some unrated events. Pure integer arithmetic.
 */
export function toyEvents(users = 12, items = 9, spread = 8): ToyEvent[] {
  const out: ToyEvent[] = [];
  for (let u = 0; u < users; u++) {
    const n = 3 + ((u * 7) % (spread + 1));
    for (let k = 0; k < n; k++) {
      const item = (u * 3 + k * 5) % items;
      const rating = (u + k) % 4 === 3 ? null : 1 + ((u * 2 + k) % 5);
      // Two users share a timestamp with two of their events so tie-breaking is exercised.
      const ts = T0 + (k + (u % 3)) * DAY + (u % 2 === 0 && k === 1 ? -DAY : 0);
      out.push({ user: u, item, ts, rating });
    }
  }
  // event_idx is a permutation of the row order, so it disagrees with ts order and tie-breaks are exercised.
  const n = out.length;
  let p = 7;
  while (gcd(p, n) !== 1) p += 2;
  return out.map((e, i) => ({ ...e, event_idx: (i * p) % n }));
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
