/**
 * Runs the numbered notebooks (`notebooks/NN_*.ipynb`) in order on the tslab kernel and files
 * everything under `experiments/<dataset>/`:
 *
 *   notebooks/<nb>.ipynb            executed copy (figures embedded as PNG when rendered)
 *   figures/<nb>/<name>.{json,html,png}
 *   results/<nb>.json
 *
 * then regenerates `experiments/README.md`. The dataset is the `name` of the notebook's config
 * parameter. Fails loudly, naming the notebook and cell, on the first error.
 *
 * CLI (what `npm run notebooks` calls):
 *   npx tsx scripts/notebooks/run-all.ts [--only 01_eda[,02_x]] [--param k=v ...] [--timeout sec]
 *     [--out experiments] [--dataset name] [--svg] [--no-render] [--no-build] [--no-index]
 *     [--interactive] [--plotly-js inline|shared] [--notebooks dir]
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadConfig } from "../../src/pipeline/config";
import { NB_OUT_ENV, NB_PLOTLY_JS_ENV, notebookOutputPaths } from "../../src/notebook/results";
import { NB_DISPLAY_ENV } from "../../src/plot/show";
import { executeNotebook, parameterLiteral, readNotebook, sourceText, type Notebook } from "./execute";
import { writeExperimentsIndex } from "./index";
import { nbformatProblems } from "./nbformat";
import { REPO_ROOT } from "./kernel";
import { figureJsonFiles, renderFigures, type ImageFormat } from "./render";
import type { Figure } from "../../src/plot/figure";
import { figureTitle } from "../../src/plot/html";

/** Figure titles may hold Plotly's HTML subset (<br>, <sup>, entities): alt text wants plain text. */
function plainText(s: string): string {
  return s
    .replace(/<br\s*\/?>/gi, " ")
    .replace(/<[^>]*>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}

/** Options for {@link runAllNotebooks}. */
export interface RunAllOptions {
  /** folder of the numbered notebooks (default: the repository's notebooks/) */
  notebooksDir?: string;
  /** root of the outputs (default: the repository's experiments/) */
  outRoot?: string;
  /** notebook names or number prefixes to run (default: all) */
  only?: string[];
  /** parameter overrides for every notebook (`--param k=v`) */
  params?: Record<string, string>;
  /** dataset folder name (default: the `name` of the notebook's config parameter) */
  dataset?: string;
  /** per-cell timeout (default 10 min) */
  timeoutMs?: number;
  /** compile the library first so notebooks import current code (default true) */
  build?: boolean;
  /** render PNG (and SVG) images (default true) */
  render?: boolean;
  /** image formats (default ["png"]) */
  formats?: ImageFormat[];
  /** figure display in the executed notebooks: "static" (default; PNGs embedded afterwards) or "interactive" (plotly.js inlined, ~10 MB per notebook) */
  display?: "static" | "interactive";
  /** how figure HTML pages get plotly.js (default "inline": self-contained pages) */
  plotlyJs?: "inline" | "shared";
  /** regenerate <outRoot>/README.md (default true) */
  index?: boolean;
  /** progress lines (default: stderr) */
  log?: (line: string) => void;
}

/** What one notebook produced. */
export interface NotebookRunSummary {
  notebook: string;
  dataset: string;
  outDir: string;
  executed: string;
  results: string | null;
  figures: string[];
  images: string[];
  cells: number;
  seconds: number;
}

/** Outcome of {@link runAllNotebooks}. */
export interface RunAllSummary {
  notebooks: NotebookRunSummary[];
  /** set when images were not rendered: why, and how to get them */
  renderMessage?: string;
  /** the regenerated README, if any */
  index?: string;
  seconds: number;
}

/** A notebook failed; the message names the notebook and the cell. */
export class NotebookRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotebookRunError";
  }
}

/** Numbered notebooks (`NN_name.ipynb`) in `dir`, in order, optionally filtered by name or number prefix. */
export function listNotebooks(dir: string, only?: string[]): string[] {
  const all = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^\d+_.*\.ipynb$/.test(f)).sort() : [];
  if (!only || only.length === 0) return all.map((f) => path.join(dir, f));
  const picked = all.filter((f) => {
    const name = f.replace(/\.ipynb$/, "");
    return only.some((o) => {
      const q = o.replace(/\.ipynb$/, "");
      return name === q || name.startsWith(`${q}_`);
    });
  });
  for (const o of only) {
    const q = o.replace(/\.ipynb$/, "");
    if (!all.some((f) => f.replace(/\.ipynb$/, "") === q || f.startsWith(`${q}_`))) {
      throw new NotebookRunError(`--only ${o}: no such notebook in ${dir} (have: ${all.map((f) => f.replace(/\.ipynb$/, "")).join(", ") || "none"})`);
    }
  }
  return picked.map((f) => path.join(dir, f));
}

/** The default value of `let <name> = <string literal>` in a notebook's parameters cell, if any. */
export function defaultParameter(nb: Notebook, name: string): string | undefined {
  const cell = nb.cells.find((c) => Array.isArray(c.metadata?.tags) && c.metadata.tags.includes("parameters"));
  if (!cell) return undefined;
  const re = new RegExp(`^\\s*let\\s+${name}\\s*(?::[^=]+)?=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|'((?:[^'\\\\]|\\\\.)*)')`, "m");
  const m = re.exec(sourceText(cell.source));
  if (!m) return undefined;
  return m[1] !== undefined ? (JSON.parse(`"${m[1]}"`) as string) : m[2].replace(/\\(.)/g, "$1");
}

/**
 * The kernel resolves `config` from the notebook's folder, but on the command line a path
 * relative to where the runner was started (`--param config=configs/ml-100k.yaml`) is natural:
 * such a path is made absolute when it exists there and not next to the notebooks.
 */
export function resolveConfigParam(value: string, notebooksDir: string, log?: (line: string) => void): string {
  const raw = JSON.parse(parameterLiteral(value)) as unknown;
  if (typeof raw !== "string" || raw === "" || path.isAbsolute(raw)) return value;
  if (fs.existsSync(path.resolve(notebooksDir, raw))) return value;
  const fromCwd = path.resolve(process.cwd(), raw);
  if (!fs.existsSync(fromCwd)) return value;
  log?.(`config ${raw} resolved from the current directory: ${fromCwd}`);
  return fromCwd;
}

/** The dataset a notebook run belongs to: the config's `name`, the config path resolved like the kernel does (from the notebook's folder). */
export function datasetFor(notebookPath: string, params: Record<string, string>): string {
  const nb = readNotebook(notebookPath);
  const raw = params.config !== undefined ? JSON.parse(parameterLiteral(params.config)) : defaultParameter(nb, "config");
  if (typeof raw !== "string" || raw === "") {
    throw new NotebookRunError(`${notebookPath}: cannot tell the dataset (no string "config" parameter); pass --dataset NAME or --param config=...`);
  }
  return loadConfig(raw, [], path.dirname(path.resolve(notebookPath))).config.name;
}

/**
 * Replaces the static figure placeholders in an executed notebook with the rendered PNGs, so the
 * saved notebook shows its figures anywhere (GitHub, nbviewer, JupyterLab without a kernel).
 * Returns how many were embedded.
 */
export function embedFigureImages(nb: Notebook, outDir: string): number {
  let n = 0;
  for (const cell of nb.cells) {
    for (const o of cell.outputs ?? []) {
      if (o.output_type !== "display_data") continue;
      const html = o.data["text/html"];
      const text = Array.isArray(html) ? html.join("") : typeof html === "string" ? html : "";
      const m = /<!-- ntg-figure:([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+) -->/.exec(text);
      if (!m) continue;
      const png = path.join(outDir, "figures", m[1], `${m[2]}.png`);
      if (!fs.existsSync(png)) continue;
      let width: number | undefined;
      let title: string | undefined;
      try {
        const fig = JSON.parse(fs.readFileSync(path.join(outDir, "figures", m[1], `${m[2]}.json`), "utf8")) as Figure;
        if (typeof fig.layout?.width === "number") width = fig.layout.width;
        title = fig.layout ? figureTitle(fig) : undefined;
      } catch {
        // no JSON next to the PNG: show it at its natural size
      }
      // PNGs are rendered at 2x; declaring the CSS width keeps them at their intended size. `alt`
      // records the figure's title as alternative text for tools that read it (JupyterLab 4 and
      // nbconvert 7 do not: nbconvert still warns "Alternative text is missing" on these images).
      o.data = { "image/png": fs.readFileSync(png).toString("base64"), "text/plain": [`<Figure ${m[2]}>`] };
      o.metadata = { "image/png": { width: width ?? 900, alt: plainText(title ?? m[2]) } };
      n++;
    }
  }
  return n;
}

/** Compiles the library into dist/ (notebooks import "ntg" from there) and links node_modules/ntg. */
export function buildLibrary(log: (line: string) => void): void {
  const tsc = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
  const t0 = Date.now();
  try {
    execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: REPO_ROOT, stdio: "pipe" });
  } catch (e) {
    const out = e as { stdout?: Buffer; stderr?: Buffer };
    throw new NotebookRunError(`library build failed (tsc -p tsconfig.build.json); notebooks would run stale code:\n${String(out.stdout ?? "")}${String(out.stderr ?? "")}`.trimEnd());
  }
  execFileSync(process.execPath, [path.join(REPO_ROOT, "scripts", "link-self.cjs")], { cwd: REPO_ROOT, stdio: "pipe" });
  log(`built the library in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function cleanNotebookOutputs(outDir: string, nb: string): void {
  const p = notebookOutputPaths(outDir, nb);
  fs.rmSync(p.results, { force: true });
  fs.rmSync(path.join(p.notebooks, `${nb}.ipynb`), { force: true });
  if (fs.existsSync(p.figures)) {
    for (const f of fs.readdirSync(p.figures)) if (/\.(json|html|png|svg)$/.test(f)) fs.rmSync(path.join(p.figures, f), { force: true });
  }
}

function writeNotebookFile(file: string, nb: Notebook): void {
  // An executed notebook must open in JupyterLab, nbviewer and GitHub: never write an invalid one.
  const problems = nbformatProblems(nb);
  if (problems.length) throw new NotebookRunError(`${file}: not a valid nbformat 4 notebook:\n  ${problems.slice(0, 10).join("\n  ")}`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(nb, null, 1) + "\n");
}

/** Runs the notebooks; see {@link RunAllOptions}. Throws {@link NotebookRunError} on the first failure. */
export async function runAllNotebooks(opts: RunAllOptions = {}): Promise<RunAllSummary> {
  const t0 = Date.now();
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const notebooksDir = path.resolve(opts.notebooksDir ?? path.join(REPO_ROOT, "notebooks"));
  const outRoot = path.resolve(opts.outRoot ?? path.join(REPO_ROOT, "experiments"));
  const params = { ...(opts.params ?? {}) };
  if (params.config !== undefined) params.config = resolveConfigParam(params.config, notebooksDir, log);
  const files = listNotebooks(notebooksDir, opts.only);
  if (files.length === 0) throw new NotebookRunError(`no numbered notebooks (NN_name.ipynb) in ${notebooksDir}`);
  if (opts.build !== false) buildLibrary(log);

  const summaries: NotebookRunSummary[] = [];
  const envKeys = [NB_OUT_ENV, NB_DISPLAY_ENV, NB_PLOTLY_JS_ENV];
  const savedEnv = Object.fromEntries(envKeys.map((k) => [k, process.env[k]]));
  try {
    for (const file of files) {
      const nb = path.basename(file, ".ipynb");
      const dataset = opts.dataset ?? datasetFor(file, params);
      const outDir = path.join(outRoot, dataset);
      const executed = path.join(notebookOutputPaths(outDir, nb).notebooks, `${nb}.ipynb`);
      cleanNotebookOutputs(outDir, nb);
      // The kernel inherits this process's environment: that is how the notebook's result collector finds its folder.
      process.env[NB_OUT_ENV] = outDir;
      process.env[NB_DISPLAY_ENV] = opts.display ?? "static";
      process.env[NB_PLOTLY_JS_ENV] = opts.plotlyJs ?? "inline";
      log(`▶ ${nb} (dataset ${dataset}) → ${path.relative(process.cwd(), outDir) || outDir}`);
      const n0 = Date.now();
      let done = 0;
      const run = await executeNotebook(file, {
        outputPath: executed,
        params,
        timeoutMs: opts.timeoutMs,
        throwOnError: false,
        onCell: (c, total) => {
          const label = c.sourceIndex === null ? "injected parameters" : `cell ${c.sourceIndex}`;
          log(`  [${c.status}] ${nb} ${String(++done).padStart(2)}/${total} ${label} (${(c.durationMs / 1000).toFixed(1)} s)`);
        },
      });
      if (run.failure) {
        throw new NotebookRunError(`${run.failure.message}\npartially executed notebook: ${executed}`);
      }
      const problems = nbformatProblems(readNotebook(executed));
      if (problems.length) throw new NotebookRunError(`${executed}: the executed notebook is not valid nbformat 4:\n  ${problems.slice(0, 10).join("\n  ")}`);
      const resultsFile = notebookOutputPaths(outDir, nb).results;
      summaries.push({
        notebook: nb,
        dataset,
        outDir,
        executed,
        results: fs.existsSync(resultsFile) ? resultsFile : null,
        figures: figureJsonFiles(notebookOutputPaths(outDir, nb).figures),
        images: [],
        cells: run.cells.length,
        seconds: (Date.now() - n0) / 1000,
      });
      log(`✔ ${nb}: ${run.cells.length} cells in ${((Date.now() - n0) / 1000).toFixed(1)} s, ${summaries[summaries.length - 1].figures.length} figures`);
    }
  } finally {
    for (const k of envKeys) {
      if (savedEnv[k] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[k];
    }
  }

  const summary: RunAllSummary = { notebooks: summaries, seconds: 0 };
  const allFigures = summaries.flatMap((s) => s.figures);
  if (opts.render !== false && allFigures.length > 0) {
    const r0 = Date.now();
    // One browser for every figure of the run: launching Chromium costs more than rendering.
    const r = await renderFigures(allFigures, { formats: opts.formats });
    if (r.skipped) {
      summary.renderMessage = r.skipped;
      log(r.skipped);
    } else {
      log(`rendered ${r.written.length} images in ${((Date.now() - r0) / 1000).toFixed(1)} s`);
      for (const s of summaries) {
        s.images = r.written.filter((w) => s.figures.some((f) => w.startsWith(f.replace(/\.json$/, "."))));
        const nbDoc = readNotebook(s.executed);
        if (embedFigureImages(nbDoc, s.outDir) > 0) writeNotebookFile(s.executed, nbDoc);
      }
    }
  } else if (opts.render === false && allFigures.length > 0) {
    summary.renderMessage = "PNG rendering skipped (--no-render); figures were written as JSON and HTML.";
    log(summary.renderMessage);
  }
  if (opts.index !== false) {
    summary.index = writeExperimentsIndex(outRoot);
    log(`index: ${path.relative(process.cwd(), summary.index) || summary.index}`);
  }
  summary.seconds = (Date.now() - t0) / 1000;
  return summary;
}

/** Parses this script's command line into {@link RunAllOptions}. */
export function parseRunAllArgs(argv: string[]): RunAllOptions {
  const opts: RunAllOptions = { params: {} };
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case "--only":
        only.push(...value().split(",").filter(Boolean));
        break;
      case "--param":
      case "-p": {
        const kv = value();
        const eq = kv.indexOf("=");
        if (eq <= 0) throw new Error(`--param expects name=value, got ${JSON.stringify(kv)}`);
        opts.params![kv.slice(0, eq)] = kv.slice(eq + 1);
        break;
      }
      case "--timeout": {
        const sec = Number(value());
        if (!(sec > 0)) throw new Error("--timeout expects a positive number of seconds (per cell)");
        opts.timeoutMs = sec * 1000;
        break;
      }
      case "--out":
        opts.outRoot = value();
        break;
      case "--dataset":
        opts.dataset = value();
        break;
      case "--notebooks":
        opts.notebooksDir = value();
        break;
      case "--svg":
        opts.formats = ["png", "svg"];
        break;
      case "--no-render":
        opts.render = false;
        break;
      case "--no-build":
        opts.build = false;
        break;
      case "--no-index":
        opts.index = false;
        break;
      case "--interactive":
        opts.display = "interactive";
        break;
      case "--plotly-js": {
        const v = value();
        if (v !== "inline" && v !== "shared") throw new Error("--plotly-js expects inline or shared");
        opts.plotlyJs = v;
        break;
      }
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  if (only.length) opts.only = only;
  return opts;
}

async function main(): Promise<void> {
  let opts: RunAllOptions;
  try {
    opts = parseRunAllArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\nusage: run-all.ts [--only 01_eda[,..]] [--param k=v ...] [--timeout sec] [--out dir] [--dataset name] [--svg] [--no-render] [--no-build] [--no-index] [--interactive] [--plotly-js inline|shared]\n`);
    process.exitCode = 2;
    return;
  }
  const s = await runAllNotebooks(opts);
  const lines = [`\n${s.notebooks.length} notebook(s) in ${s.seconds.toFixed(1)} s`];
  for (const n of s.notebooks) {
    lines.push(`  ${n.notebook.padEnd(20)} ${n.seconds.toFixed(1).padStart(6)} s  ${n.figures.length} figures, ${n.images.length} images  ${path.relative(process.cwd(), n.outDir) || n.outDir}`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`\n${e instanceof NotebookRunError ? e.message : (e.stack ?? e.message)}\n`);
    process.exitCode = 1;
  });
}
