// pad, every test in one file: PyTorch fixtures, a naive float64 reference over random shapes, pads
// and modes, the gpujs forward kernel against cpu (multi-pass plans included), the op on every
// backend, argument errors and the gradcheck.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTypeError, Generator, ShapeError, Tensor, ValueError, zeros } from '@firegrad/core';
import { lastBackend, pad, withBackend, type PadMode } from '@firegrad/ops';
import { fcOpts, leaf, seedArb } from '../helpers';
import { forEachBackend, releaseGpujsAfterAll } from './backends';
import { argumentErrors } from './errors';
import { check, gradcheckOp } from './gradcheck';
import { gpuFcOpts } from './gpujs-modes';
import { resizeFixtures } from './resize-fixtures';

resizeFixtures('pad');

/** A valid call: shape, pads (F.pad order) and mode, per PyTorch's rules for each mode. */
const padCallArb = fc.record({
  mode: fc.constantFrom<PadMode>('constant', 'reflect', 'replicate', 'circular'),
  k: fc.integer({ min: 1, max: 3 }), extra: fc.integer({ min: 0, max: 2 }),
  sizes: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 6, maxLength: 6 }),
  raw: fc.array(fc.integer({ min: -4, max: 4 }), { minLength: 6, maxLength: 6 }),
}).map(({ mode, k, extra, sizes, raw }) => {
  // non-constant modes take a (k+1)-D or (k+2)-D input; constant any rank with k <= rank
  const ndim = mode === 'constant' ? k + extra : k + 1 + Math.min(extra, 1);
  const shape = sizes.slice(0, ndim);
  const pads: number[] = [];
  for (let p = 0; p < k; p++) {
    const size = shape[ndim - 1 - p];
    let [l, r] = [raw[2 * p], raw[2 * p + 1]];
    if (mode === 'reflect') [l, r] = [l % size, r % size];
    if (mode === 'circular') [l, r] = [Math.max(l, -size), Math.max(r, -size)];
    pads.push(l, r);
  }
  return { mode, shape, pads };
}).filter(({ mode, shape, pads }) => shape.every((size, d) => {
  const p = shape.length - 1 - d, l = pads[2 * p] ?? 0, r = pads[2 * p + 1] ?? 0, out = size + l + r;
  if (mode === 'circular') {
    const kept = size - Math.max(-l, 0) - Math.max(-r, 0);
    return kept >= 0 && l <= kept && r <= kept;
  }
  return out >= (mode === 'constant' ? 0 : 1);
}));

/** F.pad's source index of output index j in one dim (−1: the constant fill), from the definitions. */
function source(mode: PadMode, j: number, size: number, l: number, r: number): number {
  if (mode === 'circular') {
    // crop the negative pads away, then wrap the positive ones around what is left
    const kept = Array.from({ length: size }, (_, i) => i).slice(Math.max(-l, 0), size - Math.max(-r, 0));
    const k = j - Math.max(l, 0);
    return kept[((k % kept.length) + kept.length) % kept.length];
  }
  let i = j - l;
  if (mode === 'replicate') return Math.min(Math.max(i, 0), size - 1);
  if (mode === 'constant') return i >= 0 && i < size ? i : -1;
  while (i < 0 || i >= size) i = i < 0 ? -i : 2 * (size - 1) - i; // reflect: mirror about the end cells
  return i;
}

/** out = F.pad(x, pads, mode, value) by visiting every output multi-index. */
function padRef(x: Tensor, pads: number[], mode: PadMode, value: number): { shape: number[]; data: number[] } {
  const n = x.ndim, lr = (d: number) => [pads[2 * (n - 1 - d)] ?? 0, pads[2 * (n - 1 - d) + 1] ?? 0];
  const shape = x.shape.map((s, d) => s + lr(d)[0] + lr(d)[1]);
  const data: number[] = [];
  const rec = (d: number, offset: number, valid: boolean) => {
    if (d === n) return void data.push(valid ? x.data[offset] : value);
    for (let j = 0; j < shape[d]; j++) {
      const s = source(mode, j, x.shape[d], ...lr(d) as [number, number]);
      rec(d + 1, offset * x.shape[d] + Math.max(s, 0), valid && s >= 0);
    }
  };
  rec(0, 0, true);
  return { shape, data };
}

describe('forward against a naive float64 reference', () => {
  it('random shapes, pads (negative included) and modes', () => fc.assert(fc.property(padCallArb, seedArb, ({ mode, shape, pads }, seed) => {
    const x = leaf(new Generator(seed), shape, undefined, false);
    const value = mode === 'constant' ? 0.75 : 0;
    const y = pad(x, pads, { mode, value }), want = padRef(x, pads, mode, value);
    expect(y.shape).toEqual(want.shape);
    expect(Array.from(y.data)).toEqual(want.data);
  }), fcOpts()));
  it('a 0-d tensor with no pads, and constant pads of every dim of a 6-D tensor', () => {
    expect(Array.from(pad(new Tensor(Float64Array.of(3), []), []).data)).toEqual([3]);
    const x = leaf(new Generator(1), [2, 1, 2, 1, 2, 1], undefined, false), pads = [1, 0, 0, 1, -1, 1, 1, 1, 0, 2, 1, -1];
    expect(Array.from(pad(x, pads, { value: -1 }).data)).toEqual(padRef(x, pads, 'constant', -1).data);
  });
});

describe('gpujs forward kernel (webasm) equals cpu exactly', () => {
  releaseGpujsAfterAll();
  it('random shapes, pads and modes, float32; the fill value NaN too', () => fc.assert(fc.property(padCallArb, seedArb, fc.boolean(), ({ mode, shape, pads }, seed, nan) => {
    const x = leaf(new Generator(seed), shape, undefined, false).float();
    const value = mode === 'constant' && nan ? NaN : 0;
    const want = pad(x, pads, { mode, value });
    const got = withBackend('gpujs', { mode: 'webasm' }, () => pad(x, pads, { mode, value }));
    expect(lastBackend('pad')).toBe('gpujs');
    expect(got.shape).toEqual(want.shape);
    expect(Array.from(got.data)).toEqual(Array.from(want.data));
  }), gpuFcOpts));
  it('a plan of more than four dims runs one padded dim per pass', () => {
    const x = leaf(new Generator(2), [2, 3, 2, 3, 2], undefined, false).float(), pads = [1, 0, 0, 0, 2, -1, 0, 0, -1, 1];
    const got = withBackend('gpujs', { mode: 'webasm' }, () => pad(x, pads, { value: 4 }));
    expect(lastBackend('pad')).toBe('gpujs');
    expect(Array.from(got.data)).toEqual(padRef(x, pads, 'constant', 4).data.map(Math.fround));
  });
});

describe('every backend: cpu-js, cpu-wasm, cpu-threads, gpujs (forward; backward on cpu)', () => {
  releaseGpujsAfterAll();
  for (const mode of ['constant', 'reflect', 'replicate', 'circular'] as const) {
    it(`NCHW ${mode}, float32 and float64: outputs and gradients the same on every backend`, () => {
      for (const dtype of ['float32', 'float64'] as const) {
        const g = new Generator(7);
        const x = dtype === 'float32' ? leaf(g, [2, 3, 4, 5]).float() : leaf(g, [2, 3, 4, 5]);
        const pads = mode === 'constant' ? [2, -1, 1, 3] : [3, 1, 2, 3];
        const fn = (t: Tensor) => pad(t, pads, { mode, value: mode === 'constant' ? -0.5 : 0 });
        const grad = (shape: readonly number[]) => {
          const t = leaf(new Generator(8), [...shape]);
          return dtype === 'float32' ? t.float() : t;
        };
        const [[, ref], ...others] = forEachBackend('pad', fn, [x], grad);
        expect(Array.from(ref.out.data)).toEqual(padRef(x, pads, mode, mode === 'constant' ? -0.5 : 0).data);
        for (const [name, r] of others) {
          expect(Array.from(r.out.data), name).toEqual(Array.from(ref.out.data));
          expect(Array.from(r.grads[0].data), `${name} grad`).toEqual(Array.from(ref.grads[0].data));
        }
      }
    });
  }
});

describe('errors: bad input -> typed error naming op, argument and shapes', () => {
  const x4 = zeros([1, 2, 3, 4]);
  argumentErrors([
    ['odd pad length', () => pad(x4, [1, 2, 3]), ValueError, /^pad: argument 'pad' must hold \(before, after\) pairs, got an odd length 3 \(input \[1, 2, 3, 4\]/],
    ['more pairs than dims', () => pad(zeros([2]), [1, 1, 1, 1]), ValueError, /^pad: argument 'pad' pads 2 dims but the input has 1 \(input \[2\], pad \[1, 1, 1, 1\]\)/],
    ['non-integer pad', () => pad(x4, [1.5, 1]), ValueError, /^pad: argument 'pad' must be an array of integers/],
    ['unknown mode', () => pad(x4, [1, 1], { mode: 'edge' as PadMode }), ValueError, /^pad: argument 'mode' must be one of 'constant', 'reflect'/],
    ['value with reflect', () => pad(x4, [1, 1, 1, 1], { mode: 'reflect', value: 2 }), ValueError, /^pad: mode 'reflect' takes no 'value', got 2/],
    ['reflect pad = size', () => pad(x4, [1, 1, 3, 0], { mode: 'reflect' }), ValueError,
      /^pad: mode 'reflect' needs each pad less than the dim's size: pad \(3, 0\) for dim 2 of size 3 \(input \[1, 2, 3, 4\]/],
    ['circular wrapping twice', () => pad(zeros([1, 1, 4]), [5, 0], { mode: 'circular' }), ValueError,
      /^pad: mode 'circular' needs each pad at most the dim's size \(after cropping, 4\): pad \(5, 0\) for dim 2/],
    ['circular pad past the cropped size', () => pad(zeros([1, 1, 4]), [-2, 3], { mode: 'circular' }), ValueError, /after cropping, 2\): pad \(-2, 3\)/],
    ['reflect of a 4-D input by one pair', () => pad(x4, [1, 1], { mode: 'reflect' }), ShapeError,
      /^pad: mode 'reflect' pads the last 1 to 3 dims of a \(k\+1\)-D or \(k\+2\)-D input, got 1 \(before, after\) pairs for 4-D \(input \[1, 2, 3, 4\]/],
    ['replicate of 4 dims', () => pad(zeros([1, 1, 1, 1, 1]), [1, 1, 1, 1, 1, 1, 1, 1], { mode: 'replicate' }), ShapeError, /got 4 \(before, after\) pairs for 5-D/],
    ['replicate of an empty channel dim', () => pad(zeros([2, 0, 4]), [1, 1], { mode: 'replicate' }), ShapeError,
      /^pad: mode 'replicate' needs a non-empty input in dim 1 \(input \[2, 0, 4\]/],
    ['constant crop past empty', () => pad(zeros([2, 4]), [-2, -3]), ShapeError, /^pad: the output would have -1 elements in dim 1: pad \(-2, -3\) for dim 1 of size 4/],
    ['replicate cropped to nothing', () => pad(zeros([1, 4]), [-2, -2], { mode: 'replicate' }), ShapeError, /the output would have 0 elements in dim 1/],
    ['an output too large to hold', () => pad(zeros([2, 3]), [0, 2 ** 40]), ValueError, /^pad: output shape \[2, 1099511627779\] would hold/],
    ['int32 input', () => pad(zeros([2, 2], { dtype: 'int32' }), [1, 1]), DTypeError, /^pad: argument 'input' must be float32 or float64, got int32 with shape \[2, 2\]/],
    ['not a tensor', () => pad([1, 2] as unknown as Tensor, [1, 1]), Error, /^pad: .*'input'/],
  ]);
  it('an empty batch pads fine, and circular takes an empty dim with zero pads (as in PyTorch)', () => {
    expect(pad(zeros([0, 2, 4]), [1, 1], { mode: 'reflect' }).shape).toEqual([0, 2, 6]);
    expect(pad(zeros([2, 2, 0]), [0, 0], { mode: 'circular' }).shape).toEqual([2, 2, 0]);
  });
});

describe('gradcheck (float64, cpu)', () => {
  gradcheckOp('pad', () => fc.assert(fc.property(padCallArb, seedArb, ({ mode, shape, pads }, seed) => {
    const x = leaf(new Generator(seed), shape);
    // squared so that the sum over several outputs sharing a source is checked, not only its count
    check((t) => {
      const y = pad(t, pads, { mode, value: mode === 'constant' ? 1.5 : 0 });
      return y.mul(y);
    }, [x]);
  }), fcOpts()));
});
