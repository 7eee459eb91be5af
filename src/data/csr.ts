import type { InteractionArrays } from "./schema";

/**
 * A sparse matrix in compressed sparse row form, on typed arrays. Rows are users (or items for a
 * transposed matrix); column indices within a row are sorted ascending and unique.
 */
export interface CsrMatrix {
  nRows: number;
  nCols: number;
  /** length nRows + 1: row r spans indices[indptr[r] .. indptr[r+1]) */
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
}

/** How repeated or rated events become one matrix value. */
export type CsrValue = "binary" | "count" | "rating" | "weight";

/**
 * Builds a user × item CSR matrix from interaction arrays: duplicates of (user, item) are merged
 * (binary → 1, count → number of events, rating → last rating in input order, weight → sum).
 * O(n) counting sort; no per-row objects.
 */
export function buildCsr(x: Pick<InteractionArrays, "userId" | "itemId" | "rating" | "weight" | "length">, nRows: number, nCols: number, value: CsrValue = "binary"): CsrMatrix {
  const n = x.length;
  const rowCount = new Int32Array(nRows + 1);
  for (let i = 0; i < n; i++) {
    const u = x.userId[i];
    if (u < 0 || u >= nRows) throw new RangeError(`buildCsr: user ${u} outside [0, ${nRows})`);
    const it = x.itemId[i];
    if (it < 0 || it >= nCols) throw new RangeError(`buildCsr: item ${it} outside [0, ${nCols})`);
    rowCount[u + 1]++;
  }
  for (let r = 0; r < nRows; r++) rowCount[r + 1] += rowCount[r];
  const fill = rowCount.slice(0, nRows);
  const cols = new Int32Array(n);
  const vals = new Float32Array(n);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = fill[x.userId[i]]++;
    cols[p] = x.itemId[i];
    order[p] = i;
    vals[p] = value === "rating" ? x.rating[i] : value === "weight" ? x.weight[i] : 1;
  }
  // sort each row by column (stable, so "last rating" keeps input order), then merge duplicates
  const indptr = new Int32Array(nRows + 1);
  const outIdx = new Int32Array(n);
  const outVal = new Float32Array(n);
  let nnz = 0;
  const perm: number[] = [];
  for (let r = 0; r < nRows; r++) {
    const s = rowCount[r];
    const e = rowCount[r + 1];
    perm.length = 0;
    for (let p = s; p < e; p++) perm.push(p);
    perm.sort((a, b) => cols[a] - cols[b] || order[a] - order[b]);
    let last = -1;
    for (const p of perm) {
      const c = cols[p];
      if (c === last) {
        const q = nnz - 1;
        if (value === "count") outVal[q] += 1;
        else if (value === "weight") outVal[q] += vals[p];
        else if (value === "rating") outVal[q] = vals[p];
      } else {
        outIdx[nnz] = c;
        outVal[nnz] = value === "count" ? 1 : vals[p];
        nnz++;
        last = c;
      }
    }
    indptr[r + 1] = nnz;
  }
  return { nRows, nCols, indptr, indices: outIdx.slice(0, nnz), values: outVal.slice(0, nnz) };
}

/** The transpose (item × user for a user × item matrix), rows sorted. */
export function transposeCsr(m: CsrMatrix): CsrMatrix {
  const counts = new Int32Array(m.nCols + 1);
  for (let p = 0; p < m.indices.length; p++) counts[m.indices[p] + 1]++;
  for (let c = 0; c < m.nCols; c++) counts[c + 1] += counts[c];
  const fill = counts.slice(0, m.nCols);
  const indices = new Int32Array(m.indices.length);
  const values = new Float32Array(m.indices.length);
  for (let r = 0; r < m.nRows; r++) {
    for (let p = m.indptr[r]; p < m.indptr[r + 1]; p++) {
      const q = fill[m.indices[p]]++;
      indices[q] = r;
      values[q] = m.values[p];
    }
  }
  return { nRows: m.nCols, nCols: m.nRows, indptr: counts, indices, values };
}

/** Number of stored entries in row r. */
export function rowLength(m: CsrMatrix, r: number): number {
  return r >= 0 && r < m.nRows ? m.indptr[r + 1] - m.indptr[r] : 0;
}
