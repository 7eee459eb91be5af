/**
 * `showFigure`: the one call a notebook makes per figure. It registers the figure with the
 * notebook's result collector (so the runner saves it as JSON/HTML/PNG) and displays it in
 * tslab; outside a kernel the display part is a no-op.
 */
import { escapeHtml, inNotebook, showHtml } from "../notebook/display";
import { activeResults, checkResultName, type NotebookResults } from "../notebook/results";
import { withLayout, type Figure } from "./figure";
import { figureTitle, notebookFigureHtml, plotlyLoaderHtml } from "./html";

/** Environment variable choosing how figures are displayed in the notebook. */
export const NB_DISPLAY_ENV = "NTG_NB_DISPLAY";

/**
 * How `showFigure` displays figures in a notebook:
 * - "interactive": a live Plotly chart (plotly.js inlined once per kernel session);
 * - "static": a light placeholder pointing at the saved PNG and HTML, which the runner replaces
 *   with the rendered PNG (keeps executed notebooks small and viewable anywhere);
 * - "none": register only.
 */
export type FigureDisplayMode = "interactive" | "static" | "none";

/** Options for {@link showFigure}. */
export interface ShowFigureOptions {
  /** collector to register with (default: the active one; null: don't register) */
  results?: NotebookResults | null;
  /** display mode (default: $NTG_NB_DISPLAY, else "interactive") */
  display?: FigureDisplayMode;
  /**
   * The data the figure shows, appended to its title ("Daily activity — ml-100k") so a PNG or
   * HTML file names its dataset wherever it ends up. Default: the collector's dataset; null:
   * leave the title alone. Notebooks mixing datasets (04: a synthetic world and a CDNOW file)
   * pass it per figure.
   */
  dataset?: string | null;
}

/**
 * `fig` with `dataset` appended to its title (" — dataset"), or titled by the dataset when it has
 * no title. Unchanged when `dataset` is empty or the title already names it.
 */
export function titleWithDataset(fig: Figure, dataset: string | null | undefined): Figure {
  if (!dataset) return fig;
  const title = figureTitle(fig);
  if (title !== undefined && title.includes(dataset)) return fig;
  return withLayout(fig, { title: { text: title ? `${title} — ${dataset}` : dataset } });
}

/** The display mode from $NTG_NB_DISPLAY (default "interactive"). */
export function figureDisplayMode(): FigureDisplayMode {
  const v = process.env[NB_DISPLAY_ENV];
  if (v === undefined || v === "") return "interactive";
  if (v === "interactive" || v === "static" || v === "none") return v;
  throw new Error(`${NB_DISPLAY_ENV} must be "interactive", "static" or "none", got ${JSON.stringify(v)}`);
}

/** Marker the runner looks for to swap a static placeholder for the rendered PNG. */
export function staticFigureMarker(notebook: string, name: string): string {
  return `<!-- ntg-figure:${notebook}/${name} -->`;
}

/** Placeholder HTML for static display: the PNG and the interactive page, relative to `<out>/notebooks/`. */
export function staticFigureHtml(fig: Figure, notebook: string, name: string): string {
  const base = `../figures/${notebook}/${name}`;
  const title = escapeHtml(figureTitle(fig) ?? name);
  return (
    `${staticFigureMarker(notebook, name)}\n` +
    `<figure style="margin:0"><img src="${base}.png" alt="${title}" style="max-width:100%">` +
    `<figcaption>${title} — <a href="${base}.html">interactive version</a></figcaption></figure>`
  );
}

let plotlySent = false;
let figureCounter = 0;

/**
 * Registers `fig` under `name` with the notebook's result collector and displays it in the
 * notebook. Never throws outside tslab (scripts and tests can call it freely); invalid names
 * always throw, so a notebook fails in CI the same way it would interactively.
 */
export function showFigure(fig: Figure, name: string, opts: ShowFigureOptions = {}): void {
  checkResultName(name, "figure");
  const results = opts.results === undefined ? activeResults() : opts.results;
  fig = titleWithDataset(fig, opts.dataset === undefined ? results?.dataset : opts.dataset);
  results?.figure(name, fig);
  const mode = opts.display ?? figureDisplayMode();
  if (mode === "none" || !inNotebook()) return;
  if (mode === "static" && results) {
    showHtml(staticFigureHtml(fig, results.notebook, name));
    return;
  }
  figureCounter += 1;
  const divId = `ntg-fig-${figureCounter}-${name}`;
  const includePlotly = !plotlySent;
  if (showHtml(notebookFigureHtml(fig, { divId, includePlotly })) && includePlotly) plotlySent = true;
}

/**
 * Sends plotly.js to the notebook page again. Needed only after reloading the page while the
 * kernel kept running (the page lost the library, the kernel thinks it was sent).
 */
export function loadPlotly(): boolean {
  if (!inNotebook()) return false;
  plotlySent = false;
  const ok = showHtml(plotlyLoaderHtml());
  plotlySent = ok;
  return ok;
}
