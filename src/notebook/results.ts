/**
 * The notebook result collector. A notebook records its headline numbers and figures here; every
 * call writes through to disk at once, so nothing depends on the notebook "ending" cleanly and
 * the runner simply reads the files after the last cell:
 *
 *   <out>/results/<notebook>.json              stable JSON (sorted keys, rounded numbers, bigint-safe)
 *   <out>/figures/<notebook>/<name>.json       the Plotly figure spec
 *   <out>/figures/<notebook>/<name>.html       standalone page (plotly.js from the local package)
 *
 * `<out>` is `$NTG_NB_OUT` when set (the runner sets it), else `experiments/<dataset>/` in the
 * repository. The results file holds no timestamps or paths, so the same seed and data give the
 * same bytes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../util/atomic";
import { stableStringify } from "../util/stable-json";
import type { Figure } from "../plot/figure";
import { figureHtml, plotlyJsPath, plotlyVersion, type PlotlyJsMode } from "../plot/html";

/** Environment variable naming the output directory (set by scripts/notebooks/run-all.ts). */
export const NB_OUT_ENV = "NTG_NB_OUT";
/** Environment variable choosing how figure pages get plotly.js: "inline" (default) or "shared". */
export const NB_PLOTLY_JS_ENV = "NTG_NB_PLOTLY_JS";

/** Repository root (this module lives in src/notebook or dist/notebook). */
export const NTG_REPO_ROOT = path.resolve(__dirname, "..", "..");

/** Options for {@link notebookResults}. */
export interface NotebookResultsOptions {
  /** dataset name (the config's `name`): picks `experiments/<dataset>/` when NTG_NB_OUT is unset */
  dataset?: string;
  /** explicit output directory (overrides NTG_NB_OUT) */
  outDir?: string;
  /**
   * How figure pages get plotly.js: "inline" (default; each page self-contained, ~10 MB) or
   * "shared" (one copy in `figures/`, pages reference it: keep the folder together). Defaults to
   * $NTG_NB_PLOTLY_JS, else "inline".
   */
  plotlyJs?: "inline" | "shared";
  /** remove this notebook's previous results and figures first (default true: a run starts clean) */
  clean?: boolean;
}

/** Valid notebook and figure names: they become file names. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Throws unless `name` is usable as a file name for results and figures. */
export function checkResultName(name: string, what: string): void {
  if (!NAME_RE.test(name) || name.includes("..")) {
    throw new Error(`${what} name ${JSON.stringify(name)} must start with a letter or digit and use only letters, digits, '_', '-' and '.'`);
  }
}

/** The output directory for a notebook run: explicit, else $NTG_NB_OUT, else experiments/<dataset>. */
export function resolveNotebookOutDir(opts: { dataset?: string; outDir?: string } = {}): string {
  if (opts.outDir) return path.resolve(opts.outDir);
  const env = process.env[NB_OUT_ENV];
  if (env) return path.resolve(env);
  const dataset = opts.dataset ?? "scratch";
  checkResultName(dataset, "dataset");
  return path.join(NTG_REPO_ROOT, "experiments", dataset);
}

/** Paths of a notebook's outputs under an output directory. */
export function notebookOutputPaths(outDir: string, notebook: string) {
  return {
    results: path.join(outDir, "results", `${notebook}.json`),
    figures: path.join(outDir, "figures", notebook),
    notebooks: path.join(outDir, "notebooks"),
  };
}

/** Collects a notebook's results and figures and writes them as they arrive. */
export class NotebookResults {
  /** absolute output directory */
  readonly outDir: string;
  private readonly store = new Map<string, unknown>();
  private readonly figs = new Map<string, Figure>();
  private readonly plotlyJs: "inline" | "shared";
  /** dataset name recorded in the results file (when given) */
  readonly dataset: string | undefined;

  constructor(
    readonly notebook: string,
    opts: NotebookResultsOptions = {},
  ) {
    checkResultName(notebook, "notebook");
    this.outDir = resolveNotebookOutDir(opts);
    const mode = opts.plotlyJs ?? process.env[NB_PLOTLY_JS_ENV] ?? "inline";
    if (mode !== "inline" && mode !== "shared") throw new Error(`${NB_PLOTLY_JS_ENV} must be "inline" or "shared", got ${JSON.stringify(mode)}`);
    this.plotlyJs = mode;
    if (opts.clean !== false) this.clean();
    this.dataset = opts.dataset;
    this.write();
  }

  /** Where the results JSON goes. */
  get resultsPath(): string {
    return notebookOutputPaths(this.outDir, this.notebook).results;
  }

  /** Folder of this notebook's figures. */
  get figuresDir(): string {
    return notebookOutputPaths(this.outDir, this.notebook).figures;
  }

  /** Records a value under `key` (replacing any earlier one) and rewrites the results file. */
  set(key: string, value: unknown): this {
    this.store.set(key, value);
    this.write();
    return this;
  }

  /** Records several values at once. */
  setAll(values: Record<string, unknown>): this {
    for (const [k, v] of Object.entries(values)) this.store.set(k, v);
    this.write();
    return this;
  }

  /** A recorded value. */
  get(key: string): unknown {
    return this.store.get(key);
  }

  /** All recorded values, by key. */
  values(): Record<string, unknown> {
    return Object.fromEntries(this.store);
  }

  /** Names of the recorded figures, sorted. */
  figureNames(): string[] {
    return [...this.figs.keys()].sort();
  }

  /** Records a figure: writes `<name>.json` and `<name>.html` and lists it in the results file. */
  figure(name: string, fig: Figure): { json: string; html: string } {
    checkResultName(name, "figure");
    this.figs.set(name, fig);
    const dir = this.figuresDir;
    const json = path.join(dir, `${name}.json`);
    const html = path.join(dir, `${name}.html`);
    // Compact JSON: figures are mostly data arrays, and indentation would triple their size.
    writeFileAtomic(json, stableStringify(fig, { indent: 0 }));
    writeFileAtomic(html, figureHtml(fig, { plotlyJs: this.plotlyJsMode() }));
    this.write();
    return { json, html };
  }

  /** Rewrites the results file now (every change already does). */
  flush(): void {
    this.write();
  }

  private plotlyJsMode(): PlotlyJsMode {
    if (this.plotlyJs === "inline") return "inline";
    const name = `plotly-${plotlyVersion()}.js`;
    const shared = path.join(this.outDir, "figures", name);
    if (!fs.existsSync(shared)) writeFileAtomic(shared, fs.readFileSync(plotlyJsPath()));
    return { src: `../${name}` };
  }

  private write(): void {
    const doc: Record<string, unknown> = { notebook: this.notebook, figures: this.figureNames(), values: this.values() };
    if (this.dataset !== undefined) doc.dataset = this.dataset;
    writeFileAtomic(this.resultsPath, stableStringify(doc));
  }

  /** Removes this notebook's earlier outputs only (never other notebooks' or unknown files). */
  private clean(): void {
    fs.rmSync(this.resultsPath, { force: true });
    const dir = this.figuresDir;
    if (!fs.existsSync(dir)) return;
    for (const f of fs.readdirSync(dir)) {
      if (/\.(json|html|png|svg)$/.test(f)) fs.rmSync(path.join(dir, f), { force: true });
    }
  }
}

let active: NotebookResults | undefined;

/**
 * Creates the result collector of a notebook and makes it the active one (what `showFigure`
 * registers figures with). Call once near the top: `const results = notebookResults("01_eda", { dataset })`.
 */
export function notebookResults(notebook: string, opts: NotebookResultsOptions = {}): NotebookResults {
  active = new NotebookResults(notebook, opts);
  return active;
}

/** The collector made by the latest {@link notebookResults} call in this process, if any. */
export function activeResults(): NotebookResults | undefined {
  return active;
}

/** Forgets the active collector (tests; a notebook never needs this). */
export function clearActiveResults(): void {
  active = undefined;
}
