import * as fs from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { generateWorld, loggingPolicy, oraclePolicy, replayPolicy, type ReplayResult, type World } from "../src/data/synthetic";
import { runExperimentCommand } from "../src/experiment/cli";
import type { ExperimentSpec } from "../src/experiment/design";
import {
  dailyPanel,
  genreAffinityPolicy,
  rateEstimate,
  recommenderPolicy,
  replayColumns,
  runWorldLoop,
  simulateAA,
  simulatePeeking,
  simulatePower,
  worldAA,
} from "../src/experiment/simulate";
import { Rng } from "../src/util/rng";
import { tmpDir } from "./helpers/tmp";

let world: World;
let replay: ReplayResult;
let ids: string[];

beforeAll(() => {
  world = generateWorld({ seed: 11, users: 1500, items: 300, days: 90 });
  replay = replayPolicy(world, loggingPolicy(world), { days: 14, seed: 5 });
  ids = Array.from(replay.outcomes.user, (u) => `u${u}`);
});

describe("re-bucketing simulations (plumbing)", () => {
  it("Wilson interval brackets the rate", () => {
    const r = rateEstimate(5, 100);
    expect(r.rate).toBe(0.05);
    expect(r.ci95[0]).toBeGreaterThan(0.015);
    expect(r.ci95[1]).toBeLessThan(0.12);
  });

  it("A/A: false-positive rate per metric and p-value deciles", () => {
    const cols = replayColumns(replay);
    const aa = simulateAA({ userIds: ids, runs: 150, values: { plays: cols.plays, revenue: cols.revenue } });
    for (const m of ["plays", "revenue"]) {
      const r = aa.metrics[m];
      expect(r.runs).toBe(150);
      expect(r.pValueDeciles.reduce((s, x) => s + x, 0)).toBe(150);
      expect(r.rate).toBeLessThan(0.15);
    }
    // different salts give different splits: p-values are not all the same
    expect(Math.max(...aa.metrics.plays.pValueDeciles)).toBeLessThan(150);
  });

  it("peeking: the naive test rejects at least as often as the fixed and sequential ones", () => {
    const panel = dailyPanel(replay, "plays", 14);
    expect(panel.cum.length).toBe(ids.length * 14);
    // cumulative counts end at the replay's totals
    let total = 0;
    for (let j = 0; j < panel.users; j++) total += panel.cum[j * 14 + 13];
    expect(total).toBe(replay.events.length);
    const p = simulatePeeking({ userIds: ids, runs: 80, panel });
    expect(p.looks).toBe(14);
    expect(p.naivePeeking.rate).toBeGreaterThanOrEqual(p.fixedHorizon.rate);
    expect(p.naivePeeking.rate).toBeGreaterThanOrEqual(p.sequentialPeeking.rate);
    expect(p.naiveByLook[13]).toBe(p.naivePeeking.rate);
    expect(p.sequentialPeeking.rate).toBeLessThan(0.2);
  });

  it("power: simulated close to analytic for an injected effect", () => {
    const rng = new Rng(3);
    const values = Float64Array.from({ length: 2000 }, () => rng.gamma(2, 3));
    const userIds = Array.from({ length: 2000 }, (_, i) => `p${i}`);
    const r = simulatePower({ userIds, values, runs: 150, targetPowers: [0.5, 0.9] });
    expect(r.points.map((p) => p.analytic)).toEqual([expect.closeTo(0.5, 6), expect.closeTo(0.9, 6)]);
    for (const p of r.points) expect(Math.abs(p.difference)).toBeLessThan(0.15);
  });
});

describe("policies", () => {
  it("a recommender policy fills slates from the model's top-k and stops when the model runs dry", () => {
    // a fake model that only ever knows 30 items, best first
    const model = {
      recommend: (users: Int32Array | readonly number[], k: number) => {
        const n = Math.min(k, 30);
        return { rows: Int32Array.from(users), k, items: Int32Array.from({ length: n }, (_, i) => i), scores: new Float32Array(n) };
      },
    };
    const policy = recommenderPolicy(world, model);
    const consumed = new Set<number>(Array.from({ length: 25 }, (_, i) => i));
    const ctx = { ts: world.endTs, rng: new Rng(1), lastItem: -1, consumed: { has: (i: number) => consumed.has(i), size: consumed.size } };
    expect(Array.from(policy(0, 0, 10, ctx))).toEqual([25, 26, 27, 28, 29]);
    const genre = genreAffinityPolicy(world);
    const slate = Array.from(genre(3, 0, 10, { ...ctx, consumed: { has: () => false, size: 0 } }));
    expect(new Set(slate).size).toBe(10);
  });
});

describe("world-based simulations", () => {
  it("world A/A replays with fresh seeds", () => {
    const r = worldAA({ world, runs: 3, days: 7, seed: 100, users: Int32Array.from({ length: 600 }, (_, i) => i) });
    expect(r.metrics.plays.runs).toBe(3);
    expect(Object.keys(r.metrics)).toEqual(["plays", "active_days", "retained", "revenue"]);
  });

  it("world loop: the oracle arm's true effect on plays is positive and the report sets estimate beside truth", () => {
    const spec: ExperimentSpec = {
      name: "loop",
      arms: [
        { name: "control", weight: 1 / 3 },
        { name: "genre", weight: 1 / 3 },
        { name: "oracle", weight: 1 / 3 },
      ],
      metrics: [
        { name: "revenue", type: "mean", covariate: "pre_revenue" },
        { name: "plays", type: "mean", covariate: "pre_plays" },
        { name: "retained", type: "proportion" },
      ],
      primary: { metric: "revenue" },
      guardrails: [{ metric: "retained", direction: "must not decrease", tolerance: 0.02 }],
    };
    const r = runWorldLoop({
      world,
      spec,
      days: 21,
      seed: 9,
      policies: {
        control: { policy: loggingPolicy(world), description: "logging" },
        genre: { policy: genreAffinityPolicy(world), description: "genre" },
        oracle: { policy: oraclePolicy(world), description: "oracle" },
      },
    });
    const oraclePlays = r.truth.find((t) => t.arm === "oracle" && t.metric === "plays");
    expect(oraclePlays?.trueEffect).toBeGreaterThan(0);
    expect(oraclePlays?.estimate).toBeGreaterThan(0);
    expect(r.truth).toHaveLength(6);
    for (const t of r.truth) {
      expect(Number.isFinite(t.estimate)).toBe(true);
      expect(Number.isFinite(t.trueEffect)).toBe(true);
    }
    expect(r.decisions.map((d) => d.arm)).toEqual(["genre", "oracle"]);
    expect(r.settings.enrolled).toBe(1500);
    expect(r.replays.oracle.playsPerUser).toBeGreaterThan(r.replays.control.playsPerUser);
  });

  it("`experiment simulate` writes the report with a truth section, and `analyse` reproduces it from the CSV", async () => {
    const dir = tmpDir();
    const config = { name: "tiny", simulate: { world: { users: 800, items: 200, days: 60 }, days: 14, policies: ["logging", "oracle"] } };
    const sim = await runExperimentCommand("simulate", { config, runDir: dir, out: () => {} });
    const md = fs.readFileSync(sim.files[1], "utf8");
    expect(md).toContain("## Truth (synthetic world)");
    expect(md).toContain("| arm | metric | estimate | CI | p adj | true effect |");
    const truth = JSON.parse(fs.readFileSync(sim.files[2], "utf8"));
    expect(truth.truth[0]).toHaveProperty("estimate");
    expect(truth.truth[0]).toHaveProperty("trueEffect");
    const again = await runExperimentCommand("analyse", { config, runDir: tmpDir(), input: sim.files[3], out: () => {} });
    expect(again.analysis?.overall.decision).toBe(sim.analysis?.overall.decision);
    expect(again.analysis?.comparisons[0].absolute.estimate).toBeCloseTo(sim.analysis?.comparisons[0].absolute.estimate as number, 9);
  });
});
