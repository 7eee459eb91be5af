/**
 * Dense matrix products on row-major Float64Arrays in the "A·Bᵀ" form (both operands read along
 * contiguous rows), the shape every taste kernel reduces to: Gram blocks, Cholesky/inverse panel
 * updates, and user-factor × item-factor scoring.
 *
 * Why this layout: V8 emits scalar SSE code, so speed comes from register tiling (a 3×3 block of
 * accumulators held in locals across the k loop: 9 multiply-adds per 6 loads) and cache blocking
 * (a KC×NC panel of B stays in L2 while rows of A stream past). About 4 GFLOP/s per core on the
 * development machine (Zen 3), against ~1 GFLOP/s for a naive triple loop. Products big enough
 * to amortise packing go to the WebAssembly SIMD tile kernel (wasm.ts, ~8 GFLOP/s per core);
 * this JS kernel is the fallback and handles the small ones.
 */
import { GemmEngine } from "./wasm";

/** k-panel length: a 3-row micro-panel of A (3·KC doubles) stays in L1. */
const KC = 256;
/** B rows per cache block: NC·KC doubles ≈ 200 KB stay in L2. */
const NC = 96;

/**
 * C[i,j] += alpha · Σ_k A[i,k]·B[j,k] for i < m, j < n, k < K, where X[i,k] means
 * X[xOff + i·ldx + k]. The BLAS dgemm("N","T") operation on row-major storage; blocked and
 * register-tiled as described in the module comment.
 */
export function gemmNT(
  C: Float64Array,
  cOff: number,
  ldc: number,
  A: Float64Array,
  aOff: number,
  lda: number,
  B: Float64Array,
  bOff: number,
  ldb: number,
  m: number,
  n: number,
  K: number,
  alpha = 1,
): void {
  if (m <= 0 || n <= 0 || K <= 0) return;
  // the SIMD kernel (wasm.ts) pays off once the product outweighs packing the operands
  if (m >= 3 && n >= 3 && K >= 8 && m * n * K >= 20000) {
    const simd = GemmEngine.forThread();
    if (simd) {
      simd.gemmNT(C, cOff, ldc, A, aOff, lda, B, bOff, ldb, m, n, K, alpha, KC);
      return;
    }
  }
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kb = Math.min(KC, K - k0);
    for (let j0 = 0; j0 < n; j0 += NC) {
      const j1 = Math.min(n, j0 + NC);
      let i = 0;
      for (; i + 3 <= m; i += 3) {
        const a = aOff + i * lda + k0;
        const c = cOff + i * ldc;
        let j = j0;
        for (; j + 3 <= j1; j += 3) tile33(C, c + j, ldc, A, a, lda, B, bOff + j * ldb + k0, ldb, kb, alpha);
        for (; j < j1; j++) tile31(C, c + j, ldc, A, a, lda, B, bOff + j * ldb + k0, kb, alpha);
      }
      for (; i < m; i++) {
        const a = aOff + i * lda + k0;
        const c = cOff + i * ldc;
        let j = j0;
        for (; j + 3 <= j1; j += 3) tile13(C, c + j, A, a, B, bOff + j * ldb + k0, ldb, kb, alpha);
        for (; j < j1; j++) C[c + j] += alpha * dot(A, a, B, bOff + j * ldb + k0, kb);
      }
    }
  }
}

function tile33(C: Float64Array, c: number, ldc: number, A: Float64Array, a0: number, lda: number, B: Float64Array, b0: number, ldb: number, K: number, alpha: number): void {
  const a1 = a0 + lda;
  const a2 = a1 + lda;
  const b1 = b0 + ldb;
  const b2 = b1 + ldb;
  let c00 = 0, c01 = 0, c02 = 0, c10 = 0, c11 = 0, c12 = 0, c20 = 0, c21 = 0, c22 = 0;
  for (let k = 0; k < K; k++) {
    const y0 = B[b0 + k];
    const y1 = B[b1 + k];
    const y2 = B[b2 + k];
    const x0 = A[a0 + k];
    c00 += x0 * y0;
    c01 += x0 * y1;
    c02 += x0 * y2;
    const x1 = A[a1 + k];
    c10 += x1 * y0;
    c11 += x1 * y1;
    c12 += x1 * y2;
    const x2 = A[a2 + k];
    c20 += x2 * y0;
    c21 += x2 * y1;
    c22 += x2 * y2;
  }
  C[c] += alpha * c00;
  C[c + 1] += alpha * c01;
  C[c + 2] += alpha * c02;
  c += ldc;
  C[c] += alpha * c10;
  C[c + 1] += alpha * c11;
  C[c + 2] += alpha * c12;
  c += ldc;
  C[c] += alpha * c20;
  C[c + 1] += alpha * c21;
  C[c + 2] += alpha * c22;
}

function tile31(C: Float64Array, c: number, ldc: number, A: Float64Array, a0: number, lda: number, B: Float64Array, b0: number, K: number, alpha: number): void {
  const a1 = a0 + lda;
  const a2 = a1 + lda;
  let s0 = 0, s1 = 0, s2 = 0;
  for (let k = 0; k < K; k++) {
    const y = B[b0 + k];
    s0 += A[a0 + k] * y;
    s1 += A[a1 + k] * y;
    s2 += A[a2 + k] * y;
  }
  C[c] += alpha * s0;
  C[c + ldc] += alpha * s1;
  C[c + 2 * ldc] += alpha * s2;
}

function tile13(C: Float64Array, c: number, A: Float64Array, a0: number, B: Float64Array, b0: number, ldb: number, K: number, alpha: number): void {
  const b1 = b0 + ldb;
  const b2 = b1 + ldb;
  let s0 = 0, s1 = 0, s2 = 0;
  for (let k = 0; k < K; k++) {
    const x = A[a0 + k];
    s0 += x * B[b0 + k];
    s1 += x * B[b1 + k];
    s2 += x * B[b2 + k];
  }
  C[c] += alpha * s0;
  C[c + 1] += alpha * s1;
  C[c + 2] += alpha * s2;
}

/** Σ_k x[xOff+k]·y[yOff+k] for k < n, four-way unrolled (independent partial sums). */
export function dot(x: Float64Array, xOff: number, y: Float64Array, yOff: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    s0 += x[xOff + k] * y[yOff + k];
    s1 += x[xOff + k + 1] * y[yOff + k + 1];
    s2 += x[xOff + k + 2] * y[yOff + k + 2];
    s3 += x[xOff + k + 3] * y[yOff + k + 3];
  }
  for (; k < n; k++) s0 += x[xOff + k] * y[yOff + k];
  return s0 + s1 + (s2 + s3);
}

/** y[yOff+k] += a·x[xOff+k] for k < n. */
export function axpy(a: number, x: Float64Array, xOff: number, y: Float64Array, yOff: number, n: number): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    y[yOff + k] += a * x[xOff + k];
    y[yOff + k + 1] += a * x[xOff + k + 1];
    y[yOff + k + 2] += a * x[xOff + k + 2];
    y[yOff + k + 3] += a * x[xOff + k + 3];
  }
  for (; k < n; k++) y[yOff + k] += a * x[xOff + k];
}

/** Row-major transpose of an r × c matrix into a c × r one. */
export function transpose(src: Float64Array, r: number, c: number, out: Float64Array = new Float64Array(r * c)): Float64Array {
  const T = 32;
  for (let i0 = 0; i0 < r; i0 += T) {
    const i1 = Math.min(r, i0 + T);
    for (let j0 = 0; j0 < c; j0 += T) {
      const j1 = Math.min(c, j0 + T);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[j * r + i] = src[i * c + j];
    }
  }
  return out;
}

/**
 * Gram matrix XᵀX (c × c, full symmetric) of a row-major r × c matrix, via the transposed copy so
 * both product operands read contiguously.
 */
export function gram(X: Float64Array, r: number, c: number, out: Float64Array = new Float64Array(c * c)): Float64Array {
  const Xt = transpose(X, r, c);
  out.fill(0);
  gemmNT(out, 0, c, Xt, 0, r, Xt, 0, r, c, c, r);
  return out;
}
