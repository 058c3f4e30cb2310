// interpolate, every test in one file: PyTorch fixtures, hand-derived closed forms (integer nearest
// upsampling, 2× bilinear up and down, corner-aligned 2n−1), the op on every backend (cpu only: the
// gpujs backend has no kernel and falls back, visibly), argument errors and the gradcheck.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTypeError, Generator, ShapeError, Tensor, ValueError, zeros } from '@firegrad/core';
import { interpolate, lastBackend, withBackend, type InterpolateOptions } from '@firegrad/ops';
import { expectClose, fcOpts, leaf, seedArb } from '../helpers';
import { forEachBackend, releaseGpujsAfterAll } from './backends';
import { argumentErrors } from './errors';
import { check, gradcheckOp } from './gradcheck';
import { resizeFixtures } from './resize-fixtures';

resizeFixtures('interpolate');

const planeArb = fc.record({
  N: fc.integer({ min: 1, max: 2 }), C: fc.integer({ min: 1, max: 2 }),
  H: fc.integer({ min: 1, max: 5 }), W: fc.integer({ min: 1, max: 5 }), seed: seedArb,
});
const at = (x: Tensor, n: number, c: number, h: number, w: number) => x.data[((n * x.shape[1] + c) * x.shape[2] + h) * x.shape[3] + w];

/** For every cell of the output, `want` from the input's cells. */
function expectCells(x: Tensor, y: Tensor, want: (n: number, c: number, h: number, w: number) => number, tol?: number): void {
  const [N, C, OH, OW] = y.shape, expected: number[] = [];
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < OH; h++) for (let w = 0; w < OW; w++) expected.push(want(n, c, h, w));
  if (tol === undefined) expect(Array.from(y.data)).toEqual(expected);
  else expectClose(y.data, expected, tol, tol, 'interpolate');
}

describe('closed forms (float64)', () => {
  it('nearest with an integer scale factor s repeats each cell s×s times; size and scaleFactor agree', () => fc.assert(fc.property(
    planeArb, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), ({ N, C, H, W, seed }, sh, sw) => {
      const x = leaf(new Generator(seed), [N, C, H, W], undefined, false);
      const y = interpolate(x, { scaleFactor: [sh, sw] });
      expect(y.shape).toEqual([N, C, H * sh, W * sw]);
      expectCells(x, y, (n, c, h, w) => at(x, n, c, Math.floor(h / sh), Math.floor(w / sw)));
      expect(Array.from(interpolate(x, { size: [H * sh, W * sw] }).data)).toEqual(Array.from(y.data));
    }), fcOpts()));
  it('bilinear 2× up (half-pixel): 3/4 of the nearer cell and 1/4 of the next, edges clamped', () => fc.assert(fc.property(planeArb, ({ N, C, H, W, seed }) => {
    const x = leaf(new Generator(seed), [N, C, H, W], undefined, false);
    const y = interpolate(x, { scaleFactor: 2, mode: 'bilinear' });
    const taps = (o: number, size: number): [number, number][] => {
      const i = o >> 1, other = Math.min(Math.max(o % 2 === 0 ? i - 1 : i + 1, 0), size - 1);
      return [[i, 0.75], [other, 0.25]];
    };
    expectCells(x, y, (n, c, h, w) => {
      let v = 0;
      for (const [ih, lh] of taps(h, H)) for (const [iw, lw] of taps(w, W)) v += lh * lw * at(x, n, c, ih, iw);
      return v;
    }, 1e-14);
  }), fcOpts()));
  it('bilinear 2× down (half-pixel) is the mean of each 2×2 block', () => fc.assert(fc.property(planeArb, ({ N, C, H, W, seed }) => {
    const x = leaf(new Generator(seed), [N, C, 2 * H, 2 * W], undefined, false);
    const y = interpolate(x, { size: [H, W], mode: 'bilinear', alignCorners: false });
    expectCells(x, y, (n, c, h, w) => (at(x, n, c, 2 * h, 2 * w) + at(x, n, c, 2 * h, 2 * w + 1) +
      at(x, n, c, 2 * h + 1, 2 * w) + at(x, n, c, 2 * h + 1, 2 * w + 1)) / 4, 1e-14);
  }), fcOpts()));
  it('bilinear with alignCorners to 2n−1 keeps every input cell and averages neighbours between them', () => fc.assert(fc.property(planeArb, ({ N, C, H, W, seed }) => {
    fc.pre(H > 1 && W > 1);
    const x = leaf(new Generator(seed), [N, C, H, W], undefined, false);
    const y = interpolate(x, { size: [2 * H - 1, 2 * W - 1], mode: 'bilinear', alignCorners: true });
    const taps = (o: number): [number, number][] => (o % 2 === 0 ? [[o / 2, 1]] : [[(o - 1) / 2, 0.5], [(o + 1) / 2, 0.5]]);
    expectCells(x, y, (n, c, h, w) => {
      let v = 0;
      for (const [ih, lh] of taps(h)) for (const [iw, lw] of taps(w)) v += lh * lw * at(x, n, c, ih, iw);
      return v;
    }, 1e-14);
  }), fcOpts()));
});

describe('every backend: cpu-js, cpu-wasm, cpu-threads, gpujs (no gpujs kernel: runs on cpu there)', () => {
  releaseGpujsAfterAll();
  const calls: [string, InterpolateOptions, number[]][] = [
    ['nearest NCHW', { scaleFactor: 1.6 }, [2, 3, 4, 5]],
    ['nearest [N, C, L]', { size: 7 }, [2, 3, 4]],
    ['bilinear', { size: [3, 7], mode: 'bilinear' }, [2, 3, 4, 5]],
    ['bilinear alignCorners', { scaleFactor: [1.5, 0.5], mode: 'bilinear', alignCorners: true }, [2, 3, 4, 5]],
  ];
  for (const [name, options, shape] of calls) {
    it(`${name}, float32: the same outputs and gradients on every backend`, () => {
      const x = leaf(new Generator(3), shape).float();
      const grad = (s: readonly number[]) => leaf(new Generator(4), [...s]).float();
      const [[, ref], ...others] = forEachBackend('interpolate', (t) => interpolate(t, options), [x], grad, false);
      for (const [b, r] of others) {
        expect(Array.from(r.out.data), b).toEqual(Array.from(ref.out.data));
        expect(Array.from(r.grads[0].data), `${b} grad`).toEqual(Array.from(ref.grads[0].data));
      }
    });
  }
  it('float64 runs on cpu with gpujs chosen', () => {
    withBackend('gpujs', { mode: 'webasm' }, () => interpolate(leaf(new Generator(5), [1, 1, 2, 2]), { size: 3 }));
    expect(lastBackend('interpolate')).toBe('cpu');
  });
});

describe('errors: bad input -> typed error naming op, argument and shapes', () => {
  const x = zeros([1, 2, 4, 4]);
  argumentErrors([
    ['alignCorners with nearest (even false, as in PyTorch)', () => interpolate(x, { size: 3, alignCorners: false }), ValueError,
      /^interpolate: 'alignCorners' can only be set with mode 'bilinear', got alignCorners false with mode 'nearest'/],
    ['both size and scaleFactor', () => interpolate(x, { size: 3, scaleFactor: 2 }), ValueError,
      /^interpolate: exactly one of 'size' and 'scaleFactor' must be given \(input \[1, 2, 4, 4\], mode 'nearest'\)/],
    ['neither', () => interpolate(x, {}), ValueError, /exactly one of 'size' and 'scaleFactor'/],
    ['bilinear of a 3-D input', () => interpolate(zeros([1, 2, 4]), { size: 3, mode: 'bilinear' }), ShapeError,
      /^interpolate: mode 'bilinear' takes a 4-D input \(N, C, H, W\), got \[1, 2, 4\]/],
    ['nearest of a 5-D input', () => interpolate(zeros([1, 1, 2, 2, 2]), { size: 3 }), ShapeError, /^interpolate: mode 'nearest' takes a 3-D or 4-D input/],
    ['size of the wrong length', () => interpolate(x, { size: [3, 3, 3] }), ValueError,
      /^interpolate: argument 'size' must be a number or 2 numbers \(one per spatial dim\), got \[3,3,3\] \(input \[1, 2, 4, 4\]/],
    ['non-integer size', () => interpolate(x, { size: 2.5 }), ValueError, /^interpolate: argument 'size' must hold integers, got \[2.5, 2.5\]/],
    ['negative scale factor', () => interpolate(x, { scaleFactor: -2 }), ValueError, /^interpolate: argument 'scaleFactor' must hold finite positive numbers, got \[-2, -2\]/],
    ['infinite scale factor', () => interpolate(x, { scaleFactor: Infinity }), ValueError, /finite positive numbers, got \[Infinity, Infinity\]/],
    ['output of size 0', () => interpolate(x, { scaleFactor: 0.2, mode: 'bilinear' }), ShapeError,
      /^interpolate: input and output need non-empty channel and spatial dims, got output spatial size \[0, 0\] \(input \[1, 2, 4, 4\], mode 'bilinear'\)/],
    ['empty spatial input', () => interpolate(zeros([1, 2, 0, 4]), { size: 3 }), ShapeError, /output spatial size \[3, 3\] \(input \[1, 2, 0, 4\]/],
    ['unknown mode', () => interpolate(x, { size: 3, mode: 'bicubic' as 'nearest' }), ValueError, /^interpolate: argument 'mode' must be 'nearest' or 'bilinear'/],
    ['int32 input', () => interpolate(zeros([1, 1, 2, 2], { dtype: 'int32' }), { size: 3 }), DTypeError, /^interpolate: argument 'input' must be float32 or float64/],
  ]);
  it('an empty batch resizes to an empty batch', () => {
    expect(interpolate(zeros([0, 2, 3, 3]), { size: 5, mode: 'bilinear' }).shape).toEqual([0, 2, 5, 5]);
  });
});

describe('gradcheck (float64, cpu)', () => {
  const callArb = fc.record({
    rank: fc.constantFrom(3, 4), bilinear: fc.boolean(), corners: fc.option(fc.boolean(), { nil: undefined }),
    N: fc.integer({ min: 1, max: 2 }), C: fc.integer({ min: 1, max: 2 }),
    H: fc.integer({ min: 1, max: 5 }), W: fc.integer({ min: 1, max: 5 }),
    out: fc.tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 })),
    factors: fc.option(fc.tuple(fc.double({ min: 0.3, max: 3, noNaN: true }), fc.double({ min: 0.3, max: 3, noNaN: true })), { nil: undefined }),
  }).map(({ rank, bilinear, corners, N, C, H, W, out, factors }): [number[], InterpolateOptions] => {
    const mode = bilinear ? 'bilinear' : 'nearest';
    // bilinear is 2-D only; nearest also takes [N, C, L]
    const shape = rank === 4 || bilinear ? [N, C, H, W] : [N, C, W];
    const n = shape.length - 2;
    const opts: InterpolateOptions = factors ? { scaleFactor: factors.slice(0, n) } : { size: out.slice(0, n) };
    return [shape, mode === 'bilinear' ? { ...opts, mode, alignCorners: corners } : opts];
  }).filter(([shape, o]) => !o.scaleFactor || (o.scaleFactor as number[]).every((f, d) => Math.floor(shape[d + 2] * f) >= 1));
  gradcheckOp('interpolate', () => fc.assert(fc.property(callArb, seedArb, ([shape, options], seed) => {
    const x = leaf(new Generator(seed), shape);
    check((t) => {
      const y = interpolate(t, options);
      return y.mul(y);
    }, [x]);
  }), fcOpts()));
});
