// Normalization layers: state-dict keys, train/eval switching, running statistics and the count,
// buffers outside autograd; values against float64 loops written from PyTorch's documented formulas
// and PyTorch fixtures (InstanceNorm2d cases of test/fixtures/norm.json).
import { describe, expect, it } from 'vitest';
import { Generator, ShapeError, ValueError, randn, zeros, type Tensor } from '@firegrad/core';
import { BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm, loadSafetensors, serializeSafetensors } from '@firegrad/nn';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { firegradBatchNorm } from './batchnorm-saved';
import { expectGradCase, expectMatch, toTensor, type GradCase, type JsonTensor } from '../core/fixture-values';
import fixtures from '../fixtures/norm.json';

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

describe('LayerNorm, GroupNorm, InstanceNorm2d', () => {
  const keys = (m: { stateDict(): Record<string, Tensor> }) => Object.entries(m.stateDict()).map(([k, t]) => [k, t.shape, [...t.data]]);
  it('register PyTorch\'s parameters and buffers, ones and zeros', () => {
    expect(keys(new LayerNorm([2, 2]))).toEqual([['weight', [2, 2], [1, 1, 1, 1]], ['bias', [2, 2], [0, 0, 0, 0]]]);
    expect(keys(new LayerNorm(3, { bias: false }))).toEqual([['weight', [3], [1, 1, 1]]]);
    expect(keys(new LayerNorm(3, { elementwiseAffine: false }))).toEqual([]);
    expect(keys(new GroupNorm(2, 4))).toEqual([['weight', [4], [1, 1, 1, 1]], ['bias', [4], [0, 0, 0, 0]]]);
    expect(keys(new GroupNorm(2, 4, { affine: false }))).toEqual([]);
    expect(keys(new InstanceNorm2d(2))).toEqual([]);
    expect(keys(new InstanceNorm2d(2, { affine: true, trackRunningStats: true }))).toEqual([
      ['weight', [2], [1, 1]], ['bias', [2], [0, 0]], ['running_mean', [2], [0, 0]], ['running_var', [2], [1, 1]], ['num_batches_tracked', [], [0]],
    ]);
  });
  it('InstanceNorm2d leaves num_batches_tracked alone, as PyTorch does', () => {
    const m = new InstanceNorm2d(2, { trackRunningStats: true });
    m.call(randn([2, 2, 3, 3]));
    expect(m.numBatchesTracked!.data[0]).toBe(0);
    expect([...m.runningMean!.data]).not.toEqual([0, 0]);
  });
  it('LayerNorm and GroupNorm reproduce the PyTorch fixtures of their functional forms', () => {
    const cases = (fixtures.cases as unknown as (GradCase & { op: string; params: { normalizedShape: number[]; numGroups: number } })[])
      .filter((c) => (c.op === 'layerNorm' || c.op === 'groupNorm') && c.grads.weight);
    expect(cases.length).toBe(8);
    for (const c of cases) {
      const C = c.inputs.weight.shape;
      const m = c.op === 'layerNorm' ? new LayerNorm(c.params.normalizedShape, { dtype: c.dtype })
        : new GroupNorm(c.params.numGroups, C[0], { dtype: c.dtype });
      expectGradCase(c, (x, weight, bias) => m.withParameters({ weight, bias }, () => m.call(x)));
    }
  });
});

interface InstanceCase extends GradCase {
  op: string; params: { affine: boolean; trackRunningStats: boolean; training: boolean; momentum?: number };
  buffers: Record<string, JsonTensor>; buffersAfter: Record<string, JsonTensor>;
}

describe('InstanceNorm2d against PyTorch', () => {
  const cases = (fixtures.cases as unknown as InstanceCase[]).filter((c) => c.op === 'InstanceNorm2d');
  it('has cases in both dtypes', () => expect(cases.length).toBe(8));
  for (const c of cases) {
    it(`${c.name} (${c.dtype})`, () => {
      const { affine, trackRunningStats, training, momentum } = c.params;
      const C = c.inputs.x.shape.at(-3)!;
      const m = new InstanceNorm2d(C, { affine, trackRunningStats, momentum, dtype: c.dtype }).train(training);
      if (trackRunningStats) {
        m.runningMean!.data.set(toTensor(c.buffers.runningMean, c.dtype).data);
        m.runningVar!.data.set(toTensor(c.buffers.runningVar, c.dtype).data);
      }
      expectGradCase(c, (x, weight, bias) => (affine ? m.withParameters({ weight, bias }, () => m.call(x)) : m.call(x)));
      const [rtol, atol] = c.dtype === 'float64' ? [1e-10, 1e-12] : [1e-4, 1e-5];
      if (trackRunningStats) {
        expectMatch(m.runningMean!.data, c.buffersAfter.runningMean, rtol, atol, `${c.name} running_mean`);
        expectMatch(m.runningVar!.data, c.buffersAfter.runningVar, rtol, atol, `${c.name} running_var`);
      }
    });
  }
  it('refuses one spatial element in training, as PyTorch does', () => {
    const e = fixtures.errors.find((k) => k.op === 'InstanceNorm2d')!;
    const call = () => new InstanceNorm2d(e.shape[1]).call(zeros(e.shape));
    expect(call).toThrow(ValueError);
    expect(call).toThrow(`InstanceNorm2d: e${e.message.slice(1).replace(/torch\.Size\((\[.*\])\)/, '$1')}`);
  });
});

describe('BatchNorm2d state dicts across PyTorch, through safetensors', () => {
  const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/nn/${name}.safetensors`, import.meta.url));
  const KEYS = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'];

  it("loads PyTorch's state dict (num_batches_tracked I64) and reproduces its eval and train outputs", () => {
    const sd = loadSafetensors(fixture('torch-batchnorm2d'));
    const io = loadSafetensors(fixture('torch-batchnorm2d_io'));
    expect(Object.keys(sd)).toEqual(KEYS);
    const bn = new BatchNorm2d(3);
    expect(bn.loadStateDict(sd)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const own = bn.stateDict();
    expect(Object.keys(own)).toEqual(KEYS);
    for (const k of KEYS) {
      expect(own[k].dtype, k).toBe(k === 'num_batches_tracked' ? 'int32' : 'float32');
      expect([...own[k].data], k).toEqual([...sd[k].data]);
    }
    expect(own.num_batches_tracked.data[0]).toBe(3);
    const x = io.input;
    expectMatch(bn.eval().call(x).data, asJson(io.eval_output), 1e-4, 1e-5, 'eval output');
    expectMatch(bn.train().call(x).data, asJson(io.train_output), 1e-4, 1e-5, 'train output');
    expectMatch(bn.runningMean!.data, asJson(io.running_mean_after), 1e-4, 1e-6, 'running_mean after');
    expectMatch(bn.runningVar!.data, asJson(io.running_var_after), 1e-4, 1e-6, 'running_var after');
    expect(bn.numBatchesTracked!.data[0]).toBe(Number(io.num_batches_tracked_after.data[0]));
  });

  it('saves the files that PyTorch checks (scripts/make-fixtures.py norm), byte for byte, and loads them back', () => {
    const { state, io } = firegradBatchNorm();
    expect(Object.keys(state)).toEqual(KEYS);
    expect(state.num_batches_tracked.data[0]).toBe(3);
    expect(serializeSafetensors(state, { format: 'pt' })).toEqual(new Uint8Array(readFileSync(fixture('firegrad-batchnorm2d'))));
    expect(serializeSafetensors(io, { format: 'pt' })).toEqual(new Uint8Array(readFileSync(fixture('firegrad-batchnorm2d_io'))));
    const back = new BatchNorm2d(3);
    back.loadStateDict(loadSafetensors(fixture('firegrad-batchnorm2d')));
    for (const k of KEYS) expect([...back.stateDict()[k].data], k).toEqual([...state[k].data]);
  });
});

const asJson = (t: Tensor): JsonTensor => ({ shape: [...t.shape], data: [...t.data] });
