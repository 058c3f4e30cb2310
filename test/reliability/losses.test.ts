// Contract for issue 15's losses: bad input -> a typed error (ShapeError, DTypeError, ValueError) whose
// message names the op, the argument and the shapes; never a silent NaN (PyTorch's 0/0 for a 'mean'
// over no targets is an error here, with the way out in the message).
import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, Tensor, ValueError, tensor, zeros } from '@firegrad/core';
import {
  binaryCrossEntropy, binaryCrossEntropyWithLogits, crossEntropy, huberLoss, klDiv, l1Loss, mseLoss, nllLoss, smoothL1Loss,
} from '@firegrad/nn';
import { argumentErrors } from '../ops/errors';

const f64 = (data: number[], shape: number[]) => new Tensor(Float64Array.from(data), shape);
const logits = f64([1, 2, 3, 4, 5, 6], [2, 3]);
const spatial = zeros([2, 3, 2, 2], { dtype: 'float64' });
const p = f64([0.2, 0.5, 0.9, 1], [2, 2]), q = f64([0, 1, 0.5, 1], [2, 2]);

describe('class losses: a mean over no targets is an error, not NaN', () => {
  argumentErrors([
    ['crossEntropy, every target ignored', () => crossEntropy(logits, [-100, -100]), ValueError,
      /^crossEntropy: every target equals ignoreIndex -100, so reduction 'mean' is 0\/0 .*use reduction 'sum'/],
    ['crossEntropy with label smoothing, every target ignored', () => crossEntropy(logits, [1, 1], { ignoreIndex: 1, labelSmoothing: 0.1 }), ValueError,
      /^crossEntropy: every target equals ignoreIndex 1/],
    ['nllLoss, spatial, every target ignored', () => nllLoss(spatial, new Tensor(new Int32Array(8).fill(-100), [2, 2, 2])), ValueError,
      /^nllLoss: every target equals ignoreIndex -100/],
    ['crossEntropy, an empty batch', () => crossEntropy(zeros([0, 3], { dtype: 'float64' }), []), ValueError,
      /^crossEntropy: reduction 'mean' over no targets \(input \[0, 3\]\) is 0\/0; use reduction 'sum'/],
    ['crossEntropy, the kept targets weigh 0', () => crossEntropy(logits, [0, 0], { weight: f64([0, 1, 1], [3]) }), ValueError,
      /^crossEntropy: the class weights of the kept targets sum to 0/],
  ]);
  it("'sum' and 'none' over no targets are PyTorch's 0 and zeros", () => {
    expect(crossEntropy(logits, [-100, -100], { reduction: 'sum' }).item()).toBe(0);
    expect(Array.from(nllLoss(logits, [-100, -100], { reduction: 'none' }).data)).toEqual([0, 0]);
  });
});

describe('class losses: targets, weights and options are checked', () => {
  argumentErrors([
    ['a label outside [0, C) that is not ignoreIndex', () => crossEntropy(logits, [0, -100], { ignoreIndex: -1 }), ValueError,
      /^crossEntropy: label -100 at position 1 is not a class index in \[0, 3\) nor ignoreIndex -1/],
    ['spatial targets of the wrong shape', () => crossEntropy(spatial, new Tensor(Int32Array.of(0, 1, 2, 0), [2, 2, 1])), ShapeError,
      /^crossEntropy: 'labels' must have shape \[N, d1, \.\.\.\] = \[2, 2, 2\] for logits \[2, 3, 2, 2\], got \[2, 2, 1\]/],
    ['a spatial target list of the wrong length', () => nllLoss(spatial, [0, 1, 2]), ShapeError,
      /^nllLoss: got 3 labels for 8 positions \[2, 2, 2\] of logits \[2, 3, 2, 2\]/],
    ['logits of rank 1', () => nllLoss(f64([1, 2], [2]), [0]), ShapeError, /^nllLoss: 'input' must be \[N, C\] or \[N, C, d1, \.\.\.\] log-probabilities, got \[2\]/],
    ['a weight per class of the wrong length', () => crossEntropy(logits, [0, 1], { weight: f64([1, 2], [2]) }), ShapeError,
      /^crossEntropy: 'weight' must have shape \[C\] = \[3\] \(one per class\) for input \[2, 3\], got \[2\]/],
    ['a weight of another dtype', () => nllLoss(logits, [0, 1], { weight: tensor([1, 2, 3]) }), DTypeError,
      /^nllLoss: 'weight' must have the input's dtype float64, got float32/],
    ['a non-integer ignoreIndex', () => crossEntropy(logits, [0, 1], { ignoreIndex: 0.5 }), ValueError, /^crossEntropy: ignoreIndex must be an integer, got 0.5/],
    ['an unknown reduction', () => nllLoss(logits, [0, 1], { reduction: 'avg' as never }), ValueError,
      /^nllLoss: reduction must be 'mean', 'sum', 'none', got 'avg'/],
  ]);
});

describe('elementwise losses: shapes, dtypes, ranges and parameters are checked', () => {
  argumentErrors([
    ...([['l1Loss', l1Loss], ['smoothL1Loss', smoothL1Loss], ['huberLoss', huberLoss], ['binaryCrossEntropy', binaryCrossEntropy],
      ['binaryCrossEntropyWithLogits', binaryCrossEntropyWithLogits]] as const).flatMap(([op, fn]) => [
      // PyTorch warns and broadcasts for l1/smooth L1/Huber and errors for BCE; each is an error here
      [`${op}: target of another shape`, () => fn(p, f64([0.5, 0.5], [2])), ShapeError,
        new RegExp(`^${op}: 'input' \\[2, 2\\] and 'target' \\[2\\] must have the same shape`)],
      [`${op}: target of another dtype`, () => fn(p, tensor([[0, 1], [1, 0]])), DTypeError,
        new RegExp(`^${op}: 'input' float64 and 'target' float32 must have the same dtype`)],
      [`${op}: reduction 'mean' of an empty input`, () => fn(zeros([0, 2], { dtype: 'float64' }), zeros([0, 2], { dtype: 'float64' })), ValueError,
        new RegExp(`^${op}: reduction 'mean' of an empty input \\[0, 2\\] is 0/0`)],
    ] as [string, () => unknown, typeof ValueError, RegExp][]),
    ['mseLoss: reduction mean of an empty input', () => mseLoss(zeros([0]), zeros([0])), ValueError, /^mseLoss: reduction 'mean' of an empty input \[0\]/],
    ['binaryCrossEntropy: input above 1', () => binaryCrossEntropy(f64([0.5, 1.5], [2]), f64([1, 1], [2])), ValueError,
      /^binaryCrossEntropy: every element of 'input' \[2\] must be a probability in \[0, 1\], got 1.5 at position 1 \(for logits use binaryCrossEntropyWithLogits\)/],
    ['binaryCrossEntropy: NaN input', () => binaryCrossEntropy(f64([NaN], [1]), f64([1], [1])), ValueError, /^binaryCrossEntropy: .*got NaN at position 0/],
    ['binaryCrossEntropy: a weight that does not broadcast', () => binaryCrossEntropy(p, q, { weight: f64([1, 2, 3], [3]) }), ShapeError,
      /^binaryCrossEntropy: cannot broadcast 'input' \[2, 2\] with 'weight' \[3\]/],
    ['binaryCrossEntropyWithLogits: a posWeight that would grow the input', () => binaryCrossEntropyWithLogits(p, q, { posWeight: zeros([3, 2, 2], { dtype: 'float64' }) }),
      ShapeError, /^binaryCrossEntropyWithLogits: 'posWeight' \[3, 2, 2\] must broadcast to the input's shape \[2, 2\], not grow it to \[3, 2, 2\]/],
    ['binaryCrossEntropyWithLogits: a weight of another dtype', () => binaryCrossEntropyWithLogits(p, q, { weight: tensor([1, 2]) }), DTypeError,
      /^binaryCrossEntropyWithLogits: 'weight' must have the input's dtype float64, got float32 \[2\]/],
    ['smoothL1Loss: a negative beta', () => smoothL1Loss(p, q, { beta: -1 }), ValueError, /^smoothL1Loss: argument 'beta' must be a finite number >= 0, got -1/],
    ['smoothL1Loss: a NaN beta', () => smoothL1Loss(p, q, { beta: NaN }), ValueError, /^smoothL1Loss: argument 'beta' .* got NaN/],
    ['huberLoss: delta 0', () => huberLoss(p, q, { delta: 0 }), ValueError, /^huberLoss: argument 'delta' must be a finite number > 0, got 0/],
    ['klDiv: a negative target probability', () => klDiv(p, f64([0.5, -0.5, 0.5, 0.5], [2, 2])), ValueError,
      /^klDiv: 'target' \[2, 2\] must hold probabilities >= 0 \(or pass logTarget: true\), got -0.5/],
    ['klDiv: shapes that do not broadcast', () => klDiv(p, f64([0.5, 0.5, 0.5], [3])), ShapeError, /^klDiv: cannot broadcast 'input' \[2, 2\] with 'target' \[3\]/],
    ['klDiv: batchmean of an empty batch', () => klDiv(zeros([0, 2], { dtype: 'float64' }), zeros([0, 2], { dtype: 'float64' }), { reduction: 'batchmean' }),
      ValueError, /^klDiv: reduction 'batchmean' of an empty batch \[0, 2\] is 0\/0/],
    ['klDiv: an unknown reduction', () => klDiv(p, q, { reduction: 'avg' as never }), ValueError, /^klDiv: reduction must be 'mean', 'batchmean', 'sum', 'none', got 'avg'/],
    ['l1Loss: not a tensor', () => l1Loss(p, [1, 2] as never), DTypeError, /^l1Loss: .*'target'/],
  ]);
  it('klDiv with logTarget takes negative targets (log-probabilities)', () => {
    expect(Number.isFinite(klDiv(p, f64([-1, -2, -0.5, -3], [2, 2]), { logTarget: true }).item())).toBe(true);
  });
});
