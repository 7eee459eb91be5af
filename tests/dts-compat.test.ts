import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";

// tslab compiles notebook cells with its own bundled TypeScript (5.0): every declaration file the
// library publishes must type-check there, or `import ... from "ntg"` fails in every notebook.
const ROOT = path.resolve(__dirname, "..");

describe("published declarations", () => {
  it("type-check with the TypeScript that tslab bundles", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ts = require("@tslab/typescript-for-tslab") as typeof import("typescript");
    const entry = path.join(ROOT, "dist/index.d.ts");
    expect(fs.existsSync(entry), "run npm run build first").toBe(true);
    const program = ts.createProgram([entry], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.NodeJs,
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ["node"],
      typeRoots: [path.join(ROOT, "node_modules/@types")],
    });
    const diags = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && d.file.fileName.startsWith(path.join(ROOT, "dist")))
      .map((d) => `${path.relative(ROOT, d.file!.fileName)}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    expect(diags).toEqual([]);
    expect(ts.version.startsWith("5.0")).toBe(true);
  }, 60_000);
});
