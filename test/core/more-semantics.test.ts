// Smaller semantics: argument validation, grad-mode restoration, float32 backward, unary values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Generator, Tensor, ValueError, ShapeError, isGradEnabled, noGrad, tensor, where, zeros, ones, randn, sumTo, listOps,
} from '@firegrad/core';
import { expectClose, fcOpts, leaf, seedArb, shapeArb } from '../helpers';

describe('more argument errors', () => {
  const x = zeros([2, 3]);
  const cases: [string, () => unknown, RegExp][] = [
    ['permute with too few dims', () => x.permute(0), /permute: got 1 dims \[0\] for a tensor of shape \[2, 3\]/],
    ['permute repeating a dim', () => x.permute(0, 0), /repeat a dim/],
    ['unsqueeze out of range', () => x.unsqueeze(4), /unsqueeze: argument 'dim' = 4 is out of range for a tensor of rank 3/],
    ['flatten with start after end', () => zeros([2, 3, 4]).flatten(2, 1), /flatten: startDim 2 comes after endDim 1/],
    ['indexSelect with a 2-D index', () => x.indexSelect(0, new Tensor(Int32Array.from([0, 1]), [1, 2])), /indexSelect: index must be 1-D, got \[1, 2\]/],
    ['indexSelect out of range', () => x.indexSelect(1, [3]), /indexSelect: index 3 is out of range for dim 1 of size 3/],
    ['gather with a wrong rank', () => x.gather(0, new Tensor(Int32Array.from([0]), [1])), /gather: index \[1\] must have the rank of input \[2, 3\]/],
    ['where with a condition that does not broadcast', () => where(zeros([4]), x, x), /where: cannot broadcast 'condition' \[4\] with 'input' \[2, 3\]/],
    ['reshape with two -1', () => x.reshape(-1, -1), /at most one -1/],
    ['sum repeating a dim', () => x.sum([1, -1]), /repeats a dim/],
    ['matmul of a 0-d tensor', () => tensor(1).matmul(x), /matmul: both arguments need at least 1 dim, got \[\] and \[2, 3\]/],
    ['cast to int32', () => x.to('int32' as 'float32'), /to: target dtype must be float32 or float64, got 'int32'/],
    ['max over an empty dim', () => zeros([2, 0]).max(1), /max: cannot reduce an empty tensor \[2, 0\]/],
    ['a non-number operand', () => x.add('1' as unknown as number), /add: expected a Tensor or a number, got string/],
  ];
  for (const [name, fn, msg] of cases) it(name, () => expect(fn).toThrow(msg));
  it('errors are instances of their kind', () => {
    expect(() => x.sum(5)).toThrow(ValueError);
    expect(() => x.reshape(5)).toThrow(ShapeError);
  });
});

describe('grad mode', () => {
  it('noGrad restores the mode even when fn throws', () => {
    expect(() => noGrad(() => { throw new Error('boom'); })).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
  });
  it('nested noGrad keeps grad off until the outer one ends', () => {
    noGrad(() => {
      noGrad(() => undefined);
      expect(isGradEnabled()).toBe(false);
    });
    expect(isGradEnabled()).toBe(true);
  });
  it('a tensor made from tensors without requiresGrad has no gradFn', () => {
    expect(ones([2]).mul(2).gradFn).toBeNull();
  });
  it('the tape node names the op', () => {
    const x = ones([2], { requiresGrad: true });
    expect(x.exp().gradFn?.op.name).toBe('exp');
    expect(x.matmul(x).gradFn?.op.name).toBe('reshape'); // 1-D·1-D is reshaped from a 1×1 matmul
  });
  it('registered op names are unique and listed once', () => {
    const names = listOps().map((o) => o.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('float32 backward agrees with float64', () => {
  it('for a small MLP-like expression (within f32 rounding)', () => fc.assert(fc.property(seedArb, (seed) => {
    const g = new Generator(seed);
    const x64 = leaf(g, [4, 5]), w64 = leaf(g, [5, 3]);
    const x32 = x64.detach().float().requiresGrad_(), w32 = w64.detach().float().requiresGrad_();
    const f = (x: Tensor, w: Tensor) => x.matmul(w).tanh().logSoftmax(1).sum();
    f(x64, w64).backward();
    f(x32, w32).backward();
    // each gradient entry is a short sum of O(1) terms: f32 rounding leaves ~1e-6 absolute
    expectClose(x32.grad!.data, x64.grad!.data, 1e-4, 1e-5, 'x.grad');
    expectClose(w32.grad!.data, w64.grad!.data, 1e-4, 1e-5, 'w.grad');
  }), fcOpts(30)));
});

describe('unary forward values', () => {
  const cases: [string, (t: Tensor) => Tensor, (v: number) => number][] = [
    ['exp', (t) => t.exp(), Math.exp],
    ['tanh', (t) => t.tanh(), Math.tanh],
    ['sigmoid', (t) => t.sigmoid(), (v) => 1 / (1 + Math.exp(-v))],
    ['relu', (t) => t.relu(), (v) => Math.max(v, 0)],
    ['abs', (t) => t.abs(), Math.abs],
    ['neg', (t) => t.neg(), (v) => -v],
    ['clamp(-0.5, 0.5)', (t) => t.clamp(-0.5, 0.5), (v) => Math.min(Math.max(v, -0.5), 0.5)],
  ];
  for (const [name, op, ref] of cases) {
    it(name, () => fc.assert(fc.property(shapeArb(), seedArb, (shape, seed) => {
      const x = leaf(new Generator(seed), shape, (r) => 3 * r.normal(), false);
      expectClose(op(x).data, Array.from(x.data, ref), 1e-15, 1e-300, name);
    }), fcOpts(30)));
  }
  it('sigmoid does not overflow for large negative inputs', () => {
    const s = tensor([-800, 800], { dtype: 'float64' }).sigmoid();
    expect(s.data[0]).toBeGreaterThanOrEqual(0);
    expect(s.data[1]).toBe(1);
    expect(Number.isNaN(s.data[0])).toBe(false);
  });
  it('sumTo undoes broadcasting', () => {
    const g = randn([2, 3, 4], { generator: new Generator(0), dtype: 'float64' });
    const r = sumTo(g, [3, 1]);
    expect(r.shape).toEqual([3, 1]);
    expectClose(r.data, g.sum([0, 2]).data, 1e-14, 1e-14, 'sumTo');
  });
});
