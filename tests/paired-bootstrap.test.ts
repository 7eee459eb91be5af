import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { compareModels, RANKING_METRICS_FILE, writeComparison, type NamedRun } from "../src/eval/compare";
import { bootstrapMean, pairedBootstrap, pairedTTest, wilcoxonSignedRank } from "../src/eval/paired";
import type { RankingMetricsResult } from "../src/eval/ranking-metrics";
import { InputError } from "../src/util/errors";

// Deterministic paired samples; reference values from scipy 1.17 (stats.wilcoxon method="approx",
// zero_method="wilcox"; stats.ttest_rel; stats.bootstrap with 50 000 resamples).
const N = 60;
const A = Float64Array.from({ length: N }, (_, i) => ((i * 37) % 11) / 10);
const B = Float64Array.from({ length: N }, (_, i) => A[i] + (((i * 13) % 7) - 2) / 20);
const SKEWED = Float64Array.from({ length: 200 }, (_, i) => (((i * 7919) % 101) / 100) ** 3);

describe("paired tests against scipy", () => {
  it("paired t-test", () => {
    const t = pairedTTest(A, B);
    expect(t.t).toBeCloseTo(3.97625624589717, 10);
    expect(t.pValue).toBeCloseTo(0.00019361467053812626, 12);
    expect(t.df).toBe(59);
  });

  it("Wilcoxon signed-rank, normal approximation with tie and continuity corrections", () => {
    const w = wilcoxonSignedRank(A, B);
    expect(w.zeros).toBe(8);
    expect(w.n).toBe(52);
    expect(Math.min(w.wPlus, w.wMinus)).toBe(297.5);
    expect(w.tieCorrection).toBeGreaterThan(0);
    expect(w.pValue).toBeCloseTo(0.00032291063734521657, 12);
    expect(wilcoxonSignedRank(A, B, { continuityCorrection: false }).pValue).toBeCloseTo(0.00031725199768788706, 12);
  });
});

describe("bootstrap intervals", () => {
  it("percentile, basic and BCa agree with scipy up to Monte Carlo error", () => {
    const r = bootstrapMean(SKEWED, { nBoot: 20000, seed: 11 });
    expect(r.estimate).toBeCloseTo(0.25391070499999996, 12);
    const tol = 0.003;
    expect(Math.abs(r.percentile.lower - 0.21466643362499996)).toBeLessThan(tol);
    expect(Math.abs(r.percentile.upper - 0.29456787850000005)).toBeLessThan(tol);
    expect(Math.abs(r.basic.lower - 0.21325353149999987)).toBeLessThan(tol);
    expect(Math.abs(r.basic.upper - 0.293154976375)).toBeLessThan(tol);
    expect(Math.abs(r.bca.lower - 0.21613197656887365)).toBeLessThan(tol);
    expect(Math.abs(r.bca.upper - 0.29606011128569837)).toBeLessThan(tol);
    // right-skewed data: BCa shifts the interval up relative to the basic one
    expect(r.acceleration).toBeGreaterThan(0);
    expect(r.bca.upper).toBeGreaterThan(r.basic.upper);
  });

  it("is deterministic for a seed and changes with it", () => {
    const a = bootstrapMean(SKEWED, { nBoot: 500, seed: 3 });
    expect(bootstrapMean(SKEWED, { nBoot: 500, seed: 3 })).toEqual(a);
    expect(bootstrapMean(SKEWED, { nBoot: 500, seed: 4 }).percentile).not.toEqual(a.percentile);
  });

  it("identical models: difference CI is [0, 0] and p = 1", () => {
    const c = pairedBootstrap(A, Float64Array.from(A), { nBoot: 500 });
    expect(c.difference.estimate).toBe(0);
    for (const iv of [c.difference.percentile, c.difference.basic, c.difference.bca]) {
      expect(iv.lower).toBeLessThanOrEqual(0);
      expect(iv.upper).toBeGreaterThanOrEqual(0);
    }
    expect(c.tTest.pValue).toBe(1);
    expect(c.wilcoxon.pValue).toBe(1);
  });

  it("models equal on average: the CI covers 0 and p is large", () => {
    // b is a with per-user noise of mean exactly 0
    const b = Float64Array.from(A, (v, i) => v + (i % 2 === 0 ? 0.05 : -0.05));
    const c = pairedBootstrap(A, b, { nBoot: 2000, seed: 1 });
    expect(c.difference.percentile.lower).toBeLessThan(0);
    expect(c.difference.percentile.upper).toBeGreaterThan(0);
    expect(c.tTest.pValue).toBeGreaterThan(0.9);
    expect(c.wilcoxon.pValue).toBeGreaterThan(0.9);
  });

  it("a clearly better model: every CI excludes 0", () => {
    const c = pairedBootstrap(A, B, { nBoot: 2000, seed: 5 });
    expect(c.meanB).toBeGreaterThan(c.meanA);
    for (const iv of [c.difference.percentile, c.difference.basic, c.difference.bca]) expect(iv.lower).toBeGreaterThan(0);
  });

  it("rejects mismatched or non-finite samples", () => {
    expect(() => pairedBootstrap(A, B.subarray(1))).toThrow(InputError);
    expect(() => bootstrapMean(Float64Array.from([1, NaN]))).toThrow(InputError);
    expect(() => bootstrapMean(A, { nBoot: 3 })).toThrow(InputError);
  });
});

/** A minimal per-user result for the comparison table. */
function run(name: string, users: number[], ndcg: Float64Array, recall: Float64Array): NamedRun {
  const metrics: RankingMetricsResult = {
    ks: [10],
    metrics: ["ndcg", "recall"],
    mean: {},
    perUser: { users: Int32Array.from(users), nRelevant: new Int32Array(users.length).fill(1), values: { "ndcg@10": ndcg, "recall@10": recall } },
    counts: { rows: users.length, evaluated: users.length, noRelevant: 0, emptySlots: 0, duplicateHits: 0 },
    excludedUsers: new Int32Array(0),
    warnings: [],
  };
  return { name, metrics };
}

describe("comparison table", () => {
  const users = Array.from({ length: N }, (_, i) => i);
  const base = run("pop", users, A, A);
  const better = run("ease", users, B, B);
  const same = run("pop-copy", users, Float64Array.from(A), Float64Array.from(A));

  it("means with CIs, pair differences with CIs, p-values and Holm adjustment", () => {
    const t = compareModels([base, better, same], { nBoot: 1000, seed: 9 });
    expect(t.models).toEqual(["pop", "ease", "pop-copy"]);
    expect(t.n_users).toBe(N);
    const m = t.metrics["ndcg@10"];
    expect(m.models.ease.mean).toBeGreaterThan(m.models.pop.mean);
    expect(m.pairs.map((p) => `${p.a}/${p.b}`)).toEqual(["pop/ease", "pop/pop-copy", "ease/pop-copy"]);
    const [pe, pp, ep] = m.pairs;
    expect(pe.difference).toBeCloseTo(pairedTTest(A, B).meanDifference, 12);
    expect(pe.p_t).toBeCloseTo(0.00019361467053812626, 12);
    expect(pe.percentile.lower).toBeGreaterThan(0);
    expect(pp.p).toBe(1);
    expect(pp.percentile).toEqual({ lower: 0, upper: 0 });
    expect(ep.difference).toBeLessThan(0);
    // Holm over 3 pairs: the two equal smallest p-values get ×3 and ×2, then the running max
    const ps = m.pairs.map((p) => p.p);
    const sorted = [...ps].sort((x, y) => x - y);
    expect(Math.min(...m.pairs.map((p) => p.p_holm))).toBeCloseTo(Math.min(1, 3 * sorted[0]), 12);
    for (const p of m.pairs) expect(p.p_holm).toBeGreaterThanOrEqual(p.p);
  });

  it("is deterministic, stable when a model is added, and serialises to ranking_metrics.json", () => {
    const t1 = compareModels([base, better], { nBoot: 500, seed: 2 });
    const t2 = compareModels([base, better], { nBoot: 500, seed: 2 });
    expect(t2).toEqual(t1);
    const t3 = compareModels([base, better, same], { nBoot: 500, seed: 2 });
    expect(t3.metrics["ndcg@10"].models.ease).toEqual(t1.metrics["ndcg@10"].models.ease);
    expect(t3.metrics["ndcg@10"].pairs[0].percentile).toEqual(t1.metrics["ndcg@10"].pairs[0].percentile);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-cmp-"));
    try {
      const f = path.join(dir, RANKING_METRICS_FILE);
      const text = writeComparison(t1, f, { part: "test" });
      expect(fs.readFileSync(f, "utf8")).toBe(text);
      expect(writeComparison(t2, path.join(dir, "again.json"), { part: "test" })).toBe(text);
      const parsed = JSON.parse(text) as { part: string; metrics: Record<string, unknown> };
      expect(parsed.part).toBe("test");
      expect(Object.keys(parsed.metrics)).toEqual(["ndcg@10", "recall@10"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("baseline pairs, wilcoxon p, global Holm family", () => {
    const t = compareModels([base, better, same], { nBoot: 200, baseline: "pop", test: "wilcoxon", family: "all" });
    expect(t.metrics["recall@10"].pairs.map((p) => `${p.a}/${p.b}`)).toEqual(["pop/ease", "pop/pop-copy"]);
    const p = t.metrics["recall@10"].pairs[0];
    expect(p.p).toBe(p.p_wilcoxon);
    // 4 tests in the family: the smallest p is multiplied by 4
    expect(p.p_holm).toBeCloseTo(Math.min(1, 4 * p.p), 12);
  });

  it("requires the same users unless asked to intersect", () => {
    const other = run("other", users.slice(5), B.slice(5), B.slice(5));
    expect(() => compareModels([base, other], { nBoot: 100 })).toThrow(/same users/);
    const t = compareModels([base, other], { nBoot: 100, align: "intersection" });
    expect(t.n_users).toBe(N - 5);
    expect(t.users_dropped).toEqual({ pop: 5, other: 0 });
    expect(t.metrics["ndcg@10"].pairs[0].difference).toBeCloseTo(pairedTTest(A.slice(5), B.slice(5)).meanDifference, 12);
  });
});
