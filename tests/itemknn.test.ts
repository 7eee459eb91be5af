import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildCsr, type CsrMatrix } from "../src/data/csr";
import { ItemKnn } from "../src/taste/models/itemknn";
import type { TopK } from "../src/taste/recommender";
import { tmpDir } from "./helpers/tmp";

/** [user, item] — the graph test's toy plus user 7 (item 5 only), so popularity order ≠ id order. */
const EVENTS: [number, number][] = [
  [0, 0], [0, 1], [0, 2],
  [1, 0], [1, 1], [1, 0],
  [2, 1], [2, 2], [2, 3],
  [3, 0], [3, 2], [3, 3],
  [4, 1], [4, 3],
  [5, 4], [5, 5],
  [6, 0], [6, 4], [6, 5],
  [7, 5],
];
const N_USERS = 8;
const N_ITEMS = 6;

function csr(events: [number, number][], nUsers = N_USERS): CsrMatrix {
  const n = events.length;
  return buildCsr(
    {
      userId: Int32Array.from(events.map((e) => e[0])),
      itemId: Int32Array.from(events.map((e) => e[1])),
      rating: new Float64Array(n),
      weight: new Float64Array(n).fill(1),
      length: n,
    },
    nUsers,
    N_ITEMS,
  );
}

const TRAIN = csr(EVENTS);
const BASE = { similarity: "cosine" as const, k: 10, powerUserCap: 0, threads: 1 as const };

function rowOf(t: TopK, r: number): { items: number[]; scores: number[] } {
  return { items: Array.from(t.items.subarray(r * t.k, (r + 1) * t.k)), scores: Array.from(t.scores.subarray(r * t.k, (r + 1) * t.k)) };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe("ItemKnn", () => {
  it("scores are sums of neighbour similarities over the user's history", async () => {
    const m = await new ItemKnn(BASE).fit(TRAIN);
    // user 4 saw {1, 3}; degrees 0→4, 1→4, 2→3, 3→3
    const cos = (c: number, a: number, b: number) => c / Math.sqrt(a * b);
    const r = rowOf(m.recommend([4], 6), 0);
    expect(r.items).toEqual([2, 0, 1, 3, 4, 5]);
    expect(r.scores[0]).toBeCloseTo(cos(2, 4, 3) + cos(2, 3, 3), 6); // item 2: sim(1,2) + sim(3,2)
    expect(r.scores[1]).toBeCloseTo(cos(2, 4, 4) + cos(1, 3, 4), 6); // item 0: sim(1,0) + sim(3,0)
    // items 1 and 3 tie (each is the other's neighbour with 2/sqrt(12)): lower id first
    expect(r.scores[2]).toBeCloseTo(cos(2, 3, 4), 6);
    expect(r.scores[3]).toBe(r.scores[2]);
    // items no history item links to are padding with score 0, ascending id
    expect(r.scores.slice(4)).toEqual([0, 0]);
  });

  it("excludes seen items and pads with −1/NaN once the catalogue is exhausted", async () => {
    const m = await new ItemKnn(BASE).fit(TRAIN);
    const users = [0, 1, 2, 3, 4, 5, 6, 7];
    const t = m.recommend(users, 6, { exclude: TRAIN });
    for (const u of users) {
      const r = rowOf(t, u);
      const seen = new Set(Array.from(TRAIN.indices.subarray(TRAIN.indptr[u], TRAIN.indptr[u + 1])));
      const real = r.items.filter((j) => j >= 0);
      expect(real.length).toBe(N_ITEMS - seen.size);
      for (const j of real) expect(seen.has(j)).toBe(false);
      expect(r.items.slice(real.length).every((j) => j === -1)).toBe(true);
      expect(r.scores.slice(real.length).every((s) => Number.isNaN(s))).toBe(true);
    }
    const r4 = rowOf(t, 4);
    expect(r4.items.slice(0, 4)).toEqual([2, 0, 4, 5]);
    expect(r4.scores[0]).toBeCloseTo(2 / Math.sqrt(12) + 2 / 3, 6);
  });

  it("unknown users (out of range or empty history) get training popularity", async () => {
    const m = await new ItemKnn(BASE).fit(TRAIN);
    const t = m.recommend([99, -1], 4);
    // popularity (distinct users): 0→4, 1→4, 2→3, 3→3, 4→2, 5→3
    expect(rowOf(t, 0)).toEqual({ items: [0, 1, 2, 3], scores: [4, 4, 3, 3] });
    expect(rowOf(t, 1).items).toEqual([0, 1, 2, 3]);
    // a fold-in history: user 0 with an empty row is cold; user 1 who saw item 4 is scored from it
    const hist = csr([[1, 4]], 2);
    const f = m.recommend([0, 1], 6, { history: hist, exclude: hist });
    expect(rowOf(f, 0).items).toEqual([0, 1, 2, 3, 5, 4]);
    const r1 = rowOf(f, 1);
    expect(r1.items).toEqual([5, 0, 1, 2, 3, -1]);
    expect(r1.scores[0]).toBeCloseTo(2 / Math.sqrt(6), 6); // cos(4,5): deg 2 and 3
    expect(r1.scores[1]).toBeCloseTo(1 / Math.sqrt(8), 6); // cos(4,0)
  });

  it("similarItems comes from the graph; normalisation rescales rows", async () => {
    const m = await new ItemKnn(BASE).fit(TRAIN);
    const s = m.similarItems([0, 7], 3);
    expect(rowOf(s, 0).items).toEqual([2, 1, 4]);
    expect(rowOf(s, 1).items).toEqual([-1, -1, -1]);
    const l1 = await new ItemKnn({ ...BASE, normalization: "l1" }).fit(TRAIN);
    const all = l1.similarItems([0, 1, 2, 3, 4, 5], 6);
    for (let r = 0; r < 6; r++) {
      const sc = rowOf(all, r).scores.filter((x) => !Number.isNaN(x));
      expect(sc.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
    const mx = await new ItemKnn({ ...BASE, normalization: "max" }).fit(TRAIN);
    expect(rowOf(mx.similarItems([0], 1), 0).scores).toEqual([1]);
  });

  it("k limits neighbours per item; guardrail settings reach the graph", async () => {
    const m = await new ItemKnn({ ...BASE, k: 1, minSupport: 3 }).fit(TRAIN);
    expect(rowOf(m.similarItems([0, 4], 2), 0).items).toEqual([2, -1]);
    expect(rowOf(m.similarItems([0, 4], 2), 1).items).toEqual([-1, -1]);
    expect(m.graphStats?.guardrails.itemsBelowSupport).toBe(1);
    expect(() => new ItemKnn({ normalization: "zscore" as never })).toThrow(/normalization/);
    expect(() => new ItemKnn({ similarity: "pearson" as never })).toThrow(/itemknn\.similarity/);
    expect(() => new ItemKnn({ k: 0 })).toThrow(/itemknn\.k/);
    expect(() => new ItemKnn({ minSupport: 0 })).toThrow(/itemknn\.minSupport/);
    expect(() => new ItemKnn({ neighbours: 5 } as never)).toThrow(/itemknn\.neighbours.*unknown option/);
  });

  it("is deterministic, and save/load round-trips to identical recommendations", async () => {
    const cfg = { ...BASE, similarity: "conditional" as const, alpha: 0.5, k: 3, shrinkage: 1 };
    const a = await new ItemKnn(cfg).fit(TRAIN);
    const b = await new ItemKnn(cfg).fit(TRAIN);
    const users = [0, 1, 2, 3, 4, 5, 6, 7, 42];
    expect(b.recommend(users, 5, { exclude: TRAIN })).toEqual(a.recommend(users, 5, { exclude: TRAIN }));
    const dir = tmpDir("ntg-itemknn-");
    dirs.push(dir);
    const modelDir = path.join(dir, "model");
    await a.save(modelDir);
    await a.save(modelDir); // saving over an existing model directory replaces it
    const header = JSON.parse(fs.readFileSync(path.join(modelDir, "model.json"), "utf8"));
    expect(header).toMatchObject({ format: "ntg-taste-model", formatVersion: 1, kind: "itemknn" });
    expect(header.state).toMatchObject({ nUsers: 8, nItems: 6 });
    expect(header.config.k).toBe(3);
    expect(header.arrays.weights).toEqual({ dtype: "f32", length: header.state.edges, file: "graph_weights.f32" });
    expect(fs.readdirSync(modelDir).sort()).toEqual(
      ["graph_indptr.i32", "graph_neighbours.i32", "graph_weights.f32", "history_indices.i32", "history_indptr.i32", "model.json", "popularity.i32"],
    );
    const loaded = await ItemKnn.load(modelDir);
    expect(loaded.config).toEqual(a.config);
    for (const opts of [{}, { exclude: TRAIN }]) {
      expect(loaded.recommend(users, 6, opts)).toEqual(a.recommend(users, 6, opts));
    }
    expect(loaded.similarItems([0, 1, 2, 3, 4, 5], 3)).toEqual(a.similarItems([0, 1, 2, 3, 4, 5], 3));
    fs.writeFileSync(path.join(modelDir, "graph_weights.f32"), Buffer.alloc(4));
    await expect(ItemKnn.load(modelDir)).rejects.toThrow(/bytes, expected/);
  });

  it("'target' neighbourhood scores a candidate from its own top-k (brute force on the toy), and round-trips", async () => {
    const cfg = { ...BASE, k: 1, neighbourhood: "target" as const };
    const m = await new ItemKnn(cfg).fit(TRAIN);
    const hist = await new ItemKnn({ ...BASE, k: 1 }).fit(TRAIN);
    // each item's single nearest neighbour and its weight (shared by both modes)
    const nn = m.similarItems(Array.from({ length: N_ITEMS }, (_, i) => i), 1);
    for (let u = 0; u < N_USERS; u++) {
      const seen = new Set(EVENTS.filter((e) => e[0] === u).map((e) => e[1]));
      const expected = new Map<number, number>();
      for (let j = 0; j < N_ITEMS; j++) {
        const i = nn.items[j];
        if (i >= 0 && seen.has(i)) expected.set(j, (expected.get(j) ?? 0) + nn.scores[j]);
      }
      const r = rowOf(m.recommend([u], N_ITEMS), 0);
      for (const [j, v] of expected) expect(r.scores[r.items.indexOf(j)], `user ${u} item ${j}`).toBeCloseTo(v, 6);
      // candidates none of whose neighbours the user has seen score 0 (or are the popularity fallback)
      if (expected.size > 0) for (let t = 0; t < r.items.length; t++) if (!expected.has(r.items[t])) expect(r.scores[t]).toBe(0);
    }
    // with k = 1 the two neighbourhoods differ on the toy
    expect(Array.from(m.recommend([0, 1, 2, 3, 4, 5, 6, 7], N_ITEMS).scores)).not.toEqual(Array.from(hist.recommend([0, 1, 2, 3, 4, 5, 6, 7], N_ITEMS).scores));
    const dir = path.join(tmpDir("ntg-itemknn-target-"), "m");
    dirs.push(path.dirname(dir));
    await m.save(dir);
    const back = await ItemKnn.load(dir);
    expect(back.config.neighbourhood).toBe("target");
    const a = m.recommend([0, 3, 6], 4);
    const b = back.recommend([0, 3, 6], 4);
    expect(Array.from(b.items)).toEqual(Array.from(a.items));
    expect(Array.from(b.scores)).toEqual(Array.from(a.scores));
    expect(() => new ItemKnn({ neighbourhood: "both" as never })).toThrow(/itemknn.neighbourhood/);
  });

  it("refuses to recommend before fit", () => {
    expect(() => new ItemKnn().recommend([0], 3)).toThrow(/fit/);
  });
});
