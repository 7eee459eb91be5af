/**
 * Rich output from notebook cells through tslab's `display` API, and no-ops anywhere else
 * (scripts, tests, the CLI), so library code can call these unconditionally.
 */
import * as path from "node:path";

/** The subset of tslab's `Display` we use. */
export interface TslabDisplay {
  html(s: string): void;
  markdown(s: string): void;
  text(s: string): void;
  png(b: Uint8Array): void;
  raw(contentType: string, b: string | Uint8Array): unknown;
}

let cached: TslabDisplay | null | undefined;

/**
 * tslab's `display` object when this process is a tslab kernel, else null. We look for tslab's
 * already-loaded Jupyter module instead of `require("tslab")`: it finds the kernel's own copy even
 * when ntg resolves a different tslab (or none), and outside a kernel it avoids loading tslab's
 * bundled TypeScript compiler just to find out.
 */
export function tslabDisplay(): TslabDisplay | null {
  if (cached !== undefined) return cached;
  cached = null;
  const suffix = `${path.sep}tslab${path.sep}dist${path.sep}jupyter.js`;
  const jupyterModule = Object.keys(require.cache).find((k) => k.endsWith(suffix));
  if (jupyterModule) {
    try {
      const pub = require(path.join(path.dirname(jupyterModule), "public.js")) as { display?: TslabDisplay };
      if (pub.display && typeof pub.display.html === "function") cached = pub.display;
    } catch {
      cached = null;
    }
  }
  return cached;
}

/** True inside a tslab kernel. */
export function inNotebook(): boolean {
  return tslabDisplay() !== null;
}

/** Sends an output through tslab; false when not in a kernel or outside a cell execution (tslab throws "Not ready"). */
function send(fn: (d: TslabDisplay) => void): boolean {
  const d = tslabDisplay();
  if (!d) return false;
  try {
    fn(d);
    return true;
  } catch {
    return false;
  }
}

/** Displays an HTML snippet in the notebook; returns false (and does nothing) outside tslab. */
export function showHtml(html: string): boolean {
  return send((d) => d.html(html));
}

/** Displays Markdown in the notebook; outside tslab prints it to stdout so scripts still show it. */
export function showMarkdown(md: string): boolean {
  if (send((d) => d.markdown(md))) return true;
  process.stdout.write(md.endsWith("\n") ? md : `${md}\n`);
  return false;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** Formats a value for a table cell: numbers to `digits` significant digits, integers grouped. */
export function formatCell(v: unknown, digits = 4): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "bigint") return v.toLocaleString("en-US");
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return v.toLocaleString("en-US");
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-4 || a >= 1e9)) return v.toExponential(digits - 1);
    return String(Number(v.toPrecision(digits)));
  }
  if (Array.isArray(v)) return v.map((x) => formatCell(x, digits)).join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Options for {@link showTable} and {@link tableHtml}. */
export interface TableOptions {
  /** columns to show, in order (default: keys of the first row) */
  columns?: string[];
  /** significant digits for non-integers (default 4) */
  digits?: number;
  /** caption above the table */
  caption?: string;
  /** at most this many rows (default 50); a note says how many were left out */
  maxRows?: number;
}

/** An HTML table of row objects. */
export function tableHtml(rows: Array<Record<string, unknown>>, opts: TableOptions = {}): string {
  const cols = opts.columns ?? Object.keys(rows[0] ?? {});
  const max = opts.maxRows ?? 50;
  const shown = rows.slice(0, max);
  const numeric = (c: string) => shown.every((r) => r[c] === null || r[c] === undefined || typeof r[c] === "number" || typeof r[c] === "bigint");
  const align = cols.map((c) => (numeric(c) ? "right" : "left"));
  const head = cols.map((c, i) => `<th style="text-align:${align[i]}">${escapeHtml(c)}</th>`).join("");
  const body = shown
    .map((r) => `<tr>${cols.map((c, i) => `<td style="text-align:${align[i]}">${escapeHtml(formatCell(r[c], opts.digits))}</td>`).join("")}</tr>`)
    .join("\n");
  const caption = opts.caption ? `<caption style="caption-side:top;text-align:left;font-weight:600">${escapeHtml(opts.caption)}</caption>` : "";
  const more = rows.length > max ? `<p><em>${rows.length - max} more rows not shown</em></p>` : "";
  return `<table class="ntg-table">${caption}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>${more}`;
}

/** Plain-text table (fixed-width columns) for terminals and notebook fallbacks. */
export function tableText(rows: Array<Record<string, unknown>>, opts: TableOptions = {}): string {
  const cols = opts.columns ?? Object.keys(rows[0] ?? {});
  const shown = rows.slice(0, opts.maxRows ?? 50);
  const cells = shown.map((r) => cols.map((c) => formatCell(r[c], opts.digits)));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
  const out = [line(cols), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)];
  if (opts.caption) out.unshift(opts.caption);
  if (rows.length > shown.length) out.push(`(${rows.length - shown.length} more rows)`);
  return `${out.join("\n")}\n`;
}

/** Shows rows as a table: HTML in a notebook, fixed-width text elsewhere. */
export function showTable(rows: Array<Record<string, unknown>>, opts: TableOptions = {}): void {
  if (!showHtml(tableHtml(rows, opts))) process.stdout.write(tableText(rows, opts));
}

/** Shows a flat record of named values (e.g. headline numbers) as a two-column table. */
export function showValues(values: Record<string, unknown>, opts: Omit<TableOptions, "columns"> = {}): void {
  showTable(
    Object.entries(values).map(([name, value]) => ({ name, value })),
    { ...opts, columns: ["name", "value"], maxRows: opts.maxRows ?? 200 },
  );
}
