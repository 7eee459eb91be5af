import * as path from "node:path";
import { loadConfig, type LoadedConfig } from "../pipeline/config";
import { runStages, type StageOutcome } from "../pipeline/runner";
import { STAGES, RUN_ALL } from "../pipeline/registry";
import { fetchMovieLens } from "../data/fetch";
import { runExperimentCommand } from "../experiment/cli";
import { NtgError } from "../util/errors";
import { Logger } from "../util/log";
import { stableStringify } from "../util/stable-json";
import { VERSION } from "../version";
import { parseArgs, UsageError, type ParsedArgs } from "./args";

/** Commands and what they do, in the order `--help` lists them. */
export const COMMANDS: Array<[string, string]> = [
  ["run-all", "run every stage in order (skips stages whose inputs and config are unchanged)"],
  ["data generate", "simulate the synthetic streaming world: raw logs + ground truth"],
  ["data fetch <name>", "download a MovieLens release (ml-100k, ml-1m, ml-20m, ml-25m, ml-32m, ml-latest-small) [--dest DIR]"],
  ["validate", "validate and ingest the dataset: canonical Parquet, bad rows to quarantine"],
  ["build-dataset", "positive rule, k-core, split into train/val/test, leakage check"],
  ["build-features", "user, item and interaction features from TRAIN only"],
  ["build-graph", "item–item taste graph from TRAIN (co-occurrence, similarity, guardrails)"],
  ["build-embeddings", "taste axes and embedding models (popularity, ItemKNN, iALS, BPR, EASE, PureSVD)"],
  ["rank", "personalised top-K per user with reasons (candidate fusion)"],
  ["evaluate", "full-catalogue evaluation on val and test with paired bootstrap CIs"],
  ["tune", "hyper-parameter search on val (grid or seeded random) for the tune.models; best settings to outputs/reports/tuning.json"],
  ["score-users", "churn probability (calibrated), lifetime value, revenue at risk, ROI-gated intervention plan"],
  ["experiment design", "power, MDE and sample sizes for the configured arms and metrics"],
  ["experiment analyse", "analyse a per-user metrics table (CSV/Parquet): tests, CUPED, SRM, sequential, Bayes, ROI-gated decision [--input FILE]"],
  ["experiment simulate", "A/B tests inside the synthetic world with the true effect alongside the engine's decision"],
  ["config", "print the resolved configuration"],
  ["stages", "list the pipeline stages with their dependencies"],
];

/** The `--help` text. */
export function helpText(): string {
  const w = Math.max(...COMMANDS.map(([c]) => c.length));
  return [
    `ntg ${VERSION} — Neural Taste Graph: leakage-safe personalization and decision workbench`,
    "",
    "Usage: ntg [--config FILE] [--set key.path=value ...] [--force] [--log-json] <command>",
    "",
    "Commands:",
    ...COMMANDS.map(([c, d]) => `  ${c.padEnd(w)}  ${d}`),
    "",
    "Options:",
    "  --config, -c FILE     YAML config (default: configs/base.yaml if present, else built-in defaults)",
    "  --set key.path=value  override a config value (value parsed as YAML), repeatable",
    "  --force, -f           rerun stages even when their inputs are unchanged",
    "  --log-json            structured logs: one JSON object per line on stderr",
    "  --quiet, -q           warnings and errors only",
    "  --version, -V         print the version",
    "  --help, -h            this help",
  ].join("\n");
}

/** Entry point: returns the process exit code (0 ok, 1 failure, 2 usage error). */
export async function main(argv: string[], io: { out?: (s: string) => void; err?: (s: string) => void } = {}): Promise<number> {
  const out = io.out ?? ((s: string) => process.stdout.write(s));
  const err = io.err ?? ((s: string) => process.stderr.write(s));
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    err(`ntg: ${(e as Error).message}\n\n${helpText()}\n`);
    return 2;
  }
  if (args.version) {
    out(`${VERSION}\n`);
    return 0;
  }
  if (args.help || args.command.length === 0 || args.command[0] === "help") {
    out(`${helpText()}\n`);
    return args.help || args.command[0] === "help" ? 0 : 2;
  }
  const logger = new Logger({ json: args.logJson, level: args.quiet ? "warn" : "info", sink: (l) => err(`${l}\n`) });
  try {
    return await dispatch(args, logger, out);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`ntg: ${e.message}\n\n${helpText()}\n`);
      return 2;
    }
    if (e instanceof NtgError) {
      if (args.logJson) logger.error("run.failed", { error: e.name, message: e.message });
      else err(`ntg: error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

async function dispatch(args: ParsedArgs, logger: Logger, out: (s: string) => void): Promise<number> {
  const [cmd, sub, ...rest] = args.command;
  if (cmd === "data" && sub === "fetch") {
    const name = rest[0];
    if (!name) throw new UsageError("data fetch needs a dataset name, e.g. 'ntg data fetch ml-100k'");
    const dest = path.resolve(args.options.dest ?? "data");
    const res = await fetchMovieLens(name, dest, { logger, baseUrl: args.options["base-url"], force: args.force });
    out(`${stableStringify(res)}`);
    return 0;
  }
  const loaded = resolveConfig(args);
  if (cmd === "config") {
    out(stableStringify({ file: loaded.file, run_dir: loaded.runDir, config: loaded.config }));
    return 0;
  }
  if (cmd === "experiment") {
    if (!sub || !["design", "analyse", "analyze", "simulate"].includes(sub)) throw new UsageError("experiment needs a subcommand: design, analyse or simulate");
    await runExperimentCommand((sub === "analyze" ? "analyse" : sub) as "design" | "analyse" | "simulate", {
      config: loaded.config.experiment,
      runDir: loaded.runDir,
      baseDir: loaded.baseDir,
      input: args.options.input ?? null,
      threads: loaded.config.runtime.threads || undefined,
      logger,
      out,
    });
    return 0;
  }
  if (cmd === "stages") {
    for (const s of STAGES) out(`${s.name.padEnd(16)} after: ${s.dependsOn.join(", ") || "-"}  ${s.description}\n`);
    return 0;
  }
  let targets: string[];
  if (cmd === "run-all") targets = RUN_ALL;
  else if (cmd === "data" && sub === "generate") {
    if (loaded.config.dataset.source !== "synthetic") throw new UsageError("'data generate' needs dataset.source: synthetic");
    targets = ["generate"];
  } else if (STAGES.some((s) => s.name === cmd && s.name !== "generate") && sub === undefined) targets = [cmd];
  else throw new UsageError(`unknown command '${args.command.join(" ")}'`);
  const runLog = logger.child({ run: loaded.config.name });
  runLog.info("run.start", { config: loaded.file ?? "(defaults)", run_dir: loaded.runDir, targets });
  const outcomes = await runStages({ loaded, runDir: loaded.runDir, logger: runLog }, STAGES, targets, { force: args.force, logger: runLog });
  out(summary(loaded, outcomes));
  return 0;
}

function resolveConfig(args: ParsedArgs): LoadedConfig {
  let file = args.config;
  if (!file) {
    const def = path.resolve("configs/base.yaml");
    file = require("node:fs").existsSync(def) ? def : null;
  }
  return loadConfig(file, args.sets);
}

/** The end-of-run summary: what ran, how long, and where the outputs are. */
export function summary(loaded: LoadedConfig, outcomes: StageOutcome[]): string {
  const lines = [`\nNTG run '${loaded.config.name}' — ${loaded.runDir}`, ""];
  for (const o of outcomes) {
    const rows = Object.entries(o.rows)
      .map(([k, v]) => `${k}=${v.toLocaleString("en-US")}`)
      .join(" ");
    lines.push(`  ${o.stage.padEnd(15)} ${o.status.padEnd(8)} ${o.status === "ran" ? `${o.seconds.toFixed(1)}s`.padStart(7) : "".padStart(7)}  ${rows}`);
    for (const w of o.warnings) lines.push(`  ${"".padEnd(15)} warning: ${w}`);
  }
  lines.push("", "Outputs:");
  const all = [...new Set(outcomes.flatMap((o) => o.outputs))];
  for (const f of all) lines.push(`  ${path.isAbsolute(f) ? f : path.join(path.relative(process.cwd(), loaded.runDir) || ".", f)}`);
  return `${lines.join("\n")}\n`;
}
