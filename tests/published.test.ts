import { describe, expect, it } from "vitest";
import * as path from "node:path";
import { compareWithPublished, PUBLISHED_BENCHMARKS } from "../src/eval/published";
import { loadConfig } from "../src/pipeline/config";

const ROOT = path.resolve(__dirname, "..");
const summary = (mean: number, lower: number, upper: number) => ({ mean, percentile: { lower, upper } });

describe("published benchmarks", () => {
  it("each names a config that loads and implements the stated protocol", () => {
    const recbole = loadConfig(path.join(ROOT, "configs/ml-1m-recbole.yaml")).config;
    expect(recbole.dataset.movielens.variant).toBe("ml-1m");
    expect(recbole.split).toMatchObject({ strategy: "random", min_rating: 3, kcore: { users: 10, items: 10 }, fractions: { train: 0.8, val: 0.1, test: 0.1 }, random: { group_by_user: true } });
    expect(recbole.evaluate.ks).toContain(10);
    const liang = loadConfig(path.join(ROOT, "configs/ml-20m-liang.yaml")).config;
    expect(liang.dataset.movielens.variant).toBe("ml-20m");
    expect(liang.split).toMatchObject({ strategy: "strong_generalization", min_rating: 4, kcore: { users: 5 }, heldout: { users: 10000, fold_in: 0.8, foldin_order: "random" } });
    expect(liang.evaluate.ks).toEqual(expect.arrayContaining([20, 50, 100]));
    for (const b of PUBLISHED_BENCHMARKS) {
      const cfg = loadConfig(path.join(ROOT, b.config)).config;
      // every published model is fitted and every published metric's K is evaluated
      for (const [model, metrics] of Object.entries(b.results)) {
        expect(cfg.embeddings.models, `${b.id} ${model}`).toContain(model);
        for (const m of Object.keys(metrics)) expect(cfg.evaluate.ks, `${b.id} ${m}`).toContain(Number(m.split("@")[1]));
      }
    }
  });

  it("compares the test part of a report: differences, CI containment and missing rows", () => {
    const bench = PUBLISHED_BENCHMARKS.find((b) => b.id === "recbole-ml-1m")!;
    const report = {
      val: { comparison: { metrics: { "ndcg@10": { models: { ease: summary(0.9, 0.8, 1) } } } } },
      test: {
        comparison: {
          metrics: {
            "ndcg@10": { models: { ease: summary(0.28, 0.27, 0.29), itemknn: summary(0.2, 0.19, 0.21) } },
            "recall@10": { models: { ease: summary(0.22, 0.215, 0.225) } },
          },
        },
      },
    };
    const rows = compareWithPublished(report, bench);
    expect(rows).toHaveLength(8);
    const ease = rows.find((r) => r.model === "ease" && r.metric === "ndcg@10")!;
    expect(ease.ours).toBe(0.28);
    expect(ease.difference).toBeCloseTo(0.28 - 0.2865, 12);
    expect(ease.relative_difference).toBeCloseTo(0.28 / 0.2865 - 1, 12);
    expect(ease.published_in_ci).toBe(true);
    const easeRecall = rows.find((r) => r.model === "ease" && r.metric === "recall@10")!;
    expect(easeRecall.published_in_ci).toBe(false);
    const knn = rows.find((r) => r.model === "itemknn" && r.metric === "ndcg@10")!;
    expect(knn.published_in_ci).toBe(false);
    const missing = rows.find((r) => r.model === "bpr" && r.metric === "ndcg@10")!;
    expect(missing).toMatchObject({ ours: null, difference: null, published_in_ci: null });
  });
});
