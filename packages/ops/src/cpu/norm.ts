// Batch norm on cpu: per-channel batch statistics, the per-channel affine (eval mode and the last
// step of training) and the standard backward, over a [N, C, S] layout, float32 or float64 data with
// float64 sums.
import { allocateLike, type FloatArray } from '@firegrad/core';
import type { BatchNormKernel, BatchNormShape } from '../norm.js';

export const batchNormCpu: BatchNormKernel = {
  affine(x, mean, scale, shift, { N, C, S }) {
    const out = allocateLike(x, x.length);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const m = mean[c], a = scale[c], b = shift[c], base = (n * C + c) * S;
        for (let s = base; s < base + S; s++) out[s] = (x[s] - m) * a + b;
      }
    }
    return out;
  },
};

/** Mean, biased variance (two passes) and invstd = 1/√(var + eps) per channel. */
export function batchNormStats(x: FloatArray, { N, C, S }: BatchNormShape, eps: number) {
  const mean = new Float64Array(C), variance = new Float64Array(C), M = N * S;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * S;
      let sum = mean[c]; // a local accumulator: same additions in the same order, kept in a register
      for (let s = base; s < base + S; s++) sum += x[s];
      mean[c] = sum;
    }
  }
  for (let c = 0; c < C; c++) mean[c] /= M;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * S, m = mean[c];
      let sum = variance[c];
      for (let s = base; s < base + S; s++) sum += (x[s] - m) ** 2;
      variance[c] = sum;
    }
  }
  for (let c = 0; c < C; c++) variance[c] /= M;
  return { mean, variance, invstd: variance.map((v) => 1 / Math.sqrt(v + eps)) };
}

/**
 * With x̂ = (x − mean)·invstd: dbias = Σ dy, dweight = Σ dy·x̂ per channel. In training the
 * statistics depend on x, so dx = w·invstd·(dy − dbias/M − x̂·dweight/M); in eval dx = w·invstd·dy.
 */
export function batchNormBackward(dy: FloatArray, x: FloatArray, mean: Float64Array, invstd: Float64Array, weight: FloatArray | null,
  { N, C, S }: BatchNormShape, training: boolean) {
  const dweight = new Float64Array(C), dbias = new Float64Array(C), M = N * S;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * S, m = mean[c], k = invstd[c];
      let db = dbias[c], dw = dweight[c];
      for (let s = base; s < base + S; s++) {
        db += dy[s];
        dw += dy[s] * (x[s] - m) * k;
      }
      dbias[c] = db;
      dweight[c] = dw;
    }
  }
  const dx = allocateLike(x, x.length);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * S, m = mean[c], k = invstd[c], a = (weight ? weight[c] : 1) * k;
      const db = training ? dbias[c] / M : 0, dw = training ? dweight[c] / M : 0;
      for (let s = base; s < base + S; s++) dx[s] = a * (dy[s] - db - (x[s] - m) * k * dw);
    }
  }
  return { dx, dweight, dbias };
}
