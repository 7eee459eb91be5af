/** One measured benchmark figure. */
export interface BenchRecord {
  /** e.g. "graph.build.1M_events" */
  name: string;
  value: number;
  unit: "s" | "ms" | "MB" | "GFLOP/s" | "events/s" | "count";
  /** the target this figure is checked against, same unit */
  target?: number;
  /** "max": value must be ≤ target; "min": ≥ target */
  direction?: "max" | "min";
  details?: Record<string, unknown>;
}

/** A benchmark module: `scripts/bench/<area>.bench.ts` exports `bench`. */
export type BenchFn = (opts: { quick: boolean; log: (msg: string) => void }) => Promise<BenchRecord[]>;

/** Peak resident set size of this process so far (VmHWM), in MB; includes DuckDB's native memory. */
export function peakRssMb(): number {
  try {
    const s = require("node:fs").readFileSync("/proc/self/status", "utf8") as string;
    const m = /VmHWM:\s+(\d+) kB/.exec(s);
    if (m) return Number(m[1]) / 1024;
  } catch {
    /* not Linux */
  }
  return process.memoryUsage().rss / 1024 / 1024;
}

/** Seconds taken by `fn`. */
export async function timeIt<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  const v = await fn();
  return [v, Number(process.hrtime.bigint() - t0) / 1e9];
}
