import { createHash } from "node:crypto";
import { InputError } from "../util/errors";
import { checkWeights } from "./validate";

/**
 * Deterministic bucketing: the same (experiment, user) always lands in the same arm, without
 * storing assignments. The GrowthBook schemes are reproduced exactly so that assignments made here
 * agree with a GrowthBook SDK serving the same experiment key.
 */

/** Arm code for a user outside the experiment's coverage or layer range. */
export const NOT_IN_EXPERIMENT = -1;
/** Arm code for a user in the holdout group. */
export const IN_HOLDOUT = -2;

/**
 * 32-bit FNV-1a over UTF-16 code units (charCodeAt), as GrowthBook's SDK hashes; multiplying by the
 * FNV prime 16777619 with Math.imul is the same as GrowthBook's shift-and-add form modulo 2³².
 */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** GrowthBook hash v1: (fnv1a32(value + seed) mod 1000) / 1000 (GrowthBook sdk-js `hash`, version 1). */
export function hashV1(seed: string, value: string): number {
  return (fnv1a32(value + seed) % 1000) / 1000;
}

/** GrowthBook hash v2: (fnv1a32(String(fnv1a32(seed + value))) mod 10000) / 10000 (sdk-js `hash`, version 2). */
export function hashV2(seed: string, value: string): number {
  return (fnv1a32(String(fnv1a32(seed + value))) % 10000) / 10000;
}

/**
 * SHA-256 scheme: the first 8 bytes of SHA-256(JSON [seed, value]) read as a big-endian integer,
 * top 53 bits scaled into [0, 1). JSON framing keeps ("ab","c") and ("a","bc") apart.
 */
export function sha256Unit(seed: string, value: string): number {
  const digest = createHash("sha256").update(JSON.stringify([seed, value])).digest();
  const hi = digest.readUInt32BE(0);
  const lo = digest.readUInt32BE(4);
  return (hi * 2 ** 21 + (lo >>> 11)) / 2 ** 53;
}

/** Hashing scheme: GrowthBook v1/v2 (FNV-1a) or SHA-256. */
export type HashScheme = "growthbook-v1" | "growthbook-v2" | "sha256";

/** Hash of (seed, value) into [0, 1) under the chosen scheme. */
export function hashUnit(scheme: HashScheme, seed: string, value: string): number {
  switch (scheme) {
    case "growthbook-v1":
      return hashV1(seed, value);
    case "growthbook-v2":
      return hashV2(seed, value);
    case "sha256":
      return sha256Unit(seed, value);
    default:
      throw new InputError(`unknown hash scheme ${JSON.stringify(scheme)}; use "growthbook-v1", "growthbook-v2" or "sha256"`);
  }
}

function checkCoverage(coverage: number): void {
  if (typeof coverage !== "number" || !(coverage >= 0 && coverage <= 1)) throw new InputError(`coverage must be in [0, 1] (got ${String(coverage)})`);
}

/**
 * Cumulative bucket ranges [start, end) for the arms: arm i owns coverage·weight_i starting where
 * arm i−1's full weight ended (GrowthBook `getBucketRanges`), so lowering coverage shrinks every
 * arm in place instead of moving users between arms.
 */
export function bucketRanges(weights: readonly number[], coverage = 1): Array<[number, number]> {
  checkWeights(weights);
  checkCoverage(coverage);
  let cumulative = 0;
  return weights.map((w) => {
    const start = cumulative;
    cumulative += w;
    return [start, start + coverage * w] as [number, number];
  });
}

/**
 * Arm index whose range [start, end) holds the hash value, or NOT_IN_EXPERIMENT (−1) when the value
 * falls in the uncovered part (GrowthBook `chooseVariation` over cumulative ranges).
 */
export function assignVariant(hashValue: number, weights: readonly number[], coverage = 1): number {
  if (typeof hashValue !== "number" || !(hashValue >= 0 && hashValue < 1)) throw new InputError(`hash value must be in [0, 1) (got ${String(hashValue)})`);
  const ranges = bucketRanges(weights, coverage);
  for (let i = 0; i < ranges.length; i++) {
    if (hashValue >= ranges[i][0] && hashValue < ranges[i][1]) return i;
  }
  return NOT_IN_EXPERIMENT;
}

/**
 * A slice [start, end) of a mutually exclusive layer (GrowthBook "namespace"): experiments in the
 * same layer with non-overlapping ranges never share a user.
 */
export interface LayerRange {
  id: string;
  start: number;
  end: number;
}

function checkRange(r: LayerRange, what: string): void {
  if (!r || typeof r.id !== "string" || r.id === "") throw new InputError(`${what}: layer id must be a non-empty string`);
  if (!(r.start >= 0 && r.end <= 1 && r.start < r.end)) throw new InputError(`${what}: range [${String(r.start)}, ${String(r.end)}) must satisfy 0 ≤ start < end ≤ 1`);
}

/** Whether a user falls in a layer slice: hash v1 with seed "__" + layer id (GrowthBook `inNamespace`). */
export function inLayer(userId: string, layer: LayerRange): boolean {
  checkRange(layer, "layer");
  const h = hashV1(`__${layer.id}`, userId);
  return h >= layer.start && h < layer.end;
}

/**
 * Which experiment of a layer a user belongs to, given each experiment's slice of the layer; null if
 * the user's position is in no slice. Overlapping slices are rejected: they would break exclusivity.
 */
export function layerExperiment(userId: string, layerId: string, slices: ReadonlyArray<{ key: string; start: number; end: number }>): string | null {
  const sorted = [...slices].sort((a, b) => a.start - b.start);
  sorted.forEach((s, i) => {
    checkRange({ id: layerId, start: s.start, end: s.end }, `layer '${layerId}' experiment '${s.key}'`);
    if (i > 0 && s.start < sorted[i - 1].end) {
      throw new InputError(`layer '${layerId}': experiments '${sorted[i - 1].key}' and '${s.key}' have overlapping ranges, so they would not be mutually exclusive`);
    }
  });
  const h = hashV1(`__${layerId}`, userId);
  for (const s of sorted) if (h >= s.start && h < s.end) return s.key;
  return null;
}

/** A holdout group: a fixed fraction of users kept out of every experiment that names it. */
export interface Holdout {
  key: string;
  fraction: number;
}

/** Whether a user is in the holdout: hash v2 with seed "holdout:" + key below the holdout fraction. */
export function inHoldout(userId: string, holdout: Holdout): boolean {
  if (!holdout || typeof holdout.key !== "string" || holdout.key === "") throw new InputError("holdout key must be a non-empty string");
  if (!(holdout.fraction >= 0 && holdout.fraction < 1)) throw new InputError(`holdout fraction must be in [0, 1) (got ${String(holdout.fraction)})`);
  return hashV2(`holdout:${holdout.key}`, userId) < holdout.fraction;
}

/** Options of `assignUsers`. */
export interface AssignmentOptions {
  /** experiment key; the hash seed is the key (GrowthBook-compatible) or key + ":" + salt */
  key: string;
  /** re-randomizes an experiment without renaming it */
  salt?: string;
  weights: readonly number[];
  /** default "growthbook-v2" */
  scheme?: HashScheme;
  /** fraction of eligible users enrolled (default 1) */
  coverage?: number;
  /** restrict to a slice of a mutually exclusive layer */
  layer?: LayerRange;
  /** users in this holdout get IN_HOLDOUT (−2) */
  holdout?: Holdout;
}

/**
 * Assigns each user id to an arm: holdout first (−2), then layer slice and coverage (−1 when out),
 * then cumulative weight ranges. Deterministic in (ids, options); duplicate or empty ids are errors
 * because they would silently double-count users.
 */
export function assignUsers(userIds: readonly string[], opts: AssignmentOptions): Int32Array {
  if (!opts || typeof opts.key !== "string" || opts.key === "") throw new InputError("assignment: experiment key must be a non-empty string");
  const scheme = opts.scheme ?? "growthbook-v2";
  const coverage = opts.coverage ?? 1;
  const ranges = bucketRanges(opts.weights, coverage);
  if (opts.layer) checkRange(opts.layer, "assignment layer");
  const seed = opts.salt ? `${opts.key}:${opts.salt}` : opts.key;
  const out = new Int32Array(userIds.length);
  const seen = new Map<string, number>();
  for (let i = 0; i < userIds.length; i++) {
    const id = userIds[i];
    if (typeof id !== "string" || id === "") throw new InputError(`assignment: user id at index ${i} is ${JSON.stringify(id) ?? String(id)}; ids must be non-empty strings`);
    const first = seen.get(id);
    if (first !== undefined) throw new InputError(`assignment: duplicate user id ${JSON.stringify(id)} at indices ${first} and ${i}`);
    seen.set(id, i);
    if (opts.holdout && inHoldout(id, opts.holdout)) {
      out[i] = IN_HOLDOUT;
      continue;
    }
    if (opts.layer && !inLayer(id, opts.layer)) {
      out[i] = NOT_IN_EXPERIMENT;
      continue;
    }
    const h = hashUnit(scheme, seed, id);
    let arm = NOT_IN_EXPERIMENT;
    for (let a = 0; a < ranges.length; a++) {
      if (h >= ranges[a][0] && h < ranges[a][1]) {
        arm = a;
        break;
      }
    }
    out[i] = arm;
  }
  return out;
}
