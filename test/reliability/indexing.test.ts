// Contract for issue 15's indexing: negative dims, starts and indices are accepted exactly where
// PyTorch accepts them; anything else is a ValueError/ShapeError naming the op, the argument and
// the shape.
import { describe, expect, it } from 'vitest';
import { ShapeError, Tensor, ValueError, arange, gather, narrow, select, slice, tensor } from '@firegrad/core';
import { argumentErrors } from '../ops/errors';

const x = arange(0, 10).reshape([2, 5]);

describe('indexing: bad arguments', () => {
  argumentErrors([
    ['slice: step 0 (PyTorch rejects it)', () => x.slice(1, 0, 5, 0), ValueError, /^slice: argument 'step' must be positive \(as in PyTorch\), got 0 \(input \[2, 5\]\)/],
    ['slice: a negative step', () => slice(x, 1, 4, 0, -1), ValueError, /^slice: argument 'step' must be positive .*got -1/],
    ['slice: a non-integer step', () => x.slice(1, 0, 5, 1.5), ValueError, /^slice: argument 'step' must be an integer, got 1.5 \(input \[2, 5\]\)/],
    ['slice: a 0-d tensor', () => tensor(3).slice(0, 0), ShapeError, /^slice: cannot slice a 0-d tensor/],
    ['select: index past the end', () => x.select(1, 5), ValueError, /^select: index 5 is out of range for dim 1 of size 5 in \[2, 5\] \(valid: -5 to 4\)/],
    ['select: index before the start', () => select(x, -1, -6), ValueError, /^select: index -6 is out of range for dim -1 of size 5 in \[2, 5\]/],
    ['select: a non-integer index', () => x.select(0, 0.5), ValueError, /^select: index 0.5 is out of range/],
    ['select: a dim out of range', () => x.select(2, 0), ValueError, /^select: argument 'dim' = 2 is out of range for a tensor of rank 2/],
    ['select: a 0-d tensor', () => tensor(3).select(0, 0), ShapeError, /^select: cannot select from a 0-d tensor/],
    ['narrow: a start before -size (the message keeps the given start)', () => narrow(x, 1, -6, 1), ValueError,
      /^narrow: start -6 and length 1 do not fit dim 1 of size 5 in \[2, 5\]/],
    ['narrow: a 0-d tensor', () => tensor(3).narrow(0, 0, 1), ShapeError, /^narrow: cannot narrow a 0-d tensor/],
    ['gather: a negative index value (PyTorch rejects it; only the dim may be negative)', () => gather(x, -1, new Tensor(Int32Array.of(-1, 0), [2, 1])), ValueError,
      /^gather: index -1 is out of range for dim 1 of size 5 in \[2, 5\]; negative indices are not supported \(as in PyTorch\)/],
  ]);
});

describe('indexing: negative arguments PyTorch accepts (hand-picked values)', () => {
  it('narrow, select, slice and gather count from the end', () => {
    expect(x.narrow(-1, -2, 2).toArray()).toEqual([[3, 4], [8, 9]]);
    expect(x.narrow(1, -5, 1).toArray()).toEqual([[0], [5]]);
    expect(x.select(-1, -1).toArray()).toEqual([4, 9]);
    expect(x.select(0, -2).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(x.slice(1, -4, undefined, 2).toArray()).toEqual([[1, 3], [6, 8]]);
    expect(x.slice(-1, -100, 100, 3).toArray()).toEqual([[0, 3], [5, 8]]);
    expect(x.slice(1, 4, 1, 2).shape).toEqual([2, 0]);
    expect(x.gather(-1, tensor([[4], [0]], { dtype: 'int32' })).toArray()).toEqual([[4], [5]]);
  });
});
