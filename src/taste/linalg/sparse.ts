/**
 * Sparse (CSR) × dense products and the sparse Gram matrix XᵀX, on typed arrays.
 */
import type { CsrMatrix } from "../../data/csr";
import { chunkRange, defineKernel, runKernel, sharedF64 } from "./pool";

interface GramArgs {
  S: Float64Array;
  n: number;
  /** item × user (the transpose) */
  tIndptr: Int32Array;
  tIndices: Int32Array;
  tValues: Float32Array;
  /** user × item */
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
  binary: number;
  lambda: number;
  chunks: number;
}

/**
 * Rows [i0, i1) of the lower triangle of XᵀX + λI. Item-major: row i of the result (n doubles)
 * stays in cache while the rows of i's users stream past — the scattered-write alternative
 * (user-major outer products) misses cache on nearly every update of a large Gram matrix.
 * User rows are sorted, so each stops at the first item > i.
 */
const gramKernel = defineKernel<GramArgs>("sparse.gram", (a, c) => {
  const [i0, i1] = chunkRange(a.n, a.chunks, c);
  const { S, n, tIndptr, tIndices, tValues, indptr, indices, values } = a;
  for (let i = i0; i < i1; i++) {
    const row = i * n;
    for (let q = tIndptr[i]; q < tIndptr[i + 1]; q++) {
      const u = tIndices[q];
      const e = indptr[u + 1];
      if (a.binary) {
        for (let p = indptr[u]; p < e; p++) {
          const j = indices[p];
          if (j > i) break;
          S[row + j] += 1;
        }
      } else {
        const xi = tValues[q];
        for (let p = indptr[u]; p < e; p++) {
          const j = indices[p];
          if (j > i) break;
          S[row + j] += xi * values[p];
        }
      }
    }
    S[row + i] += a.lambda;
  }
});

/**
 * The lower triangle of XᵀX + λI (n × n row-major, n = X.nCols; strict upper triangle zero) from a
 * user × item matrix X and its transpose Xt. `binary` treats every stored value as 1. The result
 * is on a SharedArrayBuffer (the blocked Cholesky's parallel kernels need it there).
 */
export function gramLower(X: CsrMatrix, Xt: CsrMatrix, lambda: number, binary: boolean, parallel: boolean): Float64Array {
  const n = X.nCols;
  const S = sharedF64(n * n);
  const chunks = Math.max(1, Math.min(n, Math.ceil(n / 16)));
  runKernel(gramKernel, { S, n, tIndptr: Xt.indptr, tIndices: Xt.indices, tValues: Xt.values, indptr: X.indptr, indices: X.indices, values: X.values, binary: binary ? 1 : 0, lambda, chunks }, chunks, { parallel });
  return S;
}

/** out (X.nRows × l) = X · D for a dense row-major D (X.nCols × l); `binary` treats values as 1. */
export function spmm(X: CsrMatrix, D: Float64Array, l: number, binary = false, out: Float64Array = new Float64Array(X.nRows * l)): Float64Array {
  out.fill(0);
  for (let r = 0; r < X.nRows; r++) {
    const o = r * l;
    for (let p = X.indptr[r]; p < X.indptr[r + 1]; p++) {
      const v = binary ? 1 : X.values[p];
      const d = X.indices[p] * l;
      for (let k = 0; k < l; k++) out[o + k] += v * D[d + k];
    }
  }
  return out;
}
