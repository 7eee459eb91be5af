import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CsrMatrix } from "../src/data/csr";
import { Duck, parquet } from "../src/data/duck";
import {
  activeUsers,
  beyondAccuracy,
  catalogueCoverage,
  intraListDiversity,
  itemPopularity,
  novelty,
  popularityBias,
  popularityPercentiles,
} from "../src/eval/beyond-accuracy";
import { metricKey, parseMetricKey, rankingMetrics, writePerUserMetrics } from "../src/eval/ranking-metrics";
import type { TopK } from "../src/taste/recommender";
import { InputError } from "../src/util/errors";

/** CSR from per-row column lists (sorted here) and optional values. */
function csr(rows: number[][], nCols: number, vals?: number[][]): CsrMatrix {
  const indptr = new Int32Array(rows.length + 1);
  const idx: number[] = [];
  const val: number[] = [];
  rows.forEach((r, i) => {
    const order = r.map((_, j) => j).sort((a, b) => r[a] - r[b]);
    for (const j of order) {
      idx.push(r[j]);
      val.push(vals ? vals[i][j] : 1);
    }
    indptr[i + 1] = idx.length;
  });
  return { nRows: rows.length, nCols, indptr, indices: Int32Array.from(idx), values: Float32Array.from(val) };
}

function topk(rows: number[], lists: number[][], k: number): TopK {
  const items = new Int32Array(rows.length * k).fill(-1);
  const scores = new Float32Array(rows.length * k).fill(Number.NaN);
  lists.forEach((l, r) =>
    l.forEach((it, i) => {
      items[r * k + i] = it;
      scores[r * k + i] = it < 0 ? Number.NaN : 1 - i * 0.1;
    }),
  );
  return { rows: Int32Array.from(rows), k, items, scores };
}

const d = (i: number) => 1 / Math.log2(i + 1); // discount of 1-based position i

// user 0: grades 3 (item 1), 1 (item 3), 2 (item 5); user 1 none; user 2 {7}; user 3 {0..5}
const REL = csr([[1, 3, 5], [], [7], [0, 1, 2, 3, 4, 5]], 10, [[3, 1, 2], [], [2], [1, 1, 1, 1, 1, 1]]);
const TK = topk(
  [0, 1, 2, 3, 9],
  [
    [3, 2, 1, -1], // hits at 1 and 3, then padding
    [0, 1, 2, 3], // no relevant items → excluded
    [7, 7, -1, -1], // the relevant item listed twice counts once
    [9, 0, 8, 1], // hits at 2 and 4
    [1, 2, 3, 4], // user 9 is outside the relevant matrix → excluded
  ],
  4,
);

describe("rankingMetrics: hand-computed cases", () => {
  const res = rankingMetrics(TK, REL, { ks: [3, 1, 5, 2, 3] });
  const v = (m: string, k: number, user: number): number => {
    const i = Array.from(res.perUser.users).indexOf(user);
    return res.perUser.values[`${m}@${k}`][i];
  };

  it("excludes and counts users without relevant items; normalises cutoffs", () => {
    expect(res.ks).toEqual([1, 2, 3, 5]);
    expect(Array.from(res.perUser.users)).toEqual([0, 2, 3]);
    expect(Array.from(res.perUser.nRelevant)).toEqual([3, 1, 6]);
    expect(Array.from(res.excludedUsers)).toEqual([1, 9]);
    expect(res.counts).toEqual({ rows: 5, evaluated: 3, noRelevant: 2, emptySlots: 6, duplicateHits: 1 });
    expect(res.warnings.some((w) => w.includes("exceeds the list length 4"))).toBe(true);
  });

  it("user 0: hits at ranks 1 and 3 of 3 relevant", () => {
    expect(v("recall", 1, 0)).toBeCloseTo(1 / 3, 12);
    expect(v("recall_capped", 1, 0)).toBeCloseTo(1, 12);
    expect(v("recall", 2, 0)).toBeCloseTo(1 / 3, 12);
    expect(v("recall_capped", 2, 0)).toBeCloseTo(1 / 2, 12);
    expect(v("recall", 3, 0)).toBeCloseTo(2 / 3, 12);
    expect(v("precision", 3, 0)).toBeCloseTo(2 / 3, 12);
    expect(v("precision", 5, 0)).toBeCloseTo(2 / 5, 12); // K beyond the list: missing slots are misses
    expect(v("ndcg", 1, 0)).toBeCloseTo(1, 12);
    expect(v("ndcg", 2, 0)).toBeCloseTo(1 / (1 + d(2)), 12);
    expect(v("ndcg", 3, 0)).toBeCloseTo((1 + d(3)) / (1 + d(2) + d(3)), 12);
    expect(v("ndcg", 5, 0)).toBeCloseTo((1 + d(3)) / (1 + d(2) + d(3)), 12); // IDCG truncated at |R| = 3
    expect(v("map", 2, 0)).toBeCloseTo(1 / 2, 12);
    expect(v("map", 3, 0)).toBeCloseTo((1 + 2 / 3) / 3, 12);
    expect(v("map", 5, 0)).toBeCloseTo((1 + 2 / 3) / 3, 12);
    expect(v("mrr", 5, 0)).toBe(1);
    expect(v("hit_rate", 1, 0)).toBe(1);
  });

  it("graded NDCG uses 2^rel − 1 gains and the user's own ideal ordering", () => {
    // hits: item 3 (grade 1, gain 1) at rank 1, item 1 (grade 3, gain 7) at rank 3; ideal gains 7, 3, 1
    expect(v("ndcg_graded", 1, 0)).toBeCloseTo(1 / 7, 12);
    expect(v("ndcg_graded", 2, 0)).toBeCloseTo(1 / (7 + 3 * d(2)), 12);
    expect(v("ndcg_graded", 3, 0)).toBeCloseTo((1 + 7 * d(3)) / (7 + 3 * d(2) + 1 * d(3)), 12);
    // a single relevant item: graded = binary
    expect(v("ndcg_graded", 3, 2)).toBeCloseTo(1, 12);
    // all grades 1: graded = binary
    expect(v("ndcg_graded", 5, 3)).toBeCloseTo(v("ndcg", 5, 3), 12);
  });

  it("user 2: a duplicated hit counts once", () => {
    expect(v("recall", 2, 2)).toBe(1);
    expect(v("precision", 2, 2)).toBe(1 / 2);
    expect(v("precision", 5, 2)).toBe(1 / 5);
    expect(v("ndcg", 5, 2)).toBeCloseTo(1, 12);
    expect(v("map", 5, 2)).toBe(1);
  });

  it("user 3: hits at ranks 2 and 4 of 6 relevant", () => {
    for (const m of ["recall", "recall_capped", "precision", "ndcg", "map", "mrr", "hit_rate"]) expect(v(m, 1, 3)).toBe(0);
    expect(v("recall", 2, 3)).toBeCloseTo(1 / 6, 12);
    expect(v("recall_capped", 2, 3)).toBeCloseTo(1 / 2, 12);
    expect(v("recall_capped", 3, 3)).toBeCloseTo(1 / 3, 12);
    expect(v("recall", 5, 3)).toBeCloseTo(2 / 6, 12);
    expect(v("recall_capped", 5, 3)).toBeCloseTo(2 / 5, 12);
    expect(v("ndcg", 2, 3)).toBeCloseTo(d(2) / (1 + d(2)), 12);
    expect(v("ndcg", 5, 3)).toBeCloseTo((d(2) + d(4)) / (d(1) + d(2) + d(3) + d(4) + d(5)), 12);
    expect(v("map", 2, 3)).toBeCloseTo(1 / 2 / 2, 12);
    expect(v("map", 5, 3)).toBeCloseTo((1 / 2 + 2 / 4) / 5, 12);
    expect(v("mrr", 2, 3)).toBe(1 / 2);
    expect(v("hit_rate", 2, 3)).toBe(1);
  });

  it("recall and recall_capped differ exactly where K < |R| and there is a hit", () => {
    for (const k of res.ks) {
      res.perUser.users.forEach((u, i) => {
        const a = res.perUser.values[`recall@${k}`][i];
        const b = res.perUser.values[`recall_capped@${k}`][i];
        const shouldDiffer = k < res.perUser.nRelevant[i] && a > 0;
        expect(a !== b, `user ${u} @${k}`).toBe(shouldDiffer);
      });
    }
  });

  it("means average over evaluated users only", () => {
    const key = metricKey("recall", 5);
    expect(res.mean[key]).toBeCloseTo((2 / 3 + 1 + 2 / 6) / 3, 12);
    expect(res.mean["hit_rate@1"]).toBeCloseTo(2 / 3, 12);
  });
});

describe("rankingMetrics: inputs", () => {
  it("computes only the requested metrics", () => {
    const r = rankingMetrics(TK, REL, { ks: [2], metrics: ["ndcg"] });
    expect(Object.keys(r.mean)).toEqual(["ndcg@2"]);
  });

  it("rejects non-positive graded relevance and bad cutoffs", () => {
    const bad = csr([[1]], 4, [[0]]);
    expect(() => rankingMetrics(topk([0], [[1]], 1), bad, { ks: [1] })).toThrow(InputError);
    expect(() => rankingMetrics(topk([0], [[1]], 1), bad, { ks: [1], metrics: ["ndcg"] })).not.toThrow();
    expect(() => rankingMetrics(TK, REL, { ks: [0] })).toThrow(InputError);
    expect(() => rankingMetrics(TK, REL, { ks: [] })).toThrow(InputError);
  });

  it("parses metric keys", () => {
    expect(parseMetricKey("recall_capped@20")).toEqual({ metric: "recall_capped", k: 20 });
    expect(() => parseMetricKey("auc@10")).toThrow(InputError);
  });

  it("gives NaN means when nobody is evaluated", () => {
    const r = rankingMetrics(topk([1], [[0]], 1), REL, { ks: [1] });
    expect(r.counts.evaluated).toBe(0);
    expect(Number.isNaN(r.mean["recall@1"])).toBe(true);
  });
});

describe("per-user Parquet", () => {
  let db: Duck;
  let tmp: string;
  beforeAll(async () => {
    db = await Duck.open({ threads: 1 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-rm-"));
  });
  afterAll(() => {
    db.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("writes user, n_relevant and one column per metric, deterministically", async () => {
    const res = rankingMetrics(TK, REL, { ks: [1, 5], metrics: ["recall", "ndcg"] });
    const a = path.join(tmp, "a.parquet");
    const b = path.join(tmp, "b.parquet");
    expect(await writePerUserMetrics(db, res, a)).toBe(3);
    await writePerUserMetrics(db, res, b);
    expect(fs.readFileSync(a).equals(fs.readFileSync(b))).toBe(true);
    const rows = await db.rows<Record<string, number>>(`SELECT * FROM ${parquet(a)}`);
    expect(Object.keys(rows[0])).toEqual(["user", "n_relevant", "recall@1", "recall@5", "ndcg@1", "ndcg@5"]);
    expect(rows.map((r) => r.user)).toEqual([0, 2, 3]);
    expect(rows[2]["recall@5"]).toBeCloseTo(1 / 3, 12);
  });
});

describe("beyond accuracy", () => {
  // 4 train users; item popularity 3, 2, 1, 0, 1
  const train = csr([[0, 1], [0, 1, 2], [0], [4]], 5);
  const lists = topk([0, 1], [[0, 1, -1], [3, 4, 2]], 3);

  it("coverage, novelty, popularity bias", () => {
    const pop = itemPopularity(train);
    expect(Array.from(pop)).toEqual([3, 2, 1, 0, 1]);
    expect(activeUsers(train)).toBe(4);
    expect(catalogueCoverage(lists, 5)).toEqual({ coverage: 1, recommended: 5, catalogue: 5 });
    expect(catalogueCoverage(lists, 5, { k: 1 })).toEqual({ coverage: 2 / 5, recommended: 2, catalogue: 5 });
    const nov = novelty(lists, pop, 4);
    expect(nov.perUser[0]).toBeCloseTo((Math.log2(4 / 3) + Math.log2(4 / 2)) / 2, 12);
    // item 3 never seen in train: floored to one user
    expect(nov.perUser[1]).toBeCloseTo((Math.log2(4) + Math.log2(4) + Math.log2(4)) / 3, 12);
    expect(nov.unseenItems).toBe(1);
    // mid-rank percentiles: pop 0 → 0.1, pop 1 (×2) → 0.4, pop 2 → 0.7, pop 3 → 0.9
    expect(Array.from(popularityPercentiles(pop)).map((x) => Number(x.toFixed(10)))).toEqual([0.9, 0.7, 0.4, 0.1, 0.4]);
    const pb = popularityBias(lists, pop);
    expect(pb.perUser[0]).toBeCloseTo(0.8, 12);
    expect(pb.perUser[1]).toBeCloseTo(0.3, 12);
    expect(pb.arp).toBeCloseTo((2.5 + 2 / 3) / 2, 12);
  });

  it("intra-list diversity over genre sets, featureless items left out", () => {
    // genres: item0 {A,B}, item1 {A}, item2 {C}, item3 none, item4 {C}
    const genres = csr([[0, 1], [0], [2], [], [2]], 3);
    const ild = intraListDiversity(lists, genres);
    expect(ild.perUser[0]).toBeCloseTo(1 - 1 / Math.SQRT2, 12); // one pair: cos = 1/√2
    expect(ild.perUser[1]).toBeCloseTo(0, 12); // items 4 and 2 share their only genre
    expect(ild.itemsWithoutFeatures).toBe(1);
    const all = beyondAccuracy(lists, { train, itemFeatures: genres });
    expect(all.coverage.catalogue).toBe(4); // items present in train
    expect(all.diversity!.mean).toBeCloseTo((1 - 1 / Math.SQRT2) / 2, 12);
  });
});
