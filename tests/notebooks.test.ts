/**
 * Runs notebooks/01_eda.ipynb on the dev world through the real tslab kernel with the notebook
 * runner, twice, and checks that results are byte-identical and figures are filed.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../scripts/notebooks/kernel";
import { findChromium, renderFigures } from "../scripts/notebooks/render";
import { headlineRows } from "../scripts/notebooks/index";
import { readNotebook } from "../scripts/notebooks/execute";
import { nbformatProblems } from "../scripts/notebooks/nbformat";
import {
  datasetFor,
  defaultParameter,
  embedFigureImages,
  listNotebooks,
  NotebookRunError,
  parseRunAllArgs,
  resolveConfigParam,
  runAllNotebooks,
  type RunAllSummary,
} from "../scripts/notebooks/run-all";

function havePlaywright(): boolean {
  try {
    require.resolve("playwright-core");
    return true;
  } catch {
    return false;
  }
}

describe("notebook runner on 01_eda (dev world, real kernel)", () => {
  let tmp: string;
  let first: RunAllSummary;
  let firstResults: string;
  let firstFigures: Record<string, string>;
  const logs: string[] = [];

  beforeAll(() => {
    // Notebooks import "ntg" from dist/: compile the current sources. Errors in files other
    // engineers are still writing must not block this test, so tsc's exit code is not fatal
    // (it emits anyway); what matters is that the notebook helpers made it into dist/.
    try {
      execFileSync(process.execPath, [path.join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: REPO_ROOT, stdio: "pipe" });
    } catch {
      /* type errors elsewhere; checked below */
    }
    execFileSync(process.execPath, [path.join(REPO_ROOT, "scripts/link-self.cjs")], { cwd: REPO_ROOT, stdio: "pipe" });
    expect(fs.existsSync(path.join(REPO_ROOT, "dist/notebook/results.js"))).toBe(true);
    expect(fs.readFileSync(path.join(REPO_ROOT, "dist/index.d.ts"), "utf8")).toContain('export * from "./plot"');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-nbrun-"));
  });

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const figureFiles = (dir: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const f of fs.readdirSync(dir).sort()) if (f.endsWith(".json")) out[f] = fs.readFileSync(path.join(dir, f), "utf8");
    return out;
  };

  it("runs, files results, figures and the executed notebook", async () => {
    first = await runAllNotebooks({
      only: ["01_eda"],
      outRoot: path.join(tmp, "exp"),
      params: { runDir: path.join(tmp, "run1") },
      build: false,
      timeoutMs: 60_000,
      log: (l) => logs.push(l),
    });
    expect(first.notebooks).toHaveLength(1);
    const s = first.notebooks[0];
    expect(s).toMatchObject({ notebook: "01_eda", dataset: "dev" });
    expect(s.outDir).toBe(path.join(tmp, "exp", "dev"));

    // Results: present, and holding the headline numbers.
    expect(s.results).toBe(path.join(s.outDir, "results", "01_eda.json"));
    firstResults = fs.readFileSync(s.results!, "utf8");
    const res = JSON.parse(firstResults);
    expect(res).toMatchObject({ notebook: "01_eda", dataset: "dev", values: { dataset: "dev", seed: 42 } });
    expect(res.values.headline.events).toBeGreaterThan(1000);
    expect(res.values.headline.item_gini).toBeGreaterThan(0);
    expect(res.values.headline.item_gini).toBeLessThan(1);

    // Figures: JSON + HTML for each registered name.
    const figDir = path.join(s.outDir, "figures", "01_eda");
    expect(res.figures).toEqual(expect.arrayContaining(["rating_distribution", "user_activity", "item_rank_frequency", "item_lorenz", "daily_activity", "cold_start_matrix"]));
    for (const name of res.figures as string[]) {
      expect(fs.existsSync(path.join(figDir, `${name}.json`)), name).toBe(true);
      expect(fs.existsSync(path.join(figDir, `${name}.html`)), name).toBe(true);
    }
    firstFigures = figureFiles(figDir);

    // Executed copy: valid nbformat 4, no error output anywhere.
    const nb = JSON.parse(fs.readFileSync(s.executed, "utf8"));
    expect(s.executed).toBe(path.join(s.outDir, "notebooks", "01_eda.ipynb"));
    expect(nbformatProblems(nb)).toEqual([]);
    for (const cell of nb.cells) for (const o of cell.outputs ?? []) expect(o.output_type === "error" || (o.output_type === "stream" && o.name === "stderr"), JSON.stringify(o).slice(0, 300)).toBe(false);

    // PNGs when a browser is available; otherwise the runner says how to get them.
    if (findChromium() && havePlaywright()) {
      expect(first.renderMessage).toBeUndefined();
      for (const name of res.figures as string[]) {
        const png = fs.readFileSync(path.join(figDir, `${name}.png`));
        expect(png.subarray(1, 4).toString()).toBe("PNG");
      }
      expect(s.images).toHaveLength(res.figures.length);
      // The executed notebook shows the rendered PNGs instead of placeholders.
      const images = nb.cells.flatMap((c: { outputs?: Array<{ data?: Record<string, unknown> }> }) => (c.outputs ?? []).filter((o) => o.data?.["image/png"]));
      expect(images).toHaveLength(res.figures.length);
      expect(nbformatProblems(nb)).toEqual([]);
    } else {
      expect(first.renderMessage).toMatch(/PNG rendering skipped/);
      expect(logs.join("\n")).toMatch(/apt-get install -y chromium|NTG_CHROMIUM/);
    }

    // The experiments index lists the dataset, notebook, figures and headline numbers.
    const readme = fs.readFileSync(path.join(tmp, "exp", "README.md"), "utf8");
    expect(readme).toContain("## dev");
    expect(readme).toContain("[executed notebook](dev/notebooks/01_eda.ipynb)");
    expect(readme).toContain("dev/figures/01_eda/item_lorenz.html");
    expect(readme).toMatch(/\| item_gini \| 0\.\d+ \|/);
  }, 120_000);

  it("re-runs byte-identically (fresh pipeline run, same seed)", async () => {
    expect(firstResults).toBeDefined();
    const second = await runAllNotebooks({
      only: ["01_eda"],
      outRoot: path.join(tmp, "exp"),
      params: { runDir: path.join(tmp, "run2") },
      build: false,
      render: false,
      timeoutMs: 60_000,
      log: () => undefined,
    });
    const s = second.notebooks[0];
    expect(fs.readFileSync(s.results!, "utf8")).toBe(firstResults);
    expect(figureFiles(path.join(s.outDir, "figures", "01_eda"))).toEqual(firstFigures);
    expect(second.renderMessage).toMatch(/PNG rendering skipped \(--no-render\)/);
  }, 120_000);

  it("explains how to get PNGs when no browser is usable", async () => {
    const fig = path.join(tmp, "fig.json");
    fs.writeFileSync(fig, JSON.stringify({ data: [], layout: {} }));
    const prev = process.env.NTG_CHROMIUM;
    process.env.NTG_CHROMIUM = path.join(tmp, "no-such-chromium");
    try {
      const r = await renderFigures([fig]);
      expect(r.written).toEqual([]);
      expect(r.skipped).toMatch(/^PNG rendering skipped: NTG_CHROMIUM=.*no-such-chromium does not exist/);
      expect(r.skipped).toMatch(/apt-get install -y chromium/);
    } finally {
      if (prev === undefined) delete process.env.NTG_CHROMIUM;
      else process.env.NTG_CHROMIUM = prev;
    }
  });

  it("fails loudly naming the notebook and the cell", async () => {
    const dir = path.join(tmp, "nbs");
    fs.mkdirSync(dir);
    const cell = (source: string, tags?: string[]) => ({ cell_type: "code", metadata: tags ? { tags } : {}, source, outputs: [], execution_count: null });
    fs.writeFileSync(
      path.join(dir, "07_broken.ipynb"),
      JSON.stringify({ nbformat: 4, nbformat_minor: 4, metadata: {}, cells: [cell("let x = 1;", ["parameters"]), cell('const y: number = "not a number";')] }),
    );
    expect(listNotebooks(dir, ["07"])).toEqual([path.join(dir, "07_broken.ipynb")]);
    expect(() => listNotebooks(dir, ["08"])).toThrow(/no such notebook/);
    const err = await runAllNotebooks({ notebooksDir: dir, outRoot: path.join(tmp, "bad"), dataset: "bad", build: false, log: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotebookRunError);
    expect((err as Error).message).toMatch(/07_broken\.ipynb failed at cell 1: TypeScriptError/);
    expect(fs.existsSync(path.join(tmp, "bad", "bad", "notebooks", "07_broken.ipynb"))).toBe(true);
  }, 60_000);
});

describe("runner helpers", () => {
  const nbPath = path.join(REPO_ROOT, "notebooks", "01_eda.ipynb");

  it("parses the command line", () => {
    expect(parseRunAllArgs(["--only", "01_eda,02_x", "--param", "config=../configs/ml-100k.yaml", "-p", "seed=7", "--timeout", "30", "--svg", "--no-build"])).toEqual({
      only: ["01_eda", "02_x"],
      params: { config: "../configs/ml-100k.yaml", seed: "7" },
      timeoutMs: 30_000,
      formats: ["png", "svg"],
      build: false,
    });
    expect(() => parseRunAllArgs(["--bogus"])).toThrow(/unknown option/);
    expect(() => parseRunAllArgs(["--param", "novalue"])).toThrow(/name=value/);
  });

  it("reads the notebook's default config and names the dataset after it", () => {
    const nb = readNotebook(nbPath);
    expect(defaultParameter(nb, "config")).toBe("../configs/dev.yaml");
    expect(defaultParameter(nb, "missing")).toBeUndefined();
    expect(datasetFor(nbPath, {})).toBe("dev");
    expect(datasetFor(nbPath, { config: "../configs/ml-100k.yaml" })).toBe("ml-100k");
    // A repository-relative path given from the repository root is made absolute for the kernel.
    const cwd = process.cwd();
    process.chdir(REPO_ROOT);
    try {
      expect(resolveConfigParam("configs/ml-1m.yaml", path.join(REPO_ROOT, "notebooks"))).toBe(path.join(REPO_ROOT, "configs", "ml-1m.yaml"));
      expect(resolveConfigParam("../configs/ml-1m.yaml", path.join(REPO_ROOT, "notebooks"))).toBe("../configs/ml-1m.yaml");
    } finally {
      process.chdir(cwd);
    }
  });

  it("prefers the headline object for the index", () => {
    expect(headlineRows({ dataset: "dev", headline: { a: 1.23456, b: null }, other: { c: 2 }, list: [1] })).toEqual([
      ["dataset", "dev"],
      ["a", "1.235"],
      ["b", ""],
    ]);
    expect(headlineRows({ x: { y: 3, z: [1] } })).toEqual([["x.y", "3"]]);
  });

  it("swaps static placeholders for rendered PNGs", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-embed-"));
    try {
      fs.mkdirSync(path.join(out, "figures", "01_x"), { recursive: true });
      fs.writeFileSync(path.join(out, "figures", "01_x", "f.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
      fs.writeFileSync(path.join(out, "figures", "01_x", "f.json"), JSON.stringify({ data: [], layout: { width: 640 } }));
      fs.writeFileSync(path.join(out, "figures", "01_x", "g.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
      fs.writeFileSync(path.join(out, "figures", "01_x", "g.json"), JSON.stringify({ data: [], layout: { title: { text: "Degree &amp; rank<br><sup>ml-100k</sup>" } } }));
      const nb = {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: [
          {
            cell_type: "code" as const,
            metadata: {},
            source: "",
            outputs: [
              { output_type: "display_data" as const, data: { "text/html": "<!-- ntg-figure:01_x/f -->\n<figure>..</figure>" }, metadata: {} },
              { output_type: "display_data" as const, data: { "text/html": "<!-- ntg-figure:01_x/missing -->" }, metadata: {} },
              { output_type: "display_data" as const, data: { "text/html": "<!-- ntg-figure:01_x/g -->" }, metadata: {} },
            ],
          },
        ],
      };
      expect(embedFigureImages(nb, out)).toBe(2);
      expect(nb.cells[0].outputs[0]).toEqual({ output_type: "display_data", data: { "image/png": "iVBORw==", "text/plain": ["<Figure f>"] }, metadata: { "image/png": { width: 640, alt: "f" } } });
      expect(nb.cells[0].outputs[1].data["text/html"]).toContain("missing");
      // alt text: the figure's title as plain text (default width when the layout has none)
      expect(nb.cells[0].outputs[2].metadata).toEqual({ "image/png": { width: 900, alt: "Degree & rank ml-100k" } });
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("nbformat 4 structure", () => {
  const valid = () => ({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" }, language_info: { name: "typescript" } },
    cells: [
      { cell_type: "markdown", id: "md", metadata: {}, source: ["# title\n", "text"] },
      {
        cell_type: "code",
        id: "c1",
        metadata: { tags: ["parameters"] },
        source: "let x = 1;",
        execution_count: 1,
        outputs: [
          { output_type: "stream", name: "stdout", text: "hi\n" },
          { output_type: "display_data", data: { "image/png": "iVBORw==", "text/plain": ["<Figure f>"] }, metadata: { "image/png": { width: 900, alt: "f" } } },
          { output_type: "execute_result", execution_count: 1, data: { "text/plain": "1" }, metadata: {} },
          { output_type: "error", ename: "Error", evalue: "x", traceback: ["Error: x"] },
        ],
      },
      { cell_type: "code", id: "c2", metadata: {}, source: "", execution_count: null, outputs: [] },
    ],
  });

  it("accepts a valid notebook and names each problem of a broken one", () => {
    expect(nbformatProblems(valid())).toEqual([]);
    const nb = valid() as ReturnType<typeof valid> & Record<string, unknown>;
    const cells = nb.cells as Array<Record<string, unknown>>;
    delete cells[1].execution_count;
    delete cells[2].outputs;
    cells[0].outputs = [];
    (cells[1].outputs as Array<Record<string, unknown>>)[1] = { output_type: "display_data", data: {} };
    (cells[1].outputs as Array<Record<string, unknown>>)[0] = { output_type: "stream", name: "stdlog", text: 3 };
    nb.nbformat_minor = -1;
    nb.extra = true;
    expect(nbformatProblems(nb)).toEqual([
      'notebook: unexpected key "extra"',
      "notebook: nbformat_minor must be a non-negative integer",
      'cell 0: unexpected key "outputs"',
      'cell 1: missing "execution_count"',
      "cell 1 output 0: stream name must be stdout or stderr",
      "cell 1 output 0: stream text must be a string or list of strings",
      'cell 1 output 1: missing "metadata"',
      'cell 2: missing "outputs"',
    ]);
    // nbformat 4.5 requires unique cell ids
    const dup = valid();
    dup.cells[2].id = "c1";
    expect(nbformatProblems(dup)).toEqual(['cell 2: id "c1" repeats cell 1']);
    const noId = valid() as { cells: Array<Record<string, unknown>> };
    delete noId.cells[0].id;
    expect(nbformatProblems(noId)).toEqual(['cell 0: missing "id"']);
    expect(nbformatProblems({ ...valid(), nbformat: 3 })).toEqual(["notebook: nbformat is 3, expected 4"]);
  });

  it("holds for the source notebooks and every committed executed notebook", () => {
    const files = [
      ...listNotebooks(path.join(REPO_ROOT, "notebooks")),
      ...fs
        .readdirSync(path.join(REPO_ROOT, "experiments"))
        .map((d) => path.join(REPO_ROOT, "experiments", d, "notebooks"))
        .filter((d) => fs.existsSync(d))
        .flatMap((d) => fs.readdirSync(d).filter((f) => f.endsWith(".ipynb")).map((f) => path.join(d, f))),
    ];
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) expect(nbformatProblems(JSON.parse(fs.readFileSync(f, "utf8"))), path.relative(REPO_ROOT, f)).toEqual([]);
  });
});
