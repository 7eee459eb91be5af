/**
 * Published reference results and the protocols that produced them, and a comparison of an NTG
 * evaluation report against them. The numbers are quoted from their sources; the protocol is what
 * a config must reproduce for the comparison to mean anything (configs/ml-1m-recbole.yaml,
 * configs/ml-20m-liang.yaml, run by scripts/reproduce-published.ts).
 */

/** One published benchmark: dataset, protocol, and metric values per model. */
export interface PublishedBenchmark {
  /** identifier, also the results file name */
  id: string;
  dataset: "ml-1m" | "ml-20m";
  /** NTG config that implements the protocol */
  config: string;
  protocol: string;
  source: string;
  /** model kind (NTG registry name) → NTG metric name → published value */
  results: Record<string, Record<string, number>>;
}

/** The published figures the ranking issue asks NTG to reach. */
export const PUBLISHED_BENCHMARKS: readonly PublishedBenchmark[] = [
  {
    id: "recbole-ml-1m",
    dataset: "ml-1m",
    config: "configs/ml-1m-recbole.yaml",
    protocol: "ratings >= 3 as positives; users and items with >= 10 interactions; random 80/10/10 split per user; full ranking over all items; test metrics",
    source: "RecBole general-recommendation benchmark on ML-1M (recbole.io, results/ml-1m), as quoted in NTG issue #3",
    results: {
      ease: { "ndcg@10": 0.2865, "recall@10": 0.2139 },
      itemknn: { "ndcg@10": 0.2389, "recall@10": 0.1723 },
      bpr: { "ndcg@10": 0.2407, "recall@10": 0.1725 },
      popularity: { "ndcg@10": 0.1006, "recall@10": 0.0699 },
    },
  },
  {
    id: "liang-ml-20m",
    dataset: "ml-20m",
    config: "configs/ml-20m-liang.yaml",
    protocol:
      "ratings >= 4 (> 3.5) as positives; users with >= 5 positives; strong generalization with 10,000 validation and 10,000 test users, 80% of each held-out user's items folded in at random; Recall@K = hits / min(K, |held-out|)",
    source: "Liang et al. 2018 (Variational Autoencoders for Collaborative Filtering) protocol; EASE figures from Steck 2019 (Embarrassingly Shallow Autoencoders for Sparse Data)",
    // Liang's Recall@K divides by min(K, |relevant|): NTG's recall_capped
    results: { ease: { "recall_capped@20": 0.391, "recall_capped@50": 0.521, "ndcg@100": 0.42 } },
  },
];

/** A metric summary as written by the evaluate stage (mean and percentile bootstrap CI). */
interface MetricSummary {
  mean: number;
  percentile: { lower: number; upper: number };
}

/** One row of a comparison with a published figure. */
export interface PublishedComparisonRow {
  model: string;
  metric: string;
  published: number;
  ours: number | null;
  lower: number | null;
  upper: number | null;
  /** ours − published */
  difference: number | null;
  /** ours / published − 1 */
  relative_difference: number | null;
  /** whether the published value lies inside our 95% CI */
  published_in_ci: boolean | null;
}

/**
 * Compares the test part of an evaluate report (`outputs/reports/ranking_metrics.json`) with a
 * published benchmark. Rows whose model or metric the report lacks have `ours: null`.
 */
export function compareWithPublished(report: unknown, bench: PublishedBenchmark): PublishedComparisonRow[] {
  const metrics = (report as { test?: { comparison?: { metrics?: Record<string, { models?: Record<string, MetricSummary> }> } } }).test?.comparison?.metrics ?? {};
  const rows: PublishedComparisonRow[] = [];
  for (const [model, byMetric] of Object.entries(bench.results)) {
    for (const [metric, published] of Object.entries(byMetric)) {
      const s = metrics[metric]?.models?.[model];
      if (!s) {
        rows.push({ model, metric, published, ours: null, lower: null, upper: null, difference: null, relative_difference: null, published_in_ci: null });
        continue;
      }
      rows.push({
        model,
        metric,
        published,
        ours: s.mean,
        lower: s.percentile.lower,
        upper: s.percentile.upper,
        difference: s.mean - published,
        relative_difference: s.mean / published - 1,
        published_in_ci: published >= s.percentile.lower && published <= s.percentile.upper,
      });
    }
  }
  return rows;
}
