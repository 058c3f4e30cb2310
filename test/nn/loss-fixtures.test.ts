// Differential tests of issue 15's losses against PyTorch: test/fixtures/losses.json is written by
// scripts/make-fixtures.py (loss_cases), each case once in float64 and once in float32, both computed
// by torch. Targets are int32 there; weights are constant inputs (no gradient, as in PyTorch).
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@firegrad/core';
import {
  binaryCrossEntropy, binaryCrossEntropyWithLogits, crossEntropy, huberLoss, klDiv, l1Loss, nllLoss, smoothL1Loss,
} from '@firegrad/nn';
import { expectGradCase, type GradCase } from '../core/fixture-values';
import fixtures from '../fixtures/losses.json';

// Imported, not read from disk, so the browser suite runs this file too.
const cases = fixtures.cases as unknown as GradCase[];
type Expr = (...xs: Tensor[]) => Tensor;
const reductions = ['mean', 'sum', 'none'] as const;

/** The same expressions as the Python script, in firegrad. */
const expressions: Record<string, Expr> = {
  ce_mean: (x, y) => crossEntropy(x, y),
  ce_weight_mean: (x, y, weight) => crossEntropy(x, y, { weight }),
  ce_weight_sum: (x, y, weight) => crossEntropy(x, y, { weight, reduction: 'sum' }),
  ce_ignore_weight_mean: (x, y, weight) => crossEntropy(x, y, { weight }),
  ce_ignore_none: (x, y) => crossEntropy(x, y, { reduction: 'none' }),
  ce_ignore_custom_mean: (x, y, weight) => crossEntropy(x, y, { weight, ignoreIndex: 3 }),
  ce_ignore_out_of_range: (x, y) => crossEntropy(x, y, { ignoreIndex: 7 }),
  ce_all_ignored_sum: (x, y) => crossEntropy(x, y, { reduction: 'sum' }),
  ce_all_ignored_none: (x, y, weight) => crossEntropy(x, y, { weight, reduction: 'none' }),
  ce_all_ignored_smoothing_sum: (x, y, weight) => crossEntropy(x, y, { weight, labelSmoothing: 0.3, reduction: 'sum' }),
  ce_smoothing_mean: (x, y) => crossEntropy(x, y, { labelSmoothing: 0.1 }),
  ce_smoothing_one: (x, y) => crossEntropy(x, y, { labelSmoothing: 1 }),
  ce_spatial_smoothing_weight_mean: (x, y, weight) => crossEntropy(x, y, { weight, labelSmoothing: 0.15 }),
  ce_spatial_1d_smoothing_none: (x, y) => crossEntropy(x, y, { labelSmoothing: 0.25, reduction: 'none' }),
  nll_weight_ignore_mean: (x, y, weight) => nllLoss(x, y, { weight }),
  nll_ignore_custom_sum: (x, y) => nllLoss(x, y, { ignoreIndex: 1, reduction: 'sum' }),
  nll_spatial_weight_mean: (x, y, weight) => nllLoss(x, y, { weight }),
  nll_spatial_none: (x, y) => nllLoss(x, y, { reduction: 'none' }),
  bce_edges_none: (x, y) => binaryCrossEntropy(x, y, { reduction: 'none' }),
  bce_weight_broadcast_sum: (x, y, weight) => binaryCrossEntropy(x, y, { weight, reduction: 'sum' }),
  bce_logits_large_none: (x, y) => binaryCrossEntropyWithLogits(x, y, { reduction: 'none' }),
  bce_logits_large_posweight_none: (x, y, posWeight) => binaryCrossEntropyWithLogits(x, y, { posWeight, reduction: 'none' }),
  bce_logits_posweight_weight_mean: (x, y, weight, posWeight) => binaryCrossEntropyWithLogits(x, y, { weight, posWeight }),
  'smooth_l1_beta1.0_none': (x, y) => smoothL1Loss(x, y, { beta: 1, reduction: 'none' }),
  'smooth_l1_beta0.5_none': (x, y) => smoothL1Loss(x, y, { beta: 0.5, reduction: 'none' }),
  'smooth_l1_beta0.0_none': (x, y) => smoothL1Loss(x, y, { beta: 0, reduction: 'none' }),
  smooth_l1_mean: (x, y) => smoothL1Loss(x, y),
  'huber_delta1.0_none': (x, y) => huberLoss(x, y, { reduction: 'none' }),
  'huber_delta0.75_none': (x, y) => huberLoss(x, y, { delta: 0.75, reduction: 'none' }),
  huber_sum: (x, y) => huberLoss(x, y, { delta: 0.5, reduction: 'sum' }),
  kl_broadcast_batchmean: (x, y) => klDiv(x, y, { reduction: 'batchmean' }),
  kl_broadcast_input_none: (x, y) => klDiv(x, y, { reduction: 'none' }),
};
for (const reduction of reductions) {
  Object.assign(expressions, {
    [`ce_smoothing_weight_ignore_${reduction}`]: (x: Tensor, y: Tensor, weight: Tensor) => crossEntropy(x, y, { weight, labelSmoothing: 0.2, reduction }),
    [`ce_spatial_weight_ignore_${reduction}`]: (x: Tensor, y: Tensor, weight: Tensor) => crossEntropy(x, y, { weight, reduction }),
    [`bce_${reduction}`]: (x: Tensor, y: Tensor) => binaryCrossEntropy(x, y, { reduction }),
    [`bce_logits_${reduction}`]: (x: Tensor, y: Tensor) => binaryCrossEntropyWithLogits(x, y, { reduction }),
    [`l1_${reduction}`]: (x: Tensor, y: Tensor) => l1Loss(x, y, { reduction }),
  });
}
for (const reduction of [...reductions, 'batchmean'] as const) {
  Object.assign(expressions, {
    [`kl_${reduction}`]: (x: Tensor, y: Tensor) => klDiv(x, y, { reduction }),
    [`kl_zeros_${reduction}`]: (x: Tensor, y: Tensor) => klDiv(x, y, { reduction }),
    [`kl_log_target_${reduction}`]: (x: Tensor, y: Tensor) => klDiv(x, y, { reduction, logTarget: true }),
  });
}

describe('PyTorch fixtures, losses (issue 15)', () => {
  it('every fixture case has an expression here, in both dtypes', () => {
    const names = [...new Set(cases.map((c) => c.name))].sort();
    expect(names).toEqual(Object.keys(expressions).sort());
    expect(cases.length).toBe(2 * names.length);
  });
  for (const c of cases) it(`${c.name} (${c.dtype})`, () => expectGradCase(c, expressions[c.name]));
});

