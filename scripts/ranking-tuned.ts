/**
 * Val-driven hyper-parameter search for iALS, EASE and ItemKNN on the real MovieLens copies, then
 * one test evaluation of the selected settings against the defaults (issue #3).
 *
 * For each dataset × protocol, all through the CLI:
 *   1. `ntg run-all` with the default hyper-parameters (runs/tuned/<dataset>-<protocol>/default),
 *   2. `ntg tune` in the same run directory: a grid search scored on val only (ndcg@10),
 *   3. `ntg run-all` with the selected settings as `--set embeddings.params.<model>.<p>=<v>`
 *      (runs/tuned/<dataset>-<protocol>/tuned) — test is evaluated once per configuration,
 *   4. paired bootstrap of default vs tuned on the test users (per-user metrics of both runs).
 * Writes experiments/results/ranking_tuned_<dataset>_<protocol>.json and rewrites the tuned section
 * of experiments/results/ranking_summary.md from every ranking_tuned_*.json (deterministic).
 *
 *   npx tsx scripts/ranking-tuned.ts [--shared ../shared] [--only ml-100k] [--protocol leave_last_out] [--summary-only]
 *
 * The data is read where it lies (never copied into the repository).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { main } from "../src/cli/main";
import { compareModels } from "../src/eval/compare";
import { readPerUserRuns } from "../src/notebook/experiment-views";
import type { PreparedTasteRun } from "../src/notebook/taste-views";
import { readManifest } from "../src/pipeline/manifest";
import { tasteLayout } from "../src/pipeline/stages-taste";
import { stableStringify } from "../src/util/stable-json";
import { RANKING_DATASETS, type RankingProtocol } from "./ranking-protocols";

const ROOT = path.resolve(__dirname, "..");
const RESULTS = path.join(ROOT, "experiments/results");
const SUMMARY = path.join(RESULTS, "ranking_summary.md");
/** The tuned section starts at this heading; scripts/ranking-experiments.ts keeps it when it rewrites the file. */
const TUNED_HEADING = "# Tuned (val-selected) hyper-parameters";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string | null = null) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const shared = path.resolve(opt("shared", path.join(ROOT, "../shared")) as string);

const TUNED_MODELS = ["itemknn", "ials", "ease"] as const;
/**
 * The grids (each holds the model's default point, so the selected setting is never worse than the
 * default on val): EASE λ around Steck's 500 on both sides; iALS factors × λ × α (15 iterations, the
 * default); ItemKNN the built-in space (neighbours × similarity × shrinkage) as a grid.
 */
const SPACES = {
  ease: { lambda: [10, 50, 100, 200, 500, 1000, 2000, 5000] },
  ials: { factors: [32, 64, 128], regularization: [0.01, 0.1, 1, 10, 50], alpha: [1, 5, 20], iterations: [15] },
  itemknn: { k: [20, 50, 100, 200], similarity: ["cosine", "jaccard"], shrinkage: [0, 10, 50] },
};
const DEFAULTS_NOTE = "defaults: ease λ=500; ials factors=64, regularization=0.01, alpha=1, iterations=15; itemknn cosine, k=50, shrinkage=0 (graph.top_k, graph.similarity, graph.shrinkage)";
const COMMON = ["embeddings.models=[itemknn,ials,ease]", "evaluate.ranker=false", "tune.models=[itemknn,ials,ease]", "tune.method=grid", "tune.metric=ndcg@10", `tune.spaces=${JSON.stringify(SPACES)}`];
const METRICS = ["ndcg@10", "recall@10", "recall_capped@20"];

type Protocol = RankingProtocol;
// the protocols of scripts/ranking-experiments.ts, less ml-latest-small leave_last_out (its tune alone takes ~30 min on 2 cores)
const DATASETS = RANKING_DATASETS.map((d) => (d.name === "ml-latest-small" ? { ...d, protocols: d.protocols.filter((p) => p.name !== "leave_last_out") } : d));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function ntg(argv: string[]): Promise<void> {
  let err = "";
  const code = await main([...argv, "--quiet"], { out: () => {}, err: (s) => (err += s) });
  if (code !== 0) throw new Error(`ntg ${argv.join(" ")} exited ${code}: ${err}`);
}

const readJson = (f: string): Json => JSON.parse(fs.readFileSync(f, "utf8"));
const asRun = (runDir: string) => ({ runDir, taste: tasteLayout(runDir) }) as unknown as PreparedTasteRun;

async function runCase(ds: (typeof DATASETS)[number], p: Protocol, dataDir: string): Promise<{ file: string; seconds: Record<string, number> }> {
  const base = path.join(ROOT, "runs", "tuned", `${ds.name}-${p.name}`);
  const defDir = path.join(base, "default");
  const tunedDir = path.join(base, "tuned");
  const sets = [`dataset.path=${dataDir}`, ...COMMON, ...p.sets];
  const cli = (runDir: string, extra: string[] = []) => ["--config", ds.config, ...[...sets, `run_dir=${runDir}`, ...extra].flatMap((s) => ["--set", s])];
  const seconds: Record<string, number> = {};
  const timed = async (name: string, f: () => Promise<void>) => {
    const t0 = Date.now();
    await f();
    seconds[name] = (Date.now() - t0) / 1000;
    console.error(`  ${ds.name} ${p.name} ${name}: ${seconds[name].toFixed(0)} s`);
  };

  await timed("default_run_all", () => ntg([...cli(defDir), "run-all"]));
  await timed("tune", () => ntg([...cli(defDir), "tune"]));
  const tuning = readJson(path.join(defDir, "outputs/reports/tuning.json"));
  const tuneManifest = readManifest(defDir, "tune")!;
  const chosen: Record<string, Record<string, unknown>> = {};
  for (const m of TUNED_MODELS) chosen[m] = tuning.models[m].best.params;
  const paramSets = Object.entries(chosen).flatMap(([m, ps]) => Object.entries(ps).map(([k, v]) => `embeddings.params.${m}.${k}=${JSON.stringify(v)}`));
  await timed("tuned_run_all", () => ntg([...cli(tunedDir, paramSets), "run-all"]));

  const defReport = readJson(tasteLayout(defDir).rankingMetrics);
  const tunedReport = readJson(tasteLayout(tunedDir).rankingMetrics);
  const meta = readJson(path.join(defDir, "data/processed/splits/metadata.json"));
  const models: Json = {};
  for (const m of TUNED_MODELS) {
    const trials = tuning.models[m].trials as Array<{ params: Json; score: number; error: string | null }>;
    const defVal = defReport.val.comparison.metrics["ndcg@10"].models[m].mean as number;
    const tunedVal = tunedReport.val.comparison.metrics["ndcg@10"].models[m].mean as number;
    // paired default vs tuned on the same test users, from the per-user metrics each evaluate stage wrote
    const [a] = await readPerUserRuns(asRun(defDir), "test", [m]);
    const [b] = await readPerUserRuns(asRun(tunedDir), "test", [m]);
    const table = compareModels([{ name: `${m}_default`, metrics: a.metrics }, { name: `${m}_tuned`, metrics: b.metrics }], { metrics: METRICS, nBoot: 1000, seed: 42 });
    const test: Json = {};
    for (const k of METRICS) {
      const t = table.metrics[k];
      const s = (x: Json) => ({ mean: x.mean, lower: x.percentile.lower, upper: x.percentile.upper });
      const pr = t.pairs[0];
      test[k] = {
        default: s(t.models[`${m}_default`]),
        tuned: s(t.models[`${m}_tuned`]),
        difference: { tuned_minus_default: pr.difference, lower: pr.percentile.lower, upper: pr.percentile.upper, p_t: pr.p_t, p_wilcoxon: pr.p_wilcoxon },
      };
    }
    models[m] = {
      search_space: SPACES[m],
      trials: trials.map((t) => ({ params: t.params, val_ndcg10: t.score, error: t.error })),
      chosen_params: chosen[m],
      val_ndcg10: {
        best_trial: tuning.models[m].best.score,
        default_run: defVal,
        tuned_run: tunedVal,
        // the refit reproduces the selected trial exactly (same train matrix, seed and fit context)
        tuned_run_matches_trial: Math.abs(tunedVal - tuning.models[m].best.score) < 1e-9,
      },
      test,
      test_users: table.n_users,
    };
  }
  const file = path.join(RESULTS, `ranking_tuned_${ds.name}_${p.name}.json`);
  fs.writeFileSync(
    file,
    stableStringify(
      {
        dataset: ds.name,
        protocol: p.name,
        overrides: [...COMMON, ...p.sets],
        defaults: DEFAULTS_NOTE,
        selection: { part: tuning.part, metric: tuning.metric, method: tuning.method, seed: 42 },
        tune_audit: {
          inputs: Object.keys(tuneManifest.inputs).sort(),
          declared_test_inputs: Object.keys(tuneManifest.inputs).filter((f) => /splits\/test/.test(f)),
        },
        split: { strategy: meta.strategy, leakage_safe: meta.leakage_safe, parts: meta.parts },
        bootstrap: { n_boot: 1000, seed: 42, level: 0.95, interval: "percentile", pairing: "same test users, default vs tuned run" },
        models,
      },
      { digits: 6 },
    ),
  );
  return { file, seconds };
}

const f4 = (x: number) => x.toFixed(4);
const ci = (s: Json) => `${f4(s.mean)} [${s.lower.toFixed(3)}, ${s.upper.toFixed(3)}]`;
const fmtParams = (ps: Json) =>
  Object.entries(ps)
    .filter(([k]) => k !== "iterations")
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");

/** The tuned section, from every ranking_tuned_*.json (sorted by file name, so deterministic). */
function tunedSection(): string {
  // in the order of DATASETS, whichever cases have a results file
  const files = DATASETS.flatMap((d) => d.protocols.map((p) => path.join(RESULTS, `ranking_tuned_${d.name}_${p.name}.json`))).filter((f) => fs.existsSync(f));
  const docs = files.map((f) => readJson(f));
  const lines = [
    TUNED_HEADING,
    "",
    "Generated by `npx tsx scripts/ranking-tuned.ts`. For each dataset × protocol, `ntg tune` ran a grid search on **val only** " +
      "(selection metric ndcg@10; EASE λ ∈ {10, 50, 100, 200, 500, 1000, 2000, 5000}; iALS factors ∈ {32, 64, 128} × regularization ∈ {0.01, 0.1, 1, 10, 50} × α ∈ {1, 5, 20}, 15 iterations; " +
      "ItemKNN k ∈ {20, 50, 100, 200} × {cosine, jaccard} × shrinkage ∈ {0, 10, 50}); every grid holds the default point. The selected settings were refitted by `ntg run-all` " +
      "(`--set embeddings.params.<model>.<param>=…`) and evaluated on test once. Test: mean and 95% percentile bootstrap CI (1000 resamples); Δ = tuned − default, paired over the same test users. " +
      "Every trial's val score is in `ranking_tuned_<dataset>_<protocol>.json`. The default columns repeat the default-parameter tables above " +
      "(same means; the CIs differ in the third decimal because each model name seeds its own bootstrap stream).",
    "",
    `D${DEFAULTS_NOTE.slice(1)}.`,
    "",
  ];
  for (const metric of ["ndcg@10", "recall@10"]) {
    lines.push(`## ${metric} (test), default vs tuned`, "", "| dataset | protocol | model | selected (val) | val ndcg@10 default → tuned | default | tuned | Δ [95% CI] | p (t) |", "|---|---|---|---|---|---|---|---|---|");
    for (const d of docs) {
      for (const m of TUNED_MODELS) {
        const r = d.models[m];
        if (!r) continue;
        const t = r.test[metric];
        const diff = t.difference;
        lines.push(
          `| ${d.dataset} | ${d.protocol} | ${m} | ${fmtParams(r.chosen_params)} | ${f4(r.val_ndcg10.default_run)} → ${f4(r.val_ndcg10.best_trial)} | ${ci(t.default)} | ${ci(t.tuned)} | ${diff.tuned_minus_default >= 0 ? "+" : ""}${f4(diff.tuned_minus_default)} [${diff.lower.toFixed(3)}, ${diff.upper.toFixed(3)}] | ${diff.p_t < 0.001 ? "<0.001" : diff.p_t.toFixed(3)} |`,
        );
      }
    }
    const sig = docs.flatMap((d) =>
      TUNED_MODELS.filter((m) => d.models[m]).flatMap((m) => {
        const x = d.models[m].test[metric].difference;
        return x.lower > 0 || x.upper < 0 ? [`${d.dataset} ${d.protocol} ${m} (${x.tuned_minus_default >= 0 ? "+" : ""}${f4(x.tuned_minus_default)})`] : [];
      }),
    );
    lines.push("", `Paired 95% CI of Δ excluding 0 on ${metric}: ${sig.length ? sig.join("; ") : "none"}.`, "");
  }
  return lines.join("\n");
}

function writeSummary(): void {
  const existing = fs.existsSync(SUMMARY) ? fs.readFileSync(SUMMARY, "utf8") : "";
  const at = existing.indexOf(TUNED_HEADING);
  const head = (at >= 0 ? existing.slice(0, at) : existing).replace(/\s*$/, "");
  fs.writeFileSync(SUMMARY, `${head}\n\n${tunedSection()}`);
}

async function run(): Promise<void> {
  if (!args.includes("--summary-only")) {
    const only = opt("only");
    const onlyProtocol = opt("protocol");
    const timingsFile = path.join(RESULTS, "ranking_tuned_timings.json");
    for (const ds of DATASETS) {
      if (only && ds.name !== only) continue;
      const dataDir = path.join(shared, "data", ds.dir);
      if (!fs.existsSync(dataDir)) {
        console.error(`skipping ${ds.name}: ${dataDir} not found`);
        continue;
      }
      for (const p of ds.protocols) {
        if (onlyProtocol && p.name !== onlyProtocol) continue;
        const { file, seconds } = await runCase(ds, p, dataDir);
        // re-read before writing: several invocations (--only/--protocol) may run side by side
        const timings: Json = fs.existsSync(timingsFile) ? readJson(timingsFile) : {};
        timings[`${ds.name}_${p.name}`] = seconds;
        // wall times vary run to run, so they live apart from the results
        fs.writeFileSync(timingsFile, stableStringify({ note: "wall seconds on a shared 2-core machine; not reproducible", ...timings }));
        console.error(`${ds.name} ${p.name} → ${path.relative(ROOT, file)}`);
      }
    }
  }
  writeSummary();
}

run().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
