/**
 * Truncated SVD of a sparse matrix by the randomised range finder with power iterations (Halko,
 * Martinsson & Tropp, "Finding Structure with Randomness", SIAM Review 2011, Algorithms 4.4 and
 * 5.1), finished by a thin QR and a one-sided Jacobi SVD (Hestenes 1958) of the small factor.
 */
import type { CsrMatrix } from "../../data/csr";
import type { Rng } from "../../util/rng";
import { dot } from "./gemm";
import { spmm } from "./sparse";

/**
 * Thin QR of a row-major r × c matrix A (r ≥ c) by modified Gram–Schmidt with one full
 * re-orthogonalisation pass ("twice is enough", Giraud et al. 2005). Returns Q (r × c, row-major)
 * and R (c × c, row-major upper triangular). A column that is numerically dependent on the
 * previous ones becomes zero in Q (and R has a zero diagonal there).
 */
export function qrThin(A: Float64Array, r: number, c: number): { Q: Float64Array; R: Float64Array } {
  // work on columns as contiguous rows
  const Qt = new Float64Array(c * r);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) Qt[j * r + i] = A[i * c + j];
  const R = new Float64Array(c * c);
  for (let j = 0; j < c; j++) {
    const qj = j * r;
    const norm0 = Math.sqrt(dot(Qt, qj, Qt, qj, r));
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        const qk = k * r;
        const h = dot(Qt, qk, Qt, qj, r);
        R[k * c + j] += h;
        for (let i = 0; i < r; i++) Qt[qj + i] -= h * Qt[qk + i];
      }
    }
    const nrm = Math.sqrt(dot(Qt, qj, Qt, qj, r));
    if (!(nrm > 1e-12 * Math.max(norm0, 1e-300)) || nrm === 0) {
      Qt.fill(0, qj, qj + r);
      R[j * c + j] = 0;
    } else {
      R[j * c + j] = nrm;
      const inv = 1 / nrm;
      for (let i = 0; i < r; i++) Qt[qj + i] *= inv;
    }
  }
  const Q = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) Q[i * c + j] = Qt[j * r + i];
  return { Q, R };
}

/**
 * SVD of a small square row-major matrix A (n × n) by one-sided Jacobi rotations on its columns:
 * A·W = U·diag(s). Returns U (n × n, columns = left singular vectors), s, and W (right singular
 * vectors as columns), sorted by s descending (ties by original column order).
 */
export function jacobiSvd(A: Float64Array, n: number, maxSweeps = 60): { U: Float64Array; s: Float64Array; W: Float64Array } {
  // columns as rows for contiguous access
  const G = new Float64Array(n * n);
  const Wt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    Wt[i * n + i] = 1;
    for (let j = 0; j < n; j++) G[j * n + i] = A[i * n + j];
  }
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const alpha = dot(G, p * n, G, p * n, n);
        const beta = dot(G, q * n, G, q * n, n);
        const gamma = dot(G, p * n, G, q * n, n);
        if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const cs = 1 / Math.sqrt(1 + t * t);
        const sn = cs * t;
        rotate(G, p * n, q * n, n, cs, sn);
        rotate(Wt, p * n, q * n, n, cs, sn);
      }
    }
    if (!rotated) break;
  }
  const s = new Float64Array(n);
  for (let j = 0; j < n; j++) s[j] = Math.sqrt(dot(G, j * n, G, j * n, n));
  const order = Array.from({ length: n }, (_, j) => j).sort((a, b) => s[b] - s[a] || a - b);
  const U = new Float64Array(n * n);
  const W = new Float64Array(n * n);
  const sOut = new Float64Array(n);
  order.forEach((j, col) => {
    sOut[col] = s[j];
    const inv = s[j] > 0 ? 1 / s[j] : 0;
    for (let i = 0; i < n; i++) {
      U[i * n + col] = G[j * n + i] * inv;
      W[i * n + col] = Wt[j * n + i];
    }
  });
  return { U, s: sOut, W };
}

function rotate(M: Float64Array, a: number, b: number, n: number, c: number, s: number): void {
  for (let i = 0; i < n; i++) {
    const x = M[a + i];
    const y = M[b + i];
    M[a + i] = c * x - s * y;
    M[b + i] = s * x + c * y;
  }
}

/** Options of `randomizedSvd`. */
export interface RandomizedSvdOptions {
  rank: number;
  /** extra random directions (Halko et al. suggest 5–10) */
  oversample: number;
  /** power iterations q (sharpen a slowly decaying spectrum; 2–4 for rating data) */
  powerIterations: number;
  rng: Rng;
  /** treat stored values as 1 */
  binary: boolean;
}

/**
 * Top-`rank` right singular vectors V (n × rank, row-major) and singular values of the m × n
 * sparse matrix X (Xt its transpose). Components beyond X's numerical rank have σ = 0 and zero
 * vectors. Each column's sign is fixed so its largest-magnitude entry is positive (deterministic
 * output for tests and saved models).
 */
export function randomizedSvd(X: CsrMatrix, Xt: CsrMatrix, opts: RandomizedSvdOptions): { V: Float64Array; sigma: Float64Array } {
  const m = X.nRows;
  const n = X.nCols;
  const rank = Math.min(opts.rank, m, n);
  const l = Math.min(rank + opts.oversample, m, n);
  const Omega = new Float64Array(n * l);
  for (let q = 0; q < Omega.length; q++) Omega[q] = opts.rng.normal();
  let Q = qrThin(spmm(X, Omega, l, opts.binary), m, l).Q;
  for (let it = 0; it < opts.powerIterations; it++) {
    // re-orthonormalise between products so small singular directions are not lost to rounding
    const Z = qrThin(spmm(Xt, Q, l, opts.binary), n, l).Q;
    Q = qrThin(spmm(X, Z, l, opts.binary), m, l).Q;
  }
  // Bᵀ = XᵀQ (n × l); Bᵀ = Q₂R; R = U_R Σ W_Rᵀ ⇒ B = W_R Σ (Q₂U_R)ᵀ, so V = Q₂U_R
  const Bt = spmm(Xt, Q, l, opts.binary);
  const { Q: Q2, R } = qrThin(Bt, n, l);
  const { U: UR, s } = jacobiSvd(R, l);
  const V = new Float64Array(n * rank);
  const sigma = new Float64Array(rank);
  for (let col = 0; col < rank; col++) {
    sigma[col] = s[col];
    if (!(s[col] > 1e-12 * Math.max(s[0], 1e-300))) continue;
    const u = colOf(UR, l, col);
    for (let i = 0; i < n; i++) V[i * rank + col] = dot(Q2, i * l, u, 0, l);
    let big = 0;
    for (let i = 0; i < n; i++) if (Math.abs(V[i * rank + col]) > Math.abs(big)) big = V[i * rank + col];
    if (big < 0) for (let i = 0; i < n; i++) V[i * rank + col] = -V[i * rank + col];
  }
  return { V, sigma };
}

function colOf(M: Float64Array, n: number, col: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = M[i * n + col];
  return out;
}
