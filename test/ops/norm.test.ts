// Normalization ops (batchNorm, layerNorm, groupNorm): float64 gradchecks over random shapes and
// options, argument errors.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTypeError, Generator, ShapeError, ValueError, zeros, type Tensor } from '@firegrad/core';
import { batchNorm, groupNorm, layerNorm } from '@firegrad/ops';
import { fcOpts, leaf, seedArb, uniform } from '../helpers';
import { argumentErrors } from './errors';
import { check, gradcheckOp } from './gradcheck';

/** [N, C], [N, C, L] or [N, C, H, W] with small dims. */
const dim = fc.integer({ min: 1, max: 3 });
const bnShapeArb = fc.tuple(dim, dim, fc.array(dim, { maxLength: 2 })).map(([n, c, rest]) => [n, c, ...rest]);

describe('gradcheck (float64, cpu)', () => {
  gradcheckOp('batchNorm', () => fc.assert(fc.property(
    bnShapeArb, fc.boolean(), fc.boolean(), fc.boolean(), fc.constantFrom(1e-5, 0.1), seedArb,
    (shape, training, affine, withStats, eps, seed) => {
      const values = shape[0] * shape.slice(2).reduce((a, b) => a * b, 1);
      fc.pre(!training || values > 1);
      const g = new Generator(seed), C = shape[1];
      const x = leaf(g, shape);
      const stats = withStats || !training;
      const rm = stats ? leaf(g, [C], undefined, false) : null, rv = stats ? leaf(g, [C], uniform(0.5, 2), false) : null;
      const params = affine ? [leaf(g, [C]), leaf(g, [C])] : [];
      check((t, w, b) => batchNorm(t, rm, rv, w ?? null, b ?? null, { training, eps }), [x, ...params]);
    }), fcOpts()));

  it('layerNorm over 1 and 2 trailing dims, with and without weight and bias', () => fc.assert(fc.property(
    fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 2 }), fc.boolean(), seedArb,
    (lead, k, affine, seed) => {
      const g = new Generator(seed);
      const norm = [2, 3].slice(0, k);
      const x = leaf(g, [...lead, ...norm]);
      const params = affine ? [leaf(g, norm), leaf(g, norm)] : [];
      check((t, w, b) => layerNorm(t, norm, w ?? null, b ?? null), [x, ...params]);
    }), fcOpts()));

  it('groupNorm over random groups, with and without weight and bias', () => fc.assert(fc.property(
    fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }),
    fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }), fc.boolean(), seedArb,
    (N, G, perGroup, spatial, affine, seed) => {
      fc.pre(perGroup * spatial.reduce((a, b) => a * b, 1) > 1);
      const g = new Generator(seed), C = G * perGroup;
      const x = leaf(g, [N, C, ...spatial]);
      const params = affine ? [leaf(g, [C]), leaf(g, [C])] : [];
      check((t, w, b) => groupNorm(t, G, w ?? null, b ?? null), [x, ...params]);
    }), fcOpts()));
});

describe('errors: bad input -> typed error naming op and argument', () => {
  const x = zeros([2, 3, 4]);
  argumentErrors([
    ['batchNorm channel mismatch', () => batchNorm(x, zeros([4]), zeros([4])), ShapeError,
      /batchNorm: 'runningMean' must be \[3\] \(one value per channel of input \[2, 3, 4\]\), got \[4\]/],
    ['batchNorm weight mismatch', () => batchNorm(x, null, null, zeros([2]), null, { training: true }), ShapeError,
      /batchNorm: 'weight' must be \[3\].*\[2, 3, 4\].*got \[2\]/],
    ['batchNorm rank 1', () => batchNorm(zeros([3]), zeros([3]), zeros([3])), ShapeError, /batchNorm: 'input' must be .*got \[3\]/],
    ['batchNorm one value per channel in training', () => batchNorm(zeros([1, 3]), null, null, null, null, { training: true }), ValueError,
      /batchNorm: expected more than 1 value per channel when training, got input size \[1, 3\]/],
    ['batchNorm eval without running stats', () => batchNorm(x, null, null), ValueError, /batchNorm: 'runningMean' and 'runningVar' must be given/],
    ['batchNorm dtype mixing', () => batchNorm(x, zeros([3], { dtype: 'float64' }), zeros([3])), DTypeError,
      /batchNorm: 'runningMean' is float64 but 'input' is float32 \[2, 3, 4\]/],
    ['layerNorm shape not trailing', () => layerNorm(x, [3]), ShapeError, /layerNorm: input \[2, 3, 4\] does not end in normalizedShape \[3\]/],
    ['layerNorm weight shape', () => layerNorm(x, [4], zeros([3])), ShapeError, /layerNorm: 'weight' must have normalizedShape \[4\], got \[3\]/],
    ['groupNorm groups not dividing', () => groupNorm(x, 2), ValueError, /groupNorm: 'numGroups' must be .* dividing the 3 channels of input \[2, 3, 4\], got 2/],
  ]);

  it('a single value per channel is fine in eval mode', () => {
    expect(batchNorm(zeros([1, 3]), zeros([3]), zeros([3]).add(1)).shape).toEqual([1, 3]);
  });
  it('an empty batch gives an empty output and leaves the running statistics alone', () => {
    const rm = zeros([3]);
    const y: Tensor = batchNorm(zeros([0, 3, 2]), rm, zeros([3]), null, null, { training: true });
    expect(y.shape).toEqual([0, 3, 2]);
    expect([...rm.data]).toEqual([0, 0, 0]);
  });
});
