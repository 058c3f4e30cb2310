// Creation, dtypes, the seeded generator and conversions.
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, arange, full, manualSeed, ones, rand, randint, randn, tensor, zeros, defaultGenerator } from '@firegrad/core';

describe('creation', () => {
  it('tensor from nested arrays infers the shape, float32 by default', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
  });
  it('tensor from a number is 0-d', () => {
    const t = tensor(3.5, { dtype: 'float64' });
    expect(t.shape).toEqual([]);
    expect(t.item()).toBe(3.5);
  });
  it('tensor from a typed array keeps its dtype and takes a shape', () => {
    const t = tensor(new Float64Array([1, 2, 3, 4]), { shape: [2, 2] });
    expect(t.dtype).toBe('float64');
    expect(t.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(tensor(new Int32Array([1, 2])).dtype).toBe('int32');
  });
  it('tensor converts a typed array to another dtype on request', () => {
    const t = tensor(new Float64Array([0.1]), { dtype: 'float32' });
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.item()).toBe(Math.fround(0.1));
  });
  it('zeros, ones, full', () => {
    expect(Array.from(zeros([2]).data)).toEqual([0, 0]);
    expect(Array.from(ones([2, 1], { dtype: 'float64' }).data)).toEqual([1, 1]);
    expect(Array.from(full([3], 7).data)).toEqual([7, 7, 7]);
    expect(zeros([2, 0, 3]).numel()).toBe(0);
    // PyTorch's size(): the shape, or one dim of it
    expect(zeros([2, 0, 3]).size()).toEqual([2, 0, 3]);
    expect(zeros([2, 0, 3]).size(-1)).toBe(3);
    expect(() => zeros([2, 3]).size(2)).toThrow(/size: argument 'dim' = 2 is out of range/);
  });
  it('arange follows Python ranges', () => {
    expect(Array.from(arange(4).data)).toEqual([0, 1, 2, 3]);
    expect(Array.from(arange(1, 2, 0.25, { dtype: 'float64' }).data)).toEqual([1, 1.25, 1.5, 1.75]);
    expect(Array.from(arange(5, 0, -2).data)).toEqual([5, 3, 1]);
    expect(() => arange(0, 1, 0)).toThrow(/step must be a finite non-zero number/);
  });
  it('a shape with a negative or fractional dim is rejected', () => {
    expect(() => zeros([2, -1])).toThrow(/non-negative integers/);
    expect(() => zeros([1.5])).toThrow(/non-negative integers/);
  });
  it('data length must match the shape', () => {
    expect(() => new Tensor(new Float32Array(5), [2, 3])).toThrow('Tensor: data has 5 elements but shape [2, 3] needs 6');
  });
});

describe('Generator', () => {
  it('the same seed gives the same stream; different seeds differ', () => {
    const a = randn([100], { generator: new Generator(42) }), b = randn([100], { generator: new Generator(42) });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    const c = randn([100], { generator: new Generator(43) });
    expect(Array.from(c.data)).not.toEqual(Array.from(a.data));
  });
  it('manualSeed resets the default generator', () => {
    manualSeed(5);
    const a = rand([10]);
    manualSeed(5);
    expect(Array.from(rand([10]).data)).toEqual(Array.from(a.data));
    expect(defaultGenerator.getState().length).toBe(5);
  });
  it('getState / setState resume the stream exactly, spare normal included', () => {
    const g = new Generator(9);
    g.normal();
    const state = g.getState();
    const next = [g.normal(), g.normal(), g.random()];
    const h = new Generator(0).setState(state);
    expect([h.normal(), h.normal(), h.random()]).toEqual(next);
    expect(() => h.setState([1, 2])).toThrow(/expected 4 uint32 words/);
  });
  it('fillUint32 is the nextUint32 stream, in place in a range, and leaves the generator where they would', () => {
    const a = new Generator(7), b = new Generator(7);
    a.normal(); b.normal(); // a spare normal is not part of the uint32 stream
    const out = new Uint32Array(10);
    a.fillUint32(out, 2, 9);
    expect(Array.from(out)).toEqual([0, 0, ...Array.from({ length: 7 }, () => b.nextUint32()), 0]);
    expect(a.getState()).toEqual(b.getState());
    expect(a.fillUint32(new Uint32Array(3))).toEqual(Uint32Array.from({ length: 3 }, () => b.nextUint32()));
  });
  it('advance(k) lands where k draws land, for counts on both sides of its stepping cutoff and up to 2^21', () => {
    const counts = [0, 1, 63, 64, 65, 1000, 4097, 2 ** 20 + 12_345, 2 ** 21];
    const stepped = new Generator(99);
    let drawn = 0;
    for (const k of counts) {
      for (; drawn < k; drawn++) stepped.nextUint32();
      const jumped = new Generator(99).advance(k);
      expect(jumped.getState(), `advance(${k})`).toEqual(stepped.getState());
    }
    expect(() => new Generator(1).advance(-1)).toThrow(/'count' must be a non-negative safe integer, got -1/);
    expect(() => new Generator(1).advance(1.5)).toThrow(/non-negative safe integer/);
  });
  it('uniform draws have mean 1/2 and variance 1/12 (n = 100k, 5 sigma)', () => {
    const x = rand([100_000], { generator: new Generator(1), dtype: 'float64' }).data as Float64Array;
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / x.length));
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(5 * Math.sqrt(1 / 180 / x.length)); // var of U² estimator
    expect(x.every((v) => v >= 0 && v < 1)).toBe(true);
  });
  it('normal draws have mean 0, variance 1 (n = 100k, 5 sigma)', () => {
    const x = randn([100_000], { generator: new Generator(2), dtype: 'float64' }).data as Float64Array;
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(x.length));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / x.length));
  });
  it('randint covers [low, high) evenly (chi-square, 9 dof, p ≈ 0.001 bound 27.9)', () => {
    const x = randint(-3, 7, [50_000], { generator: new Generator(3) });
    expect(x.dtype).toBe('int32');
    const counts = new Array(10).fill(0);
    for (const v of x.data) counts[v + 3]++;
    const expected = x.numel() / 10;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(27.9);
    expect(() => randint(3, 3, [1])).toThrow(/low < high/);
  });
});

describe('conversions', () => {
  it('to / float / double convert and keep values', () => {
    const t = tensor([1.5, -2], { dtype: 'float64' });
    expect(t.float().dtype).toBe('float32');
    expect(t.to('float32').double().toArray()).toEqual([1.5, -2]);
    expect(tensor(new Int32Array([3])).double().item()).toBe(3);
  });
  it('reshape and view share storage; clone does not', () => {
    const t = tensor([1, 2, 3, 4]);
    expect(t.reshape(2, 2).data).toBe(t.data);
    expect(t.view([4, 1]).data).toBe(t.data);
    expect(t.clone().data).not.toBe(t.data);
    expect(t.reshape(-1, 2).shape).toEqual([2, 2]);
  });
  it('toString names shape and dtype', () => {
    expect(String(zeros([2, 3], { requiresGrad: true }))).toBe('Tensor([2, 3], float32, requiresGrad)');
  });
});
