/**
 * Cholesky factorisation, solves and the symmetric positive-definite inverse on row-major
 * Float64Arrays (Golub & Van Loan, Matrix Computations, 4th ed., §4.2 and §3.1).
 *
 * The large-matrix path (EASE's item Gram matrix) is blocked so that nearly all flops run in the
 * register-tiled `gemmNT` kernel, and every phase is split into independent block tasks for the
 * worker pool:
 *   1. left-looking blocked Cholesky A = L·Lᵀ (n³/3 flops): per block column, a parallel panel
 *      update, a small serial diagonal factorisation, a parallel triangular solve;
 *   2. M = L⁻ᵀ, one block row of M per task (n³/3 flops) — rows of L⁻ᵀ are columns of L⁻¹, and in
 *      this orientation both operands of every product are contiguous rows;
 *   3. A⁻¹ = L⁻ᵀL⁻¹ = M·Mᵀ (n³/3 flops), one block pair per task.
 */
import { NtgError } from "../../util/errors";
import { dot, gemmNT } from "./gemm";
import { chunkRange, defineKernel, runKernel, sharedF64 } from "./pool";

/** Default block size (a multiple of the 3×3 register tile). */
const NB = 96;

function notPd(k: number, v: number): NtgError {
  return new NtgError(`matrix is not positive definite (pivot ${k} is ${v}); increase the regularisation`);
}

/**
 * In-place Cholesky (Cholesky–Banachiewicz, row by row) of the n × n SPD block at A[off], leading
 * dimension lda: the lower triangle becomes L (A = L·Lᵀ); the strict upper triangle is untouched.
 * For small systems (ALS fold-in, diagonal blocks); throws NtgError if a pivot is not positive.
 */
export function choleskyInPlace(A: Float64Array, n: number, off = 0, lda = n): void {
  for (let i = 0; i < n; i++) {
    const ri = off + i * lda;
    for (let j = 0; j < i; j++) {
      const rj = off + j * lda;
      A[ri + j] = (A[ri + j] - dot(A, ri, A, rj, j)) / A[rj + j];
    }
    const d = A[ri + i] - dot(A, ri, A, ri, i);
    if (!(d > 0) || !Number.isFinite(d)) throw notPd(i, d);
    A[ri + i] = Math.sqrt(d);
  }
}

/** Solves L·Lᵀ·x = b in place (b becomes x) with the factor from `choleskyInPlace`. */
export function cholSolveInPlace(L: Float64Array, n: number, b: Float64Array, off = 0, lda = n, bOff = 0): void {
  for (let i = 0; i < n; i++) {
    const ri = off + i * lda;
    b[bOff + i] = (b[bOff + i] - dot(L, ri, b, bOff, i)) / L[ri + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[bOff + i];
    for (let k = i + 1; k < n; k++) s -= L[off + k * lda + i] * b[bOff + k];
    b[bOff + i] = s / L[off + i * lda + i];
  }
}

/**
 * Right triangular solve X ← X·L⁻ᵀ for `rows` rows of X (columns xc..xc+w) against the w × w
 * lower-triangular block of L at (lc, lc): X[r,c] = (X[r,c] − Σ_{k<c} X[r,k]·L[c,k]) / L[c,c].
 * Three rows at a time so each L row loaded serves three dot products.
 */
function trsmRowsLT(X: Float64Array, row0: number, rows: number, ldx: number, xc: number, L: Float64Array, lc: number, ldl: number, w: number): void {
  let r = 0;
  for (; r + 3 <= rows; r += 3) {
    const x0 = (row0 + r) * ldx + xc;
    const x1 = x0 + ldx;
    const x2 = x1 + ldx;
    for (let c = 0; c < w; c++) {
      const l = (lc + c) * ldl + lc;
      let s0 = X[x0 + c], s1 = X[x1 + c], s2 = X[x2 + c];
      for (let k = 0; k < c; k++) {
        const v = L[l + k];
        s0 -= X[x0 + k] * v;
        s1 -= X[x1 + k] * v;
        s2 -= X[x2 + k] * v;
      }
      const d = L[l + c];
      X[x0 + c] = s0 / d;
      X[x1 + c] = s1 / d;
      X[x2 + c] = s2 / d;
    }
  }
  for (; r < rows; r++) {
    const x0 = (row0 + r) * ldx + xc;
    for (let c = 0; c < w; c++) {
      const l = (lc + c) * ldl + lc;
      X[x0 + c] = (X[x0 + c] - dot(X, x0, L, l, c)) / L[l + c];
    }
  }
}

interface PanelArgs {
  S: Float64Array;
  n: number;
  nb: number;
  j0: number;
  j1: number;
}

/** Phase 1a: block row chunk c (starting at the diagonal block) ← C − L[I, :j0]·L[J, :j0]ᵀ. */
const cholUpdate = defineKernel<PanelArgs>("chol.update", ({ S, n, nb, j0, j1 }, c) => {
  const i0 = j0 + c * nb;
  const i1 = Math.min(n, i0 + nb);
  gemmNT(S, i0 * n + j0, n, S, i0 * n, n, S, j0 * n, n, i1 - i0, j1 - j0, j0, -1);
});

/** Phase 1b: rows below the diagonal block, chunk c of them ← rows·L_JJ⁻ᵀ. */
const cholSolvePanel = defineKernel<PanelArgs & { chunks: number }>("chol.solve", ({ S, n, j0, j1, chunks }, c) => {
  const [a, b] = chunkRange(n - j1, chunks, c);
  trsmRowsLT(S, j1 + a, b - a, n, j0, S, j0, n, j1 - j0);
});

/** Options of the blocked kernels. */
export interface BlockedOptions {
  /** use the worker pool (default: when n ≥ 384) */
  parallel?: boolean;
  /** block size (default 96) */
  blockSize?: number;
}

/**
 * Blocked left-looking Cholesky of the n × n SPD matrix S (row-major; only the lower triangle is
 * read) in place: the lower triangle becomes L with S = L·Lᵀ, the strict upper triangle is left
 * unspecified. With `parallel`, S must live on a SharedArrayBuffer. Throws NtgError when S is not
 * positive definite.
 */
export function choleskyBlocked(S: Float64Array, n: number, opts: BlockedOptions = {}): void {
  const nb = opts.blockSize ?? NB;
  const parallel = opts.parallel ?? n >= 384;
  for (let j0 = 0; j0 < n; j0 += nb) {
    const j1 = Math.min(n, j0 + nb);
    const args = { S, n, nb, j0, j1 };
    if (j0 > 0) runKernel(cholUpdate, args, Math.ceil((n - j0) / nb), { parallel });
    choleskyInPlace(S, j1 - j0, j0 * n + j0, n);
    if (j1 < n) {
      const chunks = Math.ceil((n - j1) / nb);
      runKernel(cholSolvePanel, { ...args, chunks }, chunks, { parallel });
    }
  }
}

interface InvArgs {
  S: Float64Array;
  T: Float64Array;
  n: number;
  nb: number;
}

/** Phase 2: block row J of M = L⁻ᵀ (T zero on entry, so M's strict lower part stays zero). */
const invTriRow = defineKernel<InvArgs>("chol.invrow", ({ S, T, n, nb }, J) => {
  const j0 = J * nb;
  const j1 = Math.min(n, j0 + nb);
  // diagonal block: M_JJ = L_JJ⁻ᵀ, row j solved left to right
  for (let j = j0; j < j1; j++) {
    const rj = j * n;
    T[rj + j] = 1 / S[rj + j];
    for (let i = j + 1; i < j1; i++) {
      const ri = i * n;
      T[rj + i] = -dot(S, ri + j, T, rj + j, i - j) / S[ri + i];
    }
  }
  // off-diagonal blocks: M_JI = −(M_J[:, j0:i0]·L_I[:, j0:i0]ᵀ)·L_II⁻ᵀ
  for (let i0 = j1; i0 < n; i0 += nb) {
    const i1 = Math.min(n, i0 + nb);
    gemmNT(T, j0 * n + i0, n, T, j0 * n + j0, n, S, i0 * n + j0, n, j1 - j0, i1 - i0, i0 - j0, -1);
    trsmRowsLT(T, j0, j1 - j0, n, i0, S, i0, n, i1 - i0);
  }
});

/** Phase 3: block pair (A, B ≥ A) of P = M·Mᵀ, written to S in both triangles. */
const invProduct = defineKernel<InvArgs & { pairs: Int32Array }>("chol.product", ({ S, T, n, nb, pairs }, c) => {
  const a0 = pairs[2 * c] * nb;
  const b0 = pairs[2 * c + 1] * nb;
  const a1 = Math.min(n, a0 + nb);
  const b1 = Math.min(n, b0 + nb);
  const ab = a1 - a0;
  const bb = b1 - b0;
  const C = new Float64Array(ab * bb);
  // M[a, k] = 0 for k < a and M[b, k] = 0 for k < b, so k can start at b0
  gemmNT(C, 0, bb, T, a0 * n + b0, n, T, b0 * n + b0, n, ab, bb, n - b0);
  for (let a = 0; a < ab; a++) {
    for (let b = 0; b < bb; b++) {
      const v = C[a * bb + b];
      S[(a0 + a) * n + b0 + b] = v;
      S[(b0 + b) * n + a0 + a] = v;
    }
  }
});

/**
 * Inverse of the n × n SPD matrix S in place (only its lower triangle is read): S becomes the full
 * symmetric S⁻¹. ≈ n³ flops (Cholesky, triangular inverse, product: n³/3 each). Uses one extra
 * n × n scratch matrix. With `parallel`, S must live on a SharedArrayBuffer.
 * `onPhase` reports the end of each phase (for timing and progress).
 */
export function invertSpd(S: Float64Array, n: number, opts: BlockedOptions & { onPhase?: (phase: "cholesky" | "triangular" | "product") => void } = {}): Float64Array {
  const nb = opts.blockSize ?? NB;
  const parallel = opts.parallel ?? n >= 384;
  choleskyBlocked(S, n, { parallel, blockSize: nb });
  opts.onPhase?.("cholesky");
  const T = parallel ? sharedF64(n * n) : new Float64Array(n * n);
  const nBlocks = Math.ceil(n / nb);
  runKernel(invTriRow, { S, T, n, nb }, nBlocks, { parallel });
  opts.onPhase?.("triangular");
  // pairs ordered by B ascending: the longest products (smallest b0) are claimed first
  const pairs = parallel ? new Int32Array(new SharedArrayBuffer(4 * nBlocks * (nBlocks + 1))) : new Int32Array(nBlocks * (nBlocks + 1));
  let p = 0;
  for (let B = 0; B < nBlocks; B++) {
    for (let A = 0; A <= B; A++) {
      pairs[p++] = A;
      pairs[p++] = B;
    }
  }
  runKernel(invProduct, { S, T, n, nb, pairs }, p / 2, { parallel });
  opts.onPhase?.("product");
  return S;
}

/** Flops of `invertSpd` on an n × n matrix (n³/3 per phase), for GFLOP/s reports. */
export function invertSpdFlops(n: number): number {
  return n * n * n;
}

/** Flops of a Cholesky factorisation of an n × n matrix (n³/3). */
export function choleskyFlops(n: number): number {
  return (n * n * n) / 3;
}
