import { ConfigError } from "../util/errors";

/**
 * A tiny declarative schema for YAML configs: enough to reject unknown keys (with a
 * did-you-mean), wrong types and out-of-range values with the full key path.
 */
export type FieldSpec =
  | { kind: "number"; nullable?: boolean; min?: number; max?: number; integer?: boolean }
  | { kind: "string"; nullable?: boolean; oneOf?: readonly string[] }
  | { kind: "boolean"; nullable?: boolean }
  | { kind: "array"; of: FieldSpec; nullable?: boolean; length?: number }
  | { kind: "object"; fields: Record<string, FieldSpec>; nullable?: boolean }
  /** an open object checked elsewhere (e.g. by the synthetic world's own validator) */
  | { kind: "any" }
  /** a string or a number (e.g. a cutoff given as an ISO date or unix seconds) */
  | { kind: "time"; nullable?: boolean };

/** Checks `value` against `spec`, throwing ConfigError naming `path` on the first problem. */
export function checkAgainstSpec(value: unknown, spec: FieldSpec, path: string, file?: string): void {
  const fail = (reason: string): never => {
    throw new ConfigError(path || "(root)", reason, file);
  };
  if (value === null || value === undefined) {
    if (spec.kind === "any") return;
    if ("nullable" in spec && spec.nullable) return;
    fail(`must not be null (expected ${describe(spec)})`);
  }
  switch (spec.kind) {
    case "any":
      return;
    case "number":
      if (typeof value !== "number" || Number.isNaN(value)) fail(`expected a number, got ${typeName(value)} ${JSON.stringify(value)}`);
      if (spec.integer && !Number.isInteger(value)) fail(`expected an integer, got ${value}`);
      if (spec.min !== undefined && (value as number) < spec.min) fail(`must be >= ${spec.min}, got ${value}`);
      if (spec.max !== undefined && (value as number) > spec.max) fail(`must be <= ${spec.max}, got ${value}`);
      return;
    case "string":
      if (typeof value !== "string") fail(`expected a string, got ${typeName(value)} ${JSON.stringify(value)}`);
      if (spec.oneOf && !spec.oneOf.includes(value as string)) fail(`must be one of ${spec.oneOf.join(", ")}; got '${value}'`);
      return;
    case "boolean":
      if (typeof value !== "boolean") fail(`expected true or false, got ${typeName(value)} ${JSON.stringify(value)}`);
      return;
    case "time":
      if (typeof value !== "string" && typeof value !== "number") fail(`expected an ISO date or unix seconds, got ${typeName(value)}`);
      if (typeof value === "string" && Number.isNaN(Date.parse(value))) fail(`'${value}' is not a valid ISO date/time`);
      return;
    case "array": {
      if (!Array.isArray(value)) fail(`expected a list, got ${typeName(value)}`);
      const arr = value as unknown[];
      if (spec.length !== undefined && arr.length !== spec.length) fail(`expected a list of ${spec.length} items, got ${arr.length}`);
      arr.forEach((v, i) => checkAgainstSpec(v, spec.of, `${path}[${i}]`, file));
      return;
    }
    case "object": {
      if (typeof value !== "object" || Array.isArray(value)) fail(`expected a mapping, got ${typeName(value)}`);
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const sub = spec.fields[k];
        const p = path ? `${path}.${k}` : k;
        if (!sub) {
          const hint = closest(k, Object.keys(spec.fields));
          throw new ConfigError(p, `unknown key${hint ? ` (did you mean '${hint}'?)` : ""}; allowed: ${Object.keys(spec.fields).join(", ")}`, file);
        }
        checkAgainstSpec(v, sub, p, file);
      }
      return;
    }
  }
}

function describe(spec: FieldSpec): string {
  return spec.kind === "object" ? "a mapping" : spec.kind === "array" ? "a list" : spec.kind;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "list";
  if (typeof v === "object") return "mapping";
  return typeof v;
}

/** Nearest key by edit distance (≤ 3), for "did you mean". */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 4;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}
