/**
 * Runs NTG under a published protocol and compares the test metrics with the published figures
 * (src/eval/published.ts): RecBole's ML-1M benchmark and Liang et al.'s ML-20M strong
 * generalization (EASE as reported by Steck 2019). Writes
 * experiments/results/published_<id>.json and prints the comparison table.
 *
 *   npx tsx scripts/reproduce-published.ts [recbole-ml-1m|liang-ml-20m ...] [--data <dir>] [--out file.json] [--set key=value ...]
 *
 * The data is read where it lies: --data, else ../shared/data/movielens/<dataset>, else
 * data/<dataset> (`npx ntg data fetch ml-1m`). Exits 2 with a clear message when it is missing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { main } from "../src/cli/main";
import { compareWithPublished, PUBLISHED_BENCHMARKS, type PublishedBenchmark } from "../src/eval/published";
import { writeFileAtomic } from "../src/util/atomic";
import { stableStringify } from "../src/util/stable-json";

const ROOT = path.resolve(__dirname, "..");

function dataDirFor(bench: PublishedBenchmark, explicit: string | null): string | null {
  const candidates = explicit ? [explicit] : [path.join(ROOT, "../shared/data/movielens", bench.dataset), path.join(ROOT, "data", bench.dataset)];
  return candidates.find((c) => fs.existsSync(c)) ?? null;
}

async function reproduce(bench: PublishedBenchmark, dataDir: string, sets: string[], outFile: string | null): Promise<void> {
  const runDirSet = sets.find((s) => s.startsWith("run_dir="));
  const runDir = runDirSet ? path.resolve(runDirSet.slice("run_dir=".length)) : path.join(ROOT, "runs", `published-${bench.id}`);
  const t0 = Date.now();
  const args = ["--config", bench.config, "--set", `dataset.path=${dataDir}`, "--set", `run_dir=${runDir}`, ...sets.filter((s) => s !== runDirSet).flatMap((s) => ["--set", s]), "run-all"];
  const code = await main(args, { out: (s: string) => process.stderr.write(s) });
  if (code !== 0) throw new Error(`${bench.id}: ntg exited ${code}`);
  const report = JSON.parse(fs.readFileSync(path.join(runDir, "outputs/reports/ranking_metrics.json"), "utf8"));
  const rows = compareWithPublished(report, bench);
  // "reach the figure": ours is at least the published value, or the published value lies in our 95% CI
  const reached = rows.every((r) => r.ours !== null && (r.ours >= r.published || r.published_in_ci === true));
  const out = outFile ?? path.join(ROOT, "experiments/results", `published_${bench.id}.json`);
  writeFileAtomic(
    out,
    stableStringify(
      { benchmark: bench, overrides: sets, seconds: Math.round((Date.now() - t0) / 1000), reached, rows, split: JSON.parse(fs.readFileSync(path.join(runDir, "data/processed/splits/metadata.json"), "utf8")) },
      { digits: 6 },
    ),
  );
  console.log(`\n${bench.id} (${bench.source})\n| model | metric | published | NTG [95% CI] | difference |\n|---|---|---|---|---|`);
  for (const r of rows) {
    const ours = r.ours === null ? "missing" : `${r.ours.toFixed(4)} [${r.lower?.toFixed(4)}, ${r.upper?.toFixed(4)}]`;
    console.log(`| ${r.model} | ${r.metric} | ${r.published} | ${ours} | ${r.difference === null ? "–" : r.difference.toFixed(4)} |`);
  }
  console.log(`${reached ? "reached" : "NOT reached"} → ${path.relative(ROOT, out)}`);
}

async function run(): Promise<void> {
  const argv = process.argv.slice(2);
  const ids: string[] = [];
  const sets: string[] = [];
  let data: string | null = null;
  let outFile: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--data") data = path.resolve(argv[++i]);
    else if (argv[i] === "--set") sets.push(argv[++i]);
    else if (argv[i] === "--out") outFile = path.resolve(argv[++i]);
    else ids.push(argv[i]);
  }
  const chosen = ids.length ? ids : PUBLISHED_BENCHMARKS.map((b) => b.id);
  for (const id of chosen) {
    const bench = PUBLISHED_BENCHMARKS.find((b) => b.id === id);
    if (!bench) throw new Error(`unknown benchmark '${id}' (known: ${PUBLISHED_BENCHMARKS.map((b) => b.id).join(", ")})`);
    const dir = dataDirFor(bench, data);
    if (!dir) {
      console.error(`${bench.id}: ${bench.dataset} not found (looked in ../shared/data/movielens/${bench.dataset} and data/${bench.dataset}); get it with \`npx ntg data fetch ${bench.dataset}\` or pass --data <dir>`);
      process.exitCode = 2;
      continue;
    }
    await reproduce(bench, dir, sets, outFile);
  }
}

run().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
