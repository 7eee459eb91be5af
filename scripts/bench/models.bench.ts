/**
 * Benchmarks of the taste models (`npx tsx scripts/bench/run.ts models`):
 *   - iALS: one full iteration (users + items half-steps) on 1M events × 64 factors (target < 0.5 s);
 *   - EASE: fit on 3,700 items (target < 20 s), with the GFLOP/s of the blocked Cholesky kernel;
 *   - batch top-100 for every user of a 6,000 × 3,700 dataset (target < 3 s) for the factor and
 *     item–item scorers.
 * Data are generated here: seeded, Zipf-like item popularity and user activity (MovieLens-1M-like
 * shape), distinct user–item pairs in CSR form.
 * Wall times depend on what else the 2-core machine runs, so each timing also records the process
 * CPU seconds (all threads) and the 1-minute load average.
 */
import * as os from "node:os";
import type { CsrMatrix } from "../../src/data/csr";
import { Rng } from "../../src/util/rng";
import { choleskyFlops, invertSpdFlops } from "../../src/taste/linalg/cholesky";
import { getThreads, warmPool } from "../../src/taste/linalg/pool";
import { Ease, type EaseFitTimings } from "../../src/taste/models/ease";
import { Ials } from "../../src/taste/models/ials";
import { peakRssMb, timeIt, type BenchFn, type BenchRecord } from "./types";

/**
 * A seeded user × item matrix with exactly `nnz` distinct entries: user activity and item
 * popularity both follow Zipf-like laws (rank^−s), each user's items drawn without replacement in
 * proportion to popularity. Values are 1.
 */
export function zipfMatrix(nUsers: number, nItems: number, nnz: number, seed = 7, userS = 0.6, itemS = 0.9): CsrMatrix {
  const rng = new Rng(seed);
  // user activity: a permuted Zipf profile scaled to nnz, each user in [5, nItems/2]
  const w = new Float64Array(nUsers);
  let tw = 0;
  for (let u = 0; u < nUsers; u++) tw += w[u] = Math.pow(u + 1, -userS);
  rng.shuffle(w);
  const len = new Int32Array(nUsers);
  let total = 0;
  const cap = Math.floor(nItems / 2);
  for (let u = 0; u < nUsers; u++) total += len[u] = Math.min(cap, Math.max(5, Math.round((w[u] / tw) * nnz)));
  // fix the total exactly by nudging random users
  while (total !== nnz) {
    const u = rng.int(nUsers);
    if (total < nnz && len[u] < cap) {
      len[u]++;
      total++;
    } else if (total > nnz && len[u] > 5) {
      len[u]--;
      total--;
    }
  }
  // item popularity CDF over a permuted Zipf profile
  const pop = new Float64Array(nItems);
  for (let i = 0; i < nItems; i++) pop[i] = Math.pow(i + 1, -itemS);
  rng.shuffle(pop);
  const cdf = new Float64Array(nItems);
  let acc = 0;
  for (let i = 0; i < nItems; i++) cdf[i] = acc += pop[i];
  const indptr = new Int32Array(nUsers + 1);
  const indices = new Int32Array(nnz);
  const mark = new Int32Array(nItems).fill(-1);
  let p = 0;
  for (let u = 0; u < nUsers; u++) {
    const start = p;
    let got = 0;
    let tries = 0;
    while (got < len[u]) {
      let item: number;
      if (tries++ < 20 * len[u]) {
        const x = rng.uniform() * acc;
        let lo = 0;
        let hi = nItems - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cdf[mid] < x) lo = mid + 1;
          else hi = mid;
        }
        item = lo;
      } else {
        item = rng.int(nItems); // heavy users: finish uniformly
      }
      if (mark[item] === u) continue;
      mark[item] = u;
      indices[p++] = item;
      got++;
    }
    indices.subarray(start, p).sort();
    indptr[u + 1] = p;
  }
  return { nRows: nUsers, nCols: nItems, indptr, indices, values: new Float32Array(nnz).fill(1) };
}

/** Process CPU seconds so far (all threads: the pool's workers included). */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** [wall seconds, CPU seconds] of a synchronous call. */
function timed(fn: () => unknown): [number, number] {
  const c = cpuSeconds();
  const t = performance.now();
  fn();
  return [(performance.now() - t) / 1000, cpuSeconds() - c];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The models benchmark (see the module comment); `quick` shrinks the data and drops the targets. */
export const bench: BenchFn = async ({ quick, log }) => {
  const records: BenchRecord[] = [];
  const threads = getThreads();
  const [workers, warm] = await timeIt(() => warmPool());
  records.push({ name: "models.pool.warmup", value: warm, unit: "s", details: { threads, workers } });

  // ML-1M-like shape: 6,040 users × 3,706 items, 1M distinct events
  const nUsers = quick ? 2000 : 6040;
  const nItems = quick ? 1200 : 3706;
  const nnz = quick ? 150_000 : 1_000_000;
  const [X, genS] = await timeIt(() => zipfMatrix(nUsers, nItems, nnz));
  log(`data: ${nUsers} users × ${nItems} items, ${nnz} events (${genS.toFixed(2)} s to generate)`);
  const shape = { users: nUsers, items: nItems, events: nnz, threads };
  const allUsers = Int32Array.from({ length: nUsers }, (_, u) => u);

  // iALS: per-iteration wall time from the progress callback; the median drops JIT warm-up
  const iters = quick ? 3 : 5;
  const marks: number[] = [];
  const cpuMarks: number[] = [];
  const ials = new Ials({ factors: 64, iterations: iters });
  const load0 = os.loadavg()[0];
  const t0 = performance.now();
  const c0 = cpuSeconds();
  await ials.fit(X, {
    onProgress: () => {
      marks.push(performance.now());
      cpuMarks.push(cpuSeconds());
    },
  });
  const per = marks.map((t, i) => (t - (i === 0 ? t0 : marks[i - 1])) / 1000);
  const perCpu = cpuMarks.map((c, i) => c - (i === 0 ? c0 : cpuMarks[i - 1]));
  log(`iALS iterations (s): ${per.map((x) => x.toFixed(3)).join(", ")}; CPU s (all threads): ${perCpu.map((x) => x.toFixed(3)).join(", ")}; load average ${load0.toFixed(1)}`);
  records.push({
    name: quick ? "models.ials.iteration_150k_64f" : "models.ials.iteration_1M_64f",
    value: median(per),
    unit: "s",
    ...(quick ? {} : { target: 0.5, direction: "max" as const }),
    details: { ...shape, factors: 64, cgSteps: ials.config.cgSteps, iterations_s: per, first_iteration_s: per[0], iteration_cpu_s: perCpu, load_average_1m: load0 },
  });

  // batch top-100 for every user, factor scorer (iALS, 64 factors), training items excluded
  const [topIals, topIalsCpu] = timed(() => ials.recommend(allUsers, 100, { exclude: X }));
  const [topIals2, topIalsCpu2] = timed(() => ials.recommend(allUsers, 100, { exclude: X }));
  records.push({
    name: quick ? "models.topk100.ials_2000x1200" : "models.topk100.ials_6000x3700",
    value: Math.min(topIals, topIals2),
    unit: "s",
    ...(quick ? {} : { target: 3, direction: "max" as const }),
    details: { ...shape, factors: 64, runs_s: [topIals, topIals2], runs_cpu_s: [topIalsCpu, topIalsCpu2], load_average_1m: os.loadavg()[0] },
  });

  // EASE on the full catalogue
  const ease = new Ease({ lambda: 500 });
  const easeCpu0 = cpuSeconds();
  const [, easeS] = await timeIt(() => ease.fit(X));
  const easeCpu = cpuSeconds() - easeCpu0;
  const t = ease.lastFitTimings as EaseFitTimings;
  log(`EASE phases (s): ${JSON.stringify(t)}`);
  records.push({
    name: quick ? "models.ease.fit_1200_items" : "models.ease.fit_3700_items",
    value: easeS,
    unit: "s",
    ...(quick ? {} : { target: 20, direction: "max" as const }),
    details: { ...shape, phases_s: t, cpu_s: easeCpu, load_average_1m: os.loadavg()[0] },
  });
  records.push({ name: "models.ease.cholesky_gflops", value: choleskyFlops(nItems) / 1e9 / t.cholesky, unit: "GFLOP/s", details: { n: nItems, flops: choleskyFlops(nItems), seconds: t.cholesky } });
  records.push({
    name: "models.ease.inverse_gflops",
    value: invertSpdFlops(nItems) / 1e9 / (t.cholesky + t.triangular + t.product),
    unit: "GFLOP/s",
    details: { n: nItems, flops: invertSpdFlops(nItems), seconds: t.cholesky + t.triangular + t.product },
  });

  // batch top-100 for every user, item–item scorer (EASE)
  const [topEase, topEaseCpu] = timed(() => ease.recommend(allUsers, 100, { exclude: X }));
  const [topEase2, topEaseCpu2] = timed(() => ease.recommend(allUsers, 100, { exclude: X }));
  records.push({
    name: quick ? "models.topk100.ease_2000x1200" : "models.topk100.ease_6000x3700",
    value: Math.min(topEase, topEase2),
    unit: "s",
    ...(quick ? {} : { target: 3, direction: "max" as const }),
    details: { ...shape, runs_s: [topEase, topEase2], runs_cpu_s: [topEaseCpu, topEaseCpu2], load_average_1m: os.loadavg()[0] },
  });
  records.push({ name: "models.peak_rss", value: peakRssMb(), unit: "MB" });
  return records;
};
