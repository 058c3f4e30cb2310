// Batch norm inference on the gpujs backend (batchNormGpujs): the per-channel affine
// y = x·scale[c] + shift[c] over a flat [N, C, S] Float32Array, one thread per element. The op folds
// the running statistics, weight and bias into scale and shift; training needs batch statistics
// and runs on cpu. checkBatchNormCall checks what createGpuKernels' callers pass raw.
import type { BatchNormKernel, BatchNormShape } from '../norm.js';
import { checkArray, checkSizes, float32, sync, type KernelThis, type MaybePromise, type Runner } from './runner.js';
import { backendRunner } from './backend.js';

export const batchNormGpujs: BatchNormKernel = {
  affine: (x, scale, shift, g) => sync(batchNormAffine(backendRunner(), float32(x), Float32Array.from(scale), Float32Array.from(shift), g)),
};

function batchNormAffineKernel(this: KernelThis, x: Float32Array, scale: Float32Array, shift: Float32Array): number {
  const i = this.thread.x;
  const c = Math.floor(i / this.constants.S) % this.constants.C;
  return x[i] * scale[c] + shift[c];
}

const shapeOf = (g: BatchNormShape) => `N×C×S = ${g.N}×${g.C}×${g.S}`;

/** Sizes and array lengths of a raw call. */
export function checkBatchNormCall(g: BatchNormShape, x: unknown, scale: unknown, shift: unknown): void {
  const op = 'batchNormAffine';
  checkSizes(op, { ...g }, [['input', g.N * g.C * g.S, shapeOf(g)]]);
  checkArray(op, 'input', x, g.N * g.C * g.S, shapeOf(g));
  checkArray(op, 'scale', scale, g.C, `C = ${g.C}`);
  checkArray(op, 'shift', shift, g.C, `C = ${g.C}`);
}

export function batchNormAffine(r: Runner, x: Float32Array, scale: Float32Array, shift: Float32Array, g: BatchNormShape): MaybePromise<Float32Array> {
  checkSizes('batchNormAffine', {}, [['input', g.N * g.C * g.S, shapeOf(g)]]);
  return r.run('batchNormAffine', batchNormAffineKernel, { C: g.C, S: g.S }, g.N * g.C * g.S, [x, scale, shift]);
}
