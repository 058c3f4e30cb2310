// Batch norm inference on the gpujs backend (batchNormGpujs): y = (x − mean[c])·scale[c] + shift[c]
// over a flat [N, C, S] Float32Array, one thread per element. The op folds the running variance and
// the weight into scale (the bias is shift); training needs batch statistics and runs on cpu.
// checkBatchNormCall checks what createGpuKernels' callers pass raw.
import type { BatchNormKernel, BatchNormShape } from '../norm.js';
import { checkArray, checkSizes, float32, sync, type KernelThis, type MaybePromise, type Runner } from './runner.js';
import { backendRunner } from './backend.js';

export const batchNormGpujs: BatchNormKernel = {
  affine: (x, mean, scale, shift, g) =>
    sync(batchNormAffine(backendRunner(), float32(x), ...[mean, scale, shift].map((a) => Float32Array.from(a)) as Params, g)),
};

type Params = [mean: Float32Array, scale: Float32Array, shift: Float32Array];

function batchNormAffineKernel(this: KernelThis, x: Float32Array, mean: Float32Array, scale: Float32Array, shift: Float32Array): number {
  const i = this.thread.x;
  const c = Math.floor(i / this.constants.S) % this.constants.C;
  return (x[i] - mean[c]) * scale[c] + shift[c];
}

const shapeOf = (g: BatchNormShape) => `N×C×S = ${g.N}×${g.C}×${g.S}`;

/** Sizes and array lengths of a raw call. */
export function checkBatchNormCall(g: BatchNormShape, x: unknown, params: { mean: unknown; scale: unknown; shift: unknown }): void {
  const op = 'batchNormAffine';
  checkSizes(op, { ...g }, [['input', g.N * g.C * g.S, shapeOf(g)]]);
  checkArray(op, 'input', x, g.N * g.C * g.S, shapeOf(g));
  for (const [name, a] of Object.entries(params)) checkArray(op, name, a, g.C, `C = ${g.C}`);
}

export function batchNormAffine(r: Runner, x: Float32Array, mean: Float32Array, scale: Float32Array, shift: Float32Array,
  g: BatchNormShape): MaybePromise<Float32Array> {
  checkSizes('batchNormAffine', {}, [['input', g.N * g.C * g.S, shapeOf(g)]]);
  return r.run('batchNormAffine', batchNormAffineKernel, { C: g.C, S: g.S }, g.N * g.C * g.S, [x, mean, scale, shift]);
}
