import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Duck, sqlString } from "../src/data/duck";
import { buildTasteAxes, loadItemCatalog, writeTasteAxes, type ItemCatalog, type TasteAxes } from "../src/taste/axes";
import { randomizedSvd } from "../src/taste/svd";
import { Rng } from "../src/util/rng";
import { tmpDir } from "./helpers/tmp";

const GENRES = ["Action", "Comedy", "Documentary", "Drama", "Horror", "Romance"];
const PER_GENRE = 12;
const N_ITEMS = GENRES.length * PER_GENRE;
const N_USERS = 800;

/**
 * Two planted taste axes: z1 (sd 1.2) trades Action against Romance, z2 (sd 0.6) Horror against
 * Comedy; Drama and Documentary are neutral. Item i has genre floor(i / 12); every sixth item
 * also carries Drama, so multi-genre items are exercised.
 */
function world(seed: number) {
  const rng = new Rng(seed);
  const z1 = new Float64Array(N_USERS);
  const z2 = new Float64Array(N_USERS);
  const userId: number[] = [];
  const itemId: number[] = [];
  for (let u = 0; u < N_USERS; u++) {
    z1[u] = rng.normal(0, 1.2);
    z2[u] = rng.normal(0, 0.6);
    const w = [Math.exp(z1[u]), Math.exp(-z2[u]), 1, 1, Math.exp(z2[u]), Math.exp(-z1[u])];
    const wsum = w.reduce((a, b) => a + b, 0);
    const n = 20 + rng.int(30);
    for (let e = 0; e < n; e++) {
      let x = rng.uniform() * wsum;
      let g = 0;
      while (g < GENRES.length - 1 && x >= w[g]) x -= w[g++];
      userId.push(u);
      itemId.push(g * PER_GENRE + rng.int(PER_GENRE));
    }
  }
  const indptr = new Int32Array(N_ITEMS + 1);
  const idx: number[] = [];
  const titles: string[] = [];
  for (let i = 0; i < N_ITEMS; i++) {
    const g = Math.floor(i / PER_GENRE);
    const gs = i % 6 === 5 && g !== 3 ? [g, 3].sort((a, b) => a - b) : [g];
    idx.push(...gs);
    indptr[i + 1] = idx.length;
    titles.push(`${GENRES[g]} film ${i % PER_GENRE}`);
  }
  const catalog: ItemCatalog = {
    genreNames: GENRES,
    itemGenres: { nRows: N_ITEMS, nCols: GENRES.length, indptr, indices: Int32Array.from(idx), values: new Float32Array(idx.length).fill(1) },
    titles,
  };
  return { train: { userId: Int32Array.from(userId), itemId: Int32Array.from(itemId), length: userId.length }, catalog, z1, z2 };
}

function corr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

function column(coords: Float32Array, n: number, k: number, c: number): Float64Array {
  return Float64Array.from({ length: n }, (_, r) => coords[r * k + c]);
}

function ends(axis: TasteAxes["genre"]["axes"][number]): string[] {
  return [axis.positive[0].genre, axis.negative[0].genre].sort();
}

describe("taste axes on two planted genre axes", () => {
  const w = world(5);
  const axes = buildTasteAxes(w.train, N_USERS, N_ITEMS, w.catalog, { genreAxes: 4, itemAxes: 3, seed: 1 });

  it("genre PCA: the first two axes are the planted ones, in order of strength", () => {
    const g = axes.genre;
    expect(ends(g.axes[0])).toEqual(["Action", "Romance"]);
    expect(ends(g.axes[1])).toEqual(["Comedy", "Horror"]);
    const evr = g.axes.map((a) => a.explainedVarianceRatio);
    expect(evr[0]).toBeGreaterThan(evr[1]);
    expect(evr[1]).toBeGreaterThan(evr[2]);
    expect(evr.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-9);
    expect(Math.abs(corr(column(g.userCoords, N_USERS, g.k, 0), w.z1))).toBeGreaterThan(0.85);
    expect(Math.abs(corr(column(g.userCoords, N_USERS, g.k, 1), w.z2))).toBeGreaterThan(0.6);
    expect(g.axes[0].label).toMatch(/^(Action|Romance)\b.* vs (Action|Romance)\b/);
  });

  it("sign convention: each axis's largest-magnitude genre loading is positive", () => {
    const { loadings, k } = axes.genre;
    for (let c = 0; c < k; c++) {
      let best = 0;
      for (let gi = 1; gi < GENRES.length; gi++) if (Math.abs(loadings[gi * k + c]) > Math.abs(loadings[best * k + c])) best = gi;
      expect(loadings[best * k + c]).toBeGreaterThan(0);
      expect(axes.genre.axes[c].positive[0].genre).toBe(GENRES[best]);
    }
    // item coordinates of genre axes: a pure-Action film sits at the Action end of axis 1
    const a1 = axes.genre.axes[0];
    const actionSign = a1.positive[0].genre === "Action" ? 1 : -1;
    expect(actionSign * axes.genre.itemCoords[0 * k + 0]).toBeGreaterThan(0);
    expect(a1.positiveItems.every((it) => it.title?.startsWith(a1.positive[0].genre))).toBe(true);
  });

  it("user × item PCA recovers the same axes, labelled by genre and titled items", () => {
    const it1 = axes.item.axes[0];
    expect(ends(it1)).toEqual(["Action", "Romance"]);
    expect(ends(axes.item.axes[1])).toEqual(["Comedy", "Horror"]);
    expect(it1.explainedVarianceRatio).toBeGreaterThan(axes.item.axes[1].explainedVarianceRatio);
    expect(it1.positiveItems.length).toBe(5);
    expect(it1.positiveItems.every((x) => x.title?.startsWith(it1.positive[0].genre))).toBe(true);
    expect(it1.negativeItems.every((x) => x.title?.startsWith(it1.negative[0].genre))).toBe(true);
    expect(Math.abs(corr(column(axes.item.userCoords, N_USERS, axes.item.k, 0), w.z1))).toBeGreaterThan(0.8);
  });

  it("is deterministic: same values and signs across runs, and the orientation does not depend on the seed", () => {
    const again = buildTasteAxes(w.train, N_USERS, N_ITEMS, w.catalog, { genreAxes: 4, itemAxes: 3, seed: 1 });
    expect(again.genre.userCoords).toEqual(axes.genre.userCoords);
    expect(again.item.userCoords).toEqual(axes.item.userCoords);
    expect(again.item.itemCoords).toEqual(axes.item.itemCoords);
    expect(again.genre.axes).toEqual(axes.genre.axes);
    expect(again.item.axes).toEqual(axes.item.axes);
    const other = buildTasteAxes(w.train, N_USERS, N_ITEMS, w.catalog, { genreAxes: 4, itemAxes: 3, seed: 99 });
    expect(other.item.axes[0].label).toBe(axes.item.axes[0].label);
    expect(corr(column(other.item.itemCoords, N_ITEMS, 3, 0), column(axes.item.itemCoords, N_ITEMS, 3, 0))).toBeGreaterThan(0.999);
  });

  it("randomised SVD matches the exact top singular values of a small dense matrix", () => {
    // 30 × 8 matrix with a known spectrum: A = Σ s_c u_c v_cᵀ with orthonormal u, v from Gram–Schmidt
    const rng = new Rng(2);
    const n = 30;
    const m = 8;
    const dense = new Float64Array(n * m);
    for (let i = 0; i < dense.length; i++) dense[i] = rng.normal();
    const ptr = Int32Array.from({ length: n + 1 }, (_, r) => r * m);
    const idx = Int32Array.from({ length: n * m }, (_, p) => p % m);
    const r = randomizedSvd({ nRows: n, nCols: m, ptr, idx, val: dense }, 3, { seed: 4, powerIterations: 8 });
    // exact singular values from the eigenvalues of AᵀA by power iteration with deflation
    const ata = new Float64Array(m * m);
    for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) for (let i = 0; i < n; i++) ata[a * m + b] += dense[i * m + a] * dense[i * m + b];
    for (let c = 0; c < 3; c++) {
      let v = new Float64Array(m).fill(1);
      let lambda = 0;
      for (let it = 0; it < 2000; it++) {
        const nv = new Float64Array(m);
        for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) nv[a] += ata[a * m + b] * v[b];
        lambda = Math.sqrt(nv.reduce((s, x) => s + x * x, 0));
        v = nv.map((x) => x / lambda);
      }
      expect(r.s[c]).toBeCloseTo(Math.sqrt(lambda), 6);
      for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) ata[a * m + b] -= lambda * v[a] * v[b];
    }
  });
});

describe("taste axes output", () => {
  let db: Duck;
  let dir: string;
  beforeAll(async () => {
    db = await Duck.open({ threads: 1 });
    dir = tmpDir("ntg-axes-");
  });
  afterAll(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("loads the catalogue from items.parquet and writes user_axes, item_axes and axes.json", async () => {
    const w = world(8);
    const itemsFile = path.join(dir, "items.parquet");
    const values = Array.from({ length: N_ITEMS }, (_, i) => {
      const gs = Array.from(w.catalog.itemGenres.indices.subarray(w.catalog.itemGenres.indptr[i], w.catalog.itemGenres.indptr[i + 1])).map((g) => GENRES[g]);
      if (i === 0) gs.push("(no genres listed)");
      return `(${i}, ${sqlString(`k${i}`)}, ${sqlString(w.catalog.titles?.[i] ?? "")}, [${gs.map(sqlString).join(", ")}]::VARCHAR[], 2000)`;
    }).join(", ");
    await db.copyToParquet(`SELECT * FROM (VALUES ${values}) t(item_id, item_key, title, genres, release_year) ORDER BY item_id`, itemsFile);
    const catalog = await loadItemCatalog(db, itemsFile, N_ITEMS);
    expect(catalog.genreNames).toEqual(GENRES);
    expect(catalog.itemGenres.indices).toEqual(w.catalog.itemGenres.indices);
    expect(catalog.titles?.[13]).toBe("Comedy film 1");

    // one user with no events: NULL coordinates
    const axes = buildTasteAxes(w.train, N_USERS + 1, N_ITEMS, catalog, { genreAxes: 3, itemAxes: 2 });
    const out = path.join(dir, "axes");
    const n = await writeTasteAxes(db, axes, out);
    expect(n).toEqual({ users: N_USERS + 1, items: N_ITEMS });
    const cols = await db.rows<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(path.join(out, "user_axes.parquet"))})`);
    expect(cols.map((c) => c.column_name)).toEqual(["user_id", "genre_axis_1", "genre_axis_2", "genre_axis_3", "item_axis_1", "item_axis_2"]);
    const last = await db.one<{ g: number | null; i: number | null }>(
      `SELECT genre_axis_1 AS g, item_axis_1 AS i FROM read_parquet(${sqlString(path.join(out, "user_axes.parquet"))}) WHERE user_id = ${N_USERS}`,
    );
    expect(last).toEqual({ g: null, i: null });
    const first = await db.one<{ g: number }>(`SELECT genre_axis_1 AS g FROM read_parquet(${sqlString(path.join(out, "user_axes.parquet"))}) WHERE user_id = 0`);
    expect(first.g).toBeCloseTo(axes.genre.userCoords[0], 5);
    const summary = JSON.parse(fs.readFileSync(path.join(out, "axes.json"), "utf8"));
    expect(summary.genre.axes[0].label).toBe(axes.genre.axes[0].label);
    expect(summary.item.axes).toHaveLength(2);
    expect(typeof summary.genre.axes[0].explainedVarianceRatio).toBe("number");
  });
});
