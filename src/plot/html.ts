/**
 * HTML for Plotly figures without any network access: plotly.js comes from the installed
 * `plotly.js-dist` package, either inlined into the page or referenced as a local file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { normalizeForJson } from "../util/stable-json";
import type { Figure } from "./figure";
import { NTG_FIGURE_SIZE } from "./figure";

/** Absolute path of the installed plotly.js bundle. */
export function plotlyJsPath(): string {
  return require.resolve("plotly.js-dist/plotly.js");
}

/** Version of the installed plotly.js bundle (goes into shared asset names so upgrades never mix). */
export function plotlyVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(plotlyJsPath()), "package.json"), "utf8")) as { version: string };
  return pkg.version;
}

let plotlySource: string | undefined;

/**
 * plotly.js source, safe to place inside a `<script>` element (any `</script` is broken up; in
 * JavaScript, `<\/` means the same as `</`). Read once per process: the bundle is ~10 MB.
 */
export function plotlyJsSource(): string {
  if (plotlySource === undefined) plotlySource = fs.readFileSync(plotlyJsPath(), "utf8").replace(/<\/(script)/gi, "<\\/$1");
  return plotlySource;
}

/**
 * Figure JSON for embedding in a page: rounded and key-sorted like the saved JSON, with `<`
 * escaped so no string in the figure can close the script element.
 */
export function figureJsonForScript(fig: Figure): string {
  return JSON.stringify(normalizeForJson(fig)).replace(/</g, "\\u003c");
}

/** How a page gets plotly.js: inline (self-contained) or a `<script src>` to a local copy. */
export type PlotlyJsMode = "inline" | { src: string };

/** Options for {@link figureHtml}. */
export interface FigureHtmlOptions {
  /** page title (default: the figure title, else "NTG figure") */
  title?: string;
  /** default "inline": one self-contained file that opens offline anywhere */
  plotlyJs?: PlotlyJsMode;
}

/** Plotly config used for every NTG figure: responsive, no Plotly logo, PNG export at 2× like the static renders. */
export const NTG_PLOTLY_CONFIG: Record<string, unknown> = {
  responsive: true,
  displaylogo: false,
  toImageButtonOptions: { format: "png", scale: 2 },
};

function escapeText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The figure's title text, if any. */
export function figureTitle(fig: Figure): string | undefined {
  const t = fig.layout.title;
  if (typeof t === "string") return t;
  if (t && typeof t === "object" && typeof (t as { text?: unknown }).text === "string") return (t as { text: string }).text;
  return undefined;
}

function plotlyScriptTag(mode: PlotlyJsMode): string {
  if (mode === "inline") return `<script type="text/javascript">${plotlyJsSource()}</script>`;
  return `<script type="text/javascript" src="${escapeText(mode.src)}"></script>`;
}

/**
 * A standalone HTML page showing the figure. Contains no timestamps or random ids, so the same
 * figure always gives the same bytes.
 */
export function figureHtml(fig: Figure, opts: FigureHtmlOptions = {}): string {
  const title = opts.title ?? figureTitle(fig) ?? "NTG figure";
  const height = typeof fig.layout.height === "number" ? `${fig.layout.height}px` : `${NTG_FIGURE_SIZE.height}px`;
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeText(title)}</title>`,
    "<style>html,body{margin:0;padding:0;background:#fff}#ntg-figure{width:100%;max-width:1200px;margin:0 auto;height:" + height + "}</style>",
    plotlyScriptTag(opts.plotlyJs ?? "inline"),
    "</head>",
    "<body>",
    '<div id="ntg-figure"></div>',
    '<script type="text/javascript">',
    `var figure = ${figureJsonForScript(fig)};`,
    `Plotly.newPlot("ntg-figure", figure.data, figure.layout, Object.assign(${JSON.stringify(NTG_PLOTLY_CONFIG)}, figure.config || {}));`,
    "</script>",
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

/** Options for {@link notebookFigureHtml}. */
export interface NotebookFigureHtmlOptions {
  /** element id of the plot container (must be unique in the notebook page) */
  divId: string;
  /** include plotly.js inline (needed once per page: the first figure a kernel shows) */
  includePlotly: boolean;
}

/**
 * HTML output for a live notebook. Plotly is inlined only into the first figure of a kernel
 * session; later figures wait briefly for `window.Plotly`, and if the page was reloaded in the
 * meantime (so the library is gone) they say how to get it back instead of failing silently.
 */
export function notebookFigureHtml(fig: Figure, opts: NotebookFigureHtmlOptions): string {
  const id = opts.divId.replace(/[^A-Za-z0-9_-]/g, "_");
  const height = typeof fig.layout.height === "number" ? fig.layout.height : NTG_FIGURE_SIZE.height;
  const parts = [`<div id="${id}" class="ntg-figure" style="width:100%;height:${height}px"></div>`];
  if (opts.includePlotly) parts.push(plotlyScriptTag("inline"));
  parts.push(
    '<script type="text/javascript">',
    "(function () {",
    `  var fig = ${figureJsonForScript(fig)};`,
    `  var config = Object.assign(${JSON.stringify(NTG_PLOTLY_CONFIG)}, fig.config || {});`,
    // JupyterLab may run output scripts before the output is attached to the page, so find the
    // container through this script element and wait until it is connected before plotting.
    "  var me = document.currentScript;",
    `  var el = (me && me.parentNode && me.parentNode.querySelector(${JSON.stringify("#" + id)})) || document.getElementById(${JSON.stringify(id)});`,
    "  var tries = 0;",
    "  function draw() {",
    "    if (!el) return;",
    "    if (window.Plotly && el.isConnected) { window.Plotly.newPlot(el, fig.data, fig.layout, config); return; }",
    "    if (++tries < 100) { setTimeout(draw, 100); return; }",
    "    if (window.Plotly) return;",
    "    el.style.height = 'auto';",
    "    el.innerHTML = '<p style=\"color:#c92a2a\">plotly.js is not loaded in this page (it is sent with the first figure of a kernel session). Run <code>loadPlotly()</code> from \"ntg\" in a cell, then re-run this one.</p>';",
    "  }",
    "  draw();",
    "})();",
    "</script>",
  );
  return parts.join("\n");
}

/** Notebook output that only loads plotly.js into the page (with a one-line note). */
export function plotlyLoaderHtml(): string {
  return `${plotlyScriptTag("inline")}\n<p style="color:#868e96;font-size:12px">plotly.js ${escapeText(plotlyVersion())} loaded</p>`;
}
