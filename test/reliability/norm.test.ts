// Reliability of the normalization ops and layers. Contract: bad input -> a typed error naming the op
// (or layer), the argument and the shapes; the gpujs batch-norm kernel gives the cpu answer on NaN
// and ±Inf and refuses buffers it cannot index exactly.
import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, Tensor, ValueError, zeros } from '@firegrad/core';
import { batchNorm, layerNorm, withBackend } from '@firegrad/ops';
import { createGpuKernels } from '@firegrad/ops/gpujs';
import { BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm } from '@firegrad/nn';

const f32 = (values: number[], shape: number[]) => new Tensor(Float32Array.from(values), shape);

describe('gpujs batch-norm inference agrees with cpu on NaN and ±Inf', () => {
  it('in the input and in the running statistics', () => {
    const x = f32([1, NaN, Infinity, -Infinity, 0, -2, 3, 0.5], [2, 2, 2]);
    const cases: [Tensor, Tensor][] = [
      [f32([0, 1], [2]), f32([1, 2], [2])],
      [f32([Infinity, 0], [2]), f32([1, 0], [2])], // an infinite mean; a zero variance with eps
      [f32([0, NaN], [2]), f32([Infinity, 1], [2])],
    ];
    for (const [rm, rv] of cases) {
      const cpu = batchNorm(x, rm, rv, f32([2, -1], [2]), f32([0.5, 0], [2]));
      const gpu = withBackend('gpujs', { mode: 'webasm' }, () => batchNorm(x, rm, rv, f32([2, -1], [2]), f32([0.5, 0], [2])));
      // the same NaNs and infinities; finite values to float32 rounding (cpu rounds once from float64)
      cpu.data.forEach((want, i) => {
        if (Number.isFinite(want)) expect(Math.abs(gpu.data[i] - want), `element ${i}`).toBeLessThanOrEqual(4e-7 * Math.abs(want));
        else expect(Object.is(gpu.data[i], want), `element ${i}: ${gpu.data[i]} vs cpu ${want}`).toBe(true);
      });
    }
  });
});

describe('raw gpujs calls are checked', () => {
  const k = createGpuKernels('webasm');
  const g = { N: 2, C: 3, S: 4 };
  it('array lengths and types, naming the argument and the shape', () => {
    const c3 = () => new Float32Array(3);
    expect(() => k.batchNormAffine(new Float32Array(24), c3(), new Float32Array(2), c3(), g)).toThrow(ShapeError);
    expect(() => k.batchNormAffine(new Float32Array(24), c3(), new Float32Array(2), c3(), g))
      .toThrow("batchNormAffine: 'scale' has 2 elements, expected 3 (C = 3)");
    expect(() => k.batchNormAffine(new Float32Array(23), c3(), c3(), c3(), g))
      .toThrow("batchNormAffine: 'input' has 23 elements, expected 24 (N×C×S = 2×3×4)");
    expect(() => k.batchNormAffine(new Float32Array(24), new Float64Array(3) as unknown as Float32Array, c3(), c3(), g)).toThrow(DTypeError);
  });
  it('buffers over 2^24 elements, from the sizes alone', () => {
    const big = { N: 2, C: 1, S: 2 ** 23 + 1 };
    expect(() => k.batchNormAffine(new Float32Array(0), new Float32Array(1), new Float32Array(1), new Float32Array(1), big))
      .toThrow(/batchNormAffine: 'input' \(N×C×S = 2×1×8388609\) has 16777218 elements, more than the 2\^24/);
  });
});

describe('layers: bad arguments fail where given, naming the layer', () => {
  it('constructor arguments', () => {
    expect(() => new BatchNorm2d(3, { momentum: Number.NaN })).toThrow(/BatchNorm2d: 'momentum' must be a finite number or null, got NaN/);
    expect(() => new BatchNorm1d(2.5)).toThrow(/BatchNorm1d: 'numFeatures' must be an integer >= 1, got 2.5/);
    expect(() => new BatchNorm2d(3, { dtype: 'int32' as 'float32' })).toThrow(DTypeError);
    expect(() => new GroupNorm(4, 6)).toThrow(/GroupNorm: numChannels 6 must be divisible by numGroups 4/);
    expect(() => new LayerNorm([])).toThrow(/LayerNorm: 'normalizedShape' must be a size or a non-empty list of sizes, got \[\]/);
    expect(() => new LayerNorm([4, 0])).toThrow(/LayerNorm: 'normalizedShape\[1\]' must be an integer >= 1, got 0/);
  });
  it('inputs of the wrong rank or channel count', () => {
    expect(() => new GroupNorm(2, 4).call(zeros([2, 6, 3]))).toThrow(/GroupNorm: input \[2, 6, 3\] has 6 channels, expected numChannels = 4/);
    expect(() => new InstanceNorm2d(3).call(zeros([2, 3, 4]).reshape(24))).toThrow(/InstanceNorm2d: expected 3-D \[C, H, W\] or 4-D .*got \[24\]/);
    expect(() => new InstanceNorm2d(3, { affine: true }).call(zeros([2, 4, 3, 3]))).toThrow(/InstanceNorm2d: input \[2, 4, 3, 3\] has 4 channels/);
    expect(() => new LayerNorm([3, 4]).call(zeros([2, 4, 3]))).toThrow(/layerNorm: input \[2, 4, 3\] does not end in normalizedShape \[3, 4\]/);
  });
  it('a batchNorm in eval mode with mismatched running statistics names both shapes', () => {
    expect(() => batchNorm(zeros([2, 3]), zeros([3]), zeros([2]))).toThrow(/batchNorm: 'runningVar' must be \[3\] .*\[2, 3\].*got \[2\]/);
    expect(() => layerNorm(zeros([2, 3]), 3, null, null, -1)).toThrow(ValueError);
  });
});
