import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CsrMatrix } from "../src/data/csr";
import { Duck } from "../src/data/duck";
import { buildProtocolInputs, evaluateModel, loadProtocol, unionCsr, type EvalProtocol } from "../src/eval/protocol";
import { gridPoints, randomPoints, searchHyperparameters } from "../src/eval/search";
import { splitInteractions } from "../src/split";
import type { FitContext, RecommendOptions, Recommender, TopK } from "../src/taste/recommender";
import { InputError } from "../src/util/errors";
import { T0, toyEvents, writeToyInteractions, type ToyEvent } from "./helpers/toy-interactions";

let db: Duck;
let tmp: string;

beforeAll(async () => {
  db = await Duck.open({ threads: 2 });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-protocol-"));
});
afterAll(() => {
  db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Writes each part of a hand-made split as canonical Parquet; pairs are [user, item]. */
async function writeSplit(name: string, parts: Record<string, [number, number][]>, strategy?: string): Promise<string> {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  let idx = 0;
  for (const [part, pairs] of Object.entries(parts)) {
    const events: ToyEvent[] = pairs.map(([user, item], i) => ({ user, item, ts: T0 + i, rating: 1 + (item % 5), event_idx: idx++ }));
    await writeToyInteractions(db, path.join(dir, `${part}.parquet`), events);
  }
  if (strategy) fs.writeFileSync(path.join(dir, "metadata.json"), JSON.stringify({ strategy }));
  return dir;
}

function row(m: CsrMatrix, r: number): number[] {
  return r < m.nRows ? Array.from(m.indices.subarray(m.indptr[r], m.indptr[r + 1])) : [];
}

/** Training-popularity recommender (ties: lower id) honouring `exclude`; `reverse` ranks least popular first. */
class PopModel implements Recommender<{ reverse: boolean; alpha: number }> {
  readonly kind = "pop";
  readonly config: { reverse: boolean; alpha: number };
  private pop = new Float64Array(0);
  constructor(config: Partial<{ reverse: boolean; alpha: number }> = {}) {
    this.config = { reverse: config.reverse ?? false, alpha: config.alpha ?? 1 };
  }
  async fit(train: CsrMatrix, _ctx?: FitContext): Promise<this> {
    this.pop = new Float64Array(train.nCols);
    for (const i of train.indices) this.pop[i] += 1;
    return this;
  }
  recommend(users: Int32Array | readonly number[], k: number, opts: RecommendOptions = {}): TopK {
    const rows = Int32Array.from(users);
    const n = this.pop.length;
    const sign = this.config.reverse ? -1 : 1;
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => sign * (this.pop[b] - this.pop[a]) || a - b);
    const items = new Int32Array(rows.length * k).fill(-1);
    const scores = new Float32Array(rows.length * k).fill(Number.NaN);
    rows.forEach((u, r) => {
      const ex = new Set(opts.exclude ? row(opts.exclude, u) : []);
      let s = 0;
      for (const it of order) {
        if (s >= k) break;
        if (ex.has(it)) continue;
        items[r * k + s] = it;
        scores[r * k + s] = sign * this.pop[it];
        s++;
      }
    });
    return { rows, k, items, scores };
  }
  similarItems(items: Int32Array | readonly number[], k: number): TopK {
    const rows = Int32Array.from(items);
    return { rows, k, items: new Int32Array(rows.length * k).fill(-1), scores: new Float32Array(rows.length * k).fill(Number.NaN) };
  }
  async save(): Promise<void> {}
}

describe("per-user chronological / global time / random protocol", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writeSplit("chrono", {
      train: [[0, 0], [0, 1], [0, 2], [1, 1], [1, 3], [2, 4]],
      val: [[0, 3], [1, 4]],
      // user 1's item 1 repeats train (excluded → dropped); items 5 and 6 never occur in train; user 3 is cold
      test: [[0, 4], [0, 5], [1, 1], [1, 6], [3, 2]],
    });
  });

  it("val: history = exclude = train, relevant = val", async () => {
    const p = await buildProtocolInputs(db, { dir, strategy: "per_user_chronological", part: "val" });
    expect(p.nUsers).toBe(4);
    expect(p.nItems).toBe(7);
    expect(Array.from(p.users)).toEqual([0, 1]);
    expect(p.historyIsTrain).toBe(true);
    expect(row(p.exclude, 0)).toEqual([0, 1, 2]);
    expect(row(p.relevant, 0)).toEqual([3]);
    expect(row(p.relevant, 1)).toEqual([4]);
  });

  it("test: counts unseen targets, drops excluded targets, keeps cold users; val not masked", async () => {
    const p = await buildProtocolInputs(db, { dir, strategy: "global_time", part: "test" });
    expect(Array.from(p.users)).toEqual([0, 1, 3]);
    expect(row(p.relevant, 0)).toEqual([4, 5]);
    expect(row(p.relevant, 1)).toEqual([6]);
    expect(row(p.exclude, 0)).toEqual([0, 1, 2]);
    expect(p.counts).toMatchObject({
      targetEvents: 5,
      targetPairs: 5,
      partUsers: 3,
      unseenTargets: 2,
      unseenTargetsDropped: 0,
      excludedTargetsDropped: 1,
      coldUsers: 1,
      evaluatedUsers: 3,
      targets: 4,
      maskedValPairs: 0,
      usersWithoutTargets: 0,
    });
  });

  it("options: drop unseen targets, drop cold users, mask val", async () => {
    const a = await buildProtocolInputs(db, { dir, strategy: "random", part: "test", unseenTargets: "drop" });
    expect(Array.from(a.users)).toEqual([0, 3]);
    expect(a.counts.unseenTargetsDropped).toBe(2);
    expect(a.counts.usersWithoutTargets).toBe(1);
    const b = await buildProtocolInputs(db, { dir, strategy: "random", part: "test", coldUsers: "drop" });
    expect(Array.from(b.users)).toEqual([0, 1]);
    expect(b.counts.coldUsersDropped).toBe(1);
    expect(row(b.relevant, 3)).toEqual([]);
    const c = await buildProtocolInputs(db, { dir, strategy: "per_user_chronological", part: "test", maskValAtTest: true });
    expect(row(c.exclude, 0)).toEqual([0, 1, 2, 3]);
    expect(c.counts.maskedValPairs).toBe(2);
  });

  it("graded relevance from ratings", async () => {
    const p = await buildProtocolInputs(db, { dir, strategy: "per_user_chronological", part: "test", relevance: "rating" });
    // fixture ratings are 1 + item % 5
    expect(Array.from(p.relevant.values.subarray(p.relevant.indptr[0], p.relevant.indptr[1]))).toEqual([5, 1]);
  });

  it("an explicit catalogue size is respected; ids outside it are an error", async () => {
    const p = await buildProtocolInputs(db, { dir, strategy: "random", part: "val", nItems: 20 });
    expect(p.nItems).toBe(20);
    expect(p.relevant.nCols).toBe(20);
    await expect(buildProtocolInputs(db, { dir, strategy: "random", part: "val", nItems: 5 })).rejects.toThrow(InputError);
  });
});

describe("leave-last-out protocol", () => {
  let dir: string;
  let protocol: EvalProtocol;
  beforeAll(async () => {
    dir = await writeSplit(
      "llo",
      {
        train: [[0, 0], [0, 1], [1, 0], [1, 2], [2, 0], [2, 1], [2, 3], [3, 1], [3, 2]],
        val: [[0, 2], [1, 1], [2, 2], [3, 0]],
        test: [[0, 3], [1, 3], [2, 4], [3, 3]],
      },
      "leave_last_out",
    );
    protocol = await loadProtocol(db, { dir, nItems: 6 });
  });

  it("reads the strategy from metadata.json and refuses a contradicting one", async () => {
    expect(protocol.strategy).toBe("leave_last_out");
    await expect(loadProtocol(db, { dir, strategy: "random" })).rejects.toThrow(/metadata/);
  });

  it("valOnly (tuning) loads train and val without a test file, and refuses test", async () => {
    const noTest = await writeSplit("llo-no-test", { train: [[0, 0], [0, 1], [1, 0], [1, 2]], val: [[0, 2], [1, 1]] }, "leave_last_out");
    expect(fs.existsSync(path.join(noTest, "test.parquet"))).toBe(false);
    await expect(loadProtocol(db, { dir: noTest, nItems: 6 })).rejects.toThrow(/test/);
    const p = await loadProtocol(db, { dir: noTest, nItems: 6, valOnly: true });
    expect(p.val?.relevant.indices.length).toBe(2);
    expect(p.filesRead.map((f) => path.basename(f))).toEqual(["train.parquet", "val.parquet"]);
    expect(() => p.test).toThrow(/valOnly/);
  });

  it("masks the val item at test time", () => {
    expect(row(protocol.test.exclude, 0)).toEqual([0, 1, 2]);
    expect(row(protocol.test.exclude, 3)).toEqual([0, 1, 2]);
    expect(protocol.test.counts.maskedValPairs).toBe(4);
    expect(row(protocol.val!.exclude, 0)).toEqual([0, 1]);
  });

  it("a popularity model cannot waste slot 1 on the val item at test time", async () => {
    const m = await new PopModel().fit(protocol.train);
    const masked = evaluateModel(m, protocol, { part: "test", ks: [1, 2] });
    expect(masked.metrics.mean["hit_rate@1"]).toBe(1);
    expect(masked.excludedItemsListed).toBe(0);
    const unmaskedProtocol = await loadProtocol(db, { dir, nItems: 6, maskValAtTest: false });
    const unmasked = evaluateModel(m, unmaskedProtocol, { part: "test", ks: [1, 2] });
    expect(unmasked.metrics.mean["hit_rate@1"]).toBe(0);
    expect(unmasked.metrics.mean["hit_rate@2"]).toBe(1);
  });

  it("train+val history", async () => {
    const p = await loadProtocol(db, { dir, nItems: 6, testHistory: "train+val" });
    expect(p.test.historyIsTrain).toBe(false);
    expect(row(p.test.history, 0)).toEqual([0, 1, 2]);
    expect(row(p.val!.history, 0)).toEqual([0, 1]);
  });

  it("warns when test is evaluated more than once or for several configurations", async () => {
    const p = await loadProtocol(db, { dir, nItems: 6 });
    const a = await new PopModel().fit(p.train);
    expect(evaluateModel(a, p, { part: "test", ks: [1] }).warnings).toEqual([]);
    expect(evaluateModel(a, p, { part: "test", ks: [1] }).warnings.join(" ")).toMatch(/already evaluated on test/);
    const b = await new PopModel({ reverse: true }).fit(p.train);
    expect(evaluateModel(b, p, { part: "test", ks: [1] }).warnings.join(" ")).toMatch(/2 configurations of pop/);
    // val evaluations are free
    expect(evaluateModel(b, p, { part: "val", ks: [1] }).warnings).toEqual([]);
  });

  it("beyond-accuracy measures ride along", async () => {
    const m = await new PopModel().fit(protocol.train);
    const ev = evaluateModel(m, protocol, { part: "val", ks: [2], beyond: true });
    expect(ev.beyond!.coverage.catalogue).toBe(4);
    expect(ev.beyond!.novelty.users).toBe(4);
  });
});

describe("strong generalization protocol", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writeSplit("strong", {
      train: [[0, 0], [0, 1], [0, 2], [1, 1], [1, 2], [1, 3]],
      val: [[2, 0], [2, 5], [2, 1], [2, 6]],
      test: [[3, 2], [3, 3], [3, 8], [4, 7], [4, 8]],
      val_foldin: [[2, 0], [2, 5]],
      val_holdout: [[2, 1], [2, 6]],
      test_foldin: [[3, 2], [4, 7]],
      test_holdout: [[3, 3], [3, 8], [4, 8]],
    });
  });

  it("evaluates held-out users only, history = fold-in, items absent from train dropped and counted", async () => {
    const p = await loadProtocol(db, { dir, strategy: "strong_generalization" });
    const v = p.val!;
    expect(Array.from(v.users)).toEqual([2]);
    expect(v.historyIsTrain).toBe(false);
    expect(row(v.history, 2)).toEqual([0]);
    expect(row(v.exclude, 2)).toEqual([0, 5]);
    expect(row(v.relevant, 2)).toEqual([1]);
    expect(v.counts).toMatchObject({ historyUnseenDropped: 1, unseenTargets: 1, unseenTargetsDropped: 1, evaluatedUsers: 1 });
    expect(row(v.history, 0)).toEqual([]); // training users have no fold-in history
    const t = p.test;
    expect(Array.from(t.users)).toEqual([3]);
    expect(row(t.relevant, 3)).toEqual([3]);
    expect(t.counts).toMatchObject({ unseenTargetsDropped: 2, usersWithoutTargets: 1, historyUnseenDropped: 1, partUsers: 2 });
  });

  it("passes the fold-in history to the model", async () => {
    const p = await loadProtocol(db, { dir, strategy: "strong_generalization" });
    let seen: RecommendOptions | undefined;
    const m = await new PopModel().fit(p.train);
    const spy: Recommender = {
      kind: m.kind,
      config: m.config,
      fit: m.fit.bind(m) as Recommender["fit"],
      recommend: (u, k, o) => {
        seen = o;
        return m.recommend(u, k, o);
      },
      similarItems: m.similarItems.bind(m),
      save: m.save.bind(m),
    };
    const ev = evaluateModel(spy, p, { part: "val", ks: [1] });
    expect(seen!.history).toBe(p.val!.history);
    // popularity: items 1, 2 (2 users each) then 0, 3; item 0 excluded (fold-in) → [1]: a hit
    expect(ev.metrics.mean["recall@1"]).toBe(1);
  });

  it("agrees with a real split's cold-start counts", async () => {
    const input = path.join(tmp, "toy.parquet");
    await writeToyInteractions(db, input, toyEvents(40, 25, 8));
    const out = path.join(tmp, "sg-real");
    const meta = await splitInteractions(db, { input, outDir: out, strategy: "strong_generalization", n_heldout_users: 8, seed: 3 });
    fs.writeFileSync(path.join(out, "metadata.json"), JSON.stringify(meta));
    const p = await loadProtocol(db, { dir: out });
    expect(p.strategy).toBe("strong_generalization");
    expect(p.val!.counts.partUsers).toBe(8);
    expect(p.test.counts.partUsers).toBe(8);
    expect(p.val!.users.length + p.val!.counts.usersWithoutTargets).toBe(8);
    // targets never touch items absent from train
    const trainItems = new Set(p.train.indices);
    for (const it of p.test.relevant.indices) expect(trainItems.has(it)).toBe(true);
    expect(meta.cold_start.test_items_not_in_train === 0 || p.test.counts.unseenTargetsDropped + p.test.counts.historyUnseenDropped > 0).toBe(true);
  });
});

describe("unionCsr", () => {
  it("merges sorted rows", () => {
    const a: CsrMatrix = { nRows: 2, nCols: 5, indptr: Int32Array.from([0, 2, 3]), indices: Int32Array.from([0, 3, 1]), values: Float32Array.from([1, 1, 1]) };
    const b: CsrMatrix = { nRows: 2, nCols: 5, indptr: Int32Array.from([0, 2, 2]), indices: Int32Array.from([1, 3]), values: Float32Array.from([2, 2]) };
    const u = unionCsr(a, b);
    expect(row(u, 0)).toEqual([0, 1, 3]);
    expect(Array.from(u.values.subarray(0, 3))).toEqual([1, 2, 1]);
    expect(row(u, 1)).toEqual([1]);
  });
});

describe("hyper-parameter search", () => {
  let protocol: EvalProtocol;
  beforeAll(async () => {
    const dir = path.join(tmp, "llo");
    protocol = await loadProtocol(db, { dir, nItems: 6 });
  });

  it("grid points are deterministic, names sorted, last fastest", () => {
    expect(gridPoints({ reverse: [false, true], alpha: [1, 2] })).toEqual([
      { alpha: 1, reverse: false },
      { alpha: 1, reverse: true },
      { alpha: 2, reverse: false },
      { alpha: 2, reverse: true },
    ]);
    expect(() => gridPoints({ a: { uniform: [0, 1] } })).toThrow(InputError);
  });

  it("random points are seeded and stay in their domains", () => {
    const space = { a: { uniform: [0, 1] }, b: { logUniform: [1e-3, 1] }, c: { int: [2, 5] }, d: ["x", "y"] } as const;
    const p1 = randomPoints(space, 20, 7);
    expect(randomPoints(space, 20, 7)).toEqual(p1);
    expect(randomPoints(space, 20, 8)).not.toEqual(p1);
    for (const p of p1) {
      expect(p.a as number).toBeGreaterThanOrEqual(0);
      expect(p.b as number).toBeGreaterThanOrEqual(1e-3);
      expect([2, 3, 4, 5]).toContain(p.c);
      expect(["x", "y"]).toContain(p.d);
    }
  });

  it("scores every trial on val and picks the best (earliest on ties) without touching test", async () => {
    const before = protocol.testLog.length;
    const res = await searchHyperparameters((p) => new PopModel({ reverse: p.reverse as boolean, alpha: p.alpha as number }), protocol, {
      space: { reverse: [true, false], alpha: [1, 2] },
      method: "grid",
      metric: "ndcg@2",
    });
    expect(res.trials).toHaveLength(4);
    expect(res.best.params).toEqual({ alpha: 1, reverse: false });
    expect(res.best.index).toBe(1);
    expect(res.trials[3].score).toBe(res.best.score);
    expect(protocol.testLog.length).toBe(before);
    const again = await searchHyperparameters((p) => new PopModel({ reverse: p.reverse as boolean }), protocol, {
      space: { reverse: [true, false], alpha: [1, 2] },
      method: "grid",
      metric: "ndcg@2",
    });
    expect(again.trials.map((t) => t.score)).toEqual(res.trials.map((t) => t.score));
    await expect(searchHyperparameters(() => new PopModel(), protocol, { space: { a: [1] }, method: "random", metric: "ndcg@2" })).rejects.toThrow(/nTrials/);
  });
});
