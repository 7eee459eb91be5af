/**
 * The EASE^R weight step (Steck, WWW 2019, eq. 8): from P = (XᵀX + λI)⁻¹ to
 * B = I − P·diagMat(1/diag(P)) with a zero diagonal, stored as float32 for scoring.
 */
import { chunkRange, defineKernel, runKernel, sharedF32 } from "./pool";

interface WeightsArgs {
  P: Float64Array;
  B: Float32Array;
  n: number;
  chunks: number;
}

/** B[i, j] = −P[i, j] / P[j, j] for i ≠ j, B[i, i] = 0, for the rows of chunk c. */
const weightsKernel = defineKernel<WeightsArgs>("ease.weights", ({ P, B, n, chunks }, c) => {
  const [i0, i1] = chunkRange(n, chunks, c);
  const inv = new Float64Array(n);
  for (let j = 0; j < n; j++) inv[j] = -1 / P[j * n + j];
  for (let i = i0; i < i1; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) B[row + j] = P[row + j] * inv[j];
    B[row + i] = 0;
  }
});

/** EASE weights B (n × n float32 on a SharedArrayBuffer) from the full symmetric inverse P. */
export function easeWeights(P: Float64Array, n: number, parallel: boolean): Float32Array {
  const B = sharedF32(n * n);
  const chunks = Math.max(1, Math.ceil(n / 64));
  runKernel(weightsKernel, { P, B, n, chunks }, chunks, { parallel });
  return B;
}
