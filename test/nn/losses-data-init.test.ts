// Losses (hand math and gradcheck), DataLoader batching, and initializer statistics.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, full, randn, tensor } from '@firegrad/core';
import { DataLoader, TensorDataset, crossEntropy, init, mseLoss, nllLoss } from '@firegrad/nn';
import { expectGradcheck, fcOpts, leaf, seedArb } from '../helpers';

describe('losses', () => {
  const logits = tensor([[2, 0, -1], [0.5, 0.5, 3]], { dtype: 'float64' });
  const lse = (row: number[]) => Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
  it('crossEntropy = mean of logsumexp − logit[label] (hand math)', () => {
    const expected = ((lse([2, 0, -1]) - 2) + (lse([0.5, 0.5, 3]) - 0.5)) / 2;
    expect(crossEntropy(logits, [0, 1]).item()).toBeCloseTo(expected, 14);
    expect(crossEntropy(logits, new Int32Array([0, 1]), { reduction: 'sum' }).item()).toBeCloseTo(2 * expected, 14);
    expect(crossEntropy(logits, [0, 1], { reduction: 'none' }).shape).toEqual([2]);
  });
  it('label smoothing: (1−ε)·nll + ε·mean over classes of −log p (PyTorch’s definition)', () => {
    const eps = 0.1;
    const rows = [[2, 0, -1], [0.5, 0.5, 3]], labels = [2, 0];
    const per = rows.map((r, i) => {
      const logp = r.map((v) => v - lse(r));
      return (1 - eps) * -logp[labels[i]] + eps * -logp.reduce((s, v) => s + v, 0) / 3;
    });
    expect(crossEntropy(logits, labels, { labelSmoothing: eps }).item()).toBeCloseTo((per[0] + per[1]) / 2, 14);
  });
  it('crossEntropy is gradchecked with and without smoothing', () => fc.assert(fc.property(seedArb, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.double({ min: 0, max: 0.5, noNaN: true }), (seed, n, c, eps) => {
    const g = new Generator(seed);
    const labels = Int32Array.from({ length: n }, () => g.randint(0, c));
    expectGradcheck((x) => crossEntropy(x, labels, { labelSmoothing: eps }), [leaf(g, [n, c])]);
  }), fcOpts(50)));
  it('nllLoss and mseLoss', () => {
    const logp = tensor([[-0.1, -2.5], [-1.2, -0.4]], { dtype: 'float64' });
    expect(nllLoss(logp, [1, 0]).item()).toBeCloseTo((2.5 + 1.2) / 2, 15);
    expect(mseLoss(tensor([1, 2, 3]), tensor([1, 0, 0])).item()).toBeCloseTo(13 / 3, 6);
    expectGradcheck((a, b) => mseLoss(a, b), [leaf(new Generator(1), [3, 2]), leaf(new Generator(2), [3, 2])]);
  });
  it('bad labels and shapes are named', () => {
    expect(() => crossEntropy(logits, [0, 3])).toThrow('crossEntropy: label 3 at position 1 is not a class index in [0, 3)');
    expect(() => crossEntropy(logits, [0])).toThrow('crossEntropy: got 1 labels for 2 rows of logits');
    expect(() => crossEntropy(logits.reshape(6), [0])).toThrow("crossEntropy: 'logits' must be [N, C] or [N, C, d1, ...], got [6]");
    expect(() => crossEntropy(logits, [0, 1], { labelSmoothing: 2 })).toThrow(/labelSmoothing must be in \[0, 1\]/);
    expect(() => mseLoss(tensor([1]), tensor([1, 2]))).toThrow("mseLoss: 'input' [1] and 'target' [2] must have the same shape");
  });
});

describe('DataLoader', () => {
  const x = new Tensor(Float32Array.from({ length: 10 * 2 }, (_, i) => i), [10, 2]);
  const y = Int32Array.from({ length: 10 }, (_, i) => i);
  const ds = new TensorDataset(x, y);
  it('visits every example once per epoch, in order without shuffle', () => {
    const batches = [...new DataLoader(ds, { batchSize: 4 })];
    expect(batches.map(([, l]) => Array.from(l))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(batches[2][0].toArray()).toEqual([[16, 17], [18, 19]]);
  });
  it('dropLast drops the short batch', () => {
    const loader = new DataLoader(ds, { batchSize: 4, dropLast: true });
    expect(loader.length).toBe(2);
    expect([...loader].length).toBe(2);
  });
  it('shuffles with its generator: a permutation, reproducible by seed, different per epoch', () => {
    const seen = (seed: number) => {
      const loader = new DataLoader(ds, { batchSize: 3, shuffle: true, generator: new Generator(seed) });
      return [[...loader].flatMap(([, l]) => Array.from(l)), [...loader].flatMap(([, l]) => Array.from(l))];
    };
    const [e1, e2] = seen(7);
    expect([...e1].sort((a, b) => a - b)).toEqual(Array.from(y));
    expect(e1).not.toEqual(e2);
    expect(seen(7)).toEqual([e1, e2]);
  });
  it('rejects mismatched datasets and bad batch sizes', () => {
    expect(() => new TensorDataset(x, new Int32Array(3))).toThrow('TensorDataset: 3 labels for inputs [10, 2]');
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
  });
});

describe('init', () => {
  const stats = (t: Tensor) => {
    const d = Array.from(t.data), m = d.reduce((s, v) => s + v, 0) / d.length;
    return { mean: m, std: Math.sqrt(d.reduce((s, v) => s + (v - m) ** 2, 0) / d.length), max: Math.max(...d.map(Math.abs)) };
  };
  it('kaimingUniform: bound √2·√(3/fan_in), std √(2/fan_in)', () => {
    const w = init.kaimingUniform(full([64, 32, 3, 3], 0), { generator: new Generator(1) }); // fan_in 288
    const s = stats(w);
    expect(s.max).toBeLessThanOrEqual(Math.sqrt(2) * Math.sqrt(3 / 288));
    expect(s.std).toBeCloseTo(Math.sqrt(2 / 288), 3);
  });
  it('kaimingNormal / glorotUniform / normal match their stds', () => {
    expect(stats(init.kaimingNormal(full([128, 64, 3, 3], 0), { generator: new Generator(2) })).std).toBeCloseTo(Math.sqrt(2 / 576), 3);
    const gu = stats(init.glorotUniform(full([100, 300], 0), { generator: new Generator(3) }));
    expect(gu.max).toBeLessThanOrEqual(Math.sqrt(6 / 400));
    expect(gu.std).toBeCloseTo(Math.sqrt(2 / 400), 3);
    expect(stats(init.normal(full([50000], 0), 0, 0.01, { generator: new Generator(4) })).std).toBeCloseTo(0.01, 4);
  });
  it('the same generator seed gives the same weights', () => {
    const a = init.kaimingUniform(randn([8, 4]), { generator: new Generator(9) });
    const b = init.kaimingUniform(randn([8, 4]), { generator: new Generator(9) });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
  });
  it('fans need 2 dims', () => {
    expect(() => init.kaimingUniform(full([3], 0))).toThrow('init: fan in/out need at least 2 dims, got [3]');
  });
});
