import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../util/atomic";
import { sha256File } from "../util/hash";
import { stableStringify } from "../util/stable-json";
import type { TimeRange } from "../data/schema";
import { VERSION } from "../version";

/** What a stage records about one run: enough to skip it next time and to audit leakage. */
export interface StageManifest {
  stage: string;
  ntg_version: string;
  node_version: string;
  duckdb_version: string;
  /** hash of the config keys this stage depends on */
  config_hash: string;
  /** input files (relative to the run dir where inside it) → sha256 */
  inputs: Record<string, string>;
  /** output files → sha256 */
  outputs: Record<string, string>;
  /** row counts of the outputs */
  rows: Record<string, number>;
  /** min/max event time (unix seconds) of the data the stage read */
  time_range_read: TimeRange;
  /** true when the stage read only training-side data (everything after the split must) */
  train_only: boolean | null;
  /** wall-clock seconds; the one field that differs between identical runs */
  timings: { seconds: number };
  /** stage-specific facts (counts, warnings) */
  details: Record<string, unknown>;
}

/** Path of a stage's manifest inside the run directory. */
export function manifestPath(runDir: string, stage: string): string {
  return path.join(runDir, "manifests", `${stage}.json`);
}

/** Reads a manifest, or null when the stage never completed. */
export function readManifest(runDir: string, stage: string): StageManifest | null {
  const p = manifestPath(runDir, stage);
  if (!fs.existsSync(p)) return null;
  try {
    return JSON.parse(fs.readFileSync(p, "utf8")) as StageManifest;
  } catch {
    return null;
  }
}

/** Writes a manifest atomically with stable key order. */
export function writeManifest(runDir: string, m: StageManifest): void {
  writeFileAtomic(manifestPath(runDir, m.stage), stableStringify(m));
}

/** sha256 of each file, keyed by its path relative to `runDir` when inside it. */
export function hashFiles(runDir: string, files: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of [...files].sort()) out[relativeToRun(runDir, f)] = sha256File(f);
  return out;
}

/** A path relative to the run dir when inside it, else absolute. */
export function relativeToRun(runDir: string, f: string): string {
  const rel = path.relative(runDir, f);
  return rel.startsWith("..") || path.isAbsolute(rel) ? path.resolve(f) : rel.split(path.sep).join("/");
}
