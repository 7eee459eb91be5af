import { beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { main } from "../src/cli/main";
import { readManifest, type StageManifest } from "../src/pipeline/manifest";
import { auditNoTest } from "../src/pipeline/runner";
import { LeakageError } from "../src/util/errors";
import { tmpDir } from "./helpers/tmp";

const ROOT = path.resolve(__dirname, "..");
const DEV = path.join(ROOT, "configs/dev.yaml");

async function ntg(args: string[]) {
  let out = "";
  let err = "";
  const code = await main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe("ntg tune fits exactly what build-embeddings refits", () => {
  const runDir = tmpDir("ntg-tune-");
  // a power-user cap that binds on the dev world, so ItemKNN depends on the fit context's recency
  // (capStrategy "recent" needs lastTs; without it the graph falls back to a seeded sample)
  const args = [
    "--config", DEV,
    "--set", `run_dir=${runDir}`,
    "--set", "graph.power_user_cap=5",
    "--set", "embeddings.models=[itemknn]",
    "--set", "rank.sources=[graph,popularity]",
    "--set", "evaluate.ranker=false",
    "--set", "tune.models=[itemknn]",
    "--set", "tune.method=grid",
    "--set", 'tune.spaces={"itemknn":{"k":[50],"similarity":["cosine"],"shrinkage":[0]}}',
    "--quiet",
  ];

  beforeAll(async () => {
    const r = await ntg([...args, "run-all"]);
    expect(r.code).toBe(0);
  }, 240_000);

  it("the trial with the configured params scores what the evaluate stage reports on val", async () => {
    const r = await ntg([...args, "tune"]);
    expect(r.code).toBe(0);
    const tuning = JSON.parse(fs.readFileSync(path.join(runDir, "outputs/reports/tuning.json"), "utf8"));
    const report = JSON.parse(fs.readFileSync(path.join(runDir, "outputs/reports/ranking_metrics.json"), "utf8"));
    expect(tuning.models.itemknn.trials).toHaveLength(1);
    const trial = tuning.models.itemknn.best.score as number;
    const evaluated = report.val.comparison.metrics["ndcg@10"].models.itemknn.mean as number;
    expect(trial).toBeGreaterThan(0);
    expect(trial).toBeCloseTo(evaluated, 12);
  }, 120_000);

  it("reruns the search when the models' base params change", async () => {
    const same = await ntg([...args, "tune"]);
    expect(same.out).toMatch(/tune\s+skipped/);
    const changed = await ntg([...args, "--set", "embeddings.params.itemknn.normalization=l1", "tune"]);
    expect(changed.code).toBe(0);
    expect(changed.out).toMatch(/tune\s+ran/);
  }, 120_000);

  it("never opens test: the manifest lists the split files read and the runner audits them", () => {
    const m = readManifest(runDir, "tune") as StageManifest;
    expect(m.details.split_files_read).toEqual(["data/processed/splits/train.parquet", "data/processed/splits/val.parquet"]);
    expect(() => auditNoTest(m)).not.toThrow();
    const leaky = { ...m, details: { split_files_read: ["data/processed/splits/train.parquet", "data/processed/splits/test.parquet"] } };
    expect(() => auditNoTest(leaky)).toThrowError(LeakageError);
  });
});
