/**
 * Implicit-feedback alternating least squares kernels (Hu, Koren & Volinsky, "Collaborative
 * Filtering for Implicit Feedback Datasets", ICDM 2008), with the conjugate-gradient row solver of
 * Takács, Pilászy & Tikk ("Applications of the Conjugate Gradient Method for Implicit Feedback
 * Collaborative Filtering", RecSys 2011).
 *
 * One half-step solves, for every row u of X with the other side Y fixed,
 *   (YᵀY + Yᵀ(C_u − I)Y + λI) x_u = Yᵀ C_u p_u,
 * where C_u holds the confidences of u's stored entries (1 elsewhere) and p_u is 1 on stored
 * entries. YᵀY is shared by all rows, so a row costs O(f²) plus O(f) per stored entry — in CG form
 * a few matrix-vector products, warm-started from the previous x_u, never forming the f × f system.
 */
import { choleskyInPlace, cholSolveInPlace } from "./cholesky";
import { dot, gemmNT, gram } from "./gemm";
import { chunkRange, defineKernel, runKernel } from "./pool";
import { SparsePassEngine } from "./wasm";

/** Arguments of one half-step over the rows of a CSR matrix (users, or items via the transpose). */
export interface AlsHalfArgs {
  /** rows × f factors being solved (row-major), updated in place; read as the CG warm start */
  X: Float64Array;
  /** the fixed side, (other rows) × f */
  Y: Float64Array;
  /** f × f Gram matrix YᵀY */
  YtY: Float64Array;
  indptr: Int32Array;
  indices: Int32Array;
  /** confidence c > 0 of each stored entry (aligned with indices) */
  conf: Float64Array;
  f: number;
  reg: number;
  /** CG steps per row; 0 = exact Cholesky solve */
  cgSteps: number;
  nRows: number;
  chunks: number;
  /** identifies this job's Y for the SIMD engine's copy cache (unique per half-step) */
  yKey: number;
}

let yKeys = 0;

/** Per-thread scratch (kernels run synchronously, one at a time per thread). */
let scratch = new Float64Array(0);
function scratchOf(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(n);
  return scratch;
}

/**
 * out += Σ_{p ∈ [s, e)} w_p · y_p over the stored entries of one row, where d_p = y_p · v and
 *   w_p = (c_p − 1)·d_p                  (mode 0: the sparse part of A·v, A's Yᵀ(C_u − I)Y term)
 *   w_p = c_p − (c_p − 1)·d_p            (mode 1: the sparse part of the residual b − A·v).
 * Eight entries at a time: their dot products share each load of v, and one pass over `out`
 * applies all eight updates — about twice the speed of a dot + axpy per entry, which matters
 * because this loop is ~90% of an iteration.
 */
function sparsePass(Y: Float64Array, f: number, indices: Int32Array, conf: Float64Array, s: number, e: number, v: Float64Array, vOff: number, out: Float64Array, oOff: number, mode: number): void {
  let p = s;
  for (; p + 8 <= e; p += 8) {
    const o1 = indices[p] * f;
    const o2 = indices[p + 1] * f;
    const o3 = indices[p + 2] * f;
    const o4 = indices[p + 3] * f;
    const o5 = indices[p + 4] * f;
    const o6 = indices[p + 5] * f;
    const o7 = indices[p + 6] * f;
    const o8 = indices[p + 7] * f;
    let d1 = 0, d2 = 0, d3 = 0, d4 = 0, d5 = 0, d6 = 0, d7 = 0, d8 = 0;
    for (let k = 0; k < f; k++) {
      const x = v[vOff + k];
      d1 += Y[o1 + k] * x;
      d2 += Y[o2 + k] * x;
      d3 += Y[o3 + k] * x;
      d4 += Y[o4 + k] * x;
      d5 += Y[o5 + k] * x;
      d6 += Y[o6 + k] * x;
      d7 += Y[o7 + k] * x;
      d8 += Y[o8 + k] * x;
    }
    const w1 = coef(conf[p], d1, mode);
    const w2 = coef(conf[p + 1], d2, mode);
    const w3 = coef(conf[p + 2], d3, mode);
    const w4 = coef(conf[p + 3], d4, mode);
    const w5 = coef(conf[p + 4], d5, mode);
    const w6 = coef(conf[p + 5], d6, mode);
    const w7 = coef(conf[p + 6], d7, mode);
    const w8 = coef(conf[p + 7], d8, mode);
    for (let k = 0; k < f; k++) {
      out[oOff + k] += w1 * Y[o1 + k] + w2 * Y[o2 + k] + w3 * Y[o3 + k] + w4 * Y[o4 + k] + (w5 * Y[o5 + k] + w6 * Y[o6 + k] + w7 * Y[o7 + k] + w8 * Y[o8 + k]);
    }
  }
  for (; p + 2 <= e; p += 2) {
    const o1 = indices[p] * f;
    const o2 = indices[p + 1] * f;
    let d1 = 0, d2 = 0;
    for (let k = 0; k < f; k++) {
      const x = v[vOff + k];
      d1 += Y[o1 + k] * x;
      d2 += Y[o2 + k] * x;
    }
    const w1 = coef(conf[p], d1, mode);
    const w2 = coef(conf[p + 1], d2, mode);
    for (let k = 0; k < f; k++) out[oOff + k] += w1 * Y[o1 + k] + w2 * Y[o2 + k];
  }
  if (p < e) {
    const o1 = indices[p] * f;
    const w1 = coef(conf[p], dot(Y, o1, v, vOff, f), mode);
    for (let k = 0; k < f; k++) out[oOff + k] += w1 * Y[o1 + k];
  }
}

function coef(c: number, d: number, mode: number): number {
  return mode === 0 ? (c - 1) * d : c - (c - 1) * d;
}

/**
 * CG for a block of rows in lockstep (Takács et al. 2011, warm-started from the current X): the
 * dense (YᵀY + λI)·v products of all the block's rows are one `gemmNT` call per step (register
 * tiled, ~2× a per-row matrix-vector loop); the sparse products stay per row.
 */
function cgBlock(a: AlsHalfArgs, r0: number, r1: number): void {
  const { X, Y, YtY, indptr, indices, conf, f, reg } = a;
  const m = r1 - r0;
  // the SIMD engine when available (two f64 lanes: needs an even f); else the JS pass
  const simd = f % 2 === 0 ? SparsePassEngine.forThread() : null;
  const base = indptr[r0];
  if (simd) {
    simd.loadY(Y, f, a.yKey);
    simd.loadEntries(indices, conf, base, indptr[r1]);
  }
  const pass = (s: number, e: number, v: Float64Array, vOff: number, out: Float64Array, oOff: number, mode: number): void => {
    if (simd) simd.pass(s - base, e - base, v, vOff, out, oOff, mode);
    else sparsePass(Y, f, indices, conf, s, e, v, vOff, out, oOff, mode);
  };
  const w = scratchOf(3 * m * f + 2 * m);
  const R = 0;
  const P = m * f;
  const AP = 2 * m * f;
  const RS = 3 * m * f;
  const ACT = RS + m;
  const x0 = r0 * f;
  // r = b − A·x: dense part by gemm, sparse part per row
  w.fill(0, AP, AP + m * f);
  gemmNT(w, AP, f, X, x0, f, YtY, 0, f, m, f, f);
  for (let q = 0; q < m; q++) {
    const u = r0 + q;
    const s = indptr[u];
    const e = indptr[u + 1];
    const ro = R + q * f;
    const xo = x0 + q * f;
    if (s === e) {
      // no observations: the row system is (YᵀY + λI)x = 0, solved by x = 0
      X.fill(0, xo, xo + f);
      w.fill(0, ro, ro + f);
      w[ACT + q] = 0;
      continue;
    }
    for (let k = 0; k < f; k++) w[ro + k] = -(w[AP + q * f + k] + reg * X[xo + k]);
    pass(s, e, X, xo, w, ro, 1);
    w[ACT + q] = 1;
  }
  for (let q = 0; q < m * f; q++) w[P + q] = w[R + q];
  for (let q = 0; q < m; q++) w[RS + q] = dot(w, R + q * f, w, R + q * f, f);
  for (let step = 0; step < a.cgSteps; step++) {
    w.fill(0, AP, AP + m * f);
    gemmNT(w, AP, f, w, P, f, YtY, 0, f, m, f, f);
    let active = 0;
    for (let q = 0; q < m; q++) {
      const rs = w[RS + q];
      // a converged row stays put (also avoids 0/0 on an exact warm start)
      if (w[ACT + q] === 0 || rs <= 1e-30) {
        w[ACT + q] = 0;
        continue;
      }
      const u = r0 + q;
      const po = P + q * f;
      const ao = AP + q * f;
      const ro = R + q * f;
      const xo = x0 + q * f;
      for (let k = 0; k < f; k++) w[ao + k] += reg * w[po + k];
      pass(indptr[u], indptr[u + 1], w, po, w, ao, 0);
      const pAp = dot(w, po, w, ao, f);
      if (!(pAp > 0)) {
        w[ACT + q] = 0;
        continue;
      }
      const alpha = rs / pAp;
      let rsNew = 0;
      for (let k = 0; k < f; k++) {
        X[xo + k] += alpha * w[po + k];
        const r = w[ro + k] - alpha * w[ao + k];
        w[ro + k] = r;
        rsNew += r * r;
      }
      const beta = rsNew / rs;
      for (let k = 0; k < f; k++) w[po + k] = w[ro + k] + beta * w[po + k];
      w[RS + q] = rsNew;
      active++;
    }
    if (active === 0) break;
  }
}

/**
 * Builds the row system A = YᵀY + λI + Σ (c_p − 1) y_p y_pᵀ (lower triangle) and b = Σ c_p y_p
 * into w[0..f²) and w[f²..f²+f), then solves it exactly into `out` (Cholesky).
 */
function exactRow(Y: Float64Array, YtY: Float64Array, f: number, reg: number, indices: Int32Array, conf: Float64Array, s: number, e: number, w: Float64Array, out: Float64Array, oOff: number): void {
  const B = f * f;
  for (let q = 0; q < B; q++) w[q] = YtY[q];
  for (let k = 0; k < f; k++) {
    w[k * f + k] += reg;
    w[B + k] = 0;
  }
  for (let p = s; p < e; p++) {
    const o = indices[p] * f;
    const c = conf[p];
    const cm = c - 1;
    for (let i = 0; i < f; i++) {
      const yi = Y[o + i];
      w[B + i] += c * yi;
      const t = cm * yi;
      const row = i * f;
      for (let j = 0; j <= i; j++) w[row + j] += t * Y[o + j];
    }
  }
  choleskyInPlace(w, f);
  cholSolveInPlace(w, f, w, 0, f, B);
  for (let k = 0; k < f; k++) out[oOff + k] = w[B + k];
}

const halfKernel = defineKernel<AlsHalfArgs>("als.half", (a, c) => {
  const [r0, r1] = chunkRange(a.nRows, a.chunks, c);
  const f = a.f;
  if (a.cgSteps > 0) {
    cgBlock(a, r0, r1);
    return;
  }
  const w = scratchOf(f * f + f);
  for (let u = r0; u < r1; u++) {
    const s = a.indptr[u];
    const e = a.indptr[u + 1];
    const xo = u * f;
    if (s === e) a.X.fill(0, xo, xo + f);
    else exactRow(a.Y, a.YtY, f, a.reg, a.indices, a.conf, s, e, w, a.X, xo);
  }
});

/**
 * One half-step: re-solves every row of X (nRows × f) against the fixed Y. Parallel over row
 * chunks when `parallel` (then every array must be on a SharedArrayBuffer). Returns YᵀY as used.
 */
export function alsHalfStep(a: Omit<AlsHalfArgs, "YtY" | "chunks" | "yKey"> & { nOther: number; parallel: boolean }): Float64Array {
  const YtY = gram(a.Y, a.nOther, a.f, a.parallel ? new Float64Array(new SharedArrayBuffer(8 * a.f * a.f)) : new Float64Array(a.f * a.f));
  // ~48 rows per chunk: enough to amortise packing YᵀY for the block gemm, enough chunks to balance
  const chunks = Math.max(1, Math.min(a.nRows, Math.ceil(a.nRows / 48)));
  const { nOther: _n, parallel, ...rest } = a;
  runKernel(halfKernel, { ...rest, YtY, chunks, yKey: ++yKeys }, chunks, { parallel });
  return YtY;
}

/** Arguments of the fold-in kernel: exact row solves for history rows against fixed item factors. */
export interface AlsFoldArgs {
  Y: Float64Array;
  YtY: Float64Array;
  indptr: Int32Array;
  indices: Int32Array;
  conf: Float64Array;
  /** the history rows to solve, in output order */
  rows: Int32Array;
  out: Float64Array;
  f: number;
  reg: number;
  nItems: number;
  chunks: number;
}

const foldKernel = defineKernel<AlsFoldArgs>("als.foldin", (a, c) => {
  const [q0, q1] = chunkRange(a.rows.length, a.chunks, c);
  const f = a.f;
  const w = scratchOf(f * f + f);
  for (let q = q0; q < q1; q++) {
    const u = a.rows[q];
    const s = a.indptr[u];
    const e = a.indptr[u + 1];
    // entries for items the model never saw carry no information about the user: skip them
    let any = false;
    for (let p = s; p < e; p++) if (a.indices[p] < a.nItems) any = true;
    if (!any) {
      a.out.fill(0, q * f, q * f + f);
      continue;
    }
    exactRowFiltered(a, s, e, w, q * f);
  }
});

function exactRowFiltered(a: AlsFoldArgs, s: number, e: number, w: Float64Array, oOff: number): void {
  let clean = true;
  for (let p = s; p < e; p++) if (a.indices[p] < 0 || a.indices[p] >= a.nItems) clean = false;
  if (clean) {
    exactRow(a.Y, a.YtY, a.f, a.reg, a.indices, a.conf, s, e, w, a.out, oOff);
    return;
  }
  const idx: number[] = [];
  const cf: number[] = [];
  for (let p = s; p < e; p++) {
    if (a.indices[p] >= 0 && a.indices[p] < a.nItems) {
      idx.push(a.indices[p]);
      cf.push(a.conf[p]);
    }
  }
  exactRow(a.Y, a.YtY, a.f, a.reg, Int32Array.from(idx), Float64Array.from(cf), 0, idx.length, w, a.out, oOff);
}

/**
 * Strong-generalization fold-in: for each history row, the exact least-squares user vector
 * against the fixed item factors Y (the user half-step of Hu et al. for one new user).
 */
export function alsFoldIn(a: Omit<AlsFoldArgs, "chunks" | "out">, parallel: boolean): Float64Array {
  const n = a.rows.length;
  const out = parallel ? new Float64Array(new SharedArrayBuffer(8 * n * a.f)) : new Float64Array(n * a.f);
  const chunks = Math.max(1, Math.min(n, Math.ceil(n / 8)));
  runKernel(foldKernel, { ...a, out, chunks }, chunks, { parallel });
  return out;
}

/**
 * The iALS objective Σ_{u,i} c_ui (p_ui − x_u·y_i)² + λ(‖X‖² + ‖Y‖²) over all user–item pairs,
 * computed in O(nnz·f + (m + n)·f²) via Σ_{u,i} (x_u·y_i)² = Σ_u x_uᵀ(YᵀY)x_u.
 */
export function alsLoss(X: Float64Array, Y: Float64Array, f: number, nRows: number, nOther: number, indptr: Int32Array, indices: Int32Array, conf: Float64Array, reg: number): number {
  const YtY = gram(Y, nOther, f);
  const t = new Float64Array(f);
  let loss = 0;
  for (let u = 0; u < nRows; u++) {
    const xo = u * f;
    for (let a = 0; a < f; a++) t[a] = dot(YtY, a * f, X, xo, f);
    loss += dot(t, 0, X, xo, f);
    for (let p = indptr[u]; p < indptr[u + 1]; p++) {
      const s = dot(X, xo, Y, indices[p] * f, f);
      loss += conf[p] * (1 - s) * (1 - s) - s * s;
    }
  }
  let reg2 = 0;
  for (let q = 0; q < nRows * f; q++) reg2 += X[q] * X[q];
  for (let q = 0; q < nOther * f; q++) reg2 += Y[q] * Y[q];
  return loss + reg * reg2;
}
