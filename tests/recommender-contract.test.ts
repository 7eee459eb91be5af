/**
 * The Recommender contract (src/taste/recommender.ts), run against every registered model kind on
 * a small seeded toy with two taste clusters.
 *
 * Documented exemptions:
 *   - popularity ignores `history` (same ranking for everyone), so it is exempt from the fold-in
 *     cluster test and, being the baseline, from "beats popularity".
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CsrMatrix } from "../src/data/csr";
import { createModel, loadModel, MODEL_KINDS, type ModelKind } from "../src/taste/registry";
import type { Recommender, TopK } from "../src/taste/recommender";
import { Rng } from "../src/util/rng";

/** Small, fast configs for the toy (every kind must appear). */
const TOY_CONFIG: Record<ModelKind, object> = {
  popularity: {},
  itemknn: {},
  ials: { factors: 8, iterations: 10, regularization: 0.1, alpha: 4 },
  bpr: { factors: 8, epochs: 150, learningRate: 0.05, regularization: 0.005 },
  ease: { lambda: 5 },
  puresvd: { factors: 4 },
};

const N_ITEMS = 40;
const N_ACTIVE = 60;
/** two trailing users with no training interactions */
const N_USERS = N_ACTIVE + 2;
const CLUSTER_A_USERS = 36;

function clusterOfItem(i: number): number {
  return i < 20 ? 0 : 1;
}

function csrFromRows(rows: number[][], nCols: number): CsrMatrix {
  const indptr = new Int32Array(rows.length + 1);
  const idx: number[] = [];
  rows.forEach((r, u) => {
    const sorted = [...new Set(r)].sort((a, b) => a - b);
    idx.push(...sorted);
    indptr[u + 1] = idx.length;
  });
  return { nRows: rows.length, nCols, indptr, indices: Int32Array.from(idx), values: new Float32Array(idx.length).fill(1) };
}

/**
 * 60 users in two clusters (36 like items 0–19, 24 like items 20–39), each with 10 in-cluster
 * items drawn by a within-cluster Zipf popularity plus one random item; 2 of the in-cluster items
 * are held out per user. Cluster A is bigger, so global popularity favours its items.
 */
function makeToy(): { train: CsrMatrix; test: number[][] } {
  const rng = new Rng(2024);
  const trainRows: number[][] = [];
  const test: number[][] = [];
  const w = Array.from({ length: 20 }, (_, r) => Math.pow(r + 1, -0.7));
  for (let u = 0; u < N_ACTIVE; u++) {
    const base = u < CLUSTER_A_USERS ? 0 : 20;
    const picked = new Set<number>();
    while (picked.size < 10) {
      let x = rng.uniform() * w.reduce((a, b) => a + b, 0);
      let r = 0;
      while (x > w[r] && r < 19) x -= w[r++];
      picked.add(base + r);
    }
    const items = [...picked];
    rng.shuffle(items);
    test.push(items.slice(0, 2));
    const tr = items.slice(2);
    tr.push(rng.int(N_ITEMS));
    trainRows.push(tr.filter((i) => !items.slice(0, 2).includes(i)));
  }
  trainRows.push([], []);
  return { train: csrFromRows(trainRows, N_ITEMS), test };
}

const { train, test } = makeToy();
const ALL_USERS = Int32Array.from({ length: N_USERS }, (_, u) => u);

/** The popularity fallback computed independently: distinct users per item desc, then id asc. */
const POP_ORDER = (() => {
  const c = new Array<number>(N_ITEMS).fill(0);
  for (const i of train.indices) c[i]++;
  return Array.from({ length: N_ITEMS }, (_, i) => i).sort((a, b) => c[b] - c[a] || a - b);
})();

function rowItems(t: TopK, r: number): number[] {
  return Array.from(t.items.subarray(r * t.k, (r + 1) * t.k));
}

function rowScores(t: TopK, r: number): number[] {
  return Array.from(t.scores.subarray(r * t.k, (r + 1) * t.k));
}

function trainRow(u: number): number[] {
  return Array.from(train.indices.subarray(train.indptr[u], train.indptr[u + 1]));
}

/** Shape, id validity, padding only at the end, no duplicates, order (score desc, ties id asc). */
function expectWellFormed(t: TopK, nRows: number, k: number): void {
  expect(t.k).toBe(k);
  expect(t.rows.length).toBe(nRows);
  expect(t.items.length).toBe(nRows * k);
  expect(t.scores.length).toBe(nRows * k);
  for (let r = 0; r < nRows; r++) {
    const items = rowItems(t, r);
    const scores = rowScores(t, r);
    const filled = items.findIndex((i) => i === -1);
    const n = filled === -1 ? k : filled;
    for (let e = 0; e < k; e++) {
      if (e < n) {
        expect(Number.isInteger(items[e]) && items[e] >= 0 && items[e] < N_ITEMS).toBe(true);
        expect(Number.isNaN(scores[e])).toBe(false);
      } else {
        expect(items[e]).toBe(-1);
        expect(Number.isNaN(scores[e])).toBe(true);
      }
    }
    expect(new Set(items.slice(0, n)).size).toBe(n);
    for (let e = 1; e < n; e++) {
      expect(scores[e]).toBeLessThanOrEqual(scores[e - 1]);
      if (scores[e] === scores[e - 1]) expect(items[e]).toBeGreaterThan(items[e - 1]);
    }
  }
}

function recallAt(model: Recommender, k: number): number {
  const users = Int32Array.from({ length: N_ACTIVE }, (_, u) => u);
  const out = model.recommend(users, k, { exclude: train });
  let hit = 0;
  let total = 0;
  for (let u = 0; u < N_ACTIVE; u++) {
    const rec = new Set(rowItems(out, u));
    for (const i of test[u]) {
      total++;
      if (rec.has(i)) hit++;
    }
  }
  return hit / total;
}

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-contract-"));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

const fitted = new Map<ModelKind, Recommender>();
async function fittedModel(kind: ModelKind): Promise<Recommender> {
  let m = fitted.get(kind);
  if (!m) {
    m = await createModel(kind, TOY_CONFIG[kind]).fit(train, { seed: 11 });
    fitted.set(kind, m);
  }
  return m;
}

describe("registry", () => {
  it("covers every kind with a toy config", () => {
    expect([...MODEL_KINDS].sort()).toEqual(Object.keys(TOY_CONFIG).sort());
  });

  it("rejects unknown kinds and unknown config keys", () => {
    expect(() => createModel("nope")).toThrow(/unknown model/);
    expect(() => createModel("ials", { factorz: 3 } as object)).toThrow(/factorz/);
  });
});

describe.each([...MODEL_KINDS])("%s satisfies the Recommender contract", (kind) => {
  it("fits and returns itself", async () => {
    const m = createModel(kind, TOY_CONFIG[kind]);
    expect(m.kind).toBe(kind);
    expect(await m.fit(train, { seed: 11 })).toBe(m);
  });

  it("recommends users.length × k rows, valid ids, scores descending, ties by lower id", async () => {
    const m = await fittedModel(kind);
    for (const k of [1, 7, 15]) expectWellFormed(m.recommend(ALL_USERS, k), N_USERS, k);
    expectWellFormed(m.recommend(ALL_USERS, 10, { exclude: train }), N_USERS, 10);
    const none = m.recommend(ALL_USERS, 0);
    expect(none.items.length).toBe(0);
    expect(m.recommend([], 5).items.length).toBe(0);
    expect(Array.from(m.recommend([3, 3], 4).rows)).toEqual([3, 3]);
  });

  it("gives unknown users and users without history the popularity ranking, without error", async () => {
    const m = await fittedModel(kind);
    const cold = [N_USERS, N_USERS + 500, -1, N_ACTIVE, N_ACTIVE + 1];
    const out = m.recommend(cold, 8);
    expectWellFormed(out, cold.length, 8);
    for (let r = 0; r < cold.length; r++) expect(rowItems(out, r)).toEqual(POP_ORDER.slice(0, 8));
    // an empty history row also falls back, whatever the training row holds
    const emptyHistory = csrFromRows([[], []], N_ITEMS);
    const h = m.recommend([0, 1], 8, { history: emptyHistory });
    for (let r = 0; r < 2; r++) expect(rowItems(h, r)).toEqual(POP_ORDER.slice(0, 8));
    // the fallback honours exclusions too
    const ex = csrFromRows([POP_ORDER.slice(0, 3)], N_ITEMS);
    const hx = m.recommend([0], 5, { history: emptyHistory, exclude: ex });
    expect(rowItems(hx, 0)).toEqual(POP_ORDER.slice(3, 8));
  });

  it("pads with -1/NaN when k exceeds the catalogue, without duplicates", async () => {
    const m = await fittedModel(kind);
    const k = N_ITEMS + 10;
    const users = [0, 40, N_USERS + 3];
    const out = m.recommend(users, k);
    expectWellFormed(out, users.length, k);
    for (let r = 0; r < users.length; r++) {
      const items = rowItems(out, r).filter((i) => i >= 0);
      expect(items.length).toBe(N_ITEMS);
      expect(rowItems(out, r).slice(N_ITEMS).every((i) => i === -1)).toBe(true);
    }
    const ex = m.recommend(users, k, { exclude: train });
    expectWellFormed(ex, users.length, k);
    for (let r = 0; r < users.length; r++) {
      const u = users[r];
      const seen = u < N_USERS ? trainRow(u).length : 0;
      expect(rowItems(ex, r).filter((i) => i >= 0).length).toBe(N_ITEMS - seen);
    }
  });

  it("excludes every seen item", async () => {
    const m = await fittedModel(kind);
    const out = m.recommend(ALL_USERS, 20, { exclude: train });
    for (let u = 0; u < N_USERS; u++) {
      const seen = new Set(trainRow(u));
      for (const i of rowItems(out, u)) expect(seen.has(i)).toBe(false);
    }
  });

  // popularity is history-free by design: it is held to that instead of the fold-in test
  if (kind === "popularity") {
    it("ignores fold-in history by design: two different histories get the same ranking", async () => {
      const m = await fittedModel(kind);
      const rows: number[][] = Array.from({ length: N_USERS + 2 }, () => []);
      rows[N_USERS] = [0, 1, 2, 3, 5];
      rows[N_USERS + 1] = [20, 21, 22, 23, 25];
      const history = csrFromRows(rows, N_ITEMS);
      const out = m.recommend([N_USERS, N_USERS + 1], 5, { history });
      expect(Array.from(out.items.subarray(0, 5))).toEqual(Array.from(out.items.subarray(5, 10)));
    });
  }

  if (kind !== "popularity") it("folds in a history: a cluster-A history yields mostly cluster-A items (and B likewise)", async () => {
    const m = await fittedModel(kind);
    // two new users, absent from training (row ids beyond the training matrix)
    const rows: number[][] = Array.from({ length: N_USERS + 2 }, () => []);
    rows[N_USERS] = [0, 1, 2, 3, 5];
    rows[N_USERS + 1] = [20, 21, 22, 23, 25];
    const history = csrFromRows(rows, N_ITEMS);
    const out = m.recommend([N_USERS, N_USERS + 1], 5, { history, exclude: history });
    expectWellFormed(out, 2, 5);
    const inA = rowItems(out, 0).filter((i) => i >= 0 && clusterOfItem(i) === 0).length;
    const inB = rowItems(out, 1).filter((i) => i >= 0 && clusterOfItem(i) === 1).length;
    expect(inA).toBeGreaterThanOrEqual(4);
    expect(inB).toBeGreaterThanOrEqual(4);
  });

  it("similarItems excludes the item itself, returns valid ids, empty rows for unknown items", async () => {
    const m = await fittedModel(kind);
    const items = [0, 25, 39, N_ITEMS, -1, 10_000];
    const out = m.similarItems(items, 5);
    expectWellFormed(out, items.length, 5);
    expect(Array.from(out.rows)).toEqual(items);
    for (let r = 0; r < 3; r++) {
      const row = rowItems(out, r);
      expect(row.filter((i) => i >= 0).length).toBeGreaterThan(0);
      expect(row.includes(items[r])).toBe(false);
    }
    for (let r = 3; r < items.length; r++) {
      expect(rowItems(out, r).every((i) => i === -1)).toBe(true);
      expect(rowScores(out, r).every((s) => Number.isNaN(s))).toBe(true);
    }
  });

  it("is deterministic: two fits with the same seed give identical outputs", async () => {
    const a = await createModel(kind, TOY_CONFIG[kind]).fit(train, { seed: 5 });
    const b = await createModel(kind, TOY_CONFIG[kind]).fit(train, { seed: 5 });
    const ra = a.recommend(ALL_USERS, 12, { exclude: train });
    const rb = b.recommend(ALL_USERS, 12, { exclude: train });
    expect(Array.from(ra.items)).toEqual(Array.from(rb.items));
    expect(Buffer.from(ra.scores.buffer).equals(Buffer.from(rb.scores.buffer))).toBe(true);
    const sa = a.similarItems([0, 1, 30], 6);
    const sb = b.similarItems([0, 1, 30], 6);
    expect(Array.from(sa.items)).toEqual(Array.from(sb.items));
  });

  it("round-trips through save and loadModel with identical outputs", async () => {
    const m = await fittedModel(kind);
    const dir = path.join(tmpRoot, kind);
    await m.save(dir);
    // saving again over the same directory replaces it
    await m.save(dir);
    const back = await loadModel(dir);
    expect(back.kind).toBe(kind);
    expect(back.config).toEqual(m.config);
    const history = csrFromRows([[0, 1, 2], [21, 22]], N_ITEMS);
    for (const opts of [{}, { exclude: train }, { history }]) {
      const users = "history" in opts ? [0, 1] : Array.from(ALL_USERS);
      const r1 = m.recommend(users, 10, opts);
      const r2 = back.recommend(users, 10, opts);
      expect(Array.from(r2.items)).toEqual(Array.from(r1.items));
      expect(Buffer.from(r2.scores.buffer).equals(Buffer.from(r1.scores.buffer))).toBe(true);
    }
    const s1 = m.similarItems([0, 5, 33], 6);
    const s2 = back.similarItems([0, 5, 33], 6);
    expect(Array.from(s2.items)).toEqual(Array.from(s1.items));
  });

  // popularity is the baseline here, so it is not compared with itself
  if (kind !== "popularity") it("beats popularity on held-out recall@5", async () => {
    const m = await fittedModel(kind);
    const pop = await fittedModel("popularity");
    const rm = recallAt(m, 5);
    const rp = recallAt(pop, 5);
    expect(rm).toBeGreaterThan(rp);
  });
});
