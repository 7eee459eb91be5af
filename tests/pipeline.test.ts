import { beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { main, COMMANDS } from "../src/cli/main";
import { loadConfig } from "../src/pipeline/config";
import { auditTrainOnly } from "../src/pipeline/runner";
import { readManifest, writeManifest, type StageManifest } from "../src/pipeline/manifest";
import { LeakageError } from "../src/util/errors";
import { sha256File } from "../src/util/hash";
import { tmpDir } from "./helpers/tmp";

const ROOT = path.resolve(__dirname, "..");
const DEV = path.join(ROOT, "configs/dev.yaml");

async function ntg(args: string[]) {
  let out = "";
  let err = "";
  const code = await main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

/** sha256 of every Parquet and JSON output under the run dir, manifests excluded. */
function outputHashes(runDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== "manifests") walk(p);
      } else if (/\.(parquet|json)$/.test(e.name)) out[path.relative(runDir, p)] = sha256File(p);
    }
  };
  walk(runDir);
  return out;
}

describe("ntg run-all on the dev world", () => {
  const runDir = tmpDir("ntg-run-");
  const args = ["--config", DEV, "--set", `run_dir=${runDir}`, "--quiet"];
  let first: Awaited<ReturnType<typeof ntg>>;
  let firstHashes: Record<string, string>;

  beforeAll(async () => {
    first = await ntg([...args, "run-all"]);
    firstHashes = outputHashes(runDir);
  }, 180_000);

  it("runs every stage and prints a summary with the output paths", () => {
    expect(first.err).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    for (const s of ["generate", "validate", "build-dataset", "build-features", "build-graph", "build-embeddings", "rank", "evaluate", "score-users"]) {
      expect(first.out).toMatch(new RegExp(`${s}\\s+ran`));
    }
    expect(first.out).toMatch(/interactions\.parquet/);
    for (const f of [
      "data/processed/interactions.parquet",
      "data/processed/quarantine.parquet",
      "data/processed/splits/train.parquet",
      "data/processed/splits/val.parquet",
      "data/processed/splits/test.parquet",
      "data/processed/splits/metadata.json",
      "data/features/user_features.parquet",
      "data/features/item_features.parquet",
      "data/features/interaction_features.parquet",
      "manifests/build-features.json",
      "outputs/graph/item_item.parquet",
      "outputs/embeddings/axes.json",
      "outputs/embeddings/models/ease/model.json",
      "outputs/recommendations/topk.parquet",
      "outputs/reports/ranking_metrics.json",
      "outputs/churn/churn_scores.parquet",
      "outputs/churn/user_risk.parquet",
      "outputs/reports/revenue_risk_summary.json",
    ]) {
      expect(fs.existsSync(path.join(runDir, f)), f).toBe(true);
    }
  });

  it("records hashes, rows and the time range read in each manifest; features read train only", () => {
    const m = readManifest(runDir, "build-features") as StageManifest;
    expect(m.train_only).toBe(true);
    expect(Object.keys(m.inputs)).toEqual(["data/processed/items.parquet", "data/processed/splits/train.parquet"]);
    const split = readManifest(runDir, "build-dataset") as StageManifest;
    expect(m.time_range_read.max).toBeLessThanOrEqual(split.details.train_max_ts as number);
    const v = readManifest(runDir, "validate") as StageManifest;
    expect(v.rows.read).toBe(v.rows.kept + v.rows.quarantined);
    expect(v.duckdb_version).toMatch(/^v1\./);
  });

  it("skips every stage on a second run", async () => {
    const second = await ntg([...args, "run-all"]);
    expect(second.code).toBe(0);
    for (const s of ["generate", "validate", "build-dataset", "build-features", "build-graph", "build-embeddings", "rank", "evaluate", "score-users"]) {
      expect(second.out).toMatch(new RegExp(`${s}\\s+skipped`));
    }
  }, 120_000);

  it("reruns with --force and produces byte-identical Parquet and JSON", async () => {
    const forced = await ntg([...args, "--force", "run-all"]);
    expect(forced.code).toBe(0);
    expect(forced.out).toMatch(/generate\s+ran/);
    expect(outputHashes(runDir)).toEqual(firstHashes);
    expect(Object.keys(firstHashes).length).toBeGreaterThan(15);
  }, 180_000);

  it("reruns only what a config change affects", async () => {
    const changed = await ntg([...args, "--set", "features.decay_half_life_days=10", "run-all"]);
    expect(changed.code).toBe(0);
    expect(changed.out).toMatch(/build-dataset\s+skipped/);
    expect(changed.out).toMatch(/build-features\s+ran/);
  }, 120_000);

  it("the graph, embeddings and ranking read training data only", () => {
    const split = readManifest(runDir, "build-dataset") as StageManifest;
    for (const stage of ["build-graph", "build-embeddings", "rank"]) {
      const m = readManifest(runDir, stage) as StageManifest;
      expect(m.train_only).toBe(true);
      expect(Object.keys(m.inputs).some((f) => /splits\/(val|test)/.test(f))).toBe(false);
      expect(m.time_range_read.max).toBeLessThanOrEqual(split.details.train_max_ts as number);
    }
  });

  it("tune searches on val only and records every trial", async () => {
    const r = await ntg([...args, "--set", "tune.trials=2", "--set", "tune.models=[ease]", "tune"]);
    expect(r.code).toBe(0);
    const m = readManifest(runDir, "tune") as StageManifest;
    expect(Object.keys(m.inputs).some((f) => /splits\/test/.test(f))).toBe(false);
    expect(Object.keys(m.inputs).some((f) => /splits\/val\.parquet/.test(f))).toBe(true);
    const t = JSON.parse(fs.readFileSync(path.join(runDir, "outputs/reports/tuning.json"), "utf8"));
    expect(t.part).toBe("val");
    expect(t.models.ease.trials).toHaveLength(2);
    expect(Number.isFinite(t.models.ease.best.score)).toBe(true);
  }, 120_000);

  it("fails the run when a train-only stage read held-out data", () => {
    const m = readManifest(runDir, "build-features") as StageManifest;
    const leakyInputs = { ...m, inputs: { ...m.inputs, "data/processed/splits/test.parquet": "x" } };
    expect(() => auditTrainOnly(runDir, leakyInputs)).toThrowError(LeakageError);
    expect(() => auditTrainOnly(runDir, leakyInputs)).toThrowError(/read held-out split files: data\/processed\/splits\/test\.parquet/);
    const split = readManifest(runDir, "build-dataset") as StageManifest;
    const late = { ...m, time_range_read: { min: 0, max: (split.details.train_max_ts as number) + 1 } };
    expect(() => auditTrainOnly(runDir, late)).toThrowError(/later than the training data/);
  });

  it("recovers from an interrupted run: stale temp files are removed and a broken output reruns its stage", async () => {
    const tmp = path.join(runDir, "data/processed/.interactions.parquet.tmp-999-1");
    fs.writeFileSync(tmp, "half-written");
    const feat = path.join(runDir, "data/features/user_features.parquet");
    fs.writeFileSync(feat, "corrupted");
    const r = await ntg([...args, "--set", "features.decay_half_life_days=10", "run-all"]);
    expect(r.code).toBe(0);
    expect(fs.existsSync(tmp)).toBe(false);
    expect(r.out).toMatch(/build-features\s+ran/);
    expect(fs.readFileSync(feat).subarray(0, 4).toString()).toBe("PAR1");
  }, 120_000);
});

describe("ntg CLI", () => {
  it("--help lists every command", async () => {
    const r = await ntg(["--help"]);
    expect(r.code).toBe(0);
    for (const [c] of COMMANDS) expect(r.out).toContain(c.split(" <")[0]);
    for (const c of ["run-all", "build-dataset", "build-features", "validate", "data fetch", "data generate"]) expect(r.out).toContain(c);
  });

  it("a bad config is one clear line and exit code 1", async () => {
    const r = await ntg(["--config", DEV, "--set", "split.stratgy=x", "config"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^ntg: error: .*config key 'split\.stratgy': unknown key/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it("an unknown command or option is a usage error (exit 2)", async () => {
    expect((await ntg(["--config", DEV, "fly"])).code).toBe(2);
    expect((await ntg(["--bogus"])).code).toBe(2);
  });

  it("a missing dataset is one clear error, not a stack trace", async () => {
    const dir = tmpDir();
    const r = await ntg(["--config", path.join(ROOT, "configs/ml-100k.yaml"), "--set", `dataset.path=${dir}/nowhere`, "--set", `run_dir=${dir}/run`, "validate"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^ntg: error: .*nowhere: MovieLens folder not found/m);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it("--log-json writes one JSON object per line", async () => {
    const dir = tmpDir();
    const r = await ntg(["--config", DEV, "--set", `run_dir=${dir}`, "--log-json", "stages"]);
    expect(r.code).toBe(0);
    const r2 = await ntg(["--config", DEV, "--set", `run_dir=${dir}`, "--set", "dataset.source=movielens", "--set", `dataset.path=${dir}/x`, "--log-json", "validate"]);
    expect(r2.code).toBe(1);
    const lines = r2.err.trim().split("\n");
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(lines.map((l) => JSON.parse(l).event)).toContain("run.failed");
  });

  it("config prints the resolved configuration", async () => {
    const r = await ntg(["--config", DEV, "config"]);
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.out);
    expect(parsed.config.name).toBe("dev");
    expect(parsed.run_dir).toBe(loadConfig(DEV).runDir);
  });
});

void writeManifest;
