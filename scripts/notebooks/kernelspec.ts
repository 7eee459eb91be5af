/**
 * Writes a project-local Jupyter kernelspec for this repository's tslab, so JupyterLab or VS Code
 * can run the notebooks without `tslab install` (which needs Python and writes to global paths).
 *
 * Usage: npx tsx scripts/notebooks/kernelspec.ts
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT, TSLAB_BIN } from "./kernel";

/** Display name of the kernel in Jupyter UIs. */
export const KERNEL_DISPLAY_NAME = "TypeScript (NTG, tslab)";

/** Contents of a Jupyter kernel.json. */
export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: "signal" | "message";
  metadata: Record<string, unknown>;
}

/** The kernelspec for this repository: absolute node and tslab paths, so no PATH lookup is needed. */
export function kernelSpec(nodePath = process.execPath, tslabBin = TSLAB_BIN): KernelSpec {
  return {
    argv: [nodePath, tslabBin, "kernel", "--config-path", "{connection_file}"],
    display_name: KERNEL_DISPLAY_NAME,
    language: "typescript",
    // tslab interrupts on SIGINT and ignores interrupt_request messages.
    interrupt_mode: "signal",
    metadata: {},
  };
}

/** Writes `<root>/.jupyter/kernels/tslab/kernel.json` and returns its path. */
export function writeKernelspec(root = REPO_ROOT): string {
  const dir = path.join(root, ".jupyter", "kernels", "tslab");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "kernel.json");
  fs.writeFileSync(file, JSON.stringify(kernelSpec(), null, 2) + "\n");
  return file;
}

if (require.main === module) {
  const file = writeKernelspec();
  const jupyterPath = path.dirname(path.dirname(path.dirname(file)));
  process.stdout.write(
    [
      `wrote ${path.relative(process.cwd(), file) || file}`,
      "",
      "Use it from JupyterLab (kernels under JUPYTER_PATH are found before global ones):",
      `  JUPYTER_PATH=${jupyterPath} jupyter lab notebooks/`,
      "",
      "Or in VS Code (Jupyter extension): open a notebook, 'Select Kernel' -> 'Jupyter Kernel...' ->",
      `  "${KERNEL_DISPLAY_NAME}"; start VS Code with JUPYTER_PATH=${jupyterPath} in its environment if it is not listed.`,
      "",
      "Headless (no Python needed): npx tsx scripts/notebooks/execute.ts notebooks/<name>.ipynb --out <out.ipynb>",
      "The kernel resolves `import ... from \"ntg\"` through node_modules/ntg -> dist/, so run `npm run build` first.",
      "",
    ].join("\n"),
  );
}
