/**
 * Executes a TypeScript (.ipynb, nbformat v4) notebook on a real tslab kernel, papermill-style:
 * optional parameter injection after the cell tagged `parameters`, all code cells in order,
 * outputs and execution counts written back, loud failure on the first failing cell (tslab
 * reports type errors as cell errors, so they fail too).
 *
 * CLI: npx tsx scripts/notebooks/execute.ts <notebook.ipynb> [--out path] [--param k=v ...] [--timeout sec]
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { TslabKernel, CellTimeoutError, outputText, type CellError, type NbOutput } from "./kernel";

/** A notebook cell as stored in nbformat v4 (only the fields we touch are typed). */
export interface NbCell {
  cell_type: "code" | "markdown" | "raw";
  id?: string;
  source: string | string[];
  metadata: Record<string, any>;
  outputs?: NbOutput[];
  execution_count?: number | null;
  [k: string]: unknown;
}

/** An nbformat v4 notebook. */
export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, any>;
  cells: NbCell[];
}

/** Options for {@link executeNotebook}. */
export interface ExecuteNotebookOptions {
  /** Where to write the executed notebook (also written, partially executed, when a cell fails). */
  outputPath?: string;
  /**
   * Parameter overrides. Each value is parsed as JSON when possible (`5`, `true`, `[1,2]`,
   * `"x"`), otherwise used as a plain string; it is assigned to a `let` declared in the
   * parameters cell, so TypeScript checks it against the declared type.
   */
  params?: Record<string, string>;
  /** Per-cell timeout (default 10 min); on expiry the kernel is killed and execution fails. */
  timeoutMs?: number;
  /** Kernel working directory (default: the notebook's folder, as in JupyterLab). */
  cwd?: string;
  /** Throw on the first failing cell (default true); when false, return `{ ok: false, failure }`. */
  throwOnError?: boolean;
  /** Called after each executed code cell (progress reporting). */
  onCell?: (cell: ExecutedCell, total: number) => void;
}

/** Result of one executed code cell. */
export interface ExecutedCell {
  /** Index in the executed notebook's `cells` (0-based). */
  index: number;
  /** Index in the input notebook's `cells`, or null for the injected parameters cell. */
  sourceIndex: number | null;
  status: "ok" | "error";
  executionCount: number | null;
  outputs: NbOutput[];
  error?: CellError;
  durationMs: number;
}

/** Failure details of a notebook run. */
export interface NotebookFailure {
  notebook: string;
  cellIndex: number;
  sourceIndex: number | null;
  error: CellError;
  message: string;
}

/** Outcome of {@link executeNotebook}. */
export interface NotebookRunResult {
  ok: boolean;
  cells: ExecutedCell[];
  notebook: Notebook;
  failure?: NotebookFailure;
}

/** Thrown when a notebook cell fails; carries the partial run result. */
export class NotebookExecutionError extends Error {
  constructor(readonly result: NotebookRunResult & { failure: NotebookFailure }) {
    super(result.failure.message);
    this.name = "NotebookExecutionError";
  }
}

/** Joins an nbformat multiline string. */
export function sourceText(source: string | string[]): string {
  return Array.isArray(source) ? source.join("") : source;
}

/** Splits text into nbformat's list-of-lines form (each line keeps its newline). */
export function toLines(text: string): string[] {
  return text.split(/(?<=\n)/).filter((l) => l !== "");
}

/** Names declared with `let` in a parameters cell (only these can be overridden). */
export function parameterNames(source: string): Set<string> {
  const names = new Set<string>();
  for (const m of source.matchAll(/^\s*(?:export\s+)?let\s+([A-Za-z_$][\w$]*)/gm)) names.add(m[1]);
  return names;
}

/** Renders a CLI-style parameter value as a TypeScript literal (JSON if it parses, else a string). */
export function parameterLiteral(value: string): string {
  try {
    return JSON.stringify(JSON.parse(value));
  } catch {
    return JSON.stringify(value);
  }
}

/** Builds the injected cell's code: one assignment per override. */
export function injectedParametersSource(params: Record<string, string>): string {
  const lines = ["// injected parameters"];
  for (const [k, v] of Object.entries(params)) lines.push(`${k} = ${parameterLiteral(v)};`);
  return lines.join("\n");
}

function isParametersCell(c: NbCell): boolean {
  return Array.isArray(c.metadata?.tags) && c.metadata.tags.includes("parameters");
}

function isInjectedCell(c: NbCell): boolean {
  return Array.isArray(c.metadata?.tags) && c.metadata.tags.includes("injected-parameters");
}

/** Reads and minimally validates an nbformat v4 notebook. */
export function readNotebook(file: string): Notebook {
  const nb = JSON.parse(fs.readFileSync(file, "utf8")) as Notebook;
  if (nb.nbformat !== 4 || !Array.isArray(nb.cells)) throw new Error(`${file}: not an nbformat v4 notebook`);
  return nb;
}

/**
 * Copies the notebook with parameter overrides injected after the `parameters` cell. Cells
 * injected by a previous run are dropped first, so re-executing an output notebook works.
 * Returns the new cell list and, per cell, its index in the input (null when injected).
 */
export function injectParameters(nb: Notebook, params: Record<string, string> | undefined, file: string): { cells: NbCell[]; origin: Array<number | null> } {
  const cells: NbCell[] = [];
  const origin: Array<number | null> = [];
  nb.cells.forEach((c, i) => {
    if (isInjectedCell(c)) return;
    cells.push(structuredClone(c));
    origin.push(i);
  });
  if (!params || Object.keys(params).length === 0) return { cells, origin };

  const at = cells.findIndex(isParametersCell);
  if (at < 0) throw new Error(`${file}: parameters given but no cell is tagged "parameters"`);
  const declared = parameterNames(sourceText(cells[at].source));
  for (const name of Object.keys(params)) {
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) throw new Error(`${file}: invalid parameter name ${JSON.stringify(name)}`);
    // Assigning an undeclared name would create a silent global; `const` could not be reassigned.
    if (!declared.has(name)) throw new Error(`${file}: parameter "${name}" is not declared with \`let\` in the parameters cell`);
  }
  const ids = new Set(cells.map((c) => c.id));
  let id = "injected-parameters";
  for (let n = 2; ids.has(id); n++) id = `injected-parameters-${n}`;
  const injected: NbCell = {
    cell_type: "code",
    ...(nb.nbformat_minor >= 5 ? { id } : {}),
    metadata: { tags: ["injected-parameters"] },
    source: toLines(injectedParametersSource(params)),
    outputs: [],
    execution_count: null,
  };
  cells.splice(at + 1, 0, injected);
  origin.splice(at + 1, 0, null);
  return { cells, origin };
}

function describeFailure(file: string, cellIndex: number, sourceIndex: number | null, source: string, error: CellError): string {
  const where = sourceIndex === null ? `injected parameters cell (index ${cellIndex})` : `cell ${sourceIndex}`;
  const firstLine = source.split("\n").find((l) => l.trim() !== "") ?? "";
  const tb = error.traceback.slice(0, 8).join("\n");
  return (
    `Notebook ${file} failed at ${where}: ${error.ename}: ${error.evalue}\n` +
    `  cell starts: ${firstLine.slice(0, 120)}\n` +
    (tb ? `${tb.replace(/^/gm, "  | ")}\n` : "")
  ).trimEnd();
}

function writeNotebook(file: string, nb: Notebook): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  // One-space indent and a trailing newline, as Jupyter writes notebooks.
  fs.writeFileSync(file, JSON.stringify(nb, null, 1) + "\n");
}

/** Executes a notebook on a fresh tslab kernel; see {@link ExecuteNotebookOptions}. */
export async function executeNotebook(inputPath: string, options: ExecuteNotebookOptions = {}): Promise<NotebookRunResult> {
  const input = readNotebook(inputPath);
  const { cells, origin } = injectParameters(input, options.params, inputPath);
  const nb: Notebook = { ...input, metadata: structuredClone(input.metadata ?? {}), cells };
  const executed: ExecutedCell[] = [];
  const total = cells.filter((c) => c.cell_type === "code").length;
  let failure: NotebookFailure | undefined;

  const kernel = await TslabKernel.start({ cwd: options.cwd ?? path.dirname(path.resolve(inputPath)) });
  try {
    nb.metadata.kernelspec = { name: "tslab", display_name: "TypeScript (NTG, tslab)", language: "typescript" };
    if (kernel.kernelInfo.language_info) nb.metadata.language_info = kernel.kernelInfo.language_info;
    if (options.params && Object.keys(options.params).length > 0) nb.metadata.ntg = { ...nb.metadata.ntg, parameters: options.params };

    for (let i = 0; i < cells.length; i++) {
      const cell = cells[i];
      if (cell.cell_type !== "code") continue;
      cell.outputs = [];
      cell.execution_count = null;
      const code = sourceText(cell.source);
      if (code.trim() === "") continue; // Jupyter clients skip empty cells too
      const t0 = Date.now();
      let rec: ExecutedCell;
      try {
        const r = await kernel.execute(code, { timeoutMs: options.timeoutMs });
        rec = { index: i, sourceIndex: origin[i], status: r.status, executionCount: r.executionCount, outputs: r.outputs, error: r.error, durationMs: Date.now() - t0 };
      } catch (e) {
        // Timeouts and kernel deaths become cell failures so they are reported like any other.
        const err = e as Error;
        rec = {
          index: i,
          sourceIndex: origin[i],
          status: "error",
          executionCount: null,
          outputs: [],
          error: { ename: err.name, evalue: err.message, traceback: [] },
          durationMs: Date.now() - t0,
        };
        if (!(e instanceof CellTimeoutError) && kernel.alive) throw e;
      }
      cell.outputs = rec.outputs;
      cell.execution_count = rec.executionCount;
      executed.push(rec);
      options.onCell?.(rec, total);
      if (rec.status === "error") {
        const error = rec.error!;
        failure = {
          notebook: inputPath,
          cellIndex: i,
          sourceIndex: origin[i],
          error,
          message: describeFailure(inputPath, i, origin[i], code, error),
        };
        break;
      }
    }
  } finally {
    await kernel.shutdown();
  }

  if (options.outputPath) writeNotebook(options.outputPath, nb);
  const result: NotebookRunResult = { ok: !failure, cells: executed, notebook: nb, failure };
  if (failure && options.throwOnError !== false) throw new NotebookExecutionError({ ...result, failure });
  return result;
}

/** Parses the CLI arguments of this script. */
export function parseArgs(argv: string[]): { input: string; out?: string; params: Record<string, string>; timeoutMs?: number } {
  const params: Record<string, string> = {};
  let input: string | undefined;
  let out: string | undefined;
  let timeoutMs: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--out" || a === "-o") out = value();
    else if (a === "--param" || a === "-p") {
      const kv = value();
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new Error(`--param expects name=value, got ${JSON.stringify(kv)}`);
      params[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (a === "--timeout") {
      const sec = Number(value());
      if (!(sec > 0)) throw new Error("--timeout expects a positive number of seconds");
      timeoutMs = sec * 1000;
    } else if (a.startsWith("-")) throw new Error(`unknown option ${a}`);
    else if (input === undefined) input = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!input) throw new Error("usage: execute.ts <notebook.ipynb> [--out path] [--param k=v ...] [--timeout sec]");
  return { input, out, params, timeoutMs };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const result = await executeNotebook(args.input, {
    outputPath: args.out,
    params: args.params,
    timeoutMs: args.timeoutMs,
    throwOnError: false,
    onCell: (c, total) => {
      const n = c.sourceIndex === null ? "params" : `cell ${c.sourceIndex}`;
      process.stderr.write(`[${c.status}] ${n} (${c.durationMs} ms, ${total} code cells)\n`);
      // Without --out, the outputs would be lost, so echo them.
      if (!args.out) process.stdout.write(outputText(c.outputs) + outputText(c.outputs, "stderr"));
    },
  });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (result.failure) {
    process.stderr.write(result.failure.message + "\n");
    if (args.out) process.stderr.write(`partial output written to ${args.out}\n`);
    process.exitCode = 1;
    return;
  }
  process.stderr.write(`executed ${result.cells.length} cells of ${args.input} in ${secs} s${args.out ? ` -> ${args.out}` : ""}\n`);
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 1;
  });
}
