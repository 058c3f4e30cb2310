// Forward values against obviously-correct float64 reference loops, over random shapes (fast-check).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, broadcastShapes, stridesOf } from '@firegrad/core';
import { broadcastPairArb, expectClose, fcOpts, leaf, seedArb, shapeArb } from '../helpers';

/** Reads x at a multi-index of the broadcast shape `out`. */
function at(x: Tensor, idx: number[]): number {
  const s = stridesOf(x.shape), lead = idx.length - x.ndim;
  let off = 0;
  x.shape.forEach((d, i) => (off += (d === 1 ? 0 : idx[i + lead]) * s[i]));
  return x.data[off];
}
function* indices(shape: readonly number[]): IterableIterator<number[]> {
  const n = shape.reduce((p, s) => p * s, 1);
  const s = stridesOf(shape);
  for (let i = 0; i < n; i++) yield shape.map((d, k) => Math.floor(i / s[k]) % d);
}

describe('broadcasting forward values', () => {
  const ops: [string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number][] = [
    ['add', (a, b) => a.add(b), (x, y) => x + y],
    ['sub', (a, b) => a.sub(b), (x, y) => x - y],
    ['mul', (a, b) => a.mul(b), (x, y) => x * y],
    ['div', (a, b) => a.div(b), (x, y) => x / y],
  ];
  for (const [name, op, ref] of ops) {
    it(name, () => fc.assert(fc.property(broadcastPairArb(4, 3), seedArb, ([sa, sb], seed) => {
      const g = new Generator(seed);
      const a = leaf(g, sa, undefined, false), b = leaf(g, sb, undefined, false);
      const out = op(a, b);
      const shape = broadcastShapes('ref', sa, sb);
      expect(out.shape).toEqual(shape);
      const expected = [...indices(shape)].map((i) => ref(at(a, i), at(b, i)));
      expect(Array.from(out.data)).toEqual(expected);
    }), fcOpts()));
  }
});

describe('reductions forward', () => {
  it('sum over any dims matches a direct loop', () => fc.assert(fc.property(shapeArb(4, 3), fc.array(fc.nat(3), { maxLength: 4 }), fc.boolean(), seedArb, (shape, raw, keepDim, seed) => {
    const dims = [...new Set(raw.filter((d) => d < shape.length))];
    const x = leaf(new Generator(seed), shape, undefined, false);
    const out = x.sum(dims, keepDim);
    const keep = shape.map((s, i) => (dims.includes(i) ? 1 : s));
    const expected = new Float64Array(keep.reduce((p, s) => p * s, 1));
    const ks = stridesOf(keep);
    for (const idx of indices(shape)) expected[idx.reduce((o, v, i) => o + (dims.includes(i) ? 0 : v * ks[i]), 0)] += at(x, idx);
    expect(out.shape).toEqual(keepDim ? keep : shape.filter((_, i) => !dims.includes(i)));
    expectClose(out.data, expected, 1e-12, 1e-12, 'sum');
  }), fcOpts()));
  it('max / argmax along a dim pick the first maximum', () => {
    const x = new Tensor(Float64Array.from([1, 5, 5, 2, 0, -1]), [2, 3]);
    expect(x.max(1).toArray()).toEqual([5, 2]);
    expect(x.argmax(1).toArray()).toEqual([1, 0]);
    expect(x.argmax().item()).toBe(1);
    expect(x.max(0, true).toArray()).toEqual([[2, 5, 5]]);
  });
  it('max propagates NaN like PyTorch', () => {
    expect(new Tensor(Float64Array.from([1, NaN, 3]), [3]).max().item()).toBeNaN();
  });
  it('softmax rows sum to 1 and survive huge logits', () => {
    const x = new Tensor(Float64Array.from([1000, 1001, 1002, -1000, 0, 1000]), [2, 3]);
    const s = x.softmax(1);
    expect(s.data.every(Number.isFinite)).toBe(true);
    expectClose(s.sum(1).data, [1, 1], 1e-15, 0, 'row sums');
    // log-softmax entries near 1000 carry ulp(1000) ≈ 1.1e-13 absolute error, so exp() of them ~1e-13 relative
    expectClose(x.logSoftmax(1).exp().data, s.data, 1e-12, 1e-300, 'logSoftmax vs softmax');
  });
  it('logsumexp of −∞ entries is −∞, of an empty dim is −∞', () => {
    expect(new Tensor(Float64Array.from([-Infinity, -Infinity]), [2]).logsumexp(0).item()).toBe(-Infinity);
    expect(new Tensor(new Float64Array(0), [0]).logsumexp(0).item()).toBe(-Infinity);
  });
});

describe('matmul forward', () => {
  it('matches a naive triple loop with broadcast batches (float64)', () => fc.assert(fc.property(
    fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 })),
    broadcastPairArb(2, 3), seedArb, ([m, k, n], [ba, bb], seed) => {
      const g = new Generator(seed);
      const a = leaf(g, [...ba, m, k], undefined, false), b = leaf(g, [...bb, k, n], undefined, false);
      const out = a.matmul(b);
      const batch = broadcastShapes('ref', ba, bb);
      expect(out.shape).toEqual([...batch, m, n]);
      const expected: number[] = [];
      for (const bi of indices(batch)) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += at(a, [...bi, i, p]) * at(b, [...bi, p, j]);
        expected.push(s);
      }
      expectClose(out.data, expected, 1e-12, 1e-12, 'matmul');
    }), fcOpts(50)));
  it('float32 matmul of 300×200·200×100 matches float64 within f32 rounding', () => {
    const g = new Generator(4);
    const a = leaf(g, [300, 200], undefined, false), b = leaf(g, [200, 100], undefined, false);
    const exact = a.matmul(b);
    const approx = a.float().matmul(b.float());
    // inputs rounded to f32 (rel 6e-8 each) over a 200-term sum of unit normals: |err| ≲ 200·2·6e-8·|a||b|
    expectClose(approx.data, exact.data, 0, 200 * 2 * 6e-8 * 4, 'f32 vs f64');
  });
});

describe('shape ops forward', () => {
  it('permute matches index remapping', () => fc.assert(fc.property(shapeArb(4, 3, 1).chain((s) => fc.tuple(fc.constant(s), fc.shuffledSubarray([...s.keys()], { minLength: s.length, maxLength: s.length }), seedArb)), ([shape, perm, seed]) => {
    const x = leaf(new Generator(seed), shape, undefined, false);
    const y = x.permute(perm);
    for (const idx of indices(y.shape)) {
      const src = new Array(shape.length);
      perm.forEach((p, i) => (src[p] = idx[i]));
      expect(at(y, idx)).toBe(at(x, src));
    }
  }), fcOpts(50)));
  it('expand repeats values; narrow and slice cut blocks', () => {
    const x = new Tensor(Float64Array.from([1, 2]), [2, 1]);
    expect(x.expand(2, 3).toArray()).toEqual([[1, 1, 1], [2, 2, 2]]);
    expect(x.expand(-1, 2).toArray()).toEqual([[1, 1], [2, 2]]);
    const y = new Tensor(Float64Array.from([0, 1, 2, 3, 4, 5]), [2, 3]);
    expect(y.narrow(1, 1, 2).toArray()).toEqual([[1, 2], [4, 5]]);
    expect(y.slice(1, -2).toArray()).toEqual([[1, 2], [4, 5]]);
    expect(y.slice(0, 5).shape).toEqual([0, 3]);
  });
  it('gather and indexSelect pick the right entries', () => {
    const y = new Tensor(Float64Array.from([0, 1, 2, 3, 4, 5]), [2, 3]);
    expect(y.gather(1, new Tensor(Int32Array.from([2, 0, 1, 1]), [2, 2])).toArray()).toEqual([[2, 0], [4, 4]]);
    expect(y.indexSelect(1, [2, 2, 0]).toArray()).toEqual([[2, 2, 0], [5, 5, 3]]);
    expect(y.indexSelect(0, [1]).toArray()).toEqual([[3, 4, 5]]);
  });
  it('squeeze / unsqueeze / flatten / transpose', () => {
    const x = new Tensor(new Float64Array(6), [1, 2, 1, 3]);
    expect(x.squeeze().shape).toEqual([2, 3]);
    expect(x.squeeze(2).shape).toEqual([1, 2, 3]);
    expect(x.unsqueeze(-1).shape).toEqual([1, 2, 1, 3, 1]);
    expect(x.flatten(1).shape).toEqual([1, 6]);
    expect(x.transpose(1, 3).shape).toEqual([1, 3, 1, 2]);
  });
});
