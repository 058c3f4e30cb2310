// Normalization layers: state-dict keys, train/eval switching, running statistics and the count,
// buffers outside autograd; values against float64 loops written from PyTorch's documented formulas.
import { describe, expect, it } from 'vitest';
import { Generator, ShapeError, ValueError, randn, type Tensor } from '@firegrad/core';
import { BatchNorm1d, BatchNorm2d } from '@firegrad/nn';

/** Per-channel mean and biased variance of an [N, C, ...] tensor, as plain loops. */
function channelStats(x: Tensor): { mean: number[]; variance: number[] } {
  const [N, C] = x.shape, S = x.numel() / (N * C), d = x.data;
  const mean: number[] = [], variance: number[] = [];
  for (let c = 0; c < C; c++) {
    const vals: number[] = [];
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) vals.push(d[(n * C + c) * S + s]);
    const m = vals.reduce((a, b) => a + b, 0) / vals.length;
    mean.push(m);
    variance.push(vals.reduce((a, b) => a + (b - m) ** 2, 0) / vals.length);
  }
  return { mean, variance };
}

/** (x − mean[c]) / √(var[c] + eps) · w[c] + b[c], as a flat array. */
function affineRef(x: Tensor, mean: number[], variance: number[], eps: number, w: number[], b: number[]): number[] {
  const [N, C] = x.shape, S = x.numel() / (N * C);
  return [...x.data].map((v, i) => {
    const c = Math.floor(i / S) % C;
    return ((v - mean[c]) / Math.sqrt(variance[c] + eps)) * w[c] + b[c];
  });
}

const closeTo = (got: ArrayLike<number>, want: number[], tol = 1e-12) => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(Math.abs(got[i] - w)).toBeLessThanOrEqual(tol * (1 + Math.abs(w))));
};

describe('BatchNorm2d', () => {
  const input = (seed: number, shape = [3, 2, 4, 5]) => randn(shape, { dtype: 'float64', generator: new Generator(seed) });

  it('has PyTorch state-dict keys, ones/zeros parameters and 0/1 running statistics', () => {
    const bn = new BatchNorm2d(3);
    const sd = bn.stateDict();
    expect(Object.keys(sd)).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expect([...sd.weight.data]).toEqual([1, 1, 1]);
    expect([...sd.bias.data]).toEqual([0, 0, 0]);
    expect([...sd.running_mean.data]).toEqual([0, 0, 0]);
    expect([...sd.running_var.data]).toEqual([1, 1, 1]);
    expect(sd.num_batches_tracked.dtype).toBe('int32');
    expect(sd.num_batches_tracked.shape).toEqual([]);
    expect(sd.weight.dtype).toBe('float32');
    expect([...bn.namedParameters()].map(([n]) => n)).toEqual(['weight', 'bias']);
    expect([...bn.namedBuffers()].map(([n]) => n)).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
  });

  it('without affine or tracking registers neither parameters nor buffers', () => {
    expect(Object.keys(new BatchNorm2d(2, { affine: false, trackRunningStats: false }).stateDict())).toEqual([]);
  });

  it('normalizes with batch statistics in train() and updates the running ones with the unbiased variance', () => {
    const bn = new BatchNorm2d(2, { dtype: 'float64', momentum: 0.3, eps: 1e-3 });
    bn.weight!.data.set([2, -0.5]);
    bn.bias!.data.set([0.25, 1]);
    const x = input(1, [3, 2, 4, 5]), M = 3 * 20;
    const { mean, variance } = channelStats(x);
    closeTo(bn.call(x).data, affineRef(x, mean, variance, 1e-3, [2, -0.5], [0.25, 1]));
    closeTo(bn.runningMean!.data, mean.map((m) => 0.3 * m));
    closeTo(bn.runningVar!.data, variance.map((v) => 0.7 + 0.3 * v * (M / (M - 1))));
    expect(bn.numBatchesTracked!.data[0]).toBe(1);
  });

  it('uses the running statistics in eval() and leaves them and the count alone', () => {
    const bn = new BatchNorm2d(2, { dtype: 'float64' });
    bn.call(input(2));
    bn.call(input(3));
    expect(bn.numBatchesTracked!.data[0]).toBe(2);
    const rm = [...bn.runningMean!.data], rv = [...bn.runningVar!.data];
    bn.eval();
    const x = input(4);
    closeTo(bn.call(x).data, affineRef(x, rm, rv, 1e-5, [1, 1], [0, 0]));
    expect([...bn.runningMean!.data]).toEqual(rm);
    expect([...bn.runningVar!.data]).toEqual(rv);
    expect(bn.numBatchesTracked!.data[0]).toBe(2);
    bn.train();
    bn.call(x);
    expect(bn.numBatchesTracked!.data[0]).toBe(3);
  });

  it('momentum null keeps a cumulative average of the batch statistics', () => {
    const bn = new BatchNorm2d(2, { dtype: 'float64', momentum: null });
    const xs = [input(5), input(6), input(7)];
    for (const x of xs) bn.call(x);
    const means = xs.map((x) => channelStats(x).mean);
    closeTo(bn.runningMean!.data, [0, 1].map((c) => means.reduce((a, m) => a + m[c], 0) / 3));
  });

  it('without running statistics uses batch statistics in eval() too', () => {
    const bn = new BatchNorm2d(2, { dtype: 'float64', trackRunningStats: false }).eval();
    const x = input(8);
    const { mean, variance } = channelStats(x);
    closeTo(bn.call(x).data, affineRef(x, mean, variance, 1e-5, [1, 1], [0, 0]));
  });

  it('gives gradients to weight and bias, never to the buffers', () => {
    const bn = new BatchNorm2d(2, { dtype: 'float64' });
    bn.call(input(9)).sum().backward();
    expect(bn.weight!.grad).not.toBeNull();
    expect(bn.bias!.grad).not.toBeNull();
    for (const [, b] of bn.namedBuffers()) {
      expect(b.requiresGrad).toBe(false);
      expect(b.grad).toBeNull();
    }
    expect([...bn.parameters()]).toHaveLength(2);
  });

  it('checks the input rank and channel count, naming the layer and the shape', () => {
    const bn = new BatchNorm2d(2);
    expect(() => bn.call(randn([4, 2, 3]))).toThrow(ShapeError);
    expect(() => bn.call(randn([4, 2, 3]))).toThrow(/BatchNorm2d.*\[4, 2, 3\]/);
    expect(() => bn.call(randn([4, 3, 2, 2]))).toThrow(/BatchNorm2d.*\[4, 3, 2, 2\].*numFeatures = 2/);
    expect(() => bn.call(randn([1, 2, 1, 1]))).toThrow(ValueError);
    expect(() => bn.call(randn([1, 2, 1, 1]))).toThrow(/more than 1 value per channel.*\[1, 2, 1, 1\]/);
    expect(() => new BatchNorm2d(0)).toThrow(/BatchNorm2d: 'numFeatures'/);
    expect(() => new BatchNorm2d(2, { eps: -1 })).toThrow(/BatchNorm2d: 'eps'/);
  });
});

describe('BatchNorm1d', () => {
  it('takes [N, C] and [N, C, L] and refuses 4-D input', () => {
    const bn = new BatchNorm1d(3, { dtype: 'float64' });
    for (const shape of [[5, 3], [2, 3, 4]]) {
      const x = randn(shape, { dtype: 'float64', generator: new Generator(shape.length) });
      const { mean, variance } = channelStats(x);
      closeTo(bn.call(x).data, affineRef(x, mean, variance, 1e-5, [1, 1, 1], [0, 0, 0]));
    }
    expect(() => bn.call(randn([2, 3, 4, 4], { dtype: 'float64' }))).toThrow(/BatchNorm1d.*\[2, 3, 4, 4\]/);
  });
});
