/**
 * A structural check of nbformat 4 notebooks: the keys the nbformat 4.x JSON schema requires and
 * allows, per cell type and output type, and unique cell ids (4.5). It covers what the runner
 * writes; `scripts/notebooks/validate-nbformat.sh` runs the reference validator (Python's
 * `nbformat.validate`) for developers, outside CI.
 */

type Json = Record<string, unknown>;

const CELL_KEYS: Record<string, { required: string[]; optional: string[] }> = {
  code: { required: ["cell_type", "metadata", "source", "outputs", "execution_count"], optional: ["id"] },
  markdown: { required: ["cell_type", "metadata", "source"], optional: ["id", "attachments"] },
  raw: { required: ["cell_type", "metadata", "source"], optional: ["id", "attachments"] },
};

const OUTPUT_KEYS: Record<string, string[]> = {
  execute_result: ["output_type", "execution_count", "data", "metadata"],
  display_data: ["output_type", "data", "metadata"],
  stream: ["output_type", "name", "text"],
  error: ["output_type", "ename", "evalue", "traceback"],
};

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isMultiline = (v: unknown): boolean => typeof v === "string" || (Array.isArray(v) && v.every((s) => typeof s === "string"));
const isCount = (v: unknown): boolean => v === null || (Number.isInteger(v) && (v as number) >= 0);

function checkKeys(obj: Json, required: string[], optional: string[], where: string, out: string[]): void {
  for (const k of required) if (!(k in obj)) out.push(`${where}: missing "${k}"`);
  const allowed = new Set([...required, ...optional]);
  for (const k of Object.keys(obj)) if (!allowed.has(k)) out.push(`${where}: unexpected key "${k}"`);
}

function checkOutput(o: unknown, where: string, out: string[]): void {
  if (!isObject(o)) {
    out.push(`${where}: not an object`);
    return;
  }
  const type = o.output_type;
  const keys = typeof type === "string" ? OUTPUT_KEYS[type] : undefined;
  if (!keys) {
    out.push(`${where}: unknown output_type ${JSON.stringify(type)}`);
    return;
  }
  checkKeys(o, keys, [], where, out);
  if ("data" in o && !isObject(o.data)) out.push(`${where}: "data" must be an object`);
  if ("metadata" in o && !isObject(o.metadata)) out.push(`${where}: "metadata" must be an object`);
  if (type === "execute_result" && !isCount(o.execution_count)) out.push(`${where}: execution_count must be a non-negative integer or null`);
  if (type === "stream") {
    if (o.name !== "stdout" && o.name !== "stderr") out.push(`${where}: stream name must be stdout or stderr`);
    if (!isMultiline(o.text)) out.push(`${where}: stream text must be a string or list of strings`);
  }
  if (type === "error" && !(Array.isArray(o.traceback) && o.traceback.every((s) => typeof s === "string"))) out.push(`${where}: traceback must be a list of strings`);
  if (isObject(o.data)) {
    for (const mime of Object.keys(o.data)) if (!/^[^/]+\/[^/]+$/.test(mime)) out.push(`${where}: data key ${JSON.stringify(mime)} is not a MIME type`);
  }
}

/**
 * Problems that make `nb` an invalid nbformat 4 notebook (empty when it is valid as far as this
 * check goes). Each problem names the cell (and output) it was found in.
 */
export function nbformatProblems(nb: unknown): string[] {
  const out: string[] = [];
  if (!isObject(nb)) return ["notebook: not a JSON object"];
  checkKeys(nb, ["cells", "metadata", "nbformat", "nbformat_minor"], [], "notebook", out);
  if (nb.nbformat !== 4) out.push(`notebook: nbformat is ${JSON.stringify(nb.nbformat)}, expected 4`);
  const minor = nb.nbformat_minor;
  if (!Number.isInteger(minor) || (minor as number) < 0) out.push(`notebook: nbformat_minor must be a non-negative integer`);
  if (!isObject(nb.metadata)) out.push(`notebook: metadata must be an object`);
  else {
    const ks = nb.metadata.kernelspec;
    if (ks !== undefined && !(isObject(ks) && typeof ks.name === "string" && typeof ks.display_name === "string")) out.push(`notebook: metadata.kernelspec needs string "name" and "display_name"`);
    const li = nb.metadata.language_info;
    if (li !== undefined && !(isObject(li) && typeof li.name === "string")) out.push(`notebook: metadata.language_info needs a string "name"`);
  }
  if (!Array.isArray(nb.cells)) {
    out.push("notebook: cells must be a list");
    return out;
  }
  const needsIds = Number.isInteger(minor) && (minor as number) >= 5;
  const ids = new Map<string, number>();
  nb.cells.forEach((c: unknown, i: number) => {
    const where = `cell ${i}`;
    if (!isObject(c)) {
      out.push(`${where}: not an object`);
      return;
    }
    const spec = typeof c.cell_type === "string" ? CELL_KEYS[c.cell_type] : undefined;
    if (!spec) {
      out.push(`${where}: unknown cell_type ${JSON.stringify(c.cell_type)}`);
      return;
    }
    checkKeys(c, needsIds ? [...spec.required, "id"] : spec.required, needsIds ? spec.optional.filter((k) => k !== "id") : spec.optional, where, out);
    if ("metadata" in c && !isObject(c.metadata)) out.push(`${where}: metadata must be an object`);
    if ("source" in c && !isMultiline(c.source)) out.push(`${where}: source must be a string or list of strings`);
    if ("id" in c) {
      if (typeof c.id !== "string" || !/^[a-zA-Z0-9-_]{1,64}$/.test(c.id)) out.push(`${where}: id ${JSON.stringify(c.id)} must be 1-64 of [a-zA-Z0-9-_]`);
      else if (ids.has(c.id)) out.push(`${where}: id "${c.id}" repeats cell ${ids.get(c.id)}`);
      else ids.set(c.id, i);
    }
    if (c.cell_type === "code") {
      if ("execution_count" in c && !isCount(c.execution_count)) out.push(`${where}: execution_count must be a non-negative integer or null`);
      if (!Array.isArray(c.outputs)) {
        if ("outputs" in c) out.push(`${where}: outputs must be a list`);
      } else c.outputs.forEach((o, j) => checkOutput(o, `${where} output ${j}`, out));
    }
  });
  return out;
}
