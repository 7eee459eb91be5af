/**
 * Evaluation benchmark: every full-catalogue ranking metric at five cutoffs for 6,000 users ×
 * K = 100 over a 10,000-item catalogue (target < 1 s), plus the beyond-accuracy measures and a
 * paired comparison of two models (bootstrap CIs, t and Wilcoxon) for context.
 */
import type { CsrMatrix } from "../../src/data/csr";
import { beyondAccuracy } from "../../src/eval/beyond-accuracy";
import { compareModels } from "../../src/eval/compare";
import { rankingMetrics } from "../../src/eval/ranking-metrics";
import type { TopK } from "../../src/taste/recommender";
import { Rng } from "../../src/util/rng";
import { timeIt, type BenchFn, type BenchRecord } from "./types";

/** Random top-K lists where item i is drawn with a Zipf-ish bias, distinct per row. */
function lists(rng: Rng, users: number, nItems: number, k: number): TopK {
  const items = new Int32Array(users * k);
  const scores = new Float32Array(users * k);
  const mark = new Int32Array(nItems).fill(-1);
  for (let u = 0; u < users; u++) {
    for (let i = 0; i < k; i++) {
      let it: number;
      do it = Math.floor(nItems * rng.uniform() ** 2);
      while (mark[it] === u);
      mark[it] = u;
      items[u * k + i] = it;
      scores[u * k + i] = k - i;
    }
  }
  return { rows: Int32Array.from({ length: users }, (_, u) => u), k, items, scores };
}

/** Random relevant sets of 1..60 items with grades 1..5. */
function relevant(rng: Rng, users: number, nItems: number): CsrMatrix {
  const indptr = new Int32Array(users + 1);
  const idx: number[] = [];
  const val: number[] = [];
  for (let u = 0; u < users; u++) {
    const n = 1 + rng.int(60);
    const set = new Set<number>();
    while (set.size < n) set.add(Math.floor(nItems * rng.uniform() ** 2));
    for (const it of [...set].sort((a, b) => a - b)) {
      idx.push(it);
      val.push(1 + rng.int(5));
    }
    indptr[u + 1] = idx.length;
  }
  return { nRows: users, nCols: nItems, indptr, indices: Int32Array.from(idx), values: Float32Array.from(val) };
}

export const bench: BenchFn = async ({ quick, log }) => {
  const users = 6000;
  const nItems = 10000;
  const K = 100;
  const ks = [5, 10, 20, 50, 100];
  const rng = new Rng("eval-bench");
  const a = lists(rng.fork("a"), users, nItems, K);
  const b = lists(rng.fork("b"), users, nItems, K);
  const rel = relevant(rng.fork("rel"), users, nItems);
  const train = relevant(rng.fork("train"), users, nItems);
  log(`${users} users × K=${K}, ${nItems} items, ${rel.indices.length} relevant pairs`);

  rankingMetrics(a, rel, { ks }); // warm-up (JIT)
  const reps = quick ? 3 : 10;
  const times: number[] = [];
  let res = rankingMetrics(a, rel, { ks });
  for (let r = 0; r < reps; r++) {
    const [out, s] = await timeIt(() => rankingMetrics(a, rel, { ks }));
    res = out;
    times.push(s);
  }
  times.sort((x, y) => x - y);
  const median = times[Math.floor(times.length / 2)];
  log(`all metrics: median ${(median * 1000).toFixed(1)} ms over ${reps} runs; ndcg@10 = ${res.mean["ndcg@10"].toFixed(4)}`);
  const resB = rankingMetrics(b, rel, { ks });

  const [, beyondS] = await timeIt(() => beyondAccuracy(a, { train }));
  const nBoot = quick ? 200 : 1000;
  const [, cmpS] = await timeIt(() =>
    compareModels(
      [
        { name: "a", metrics: res },
        { name: "b", metrics: resB },
      ],
      { metrics: ["ndcg@10", "recall@20"], nBoot, seed: 1 },
    ),
  );
  const records: BenchRecord[] = [
    {
      name: "eval.ranking_metrics.6k_users_k100",
      value: median,
      unit: "s",
      target: 1,
      direction: "max",
      details: { users, k: K, cutoffs: ks, metrics: res.metrics.length, items: nItems, runs: reps, min_s: times[0], max_s: times[times.length - 1] },
    },
    { name: "eval.beyond_accuracy.6k_users_k100", value: beyondS, unit: "s", details: { users, k: K } },
    { name: "eval.compare.2_models_2_metrics", value: cmpS, unit: "s", details: { users, n_boot: nBoot } },
  ];
  return records;
};
