/**
 * Typed-array helpers for the split: a column reader without per-row work, and exact set
 * operations (distinct counts, duplicate detection, membership) over integer-valued columns.
 * Every helper is exact; a dense bitmap is used when the value range is small enough, otherwise
 * a sorted copy.
 */
import type { Duck } from "../data/duck";

/** Kinds the reader produces: INTEGER → Int32Array, DOUBLE → Float64Array. */
export type ReadKind = "i32" | "f64";
type ReadArray<K extends ReadKind> = K extends "i32" ? Int32Array : Float64Array;

/** Largest magnitude up to which every integer is exactly representable as a double. */
export const SAFE = 2 ** 53;

/**
 * Streams a query's columns straight into preallocated typed arrays (no per-row calls).
 * Each select-list expression must already have the SQL type of its kind (INTEGER for "i32",
 * DOUBLE for "f64"); the columns are matched by position. Returns null when a column holds a NULL.
 */
export async function readColumns<S extends Record<string, ReadKind>>(
  db: Pick<Duck, "conn">,
  sql: string,
  spec: S,
  expectedRows?: number,
): Promise<({ [K in keyof S]: ReadArray<S[K]> } & { length: number }) | null> {
  const names = Object.keys(spec);
  const kinds = names.map((n) => spec[n]);
  const result = await db.conn.stream(sql);
  let cap = Math.max(expectedRows ?? 0, 2048);
  let outs: (Int32Array | Float64Array)[] = kinds.map((k) => (k === "i32" ? new Int32Array(cap) : new Float64Array(cap)));
  let off = 0;
  let hasNull = false;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    if (off + n > cap) {
      cap = Math.max(off + n, cap * 2);
      outs = outs.map((o, c) => {
        const g = kinds[c] === "i32" ? new Int32Array(cap) : new Float64Array(cap);
        g.set(o.subarray(0, off) as Float64Array);
        return g;
      });
    }
    for (let c = 0; c < kinds.length; c++) {
      const vec = chunk.getColumnVector(c) as unknown as {
        items?: Int32Array | Float64Array;
        validity?: unknown;
      };
      const items = vec.items;
      // (toString rather than instanceof: the arrays may come from another realm)
      const okType = Object.prototype.toString.call(items) === (kinds[c] === "i32" ? "[object Int32Array]" : "[object Float64Array]");
      if (!items || !okType || items.length < n) throw new Error(`readColumns: column '${names[c]}' is not ${kinds[c] === "i32" ? "INTEGER" : "DOUBLE"}`);
      (outs[c] as Float64Array).set(items.subarray(0, n) as Float64Array, off);
      // The validity mask is absent (null data) when the vector holds no NULL.
      const validity = vec.validity as { data?: unknown; itemValid(i: number): boolean } | undefined;
      if (!hasNull && validity && validity.data) {
        for (let i = 0; i < n; i++) {
          if (!validity.itemValid(i)) {
            hasNull = true;
            break;
          }
        }
      }
    }
    off += n;
  }
  if (hasNull) return null;
  const out: Record<string, Int32Array | Float64Array> = {};
  names.forEach((name, c) => {
    out[name] = outs[c].length === off ? outs[c] : outs[c].slice(0, off);
  });
  return Object.assign(out, { length: off }) as unknown as { [K in keyof S]: ReadArray<S[K]> } & { length: number };
}

/** A single BIGINT/INTEGER scalar (e.g. a count) via any connection. */
export async function scalarOn(db: Pick<Duck, "conn">, sql: string): Promise<number> {
  const rows = (await db.conn.runAndReadAll(sql)).getRows();
  return Number(rows[0][0]);
}

/** True when every value is an integer of magnitude below 2^53 (so doubles compare exactly). */
export function allSafeIntegers(a: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (!(v > -SAFE && v < SAFE) || Math.floor(v) !== v) return false;
  }
  return true;
}

/** Min and max of an integer-valued array (NaN/NaN when empty). */
export function minMax(a: Int32Array | Float64Array): { lo: number; hi: number } {
  let lo = a.length ? a[0] : Infinity;
  let hi = lo;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return a.length ? { lo, hi } : { lo: NaN, hi: NaN };
}

/** A dense bitmap is used for value ranges up to this many bits times the rows (plus a floor). */
export function bitmapFits(range: number, rows: number): boolean {
  return range <= Math.max(1 << 24, 16 * rows) && range <= 2 ** 31;
}

/** A set over integer values, backed by a bitmap over [lo, hi]. Bulk methods keep the hot loops local. */
export class IntBitset {
  readonly words: Uint32Array;
  constructor(
    readonly lo: number,
    readonly hi: number,
  ) {
    this.words = new Uint32Array(Math.floor((hi - lo) / 32) + 1);
  }
  /** Sets v; returns false when it was already set. */
  add(v: number): boolean {
    const b = v - this.lo;
    const w = b >>> 5;
    const m = 1 << (b & 31);
    if (this.words[w] & m) return false;
    this.words[w] |= m;
    return true;
  }
  has(v: number): boolean {
    if (v < this.lo || v > this.hi) return false;
    const b = v - this.lo;
    return (this.words[b >>> 5] & (1 << (b & 31))) !== 0;
  }
  /** Adds the values (of the rows selected by `mask`); returns how many were new. Values must lie in [lo, hi]. */
  addAll(a: Int32Array | Float64Array, mask?: Uint8Array): number {
    const words = this.words;
    const lo = this.lo;
    let added = 0;
    for (let i = 0; i < a.length; i++) {
      if (mask && !mask[i]) continue;
      const b = a[i] - lo;
      const w = b >>> 5;
      const m = 1 << (b & 31);
      if ((words[w] & m) === 0) {
        words[w] |= m;
        added++;
      }
    }
    return added;
  }
  /** Adds the values; returns how many were already present (duplicates, counting repeats). */
  addAllCountingRepeats(a: Int32Array | Float64Array): number {
    const words = this.words;
    const lo = this.lo;
    let repeats = 0;
    for (let i = 0; i < a.length; i++) {
      const b = a[i] - lo;
      const w = b >>> 5;
      const m = 1 << (b & 31);
      if (words[w] & m) repeats++;
      else words[w] |= m;
    }
    return repeats;
  }
  /** Whether every value of `a` is in the set. */
  hasAll(a: Int32Array | Float64Array): boolean {
    const words = this.words;
    const lo = this.lo;
    const hi = this.hi;
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v < lo || v > hi) return false;
      const b = v - lo;
      if ((words[b >>> 5] & (1 << (b & 31))) === 0) return false;
    }
    return true;
  }
  /** Number of distinct values of `a` not in this set; `seen` is a cleared set covering the values of `a`. */
  countNotIn(a: Int32Array | Float64Array, seen: IntBitset): number {
    const words = this.words;
    const lo = this.lo;
    const hi = this.hi;
    const sw = seen.words;
    const slo = seen.lo;
    let d = 0;
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v >= lo && v <= hi) {
        const b = v - lo;
        if (words[b >>> 5] & (1 << (b & 31))) continue;
      }
      const c = v - slo;
      const m = 1 << (c & 31);
      if ((sw[c >>> 5] & m) === 0) {
        sw[c >>> 5] |= m;
        d++;
      }
    }
    return d;
  }
}

/**
 * Exact check that event indices fed part by part are pairwise distinct (`disjoint`) and form the
 * same set as `input` (`union`), with bitmaps over the input's range. A value outside that range
 * makes both verdicts false (the SQL checks then decide and name the offenders).
 */
export class EventSetCheck {
  private readonly inputSet: IntBitset;
  private readonly seen: IntBitset;
  private readonly inputDistinct: number;
  private partDistinct = 0;
  private repeats = 0;
  private outside = false;
  private constructor(input: Float64Array, lo: number, hi: number) {
    this.inputSet = new IntBitset(lo, hi);
    this.inputDistinct = this.inputSet.addAll(input);
    this.seen = new IntBitset(lo, hi);
  }
  /** Null when the input's range is too sparse for a bitmap. */
  static create(input: Float64Array): EventSetCheck | null {
    if (input.length === 0) return new EventSetCheck(input, 0, 0);
    const { lo, hi } = minMax(input);
    return bitmapFits(hi - lo + 1, input.length) ? new EventSetCheck(input, lo, hi) : null;
  }
  addPart(idx: Float64Array): void {
    const inW = this.inputSet.words;
    const seenW = this.seen.words;
    const lo = this.inputSet.lo;
    const hi = this.inputSet.hi;
    let added = 0;
    let repeats = 0;
    for (let i = 0; i < idx.length; i++) {
      const v = idx[i];
      if (v < lo || v > hi) {
        this.outside = true;
        continue;
      }
      const b = v - lo;
      const w = b >>> 5;
      const m = 1 << (b & 31);
      if ((inW[w] & m) === 0) this.outside = true;
      if (seenW[w] & m) repeats++;
      else {
        seenW[w] |= m;
        added++;
      }
    }
    this.partDistinct += added;
    this.repeats += repeats;
  }
  verdict(): { disjoint: boolean; union: boolean } {
    return { disjoint: !this.outside && this.repeats === 0, union: !this.outside && this.partDistinct === this.inputDistinct };
  }
}

/** Bitset covering the values of all arrays, or null when the range is too large for a bitmap. */
export function bitsetFor(arrays: (Int32Array | Float64Array)[]): IntBitset | null {
  let lo = Infinity;
  let hi = -Infinity;
  let rows = 0;
  for (const a of arrays) {
    if (!a.length) continue;
    const m = minMax(a);
    lo = Math.min(lo, m.lo);
    hi = Math.max(hi, m.hi);
    rows += a.length;
  }
  if (rows === 0) return new IntBitset(0, 0);
  return bitmapFits(hi - lo + 1, rows) ? new IntBitset(lo, hi) : null;
}

/** Sorted copy of the selected values (all when `mask` is absent). */
function sortedCopy(a: Int32Array | Float64Array, mask?: Uint8Array): Float64Array {
  let n = 0;
  if (mask) {
    for (let i = 0; i < a.length; i++) if (mask[i]) n++;
  } else n = a.length;
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < a.length; i++) if (!mask || mask[i]) out[k++] = a[i];
  return out.sort();
}

/** Number of distinct values among the rows selected by `mask` (all rows without one). Values must be safe integers. */
export function countDistinct(a: Int32Array | Float64Array, mask?: Uint8Array): number {
  const bs = bitsetFor([a]);
  if (bs) return bs.addAll(a, mask);
  let d = 0;
  const s = sortedCopy(a, mask);
  for (let i = 0; i < s.length; i++) if (i === 0 || s[i] !== s[i - 1]) d++;
  return d;
}

/** True when no value occurs twice across the arrays (values must be safe integers). */
export function allDistinct(arrays: (Int32Array | Float64Array)[]): boolean {
  const bs = bitsetFor(arrays);
  if (bs) {
    for (const a of arrays) if (bs.addAllCountingRepeats(a) > 0) return false;
    return true;
  }
  let n = 0;
  for (const a of arrays) n += a.length;
  const all = new Float64Array(n);
  let k = 0;
  for (const a of arrays) {
    all.set(a as Float64Array, k);
    k += a.length;
  }
  all.sort();
  for (let i = 1; i < n; i++) if (all[i] === all[i - 1]) return false;
  return true;
}

/**
 * Over event indices: whether no value occurs twice across `parts` (`disjoint`), and — when
 * `input` is given — whether the set of values of `parts` equals the set of values of `input`
 * (`union`). Values must be safe integers.
 */
export function disjointUnion(parts: Float64Array[], input: Float64Array | null, partRanges?: { lo: number; hi: number }[]): { disjoint: boolean; union: boolean | null } {
  let bs: IntBitset | null;
  if (partRanges) {
    // ranges of the parts are known: only the input needs a pass
    let lo = Infinity;
    let hi = -Infinity;
    let rows = input ? input.length : 0;
    for (let p = 0; p < parts.length; p++) {
      rows += parts[p].length;
      if (!parts[p].length) continue;
      lo = Math.min(lo, partRanges[p].lo);
      hi = Math.max(hi, partRanges[p].hi);
    }
    if (input && input.length) {
      const m = minMax(input);
      lo = Math.min(lo, m.lo);
      hi = Math.max(hi, m.hi);
    }
    bs = lo === Infinity ? new IntBitset(0, 0) : bitmapFits(hi - lo + 1, rows) ? new IntBitset(lo, hi) : null;
  } else bs = bitsetFor(input ? [...parts, input] : parts);
  if (!bs) return { disjoint: allDistinct(parts), union: input ? sameSetSorted(parts, input) : null };
  let repeats = 0;
  let partRows = 0;
  for (const a of parts) {
    repeats += bs.addAllCountingRepeats(a);
    partRows += a.length;
  }
  if (!input) return { disjoint: repeats === 0, union: null };
  // The parts' set equals the input's iff every input value is in it and both have as many distinct values.
  const inputSet = new IntBitset(bs.lo, bs.hi);
  const inputDistinct = inputSet.addAll(input);
  return { disjoint: repeats === 0, union: bs.hasAll(input) && partRows - repeats === inputDistinct };
}

/** Set equality by sorting (for value ranges too sparse for a bitmap). */
function sameSetSorted(a: Float64Array[], b: Float64Array): boolean {
  const uniq = (arrs: Float64Array[]) => {
    let n = 0;
    for (const x of arrs) n += x.length;
    const all = new Float64Array(n);
    let k = 0;
    for (const x of arrs) {
      all.set(x, k);
      k += x.length;
    }
    all.sort();
    let m = 0;
    for (let i = 0; i < n; i++) if (i === 0 || all[i] !== all[i - 1]) all[m++] = all[i];
    return all.subarray(0, m);
  };
  const ua = uniq(a);
  const ub = uniq([b]);
  if (ua.length !== ub.length) return false;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/**
 * Dense ids for integer values: `dense[i]` is the rank of `a[i]` among the distinct values
 * (so dense ids follow the value order), `count` the number of distinct values.
 */
export function denseIds(a: Int32Array): { dense: Int32Array; count: number } {
  const dense = new Int32Array(a.length);
  if (a.length === 0) return { dense, count: 0 };
  const { lo, hi } = minMax(a);
  if (bitmapFits(hi - lo + 1, a.length)) {
    const map = new Int32Array(hi - lo + 1).fill(-1);
    for (let i = 0; i < a.length; i++) map[a[i] - lo] = 0;
    let count = 0;
    for (let v = 0; v < map.length; v++) if (map[v] === 0) map[v] = count++;
    for (let i = 0; i < a.length; i++) dense[i] = map[a[i] - lo];
    return { dense, count };
  }
  const s = Int32Array.from(a).sort();
  let m = 0;
  for (let i = 0; i < s.length; i++) if (i === 0 || s[i] !== s[i - 1]) s[m++] = s[i];
  const u = s.subarray(0, m);
  for (let i = 0; i < a.length; i++) {
    let l = 0;
    let h = m - 1;
    const v = a[i];
    while (l < h) {
      const mid = (l + h) >>> 1;
      if (u[mid] < v) l = mid + 1;
      else h = mid;
    }
    dense[i] = l;
  }
  return { dense, count: m };
}

/**
 * The k-th smallest (1-based) of `values` in the order (value, index): returns the value `v` and
 * how many rows with value exactly `v` (in index order) belong to the k smallest. `scratch` is
 * overwritten. Requires 1 ≤ k ≤ values.length and no NaN.
 */
export function kthThreshold(values: Float64Array, k: number, scratch: Float64Array): { v: number; ties: number } {
  const n = values.length;
  scratch.set(values);
  const a = scratch.subarray(0, n);
  let v: number;
  if (n <= 4096) {
    a.sort();
    v = a[k - 1];
  } else v = quickselect(a, k - 1);
  let less = 0;
  for (let i = 0; i < n; i++) if (values[i] < v) less++;
  return { v, ties: k - less };
}

/** In-place selection of the element of rank `k` (0-based) in ascending numeric order. */
function quickselect(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    if (hi - lo < 64) {
      a.subarray(lo, hi + 1).sort();
      return a[k];
    }
    // Median of three as the pivot, then a three-way partition (robust to repeated values).
    const mid = (lo + hi) >>> 1;
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const e = a[i];
      if (e < pivot) {
        a[i] = a[lt];
        a[lt] = e;
        lt++;
        i++;
      } else if (e > pivot) {
        a[i] = a[gt];
        a[gt] = e;
        gt--;
      } else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return pivot;
  }
  return a[k];
}
