/**
 * Deterministic JSON: object keys sorted, numbers rounded to a fixed number of significant
 * digits, bigints written as numbers when safe (else strings), non-finite numbers as null.
 * Same value in → byte-identical text out, which is what makes manifests and results diffable.
 */
export interface StableJsonOptions {
  /** significant digits kept for non-integer numbers (default 10) */
  digits?: number;
  /** indentation (default 2) */
  indent?: number;
}

/** Normalises a value into plain, key-sorted, rounded JSON data. */
export function normalizeForJson(value: unknown, digits = 10): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return roundNumber(value, digits);
  if (typeof value === "bigint") {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
  }
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (value instanceof Date) return value.toISOString();
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, (v) => normalizeForJson(v, digits));
  }
  if (Array.isArray(value)) return value.map((v) => normalizeForJson(v, digits));
  if (value instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, v] of value) o[String(k)] = v;
    return normalizeForJson(o, digits);
  }
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as object).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined || typeof v === "function") continue;
      out[k] = normalizeForJson(v, digits);
    }
    return out;
  }
  return String(value);
}

/** Rounds to `digits` significant digits; integers pass unchanged; NaN/±Infinity → null. */
export function roundNumber(x: number, digits = 10): number | null {
  if (!Number.isFinite(x)) return null;
  if (Number.isInteger(x)) return x;
  const r = Number(x.toPrecision(digits));
  return Object.is(r, -0) ? 0 : r;
}

/** Stable, pretty JSON text with a trailing newline. */
export function stableStringify(value: unknown, opts: StableJsonOptions = {}): string {
  return `${JSON.stringify(normalizeForJson(value, opts.digits ?? 10), null, opts.indent ?? 2)}\n`;
}
