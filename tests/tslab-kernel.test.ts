/**
 * Proves, with a real tslab kernel spoken to over the Jupyter protocol, that notebooks can
 * import the library by package name ("ntg") with type checking against its .d.ts.
 */
import { execSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CellTimeoutError, REPO_ROOT, TslabKernel, outputText } from "../scripts/notebooks/kernel";
import { executeNotebook, NotebookExecutionError, type Notebook } from "../scripts/notebooks/execute";
import { kernelSpec } from "../scripts/notebooks/kernelspec";
import { VERSION } from "../src/version";

const NOTEBOOKS = path.join(REPO_ROOT, "notebooks");

describe("tslab kernel (real Jupyter protocol client)", () => {
  let kernel: TslabKernel | undefined;
  let tmp: string;

  beforeAll(async () => {
    // Notebooks resolve "ntg" through node_modules/ntg -> .. -> dist/, so both must exist.
    if (!fs.existsSync(path.join(REPO_ROOT, "dist", "index.js"))) execSync("npm run build", { cwd: REPO_ROOT, stdio: "inherit" });
    if (!fs.existsSync(path.join(REPO_ROOT, "node_modules", "ntg", "package.json"))) {
      execSync("node scripts/link-self.cjs", { cwd: REPO_ROOT, stdio: "inherit" });
    }
    fs.mkdirSync(NOTEBOOKS, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-nbtest-"));
    kernel = await TslabKernel.start({ cwd: NOTEBOOKS });
  });

  afterAll(async () => {
    await kernel?.shutdown();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("imports ntg by package name and evaluates VERSION", async () => {
    const r = await kernel!.execute('import { VERSION } from "ntg";\nVERSION', { timeoutMs: 30_000 });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe("ok");
    expect(r.executionCount).toBe(1);
    // tslab shows a cell's last value by console.log-ing it (a stdout stream, not execute_result).
    expect(outputText(r.outputs).trim()).toBe(VERSION);
  });

  it("type-checks cells against ntg's declarations", async () => {
    const r = await kernel!.execute('import { Rng } from "ntg";\nconst r: Rng = new Rng(1);\nconst s: string = r.uniform();', {
      timeoutMs: 30_000,
    });
    expect(r.status).toBe("error");
    expect(r.error?.ename).toBe("TypeScriptError");
    // Only a resolved Rng.uniform(): number can produce this exact mismatch.
    expect(r.error?.evalue).toMatch(/Type 'number' is not assignable to type 'string'/);
    expect(outputText(r.outputs, "stderr")).not.toMatch(/Cannot find module/);

    const ok = await kernel!.execute('import { Rng } from "ntg";\nconst u: number = new Rng(7).uniform();\nu >= 0 && u < 1', { timeoutMs: 30_000 });
    expect(ok.status).toBe("ok");
    expect(outputText(ok.outputs).trim()).toBe("true");
  });

  it("reports runtime throws as errors and keeps the kernel usable", async () => {
    const r = await kernel!.execute('throw new RangeError("boom from cell")', { timeoutMs: 30_000 });
    expect(r.status).toBe("error");
    expect(r.error).toMatchObject({ ename: "RangeError", evalue: "boom from cell" });
    const after = await kernel!.execute('console.log("still alive"); 6 * 7', { timeoutMs: 30_000 });
    expect(after.status).toBe("ok");
    expect(outputText(after.outputs)).toBe("still alive\n42\n");
  });

  it("kills the kernel when a cell exceeds its timeout", async () => {
    const k = kernel!;
    const t0 = Date.now();
    const err = await k.execute("while (true) {}", { timeoutMs: 3000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CellTimeoutError);
    expect((err as Error).message).toMatch(/timed out after 3000 ms/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await k.waitForExit();
    expect(k.alive).toBe(false);
  });

  it("executes a parameterized notebook and writes valid nbformat 4", async () => {
    const nb: Notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        { cell_type: "markdown", id: "intro", metadata: {}, source: ["# tiny\n"] },
        { cell_type: "code", id: "params", metadata: { tags: ["parameters"] }, source: ["let n = 2;\n"], outputs: [], execution_count: null },
        { cell_type: "code", id: "double", metadata: {}, source: ["n * 2"], outputs: [], execution_count: null },
      ],
    };
    const input = path.join(tmp, "tiny.ipynb");
    const output = path.join(tmp, "out", "tiny.out.ipynb");
    fs.writeFileSync(input, JSON.stringify(nb));

    const res = await executeNotebook(input, { outputPath: output, params: { n: "5" }, timeoutMs: 30_000 });
    expect(res.ok).toBe(true);
    expect(res.cells.map((c) => c.status)).toEqual(["ok", "ok", "ok"]);
    expect(outputText(res.cells[2].outputs).trim()).toBe("10");

    const written = JSON.parse(fs.readFileSync(output, "utf8")) as Notebook;
    expect(written.nbformat).toBe(4);
    expect(written.cells.map((c) => c.id)).toEqual(["intro", "params", "injected-parameters", "double"]);
    expect(written.cells[2].source).toEqual(["// injected parameters\n", "n = 5;"]);
    expect(written.cells[3].execution_count).toBe(3);
    expect(written.cells[3].outputs).toEqual([{ output_type: "stream", name: "stdout", text: "10\n" }]);
    expect(written.metadata.kernelspec).toMatchObject({ name: "tslab", language: "typescript" });
  });

  it("fails loudly, naming notebook and cell, when a parameter has the wrong type", async () => {
    const nb: Notebook = {
      nbformat: 4,
      nbformat_minor: 4,
      metadata: {},
      cells: [
        { cell_type: "code", metadata: { tags: ["parameters"] }, source: "let n = 2;", outputs: [], execution_count: null },
        { cell_type: "code", metadata: {}, source: "n", outputs: [], execution_count: null },
      ],
    };
    const input = path.join(tmp, "bad.ipynb");
    fs.writeFileSync(input, JSON.stringify(nb));
    const err = await executeNotebook(input, { params: { n: "oops" }, timeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotebookExecutionError);
    const msg = (err as Error).message;
    expect(msg).toContain(input);
    expect(msg).toContain("injected parameters cell (index 1)");
    expect(msg).toMatch(/TypeScriptError: Type 'string' is not assignable to type 'number'/);
  });

  it("describes a project-local kernelspec pointing at this repo's tslab", () => {
    const spec = kernelSpec();
    expect(spec.argv.slice(1)).toEqual([path.join(REPO_ROOT, "node_modules", "tslab", "bin", "tslab"), "kernel", "--config-path", "{connection_file}"]);
    expect(spec).toMatchObject({ display_name: "TypeScript (NTG, tslab)", language: "typescript" });
  });
});
