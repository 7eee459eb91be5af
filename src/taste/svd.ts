/**
 * Truncated SVD / PCA on typed arrays: a seeded randomised range finder with subspace (power)
 * iteration (Halko, Martinsson & Tropp 2011) over a sparse matrix with optional implicit column
 * centring (so PCA of a sparse user × item matrix never densifies it), plus a small dense
 * symmetric eigensolver for Gram/covariance matrices. Dense blocks are row-major Float64Arrays.
 */
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { Rng } from "../util/rng";

/** A sparse matrix (CSR) seen as a linear operator, optionally column-centred over selected rows. */
export interface SparseOperator {
  nRows: number;
  nCols: number;
  ptr: Int32Array;
  idx: Int32Array;
  /** entry values; null = all ones */
  val?: Float32Array | Float64Array | null;
  /** rows taking part (1) — others act as zero rows and do not enter the column means */
  rowMask?: Uint8Array | null;
  /** subtract these column means from every participating row (implicit centring) */
  colMean?: Float64Array | null;
}

/** Y (nRows × l) = A · X (nCols × l), centring and row mask applied. */
export function multiply(op: SparseOperator, x: Float64Array, l: number): Float64Array {
  const y = new Float64Array(op.nRows * l);
  const m = new Float64Array(l);
  if (op.colMean) {
    for (let j = 0; j < op.nCols; j++) {
      const mu = op.colMean[j];
      if (mu !== 0) for (let c = 0; c < l; c++) m[c] += mu * x[j * l + c];
    }
  }
  const val = op.val ?? null;
  for (let u = 0; u < op.nRows; u++) {
    if (op.rowMask && !op.rowMask[u]) continue;
    const yo = u * l;
    for (let p = op.ptr[u]; p < op.ptr[u + 1]; p++) {
      const xo = op.idx[p] * l;
      const a = val ? val[p] : 1;
      for (let c = 0; c < l; c++) y[yo + c] += a * x[xo + c];
    }
    if (op.colMean) for (let c = 0; c < l; c++) y[yo + c] -= m[c];
  }
  return y;
}

/** Z (nCols × l) = Aᵀ · Y (nRows × l), centring and row mask applied. */
export function multiplyTransposed(op: SparseOperator, y: Float64Array, l: number): Float64Array {
  const z = new Float64Array(op.nCols * l);
  const s = new Float64Array(l);
  const val = op.val ?? null;
  for (let u = 0; u < op.nRows; u++) {
    if (op.rowMask && !op.rowMask[u]) continue;
    const yo = u * l;
    if (op.colMean) for (let c = 0; c < l; c++) s[c] += y[yo + c];
    for (let p = op.ptr[u]; p < op.ptr[u + 1]; p++) {
      const zo = op.idx[p] * l;
      const a = val ? val[p] : 1;
      for (let c = 0; c < l; c++) z[zo + c] += a * y[yo + c];
    }
  }
  if (op.colMean) {
    for (let j = 0; j < op.nCols; j++) {
      const mu = op.colMean[j];
      if (mu !== 0) for (let c = 0; c < l; c++) z[j * l + c] -= mu * s[c];
    }
  }
  return z;
}

/**
 * Orthonormalises the l columns of a row-major n × l block in place: modified Gram–Schmidt with
 * one re-orthogonalisation pass (enough for double precision). Columns that vanish (rank
 * deficiency) become zero columns rather than noise.
 */
export function orthonormalize(a: Float64Array, n: number, l: number): void {
  for (let c = 0; c < l; c++) {
    let norm0 = 0;
    for (let r = 0; r < n; r++) norm0 += a[r * l + c] * a[r * l + c];
    norm0 = Math.sqrt(norm0);
    for (let pass = 0; pass < 2; pass++) {
      for (let d = 0; d < c; d++) {
        let dot = 0;
        for (let r = 0; r < n; r++) dot += a[r * l + c] * a[r * l + d];
        if (dot !== 0) for (let r = 0; r < n; r++) a[r * l + c] -= dot * a[r * l + d];
      }
    }
    let norm = 0;
    for (let r = 0; r < n; r++) norm += a[r * l + c] * a[r * l + c];
    norm = Math.sqrt(norm);
    const inv = norm > 1e-10 * Math.max(norm0, 1e-300) && norm > 0 ? 1 / norm : 0;
    for (let r = 0; r < n; r++) a[r * l + c] *= inv;
  }
}

/**
 * Eigen-decomposition of a dense symmetric n × n matrix (row-major): eigenvalues descending
 * (ties keep the solver's order, which is deterministic), eigenvectors as columns of a row-major
 * n × n array.
 */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const rows: number[][] = [];
  for (let r = 0; r < n; r++) {
    const row: number[] = [];
    // symmetrise exactly, so round-off in the caller's accumulation cannot leak in
    for (let c = 0; c < n; c++) row.push((a[r * n + c] + a[c * n + r]) / 2);
    rows.push(row);
  }
  const evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const raw = evd.realEigenvalues;
  const vec = evd.eigenvectorMatrix;
  const order = raw.map((_, i) => i).sort((i, j) => raw[j] - raw[i] || i - j);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = raw[src];
    for (let r = 0; r < n; r++) vectors[r * n + dst] = vec.get(r, src);
  });
  return { values, vectors };
}

/** Options of `randomizedSvd`. */
export interface RandomizedSvdOptions {
  /** extra random directions beyond k (default 10) */
  oversampling?: number;
  /** subspace iterations (default 4); more sharpens slowly decaying spectra */
  powerIterations?: number;
  seed?: number;
}

/** Top-k singular triplets: u (nRows × k), v (nCols × k), row-major; s descending. */
export interface SvdResult {
  k: number;
  u: Float64Array;
  s: Float64Array;
  v: Float64Array;
}

/**
 * Top-k truncated SVD of a sparse operator by the randomised range finder with subspace
 * iteration. Seeded, single-threaded and order-fixed, so results are bit-for-bit reproducible.
 * Signs are whatever the arithmetic gives; callers fix a sign convention.
 */
export function randomizedSvd(op: SparseOperator, k: number, opts: RandomizedSvdOptions = {}): SvdResult {
  const maxRank = Math.min(op.nRows, op.nCols);
  k = Math.max(0, Math.min(k, maxRank));
  const l = Math.min(maxRank, k + (opts.oversampling ?? 10));
  if (k === 0 || l === 0) return { k: 0, u: new Float64Array(0), s: new Float64Array(0), v: new Float64Array(0) };
  const rng = new Rng(opts.seed ?? 0);
  const omega = new Float64Array(op.nCols * l);
  for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();
  let q = multiply(op, omega, l);
  orthonormalize(q, op.nRows, l);
  for (let it = 0; it < (opts.powerIterations ?? 4); it++) {
    const z = multiplyTransposed(op, q, l);
    orthonormalize(z, op.nCols, l);
    q = multiply(op, z, l);
    orthonormalize(q, op.nRows, l);
  }
  // B = Qᵀ A, held transposed (nCols × l); its small Gram B Bᵀ gives B's SVD
  const bt = multiplyTransposed(op, q, l);
  const gram = new Float64Array(l * l);
  for (let j = 0; j < op.nCols; j++) {
    const o = j * l;
    for (let a = 0; a < l; a++) {
      const x = bt[o + a];
      if (x === 0) continue;
      for (let b = a; b < l; b++) gram[a * l + b] += x * bt[o + b];
    }
  }
  for (let a = 0; a < l; a++) for (let b = 0; b < a; b++) gram[a * l + b] = gram[b * l + a];
  const { values, vectors: w } = symmetricEigen(gram, l);
  const s = new Float64Array(k);
  const u = new Float64Array(op.nRows * k);
  const v = new Float64Array(op.nCols * k);
  for (let c = 0; c < k; c++) {
    const sigma = Math.sqrt(Math.max(values[c], 0));
    s[c] = sigma;
    for (let r = 0; r < op.nRows; r++) {
      let acc = 0;
      for (let a = 0; a < l; a++) acc += q[r * l + a] * w[a * l + c];
      u[r * k + c] = acc;
    }
    const inv = sigma > 0 ? 1 / sigma : 0;
    for (let j = 0; j < op.nCols; j++) {
      let acc = 0;
      for (let a = 0; a < l; a++) acc += bt[j * l + a] * w[a * l + c];
      v[j * k + c] = acc * inv;
    }
  }
  return { k, u, s, v };
}
