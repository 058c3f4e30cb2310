// Invalid geometries and arguments throw errors naming the op, the argument and the shapes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTypeError, FiregradError, ShapeError, ValueError, zeros } from '@firegrad/core';
import { avgPool2d, cat, conv2d, maxPool2d, split, adaptiveAvgPool2d } from '@firegrad/ops';
import { fcOpts } from '../helpers';
import { convCaseArb, convValid, poolCaseArb, poolValid } from './arbitraries';

describe('invalid geometries throw clear errors (property)', () => {
  it('conv2d: every geometry either runs with PyTorch’s output size or throws a ShapeError naming the shapes', () =>
    fc.assert(fc.property(convCaseArb, (c) => {
      const run = () => conv2d(zeros([c.N, c.C, c.H, c.W]), zeros([c.OC, c.C / c.groups, c.KH, c.KW]), null,
        { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups });
      if (convValid(c)) expect(run().shape.slice(0, 2)).toEqual([c.N, c.OC]);
      else expect(run).toThrow(new RegExp(`^conv2d: input ${c.H}×${c.W} padded by .* \\(input \\[${c.N}, ${c.C}, ${c.H}, ${c.W}\\]`));
    }), fcOpts()));
  for (const [name, op] of [['maxPool2d', maxPool2d], ['avgPool2d', avgPool2d]] as const) {
    it(`${name}: invalid geometries throw, valid ones never give −∞ or NaN`, () =>
      fc.assert(fc.property(poolCaseArb(name === 'maxPool2d'), (c) => {
        const opts = { kernelSize: c.kernel, stride: c.stride, padding: c.padding, ceilMode: c.ceilMode, countIncludePad: c.countIncludePad,
          ...(name === 'maxPool2d' ? { dilation: c.dilation } : {}) };
        const run = () => op(zeros([c.N, c.C, c.H, c.W]).add(1), opts);
        if (poolValid(c)) expect(run().data.every(Number.isFinite)).toBe(true);
        else {
          expect(run).toThrow(FiregradError);
          expect(run).toThrow(new RegExp(`^${name}: .*input \\[${c.N}, ${c.C}, ${c.H}, ${c.W}\\], kernelSize`));
        }
      }), fcOpts()));
  }
});

describe('argument errors', () => {
  const x = zeros([1, 4, 5, 5]);
  const cases: [string, () => unknown, any, RegExp][] = [
    ['conv2d 3-D input', () => conv2d(zeros([4, 5, 5]), zeros([2, 4, 3, 3])), ShapeError, /conv2d: 'input' must be 4-D \(N, C, H, W\), got \[4, 5, 5\]/],
    ['conv2d channel mismatch', () => conv2d(x, zeros([2, 3, 3, 3])), ShapeError, /conv2d: weight expects 3 input channels per group but input has 4 channels in 1 group\(s\) \(input \[1, 4, 5, 5\], weight \[2, 3, 3, 3\]\)/],
    ['conv2d groups not dividing', () => conv2d(x, zeros([3, 2, 3, 3]), null, { groups: 2 }), ValueError, /groups = 2 must divide input channels 4 and output channels 3/],
    ['conv2d bias shape', () => conv2d(x, zeros([2, 4, 3, 3]), zeros([3])), ShapeError, /conv2d: 'bias' must have shape \[2\], got \[3\]/],
    ['conv2d dtype mixing', () => conv2d(x, zeros([2, 4, 3, 3], { dtype: 'float64' })), DTypeError, /conv2d: 'weight' is float64 but 'input' is float32/],
    ['conv2d stride 0', () => conv2d(x, zeros([2, 4, 3, 3]), null, { stride: 0 }), ValueError, /conv2d: 'stride' must be an integer >= 1, got 0/],
    ['maxPool2d padding over half the kernel', () => maxPool2d(x, { kernelSize: 2, padding: 2 }), ValueError, /maxPool2d: 'padding' must be at most half the kernel size/],
    ['maxPool2d all-padding window', () => maxPool2d(zeros([1, 1, 2, 2]), { kernelSize: 2, stride: 1, padding: 1, dilation: 3 }), ValueError, /covers only padding/],
    ['avgPool2d kernel bigger than input', () => avgPool2d(zeros([1, 1, 2, 2]), { kernelSize: 3 }), ShapeError, /avgPool2d: output size would be 0×0/],
    ['adaptiveAvgPool2d size 0', () => adaptiveAvgPool2d(x, 0), ValueError, /'outputSize' must be positive integers, got 0 for input \[1, 4, 5, 5\]/],
    ['cat shape mismatch', () => cat([zeros([2, 3]), zeros([3, 3])], 1), ShapeError, /cat: tensor 1 has shape \[3, 3\] but tensor 0 has \[2, 3\]; only dim 1 may differ/],
    ['cat dtype mixing', () => cat([zeros([2]), zeros([2], { dtype: 'float64' })]), DTypeError, /cat: tensor 1 is float64 \[2\] but tensor 0 is float32 \[2\]/],
    ['cat of nothing', () => cat([]), ValueError, /non-empty list/],
    ['split sizes not summing', () => split(zeros([5]), [2, 2]), ShapeError, /split: sizes \[2, 2\] must be non-negative and sum to dim 0 of \[5\] \(5\)/],
  ];
  for (const [name, fn, kind, msg] of cases) {
    it(name, () => {
      expect(fn).toThrow(kind);
      expect(fn).toThrow(msg);
    });
  }
});
