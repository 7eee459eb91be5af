import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CsrMatrix } from "../src/data/csr";
import { Duck, parquet } from "../src/data/duck";
import { intraListDiversity } from "../src/eval/beyond-accuracy";
import { rankingMetrics } from "../src/eval/ranking-metrics";
import {
  cosineItemSimilarity,
  embeddingSource,
  filterSeen,
  historyFromCsr,
  historyNeighbourSource,
  mmrRerank,
  neighboursFromTopK,
  popularitySource,
  rankForUsers,
  rankingToTopK,
  reasonText,
  reciprocalRankFusion,
  selectTop,
  topKSource,
  weightedScoreFusion,
  writeTopK,
  type SourceList,
} from "../src/rank";
import type { TopK } from "../src/taste/recommender";

function csr(rows: number[][], nCols: number): CsrMatrix {
  const indptr = new Int32Array(rows.length + 1);
  const idx: number[] = [];
  rows.forEach((r, i) => {
    idx.push(...[...r].sort((a, b) => a - b));
    indptr[i + 1] = idx.length;
  });
  return { nRows: rows.length, nCols, indptr, indices: Int32Array.from(idx), values: new Float32Array(idx.length).fill(1) };
}

function list(items: number[], scores: number[], evidence?: number[]): SourceList {
  return { items: Int32Array.from(items), scores: Float64Array.from(scores), evidence: evidence ? Int32Array.from(evidence) : undefined };
}

function topk(rows: number[], lists: [number, number][][], k: number): TopK {
  const items = new Int32Array(rows.length * k).fill(-1);
  const scores = new Float32Array(rows.length * k).fill(Number.NaN);
  lists.forEach((l, r) => l.forEach(([it, s], i) => ((items[r * k + i] = it), (scores[r * k + i] = s))));
  return { rows: Int32Array.from(rows), k, items, scores };
}

const TITLES = ["Alien", "Brazil", "Casablanca", "Dune", "Eraserhead", "Fargo", "Gattaca", "Heat", "Inception", "Jaws"];

// item-item neighbours: 0 → 5 (0.9), 6 (0.5); 1 → 6 (0.8), 7 (0.4); 2 → 5 (0.2), 8 (0.3)
const NEIGHBOURS = topk(
  [0, 1, 2],
  [
    [[5, 0.9], [6, 0.5]],
    [[6, 0.8], [7, 0.4]],
    [[8, 0.3], [5, 0.2]],
  ],
  2,
);
// user 0 watched 2, then 0, then 1 (most recent); the CSR order values are timestamps
const HISTORY = { m: csr([[0, 1, 2]], 10), ts: [20, 30, 10] };

describe("candidate sources", () => {
  it("selectTop: best first, ties to the lower index, non-finite skipped", () => {
    expect(Array.from(selectTop([0.5, 2, NaN, 2, 1, -Infinity], 3))).toEqual([1, 3, 4]);
    expect(Array.from(selectTop([3, 1, 2], 10))).toEqual([0, 2, 1]);
  });

  it("history from CSR in timestamp order", () => {
    expect(Array.from(historyFromCsr(HISTORY.m, HISTORY.ts)(0))).toEqual([2, 0, 1]);
    expect(Array.from(historyFromCsr(HISTORY.m)(0))).toEqual([0, 1, 2]);
    expect(Array.from(historyFromCsr(HISTORY.m)(7))).toEqual([]);
  });

  it("history neighbours: summed similarity, evidence = the history item contributing most", () => {
    const src = historyNeighbourSource("graph", { history: historyFromCsr(HISTORY.m, HISTORY.ts), neighbours: neighboursFromTopK(NEIGHBOURS) });
    const l = src.candidates(0, 10);
    expect(Array.from(l.items)).toEqual([6, 5, 7, 8]);
    expect(l.scores[0]).toBeCloseTo(1.3, 6);
    expect(l.scores[1]).toBeCloseTo(1.1, 6);
    expect(Array.from(l.evidence!)).toEqual([1, 0, 1, 2]);
    // only the most recent item: neighbours of 1
    const recent1 = historyNeighbourSource("g", { history: historyFromCsr(HISTORY.m, HISTORY.ts), neighbours: neighboursFromTopK(NEIGHBOURS), recent: 1 });
    expect(Array.from(recent1.candidates(0, 10).items)).toEqual([6, 7]);
  });

  it("embedding source names the taste axis that contributed most", () => {
    const src = embeddingSource("emb", { userVectors: Float32Array.from([1, 0.2]), itemVectors: Float32Array.from([0.1, 1, 1, 0, 0, 0]), dim: 2 });
    const l = src.candidates(0, 2);
    expect(Array.from(l.items)).toEqual([1, 0]);
    expect(Array.from(l.evidence!)).toEqual([0, 1]);
    expect(reasonText(src, 1, 0, { axisLabels: ["comedy", "drama"] })).toBe("close to your taste axis comedy");
    expect(reasonText(src, 0, 1, {})).toBe("close to your taste axis #1");
  });

  it("popularity and precomputed lists", () => {
    const pop = popularitySource("popular", [1, 5, 5, 0]);
    expect(Array.from(pop.candidates(3, 3).items)).toEqual([1, 2, 0]);
    expect(reasonText(pop, 1, -1)).toBe("popular now");
    const pre = topKSource("als", "other", topk([4], [[[2, 0.5], [3, 0.4]]], 3));
    expect(Array.from(pre.candidates(4, 5).items)).toEqual([2, 3]);
    expect(pre.candidates(5, 5).items.length).toBe(0);
    expect(reasonText(pre, 2, -1)).toBe("suggested by als");
  });
});

describe("fusion", () => {
  const L1 = list([5, 6, 7], [10, 5, 0]);
  const L2 = list([6, 8], [2, 1]);

  it("reciprocal-rank fusion, k = 60", () => {
    const f = reciprocalRankFusion([L1, L2]);
    expect(Array.from(f.items)).toEqual([6, 5, 8, 7]);
    expect(f.scores[0]).toBeCloseTo(1 / 62 + 1 / 61, 15);
    expect(f.scores[1]).toBeCloseTo(1 / 61, 15);
    expect(f.scores[2]).toBeCloseTo(1 / 62, 15);
    expect(f.scores[3]).toBeCloseTo(1 / 63, 15);
    // contributions per source, row-major items × sources
    expect(Array.from(f.contributions.subarray(0, 2))).toEqual([1 / 62, 1 / 61]);
    expect(Array.from(f.present)).toEqual([1, 1, 1, 0, 0, 1, 1, 0]);
    const w = reciprocalRankFusion([L1, L2], { weights: [1, 3] });
    expect(Array.from(w.items)).toEqual([6, 8, 5, 7]);
    expect(Array.from(reciprocalRankFusion([L1, L2], { k: 0 }).scores.subarray(0, 1))).toEqual([1 / 2 + 1]);
  });

  it("weighted min-max fusion", () => {
    const f = weightedScoreFusion([L1, L2]);
    expect(Array.from(f.items)).toEqual([6, 5, 7, 8]);
    expect(Array.from(f.scores)).toEqual([1.5, 1, 0, 0]);
    const g = weightedScoreFusion([L1, L2], { weights: [1, 4] });
    expect(Array.from(g.items)).toEqual([6, 5, 7, 8]);
    expect(g.scores[0]).toBe(4.5);
    // a constant list maps to 1
    expect(Array.from(weightedScoreFusion([list([3, 1], [2, 2])]).scores)).toEqual([1, 1]);
  });

  it("seen items are filtered before ranking positions are counted", () => {
    const seen = csr([[5]], 10);
    const l = filterSeen(L1, seen, 0);
    expect(Array.from(l.items)).toEqual([6, 7]);
    const f = reciprocalRankFusion([l, L2]);
    expect(f.scores[0]).toBeCloseTo(2 / 61, 15); // 6 is now first in both lists
  });
});

describe("MMR", () => {
  // genres: 0, 1, 2, 5 share A; 3 is B; 4 is C
  const genres = csr([[0], [0], [0], [1], [2], [0]], 3);
  const sim = cosineItemSimilarity(genres);
  const pool = Int32Array.from([0, 1, 2, 5, 3, 4]);
  const rel = Float64Array.from([1, 0.9, 0.8, 0.7, 0.6, 0.5]);

  it("lambda = 1 keeps the relevance order", () => {
    expect(Array.from(mmrRerank(pool, rel, 6, { lambda: 1, similarity: sim }))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("lambda < 1 trades relevance for diversity", () => {
    const picks = mmrRerank(pool, rel, 3, { lambda: 0.5, similarity: sim });
    // after item 0, item 3 (genre B): 0.5·0.2 − 0 beats item 1: 0.5·0.8 − 0.5·1
    expect(Array.from(picks, (j) => pool[j])).toEqual([0, 3, 4]);
    const asTopK = (items: number[]): TopK => ({ rows: Int32Array.from([0]), k: 3, items: Int32Array.from(items), scores: new Float32Array(3) });
    const relevanceOnly = intraListDiversity(asTopK([0, 1, 2]), genres).mean;
    const diversified = intraListDiversity(asTopK(Array.from(picks, (j) => pool[j])), genres).mean;
    expect(relevanceOnly).toBe(0);
    expect(diversified).toBeGreaterThan(relevanceOnly);
  });
});

describe("rankForUsers", () => {
  const graph = historyNeighbourSource("graph", { history: historyFromCsr(HISTORY.m, HISTORY.ts), neighbours: neighboursFromTopK(NEIGHBOURS) });
  const popular = popularitySource("popular", [9, 8, 7, 1, 1, 1, 1, 1, 1, 6]);
  const emb = embeddingSource("taste", { userVectors: Float32Array.from([1, 0, 0, 1]), itemVectors: Float32Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? (i / 2) % 3 : 0.1)), dim: 2 });

  it("fuses, filters seen items and explains each item by its strongest source", () => {
    const r = rankForUsers([0], { k: 5, sources: [graph, popular], seen: HISTORY.m, titles: TITLES });
    // RRF over graph [6, 5, 7, 8] and popular minus seen [9, 3, 4, 5, 6, 7, 8]:
    // 6 = 1/61 + 1/65, 5 = 1/62 + 1/64, 7 = 1/63 + 1/66, 8 = 1/64 + 1/67, 9 = 1/61
    expect(Array.from(r.item)).toEqual([6, 5, 7, 8, 9]);
    expect(Array.from(r.rank)).toEqual([1, 2, 3, 4, 5]);
    expect(r.score[0]).toBeCloseTo(1 / 61 + 1 / 65, 15);
    expect(r.reason[0]).toBe("because you watched Brazil"); // 6 came mostly through item 1
    expect(r.reason[1]).toBe("because you watched Alien"); // 5: 0.9 via item 0 beats 0.2 via item 2
    expect(r.reason[3]).toBe("because you watched Casablanca"); // 8 only through item 2
    expect(r.reason[4]).toBe("popular now");
    expect(r.sources[0]).toEqual(["graph", "popular"]);
    expect(r.sources[4]).toEqual(["popular"]);
    for (const it of r.item) expect([0, 1, 2]).not.toContain(it);
  });

  it("weights and weighted fusion change the order; reasons follow the contributions", () => {
    // three candidates per source: graph [6, 5, 7], popular [9, 3, 4]
    const r = rankForUsers([0], { k: 3, perSource: 3, sources: [graph, popular], seen: HISTORY.m, titles: TITLES, weights: { popular: 5 } });
    expect(Array.from(r.item)).toEqual([9, 3, 4]);
    expect(r.reason[0]).toBe("popular now");
    const even = rankForUsers([0], { k: 4, perSource: 3, sources: [graph, popular], seen: HISTORY.m, titles: TITLES });
    expect(Array.from(even.item)).toEqual([6, 9, 3, 5]); // equal RRF scores: lower item id first
    // weighted min-max: 6 → 1 (graph max), 9 → 1 (popular max), 5 → 0.8
    const w = rankForUsers([0], { k: 3, sources: [graph, popular], seen: HISTORY.m, fusion: "weighted", verb: "bought" });
    expect(Array.from(w.item)).toEqual([6, 9, 5]);
    expect(w.reason[0]).toBe("because you bought item 1");
  });

  it("MMR option, several users, TopK conversion", () => {
    const sim = cosineItemSimilarity(csr([[0], [0], [0], [1], [2], [0], [0], [1], [2], [0]], 3));
    const plain = rankForUsers([0, 1], { k: 4, sources: [graph, emb, popular], seen: HISTORY.m });
    const mmr = rankForUsers([0, 1], { k: 4, sources: [graph, emb, popular], seen: HISTORY.m, mmr: { lambda: 1, similarity: sim } });
    expect(Array.from(mmr.item)).toEqual(Array.from(plain.item));
    const tk = rankingToTopK(plain, [0, 1], 4);
    expect(Array.from(tk.items.subarray(0, 4))).toEqual(Array.from(plain.item.subarray(0, 4)));
    const m = rankingMetrics(tk, csr([[6], [9]], 10), { ks: [1], metrics: ["hit_rate"] });
    expect(m.counts.evaluated).toBe(2);
  });
});

describe("writeTopK", () => {
  let db: Duck;
  let tmp: string;
  beforeAll(async () => {
    db = await Duck.open({ threads: 1 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-rank-"));
  });
  afterAll(() => {
    db.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("writes user, item, score, rank, sources list and reason, deterministically", async () => {
    const graph = historyNeighbourSource("graph", { history: historyFromCsr(HISTORY.m, HISTORY.ts), neighbours: neighboursFromTopK(NEIGHBOURS) });
    const popular = popularitySource("popular", [9, 8, 7, 1, 1, 1, 1, 1, 1, 6]);
    const r = rankForUsers([1, 0], { k: 3, sources: [graph, popular], seen: HISTORY.m, titles: TITLES });
    const a = path.join(tmp, "a.parquet");
    const b = path.join(tmp, "b.parquet");
    expect(await writeTopK(db, r, a)).toBe(6);
    await writeTopK(db, r, b);
    expect(fs.readFileSync(a).equals(fs.readFileSync(b))).toBe(true);
    const types = await db.rows<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${parquet(a)}`);
    expect(types.map((t) => `${t.column_name}:${t.column_type}`)).toEqual(["user_id:INTEGER", "item_id:INTEGER", "score:DOUBLE", "rank:INTEGER", "sources:VARCHAR[]", "reason:VARCHAR"]);
    const rows = await db.rows<{ user: number; item: number; rank: number; sources: string[]; reason: string }>(`SELECT user_id AS "user", item_id AS item, * EXCLUDE (user_id, item_id) FROM ${parquet(a)}`);
    expect(rows.map((x) => x.user)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(rows[0]).toMatchObject({ item: 6, rank: 1, sources: ["graph", "popular"], reason: "because you watched Brazil" });
    expect(rows[1]).toMatchObject({ item: 5, rank: 2, reason: "because you watched Alien" });
    expect(rows[2]).toMatchObject({ item: 7, rank: 3, sources: ["graph", "popular"], reason: "because you watched Brazil" });
    expect(rows[3]).toMatchObject({ item: 0, reason: "popular now", sources: ["popular"] });
  });
});
