import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { analyseExperiment, type PerUserTable } from "../src/experiment/analyse";
import { defaultExperimentConfig, experimentSpecFromConfig, validateExperimentConfig } from "../src/experiment/config";
import { runExperimentCommand } from "../src/experiment/cli";
import { assignByDesign, planExperiment, validateExperimentSpec, type ExperimentSpec } from "../src/experiment/design";
import { holmBonferroni } from "../src/experiment/multiple";
import { writeExperimentReport } from "../src/experiment/report";
import { ConfigError, InputError } from "../src/util/errors";
import { Rng } from "../src/util/rng";
import { tmpDir, writeFile } from "./helpers/tmp";

/** A two- or three-arm design over columns y (mean, covariate x), conv (proportion), num/den (ratio). */
function spec(over: Partial<ExperimentSpec> = {}): ExperimentSpec {
  return {
    name: "hand",
    arms: [
      { name: "A", weight: 0.5 },
      { name: "B", weight: 0.5 },
    ],
    metrics: [
      { name: "y", type: "mean" },
      { name: "conv", type: "proportion" },
      { name: "rpu", type: "ratio", numerator: "num", denominator: "den" },
    ],
    primary: { metric: "y" },
    ...over,
  };
}

/** Per-arm sizes and additive effects on y; x is a covariate correlated with y. */
function table(sizes: Record<string, number>, effects: Record<string, number> = {}, seed = 1): PerUserTable & { arm: string[] } {
  const rng = new Rng(seed);
  const arm: string[] = [];
  const user: string[] = [];
  const cols = { y: [] as number[], x: [] as number[], conv: [] as number[], num: [] as number[], den: [] as number[] };
  let id = 0;
  for (const [a, n] of Object.entries(sizes)) {
    for (let i = 0; i < n; i++) {
      const x = rng.normal(10, 2);
      arm.push(a);
      user.push(`u${id++}`);
      cols.x.push(x);
      cols.y.push(x + rng.normal(0, 1) + (effects[a] ?? 0));
      cols.conv.push(rng.uniform() < 0.3 ? 1 : 0);
      const den = 1 + rng.int(5);
      cols.den.push(den);
      cols.num.push(den * rng.uniform() * 4);
    }
  }
  return { arm, user, columns: Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, Float64Array.from(v)])) };
}

describe("design validation", () => {
  it("fills defaults", () => {
    const s = validateExperimentSpec(spec());
    expect(s.key).toBe("hand");
    expect(s.control).toBe("A");
    expect(s.scheme).toBe("growthbook-v2");
    expect(s.correction).toBe("holm");
    expect(s.metrics[0].column).toBe("y");
    expect(s.roi).toEqual({ valuePerUnit: 1, costPerUser: 0, fixedCost: 0, population: null, basis: "estimate" });
  });

  it("rejects bad designs naming the key", () => {
    const bad = (over: Partial<ExperimentSpec>, re: RegExp): void => {
      expect(() => validateExperimentSpec(spec(over))).toThrow(re);
      expect(() => validateExperimentSpec(spec(over))).toThrow(ConfigError);
    };
    bad({ arms: [{ name: "A", weight: 0.5 }, { name: "B", weight: 0.4 }] }, /experiment\.arms.*sum to 1, got 0\.9 \(A=0\.5, B=0\.4\)/);
    bad({ arms: [{ name: "A", weight: 1 }] }, /at least two arms/);
    bad({ arms: [{ name: "A", weight: 0.5 }, { name: "A", weight: 0.5 }] }, /arms\[1\]\.name.*duplicate arm name 'A'/);
    bad({ arms: [{ name: "A", weight: 1 }, { name: "B", weight: 0 }] }, /arm 'B' has weight 0/);
    bad({ control: "Z" }, /control.*'Z' is not an arm/);
    bad({ primary: { metric: "nope" } }, /primary\.metric.*'nope' is not a metric/);
    bad({ metrics: [{ name: "r", type: "ratio", numerator: "n" }] }, /ratio metric 'r' needs both numerator and denominator/);
    bad({ metrics: [{ name: "y", type: "mean" }, { name: "y", type: "mean" }] }, /metrics\[1\]\.name.*duplicate metric name 'y'/);
    bad({ guardrails: [{ metric: "zz", direction: "must not decrease", tolerance: 0 }] }, /guardrails\[0\]\.metric/);
    bad({ alpha: 1.5 }, /experiment\.alpha/);
    bad({ name: "bad name/x" }, /experiment\.name/);
    bad({ layer: { id: "L", start: 0.6, end: 0.2 } }, /experiment\.layer/);
  });

  it("config section: schema errors, defaults inside lists, and design errors with config key names", () => {
    const d = validateExperimentConfig({});
    expect(d).toEqual(defaultExperimentConfig());
    const c = validateExperimentConfig({ metrics: [{ name: "revenue" }], guardrails: [], primary: { metric: "revenue" }, simulate: { policies: ["logging", "oracle"] } });
    expect(c.metrics[0]).toEqual({ name: "revenue", type: "mean", column: null, numerator: null, denominator: null, covariate: null, baseline_mean: null, baseline_sd: null });
    expect(c.primary.goal).toBe("increase");
    expect(() => validateExperimentConfig({ aplha: 0.1 })).toThrow(/experiment\.aplha.*did you mean 'alpha'/);
    expect(() => validateExperimentConfig({ arms: [{ name: "a", weight: 0.7 }, { name: "b", weight: 0.7 }] })).toThrow(/experiment\.arms.*sum to 1/);
    expect(() => validateExperimentConfig({ arms: [{ name: "a", weight: 0.5 }, { name: "b", weight: 0.25 }, { name: "c", weight: 0.25 }] })).toThrow(/simulate\.policies.*one policy per arm/);
    expect(() => validateExperimentConfig({ srm_threshold: 0 })).toThrow(/experiment\.srm_threshold/);
    expect(experimentSpecFromConfig(d).srmThreshold).toBe(0.001);
  });

  it("assigns users deterministically by the design", () => {
    const s = validateExperimentSpec(spec({ holdout: { key: "h", fraction: 0.1 } }));
    const ids = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    const a1 = assignByDesign(s, ids);
    const a2 = assignByDesign(s, ids);
    expect(a1.arm).toEqual(a2.arm);
    expect(a1.holdout).toBeGreaterThan(120);
    expect(a1.holdout).toBeLessThan(280);
    expect(a1.counts.A + a1.counts.B + a1.holdout + a1.notEnrolled).toBe(2000);
  });

  it("plans sample size and MDE per metric and arm", () => {
    const s = validateExperimentSpec(spec({ metrics: [{ name: "y", type: "mean" }, { name: "conv", type: "proportion" }] }));
    const p = planExperiment(s, { power: 0.8, relativeEffects: [0.05], users: 2000, baselines: { y: { mean: 10, sd: 5 }, conv: { mean: 0.3, sd: Math.sqrt(0.21) } } });
    const y = p.sampleSizes.find((r) => r.metric === "y") as (typeof p.sampleSizes)[number];
    // n per arm = 2·(z_.975 + z_.8)²·σ²/δ² = 2·7.849·25/0.25 ≈ 1569.8
    expect(y.nControl).toBe(1570);
    expect(y.totalUsers).toBe(3140);
    expect(p.mde.find((r) => r.metric === "y")?.mdeAbsolute).toBeCloseTo(Math.sqrt((2 * 7.84887 * 25) / 1000), 3);
    expect(() => planExperiment(s, { power: 0.8, relativeEffects: [0.05], baselines: {} })).toThrow(/metric 'y' has no planning baseline/);
  });
});

describe("analysis of a hand-made per-user table", () => {
  it("per-arm means, Welch effect and CUPED variance reduction", () => {
    const t = table({ A: 400, B: 400 }, { B: 0.5 });
    const a = analyseExperiment(spec({ metrics: [{ name: "y", type: "mean", covariate: "x" }, { name: "conv", type: "proportion" }] }), t);
    const mean = (arm: string, col: string): number => {
      let s = 0;
      let n = 0;
      t.arm.forEach((x, i) => {
        if (x === arm) {
          s += t.columns[col][i];
          n++;
        }
      });
      return s / n;
    };
    expect(a.arms.map((x) => x.users)).toEqual([400, 400]);
    expect(a.arms[0].metrics.y.mean).toBeCloseTo(mean("A", "y"), 10);
    expect(a.arms[1].metrics.conv.mean).toBeCloseTo(mean("B", "conv"), 10);
    const y = a.comparisons.find((c) => c.metric === "y");
    expect(y?.cuped?.varianceReduction).toBeGreaterThan(0.5);
    expect(y?.cuped?.unadjusted.estimate).toBeCloseTo(mean("B", "y") - mean("A", "y"), 10);
    expect(y?.cuped?.unadjusted.se).toBeGreaterThan(y?.absolute.se as number);
    expect(y?.absolute.ci[0]).toBeLessThan(0.5);
    expect(y?.absolute.ci[1]).toBeGreaterThan(0.5);
    expect(y?.bayes.chanceToBeatControl).toBeGreaterThan(0.99);
    expect(a.srm.mismatch).toBe(false);
    expect(a.text).toContain("CUPED variance reduction");
  });

  it("flags SRM on a 60/40 split under 50/50 weights and rolls back", () => {
    const a = analyseExperiment(spec(), table({ A: 600, B: 400 }, { B: 2 }));
    expect(a.srm.mismatch).toBe(true);
    expect(a.srm.pValue).toBeLessThan(1e-9);
    expect(a.decisions[0].decision).toBe("roll back");
    expect(a.decisions[0].summary).toMatch(/sample ratio mismatch/);
    expect(a.warnings.join(" ")).toMatch(/sample ratio mismatch/);
  });

  it("Holm across 3 arms and 3 metrics", () => {
    const s = spec({
      arms: [
        { name: "A", weight: 1 / 3 },
        { name: "B", weight: 1 / 3 },
        { name: "C", weight: 1 / 3 },
      ],
    });
    const a = analyseExperiment(s, table({ A: 300, B: 300, C: 300 }, { B: 0.3, C: 0 }));
    expect(a.comparisons).toHaveLength(6);
    const raw = a.comparisons.map((c) => c.absolute.pValue);
    expect(a.comparisons.map((c) => c.absolute.pAdjusted)).toEqual(holmBonferroni(raw));
    expect(a.comparisons.every((c) => c.absolute.pAdjusted >= c.absolute.pValue)).toBe(true);
    expect(a.decisions.map((d) => d.arm)).toEqual(["B", "C"]);
    const bh = analyseExperiment({ ...s, correction: "bh" }, table({ A: 300, B: 300, C: 300 }, { B: 0.3 }));
    expect(bh.comparisons.every((c, i) => c.absolute.pAdjusted <= a.comparisons[i].absolute.pAdjusted + 1e-15)).toBe(true);
  });

  it("decision branches: ship, ROI roll back, keep running, guardrail harm, sequential", () => {
    const big = table({ A: 500, B: 500 }, { B: 1 });
    const ship = analyseExperiment(spec({ roi: { valuePerUnit: 2, costPerUser: 0.5 } }), big);
    expect(ship.decisions[0].decision).toBe("ship");
    expect(ship.overall).toMatchObject({ decision: "ship", arm: "B" });
    expect(ship.decisions[0].expectedIncrementalRevenue).toBeCloseTo(ship.comparisons[0].absolute.estimate * 2 * 1000, 6);
    const costly = analyseExperiment(spec({ roi: { valuePerUnit: 2, fixedCost: 1e6 } }), big);
    expect(costly.decisions[0].decision).toBe("roll back");
    expect(costly.decisions[0].summary).toMatch(/does not pay/);
    const flat = analyseExperiment(spec(), table({ A: 500, B: 500 }, {}, 3));
    expect(flat.decisions[0].decision).toBe("keep running");
    const harmed = analyseExperiment(spec({ primary: { metric: "y", goal: "decrease" }, guardrails: [{ metric: "y", direction: "must not increase", tolerance: 0.1 }] }), big);
    expect(harmed.decisions[0].decision).toBe("roll back");
    expect(harmed.decisions[0].summary).toMatch(/guardrail 'y' harmed/);
    const rel = analyseExperiment(spec({ guardrails: [{ metric: "rpu", direction: "must not decrease", tolerance: 0.5, scale: "relative" }] }), big);
    expect(rel.decisions[0].checks.find((c) => c.check === "guardrail")?.name).toBe("rpu (relative)");
    const seq = analyseExperiment(spec({ sequential: { enabled: true } }), big);
    const c = seq.comparisons[0];
    expect(seq.decisions[0].basis).toBe("sequential");
    expect(c.sequential?.ci[0]).toBeLessThan(c.absolute.ci[0]);
    expect(c.sequential?.pValue).toBeGreaterThan(c.absolute.pValue);
  });

  it("bad inputs give errors naming the arm, metric and counts", () => {
    const three = spec({
      arms: [
        { name: "A", weight: 0.4 },
        { name: "B", weight: 0.3 },
        { name: "C", weight: 0.3 },
      ],
    });
    expect(() => analyseExperiment(three, table({ A: 50, B: 50 }))).toThrow(/arm 'C' has zero users \(observed: A=50, B=50, C=0\)/);
    const t = table({ A: 50, B: 50 });
    const zero = { ...t, columns: { ...t.columns, y: Float64Array.from(t.arm, (a) => (a === "B" ? 3 : 1)) } };
    expect(() => analyseExperiment(spec(), zero)).toThrow(/metric 'y': arm 'A' has zero variance/);
    const dup = { ...t, user: t.user ? Array.from(t.user, (u, i) => (i === 60 ? "u3" : String(u))) : null };
    expect(() => analyseExperiment(spec(), dup)).toThrow(/duplicate assignments: 1 extra rows.*'u3' \(arms 'A' and 'B'\)/);
    const y = Float64Array.from(t.columns.y);
    y[1] = NaN;
    y[70] = NaN;
    y[71] = NaN;
    expect(() => analyseExperiment(spec(), { ...t, columns: { ...t.columns, y } })).toThrow(/metric 'y': value column 'y' is missing \(NULL\/NaN\) for 3 of 100 users \('A': 1, 'B': 2\)/);
    const labels = t.arm.map((a, i) => (i < 3 ? "b" : a));
    expect(() => analyseExperiment(spec(), { ...t, arm: labels })).toThrow(/3 of 100 users have an arm label that is not in the design: 'b' \(3 users\)/);
    expect(() => analyseExperiment(spec(), { ...t, columns: { y: t.columns.y } })).toThrow(/metric 'conv': value column 'conv' is not in the table/);
    const conv = Float64Array.from(t.columns.conv);
    conv[5] = 2;
    expect(() => analyseExperiment(spec(), { ...t, columns: { ...t.columns, conv } })).toThrow(/proportion metric 'conv': 1 users have a value other than 0 or 1/);
    expect(() => analyseExperiment(spec(), { arm: [], columns: {} })).toThrow(InputError);
  });
});

describe("reports and the CLI", () => {
  it("report JSON is byte-identical across two runs; Markdown is written too", () => {
    const s = spec({ metrics: [{ name: "y", type: "mean", covariate: "x" }, { name: "conv", type: "proportion" }], sequential: { enabled: true, targetN: 2000 } });
    const d1 = tmpDir();
    const d2 = tmpDir();
    const w1 = writeExperimentReport(analyseExperiment(s, table({ A: 300, B: 300 }, { B: 0.2 })), d1);
    const w2 = writeExperimentReport(analyseExperiment(s, table({ A: 300, B: 300 }, { B: 0.2 })), d2);
    expect(path.basename(w1.json)).toBe("experiment_hand.json");
    expect(fs.readFileSync(w1.json).equals(fs.readFileSync(w2.json))).toBe(true);
    expect(fs.readFileSync(w1.markdown).equals(fs.readFileSync(w2.markdown))).toBe(true);
    const md = fs.readFileSync(w1.markdown, "utf8");
    for (const h of ["## Sample ratio", "## CUPED", "## Sequential", "## Bayesian summary", "## Decisions"]) expect(md).toContain(h);
    expect(fs.readdirSync(d1).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("analyse reads CSV through DuckDB, design plans from it, and bad files fail clearly", async () => {
    const dir = tmpDir();
    const t = table({ A: 200, B: 200 }, { B: 0.5 });
    const csv = ["user,arm,y,x", ...t.arm.map((a, i) => `${(t.user as string[])[i]},${a},${t.columns.y[i]},${t.columns.x[i]}`)].join("\n");
    const file = writeFile(dir, "users.csv", `${csv}\n`);
    const config = {
      name: "csv",
      arms: [
        { name: "A", weight: 0.5 },
        { name: "B", weight: 0.5 },
      ],
      metrics: [{ name: "y", covariate: "x" }],
      primary: { metric: "y" },
      guardrails: [],
      input: { path: file },
      design: { users: 400 },
      simulate: { policies: ["logging", "genre"] },
    };
    const sink: string[] = [];
    const r = await runExperimentCommand("analyse", { config, runDir: dir, out: (s) => sink.push(s) });
    expect(r.files.map((f) => path.basename(f))).toEqual(["experiment_csv.json", "experiment_csv.md"]);
    expect(r.analysis?.arms.map((x) => x.users)).toEqual([200, 200]);
    expect(r.analysis?.comparisons[0].cuped?.varianceReduction).toBeGreaterThan(0.5);
    expect(sink.join("")).toContain("Overall:");
    const plan = await runExperimentCommand("design", { config, runDir: dir, out: () => {} });
    expect(plan.plan?.sampleSizes.length).toBe(4);
    expect(plan.plan?.mde[0].nControl).toBe(200);

    const withNull = writeFile(dir, "nulls.csv", `${csv.replace(/\n(u5,[AB]),[^,]*,/, "\n$1,,")}\n`);
    await expect(runExperimentCommand("analyse", { config, runDir: dir, input: withNull, out: () => {} })).rejects.toThrow(/metric 'y': value column 'y' is missing \(NULL\/NaN\) for 1 of 400 users/);
    const dupFile = writeFile(dir, "dup.csv", `${csv}\nu7,B,1,2\n`);
    await expect(runExperimentCommand("analyse", { config, runDir: dir, input: dupFile, out: () => {} })).rejects.toThrow(/duplicate assignments: 1 users appear more than once.*'u7' \(2 rows; arms A, B\)/);
    const noArm = writeFile(dir, "noarm.csv", "user,group,y,x\nu1,A,1,2\n");
    await expect(runExperimentCommand("analyse", { config, runDir: dir, input: noArm, out: () => {} })).rejects.toThrow(/arm column 'arm' is not in the table/);
    await expect(runExperimentCommand("analyse", { config: { ...config, input: { path: null } }, runDir: dir, out: () => {} })).rejects.toThrow(/experiment\.input\.path/);
  });
});
