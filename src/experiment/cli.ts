import * as fs from "node:fs";
import * as path from "node:path";
import { quoteIdent, sqlString, withDuck, type Duck } from "../data/duck";
import { generateWorld, validateWorldConfig } from "../data/synthetic";
import { writeFileAtomic } from "../util/atomic";
import { ConfigError, InputError } from "../util/errors";
import { quietLogger, type Logger } from "../util/log";
import { stableStringify } from "../util/stable-json";
import { analyseExperiment, type ExperimentAnalysis, type PerUserTable } from "./analyse";
import { resolvedSpecFromConfig, validateExperimentConfig, type ExperimentConfig } from "./config";
import { planExperiment, requiredColumns, type ExperimentPlan, type MetricBaseline, type ResolvedExperimentSpec } from "./design";
import { ratioMetricVariance } from "./power";
import { writeExperimentReport } from "./report";
import { policyByName, runWorldLoop, type WorldArmPolicy, type WorldLoopResult } from "./simulate";

/**
 * `ntg experiment design|analyse|simulate`: the command-line face of the experimentation engine.
 * design prints the power / MDE / sample-size table; analyse reads a per-user table (CSV or
 * Parquet, through DuckDB) and writes the report; simulate runs the decision loop in the synthetic
 * world and writes the report with the true effects beside the estimates.
 */

/** The experiment subcommands. */
export type ExperimentSubcommand = "design" | "analyse" | "simulate";

/** Options of {@link runExperimentCommand}. */
export interface ExperimentCommandOptions {
  /** the `experiment:` config section (partial is fine: validated and completed here) */
  config?: unknown;
  /** the run directory: reports go to <runDir>/outputs/reports unless experiment.report_dir is set */
  runDir: string;
  /** folder that relative paths in the config are resolved against (default: cwd) */
  baseDir?: string;
  /** per-user table for analyse (overrides experiment.input.path) */
  input?: string | null;
  /** DuckDB threads (default DuckDB's) */
  threads?: number;
  logger?: Logger;
  /** where the readable output goes (default stdout) */
  out?: (s: string) => void;
}

/** What a subcommand produced. */
export interface ExperimentCommandResult {
  sub: ExperimentSubcommand;
  /** the text printed */
  text: string;
  /** files written */
  files: string[];
  plan?: ExperimentPlan;
  analysis?: ExperimentAnalysis;
  worldLoop?: Omit<WorldLoopResult, "table">;
}

/** Reads a per-user table for a design. */
export interface ReadTableOptions {
  format?: "auto" | "csv" | "parquet";
  userColumn: string;
  armColumn: string;
  /** numeric columns to read (metrics, ratio parts, covariates) */
  columns: readonly string[];
  threads?: number;
}

function relationFor(file: string, format: "auto" | "csv" | "parquet"): string {
  let f = format;
  if (f === "auto") {
    const lower = file.toLowerCase();
    if (lower.endsWith(".parquet") || lower.endsWith(".pq")) f = "parquet";
    else if (/\.(csv|tsv|txt)(\.gz|\.zst)?$/.test(lower)) f = "csv";
    else throw new InputError(`cannot tell the format of '${path.basename(file)}' from its extension; set experiment.input.format to csv or parquet`, { file });
  }
  return f === "parquet" ? `read_parquet(${sqlString(file)})` : `read_csv(${sqlString(file)}, header = true, auto_detect = true)`;
}

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|BOOLEAN|DECIMAL.*)$/i;

async function loadInput(db: Duck, file: string, format: "auto" | "csv" | "parquet"): Promise<Map<string, string>> {
  if (!fs.existsSync(file)) throw new InputError(`per-user table not found: ${file}`, { file });
  try {
    await db.run(`CREATE OR REPLACE TABLE exp_input AS SELECT * FROM ${relationFor(file, format)}`);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read the per-user table: ${(e as Error).message.split("\n")[0]}`, { file });
  }
  const desc = await db.rows<{ column_name: string; column_type: string }>("DESCRIBE exp_input");
  return new Map(desc.map((d) => [d.column_name, d.column_type]));
}

/**
 * Reads user, arm and numeric metric columns from a CSV/Parquet file with DuckDB and checks what
 * SQL checks best: missing columns, non-numeric metric columns, NULL user or arm, and users that
 * appear more than once (duplicate assignments). Rows come back ordered by user id, so the
 * analysis does not depend on file order. Missing metric values arrive as NaN and are reported
 * by the analysis with per-arm counts.
 */
export async function readPerUserTable(file: string, o: ReadTableOptions): Promise<PerUserTable> {
  const source = path.basename(file);
  return withDuck(
    async (db) => {
      const types = await loadInput(db, file, o.format ?? "auto");
      const have = [...types.keys()];
      for (const [col, role] of [[o.userColumn, "user"], [o.armColumn, "arm"]] as const) {
        if (!types.has(col)) throw new InputError(`the ${role} column '${col}' is not in the table (columns: ${have.join(", ")}); set experiment.input.${role}_column`, { file: source });
      }
      for (const col of o.columns) {
        const t = types.get(col);
        if (t === undefined) throw new InputError(`column '${col}' named by the design is not in the table (columns: ${have.join(", ")})`, { file: source });
        if (!NUMERIC.test(t)) throw new InputError(`column '${col}' has type ${t}; metric and covariate columns must be numeric (leave missing values empty rather than writing e.g. 'NA')`, { file: source });
      }
      const u = quoteIdent(o.userColumn);
      const a = quoteIdent(o.armColumn);
      const nulls = await db.one<{ users: bigint | number; arms: bigint | number; total: bigint | number }>(
        `SELECT count(*) FILTER (WHERE ${u} IS NULL) AS users, count(*) FILTER (WHERE ${a} IS NULL) AS arms, count(*) AS total FROM exp_input`,
      );
      if (Number(nulls.total) === 0) throw new InputError("the per-user table has no rows", { file: source });
      if (Number(nulls.users) > 0) throw new InputError(`${Number(nulls.users)} of ${Number(nulls.total)} rows have no user id (column '${o.userColumn}' is NULL)`, { file: source });
      if (Number(nulls.arms) > 0) throw new InputError(`${Number(nulls.arms)} of ${Number(nulls.total)} users have no arm (column '${o.armColumn}' is NULL)`, { file: source });
      const dup = await db.rows<{ id: string; n: bigint | number; arms: string }>(
        `SELECT CAST(${u} AS VARCHAR) AS id, count(*) AS n, string_agg(DISTINCT CAST(${a} AS VARCHAR), ', ' ORDER BY CAST(${a} AS VARCHAR)) AS arms
         FROM exp_input GROUP BY 1 HAVING count(*) > 1 ORDER BY n DESC, id`,
      );
      if (dup.length > 0) {
        const extra = dup.reduce((s, d) => s + Number(d.n) - 1, 0);
        const eg = dup.slice(0, 5).map((d) => `'${d.id}' (${Number(d.n)} rows; arms ${d.arms})`);
        throw new InputError(`duplicate assignments: ${dup.length} users appear more than once (${extra} extra rows), e.g. ${eg.join(", ")}; each user must have exactly one row`, { file: source });
      }
      const labels = (await db.rows<{ a: string }>(`SELECT DISTINCT CAST(${a} AS VARCHAR) AS a FROM exp_input ORDER BY a`)).map((r) => r.a);
      const code = `CASE CAST(${a} AS VARCHAR) ${labels.map((l, i) => `WHEN ${sqlString(l)} THEN ${i}`).join(" ")} END`;
      const spec: Record<string, "i32" | "f64"> = { __arm_code: "i32" };
      for (const c of o.columns) spec[c] = "f64";
      const select = [`${code} AS __arm_code`, ...o.columns.map((c) => `CAST(${quoteIdent(c)} AS DOUBLE) AS ${quoteIdent(c)}`)].join(", ");
      const cols = await db.columns(`SELECT ${select} FROM exp_input ORDER BY CAST(${u} AS VARCHAR)`, spec);
      const codes = cols.__arm_code as Int32Array;
      const columns: Record<string, Float64Array> = {};
      for (const c of o.columns) columns[c] = cols[c] as Float64Array;
      return { arm: Array.from(codes, (k) => labels[k]), columns, source };
    },
    { threads: o.threads },
  );
}

function reportDir(cfg: ExperimentConfig, o: ExperimentCommandOptions): string {
  return cfg.report_dir ? path.resolve(o.baseDir ?? process.cwd(), cfg.report_dir) : path.join(o.runDir, "outputs", "reports");
}

/** Planning baselines: configured ones, the rest estimated from a per-user table (all rows). */
async function baselines(spec: ResolvedExperimentSpec, cfg: ExperimentConfig, o: ExperimentCommandOptions): Promise<Record<string, MetricBaseline>> {
  const out: Record<string, MetricBaseline> = {};
  const missing = spec.metrics.filter((m) => {
    if (!m.baseline) return true;
    const sd = m.type === "proportion" ? Math.sqrt(m.baseline.mean * (1 - m.baseline.mean)) : (m.baseline.sd as number);
    out[m.name] = { mean: m.baseline.mean, sd };
    return false;
  });
  if (missing.length === 0) return out;
  const from = cfg.design.baseline_path ?? o.input ?? cfg.input.path;
  if (!from) {
    throw new ConfigError("experiment.design.baseline_path", `metrics ${missing.map((m) => `'${m.name}'`).join(", ")} have no baseline_mean/baseline_sd; set them or point design.baseline_path (or input.path) at a per-user table`);
  }
  const file = path.resolve(o.baseDir ?? process.cwd(), from);
  await withDuck(
    async (db) => {
      const types = await loadInput(db, file, cfg.input.format);
      for (const m of missing) {
        for (const c of [m.column, m.numerator, m.denominator]) {
          if (c !== null && !types.has(c)) throw new InputError(`metric '${m.name}': column '${c}' is not in the baseline table (columns: ${[...types.keys()].join(", ")})`, { file: path.basename(file) });
        }
        if (m.type === "ratio") {
          const n = quoteIdent(m.numerator as string);
          const d = quoteIdent(m.denominator as string);
          const r = await db.one<Record<string, number>>(
            `SELECT avg(${n})::DOUBLE AS mn, avg(${d})::DOUBLE AS md, var_samp(${n})::DOUBLE AS vn, var_samp(${d})::DOUBLE AS vd, covar_samp(${n}, ${d})::DOUBLE AS c FROM exp_input`,
          );
          const v = ratioMetricVariance({ meanNumerator: r.mn, meanDenominator: r.md, varNumerator: r.vn, varDenominator: r.vd, covariance: r.c });
          out[m.name] = { mean: r.mn / r.md, sd: Math.sqrt(v) };
        } else {
          const c = quoteIdent(m.column as string);
          const r = await db.one<{ mean: number | null; sd: number | null; n: bigint | number }>(`SELECT avg(${c})::DOUBLE AS mean, stddev_samp(${c})::DOUBLE AS sd, count(${c}) AS n FROM exp_input`);
          if (r.mean === null || !(Number(r.n) >= 2)) throw new InputError(`metric '${m.name}': fewer than 2 non-missing values in column '${m.column}' to estimate a baseline`, { file: path.basename(file) });
          const sd = m.type === "proportion" ? Math.sqrt(r.mean * (1 - r.mean)) : (r.sd as number);
          if (!(sd > 0)) throw new InputError(`metric '${m.name}': column '${m.column}' has zero variance, so no power can be computed`, { file: path.basename(file) });
          out[m.name] = { mean: r.mean, sd };
        }
      }
    },
    { threads: o.threads },
  );
  return out;
}

function fmt(x: number | null, digits = 4): string {
  if (x === null || !Number.isFinite(x)) return "—";
  if (x !== 0 && (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-4)) return x.toExponential(2);
  return Number(x.toPrecision(digits)).toString();
}

/** The design table as text. */
export function planText(p: ExperimentPlan): string {
  const lines = [
    `Experiment '${p.name}': power ${p.power}, alpha ${p.alpha} (${fmt(p.alphaPerComparison)} per comparison)${p.plannedUsers ? `, planned ${p.plannedUsers} enrolled users` : ""}`,
    "",
    "Baselines:",
    ...Object.entries(p.baselines).map(([m, b]) => `  ${m}: mean ${fmt(b.mean)}, sd ${fmt(b.sd)}`),
    "",
    "Sample size per relative lift:",
    `  ${"metric".padEnd(14)} ${"arm".padEnd(12)} ${"lift".padStart(7)} ${"abs effect".padStart(11)} ${"n control".padStart(10)} ${"n treat".padStart(10)} ${"total".padStart(10)} ${"power@plan".padStart(10)}`,
    ...p.sampleSizes.map(
      (r) =>
        `  ${r.metric.padEnd(14)} ${r.arm.padEnd(12)} ${`${(100 * r.relativeEffect).toFixed(1)}%`.padStart(7)} ${fmt(r.absoluteEffect).padStart(11)} ${String(r.nControl).padStart(10)} ${String(r.nTreatment).padStart(10)} ${String(r.totalUsers).padStart(10)} ${(r.powerAtPlanned === null ? "—" : `${(100 * r.powerAtPlanned).toFixed(1)}%`).padStart(10)}`,
    ),
  ];
  if (p.mde.length) {
    lines.push("", `Minimum detectable effect at the planned size (power ${p.power}):`);
    for (const r of p.mde) lines.push(`  ${r.metric.padEnd(14)} ${r.arm.padEnd(12)} n ${r.nControl}/${r.nTreatment}: ${fmt(r.mdeAbsolute)} (${(100 * r.mdeRelative).toFixed(2)}%)`);
  }
  for (const n of p.notes) lines.push(`Note: ${n}`);
  return `${lines.join("\n")}\n`;
}

function truthMarkdown(w: Omit<WorldLoopResult, "table">): string {
  const out = ["## Truth (synthetic world)", ""];
  out.push(
    `Every arm's policy was replayed on all ${w.settings.users} users for ${w.settings.days} days with seed ${w.settings.seed} (common random numbers), so the true average treatment effect is known; ${w.settings.enrolled} users were enrolled.`,
    "",
  );
  out.push("| arm | policy | plays/user | active days/user | retention (subscribers at start) | revenue/user |", "|---|---|---|---|---|---|");
  for (const [arm, r] of Object.entries(w.replays)) out.push(`| ${arm} | ${r.description} | ${fmt(r.playsPerUser)} | ${fmt(r.activeDaysPerUser)} | ${fmt(r.retention)} | ${fmt(r.revenuePerUser)} |`);
  out.push("", "| arm | metric | estimate | CI | p adj | true effect | true lift | enrolled-sample effect | CI covers truth |", "|---|---|---|---|---|---|---|---|---|");
  for (const t of w.truth) {
    out.push(`| ${t.arm} | ${t.metric} | ${fmt(t.estimate)} | [${fmt(t.ci[0])}, ${fmt(t.ci[1])}] | ${fmt(t.pAdjusted)}${t.significant ? " ✱" : ""} | ${fmt(t.trueEffect)} | ${Number.isFinite(t.trueRelativeEffect) ? `${(100 * t.trueRelativeEffect).toFixed(2)}%` : "—"} | ${fmt(t.sampleEffect)} | ${t.covered ? "yes" : "no"} |`);
  }
  out.push("", "| arm | engine decision | decision the truth implies | true incremental revenue | cost | agree |", "|---|---|---|---|---|---|");
  for (const d of w.decisions) out.push(`| ${d.arm} | ${d.engine} | ${d.truth} | ${fmt(d.trueIncrementalRevenue)} | ${fmt(d.cost)} | ${d.agrees ? "yes" : "no"} |`);
  return `${out.join("\n")}\n`;
}

function tableCsv(t: PerUserTable, userIds: ArrayLike<string | number>): string {
  const cols = Object.keys(t.columns);
  const lines = [["user", "arm", ...cols].join(",")];
  for (let i = 0; i < t.arm.length; i++) lines.push([String(userIds[i]), String(t.arm[i]), ...cols.map((c) => String(t.columns[c][i]))].join(","));
  return `${lines.join("\n")}\n`;
}

/**
 * Runs `ntg experiment <sub>`. design: power / sample-size / MDE table (printed, and written as
 * experiment_<name>_design.json); analyse: reads the per-user table and writes
 * experiment_<name>.json/.md; simulate: runs the world loop, writes the report with a truth section,
 * experiment_<name>_truth.json and (optionally) the per-user table as CSV.
 */
export async function runExperimentCommand(sub: ExperimentSubcommand, o: ExperimentCommandOptions): Promise<ExperimentCommandResult> {
  const out = o.out ?? ((s: string) => void process.stdout.write(s));
  const log = o.logger ?? quietLogger;
  const cfg = validateExperimentConfig(o.config ?? {});
  const spec = resolvedSpecFromConfig(cfg);
  const dir = reportDir(cfg, o);
  if (sub === "design") {
    const plan = planExperiment(spec, { power: cfg.design.power, relativeEffects: cfg.design.relative_effects, users: cfg.design.users, baselines: await baselines(spec, cfg, o) });
    const file = path.join(dir, `experiment_${spec.name}_design.json`);
    writeFileAtomic(file, stableStringify(plan));
    const text = `${planText(plan)}\nWrote ${file}\n`;
    out(text);
    return { sub, text, files: [file], plan };
  }
  if (sub === "analyse") {
    const input = o.input ?? cfg.input.path;
    if (!input) throw new ConfigError("experiment.input.path", "analyse needs the per-user metrics table (CSV or Parquet with user, arm and metric columns): set experiment.input.path or pass --input");
    const file = path.resolve(o.baseDir ?? process.cwd(), input);
    log.info("experiment.analyse", { input: file });
    const table = await readPerUserTable(file, { format: cfg.input.format, userColumn: cfg.input.user_column, armColumn: cfg.input.arm_column, columns: requiredColumns(spec), threads: o.threads });
    const analysis = analyseExperiment(spec, table);
    const written = writeExperimentReport(analysis, dir);
    const text = `${analysis.text}\n\nWrote ${written.json}\n      ${written.markdown}\n`;
    out(text);
    return { sub, text, files: [written.json, written.markdown], analysis };
  }
  if (sub === "simulate") {
    const worldCfg = validateWorldConfig({ seed: cfg.simulate.seed, ...cfg.simulate.world });
    log.info("experiment.simulate.world", { users: worldCfg.users, items: worldCfg.items, days: worldCfg.days });
    const world = generateWorld(worldCfg, { logger: log });
    const names: Record<string, string> = {
      logging: "logging policy (production recommender)",
      genre: "genre-affinity policy from observed plays",
      oracle: "oracle (true tastes; upper bound)",
    };
    const policies: Record<string, WorldArmPolicy> = {};
    spec.arms.forEach((a, i) => {
      const p = cfg.simulate.policies[i];
      policies[a.name] = { policy: policyByName(world, p), description: names[p] };
    });
    const loop = runWorldLoop({ world, spec, policies, days: cfg.simulate.days, seed: cfg.simulate.seed, preDays: cfg.simulate.pre_days, logger: log });
    const { table, ...rest } = loop;
    const truthMd = truthMarkdown(rest);
    const written = writeExperimentReport(loop.analysis, dir, { appendix: truthMd });
    const truthFile = path.join(dir, `experiment_${spec.name}_truth.json`);
    writeFileAtomic(truthFile, stableStringify({ name: spec.name, settings: rest.settings, replays: rest.replays, truth: rest.truth, decisions: rest.decisions }));
    const files = [written.json, written.markdown, truthFile];
    if (cfg.simulate.write_table) {
      const csv = path.join(dir, `experiment_${spec.name}_users.csv`);
      writeFileAtomic(csv, tableCsv(table, table.user as string[]));
      files.push(csv);
    }
    const truthLines = rest.truth.map(
      (t) => `  ${t.metric.padEnd(12)} ${t.arm.padEnd(12)} estimate ${fmt(t.estimate).padStart(9)} [${fmt(t.ci[0])}, ${fmt(t.ci[1])}]  true ${fmt(t.trueEffect).padStart(9)}  ${t.covered ? "covered" : "NOT covered"}`,
    );
    const decisionLines = rest.decisions.map((d) => `  ${d.arm}: engine ${d.engine.toUpperCase()}, truth implies ${d.truth.toUpperCase()} (true incremental revenue ${fmt(d.trueIncrementalRevenue)} vs cost ${fmt(d.cost)})`);
    const text = `${loop.analysis.text}\n\nEstimate vs truth:\n${truthLines.join("\n")}\n${decisionLines.join("\n")}\n\nWrote ${files.join("\n      ")}\n`;
    out(text);
    return { sub, text, files, analysis: loop.analysis, worldLoop: rest };
  }
  throw new InputError(`unknown experiment subcommand '${String(sub)}'; use design, analyse or simulate`);
}
