/** The positive-feedback rule: which events count as positives before splitting. */
import { sqlString } from "../data/duck";
import { ConfigError } from "../util/errors";
import type { PositiveRule } from "./types";

/** Throws `ConfigError` for malformed rules (keys named under `split.positive`). */
export function validatePositiveRule(rule: PositiveRule): void {
  if (rule.min_rating !== undefined && !Number.isFinite(rule.min_rating)) {
    throw new ConfigError("split.positive.min_rating", `must be a finite number, got ${String(rule.min_rating)}`);
  }
  if (rule.event_types !== undefined) {
    if (!Array.isArray(rule.event_types) || rule.event_types.length === 0 || rule.event_types.some((t) => typeof t !== "string")) {
      throw new ConfigError("split.positive.event_types", "must be a non-empty list of strings");
    }
  }
}

/**
 * SQL boolean expression over the canonical columns that is true for positive events.
 * Unrated events pass `min_rating` (implicit feedback is positive) unless `require_rating` is set.
 * NaN ratings are treated like missing ones so they cannot slip through a comparison.
 */
export function positivePredicate(rule: PositiveRule | undefined): string {
  if (!rule) return "TRUE";
  const hasRating = "(rating IS NOT NULL AND NOT isnan(rating))";
  const terms: string[] = [];
  if (rule.require_rating) terms.push(hasRating);
  if (rule.min_rating !== undefined) terms.push(`(NOT ${hasRating} OR rating >= ${Number(rule.min_rating)})`);
  if (rule.event_types !== undefined) terms.push(`event_type IN (${rule.event_types.map(sqlString).join(", ")})`);
  return terms.length ? terms.join(" AND ") : "TRUE";
}

/** True when the rule filters nothing (so metadata can record `positive: null`). */
export function isTrivialRule(rule: PositiveRule | undefined): boolean {
  return !rule || (rule.min_rating === undefined && !rule.require_rating && rule.event_types === undefined);
}
