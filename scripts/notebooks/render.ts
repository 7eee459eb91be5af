/**
 * Static PNG/SVG renders of saved Plotly figure specs (`<name>.json`), using Plotly's own
 * `toImage` inside a headless system Chromium driven by playwright-core. No browser is
 * downloaded: without a usable Chromium the renderer reports why and how to get one, and the
 * caller carries on with JSON/HTML only.
 *
 * CLI: npx tsx scripts/notebooks/render.ts <figure.json|dir> ... [--svg] [--scale 2]
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { plotlyJsPath } from "../../src/plot/html";
import { NTG_FIGURE_SIZE } from "../../src/plot/figure";
import { writeFileAtomic } from "../../src/util/atomic";

/** Chromium flags: headless in containers and CI, with no background traffic or first-run work. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Environment variable naming the Chromium executable (overrides the search). */
export const CHROMIUM_ENV = "NTG_CHROMIUM";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

/** The Chromium to use: $NTG_CHROMIUM, else the first system install found; null when there is none. */
export function findChromium(): string | null {
  const env = process.env[CHROMIUM_ENV];
  if (env) return fs.existsSync(env) ? env : null;
  return CANDIDATES.find((c) => fs.existsSync(c)) ?? null;
}

/** What to do when PNGs cannot be rendered (printed by the runner). */
export function noBrowserHelp(reason: string): string {
  return [
    `PNG rendering skipped: ${reason}.`,
    "Figures were still written as JSON and standalone HTML. To also get PNGs, install a system Chromium",
    "(Debian/Ubuntu: apt-get install -y chromium) or point NTG_CHROMIUM at a Chrome/Chromium executable,",
    "and make sure the playwright-core dev dependency is installed (npm ci). No browser is ever downloaded.",
  ].join("\n");
}

/** Image formats the renderer writes. */
export type ImageFormat = "png" | "svg";

/** Options for {@link renderFigures}. */
export interface RenderOptions {
  /** default ["png"] */
  formats?: ImageFormat[];
  /** device scale for PNGs (default 2: crisp on high-density screens and in print) */
  scale?: number;
  /** Chromium executable (default {@link findChromium}) */
  chromiumPath?: string;
  /** per-figure timeout (default 30 s) */
  timeoutMs?: number;
}

/** Outcome of {@link renderFigures}. */
export interface RenderOutcome {
  /** image files written */
  written: string[];
  /** set when nothing could be rendered: the message to print */
  skipped?: string;
}

interface PlaywrightChromium {
  launch(opts: { executablePath: string; headless: boolean; args: string[]; timeout?: number }): Promise<{
    newPage(): Promise<{
      setContent(html: string): Promise<void>;
      addScriptTag(opts: { path: string }): Promise<unknown>;
      evaluate(expr: string): Promise<unknown>;
      setDefaultTimeout(ms: number): void;
    }>;
    close(): Promise<void>;
  }>;
}

function loadPlaywright(): PlaywrightChromium | null {
  try {
    // Required lazily: playwright-core is a dev dependency, and most runs never render.
    return (require("playwright-core") as { chromium: PlaywrightChromium }).chromium;
  } catch {
    return null;
  }
}

function sizeOf(fig: { layout?: Record<string, unknown> }): { width: number; height: number } {
  const w = fig.layout?.width;
  const h = fig.layout?.height;
  return { width: typeof w === "number" ? w : NTG_FIGURE_SIZE.width, height: typeof h === "number" ? h : NTG_FIGURE_SIZE.height };
}

/** Renders each figure JSON to `<name>.png` (and/or `.svg`) next to it. One browser serves all figures. */
export async function renderFigures(jsonFiles: string[], opts: RenderOptions = {}): Promise<RenderOutcome> {
  if (jsonFiles.length === 0) return { written: [] };
  const chromium = loadPlaywright();
  if (!chromium) return { written: [], skipped: noBrowserHelp("playwright-core is not installed") };
  const exe = opts.chromiumPath ?? findChromium();
  if (!exe) {
    const why = process.env[CHROMIUM_ENV] ? `${CHROMIUM_ENV}=${process.env[CHROMIUM_ENV]} does not exist` : `no Chromium found (looked for ${CANDIDATES.join(", ")})`;
    return { written: [], skipped: noBrowserHelp(why) };
  }
  let browser: Awaited<ReturnType<PlaywrightChromium["launch"]>>;
  try {
    browser = await chromium.launch({ executablePath: exe, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  } catch (e) {
    return { written: [], skipped: noBrowserHelp(`${exe} could not be started (${(e as Error).message.split("\n")[0]})`) };
  }
  const formats = opts.formats ?? ["png"];
  const scale = opts.scale ?? 2;
  const written: string[] = [];
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(opts.timeoutMs ?? 30_000);
    await page.setContent('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body></body></html>');
    await page.addScriptTag({ path: plotlyJsPath() });
    for (const file of jsonFiles) {
      const fig = JSON.parse(fs.readFileSync(file, "utf8")) as { data: unknown[]; layout?: Record<string, unknown> };
      const { width, height } = sizeOf(fig);
      const base = file.replace(/\.json$/, "");
      for (const format of formats) {
        const args = JSON.stringify({ format, width, height, scale: format === "png" ? scale : 1 });
        // toImage lays the figure out in a detached div at the given size and returns a data URL.
        const url = String(await page.evaluate(`Plotly.toImage(${JSON.stringify({ data: fig.data, layout: fig.layout ?? {} })}, ${args})`));
        const out = `${base}.${format}`;
        if (format === "png") writeFileAtomic(out, Buffer.from(url.slice(url.indexOf(",") + 1), "base64"));
        else writeFileAtomic(out, decodeURIComponent(url.slice(url.indexOf(",") + 1)));
        written.push(out);
      }
    }
  } finally {
    await browser.close();
  }
  return { written };
}

/** Figure JSON files in a folder (figures are the only .json files the collector puts there). */
export function figureJsonFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => path.join(dir, f));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const files: string[] = [];
  const formats: ImageFormat[] = ["png"];
  let scale: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--svg") formats.push("svg");
    else if (a === "--scale") scale = Number(argv[++i]);
    else if (a.startsWith("-")) throw new Error(`unknown option ${a}`);
    else if (fs.existsSync(a) && fs.statSync(a).isDirectory()) files.push(...figureJsonFiles(a));
    else files.push(a);
  }
  if (files.length === 0) throw new Error("usage: render.ts <figure.json|dir> ... [--svg] [--scale 2]");
  const r = await renderFigures(files, { formats, scale });
  if (r.skipped) {
    process.stderr.write(`${r.skipped}\n`);
    process.exitCode = 1;
    return;
  }
  for (const f of r.written) process.stdout.write(`${f}\n`);
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 1;
  });
}
