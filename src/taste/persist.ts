/**
 * Model directories: `model.json` (kind, config, scalar state, array manifest) plus one raw
 * little-endian binary file per typed array. Written to a sibling temp directory and renamed into
 * place, so a reader sees the old model or the new one, never a half-written mix.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { CsrMatrix } from "../data/csr";
import { tempPathFor } from "../util/atomic";
import { ConfigError, NtgError } from "../util/errors";
import { stableStringify } from "../util/stable-json";
import { VERSION } from "../version";
import type { TrainSummary } from "./topk";

/** Typed arrays a model may persist. */
export type PersistArray = Float64Array | Float32Array | Int32Array | Uint8Array;
type DType = "f64" | "f32" | "i32" | "u8";

/** The header every model directory starts with. */
export interface ModelHeader {
  format: "ntg-taste-model";
  formatVersion: 1;
  ntgVersion: string;
  kind: string;
  config: object;
  /** model-specific scalars (sizes, flags) */
  state: Record<string, unknown>;
  arrays: Record<string, { dtype: DType; length: number; file: string }>;
}

/** The header file of every saved model directory (the registry dispatches on its `kind`). */
export const MODEL_FILE = "model.json";

function dtypeOf(a: PersistArray): DType {
  if (a instanceof Float64Array) return "f64";
  if (a instanceof Float32Array) return "f32";
  if (a instanceof Int32Array) return "i32";
  return "u8";
}

if (os.endianness() !== "LE") {
  // the binary files are raw little-endian; a big-endian host would need byte swapping
  throw new Error("NTG model persistence assumes a little-endian host");
}

function writeSync(file: string, data: Uint8Array): void {
  const fd = fs.openSync(file, "w");
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes a model directory atomically: everything goes to a sibling temp directory, which then
 * replaces `dir`. Refuses to replace an existing non-empty directory that is not a model directory.
 */
export async function saveModelDir(dir: string, kind: string, config: object, state: Record<string, unknown>, arrays: Record<string, PersistArray>): Promise<void> {
  const target = path.resolve(dir);
  if (fs.existsSync(target)) {
    const entries = fs.readdirSync(target);
    if (entries.length > 0 && !entries.includes(MODEL_FILE)) {
      throw new NtgError(`${target}: exists and is not a model directory; refusing to overwrite it`);
    }
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  fs.mkdirSync(tmp);
  try {
    const manifest: ModelHeader["arrays"] = {};
    for (const [name, a] of Object.entries(arrays)) {
      if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`bad array name '${name}'`);
      const file = `${name}.bin`;
      writeSync(path.join(tmp, file), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      manifest[name] = { dtype: dtypeOf(a), length: a.length, file };
    }
    const header: ModelHeader = { format: "ntg-taste-model", formatVersion: 1, ntgVersion: VERSION, kind, config, state, arrays: manifest };
    // full precision: configs must reload exactly (stable-json's default rounding would not)
    writeSync(path.join(tmp, MODEL_FILE), Buffer.from(stableStringify(header, { digits: 17 }), "utf8"));
    if (fs.existsSync(target)) {
      const old = tempPathFor(target);
      fs.renameSync(target, old);
      fs.renameSync(tmp, target);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, target);
    }
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Reads `model.json` of a model directory (validated). */
export function readModelHeader(dir: string): ModelHeader {
  const file = path.join(dir, MODEL_FILE);
  if (!fs.existsSync(file)) throw new NtgError(`${dir}: no ${MODEL_FILE}; not a saved model directory`);
  let h: ModelHeader;
  try {
    h = JSON.parse(fs.readFileSync(file, "utf8")) as ModelHeader;
  } catch (e) {
    throw new NtgError(`${file}: unreadable model header (${(e as Error).message})`);
  }
  if (h.format !== "ntg-taste-model" || h.formatVersion !== 1) throw new NtgError(`${file}: unsupported model format ${String(h.format)} v${String(h.formatVersion)}`);
  return h;
}

/** A loaded model directory; arrays live on SharedArrayBuffers so pool kernels can use them. */
export interface LoadedModel {
  header: ModelHeader;
  arrays: Record<string, PersistArray>;
}

/** Loads a model directory written by `saveModelDir`, checking the kind and every array's size. */
export function loadModelDir(dir: string, expectKind?: string): LoadedModel {
  const header = readModelHeader(dir);
  if (expectKind !== undefined && header.kind !== expectKind) throw new NtgError(`${dir}: holds a '${header.kind}' model, not '${expectKind}'`);
  const arrays: Record<string, PersistArray> = {};
  for (const [name, spec] of Object.entries(header.arrays)) {
    const bytes = fs.readFileSync(path.join(dir, spec.file));
    const width = spec.dtype === "f64" ? 8 : spec.dtype === "u8" ? 1 : 4;
    if (bytes.length !== spec.length * width) throw new NtgError(`${dir}/${spec.file}: ${bytes.length} bytes, expected ${spec.length * width}`);
    const sab = new SharedArrayBuffer(bytes.length);
    new Uint8Array(sab).set(bytes);
    arrays[name] = spec.dtype === "f64" ? new Float64Array(sab) : spec.dtype === "f32" ? new Float32Array(sab) : spec.dtype === "i32" ? new Int32Array(sab) : new Uint8Array(sab);
  }
  return { header, arrays };
}

/** Typed accessor for a loaded array that must exist with the given type. */
export function arrayOf<T extends PersistArray>(m: LoadedModel, name: string, ctor: new (...args: never[]) => T): T {
  const a = m.arrays[name];
  if (!(a instanceof ctor)) throw new NtgError(`saved ${m.header.kind} model: array '${name}' missing or of the wrong type`);
  return a;
}

/** The TrainSummary arrays every model saves (under fixed names). */
export function summaryArrays(s: TrainSummary): Record<string, PersistArray> {
  return { userRows: s.userRows, itemRows: s.itemRows, fallbackScore: s.fallback.score, fallbackOrder: s.fallback.order };
}

/** The TrainSummary of a loaded model directory. */
export function summaryFrom(m: LoadedModel): TrainSummary {
  const userRows = arrayOf(m, "userRows", Int32Array);
  const itemRows = arrayOf(m, "itemRows", Int32Array);
  return { nUsers: userRows.length, nItems: itemRows.length, userRows, itemRows, fallback: { order: arrayOf(m, "fallbackOrder", Int32Array), score: arrayOf(m, "fallbackScore", Float32Array) } };
}

/** Saved CSR matrix arrays under `prefix` (e.g. the EASE training matrix). */
export function csrArrays(prefix: string, m: CsrMatrix): Record<string, PersistArray> {
  return { [`${prefix}Indptr`]: m.indptr, [`${prefix}Indices`]: m.indices, [`${prefix}Values`]: m.values };
}

/** A CSR matrix saved with `csrArrays`. */
export function csrFrom(m: LoadedModel, prefix: string, nCols: number): CsrMatrix {
  const indptr = arrayOf(m, `${prefix}Indptr`, Int32Array);
  return { nRows: indptr.length - 1, nCols, indptr, indices: arrayOf(m, `${prefix}Indices`, Int32Array), values: arrayOf(m, `${prefix}Values`, Float32Array) };
}

/** Throws unless `m` was fitted (or loaded): the message every model uses. */
export function requireFitted<T>(state: T | null, kind: string): T {
  if (state === null) throw new NtgError(`${kind}: model is not fitted; call fit() or load a saved model first`);
  return state;
}

/** Validates one numeric config key of model `kind` (ConfigError naming `kind.key` otherwise). */
export function checkNumber(kind: string, key: string, v: unknown, opts: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {}): number {
  const fail = (why: string): never => {
    throw new ConfigError(`${kind}.${key}`, why);
  };
  if (typeof v !== "number" || !Number.isFinite(v)) fail(`must be a finite number, got ${JSON.stringify(v)}`);
  const x = v as number;
  if (opts.integer && !Number.isInteger(x)) fail(`must be an integer, got ${x}`);
  if (opts.min !== undefined && (opts.exclusiveMin ? x <= opts.min : x < opts.min)) fail(`must be ${opts.exclusiveMin ? ">" : "≥"} ${opts.min}, got ${x}`);
  if (opts.max !== undefined && x > opts.max) fail(`must be ≤ ${opts.max}, got ${x}`);
  return x;
}

/** Rejects config keys a model does not know (typos would otherwise be silently ignored). */
export function checkKeys(kind: string, config: object, known: readonly string[]): void {
  for (const k of Object.keys(config)) {
    if (!known.includes(k)) throw new ConfigError(`${kind}.${k}`, `unknown option (known: ${known.join(", ")})`);
  }
}
