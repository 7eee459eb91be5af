import { describe, expect, it } from "vitest";
import * as path from "node:path";
import { loadConfig, applySet } from "../src/pipeline/config";
import { ConfigError } from "../src/util/errors";
import { tmpDir, writeFile } from "./helpers/tmp";

const ROOT = path.resolve(__dirname, "..");

describe("loadConfig", () => {
  it("loads every shipped config", () => {
    for (const f of ["base", "dev", "ml-100k", "ml-1m", "ml-latest-small", "ml-25m", "events-example"]) {
      const c = loadConfig(path.join(ROOT, "configs", `${f}.yaml`));
      expect(c.config.name).toBe(f);
      expect(c.runDir).toBe(path.join(ROOT, "runs", f));
    }
  });

  it("follows extends and merges mappings key by key", () => {
    const dev = loadConfig(path.join(ROOT, "configs/dev.yaml")).config;
    expect(dev.dataset.synthetic).toMatchObject({ users: 300, startDate: "2024-01-01" });
    expect(dev.split.fractions).toEqual({ train: 0.8, val: 0.1, test: 0.1 });
  });

  it("applies --set overrides parsed as YAML", () => {
    const c = loadConfig(path.join(ROOT, "configs/dev.yaml"), ["split.strategy=leave_last_out", "seed=7", "split.kcore={users: 2, items: 3}"]).config;
    expect(c.split.strategy).toBe("leave_last_out");
    expect(c.seed).toBe(7);
    expect(c.split.kcore).toEqual({ users: 2, items: 3 });
  });

  it("rejects an unknown key with its path and a suggestion", () => {
    const dir = tmpDir();
    const f = writeFile(dir, "bad.yaml", "split:\n  stratgy: random\n");
    expect(() => loadConfig(f)).toThrowError(/bad\.yaml: config key 'split\.stratgy': unknown key \(did you mean 'strategy'\?\)/);
  });

  it("rejects a wrong type, an out-of-range value and a bad enum", () => {
    const dir = tmpDir();
    expect(() => loadConfig(writeFile(dir, "a.yaml", "seed: abc\n"))).toThrowError(/'seed': expected a number, got string/);
    expect(() => loadConfig(writeFile(dir, "b.yaml", "validation:\n  max_bad_fraction: 2\n"))).toThrowError(/'validation\.max_bad_fraction': must be <= 1/);
    expect(() => loadConfig(writeFile(dir, "c.yaml", "split:\n  strategy: sideways\n"))).toThrowError(/must be one of per_user_chronological/);
    expect(() => loadConfig(writeFile(dir, "d.yaml", "split:\n  fractions: {train: 0.5, val: 0.1, test: 0.1}\n"))).toThrowError(/train \+ val \+ test must be 1/);
  });

  it("requires a path for non-synthetic sources and reports a missing config file", () => {
    const dir = tmpDir();
    expect(() => loadConfig(writeFile(dir, "e.yaml", "dataset:\n  source: movielens\n"))).toThrowError(/'dataset\.path': required/);
    expect(() => loadConfig(path.join(dir, "missing.yaml"))).toThrowError(ConfigError);
    expect(() => loadConfig(path.join(dir, "missing.yaml"))).toThrowError(/config file not found/);
  });

  it("reports invalid YAML and circular extends", () => {
    const dir = tmpDir();
    expect(() => loadConfig(writeFile(dir, "y.yaml", "a: [1, 2\n"))).toThrowError(/invalid YAML/);
    writeFile(dir, "p.yaml", "extends: q.yaml\n");
    writeFile(dir, "q.yaml", "extends: p.yaml\n");
    expect(() => loadConfig(path.join(dir, "p.yaml"))).toThrowError(/circular extends/);
  });

  it("applySet rejects an assignment without '='", () => {
    expect(() => applySet({}, "seed")).toThrowError(/key\.path=value/);
  });
});
