import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCsr } from "../src/data/csr";
import { Duck } from "../src/data/duck";
import {
  buildItemGraph,
  buildItemGraphFromCsr,
  componentLabels,
  degreeSummary,
  neighboursOf,
  readItemGraphEdges,
  writeItemGraph,
  type GraphInteractions,
  type ItemGraph,
  type ItemGraphOptions,
} from "../src/graph";
import { Rng } from "../src/util/rng";
import { tmpDir } from "./helpers/tmp";

/** [user, item, ts] */
type Ev = [number, number, number];

// 7 users × 6 items. Distinct users per item: 0→4, 1→4, 2→3, 3→3, 4→2, 5→2.
// Co-occurrences: (0,1)=2 (0,2)=2 (0,3)=1 (0,4)=1 (0,5)=1 (1,2)=2 (1,3)=2 (2,3)=2 (4,5)=2.
const TOY: Ev[] = [
  [0, 0, 1], [0, 1, 2], [0, 2, 3],
  [1, 0, 1], [1, 1, 1], [1, 0, 6], // a repeated (user, item): counted once, latest ts 6
  [2, 1, 4], [2, 2, 5], [2, 3, 4], // items 1 and 3 tie at ts 4
  [3, 0, 3], [3, 2, 1], [3, 3, 2],
  [4, 1, 1], [4, 3, 2],
  [5, 4, 1], [5, 5, 2],
  [6, 0, 1], [6, 4, 2], [6, 5, 3],
];

function arrays(ev: Ev[]): GraphInteractions {
  return {
    userId: Int32Array.from(ev.map((e) => e[0])),
    itemId: Int32Array.from(ev.map((e) => e[1])),
    ts: Float64Array.from(ev.map((e) => e[2])),
    length: ev.length,
  };
}

const NO_GUARDS: ItemGraphOptions = { topK: 0, powerUserCap: 0, minSupport: 1, minCooc: 1, minSimilarity: 0, threads: 1 };

function build(opts: ItemGraphOptions = {}, ev: Ev[] = TOY, nUsers = 7, nItems = 6): ItemGraph {
  return buildItemGraph(arrays(ev), nUsers, nItems, { ...NO_GUARDS, ...opts });
}

function row(g: ItemGraph, i: number): { items: number[]; sim: number[]; cooc: number[] } {
  const r = neighboursOf(g, i);
  return { items: Array.from(r.items), sim: Array.from(r.similarity), cooc: Array.from(r.cooc) };
}

function simOf(g: ItemGraph, i: number, j: number): number | undefined {
  const r = row(g, i);
  const p = r.items.indexOf(j);
  return p < 0 ? undefined : r.sim[p];
}

describe("item graph: co-occurrence and similarity on a hand-made toy", () => {
  it("counts co-occurrence over distinct users and degrees per item", () => {
    const g = build();
    expect(Array.from(g.degree)).toEqual([4, 4, 3, 3, 2, 2]);
    expect(Array.from(g.popularity)).toEqual([4, 4, 3, 3, 2, 2]);
    expect(row(g, 0).items).toEqual([2, 1, 4, 5, 3]);
    expect(row(g, 0).cooc).toEqual([2, 2, 1, 1, 1]);
    expect(row(g, 4)).toEqual({ items: [5, 0], sim: [1, Math.fround(1 / Math.sqrt(8))], cooc: [2, 1] });
    expect(row(g, 5).items).toEqual([4, 0]);
    expect(g.stats.edges).toBe(18);
    expect(g.stats.undirectedEdges).toBe(9);
    expect(g.stats.reciprocalEdges).toBe(9);
    expect(g.stats.guardrails.candidatePairs).toBe(18);
    expect(g.stats.guardrails.distinctPairs).toBe(18);
  });

  it("cosine = c / sqrt(d_i d_j)", () => {
    const g = build({ similarity: "cosine" });
    expect(simOf(g, 0, 1)).toBeCloseTo(0.5, 6); // 2 / sqrt(4·4)
    expect(simOf(g, 0, 2)).toBeCloseTo(0.5773503, 6); // 2 / sqrt(4·3)
    expect(simOf(g, 0, 3)).toBeCloseTo(0.2886751, 6); // 1 / sqrt(4·3)
    expect(simOf(g, 0, 4)).toBeCloseTo(0.3535534, 6); // 1 / sqrt(4·2)
    expect(simOf(g, 2, 3)).toBeCloseTo(0.6666667, 6); // 2 / sqrt(3·3)
    expect(simOf(g, 4, 5)).toBe(1);
    expect(simOf(g, 2, 0)).toBe(simOf(g, 0, 2));
  });

  it("jaccard = c / (d_i + d_j − c)", () => {
    const g = build({ similarity: "jaccard" });
    expect(simOf(g, 0, 1)).toBeCloseTo(1 / 3, 6); // 2 / (4 + 4 − 2)
    expect(simOf(g, 0, 2)).toBeCloseTo(0.4, 6); // 2 / (4 + 3 − 2)
    expect(simOf(g, 0, 3)).toBeCloseTo(1 / 6, 6); // 1 / (4 + 3 − 1)
    expect(simOf(g, 0, 4)).toBeCloseTo(0.2, 6); // 1 / (4 + 2 − 1)
    expect(simOf(g, 2, 3)).toBeCloseTo(0.5, 6); // 2 / (3 + 3 − 2)
    expect(simOf(g, 4, 5)).toBe(1);
    expect(row(g, 0).items).toEqual([2, 1, 4, 5, 3]);
  });

  it("conditional = P(j | i) = c / d_i, asymmetric; alpha damps popular targets", () => {
    const g = build({ similarity: "conditional" });
    expect(row(g, 0)).toEqual({ items: [1, 2, 3, 4, 5], sim: [0.5, 0.5, 0.25, 0.25, 0.25], cooc: [2, 2, 1, 1, 1] });
    expect(simOf(g, 4, 0)).toBe(0.5); // P(0 | 4) = 1 / 2
    expect(simOf(g, 0, 4)).toBe(0.25); // P(4 | 0) = 1 / 4
    expect(simOf(g, 2, 0)).toBeCloseTo(2 / 3, 6);
    expect(g.stats.reciprocalEdges).toBe(9);
    const a = build({ similarity: "conditional", alpha: 0.5 });
    expect(simOf(a, 0, 2)).toBeCloseTo(2 / (4 * Math.sqrt(3)), 6); // c / (d_i · d_j^0.5)
    expect(simOf(a, 0, 1)).toBeCloseTo(0.25, 6); // 2 / (4 · 2)
    expect(row(a, 0).items.slice(0, 2)).toEqual([2, 1]);
  });

  it("shrinkage multiplies by c / (c + shrinkage)", () => {
    const g = build({ shrinkage: 2 });
    expect(simOf(g, 0, 1)).toBeCloseTo(0.5 * (2 / 4), 6);
    expect(simOf(g, 0, 4)).toBeCloseTo((1 / Math.sqrt(8)) * (1 / 3), 6);
  });
});

describe("item graph guardrails", () => {
  it("min support: items with fewer users get no edges and are nobody's neighbour", () => {
    const g = build({ minSupport: 3 });
    expect(row(g, 0).items).toEqual([2, 1, 3]);
    expect(row(g, 4).items).toEqual([]);
    expect(row(g, 5).items).toEqual([]);
    expect(g.stats.guardrails.itemsBelowSupport).toBe(2);
    expect(g.stats.guardrails.pairsDroppedBySupport).toBe(4);
    expect(g.stats.isolatedItems).toBe(2);
    // support is counted before the cap, and degrees of surviving items are unchanged
    expect(Array.from(g.degree)).toEqual([4, 4, 3, 3, 0, 0]);
    expect(Array.from(g.popularity)).toEqual([4, 4, 3, 3, 2, 2]);
  });

  it("min co-occurrence drops pairs seen by too few users", () => {
    const g = build({ minCooc: 2 });
    expect(row(g, 0).items).toEqual([2, 1]);
    expect(row(g, 4).items).toEqual([5]);
    expect(g.stats.guardrails.pairsBelowMinCooc).toBe(6);
    expect(g.stats.edges).toBe(12);
  });

  it("min similarity drops weak pairs (threshold inclusive)", () => {
    const g = build({ minSimilarity: 0.5 });
    expect(row(g, 0).items).toEqual([2, 1]);
    expect(g.stats.guardrails.pairsBelowMinSimilarity).toBe(6);
    const h = build({ minSimilarity: 0.55 });
    expect(row(h, 0).items).toEqual([2]);
    expect(h.stats.guardrails.pairsBelowMinSimilarity).toBe(8);
  });

  it("top-K keeps the best K per item", () => {
    const g = build({ topK: 2 });
    expect(row(g, 0).items).toEqual([2, 1]);
    expect(row(g, 1).items).toEqual([2, 3]); // 2 and 3 tie (2/sqrt(12), c = 2): lower id first
    expect(row(g, 4).items).toEqual([5, 0]);
    expect(g.stats.guardrails.pairsBeyondTopK).toBe(6);
    expect(g.stats.outDegree.max).toBe(2);
  });

  it("power-user cap keeps each heavy user's most recent N items and keeps the user", () => {
    const g = build({ powerUserCap: 2, capStrategy: "recent" });
    // kept: u0 {1,2}; u1 {0,1}; u2 {2, then 1 over 3 on a ts tie}; u3 {0,3}; u4 {1,3}; u5 {4,5}; u6 {4,5}
    expect(Array.from(g.degree)).toEqual([2, 4, 2, 2, 2, 2]);
    expect(g.stats.guardrails.usersCapped).toBe(4);
    expect(g.stats.guardrails.pairsDroppedByCap).toBe(4);
    expect(g.stats.guardrails.capStrategyUsed).toBe("recent");
    expect(g.stats.activeUsers).toBe(7);
    expect(row(g, 1)).toEqual({ items: [2, 0, 3], sim: [Math.fround(2 / Math.sqrt(8)), Math.fround(1 / Math.sqrt(8)), Math.fround(1 / Math.sqrt(8))], cooc: [2, 1, 1] });
    expect(row(g, 0).items).toEqual([3, 1]); // (0,3) = 1/2 via u3's kept items; (0,2) no longer co-occur
    expect(row(g, 4).items).toEqual([5]); // u6's old item 0 was cut
    // the CSR entry point with aligned timestamps gives the same graph
    const m = buildCsr({ ...arrays(TOY), rating: new Float64Array(TOY.length), weight: new Float64Array(TOY.length) }, 7, 6);
    const lastTs = new Float64Array(m.indices.length);
    for (let u = 0; u < 7; u++) {
      for (let p = m.indptr[u]; p < m.indptr[u + 1]; p++) lastTs[p] = Math.max(...TOY.filter((e) => e[0] === u && e[1] === m.indices[p]).map((e) => e[2]));
    }
    const c = buildItemGraphFromCsr(m, { ...NO_GUARDS, powerUserCap: 2 }, lastTs);
    expect(c.neighbours).toEqual(g.neighbours);
    expect(c.similarity).toEqual(g.similarity);
  });

  it("power-user cap by seeded sampling is reproducible and keeps N items per capped user", () => {
    const a = build({ powerUserCap: 2, capStrategy: "sample", seed: 7 });
    const b = build({ powerUserCap: 2, capStrategy: "sample", seed: 7 });
    expect(a.neighbours).toEqual(b.neighbours);
    expect(a.similarity).toEqual(b.similarity);
    expect(a.stats.guardrails.usersCapped).toBe(4);
    let total = 0;
    for (let i = 0; i < 6; i++) total += a.degree[i];
    expect(total).toBe(18 - 4);
    expect(a.stats.activeUsers).toBe(7);
    // a CSR without timestamps cannot truncate by recency: it samples and says so
    const m = buildCsr({ ...arrays(TOY), rating: new Float64Array(TOY.length), weight: new Float64Array(TOY.length) }, 7, 6);
    const c = buildItemGraphFromCsr(m, { ...NO_GUARDS, powerUserCap: 2 });
    expect(c.stats.guardrails.capStrategyUsed).toBe("sample");
  });
});

describe("item graph determinism and structure", () => {
  it("ties: higher similarity, then higher co-occurrence, then lower item id", () => {
    // cos(0,2) = 2/sqrt(4·4) = 0.5 with c = 2; cos(0,1) = 1/sqrt(4·1) = 0.5 with c = 1
    const ev: Ev[] = [
      [0, 0, 1], [0, 2, 1], [1, 0, 1], [1, 2, 1], [2, 0, 1], [2, 1, 1], [3, 0, 1], [4, 2, 1], [5, 2, 1],
    ];
    const g = build({}, ev, 6, 3);
    expect(row(g, 0)).toEqual({ items: [2, 1], sim: [0.5, 0.5], cooc: [2, 1] });
    // equal similarity and co-occurrence: lower id first (toy row 0: items 4 and 5)
    expect(row(build(), 0).items.slice(2, 4)).toEqual([4, 5]);
  });

  it("does not depend on input row order", () => {
    const shuffled = new Rng(3).shuffle(TOY.slice());
    for (const opts of [{}, { powerUserCap: 2 }, { topK: 2, similarity: "jaccard" as const }]) {
      const a = build(opts);
      const b = build(opts, shuffled);
      expect(b.indptr).toEqual(a.indptr);
      expect(b.neighbours).toEqual(a.neighbours);
      expect(b.similarity).toEqual(a.similarity);
      expect(b.cooc).toEqual(a.cooc);
    }
  });

  it("components, isolated items and degree distribution on a two-component graph", () => {
    const g = build({ powerUserCap: 2 }, [...TOY, [0, 6, 0]], 7, 8); // item 6: no co-occurrence; item 7: no users
    expect(g.stats.components).toBe(2); // {0,1,2,3} and {4,5}
    expect(g.stats.largestComponent).toBe(4);
    expect(g.stats.isolatedItems).toBe(2);
    expect(g.stats.itemsWithoutNeighbours).toBe(2);
    expect(g.stats.itemsWithUsers).toBe(7);
    expect(Array.from(componentLabels(8, g.indptr, g.neighbours))).toEqual([0, 0, 0, 0, 4, 4, 6, 7]);
    // out-degrees: 0→2 (1,3), 1→3, 2→1, 3→2, 4→1, 5→1, 6→0, 7→0
    expect(g.stats.outDegree.histogram).toEqual({ lower: [0, 1, 2], upper: [0, 1, 3], count: [2, 3, 3] });
    expect(g.stats.outDegree.max).toBe(3);
    expect(g.stats.outDegree.mean).toBeCloseTo(10 / 8, 12);
    expect(g.stats.outDegree.median).toBe(1);
    expect(g.stats.edges).toBe(10);
    expect(g.stats.undirectedEdges).toBe(5);
    expect(degreeSummary(Int32Array.from([0, 5, 9])).histogram).toEqual({ lower: [0, 1, 2, 4, 8], upper: [0, 1, 3, 7, 15], count: [1, 0, 0, 1, 1] });
  });

  it("the half (symmetric, per-item heaps) kernel equals the full-row kernel", () => {
    for (const similarity of ["cosine", "jaccard", "conditional"] as const) {
      for (const extra of [{}, { minCooc: 2 }, { minSimilarity: 0.4 }, { powerUserCap: 2 }]) {
        const full = build({ similarity, alpha: 0.5, ...extra, topK: 0 }); // unbounded: full-row kernel
        const half = build({ similarity, alpha: 0.5, ...extra, topK: 6 }); // bounded: half kernel
        expect(half.indptr).toEqual(full.indptr);
        expect(half.neighbours).toEqual(full.neighbours);
        expect(half.similarity).toEqual(full.similarity);
        expect(half.cooc).toEqual(full.cooc);
        expect(half.stats).toEqual(full.stats);
      }
    }
  });

  it("the worker-thread path equals the single-thread path", () => {
    const rng = new Rng(11);
    const n = 40_000;
    const userId = new Int32Array(n);
    const itemId = new Int32Array(n);
    const ts = new Float64Array(n);
    for (let e = 0; e < n; e++) {
      userId[e] = Math.floor(Math.pow(rng.uniform(), 2) * 1500);
      itemId[e] = Math.floor(Math.pow(rng.uniform(), 3) * 400);
      ts[e] = rng.int(1000);
    }
    const x = { userId, itemId, ts, length: n };
    for (const opts of [
      { topK: 20, powerUserCap: 60, similarity: "cosine" as const },
      { topK: 15, minCooc: 2, similarity: "conditional" as const, alpha: 0.3 },
      { topK: 0, minCooc: 2, similarity: "conditional" as const, alpha: 0.3 },
    ]) {
      const one = buildItemGraph(x, 1500, 400, { ...opts, threads: 1 });
      const two = buildItemGraph(x, 1500, 400, { ...opts, threads: 2 });
      expect(one.stats.threads).toBe(1);
      expect(two.stats.threads).toBe(2);
      expect(two.indptr).toEqual(one.indptr);
      expect(two.neighbours).toEqual(one.neighbours);
      expect(two.similarity).toEqual(one.similarity);
      expect(two.cooc).toEqual(one.cooc);
      expect({ ...two.stats, threads: 1 }).toEqual(one.stats);
      expect(one.stats.edges).toBeGreaterThan(1000);
    }
  });
});

describe("item graph Parquet output", () => {
  let db: Duck;
  let dir: string;
  beforeAll(async () => {
    db = await Duck.open({ threads: 1 });
    dir = tmpDir("ntg-graph-");
  });
  afterAll(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("writes item, neighbour, similarity, cooccurrence, rank ordered by item, rank; deterministic bytes", async () => {
    const g = build({ topK: 3 });
    const file = path.join(dir, "item_graph.parquet");
    const n = await writeItemGraph(db, g, file);
    expect(n).toBe(g.neighbours.length);
    const back = await readItemGraphEdges(db, file);
    expect(back.neighbour).toEqual(g.neighbours);
    expect(back.similarity).toEqual(g.similarity);
    expect(back.cooccurrence).toEqual(g.cooc);
    expect(Array.from(back.item.subarray(0, 4))).toEqual([0, 0, 0, 1]);
    expect(Array.from(back.rank.subarray(0, 4))).toEqual([1, 2, 3, 1]);
    const cols = await db.rows<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
    expect(cols.map((c) => `${c.column_name}:${c.column_type}`)).toEqual(["item:INTEGER", "neighbour:INTEGER", "similarity:FLOAT", "cooccurrence:INTEGER", "rank:INTEGER"]);
    const file2 = path.join(dir, "again.parquet");
    await writeItemGraph(db, g, file2);
    expect(fs.readFileSync(file2).equals(fs.readFileSync(file))).toBe(true);
  });
});
